"""The client and the stream against hostile or broken servers.

Whatever a server sends — bodies nested a hundred thousand levels deep, an ``error`` event
half-way through a stream, negative token counts, a response trickled one byte at a time,
lying lengths, bodies of the wrong shape or size — ``messages.create`` and
``messages.stream`` end with a typed error from :mod:`agentcore.errors` (or a safe retry),
never a raw exception, and a run that meets one ends ``failed``. Every client test runs on
both clients; the timing tests use a loopback server on 127.0.0.1 that stops by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentcore.agent import Agent
from agentcore.client import AsyncClient, Client
from agentcore.client.batch_types import parse_result_line
from agentcore.errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    InternalServerError,
    InvalidRequestError,
    MalformedResponseError,
    OverloadedError,
    RateLimitError,
    StreamError,
)
from agentcore.store import RunStore
from agentcore.store.durable import arun_stored, run_stored
from agentcore.streaming import MessageAccumulator, ServerSentEvent
from agentcore.testing import ScriptedModel, text_reply
from agentcore.types import Usage
from agentcore.usage import UsageTotals, cost_of
from tests._client_harness import Harness, message_body, ok
from tests.sse_streams import Event, stream_events
from tests.test_message_stream import consume, consume_until_error, sse, up_to_first_text

KINDS = ["sync", "async"]
DEPTH = 100_000


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def nested(depth: int) -> str:
    """A JSON array nested ``depth`` levels deep."""
    return "[" * depth + "]" * depth


def raw(
    status: int, body: bytes | str, request_id: str = "req_x", **headers: str
) -> httpx.Response:
    content = body.encode() if isinstance(body, str) else body
    return httpx.Response(status, content=content, headers={"request-id": request_id, **headers})


def create_error(harness: Harness, **params: Any) -> Exception:
    with pytest.raises(Exception) as caught:
        harness.create(**params)
    assert isinstance(caught.value, Exception)
    return caught.value


def stream_error(harness: Harness) -> Exception:
    _, error = consume_until_error(harness)
    return error


def text_then(event: Event) -> list[Event]:
    """A stream that starts a text answer ("Hello t"), then sends ``event``."""
    return [*up_to_first_text(stream_events(message_body("Hello there"))), event]


# --- 1. bodies nested too deeply -----------------------------------------------------------


class TestDeeplyNestedBodies:
    @pytest.mark.parametrize(
        ("status", "expected"), [(500, InternalServerError), (400, InvalidRequestError)]
    )
    @pytest.mark.parametrize("depth", [DEPTH, 950])
    def test_a_deeply_nested_error_body_is_the_typed_error_for_its_status(
        self, kind: str, status: int, expected: type[APIStatusError], depth: int
    ) -> None:
        body = '{"type":"error","error":{"type":"api_error","message":"m","a":' + nested(depth)
        harness = Harness(kind, [raw(status, body + "}}", "req_deep")], max_retries=0)
        error = create_error(harness)
        assert type(error) is expected
        assert error.request_id == "req_deep"
        assert len(str(error)) < 1000

    def test_a_deeply_nested_error_body_on_opening_a_stream_is_the_typed_error(
        self, kind: str
    ) -> None:
        harness = Harness(kind, [raw(500, '{"error":{"a":' + nested(DEPTH) + "}}")],
                          max_retries=0)
        error = stream_error(harness)
        assert type(error) is InternalServerError

    @pytest.mark.parametrize("depth", [DEPTH, 950])
    def test_a_deeply_nested_success_body_is_a_malformed_response(
        self, kind: str, depth: int
    ) -> None:
        body = json.dumps(message_body())[:-1] + ',"extra":' + nested(depth) + "}"
        harness = Harness(kind, [raw(200, body, "req_deep")], max_retries=0)
        error = create_error(harness)
        assert isinstance(error, MalformedResponseError)
        assert error.request_id == "req_deep"

    def test_a_deeply_nested_token_count_is_a_malformed_response(self, kind: str) -> None:
        harness = Harness(kind, [raw(200, '{"input_tokens":' + nested(DEPTH) + "}")],
                          max_retries=0)
        with pytest.raises(MalformedResponseError):
            harness.run(lambda client: client.messages.count_tokens(
                model="claude-sonnet-4-6", messages=[{"role": "user", "content": "Hi"}]))

    @pytest.mark.parametrize("depth", [DEPTH, 950])
    def test_a_deeply_nested_error_event_after_output_is_a_typed_stream_error(
        self, kind: str, depth: int
    ) -> None:
        events = up_to_first_text(stream_events(message_body("Hello there")))
        body = b'event: error\ndata: {"error":{"a":' + nested(depth).encode() + b"}}\n\n"
        payload = b"".join(
            f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events
        ) + body
        harness = Harness(kind, [raw(200, payload, "req_s1",
                                     **{"content-type": "text/event-stream"})])
        error = stream_error(harness)
        assert isinstance(error, APIStatusError) and isinstance(error, StreamError)
        assert error.partial is not None and error.partial.text == "Hello t"

    @pytest.mark.parametrize("depth", [DEPTH, 950])
    @pytest.mark.parametrize("where", ["message_delta", "content_block_delta", "unknown"])
    def test_deeply_nested_event_data_is_a_stream_error(
        self, kind: str, depth: int, where: str
    ) -> None:
        events = up_to_first_text(stream_events(message_body("Hello there")))
        deep = nested(depth)
        data = {
            "message_delta": '{"type":"message_delta","delta":{"x":' + deep + "},\"usage\":{}}",
            "content_block_delta": '{"type":"content_block_delta","index":0,"delta":'
            '{"type":"text_delta","text":"x","y":' + deep + "}}",
            "unknown": '{"type":"content_block_delta","index":' + deep + "}",
        }[where]
        name = "content_block_delta" if where == "unknown" else where
        payload = b"".join(
            f"event: {n}\ndata: {json.dumps(d)}\n\n".encode() for n, d in events
        ) + f"event: {name}\ndata: {data}\n\n".encode()
        harness = Harness(kind, [raw(200, payload, "req_s1",
                                     **{"content-type": "text/event-stream"})])
        error = stream_error(harness)
        assert isinstance(error, StreamError)
        # A delta may carry fields this version ignores, however deep: then the text stands.
        assert error.partial is not None and error.partial.text in ("Hello t", "Hello tx")


    @pytest.mark.parametrize("depth", [DEPTH, 950])
    def test_a_deeply_nested_batch_result_line_is_a_malformed_response(self, depth: int) -> None:
        message = json.dumps(message_body())[:-1] + ',"extra":' + nested(depth) + "}"
        lines = ['{"custom_id":"a","result":' + nested(depth) + "}",
                 '{"custom_id":"a","result":{"type":"succeeded","message":' + message + "}}"]
        with pytest.raises(MalformedResponseError):
            parse_result_line(lines[0])
        # An extra field nested deep yet parseable may be kept; a raw error never escapes.
        with contextlib.suppress(MalformedResponseError):
            parse_result_line(lines[1])


# --- 1b. a run whose model call fails in any way ends failed -------------------------------


class _Exploding(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """A transport whose every request raises an exception no client maps."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        raise LookupError("the transport broke")

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise LookupError("the transport broke")


