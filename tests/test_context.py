"""Runs that stay inside the context window: estimates, compaction and its policies.

The long-run specifications run against the emulator with a small context window, which
refuses a prompt over it (400 ``prompt is too long``) exactly like the API, so a request the
agent should not have sent fails the run.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from agentcore import (
    Agent,
    ClearToolResults,
    Client,
    CompactionRequest,
    CompactionResult,
    ContextCompacted,
    ContextSettings,
    ModelSettings,
    ServerCompaction,
    tool,
)
from agentcore.context import (
    PLACEHOLDER_PREFIX,
    SERVER_COMPACTION_BETA,
    TokenEstimator,
    check_compacted,
    context_overflow,
)
from agentcore.emulator import Emulator
from agentcore.emulator._cache import count_input_tokens
from agentcore.errors import ConfigurationError, InvalidRequestError
from agentcore.log import capture_events
from agentcore.testing import ScriptedModel, reply, text_reply, tool_reply
from agentcore.testing._models import DEFAULT_MODELS
from agentcore.usage import cost_of

MODEL = "claude-sonnet-4-6"
RESULT_CHARS = 20_000
SMALL_WINDOW = 40_000


def page_text(page: int) -> str:
    """About 20 KB of text, different for every page."""
    line = f"page {page}: order A-{page:04d} shipped, parcel {page * 7919 % 100_000:05d}. "
    return (line * (RESULT_CHARS // len(line) + 1))[:RESULT_CHARS]


@tool
def fetch_page(page: int) -> str:
    """Fetch one page of the shipping log.

    Args:
        page: Page number, from 1.
    """
    return page_text(page)


def results_in(body: dict[str, Any]) -> int:
    return sum(
        1
        for message in body["messages"]
        if isinstance(message["content"], list)
        for block in message["content"]
        if block.get("type") == "tool_result"
    )


def paging_model(turns: int) -> Any:
    """A model that reads ``turns - 1`` pages, one per turn, then answers."""

    def answer(body: dict[str, Any]) -> dict[str, Any]:
        done = results_in(body)
        if done < turns - 1:
            return tool_reply(("fetch_page", {"page": done + 1}))
        return text_reply(f"Read {done} pages.")

    return answer


def emulator_with_window(replies: Any, window: int) -> Emulator:
    models = [dataclasses.replace(entry, context_window=window) for entry in DEFAULT_MODELS]
    return Emulator(replies, models=models)


def input_cost(result: Any) -> Decimal:
    total = Decimal(0)
    for turn in result.turns:
        cost = cost_of(turn.usage.model_copy(update={"output_tokens": 0}), turn.model)
        assert cost is not None
        total += cost
    return total


@pytest.fixture
def long_runs() -> Iterator[dict[str, Any]]:
    """The 60-turn run against a 40,000-token window, and the same run with room to spare."""
    runs: dict[str, Any] = {}
    for name, window in (("small", SMALL_WINDOW), ("large", 1_000_000)):
        with emulator_with_window(paging_model(60), window) as emulator:
            agent = Agent(
                MODEL,
                "You read shipping logs.",
                [fetch_page],
                client=Client(api_key="test", base_url=emulator.base_url),
                max_turns=80,
                max_tokens=1024,
                context=ContextSettings(window=window),
            )
            with capture_events() as events:
                result = agent.run("Read the whole shipping log.")
            runs[name] = {"result": result, "events": events, "requests": emulator.requests}
    yield runs


class TestLongRunInASmallWindow:
    def test_sixty_turns_with_20_kb_results_complete_with_compactions_logged(
        self, long_runs: dict[str, Any]
    ) -> None:
        small = long_runs["small"]
        result = small["result"]
        assert result.status == "completed", result.error
        assert result.output == "Read 59 pages."
        assert len(result.turns) == 60
        compactions = [e for e in small["events"] if e["event"] == "context.compaction"]
        assert len(compactions) >= 5
        for event in compactions:
            assert event["reason"] == "near_window"
            assert event["policy"] == "ClearToolResults"
            assert event["tokens_after"] < event["tokens_before"]

    def test_no_request_is_longer_than_the_window(self, long_runs: dict[str, Any]) -> None:
        requests = long_runs["small"]["requests"]
        assert len(requests) == 60  # none refused, none repeated
        largest = max(count_input_tokens(body) for body in requests)
        assert largest + 1024 <= SMALL_WINDOW

    def test_cleared_results_say_how_to_get_them_back_and_the_last_three_stay_whole(
        self, long_runs: dict[str, Any]
    ) -> None:
        last = long_runs["small"]["requests"][-1]
        results = [
            block
            for message in last["messages"]
            if isinstance(message["content"], list)
            for block in message["content"]
            if block.get("type") == "tool_result"
        ]
        assert len(results) == 59  # every call still has its result
        assert [block["content"] for block in results[-3:]] == [
            page_text(57), page_text(58), page_text(59)
        ]
        first = results[0]["content"]
        assert first.startswith(PLACEHOLDER_PREFIX)
        assert 'call fetch_page again with these arguments: {"page": 1}' in first

    def test_input_costs_stay_within_the_stated_ratio_of_a_run_with_room_to_spare(
        self, long_runs: dict[str, Any]
    ) -> None:
        small, large = long_runs["small"]["result"], long_runs["large"]["result"]
        assert large.status == "completed"
        ratio = float(input_cost(small) / input_cost(large))
        assert ratio <= 1.0, f"compacted run cost {ratio:.2f}x the unbounded one"
        # Compaction keeps the prompt cache working: most input is still read from it.
        read = small.usage.cache_read_input_tokens
        total = read + small.usage.cache_creation_input_tokens + small.usage.input_tokens
        assert read / total >= 0.5

    def test_every_compaction_is_a_run_event(self) -> None:
        with emulator_with_window(paging_model(12), 20_000) as emulator:
            agent = Agent(
                MODEL,
                tools=[fetch_page],
                client=Client(api_key="test", base_url=emulator.base_url),
                max_tokens=1024,
                context=ContextSettings(window=20_000),
            )
            events = list(agent.stream("Read the log."))
        compacted = [event for event in events if isinstance(event, ContextCompacted)]
        assert compacted, "expected at least one compaction"
        assert compacted[0].compaction.window == 20_000
        assert compacted[0].compaction.description.startswith("cleared ")
        assert events[-1].result.status == "completed"


class TestWhenTheApiSaysTheWindowIsFull:
    def test_a_prompt_too_long_400_teaches_the_window_then_compacts_and_continues(
        self,
    ) -> None:
        # The agent believes the model has a 1M window; the server has 30,000 tokens.
        with emulator_with_window(paging_model(14), 30_000) as emulator:
            agent = Agent(
                MODEL,
                tools=[fetch_page],
                client=Client(api_key="test", base_url=emulator.base_url),
                max_tokens=1024,
            )
            with capture_events() as events:
                result = agent.run("Read the log.")
        assert result.status == "completed", result.error
        reasons = [e["reason"] for e in events if e["event"] == "context.compaction"]
        assert reasons[0] == "prompt_too_long"
        assert set(reasons[1:]) <= {"near_window"}
        # Once the window was learned, no request went over it again.
        refused = [e for e in events if e["event"] == "model.call" and e.get("error")]
        assert len(refused) <= 1

    def test_stop_reason_model_context_window_exceeded_compacts_and_asks_again(self) -> None:
        big = "x" * 4000
        model = ScriptedModel([
            tool_reply(("fetch_page", {"page": 1})),
            tool_reply(("fetch_page", {"page": 2})),
            text_reply("cut off mid-sent", stop_reason="model_context_window_exceeded"),
            text_reply("Both pages read."),
        ])

        @tool(name="fetch_page")
        def fetch(page: int) -> str:
            """Fetch a page.

            Args:
                page: Page number.
            """
            return big

        agent = Agent(
            MODEL,
            tools=[fetch],
            client=Client(api_key="test", transport=model),
            context=ContextSettings(compaction=ClearToolResults(keep_last=1)),
        )
        events = list(agent.stream("Read pages 1 and 2."))
        result = events[-1].result
        assert result.status == "completed"
        [compacted] = [event for event in events if isinstance(event, ContextCompacted)]
        assert compacted.compaction.reason == "model_context_window_exceeded"
        retried = model.requests[3]["messages"]
        assert retried[-1]["role"] == "user"  # the cut-off answer was not kept
        first_result = retried[2]["content"][0]["content"]
        assert first_result.startswith(PLACEHOLDER_PREFIX)
        assert retried[4]["content"][0]["content"] == big

    def test_nothing_left_to_compact_finishes_as_context_exceeded_without_sending(
        self,
    ) -> None:
        model = ScriptedModel([text_reply("never sent")])
        agent = Agent(
            MODEL,
            client=Client(api_key="test", transport=model),
            max_tokens=1024,
            context=ContextSettings(window=2_000),
        )
        result = agent.run("a long question " * 1000)
        assert result.status == "context_exceeded"
        assert "2000-token context window" in result.error
        assert model.requests == []


class TestCompactionPolicies:
    def test_a_policy_of_your_own_may_be_a_coroutine_and_is_reported_by_name(self) -> None:
        seen: list[CompactionRequest] = []

        class Summarise:
            async def compact(self, request: CompactionRequest) -> CompactionResult:
                seen.append(request)
                kept = list(request.messages[-2:])  # the latest call and its result
                summary = {"role": "user", "content": "Summary: pages 1-3 were read."}
                bridge = {"role": "assistant", "content": "Noted."}
                return CompactionResult([summary, bridge, *kept], 3, "summarised 3 turns")

        def answer(body: dict[str, Any]) -> dict[str, Any]:
            pages = [
                block["input"]["page"]
                for message in body["messages"]
                if message["role"] == "assistant" and isinstance(message["content"], list)
                for block in message["content"]
                if block["type"] == "tool_use"
            ]
            last = max(pages, default=0)
            if last < 7:
                return tool_reply(("fetch_page", {"page": last + 1}))
            return text_reply("Read 7 pages.")

        with emulator_with_window(answer, 20_000) as emulator:
            agent = Agent(
                MODEL,
                tools=[fetch_page],
                client=Client(api_key="test", base_url=emulator.base_url),
                max_tokens=1024,
                context=ContextSettings(window=20_000, compaction=Summarise()),
            )
            events = list(agent.stream("Read the log."))
            sent = emulator.requests
        assert events[-1].result.status == "completed"
        compacted = [event.compaction for event in events if isinstance(event, ContextCompacted)]
        assert compacted and compacted[0].policy == "Summarise"
        assert seen[0].target_tokens < seen[0].tokens
        assert any(
            body["messages"][0]["content"] == "Summary: pages 1-3 were read." for body in sent
        )

    def test_a_policy_that_breaks_a_tool_pair_fails_the_run_before_sending(self) -> None:
        class DropResults:
            def compact(self, request: CompactionRequest) -> CompactionResult:
                return CompactionResult([dict(request.messages[0]), dict(request.messages[1])], 1)

        model = ScriptedModel([tool_reply(("fetch_page", {"page": 1})), text_reply("done")])
        agent = Agent(
            MODEL,
            tools=[fetch_page],
            client=Client(api_key="test", transport=model),
            max_tokens=1024,
            context=ContextSettings(window=8_000, compaction=DropResults()),
        )
        result = agent.run("Read page 1.")
        assert result.status == "failed"
        assert "lost its tool_result" in result.error
        assert len(model.requests) == 1

    def test_a_policy_that_raises_ends_the_run_as_context_exceeded_naming_it(self) -> None:
        class Broken:
            def compact(self, request: CompactionRequest) -> CompactionResult:
                raise RuntimeError("summariser offline")

        model = ScriptedModel([tool_reply(("fetch_page", {"page": 1}))])
        agent = Agent(
            MODEL,
            tools=[fetch_page],
            client=Client(api_key="test", transport=model),
            max_tokens=1024,
            context=ContextSettings(window=8_000, compaction=Broken()),
        )
        result = agent.run("Read page 1.")
        assert result.status == "context_exceeded"
        assert "Broken failed: RuntimeError: summariser offline" in result.error

    def test_clear_tool_results_is_deterministic_and_leaves_assistant_turns_alone(
        self,
    ) -> None:
        thinking = {"type": "thinking", "thinking": "which page next?", "signature": "sig"}
        messages: list[dict[str, Any]] = [{"role": "user", "content": "Read."}]
        for page in range(1, 6):
            messages.append({"role": "assistant", "content": [
                thinking,
                {"type": "tool_use", "id": f"toolu_{page}", "name": "fetch_page",
                 "input": {"page": page}},
            ]})  # fmt: skip
            messages.append({"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": f"toolu_{page}",
                 "content": page_text(page)},
            ]})  # fmt: skip
        request = CompactionRequest(
            messages=messages, model=MODEL, window=30_000, tokens=25_500, target_tokens=1,
            fixed_tokens=0, tokens_per_char=0.25, reason="near_window",
        )  # fmt: skip
        policy = ClearToolResults(keep_last=2)
        first = policy.compact(request)
        again = policy.compact(request)
        assert first is not None and again is not None
        assert first.messages == again.messages
        assert first.removed == 3
        assert check_compacted(messages, first.messages) is None
        for before, after in zip(messages, first.messages, strict=True):
            if before["role"] == "assistant":
                assert after == before
        contents = [m["content"][0]["content"] for m in first.messages[2::2]]
        assert [c.startswith(PLACEHOLDER_PREFIX) for c in contents] == [
            True, True, True, False, False
        ]
        assert messages[2]["content"][0]["content"] == page_text(1)  # input untouched
        # Compacting the compacted conversation changes nothing more.
        assert policy.compact(dataclasses.replace(request, messages=first.messages)) is None

    def test_settings_refuse_values_that_make_no_sense(self) -> None:
        with pytest.raises(ConfigurationError, match="window"):
            ContextSettings(window=0)
        with pytest.raises(ConfigurationError, match="target"):
            ContextSettings(trigger=0.5, target=0.9)
        with pytest.raises(ConfigurationError, match="CompactionPolicy"):
            ContextSettings(compaction="summarise")  # type: ignore[arg-type]
        with pytest.raises(ConfigurationError, match="50000"):
            ServerCompaction(trigger_tokens=1000)
        with pytest.raises(ConfigurationError, match="context"):
            ModelSettings(context={"window": 5})  # type: ignore[arg-type]


class TestEstimates:
    def test_the_estimate_follows_the_usage_the_api_reports(self) -> None:
        estimator = TokenEstimator()
        assert estimator.tokens(4000) == 1000
        estimator.observe(4000, 2000)
        assert estimator.tokens(4000) == 2000
        estimator.observe(4000, 10**9)  # no tokenizer does this: ignored
        assert estimator.tokens(4000) == 2000

        # In the run, two 20 KB results make a request of about 10,000 tokens at four
        # characters a token, under the trigger (0.8 x 14,976); at the two characters a token
        # the server reports, it is over, and only a corrected estimate compacts.
        def answer(body: dict[str, Any]) -> dict[str, Any]:
            chars = len(json.dumps(body["messages"])) + len(json.dumps(body.get("tools", [])))
            done = results_in(body)
            content = (
                [{"type": "tool_use", "id": f"toolu_{done}", "name": "fetch_page",
                  "input": {"page": done + 1}}]
                if done < 2 else [{"type": "text", "text": "ok"}]
            )  # fmt: skip
            return reply(content, stop_reason="tool_use" if done < 2 else "end_turn",
                         usage={"input_tokens": chars // 2, "output_tokens": 1})  # fmt: skip

        with Emulator(answer) as emulator:
            agent = Agent(
                MODEL,
                tools=[fetch_page],
                client=Client(api_key="test", base_url=emulator.base_url),
                max_tokens=1024,
                context=ContextSettings(window=16_000, compaction=ClearToolResults(keep_last=1)),
            )
            events = list(agent.stream("Read two pages."))
        assert events[-1].result.status == "completed"
        [compacted] = [event for event in events if isinstance(event, ContextCompacted)]
        assert compacted.compaction.reason == "near_window"
        assert compacted.compaction.tokens_before > 0.8 * (16_000 - 1024)

    def test_context_overflow_reads_the_api_error_messages(self) -> None:
        assert context_overflow("prompt is too long: 210000 tokens > 200000 maximum") == (
            210000, 200000
        )
        assert context_overflow(
            "input length and `max_tokens` exceed context limit: 190000 + 20000 > 200000"
        ) == (190000, 200000)
        assert context_overflow("messages: roles must alternate") is None


class TestServerCompaction:
    def test_requests_carry_the_edit_and_the_beta_and_compaction_blocks_go_back_intact(
        self,
    ) -> None:
        compaction = {"type": "compaction", "content": "Summary of pages 1-40.",
                      "encrypted_content": "opaque-ciphertext=="}  # fmt: skip
        model = ScriptedModel([
            reply([compaction, {"type": "tool_use", "id": "toolu_1", "name": "fetch_page",
                                "input": {"page": 41}}], stop_reason="tool_use"),
            text_reply("Done."),
        ])  # fmt: skip
        betas: list[str | None] = []

        class Recorder(httpx.BaseTransport):
            def handle_request(self, request: httpx.Request) -> httpx.Response:
                betas.append(request.headers.get("anthropic-beta"))
                return model.handle_request(request)

        agent = Agent(
            MODEL,
            tools=[fetch_page],
            client=Client(api_key="test", transport=Recorder()),
            context=ContextSettings(compaction=ServerCompaction(trigger_tokens=60_000)),
        )
        result = agent.run("Read page 41.")
        assert result.status == "completed"
        first = model.requests[0]
        assert first["context_management"] == {"edits": [
            {"type": "compact_20260112", "trigger": {"type": "input_tokens", "value": 60_000}}
        ]}  # fmt: skip
        assert betas == [SERVER_COMPACTION_BETA, SERVER_COMPACTION_BETA]
        assert model.requests[1]["messages"][1]["content"][0] == compaction


def sse(events: list[tuple[str, dict[str, Any]]]) -> bytes:
    return "".join(
        f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events
    ).encode()


SUMMARY_BLOCK = {"type": "compaction", "content": "Pages 1-40 were read; all shipped.",
                 "encrypted_content": "opaque-ciphertext=="}  # fmt: skip


class TestStreamedContextBlocks:

    @pytest.mark.parametrize("streaming", [False, True])
    def test_a_compaction_block_comes_back_whole_streamed_or_not(self, streaming: bool) -> None:
        model = ScriptedModel([
            reply([SUMMARY_BLOCK, {"type": "tool_use", "id": "toolu_1",
                                     "name": "fetch_page", "input": {"page": 41}}],
                  stop_reason="tool_use"),
            text_reply("Done."),
        ])  # fmt: skip
        agent = Agent(MODEL, tools=[fetch_page], client=Client(api_key="test", transport=model),
                      context=ContextSettings(compaction=ServerCompaction()))  # fmt: skip
        if streaming:
            result = list(agent.stream("Read page 41."))[-1].result
        else:
            result = agent.run("Read page 41.")
        assert result.status == "completed"
        assert model.requests[1]["messages"][1]["content"][0] == SUMMARY_BLOCK

    def test_compaction_deltas_fold_into_content_and_keep_the_last_encrypted_content(
        self,
    ) -> None:
        from agentcore.streaming import MessageAccumulator

        accumulator = MessageAccumulator()
        start = {"id": "msg_1", "type": "message", "role": "assistant", "model": MODEL,
                 "content": [], "stop_reason": None, "usage": {"input_tokens": 9}}  # fmt: skip
        accumulator.add_data({"type": "message_start", "message": start})
        accumulator.add_data({"type": "content_block_start", "index": 0, "content_block": {
            "type": "compaction", "content": None, "encrypted_content": None}})  # fmt: skip
        for delta in (
            {"type": "compaction_delta", "content": "Summary ", "encrypted_content": "old"},
            {"type": "compaction_delta", "content": "complete", "encrypted_content": None},
            {"type": "compaction_delta", "content": ".", "encrypted_content": "final"},
        ):
            assert accumulator.add_data(
                {"type": "content_block_delta", "index": 0, "delta": delta}
            ) is None
        accumulator.add_data({"type": "content_block_stop", "index": 0})
        accumulator.add_data({"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                              "usage": {"output_tokens": 3}})  # fmt: skip
        accumulator.add_data({"type": "message_stop"})
        block = accumulator.final_message().content[0]
        assert block.model_dump(exclude_unset=True) == {
            "type": "compaction", "content": "Summary complete.", "encrypted_content": "final"
        }
        assert block.raw_deltas is not None and len(block.raw_deltas) == 3

    def test_a_streamed_server_side_fallback_reports_and_prices_the_model_that_answered(
        self,
    ) -> None:
        fallback = {"type": "fallback", "from": {"model": "claude-opus-4-7"},
                    "to": {"model": "claude-haiku-4-5"}}  # fmt: skip
        start = {"id": "msg_1", "type": "message", "role": "assistant",
                 "model": "claude-opus-4-7", "content": [], "stop_reason": None,
                 "usage": {"input_tokens": 1000, "output_tokens": 1}}  # fmt: skip
        body = sse([
            ("message_start", {"type": "message_start", "message": start}),
            ("content_block_start", {"type": "content_block_start", "index": 0,
                                     "content_block": fallback}),
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            ("content_block_start", {"type": "content_block_start", "index": 1,
                                     "content_block": {"type": "text", "text": ""}}),
            ("content_block_delta", {"type": "content_block_delta", "index": 1,
                                     "delta": {"type": "text_delta", "text": "Shipped."}}),
            ("content_block_stop", {"type": "content_block_stop", "index": 1}),
            ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                               "usage": {"output_tokens": 1000}}),
            ("message_stop", {"type": "message_stop"}),
        ])  # fmt: skip
        transport = httpx.MockTransport(lambda request: httpx.Response(
            200, headers={"content-type": "text/event-stream"}, content=body))  # fmt: skip
        agent = Agent("claude-opus-4-7", client=Client(api_key="test", transport=transport))
        result = list(agent.stream("Where is A-1001?"))[-1].result
        assert result.status == "completed"
        assert result.models_used == ["claude-haiku-4-5"]
        assert result.turns[0].model == "claude-haiku-4-5"
        # Haiku's $1/$5 per million, not Opus's $5/$25.
        assert result.cost_usd == Decimal("0.006")
        assert result.messages[-1]["content"][0] == fallback


class TestCountTokensWhenAsked:
    def test_near_the_window_the_exact_count_decides_and_corrects_the_estimate(self) -> None:
        # The local estimate says the request nears the 20,000-token window; the API's count
        # says it is a quarter of that, so nothing is compacted and the run goes on.
        counted: list[dict[str, Any]] = []
        big = "y" * 70_000

        def handler(request: httpx.Request) -> httpx.Response:
            body = json.loads(request.content)
            if request.url.path.endswith("/count_tokens"):
                counted.append(body)
                return httpx.Response(200, json={"input_tokens": 4000})
            return httpx.Response(200, json=text_reply("ok", model=MODEL))

        agent = Agent(
            MODEL,
            client=Client(api_key="test", transport=httpx.MockTransport(handler)),
            max_tokens=1024,
            context=ContextSettings(window=20_000, count_tokens=True),
        )
        with capture_events() as events:
            result = agent.run(big)
        assert result.status == "completed", result.error
        assert not [event for event in events if event["event"] == "context.compaction"]
        [count] = counted
        assert count["messages"][0]["content"] == big
        assert "max_tokens" not in count

    def test_a_failed_count_falls_back_to_the_estimate(self) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            if request.url.path.endswith("/count_tokens"):
                return httpx.Response(
                    500, json={"type": "error", "error": {"type": "api_error", "message": "x"}}
                )
            return httpx.Response(200, json=text_reply("never"))

        agent = Agent(
            MODEL,
            client=Client(api_key="test", transport=httpx.MockTransport(handler),
                          max_retries=0),
            max_tokens=1024,
            context=ContextSettings(window=20_000, count_tokens=True, compaction=None),
        )
        result = agent.run("z" * 100_000)
        assert result.status == "context_exceeded"
        assert "no compaction is configured" in result.error


    def test_a_count_no_tokenizer_gives_is_not_believed(self) -> None:
        # 100,000 characters counted as 1 token: the count is not about this request, so
        # the estimate decides, and a request it says cannot fit is not sent.
        sent: list[str] = []

        def handler(request: httpx.Request) -> httpx.Response:
            sent.append(request.url.path)
            if request.url.path.endswith("/count_tokens"):
                return httpx.Response(200, json={"input_tokens": 1})
            return httpx.Response(200, json=text_reply("never"))

        agent = Agent(
            MODEL,
            client=Client(api_key="test", transport=httpx.MockTransport(handler)),
            max_tokens=1024,
            context=ContextSettings(window=20_000, count_tokens=True, compaction=None),
        )
        result = agent.run("z" * 100_000)
        assert result.status == "context_exceeded"
        assert [path.rsplit("/", 1)[-1] for path in sent] == ["count_tokens"]


class TestEstimatesCorrectedByReportedUsage:
    def test_json_heavy_results_on_a_real_tokenizer_never_overflow_the_window(self) -> None:
        # JSON costs about twice the tokens per character that four-characters-per-token
        # assumes; the agent learns that from the usage of its first responses.
        @tool
        def list_orders(page: int) -> list[dict[str, Any]]:
            """List a page of orders.

            Args:
                page: Page number.
            """
            return [{"id": f"A-{page:03d}{n:03d}", "cents": page * 1000 + n, "ok": n % 2 == 0}
                    for n in range(120)]  # fmt: skip

        def answer(body: dict[str, Any]) -> dict[str, Any]:
            done = results_in(body)
            if done < 24:
                return tool_reply(("list_orders", {"page": done + 1}))
            return text_reply("Listed 24 pages.")

        models = [dataclasses.replace(entry, context_window=30_000, tokenizer="varied")
                  for entry in DEFAULT_MODELS]  # fmt: skip
        with Emulator(answer, models=models) as emulator:
            agent = Agent(
                MODEL,
                tools=[list_orders],
                client=Client(api_key="test", base_url=emulator.base_url),
                max_tokens=1024,
                context=ContextSettings(window=30_000),
            )
            with capture_events() as events:
                result = agent.run("List every order.")
            sent = len(emulator.requests)
        assert result.status == "completed", result.error
        assert sent == len(result.turns) == 25  # none refused as too long
        assert [e for e in events if e["event"] == "context.compaction"]


class TestTheEmulatorWindow:
    def test_a_prompt_over_the_window_is_refused_as_the_api_does(self) -> None:
        with emulator_with_window(None, 2_000) as emulator:
            client = Client(api_key="test", base_url=emulator.base_url, max_retries=0)
            with pytest.raises(InvalidRequestError, match=r"prompt is too long: \d+ tokens > 2000"):
                client.messages.create(model=MODEL, max_tokens=64,
                                       messages=[{"role": "user", "content": "word " * 4000}])

    def test_an_answer_that_runs_into_the_window_stops_there(self) -> None:
        long_answer = text_reply("lorem ipsum " * 400)
        with emulator_with_window([long_answer], 2_000) as emulator:
            client = Client(api_key="test", base_url=emulator.base_url)
            message = client.messages.create(
                model=MODEL, max_tokens=4096,
                messages=[{"role": "user", "content": "word " * 1200}],
            )  # fmt: skip
        assert message.stop_reason == "model_context_window_exceeded"
        assert message.usage.input_tokens + message.usage.output_tokens == 2_000

    def test_the_varied_tokenizer_charges_json_and_japanese_more_than_prose(self) -> None:
        models = [dataclasses.replace(entry, tokenizer="varied") for entry in DEFAULT_MODELS]
        texts = {
            "prose": "The parcel left on Monday and arrives before the weekend. " * 50,
            "json": json.dumps([{"id": f"A-{n}", "cents": n * 137} for n in range(80)]),
            "japanese": "ご注文の商品は月曜日に倉庫を出発しました。" * 50,
        }
        with Emulator(models=models) as emulator:
            client = Client(api_key="test", base_url=emulator.base_url)
            per_char = {
                name: client.messages.count_tokens(
                    model=MODEL, messages=[{"role": "user", "content": text}]
                ) / len(text)
                for name, text in texts.items()
            }
        assert per_char["prose"] < 0.3 < per_char["json"] < 0.7 < per_char["japanese"]


def test_the_estimate_counts_only_what_follows_the_latest_compaction_block() -> None:
    old = {"role": "user", "content": "x" * 40_000}
    summary = {"role": "assistant", "content": [
        {"type": "compaction", "content": "The user sent a long text.", "encrypted_content": "e"},
        {"type": "text", "text": "Go on."},
    ]}  # fmt: skip
    estimator = TokenEstimator()
    without = estimator.message_chars([old])
    assert without > 40_000
    assert TokenEstimator().message_chars([old, summary, {"role": "user", "content": "Hi"}]) < 300


class TestServerCompactionOnTheEmulator:
    @pytest.mark.parametrize("pause_after", [False, True])
    def test_a_long_run_stays_in_the_window_by_the_servers_compaction(
        self, pause_after: bool
    ) -> None:
        window = 80_000
        with emulator_with_window(paging_model(25), window) as emulator:
            agent = Agent(
                MODEL,
                tools=[fetch_page],
                client=Client(api_key="test", base_url=emulator.base_url),
                max_turns=60,
                max_tokens=1024,
                context=ContextSettings(
                    window=window,
                    compaction=ServerCompaction(trigger_tokens=50_000, pause_after=pause_after),
                ),
            )
            result = agent.run("Read the log.")
            sent = emulator.requests
        assert result.status == "completed", result.error
        assert result.output == "Read 24 pages."
        summaries = [
            block
            for message in result.messages
            if message["role"] == "assistant" and isinstance(message["content"], list)
            for block in message["content"]
            if block["type"] == "compaction"
        ]
        assert summaries and all(block["encrypted_content"] for block in summaries)
        assert max(count_input_tokens(body) for body in sent) <= 50_000 + 6_000
        # Every compaction block went back on the next request as it came.
        assert any(
            summaries[-1] in message["content"]
            for message in sent[-1]["messages"]
            if isinstance(message["content"], list)
        )


def test_the_async_driver_compacts_the_same_way() -> None:
    import asyncio

    from agentcore import AsyncClient

    async def main(base_url: str) -> Any:
        client = AsyncClient(api_key="test", base_url=base_url)
        agent = Agent(MODEL, tools=[fetch_page], async_client=client, max_tokens=1024,
                      context=ContextSettings(window=20_000))  # fmt: skip
        try:
            return [event async for event in agent.astream("Read the log.")]
        finally:
            await client.close()

    with emulator_with_window(paging_model(12), 20_000) as emulator:
        events = asyncio.run(main(emulator.base_url))
    assert events[-1].result.status == "completed"
    assert any(isinstance(event, ContextCompacted) for event in events)


HISTORY: list[dict[str, Any]] = [
    {"role": "user", "content": "Background: " + "old notes " * 1200},
    {"role": "assistant", "content": "Understood."},
    {"role": "user", "content": "What is 2 + 2?"},
]


def run_with_policy(policy: Any) -> tuple[Any, ScriptedModel]:
    """A run whose first request is over the trigger of a 4,000-token window, so the policy
    is asked before anything is sent."""
    model = ScriptedModel([text_reply("4")])
    agent = Agent(
        MODEL,
        client=Client(api_key="test", transport=model),
        max_tokens=1024,
        context=ContextSettings(window=4_000, compaction=policy),
    )
    return agent.run([dict(message) for message in HISTORY]), model


class TestAPolicyThatMisbehaves:
    def test_one_that_empties_the_conversation_in_place_changes_nothing_the_run_keeps(
        self,
    ) -> None:
        class Wipe:
            def compact(self, request: CompactionRequest) -> None:
                request.messages.clear()  # type: ignore[attr-defined]

        result, model = run_with_policy(Wipe())
        # Nothing could be shortened: the run ends without sending, the history intact.
        assert result.status == "context_exceeded"
        assert model.requests == []
        assert result.messages == HISTORY

    def test_one_that_drops_the_latest_user_message_fails_the_run_before_sending(
        self,
    ) -> None:
        class Reorder:
            def compact(self, request: CompactionRequest) -> CompactionResult:
                _first, answer, _question = request.messages
                return CompactionResult(
                    [{"role": "user", "content": "Short."}, dict(answer),
                     {"role": "user", "content": "Anything else?"}],
                    1,
                )  # fmt: skip

        result, model = run_with_policy(Reorder())
        assert result.status == "failed"
        assert "latest user message" in result.error
        assert model.requests == []
        assert result.messages == HISTORY

    def test_one_that_ends_on_its_own_assistant_message_fails_the_run_before_sending(
        self,
    ) -> None:
        class Prefill:
            def compact(self, request: CompactionRequest) -> CompactionResult:
                return CompactionResult(
                    [{"role": "user", "content": "What is 2 + 2?"},
                     {"role": "assistant", "content": "Understood."}],
                    1,
                )  # fmt: skip

        result, model = run_with_policy(Prefill())
        assert result.status == "failed"
        assert model.requests == []
        assert result.messages == HISTORY

    @pytest.mark.parametrize(
        "value", [object(), float("nan"), b"bytes", "lone \ud800 surrogate"],
        ids=["object", "nan", "bytes", "surrogate"],
    )
    def test_one_that_returns_content_json_cannot_carry_fails_the_run_with_history_intact(
        self, value: Any
    ) -> None:
        class Strange:
            def compact(self, request: CompactionRequest) -> CompactionResult:
                summary = {"role": "user", "content": [{"type": "text", "text": value}]}
                _background, answer, question = request.messages
                return CompactionResult([summary, dict(answer), dict(question)], 1)

        result, model = run_with_policy(Strange())
        assert result.status == "failed"
        assert "JSON" in result.error
        assert model.requests == []
        assert result.messages == HISTORY
        assert json.loads(result.state.to_json())["state"]["messages"] == HISTORY


    def test_its_account_of_the_work_is_checked_and_kept_short(self) -> None:
        class Wordy:
            def compact(self, request: CompactionRequest) -> CompactionResult:
                _background, answer, question = request.messages
                summary = {"role": "user", "content": "Background: notes."}
                return CompactionResult([summary, dict(answer), dict(question)], 1, "w" * 10**6)

        model = ScriptedModel([text_reply("4")])
        agent = Agent(
            MODEL,
            client=Client(api_key="test", transport=model),
            max_tokens=1024,
            context=ContextSettings(window=4_000, compaction=Wordy()),
        )
        events = list(agent.stream([dict(message) for message in HISTORY]))
        assert events[-1].result.status == "completed"
        [compacted] = [event for event in events if isinstance(event, ContextCompacted)]
        assert len(compacted.compaction.description) == 500

        class Miscounted:
            def compact(self, request: CompactionRequest) -> CompactionResult:
                _background, answer, question = request.messages
                summary = {"role": "user", "content": "Background: notes."}
                kept = [summary, dict(answer), dict(question)]
                return CompactionResult(kept, "many")  # type: ignore[arg-type]

        result, model = run_with_policy(Miscounted())
        assert result.status == "failed"
        assert "removed is not a count" in result.error
        assert model.requests == []


class TestHostileContextErrors:
    def test_a_prompt_too_long_with_absurdly_long_numbers_reads_as_sizes_unknown(
        self,
    ) -> None:
        digits = "9" * 5000
        assert context_overflow(f"prompt is too long: {digits} tokens > {digits}") == (
            None, None
        )
        assert context_overflow(
            f"input length and `max_tokens` exceed context limit: {digits} + 1 > {digits}"
        ) is None

    def test_a_prompt_too_long_400_with_absurd_numbers_compacts_like_any_other(self) -> None:
        digits = "9" * 5000
        refusal = httpx.Response(400, json={"type": "error", "error": {
            "type": "invalid_request_error",
            "message": f"prompt is too long: {digits} tokens > {digits} maximum"}})  # fmt: skip
        model = ScriptedModel([
            tool_reply(("fetch_page", {"page": 1})),
            tool_reply(("fetch_page", {"page": 2})),
            refusal,
            text_reply("Both read."),
        ])  # fmt: skip
        agent = Agent(
            MODEL,
            tools=[fetch_page],
            client=Client(api_key="test", transport=model, max_retries=0),
            context=ContextSettings(compaction=ClearToolResults(keep_last=1)),
        )
        result = agent.run("Read pages 1 and 2.")
        assert result.status == "completed", result.error
        retried = model.requests[3]["messages"]
        assert retried[2]["content"][0]["content"].startswith(PLACEHOLDER_PREFIX)


class TestPlaceholdersKeepSecrets:
    def test_a_cleared_result_names_no_credential_argument_in_the_state_or_the_store(
        self, tmp_path: Any
    ) -> None:
        from agentcore.store import RunStore

        @tool(secret_fields=["pin"])
        def lookup(account: str, reset_token: str, pin: str) -> str:
            """Look an account up.

            Args:
                account: Account id.
                reset_token: The customer's reset token.
                pin: The customer's PIN.
            """
            return "row " * 2000

        arguments = {"account": "A-1", "reset_token": "rt_9f8e7d6c5b4a3", "pin": "8642-1357"}
        model = ScriptedModel(
            [tool_reply(("lookup", arguments)), tool_reply(("lookup", arguments)),
             text_reply("Done.")]
        )  # fmt: skip
        store = RunStore(tmp_path / "runs.db")
        agent = Agent(
            MODEL,
            tools=[lookup],
            client=Client(api_key="test", transport=model),
            max_tokens=1024,
            context=ContextSettings(window=6_000, compaction=ClearToolResults(keep_last=1)),
            store=store,
        )
        result = agent.run("Look up A-1.")
        assert result.status == "completed", result.error
        [placeholder] = [
            block["content"]
            for message in result.messages
            if isinstance(message["content"], list)
            for block in message["content"]
            if block.get("type") == "tool_result"
            and block["content"].startswith(PLACEHOLDER_PREFIX)
        ]
        # The call is still named, with what may be shown of its arguments.
        assert '"account": "A-1"' in placeholder
        assert "rt_9f8e7d6c5b4a3" not in placeholder and "8642-1357" not in placeholder
        assert "rt_9f8e7d6c5b4a3" not in result.state.to_json()
        assert "rt_9f8e7d6c5b4a3" not in store.load_run(result.state.run_id).state_json


class TestAServerThatSaysTheWindowIsAlwaysFull:
    def test_a_policy_that_shortens_nothing_ends_the_run_instead_of_asking_again(self) -> None:
        class Unchanged:
            def compact(self, request: CompactionRequest) -> CompactionResult:
                return CompactionResult([dict(m) for m in request.messages], 1, "kept all")

        model = ScriptedModel(
            [text_reply("cut", stop_reason="model_context_window_exceeded")] * 5
        )
        agent = Agent(
            MODEL,
            client=Client(api_key="test", transport=model),
            context=ContextSettings(compaction=Unchanged()),
        )
        result = agent.run("Hello")
        assert result.status == "context_exceeded"
        assert "Unchanged did not shorten" in result.error
        assert len(model.requests) == 1

    def test_clear_tool_results_runs_out_of_results_and_then_ends_the_run(self) -> None:
        model = ScriptedModel(
            [tool_reply(("fetch_page", {"page": 1})), tool_reply(("fetch_page", {"page": 2}))]
            + [text_reply("cut", stop_reason="model_context_window_exceeded")] * 10
        )
        agent = Agent(
            MODEL,
            tools=[fetch_page],
            client=Client(api_key="test", transport=model),
            context=ContextSettings(compaction=ClearToolResults(keep_last=0)),
        )
        result = agent.run("Read pages 1 and 2.")
        assert result.status == "context_exceeded"
        # One compaction cleared both results; the next refusal found nothing left to clear.
        assert len(model.requests) == 4
        assert result.messages[-1] == {"role": "assistant", "content": [
            {"type": "text", "text": "cut"}]}  # fmt: skip


class TestResultsOfApprovedActions:
    def test_a_result_of_a_tool_that_needs_approval_is_never_cleared(self) -> None:
        from agentcore import Approve
        from agentcore.approval.approvers import ScriptedApprover

        receipt = "Refund R-77 of 50.00 EUR issued to card ending 4242. " * 20  # ~1 KB

        @tool(sensitive=True)
        def issue_refund(order: str) -> str:
            """Refund an order.

            Args:
                order: Order id.
            """
            return receipt

        model = ScriptedModel([
            tool_reply(("issue_refund", {"order": "A-1"})),
            *(tool_reply(("fetch_page", {"page": page})) for page in range(1, 5)),
            text_reply("Refunded, and the log is read."),
        ])  # fmt: skip
        agent = Agent(
            MODEL,
            tools=[issue_refund, fetch_page],
            client=Client(api_key="test", transport=model),
            max_tokens=1024,
            approver=ScriptedApprover([Approve()]),
            context=ContextSettings(window=20_000, compaction=ClearToolResults(keep_last=1)),
        )
        events = list(agent.stream("Refund A-1, then read the log."))
        assert events[-1].result.status == "completed", events[-1].result.error
        assert any(isinstance(event, ContextCompacted) for event in events)
        last = model.requests[-1]["messages"]
        contents = [
            block["content"]
            for message in last
            if isinstance(message["content"], list)
            for block in message["content"]
            if block.get("type") == "tool_result"
        ]
        # The receipt is the record of what a person approved: no placeholder invites the
        # model to issue the refund again "to see" it; the pages it read are cleared.
        assert contents[0] == receipt
        assert contents[1].startswith(PLACEHOLDER_PREFIX)


class TestTheEmulatorRefusesMalformedContextManagement:
    @pytest.mark.parametrize(
        "management",
        [
            "compact",
            {"edits": 5},
            {"edits": ["compact_20260112"]},
            {"edits": [{"type": "compact_20260112", "trigger": {"type": "input_tokens",
                                                                 "value": True}}]},
            {"edits": [{"type": "compact_20260112", "trigger": {"type": "input_tokens",
                                                                 "value": 1000}}]},
        ],
        ids=["not-an-object", "edits-not-a-list", "edit-not-an-object", "bool-trigger",
             "trigger-under-50000"],
    )  # fmt: skip
    def test_as_the_api_does_with_a_400_naming_the_field(self, management: Any) -> None:
        with Emulator(lambda body: text_reply("never")) as emulator:
            client = Client(api_key="test", base_url=emulator.base_url, max_retries=0)
            with pytest.raises(InvalidRequestError, match="context_management"):
                client.messages.create(
                    model=MODEL, max_tokens=16, messages=[{"role": "user", "content": "hi"}],
                    extra_body={"context_management": management},
                )  # fmt: skip
