"""Server tools on an Agent: declared beside @tool functions, sent with their beta headers, their
blocks kept across turns, pause_turn continued, priced, and never run locally."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from agentcore import (
    Agent,
    AsyncClient,
    Client,
    CodeExecution,
    ConfigurationError,
    Limits,
    MalformedResponseError,
    ModelSettings,
    RunState,
    ServerTool,
    ToolDefinitionError,
    UserLocation,
    WebFetch,
    WebSearch,
    container_upload,
    tool,
)
from agentcore.events import RunEvent, RunFinished
from agentcore.state import RunResult
from agentcore.testing import ScriptedModel, reply, text_reply, tool_reply
from agentcore.tools import Toolset
from agentcore.types import ContainerUploadBlock, Usage, parse_block, to_wire
from agentcore.usage import UsageTotals, cost_of
from tests.approval_flow_app import lookup_order, refund_order

MODEL = "claude-sonnet-4-6"
DRIVERS = ["run", "arun", "stream", "astream"]
USAGE = {"input_tokens": 1000, "output_tokens": 100}

pytestmark = pytest.mark.usefixtures("ledger")


@pytest.fixture(params=DRIVERS)
def driver(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def make_agent(script: ScriptedModel, tools: list[Any], **options: Any) -> Agent:
    options.setdefault("model_settings", ModelSettings(cache=False))
    return Agent(
        MODEL,
        "You help customers.",
        tools,
        client=Client(api_key="test", transport=script, max_retries=0),
        async_client=AsyncClient(api_key="test", transport=script, max_retries=0),
        **options,
    )


def execute(agent: Agent, driver: str, prompt: str = "Where is A-1001?") -> RunResult:
    """Run with one driver (blocking or asyncio, streamed or not) and return the result."""
    if driver == "run":
        return agent.run(prompt)
    if driver == "arun":
        return asyncio.run(agent.arun(prompt))
    if driver == "stream":
        events: list[RunEvent] = list(agent.stream(prompt))
    else:

        async def collect() -> list[RunEvent]:
            return [event async for event in agent.astream(prompt)]

        events = asyncio.run(collect())
    last = events[-1]
    assert isinstance(last, RunFinished)
    return last.result


def ledger_lines(ledger: Path) -> list[str]:
    return ledger.read_text(encoding="utf-8").splitlines()


Block = dict[str, Any]

SEARCH_USE: Block = {
    "type": "server_tool_use", "id": "srvtoolu_01", "name": "web_search",
    "input": {"query": "order A-1001 carrier"},
}
SEARCH_RESULT: Block = {
    "type": "web_search_tool_result", "tool_use_id": "srvtoolu_01",
    "content": [{"type": "web_search_result", "url": "https://example.com/a", "title": "A",
                 "encrypted_content": "EqgfCioIARgBIiQ3", "page_age": None}],
}
FETCH_USE: Block = {
    "type": "server_tool_use", "id": "srvtoolu_02", "name": "web_fetch",
    "input": {"url": "https://example.com/a"},
}
FETCH_ERROR: Block = {
    "type": "web_fetch_tool_result", "tool_use_id": "srvtoolu_02",
    "content": {"type": "web_fetch_tool_error", "error_code": "url_not_accessible"},
}
BASH_USE: Block = {
    "type": "server_tool_use", "id": "srvtoolu_03", "name": "bash_code_execution",
    "input": {"command": "wc -l orders.csv"},
}
BASH_RESULT: Block = {
    "type": "bash_code_execution_tool_result", "tool_use_id": "srvtoolu_03",
    "content": {"type": "bash_code_execution_result", "stdout": "3 orders.csv\n",
                "stderr": "", "return_code": 0, "content": []},
    "a_field_from_a_newer_api": {"kept": True},
}
CITED: Block = {
    "type": "text", "text": "The carrier is Acme.",
    "citations": [{"type": "web_search_result_location", "url": "https://example.com/a",
                   "title": "A", "encrypted_index": "Eo8B", "cited_text": "Acme ships A-1001."}],
}


class TestDeclarations:
    def test_each_server_tool_is_sent_as_its_versioned_type_name_and_options(self) -> None:
        search = WebSearch(
            max_uses=3,
            allowed_domains=["example.com", "docs.example.com/api"],
            user_location=UserLocation(city="London", country="GB", timezone="Europe/London"),
            cache_control={"type": "ephemeral"},
        )
        fetch = WebFetch(blocked_domains=["internal.example.com"], citations=True,
                         max_content_tokens=50_000, max_uses=2)
        assert search.definition() == {
            "type": "web_search_20250305", "name": "web_search", "max_uses": 3,
            "allowed_domains": ["example.com", "docs.example.com/api"],
            "user_location": {"type": "approximate", "city": "London", "country": "GB",
                              "timezone": "Europe/London"},
            "cache_control": {"type": "ephemeral"},
        }
        assert fetch.definition() == {
            "type": "web_fetch_20250910", "name": "web_fetch", "max_uses": 2,
            "blocked_domains": ["internal.example.com"], "citations": {"enabled": True},
            "max_content_tokens": 50_000,
        }
        assert CodeExecution().definition() == {
            "type": "code_execution_20250825", "name": "code_execution",
        }

    @pytest.mark.parametrize(
        ("server_tool", "version", "beta"),
        [
            (WebSearch(), "web_search_20250305", None),
            (WebSearch(version="web_search_20260209"), "web_search_20260209", None),
            (WebFetch(), "web_fetch_20250910", "web-fetch-2025-09-10"),
            (WebFetch(version="web_fetch_20260209"), "web_fetch_20260209", None),
            (CodeExecution(), "code_execution_20250825", "code-execution-2025-08-25"),
            (CodeExecution(version="code_execution_20250522"), "code_execution_20250522",
             "code-execution-2025-05-22"),
            (WebSearch(version="web_search_20270101", beta="web-search-2027-01-01"),
             "web_search_20270101", "web-search-2027-01-01"),
        ],
    )
    def test_each_version_carries_the_beta_it_needs(
        self, server_tool: ServerTool, version: str, beta: str | None
    ) -> None:
        assert (server_tool.definition()["type"], server_tool.beta) == (version, beta)

    @pytest.mark.parametrize(
        ("build", "message"),
        [
            (lambda: WebSearch(max_uses=0), "max_uses must be a positive integer"),
            (lambda: WebSearch(max_uses=True), "max_uses must be a positive integer"),
            (lambda: WebFetch(max_content_tokens=-5), "max_content_tokens must be a positive"),
            (lambda: WebSearch(allowed_domains=["a.com"], blocked_domains=["b.com"]),
             "cannot be used together"),
            (lambda: WebFetch(allowed_domains=["https://example.com"]), "no http:// or https://"),
            (lambda: WebSearch(blocked_domains="example.com"), "must be a list of domains"),
            (lambda: WebSearch(allowed_domains=[]), "allowed_domains is empty"),
            (lambda: WebSearch(allowed_domains=["exa mple.com"]), "is not a domain"),
            (lambda: UserLocation(country="GBR"), "two-letter ISO code"),
            (lambda: UserLocation(city=" "), "city must be non-empty text"),
            (lambda: WebSearch(user_location={"city": "London"}),  # type: ignore[arg-type]
             "must be a UserLocation"),
            (lambda: WebSearch(version="web_fetch_20250910"), "version must be a type such as"),
            (lambda: CodeExecution(version="code_execution_latest"), "version must be a type"),
            (lambda: WebFetch(beta="Web Fetch"), "beta must be a beta name"),
            (lambda: WebFetch(citations="yes"),  # type: ignore[arg-type]
             "citations must be True or False"),
            (lambda: WebSearch(cache_control="ephemeral"),  # type: ignore[arg-type]
             "cache_control must be a mapping"),
            (lambda: ServerTool(), "use one of those"),
        ],
    )
    def test_bad_options_are_refused_when_declared(self, build: Any, message: str) -> None:
        with pytest.raises(ConfigurationError, match=message):
            build()

    def test_container_upload_puts_a_file_id_into_the_container(self) -> None:
        class Uploaded:
            id = "file_011CNha8iCJcU1wXNR6q4V8w"

        assert to_wire(container_upload("file_abc-1")) == {
            "type": "container_upload", "file_id": "file_abc-1",
        }
        assert container_upload(Uploaded()).file_id == "file_011CNha8iCJcU1wXNR6q4V8w"
        assert isinstance(parse_block(to_wire(container_upload("file_1"))), ContainerUploadBlock)

    @pytest.mark.parametrize("file_id", ["", "file 1", "../etc/passwd", "file_1\n", 42, None])
    def test_container_upload_refuses_what_is_not_a_file_id(self, file_id: Any) -> None:
        with pytest.raises(ConfigurationError, match="container_upload needs the id"):
            container_upload(file_id)


class TestAgentDeclaration:
    def test_server_tools_go_beside_client_tools_with_their_beta_header(
        self, driver: str
    ) -> None:
        script = ScriptedModel([text_reply("Done.")])
        tools = [lookup_order, WebSearch(max_uses=3), WebFetch(), CodeExecution()]
        agent = make_agent(script, tools)
        assert execute(agent, driver).status == "completed"
        assert script.requests[0]["tools"] == [
            lookup_order.definition(),
            {"type": "web_search_20250305", "name": "web_search", "max_uses": 3},
            {"type": "web_fetch_20250910", "name": "web_fetch"},
            {"type": "code_execution_20250825", "name": "code_execution"},
        ]
        assert "betas" not in script.requests[0]
        headers = script.raw_requests[0].headers
        assert headers["anthropic-beta"] == "web-fetch-2025-09-10,code-execution-2025-08-25"
        assert list(agent.tools) == ["lookup_order"]
        assert [type(server).__name__ for server in agent.server_tools] == [
            "WebSearch", "WebFetch", "CodeExecution",
        ]

    def test_a_server_tool_without_a_beta_sends_no_beta_header(self) -> None:
        script = ScriptedModel([text_reply("Done.")])
        make_agent(script, [WebSearch()]).run("Hi")
        assert "anthropic-beta" not in script.raw_requests[0].headers
        assert script.requests[0]["tools"] == [{"type": "web_search_20250305",
                                                "name": "web_search"}]

    def test_a_tool_definition_dict_is_refused_with_the_helpers_named(self) -> None:
        with pytest.raises(ToolDefinitionError, match=r"WebSearch\(\), WebFetch\(\)"):
            Toolset([{"type": "web_search_20250305", "name": "web_search"}])  # type: ignore[list-item]

    def test_a_lone_server_tool_is_refused_as_not_a_list(self) -> None:
        with pytest.raises(ConfigurationError, match=r"tools=\[WebSearch\(\.\.\.\)\]"):
            Toolset(WebSearch())  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        ("name", "server_tool"),
        [("web_search", WebSearch()), ("web_fetch", WebFetch()),
         ("bash_code_execution", CodeExecution()), ("code_execution", CodeExecution())],
    )
    def test_a_client_tool_may_not_take_a_server_tool_name(
        self, name: str, server_tool: ServerTool
    ) -> None:
        @tool(name=name)
        def impostor(query: str) -> str:
            """Pretend to be a server tool.

            Args:
                query: Anything.
            """
            return query

        with pytest.raises(ToolDefinitionError, match=f"tool {name!r} has a name the API uses"):
            Toolset([impostor, server_tool])
        assert Toolset([impostor]).names == [name]

    def test_a_server_tool_is_given_once(self) -> None:
        with pytest.raises(ToolDefinitionError, match="two server tools are named 'web_search'"):
            Toolset([WebSearch(), WebSearch(version="web_search_20260209")])


class TestBlocksKept:
    def test_server_tool_blocks_go_back_exactly_as_received(self, driver: str) -> None:
        turn = [SEARCH_USE, SEARCH_RESULT, FETCH_USE, FETCH_ERROR, BASH_USE, BASH_RESULT, CITED,
                {"type": "tool_use", "id": "toolu_1", "name": "lookup_order",
                 "input": {"order_id": "A-1001"}}]
        script = ScriptedModel([reply(turn, stop_reason="tool_use"), text_reply("Shipped.")])
        agent = make_agent(script, [lookup_order, WebSearch(), WebFetch(), CodeExecution()])
        result = execute(agent, driver)
        assert result.status == "completed"
        assert script.requests[1]["messages"][1] == {"role": "assistant", "content": turn}
        assert script.requests[1]["messages"][2]["content"][0]["tool_use_id"] == "toolu_1"
        assert result.messages[1] == {"role": "assistant", "content": turn}

    def test_a_kept_run_state_holds_the_blocks_intact(self) -> None:
        turn = [SEARCH_USE, SEARCH_RESULT, CITED]
        script = ScriptedModel([reply(turn, stop_reason="end_turn")])
        result = make_agent(script, [WebSearch()]).run("Who carries A-1001?")
        restored = RunState.from_json(result.state.to_json())
        assert restored.messages[1] == {"role": "assistant", "content": turn}


class TestPauseTurn:
    def test_a_paused_turn_is_sent_back_as_is_and_continued_into_one_message(
        self, driver: str
    ) -> None:
        paused = [{"type": "text", "text": "Searching. "}, SEARCH_USE, SEARCH_RESULT]
        continued = [FETCH_USE, FETCH_ERROR, CITED]
        script = ScriptedModel([
            reply(paused, stop_reason="pause_turn", usage=USAGE),
            reply(continued, stop_reason="end_turn", usage=USAGE),
        ])
        result = execute(make_agent(script, [WebSearch(), WebFetch()]), driver)
        prompt = {"role": "user", "content": "Where is A-1001?"}
        assert script.requests[1]["messages"] == [prompt,
                                                  {"role": "assistant", "content": paused}]
        assert result.messages == [prompt, {"role": "assistant", "content": paused + continued}]
        assert (result.status, result.output) == ("completed", "Searching. The carrier is Acme.")
        assert [turn.stop_reason for turn in result.turns] == ["pause_turn", "end_turn"]

    def test_a_client_call_after_a_pause_is_answered_after_the_joined_turn(
        self, driver: str, ledger: Path
    ) -> None:
        paused = [SEARCH_USE, SEARCH_RESULT]
        script = ScriptedModel([
            reply(paused, stop_reason="pause_turn"),
            tool_reply(("lookup_order", {"order_id": "A-1001"}, "toolu_9")),
            text_reply("Shipped."),
        ])
        result = execute(make_agent(script, [lookup_order, WebSearch()]), driver)
        assert result.status == "completed"
        sent = script.requests[2]["messages"]
        assert [message["role"] for message in sent] == ["user", "assistant", "user"]
        assert sent[1]["content"][:2] == paused
        assert sent[1]["content"][2]["id"] == "toolu_9"
        assert sent[2]["content"][0]["tool_use_id"] == "toolu_9"
        assert ledger_lines(ledger) == ["lookup A-1001"]

    def test_pause_turns_stop_at_the_runs_turn_limit(self, driver: str) -> None:
        script = ScriptedModel(lambda body: reply([SEARCH_USE, SEARCH_RESULT],
                                                  stop_reason="pause_turn"))
        agent = make_agent(script, [WebSearch()], limits=Limits(max_turns=3))
        result = execute(agent, driver)
        assert (result.status, result.limit, len(result.turns)) == (
            "limit_reached", "max_turns", 3,
        )
        assert len(script.requests) == 3

    def test_a_continued_turn_is_joined_even_after_a_cut_tool_call_retry(self) -> None:
        paused = [SEARCH_USE, SEARCH_RESULT]
        cut = reply([{"type": "tool_use", "id": "toolu_1", "name": "lookup_order", "input": {}}],
                    stop_reason="max_tokens")
        script = ScriptedModel([reply(paused, stop_reason="pause_turn"), cut,
                                text_reply("Done.")])
        result = make_agent(script, [lookup_order, WebSearch()]).run("Where is A-1001?")
        assert result.status == "completed"
        assert result.messages[1:] == [
            {"role": "assistant", "content": [*paused, {"type": "text", "text": "Done."}]},
        ]


class TestNothingRunsLocally:
    def test_a_server_tool_use_naming_a_client_tool_runs_nothing(
        self, driver: str, ledger: Path
    ) -> None:
        forged = {"type": "server_tool_use", "id": "srvtoolu_x", "name": "refund_order",
                  "input": {"order_id": "A-1001", "amount_cents": 99_999}}
        script = ScriptedModel([reply([forged], stop_reason="tool_use")])
        agent = make_agent(script, [lookup_order, refund_order, WebSearch()])
        result = execute(agent, driver)
        assert (result.status, result.pending) == ("failed", [])
        assert result.error == "the model stopped for tool_use but asked for no client tool"
        assert ledger_lines(ledger) == []

    def test_a_paused_server_tool_use_naming_a_client_tool_runs_nothing(
        self, driver: str, ledger: Path
    ) -> None:
        forged = {"type": "server_tool_use", "id": "srvtoolu_x", "name": "lookup_order",
                  "input": {"order_id": "A-1001"}}
        script = ScriptedModel([reply([forged], stop_reason="pause_turn"),
                                text_reply("Done.")])
        result = execute(make_agent(script, [lookup_order]), driver)
        assert result.status == "completed"
        assert ledger_lines(ledger) == []

    def test_a_pause_turn_holding_client_calls_fails_and_runs_none(
        self, driver: str, ledger: Path
    ) -> None:
        mixed = [SEARCH_USE, {"type": "tool_use", "id": "toolu_1", "name": "lookup_order",
                              "input": {"order_id": "A-1001"}}]
        script = ScriptedModel([reply(mixed, stop_reason="pause_turn")])
        result = execute(make_agent(script, [lookup_order, WebSearch()]), driver)
        assert result.status == "failed"
        assert isinstance(result.exception, MalformedResponseError)
        assert "pause_turn) with client tool calls in it (lookup_order)" in str(result.error)
        assert len(script.requests) == 1
        assert ledger_lines(ledger) == []

    def test_a_client_call_naming_a_server_tool_is_answered_with_an_error_result(
        self, driver: str, ledger: Path
    ) -> None:
        script = ScriptedModel([
            tool_reply(("web_search", {"query": "A-1001"}, "toolu_1")),
            text_reply("Sorry."),
        ])
        result = execute(make_agent(script, [lookup_order, WebSearch()]), driver)
        assert result.status == "completed"
        answer = script.requests[1]["messages"][2]["content"][0]
        assert answer == {"type": "tool_result", "tool_use_id": "toolu_1", "is_error": True,
                          "content": "'web_search' is a server tool: the API runs it when "
                                     "you use it, so it cannot be called as a client tool. "
                                     "Client tools: lookup_order."}
        assert ledger_lines(ledger) == []


class TestPricing:
    def test_web_searches_are_priced_per_thousand_and_fetches_add_only_tokens(self) -> None:
        usage = Usage(input_tokens=1000, output_tokens=100,
                      server_tool_use={"web_search_requests": 3, "web_fetch_requests": 2})
        assert cost_of(usage, MODEL) == Decimal("0.0045") + Decimal("0.03")

    def test_a_batch_halves_tokens_but_not_searches(self) -> None:
        usage = Usage(input_tokens=1000, output_tokens=100,
                      server_tool_use={"web_search_requests": 1})
        assert cost_of(usage, MODEL, batch=True) == Decimal("0.00225") + Decimal("0.01")

    def test_every_kind_of_server_tool_request_is_summed_over_a_run(self) -> None:
        totals = UsageTotals()
        totals.add(Usage(server_tool_use={"web_search_requests": 2, "web_fetch_requests": 1}))
        totals.add(Usage(server_tool_use={"web_search_requests": 1, "code_runs": 4}))
        totals.add(Usage(server_tool_use={"web_search_requests": 0}))
        assert totals.server_tool_requests == {
            "web_search_requests": 3, "web_fetch_requests": 1, "code_runs": 4,
        }
        assert UsageTotals.from_dict(totals.to_dict()) == totals
        assert cost_of(Usage(server_tool_use={"code_runs": 4}), MODEL) == Decimal(0)

    def test_the_runs_cost_includes_its_searches(self, driver: str) -> None:
        searched = {**USAGE, "server_tool_use": {"web_search_requests": 2}}
        script = ScriptedModel([
            reply([SEARCH_USE, SEARCH_RESULT], stop_reason="pause_turn", usage=searched),
            reply([CITED], stop_reason="end_turn", usage=USAGE),
        ])
        result = execute(make_agent(script, [WebSearch()]), driver)
        assert [turn.cost_usd for turn in result.turns] == [Decimal("0.0245"), Decimal("0.0045")]
        assert result.cost_usd == Decimal("0.029")
        assert result.usage.to_dict()["server_tool_use"] == {"web_search_requests": 2}
        restored = RunState.from_json(result.state.to_json())
        assert restored.usage.server_tool_requests == {"web_search_requests": 2}

    def test_searches_count_toward_the_cost_limit(self, driver: str) -> None:
        searched = {"input_tokens": 10, "output_tokens": 10,
                    "server_tool_use": {"web_search_requests": 5}}
        script = ScriptedModel([reply([SEARCH_USE, SEARCH_RESULT], stop_reason="pause_turn",
                                      usage=searched)])
        agent = make_agent(script, [WebSearch()], limits=Limits(max_cost_usd="0.05"))
        result = execute(agent, driver)
        assert (result.status, result.limit) == ("limit_reached", "max_cost_usd")
        assert len(script.requests) == 1