def deep_error_transport() -> ScriptedModel:
    body = '{"error":{"a":' + nested(DEPTH) + "}}"
    return ScriptedModel([httpx.Response(500, content=body.encode())])


def agent_over(transport: httpx.BaseTransport | httpx.AsyncBaseTransport) -> Agent:
    return Agent(
        "claude-sonnet-4-6",
        client=Client(api_key="test", transport=transport, max_retries=0),  # type: ignore[arg-type]
        async_client=AsyncClient(api_key="test", transport=transport,  # type: ignore[arg-type]
                                 max_retries=0),
    )


TRANSPORTS: dict[str, Callable[[], Any]] = {
    "deep_error_body": deep_error_transport,
    "unmapped_exception": _Exploding,
}


class TestRunsEndFailed:
    @pytest.mark.parametrize("transport", sorted(TRANSPORTS))
    @pytest.mark.parametrize("how", ["run", "stream", "arun", "astream"])
    def test_the_run_finishes_failed_with_a_typed_error(self, transport: str, how: str) -> None:
        agent = agent_over(TRANSPORTS[transport]())
        if how == "run":
            result = agent.run("Hi")
        elif how == "arun":
            result = asyncio.run(agent.arun("Hi"))
        elif how == "stream":
            result = list(agent.stream("Hi"))[-1].result  # type: ignore[union-attr]
        else:

            async def last() -> Any:
                return [event async for event in agent.astream("Hi")][-1].result

            result = asyncio.run(last())
        assert result.status == "failed"
        assert isinstance(result.exception, APIError)
        assert "RecursionError" not in (result.error or "")

    @pytest.mark.parametrize("transport", sorted(TRANSPORTS))
    @pytest.mark.parametrize("mode", ["sync", "async"])
    def test_a_stored_run_is_stored_failed_not_left_running(
        self, tmp_path: Path, transport: str, mode: str
    ) -> None:
        agent = agent_over(TRANSPORTS[transport]())
        with RunStore(tmp_path / "runs.db") as store:
            if mode == "sync":
                result = run_stored(agent, store, "Hi")
            else:
                result = asyncio.run(arun_stored(agent, store, "Hi"))
            assert result.status == "failed"
            assert store.load_run(result.state.run_id).status == "failed"

    def test_a_stored_run_that_raises_part_way_is_stored_failed(self, tmp_path: Path) -> None:
        agent = agent_over(ScriptedModel([text_reply("Hi.")]))

        def screen(event: Any) -> None:
            raise OSError("the screen went away")

        with RunStore(tmp_path / "runs.db") as store:
            with pytest.raises(OSError, match="screen went away"):
                run_stored(agent, store, "Hi", on_event=screen)
            [record] = store.list_runs()
            assert record.status == "failed"

    def test_a_stored_run_whose_last_event_handler_raises_keeps_its_end(
        self, tmp_path: Path
    ) -> None:
        agent = agent_over(ScriptedModel([text_reply("Hi.")]))

        def screen(event: Any) -> None:
            if type(event).__name__ == "RunFinished":
                raise OSError("the screen went away")

        with RunStore(tmp_path / "runs.db") as store:
            with pytest.raises(OSError, match="screen went away"):
                run_stored(agent, store, "Hi", on_event=screen)
            [record] = store.list_runs()
            assert record.status == "completed"


