"""Message Batches: request validation, polling, typed results, cost at the batch rate."""

import io
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from agentcore.client import AsyncClient, Client
from agentcore.client.batch_types import (
    BatchCanceled,
    BatchErrored,
    BatchExpired,
    BatchRequestCounts,
    BatchResult,
    BatchSucceeded,
    BatchUnknownResult,
    MessageBatch,
    batch_body,
    parse_result_line,
    results_cost,
)
from agentcore.client.batches import AsyncBatches, Batches, PollSchedule
from agentcore.emulator import Emulator
from agentcore.errors import (
    BatchNotEndedError,
    ConfigurationError,
    InternalServerError,
    MalformedResponseError,
)
from agentcore.prompts import SystemPrompt
from agentcore.testing import text_reply
from agentcore.types import Usage, parse_message
from examples.ticket_triage import stand_in
from examples.ticket_triage.__main__ import main as triage_main
from examples.ticket_triage.triage import CATEGORIES, HERE, batch_requests, load_tickets, triage

MODEL = "claude-haiku-4-5"


def params(text: str, model: str = MODEL) -> dict[str, Any]:
    return {"model": model, "max_tokens": 16, "messages": [{"role": "user", "content": text}]}


def label(body: dict[str, Any]) -> dict[str, Any]:
    """Scripted reply: the first word of the question, upper-cased."""
    return text_reply(body["messages"][0]["content"].split()[0].upper())


class TestBatchBody:
    def test_pairs_become_the_api_body(self) -> None:
        assert batch_body([("t-1", params("a")), ("t_2", params("b"))]) == {
            "requests": [
                {"custom_id": "t-1", "params": params("a")},
                {"custom_id": "t_2", "params": params("b")},
            ]
        }

    @pytest.mark.parametrize("custom_id", ["", "has space", "x" * 65, "dot.ted", "ümlaut"])
    def test_custom_ids_the_api_refuses_are_rejected_before_sending(self, custom_id: str) -> None:
        with pytest.raises(ConfigurationError, match=r"batch request 1: custom_id .* must be 1"):
            batch_body([("ok", params("a")), (custom_id, params("b"))])

    def test_a_repeated_custom_id_names_both_requests(self) -> None:
        with pytest.raises(ConfigurationError, match="request 2: custom_id 'a' is already used "
                                                     "by request 0"):
            batch_body([("a", params("x")), ("b", params("y")), ("a", params("z"))])

    def test_incomplete_or_streaming_params_are_rejected(self) -> None:
        with pytest.raises(ConfigurationError, match=r"request 0 \(a\): params lack max_tokens"):
            batch_body([("a", {"model": MODEL, "messages": []})])
        with pytest.raises(ConfigurationError, match="cannot stream"):
            batch_body([("a", {**params("x"), "stream": True})])

    def test_an_empty_batch_is_rejected(self) -> None:
        with pytest.raises(ConfigurationError, match="at least one request"):
            batch_body([])


@pytest.mark.parametrize("batch_id", [".", ".."])
def test_a_dot_batch_id_is_refused_before_it_can_reach_another_endpoint(batch_id: str) -> None:
    # httpx would read "." and ".." as path steps: DELETE /v1/messages/batches/.. is
    # DELETE /v1/messages.
    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"nothing should be sent, not {request.method} {request.url}")

    batches = Batches(Client(api_key="test", transport=httpx.MockTransport(refuse)))
    with pytest.raises(ConfigurationError, match="batch id"):
        batches.delete(batch_id)
    with pytest.raises(ConfigurationError, match="batch id"):
        batches.retrieve(batch_id)


MESSAGE = {
    "id": "msg_1", "type": "message", "role": "assistant", "model": MODEL,
    "content": [{"type": "text", "text": "BILLING"}], "stop_reason": "end_turn",
    "stop_sequence": None, "usage": {"input_tokens": 1000, "output_tokens": 200},
}


class TestResultLines:
    def test_each_result_type_parses_to_its_class(self) -> None:
        error = {"type": "error", "error": {"type": "invalid_request_error", "message": "bad"}}
        lines = [
            {"custom_id": "a", "result": {"type": "succeeded", "message": MESSAGE}},
            {"custom_id": "b", "result": {"type": "errored", "error": error}},
            {"custom_id": "c", "result": {"type": "canceled"}},
            {"custom_id": "d", "result": {"type": "expired"}},
            {"custom_id": "e", "result": {"type": "postponed", "until": "tomorrow"}},
        ]

        assert [parse_result_line(json.dumps(line)) for line in lines] == [
            BatchSucceeded("a", parse_message(MESSAGE)),
            BatchErrored("b", "invalid_request_error", "bad", error),
            BatchCanceled("c"),
            BatchExpired("d"),
            BatchUnknownResult("e", "postponed", {"type": "postponed", "until": "tomorrow"}),
        ]

    @pytest.mark.parametrize(
        "line", ["not json", "[1, 2]", '{"custom_id": "a"}',
                 '{"custom_id": "a", "result": {"type": "succeeded", "message": {"id": 3}}}'],
    )
    def test_a_line_that_is_not_a_result_is_a_malformed_response(self, line: str) -> None:
        with pytest.raises(MalformedResponseError, match="batch result line"):
            parse_result_line(line)


