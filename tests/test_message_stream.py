"""Streamed replies: events, text, the final message, and failures before and after output.

A failure before the first content block is a failed attempt, retried (and fallen back)
like any request, with nothing shown twice; after it, the failure is a StreamError keeping
the partial message. Every test runs on both clients.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from agentcore.errors import (
    APIConnectionError,
    AuthenticationError,
    OverloadedError,
    StreamError,
)
from agentcore.log import capture_events
from agentcore.streaming.events import StreamEvent
from agentcore.types import Message, parse_message
from tests._client_harness import ChunkStream, Harness, error_response, message_body
from tests.sse_streams import Event, encode, stream_events

KINDS = ["sync", "async"]
HELLO = [{"role": "user", "content": "Hi"}]
OVERLOADED_EVENT: Event = (
    "error",
    {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
)


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def reply(text: str = "Hello there", *, model: str = "claude-sonnet-4-6") -> dict[str, Any]:
    return message_body(text, model=model)


def sse(
    events: list[Event],
    *,
    chunk_size: int = 64,
    error: Exception | None = None,
    request_id: str = "req_s1",
) -> httpx.Response:
    """A 200 event-stream response delivering ``events`` in chunks, then maybe failing."""
    payload = encode(events)
    chunks = [payload[start : start + chunk_size] for start in range(0, len(payload), chunk_size)]
    headers = {"content-type": "text/event-stream", "request-id": request_id}
    return httpx.Response(200, headers=headers, stream=ChunkStream(chunks, error))


def up_to_first_text(events: list[Event]) -> list[Event]:
    """The events through the first text delta."""
    names = [name for name, _ in events]
    return events[: names.index("content_block_delta") + 1]


def consume(harness: Harness, **params: Any) -> tuple[list[StreamEvent], Message]:
    """Stream to the end: every event, then the final message."""
    params.setdefault("model", "claude-sonnet-4-6")
    params.setdefault("max_tokens", 256)
    params.setdefault("messages", HELLO)
    if harness.kind == "sync":
        with harness.client.messages.stream(**params) as stream:
            events = list(stream)
            return events, stream.get_final_message()

    async def scenario() -> tuple[list[StreamEvent], Message]:
        async with harness.client.messages.stream(**params) as stream:
            events = [event async for event in stream]
            return events, await stream.get_final_message()

    return asyncio.run(scenario())


def consume_until_error(harness: Harness, **params: Any) -> tuple[list[StreamEvent], Exception]:
    """Stream until it fails: the events seen, then the error raised."""
    seen: list[StreamEvent] = []

    def run() -> None:
        if harness.kind == "sync":
            with harness.client.messages.stream(model="m", max_tokens=9, messages=HELLO,
                                                **params) as stream:
                seen.extend(stream)
            return

        async def scenario() -> None:
            async with harness.client.messages.stream(model="m", max_tokens=9, messages=HELLO,
                                                      **params) as stream:
                async for event in stream:
                    seen.append(event)

        asyncio.run(scenario())

    with pytest.raises(Exception) as caught:
        run()
    assert isinstance(caught.value, Exception)
    return seen, caught.value


def names(events: list[StreamEvent]) -> list[str]:
    return [event.type for event in events]


class TestSuccess:
    def test_events_arrive_in_order_and_the_final_message_is_complete(self, kind: str) -> None:
        harness = Harness(kind, [sse(stream_events(reply()))])
        events, final = consume(harness)
        assert names(events) == [
            "message_start", "content_block_start", "text_delta", "text_delta",
            "content_block_stop", "message_delta", "message_stop",
        ]
        assert final == parse_message(reply(), request_id="req_s1")
        assert final.request_id == "req_s1"
        [seen] = harness.script.seen
        assert seen.body == {"max_tokens": 256, "messages": HELLO, "stream": True,
                             "model": "claude-sonnet-4-6"}

    def test_text_stream_yields_the_text_as_it_arrives(self, kind: str) -> None:
        harness = Harness(kind, [sse(stream_events(reply()), chunk_size=5)])
        if kind == "sync":
            with harness.client.messages.stream(model="m", max_tokens=9, messages=HELLO) as s:
                pieces = list(s.text_stream)
                final = s.get_final_message()
        else:

            async def scenario() -> tuple[list[str], Message]:
                async with harness.client.messages.stream(
                    model="m", max_tokens=9, messages=HELLO
                ) as s:
                    return [piece async for piece in s.text_stream], await s.get_final_message()

            pieces, final = asyncio.run(scenario())
        assert (pieces, final.text) == (["Hello t", "here"], "Hello there")

    def test_current_message_shows_the_text_so_far(self, kind: str) -> None:
        harness = Harness(kind, [sse(stream_events(reply()), chunk_size=1)])
        snapshots: list[str | None] = []
        if kind == "sync":
            with harness.client.messages.stream(model="m", max_tokens=9, messages=HELLO) as s:
                for event in s:
                    if event.type == "text_delta":
                        current = s.current_message
                        snapshots.append(current.text if current else None)
        else:

            async def scenario() -> None:
                async with harness.client.messages.stream(
                    model="m", max_tokens=9, messages=HELLO
                ) as s:
                    async for event in s:
                        if event.type == "text_delta":
                            current = s.current_message
                            snapshots.append(current.text if current else None)

            asyncio.run(scenario())
        assert snapshots == ["Hello t", "Hello there"]

    def test_a_finished_stream_logs_the_model_call(self, kind: str) -> None:
        harness = Harness(kind, [sse(stream_events(reply()))])
        with capture_events() as events:
            consume(harness)
        [call] = [event for event in events if event["event"] == "model.call"]
        assert {**call, "latency_ms": 0} == {
            "event": "model.call", "level": "info", "logger": "agentcore.client",
            "model": "claude-sonnet-4-6", "latency_ms": 0, "input_tokens": 12,
            "output_tokens": 3, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
            "cost_usd": "0.000081", "stop_reason": "end_turn", "request_id": "req_s1",
            "attempt": 1,
        }


class TestFailureAfterOutput:
    def test_an_error_event_raises_stream_error_with_the_partial_message(
        self, kind: str
    ) -> None:
        events = [*up_to_first_text(stream_events(reply())), OVERLOADED_EVENT]
        harness = Harness(kind, [sse(events)])
        seen, error = consume_until_error(harness)
        assert isinstance(error, StreamError)
        assert names(seen) == ["message_start", "content_block_start", "text_delta"]
        assert error.partial is not None and error.partial.text == "Hello t"
        assert isinstance(error.cause, OverloadedError)
        assert (error.request_id, error.is_retryable) == ("req_s1", False)
        assert (len(harness.script.seen), harness.delays) == (1, [])

    def test_a_cut_connection_raises_stream_error_with_the_partial_message(
        self, kind: str
    ) -> None:
        cut = sse(up_to_first_text(stream_events(reply())), error=httpx.ReadError("reset"))
        harness = Harness(kind, [cut])
        _, error = consume_until_error(harness)
        assert isinstance(error, StreamError)
        assert error.partial is not None and error.partial.text == "Hello t"
        assert isinstance(error.cause, APIConnectionError)
        assert error.cause.request_id == "req_s1"
        assert len(harness.script.seen) == 1

    def test_a_stream_ending_without_message_stop_is_an_error_not_a_success(
        self, kind: str
    ) -> None:
        harness = Harness(kind, [sse(stream_events(reply())[:-1])])
        _, error = consume_until_error(harness)
        assert isinstance(error, StreamError)
        assert "before message_stop" in str(error)
        assert error.partial is not None and error.partial.text == "Hello there"


class TestFailureBeforeOutput:
    def test_an_error_event_before_any_block_is_retried_and_nothing_is_shown_twice(
        self, kind: str
    ) -> None:
        first = sse([stream_events(reply())[0], OVERLOADED_EVENT], request_id="req_a")
        harness = Harness(kind, [first, sse(stream_events(reply()), request_id="req_b")])
        events, final = consume(harness)
        assert names(events).count("message_start") == 1
        assert (final.text, final.request_id) == ("Hello there", "req_b")
        assert harness.delays == [0.4375]

    def test_a_connection_cut_before_any_block_is_retried(self, kind: str) -> None:
        cut = sse(stream_events(reply())[:1], error=httpx.RemoteProtocolError("closed"))
        harness = Harness(kind, [cut, sse(stream_events(reply()))])
        _, final = consume(harness)
        assert (final.text, len(harness.script.seen)) == ("Hello there", 2)

    def test_a_connection_cut_before_any_block_names_the_response_once_retries_are_spent(
        self, kind: str
    ) -> None:
        cut = sse(stream_events(reply())[:1], error=httpx.RemoteProtocolError("closed"))
        harness = Harness(kind, [cut], max_retries=0)
        _, error = consume_until_error(harness)
        assert isinstance(error, APIConnectionError)
        assert error.request_id == "req_s1"

    def test_an_error_status_when_opening_is_retried(self, kind: str) -> None:
        harness = Harness(kind, [error_response(529, "overloaded_error"),
                                 sse(stream_events(reply()))])
        with capture_events() as logged:
            _, final = consume(harness)
        assert final.text == "Hello there"
        model_events = [e for e in logged if e["event"].startswith("model.")]
        assert [(e["event"], e["attempt"]) for e in model_events] == [
            ("model.retry", 1), ("model.call", 2)
        ]

    def test_a_client_error_when_opening_is_raised_at_once(self, kind: str) -> None:
        harness = Harness(kind, [error_response(401, "authentication_error", "bad key")])
        seen, error = consume_until_error(harness)
        assert isinstance(error, AuthenticationError)
        assert (seen, len(harness.script.seen)) == ([], 1)

    def test_when_retries_run_out_the_apis_own_error_is_raised(self, kind: str) -> None:
        failing = [sse([stream_events(reply())[0], OVERLOADED_EVENT]) for _ in range(3)]
        harness = Harness(kind, failing)
        seen, error = consume_until_error(harness)
        assert isinstance(error, OverloadedError)
        assert (error.request_id, seen, harness.delays) == ("req_s1", [], [0.4375, 0.875])

    def test_an_overloaded_model_falls_back_to_the_next(self, kind: str) -> None:
        failing = sse([stream_events(reply())[0], OVERLOADED_EVENT])
        backup = sse(stream_events(reply(model="backup")))
        harness = Harness(kind, [failing, backup], max_retries=0, fallback_models=["backup"])
        _, final = consume(harness)
        assert final.model == "backup"
        assert [seen.body["model"] for seen in harness.script.seen] == [
            "claude-sonnet-4-6", "backup"
        ]


def test_closing_a_stream_early_releases_it_and_get_final_message_says_so() -> None:
    harness = Harness("sync", [sse(stream_events(reply()), chunk_size=8)])
    with harness.client.messages.stream(model="m", max_tokens=9, messages=HELLO) as stream:
        first = next(iter(stream))
    assert first.type == "message_start"
    with pytest.raises(StreamError, match="closed before it finished"):
        stream.get_final_message()