# --- 2. an error event inside a 200 stream ---------------------------------------------------


def error_event(error_type: str, message: str) -> Event:
    return "error", {"type": "error", "error": {"type": error_type, "message": message}}


class TestErrorEvents:
    @pytest.mark.parametrize(
        ("error_type", "expected"),
        [("overloaded_error", OverloadedError), ("rate_limit_error", RateLimitError),
         ("api_error", InternalServerError), ("invalid_request_error", InvalidRequestError)],
    )
    def test_after_output_the_typed_error_carries_the_partial_message(
        self, kind: str, error_type: str, expected: type[APIStatusError]
    ) -> None:
        harness = Harness(kind, [sse(text_then(error_event(error_type, "Stop")))])
        error = stream_error(harness)
        assert isinstance(error, expected) and isinstance(error, StreamError)
        assert (error.error_type, error.message, error.request_id) == (error_type, "Stop",
                                                                       "req_s1")
        assert error.partial is not None and error.partial.text == "Hello t"
        assert isinstance(error.cause, expected)
        assert error.is_retryable is False
        assert (len(harness.script.seen), harness.delays) == (1, [])

    def test_the_typed_error_can_be_caught_by_its_api_class(self, kind: str) -> None:
        harness = Harness(kind, [sse(text_then(error_event("overloaded_error", "Busy")))])
        with pytest.raises(OverloadedError, match="overloaded_error: Busy"):
            consume(harness)

    def test_before_output_the_error_is_retried_like_a_failed_request(self, kind: str) -> None:
        start = stream_events(message_body("Hello there"))[:1]
        replies = [sse([*start, error_event("overloaded_error", "Busy")]),
                   sse(stream_events(message_body("Hello there")), request_id="req_s2")]
        harness = Harness(kind, replies)
        _, final = consume(harness)
        assert (final.text, final.request_id) == ("Hello there", "req_s2")
        assert len(harness.script.seen) == 2 and len(harness.delays) == 1

    def test_before_output_a_non_retryable_error_is_raised_at_once(self, kind: str) -> None:
        start = stream_events(message_body("Hello there"))[:1]
        harness = Harness(kind, [sse([*start, error_event("invalid_request_error", "No")])])
        error = stream_error(harness)
        assert type(error) is InvalidRequestError
        assert error.request_id == "req_s1"
        assert len(harness.script.seen) == 1

    def test_the_accumulator_alone_raises_the_typed_error(self) -> None:
        accumulator = MessageAccumulator(request_id="req_a")
        for name, data in up_to_first_text(stream_events(message_body("Hello there"))):
            accumulator.add(ServerSentEvent(name, json.dumps(data)))
        overloaded = json.dumps(error_event("overloaded_error", "Busy")[1])
        with pytest.raises(OverloadedError) as caught:
            accumulator.add(ServerSentEvent("error", overloaded))
        assert isinstance(caught.value, StreamError)
        assert caught.value.request_id == "req_a"
        assert caught.value.partial is not None and caught.value.partial.text == "Hello t"