class TestCost:
    def test_succeeded_results_cost_half_the_interactive_price(self) -> None:
        results: list[BatchResult] = [
            BatchSucceeded("a", parse_message(MESSAGE)),
            BatchSucceeded("b", parse_message(MESSAGE)),
            BatchErrored("c", "api_error", "boom"),
        ]
        # Haiku 4.5: $1 in, $5 out per million tokens.
        interactive = 2 * (Decimal(1000) * 1 + Decimal(200) * 5) / 1_000_000

        assert results_cost(results, batch=False) == interactive
        assert results_cost(results) == interactive / 2

    def test_an_unpriced_model_makes_the_cost_unknown(self) -> None:
        unknown = parse_message({**MESSAGE, "model": "claude-unreleased-9"})

        assert results_cost([BatchSucceeded("a", unknown)]) is None


def batch(status: str, processing: int = 3) -> MessageBatch:
    return MessageBatch(id="msgbatch_1", processing_status=status,
                        request_counts=BatchRequestCounts(processing=processing))


class TestPollSchedule:
    def test_waits_double_up_to_the_ceiling_and_stop_once_ended(self) -> None:
        schedule = PollSchedule(initial_s=1, max_interval_s=5)
        running = batch("in_progress")

        waits = [schedule.next_wait(running) for _ in range(5)]

        assert waits == [1, 2, 4, 5, 5]
        assert schedule.next_wait(batch("ended", 0)) is None
        assert schedule.waited_s == 17

    def test_the_last_wait_is_cut_to_the_limit_then_it_gives_up(self) -> None:
        schedule = PollSchedule(initial_s=2, max_interval_s=8, max_wait_s=5)
        running = batch("canceling")

        assert [schedule.next_wait(running), schedule.next_wait(running)] == [2, 3]
        with pytest.raises(BatchNotEndedError, match="msgbatch_1 is still canceling after "
                                                     "waiting 5 s") as raised:
            schedule.next_wait(running)
        assert raised.value.batch is running

    def test_nonsense_settings_are_rejected(self) -> None:
        with pytest.raises(ConfigurationError):
            PollSchedule(initial_s=0)


class TestLifecycleOnTheEmulator:
    def test_create_wait_and_stream_typed_results(self) -> None:
        with Emulator(label, batch_delay_seconds=0.05) as emulator:
            client = Client(api_key="test", base_url=emulator.base_url)
            batches = Batches(client)

            created = batches.create([
                ("t1", params("billing: charged twice")),
                ("t2", params("bug: app crashes")),
                ("t3", params("hello", model="claude-nonexistent-1")),
            ])
            ended = batches.wait(created.id, PollSchedule(initial_s=0.01, max_wait_s=10))
            results = list(batches.results(created.id))
            page = batches.list(limit=5)
            deleted = batches.delete(created.id)

        assert created.processing_status == "in_progress"
        assert created.request_counts.processing == 3
        assert ended.processing_status == "ended"
        assert ended.request_counts.model_dump() == {
            "processing": 0, "succeeded": 2, "errored": 1, "canceled": 0, "expired": 0,
        }
        assert [(type(r).__name__, r.custom_id) for r in results] == [
            ("BatchSucceeded", "t1"), ("BatchSucceeded", "t2"), ("BatchErrored", "t3"),
        ]
        assert [r.message.text for r in results if isinstance(r, BatchSucceeded)] == [
            "BILLING:", "BUG:",
        ]
        errored = results[2]
        assert isinstance(errored, BatchErrored)
        assert errored.error_type == "not_found_error"
        assert [b.id for b in page.batches] == [created.id]
        assert deleted == created.id

    def test_results_before_the_batch_ended_are_refused(self) -> None:
        with Emulator(label, batch_delay_seconds=5) as emulator:
            batches = Batches(Client(api_key="test", base_url=emulator.base_url))
            created = batches.create([("t1", params("billing"))])

            with pytest.raises(BatchNotEndedError, match="is in_progress"):
                list(batches.results(created.id))

    def test_canceled_batch_ends_with_canceled_results(self) -> None:
        with Emulator(label, batch_delay_seconds=0.2) as emulator:
            batches = Batches(Client(api_key="test", base_url=emulator.base_url))
            created = batches.create([("t1", params("billing")), ("t2", params("bug"))])

            canceling = batches.cancel(created.id)
            batches.wait(created.id, PollSchedule(initial_s=0.05, max_wait_s=10))
            results = list(batches.results(created.id))

        assert canceling.processing_status == "canceling"
        assert results == [BatchCanceled("t1"), BatchCanceled("t2")]

    async def test_the_async_client_runs_the_same_lifecycle(self) -> None:
        async with Emulator(label, batch_delay_seconds=0.05) as emulator:
            client = AsyncClient(api_key="test", base_url=emulator.base_url)
            batches = AsyncBatches(client)
            created = await batches.create([("t1", params("refund now"))])
            await batches.wait(created.id, PollSchedule(initial_s=0.01, max_wait_s=10))
            results = [result async for result in batches.results(created.id)]
            await client.close()

        assert [(r.custom_id, r.message.text) for r in results  # type: ignore[union-attr]
                ] == [("t1", "REFUND")]