# --- 3. usage that is not a count ----------------------------------------------------------


BAD_USAGE = {
    "negative_input": {"input_tokens": -1_000_000_000, "output_tokens": 3},
    "negative_output": {"input_tokens": 3, "output_tokens": -1},
    "float": {"input_tokens": 1.5, "output_tokens": 3},
    "string": {"input_tokens": "12", "output_tokens": 3},
    "boolean": {"input_tokens": True, "output_tokens": 3},
    "absurd": {"input_tokens": 10**18, "output_tokens": 3},
    "negative_cache_read": {"input_tokens": 3, "output_tokens": 3,
                            "cache_read_input_tokens": -500},
    "negative_cache_split": {"input_tokens": 3, "output_tokens": 3,
                             "cache_creation": {"ephemeral_1h_input_tokens": -7}},
    "negative_searches": {"input_tokens": 3, "output_tokens": 3,
                          "server_tool_use": {"web_search_requests": -100}},
}


class TestUsage:
    @pytest.mark.parametrize("case", sorted(BAD_USAGE))
    def test_a_message_with_bad_usage_is_a_malformed_response(self, kind: str, case: str) -> None:
        body = message_body(usage=BAD_USAGE[case])
        harness = Harness(kind, [ok(body, request_id="req_neg")], max_retries=0)
        error = create_error(harness)
        assert isinstance(error, MalformedResponseError)
        assert error.request_id == "req_neg"
        assert "usage" in str(error)

    @pytest.mark.parametrize("case", ["negative_output", "float", "absurd"])
    def test_bad_usage_in_message_delta_is_a_malformed_stream(self, kind: str, case: str) -> None:
        events = stream_events(message_body("Hello there"))
        events = [
            (name, {**data, "usage": BAD_USAGE[case]} if name == "message_delta" else data)
            for name, data in events
        ]
        harness = Harness(kind, [sse(events)])
        error = stream_error(harness)
        assert isinstance(error, MalformedResponseError) and isinstance(error, StreamError)
        assert error.request_id == "req_s1"
        assert error.partial is not None and error.partial.text == "Hello there"

    def test_bad_usage_in_message_start_is_retried_then_raised(self, kind: str) -> None:
        events = stream_events(message_body("Hello there"))
        name, start = events[0]
        bad_start = {**start, "message": {**start["message"], "usage": BAD_USAGE["negative_input"]}}
        harness = Harness(kind, [sse([(name, bad_start), *events[1:]]) for _ in range(2)],
                          max_retries=1)
        error = stream_error(harness)
        assert type(error) is MalformedResponseError
        assert len(harness.script.seen) == 2

    def test_usage_built_without_validation_is_refused_where_it_is_summed(self) -> None:
        forged = Usage.model_construct(input_tokens=-1_000_000_000, output_tokens=1)
        with pytest.raises(MalformedResponseError):
            cost_of(forged, "claude-sonnet-4-6")
        with pytest.raises(MalformedResponseError):
            UsageTotals().add(forged)

    def test_valid_usage_still_costs_what_it_did(self) -> None:
        usage = Usage.model_validate({"input_tokens": 1000, "output_tokens": 100,
                                      "cache_read_input_tokens": 0})
        assert cost_of(usage, "claude-sonnet-4-6") == Decimal("0.0045")


# --- 5. bodies of the wrong shape, encoding or size (in memory) ------------------------------


class TestWrongShapes:
    @pytest.mark.parametrize("body", ['[1, 2]', '"a message"', "42", "null", "", "{", "\xff"])
    def test_a_success_body_that_is_not_an_object_is_a_malformed_response(
        self, kind: str, body: str
    ) -> None:
        harness = Harness(kind, [raw(200, body.encode("latin-1"), "req_shape")], max_retries=0)
        error = create_error(harness)
        assert isinstance(error, MalformedResponseError)
        assert error.request_id == "req_shape"

    @pytest.mark.parametrize("body", [b"[1]", b'"down"', b"\xff\xfe\x00<html>", b"", b"{"])
    def test_an_error_body_of_any_shape_is_the_typed_error_for_its_status(
        self, kind: str, body: bytes
    ) -> None:
        harness = Harness(kind, [raw(529, body, "req_529")], max_retries=0)
        error = create_error(harness)
        assert type(error) is OverloadedError
        assert error.request_id == "req_529"

    def test_a_huge_error_body_becomes_a_short_typed_error(self, kind: str) -> None:
        body = {"type": "error", "error": {"type": "api_error", "message": "x" * 5_000_000}}
        harness = Harness(kind, [raw(500, json.dumps(body), "req_big")], max_retries=0)
        error = create_error(harness)
        assert type(error) is InternalServerError
        assert len(str(error)) < 5000

    @pytest.mark.parametrize(
        "override",
        [{"stop_reason": 7}, {"stop_reason": {"why": "x"}}, {"stop_sequence": ["a"]},
         {"content": [{"type": "tool_use", "id": "t", "name": "n", "input": [1]}]},
         {"content": [{"type": "tool_use", "id": "t", "name": "n", "input": "{}"}]},
         {"content": {"type": "text", "text": "x"}}, {"id": None}, {"usage": []}],
    )
    def test_a_message_with_a_field_of_the_wrong_type_is_a_malformed_response(
        self, kind: str, override: dict[str, Any]
    ) -> None:
        harness = Harness(kind, [ok(message_body(**override), "req_type")], max_retries=0)
        error = create_error(harness)
        assert isinstance(error, MalformedResponseError)

    @pytest.mark.parametrize("stop_reason", [7, {"why": "x"}, ["end_turn"]])
    def test_a_stop_reason_that_is_not_a_string_in_a_stream_is_a_stream_error(
        self, kind: str, stop_reason: Any
    ) -> None:
        events = [
            (name, {**data, "delta": {"stop_reason": stop_reason}}
             if name == "message_delta" else data)
            for name, data in stream_events(message_body("Hello there"))
        ]
        harness = Harness(kind, [sse(events)])
        seen, error = consume_until_error(harness)
        assert isinstance(error, StreamError)
        assert error.partial is not None and error.partial.text == "Hello there"
        assert "message_delta" not in [event.type for event in seen]

    @pytest.mark.parametrize("tool_input", ["[1, 2]", '"text"', "3"])
    def test_streamed_tool_input_that_is_not_an_object_is_a_stream_error(
        self, kind: str, tool_input: str
    ) -> None:
        tool = {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {}}
        events: list[Event] = [
            stream_events(message_body("x"))[0],
            ("content_block_start", {"type": "content_block_start", "index": 0,
                                     "content_block": tool}),
            ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                     "delta": {"type": "input_json_delta",
                                               "partial_json": tool_input}}),
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ]
        harness = Harness(kind, [sse(events)])
        error = stream_error(harness)
        assert isinstance(error, StreamError)
        assert "block 0" in str(error)