def test_opening_results_retries_an_overloaded_answer() -> None:
    """A 529 on the results download is retried with the client's policy, like any call."""
    ended = {"id": "msgbatch_1", "type": "message_batch", "processing_status": "ended"}
    line = json.dumps({"custom_id": "a", "result": {"type": "expired"}}) + "\n"
    answers = iter([
        httpx.Response(200, json=ended),
        httpx.Response(529, json={"type": "error", "error": {"type": "overloaded_error",
                                                             "message": "busy"}}),
        httpx.Response(200, content=line.encode()),
    ])
    seen: list[str] = []

    def app(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        return next(answers)

    delays: list[float] = []
    client = Client(api_key="test", transport=httpx.MockTransport(app), sleep=delays.append)

    assert list(Batches(client).results("msgbatch_1")) == [BatchExpired("a")]
    assert seen == [
        "GET /v1/messages/batches/msgbatch_1",
        "GET /v1/messages/batches/msgbatch_1/results",
        "GET /v1/messages/batches/msgbatch_1/results",
    ]
    assert len(delays) == 1


def test_only_the_start_of_a_huge_error_body_on_the_results_download_is_read() -> None:
    """The results download reads an error body like any call does: its start, not 64 MB."""
    ended = {"id": "msgbatch_1", "type": "message_batch", "processing_status": "ended"}
    read: list[int] = []

    def huge() -> Iterator[bytes]:
        for _ in range(1000):
            read.append(1)
            yield b"<html>" + b"x" * 65530

    answers = iter([httpx.Response(200, json=ended), httpx.Response(502, content=huge())])
    client = Client(api_key="test", transport=httpx.MockTransport(lambda _: next(answers)),
                    max_retries=0)

    with pytest.raises(InternalServerError) as caught:
        list(Batches(client).results("msgbatch_1"))

    assert caught.value.status_code == 502
    assert len(read) <= 3


def test_usage_of_batch_replies_is_reported_by_the_emulator() -> None:
    with Emulator(label, batch_delay_seconds=0.01) as emulator:
        batches = Batches(Client(api_key="test", base_url=emulator.base_url))
        created = batches.create([("t1", params("billing question"))])
        batches.wait(created.id, PollSchedule(initial_s=0.01, max_wait_s=10))
        (result,) = batches.results(created.id)

    assert isinstance(result, BatchSucceeded)
    assert isinstance(result.message.usage, Usage)
    assert result.message.usage.input_tokens > 0
    assert results_cost([result]) == results_cost([result], batch=False) / 2  # type: ignore[operator]


class TestTicketTriageExample:
    def test_every_ticket_comes_back_under_its_own_id(self) -> None:
        """The batch's per-ticket answers match the stand-in applied to each ticket."""
        tickets = load_tickets()
        prompt = SystemPrompt.from_file(HERE / "prompt.md")
        requests = batch_requests(tickets, prompt, MODEL)

        with Emulator(stand_in.reply, batch_delay_seconds=0.01) as emulator:
            client = Client(api_key="test", base_url=emulator.base_url)
            report = triage(client, requests, PollSchedule(initial_s=0.01, max_wait_s=10))

        assert len(tickets) == 50
        assert report.categories == {t["id"]: stand_in.categorize(t["text"]) for t in tickets}
        assert report.failed == {}
        assert report.cost_at_interactive_rate is not None
        assert report.cost_at_batch_rate == report.cost_at_interactive_rate / 2

    def test_the_command_prints_counts_and_both_costs(self) -> None:
        out = io.StringIO()

        assert triage_main(["--json"], out=out) == 0

        printed = json.loads(out.getvalue())
        assert sum(printed["counts"].values()) == 50
        assert set(printed["counts"]) <= {*CATEGORIES, "unparsed"}
        assert Decimal(printed["cost_at_batch_rate"]) * 2 == Decimal(
            printed["cost_at_interactive_rate"]
        )

    def test_the_command_fails_when_tickets_fail(self, capsys: pytest.CaptureFixture[str]) -> None:
        out = io.StringIO()

        assert triage_main(["--json", "--model", "claude-nonexistent"], out=out) == 1

        printed = json.loads(out.getvalue())
        assert sum(printed["counts"].values()) == 0
        assert set(printed["failed"].values()) == {"not_found_error: model: claude-nonexistent"}
        assert capsys.readouterr().err == "50 of 50 tickets failed\n"