# --- 4. the deadline of an attempt, against a loopback server that trickles ----------------


class LoopbackServer:
    """An HTTP/1.1 server on 127.0.0.1 answering each connection with ``answer(conn)``.

    It serves at most ``connections`` connections, in a daemon thread, and stops by itself:
    accepting gives up after a few seconds and every answer is a bounded loop.
    """

    def __init__(self, answer: Callable[[socket.socket], None], connections: int = 1) -> None:
        self.answer = answer
        self.connections = connections
        self.served = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(10)
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        with self.listener:
            for _ in range(self.connections):
                try:
                    conn, _ = self.listener.accept()
                except OSError:
                    return
                with conn:
                    self.served += 1
                    read_request(conn)
                    with contextlib.suppress(OSError):  # the client hung up, as it should
                        self.answer(conn)

    def __enter__(self) -> LoopbackServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.thread.join(timeout=15)


def read_request(conn: socket.socket) -> None:
    conn.settimeout(5)
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        body += conn.recv(65536)


def trickle(data: bytes, interval: float = 0.1) -> Callable[[socket.socket], None]:
    """Send ``data`` one byte every ``interval`` seconds (well inside any read timeout)."""

    def answer(conn: socket.socket) -> None:
        for index in range(len(data)):
            conn.sendall(data[index : index + 1])
            time.sleep(interval)

    return answer


Answer = Callable[[socket.socket], None]


def head_then(head: bytes, body: Answer) -> Answer:
    def answer(conn: socket.socket) -> None:
        conn.sendall(head)
        body(conn)

    return answer


MESSAGE = json.dumps(message_body("Hello there")).encode()
JSON_HEAD = (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nrequest-id: req_slow\r\n"
             b"content-length: %d\r\n\r\n" % len(MESSAGE))
SSE_HEAD = (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nrequest-id: req_slow\r\n"
            b"connection: close\r\n\r\n")


def over_loopback(kind: str, server: LoopbackServer, **client_args: Any) -> Any:
    client_args.setdefault("max_retries", 0)
    if kind == "sync":
        return Client(api_key="test", base_url=server.url, **client_args)
    return AsyncClient(api_key="test", base_url=server.url, **client_args)


def timed(kind: str, client: Any, call: Callable[[Any], Any]) -> tuple[Exception, float]:
    """Run ``call(client)`` (awaited for an AsyncClient); the error it raised, and seconds."""
    began = time.monotonic()
    with pytest.raises(Exception) as caught:
        if kind == "sync":
            with client:
                call(client)
        else:

            async def scenario() -> None:
                async with client:
                    await call(client)

            asyncio.run(scenario())
    assert isinstance(caught.value, Exception)
    return caught.value, time.monotonic() - began


def create(client: Any) -> Any:
    return client.messages.create(model="claude-sonnet-4-6", max_tokens=9,
                                  messages=[{"role": "user", "content": "Hi"}])


def stream_all(kind: str) -> Callable[[Any], Any]:
    def sync_call(client: Any) -> Any:
        with client.messages.stream(model="claude-sonnet-4-6", max_tokens=9,
                                    messages=[{"role": "user", "content": "Hi"}]) as stream:
            return stream.get_final_message()

    async def async_call(client: Any) -> Any:
        async with client.messages.stream(model="claude-sonnet-4-6", max_tokens=9,
                                          messages=[{"role": "user", "content": "Hi"}]) as stream:
            return await stream.get_final_message()

    return sync_call if kind == "sync" else async_call


class TestDeadline:
    @pytest.mark.parametrize("where", ["headers", "body"])
    def test_a_trickled_response_times_out_within_the_timeout(
        self, kind: str, where: str
    ) -> None:
        answer = (trickle(JSON_HEAD + MESSAGE) if where == "headers"
                  else head_then(JSON_HEAD, trickle(MESSAGE)))
        with LoopbackServer(answer) as server:
            error, elapsed = timed(kind, over_loopback(kind, server, timeout=0.5), create)
        assert isinstance(error, APITimeoutError)
        assert elapsed < 3.0

    def test_a_timed_out_attempt_is_retried_per_the_policy(self, kind: str) -> None:
        sleeps: list[float] = []

        def record(seconds: float) -> Any:
            sleeps.append(seconds)
            if kind == "async":
                return asyncio.sleep(0)
            return None

        answer = head_then(JSON_HEAD, trickle(MESSAGE))
        with LoopbackServer(answer, connections=2) as server:
            client = over_loopback(kind, server, timeout=0.5, max_retries=1, sleep=record)
            error, elapsed = timed(kind, client, create)
        assert isinstance(error, APITimeoutError)
        assert (server.served, len(sleeps)) == (2, 1)
        assert elapsed < 5.0

    def test_a_stream_trickling_one_event_never_finishes_it_times_out(self, kind: str) -> None:
        events = stream_events(message_body("Hello there"))
        opening = b"".join(
            f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events[:3]
        )
        answer = head_then(SSE_HEAD + opening, trickle(b"event: content_block_delta\ndata: "
                                                       + b"x" * 200))
        with LoopbackServer(answer) as server:
            error, elapsed = timed(kind, over_loopback(kind, server, timeout=0.5),
                                   stream_all(kind))
        assert isinstance(error, StreamError)
        assert isinstance(error.cause, APITimeoutError)
        assert error.partial is not None and error.partial.text == "Hello t"
        assert elapsed < 3.0

    def test_a_stream_whose_headers_trickle_times_out(self, kind: str) -> None:
        with LoopbackServer(trickle(SSE_HEAD)) as server:
            error, elapsed = timed(kind, over_loopback(kind, server, timeout=0.5),
                                   stream_all(kind))
        assert isinstance(error, APITimeoutError)
        assert elapsed < 3.0

    def test_a_stream_that_keeps_sending_events_is_not_cut_by_the_timeout(
        self, kind: str
    ) -> None:
        events = stream_events(message_body("Hello there, this takes a while", ), chunk=3)
        payload = b"".join(
            f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events
        )

        def paced(conn: socket.socket) -> None:
            conn.sendall(SSE_HEAD)
            for part in payload.split(b"\n\n")[:-1]:
                conn.sendall(part + b"\n\n")
                time.sleep(0.05)

        with LoopbackServer(paced) as server:
            client = over_loopback(kind, server, timeout=0.5)
            call = stream_all(kind)
            if kind == "sync":
                with client:
                    final = call(client)
            else:

                async def scenario() -> Any:
                    async with client:
                        return await call(client)

                final = asyncio.run(scenario())
        assert final.text == "Hello there, this takes a while"


# --- 5. lying lengths and oversized bodies ---------------------------------------------------


def answer_with(data: bytes) -> Answer:
    def answer(conn: socket.socket) -> None:
        conn.sendall(data)

    return answer


class TestSizes:
    def test_a_body_shorter_than_its_content_length_is_a_connection_error(
        self, kind: str
    ) -> None:
        head = JSON_HEAD.replace(b"content-length: %d" % len(MESSAGE),
                                 b"content-length: %d" % (len(MESSAGE) + 500))
        with LoopbackServer(answer_with(head + MESSAGE)) as server:
            error, _ = timed(kind, over_loopback(kind, server, timeout=5), create)
        assert type(error) is APIConnectionError

    def test_a_body_longer_than_its_content_length_is_a_malformed_response(
        self, kind: str
    ) -> None:
        head = JSON_HEAD.replace(b"content-length: %d" % len(MESSAGE), b"content-length: 20")
        with LoopbackServer(answer_with(head + MESSAGE)) as server:
            error, _ = timed(kind, over_loopback(kind, server, timeout=5), create)
        assert type(error) is MalformedResponseError
        assert error.request_id == "req_slow"

    def test_a_message_body_over_the_size_limit_is_a_malformed_response(
        self, kind: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr("agentcore.client._http.MAX_BODY_BYTES", 1000)
        body = message_body("x" * 5000)
        harness = Harness(kind, [ok(body, request_id="req_big")], max_retries=0)
        error = create_error(harness)
        assert isinstance(error, MalformedResponseError)
        assert "larger than 1000 bytes" in str(error)

    def test_only_the_start_of_a_huge_error_body_is_read(self, kind: str) -> None:
        read: list[int] = []

        def body() -> Iterator[bytes]:
            for _ in range(1000):  # 64 MB if it were read to the end
                read.append(1)
                yield b"<html>" + b"x" * 65530

        response = httpx.Response(502, headers={"request-id": "req_502"}, content=body())
        harness = Harness(kind, [response], max_retries=0)
        if kind == "async":
            harness.script.replies = [httpx.Response(502, headers={"request-id": "req_502"},
                                                     content=abody(body()))]
        error = create_error(harness)
        assert type(error) is InternalServerError
        assert error.status_code == 502
        assert len(read) <= 3

    @pytest.mark.parametrize("after_output", [False, True])
    def test_a_stream_line_of_many_megabytes_is_a_malformed_response(
        self, kind: str, after_output: bool
    ) -> None:
        events = up_to_first_text(stream_events(message_body("Hello there")))
        opening = b"".join(
            f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()
            for name, data in (events if after_output else events[:1])
        )
        line = [b"event: content_block_delta\ndata: "] + [b"x" * 1_048_576] * 40

        def chunks() -> Iterator[bytes]:
            yield opening
            yield from line

        headers = {"content-type": "text/event-stream", "request-id": "req_s1"}
        stream = abody(chunks()) if kind == "async" else chunks()
        harness = Harness(kind, [httpx.Response(200, headers=headers, content=stream)],
                          max_retries=0)
        error = stream_error(harness)
        assert isinstance(error, MalformedResponseError)
        assert "longer than" in str(error)
        assert isinstance(error, StreamError) is after_output
        if after_output:
            assert error.partial is not None and error.partial.text == "Hello t"


async def abody(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def test_the_stream_decoder_refuses_an_oversized_line_with_a_typed_error() -> None:
    from agentcore.streaming import StreamDecoder

    decoder = StreamDecoder(request_id="req_d")
    decoder.parser = type(decoder.parser)(max_event_bytes=1000)
    with pytest.raises(MalformedResponseError) as caught:
        for _ in range(5):
            decoder.feed(b"data: " + b"x" * 400)
    assert isinstance(caught.value, StreamError)
    assert caught.value.request_id == "req_d"


def test_the_sse_parser_refuses_an_event_of_many_lines_past_its_limit() -> None:
    from agentcore.streaming.sse import EventTooLargeError, SSEParser

    parser = SSEParser(max_event_bytes=1000)
    assert parser.feed(b"data: small\n\n")[0].data == "small"
    with pytest.raises(EventTooLargeError):
        for _ in range(100):
            parser.feed(b"data: " + b"y" * 50 + b"\n")
