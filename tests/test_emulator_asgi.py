"""The emulator as an ASGI application: served by uvicorn over TCP, or called in-process.

In-process, ``Emulator.asgi_transport()`` hands requests straight to the app in the running
event loop; a reset fault, which over TCP drops the connection, surfaces as the
``httpx.ReadError`` a client would see.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import socket
import time
from typing import Any

import httpx
import pytest

from agentcore.client import AsyncClient
from agentcore.emulator import ConnectionDropped, Emulator, Fault, RateLimits
from agentcore.errors import APIConnectionError, RateLimitError
from agentcore.testing import text_reply

MODEL = "claude-sonnet-4-6"
HEADERS = {"x-api-key": "test-key", "anthropic-version": "2023-06-01"}
MESSAGES = [{"role": "user", "content": "Hello"}]


def body(**overrides: Any) -> dict[str, Any]:
    request: dict[str, Any] = {"model": MODEL, "max_tokens": 64, "messages": MESSAGES}
    request.update(overrides)
    return request


class TestInProcess:
    async def test_an_async_client_talks_to_the_app_without_a_socket(self) -> None:
        emulator = Emulator([text_reply("one"), text_reply("two")])
        async with AsyncClient(api_key="k", base_url="http://emulator",
                               transport=emulator.asgi_transport()) as client:
            reply = await client.messages.create(model=MODEL, max_tokens=64,
                                                 messages=MESSAGES)
            async with client.messages.stream(model=MODEL, max_tokens=64,
                                              messages=MESSAGES) as stream:
                streamed = [text async for text in stream.text_stream]
        assert reply.text == "one"
        assert "".join(streamed) == "two"
        assert [request["messages"] for request in emulator.requests] == [MESSAGES, MESSAGES]
        with pytest.raises(RuntimeError, match="not running"):
            _ = emulator.base_url  # no server was started

    async def test_a_reset_fault_is_a_connection_error_and_is_retried(self) -> None:
        emulator = Emulator([text_reply("after the drop")])
        emulator.faults.add(Fault.connection_reset())
        transport = emulator.asgi_transport()
        async with httpx.AsyncClient(transport=transport, base_url="http://emulator",
                                     headers=HEADERS) as http:
            with pytest.raises(httpx.ReadError):
                await http.post("/v1/messages", json=body())
        emulator.faults.add(Fault.connection_reset())
        async with AsyncClient(api_key="k", base_url="http://emulator", max_retries=0,
                               transport=emulator.asgi_transport()) as client:
            with pytest.raises(APIConnectionError):
                await client.messages.create(model=MODEL, max_tokens=64, messages=MESSAGES)
            retried = await client.messages.create(model=MODEL, max_tokens=64,
                                                   messages=MESSAGES, max_retries=1)
        assert retried.text == "after the drop"

    async def test_batches_run_in_process_and_closing_one_client_leaves_the_other_working(
        self,
    ) -> None:
        emulator = Emulator(batch_delay_seconds=0.01)
        async with httpx.AsyncClient(transport=emulator.asgi_transport(),
                                     base_url="http://emulator", headers=HEADERS) as first:
            assert (await first.get("/v1/models")).status_code == 200
        async with httpx.AsyncClient(transport=emulator.asgi_transport(),
                                     base_url="http://emulator", headers=HEADERS) as http:
            created = (await http.post("/v1/messages/batches", json={"requests": [
                {"custom_id": "a", "params": body()}]})).json()
            for _ in range(200):
                batch = (await http.get(f"/v1/messages/batches/{created['id']}")).json()
                if batch["processing_status"] == "ended":
                    break
                await asyncio.sleep(0.01)
            results = await http.get(f"/v1/messages/batches/{created['id']}/results")
        [line] = results.text.splitlines()
        assert json.loads(line)["result"]["type"] == "succeeded"

    async def test_the_bare_app_raises_connection_dropped_where_it_cannot_reset(self) -> None:
        emulator = Emulator([text_reply("unused")])
        emulator.faults.add(Fault.stream_cut(after_events=2))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=emulator.app),
                                     base_url="http://emulator", headers=HEADERS) as http:
            with pytest.raises(ConnectionDropped):
                await http.post("/v1/messages", json=body(stream=True))

    async def test_rate_limits_apply_in_process_too(self) -> None:
        now = [500.0]
        emulator = Emulator(clock=lambda: now[0],
                            limits={MODEL: RateLimits(requests_per_minute=2)})
        async with AsyncClient(api_key="k", base_url="http://emulator", max_retries=0,
                               transport=emulator.asgi_transport()) as client:
            for _ in range(2):
                await client.messages.create(model=MODEL, max_tokens=64, messages=MESSAGES)
            with pytest.raises(RateLimitError):
                await client.messages.create(model=MODEL, max_tokens=64, messages=MESSAGES)
            now[0] += 30
            await client.messages.create(model=MODEL, max_tokens=64, messages=MESSAGES)
        usage = emulator.rate_limit_usage(MODEL)
        assert (usage.admitted, usage.limited) == (3, 1)


class TestOverTCP:
    def test_a_body_declared_over_32_mb_is_413_without_being_sent(self) -> None:
        with Emulator() as emulator:
            host, port = emulator.base_url.removeprefix("http://").split(":")
            with socket.create_connection((host, int(port)), timeout=5) as connection:
                connection.sendall(
                    b"POST /v1/messages HTTP/1.1\r\nhost: x\r\nx-api-key: k\r\n"
                    b"anthropic-version: 2023-06-01\r\ncontent-type: application/json\r\n"
                    b"content-length: 40000000\r\n\r\n{")
                reply = b""
                while chunk := connection.recv(65536):
                    reply += chunk
            assert emulator.requests == []
        head, _, payload = reply.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 413 ")
        assert json.loads(payload)["error"]["type"] == "request_too_large"
        assert b"anthropic-ratelimit-requests-limit: 4000" in head

    def test_a_streamed_body_growing_past_32_mb_is_413(self) -> None:
        piece = b" " * (1024 * 1024)

        def chunks() -> Any:
            yield b'{"model": "claude-sonnet-4-6", "pad": "'
            for _ in range(33):
                yield piece

        with Emulator() as emulator, httpx.Client(base_url=emulator.base_url,
                                                  headers=HEADERS) as http:
            response = http.post("/v1/messages", content=chunks())
            after = http.post("/v1/messages", json=body())
        assert response.status_code == 413
        assert response.json()["error"]["type"] == "request_too_large"
        assert after.status_code == 200
        assert len(emulator.requests) == 1

    def test_a_connection_is_kept_alive_across_streams_and_json(self) -> None:
        with Emulator() as emulator, httpx.Client(base_url=emulator.base_url,
                                                  headers=HEADERS) as http:
            peers = set()
            for stream in (True, False, True):
                with http.stream("POST", "/v1/messages", json=body(stream=stream)) as response:
                    response.read()
                    assert response.status_code == 200
                    peers.add(response.extensions["network_stream"].get_extra_info(
                        "client_addr"))
        assert len(peers) == 1 and None not in peers

    def test_stopping_with_a_slow_request_in_flight_ends_promptly(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        emulator = Emulator([text_reply("late")]).start()
        emulator.faults.add(Fault.slow(30))
        outcome: list[Any] = []

        async def call() -> None:
            async with httpx.AsyncClient(base_url=emulator.base_url, headers=HEADERS) as http:
                try:
                    outcome.append(await http.post("/v1/messages", json=body(), timeout=10))
                except httpx.TransportError as error:
                    outcome.append(error)

        async def scenario() -> float:
            task = asyncio.create_task(call())
            await asyncio.sleep(0.3)
            started = time.perf_counter()
            await asyncio.to_thread(emulator.stop)
            await task
            return time.perf_counter() - started

        took = asyncio.run(scenario())
        assert took < 6  # graceful shutdown gives in-flight requests 2 s, then cancels them
        # the unfinished answer is dropped, as by a server going down: no 500, no traceback
        [dropped] = outcome
        assert isinstance(dropped, httpx.TransportError)
        assert not [record for record in caplog.records if record.exc_info]

    def test_an_ipv6_loopback_host_gives_a_usable_base_url(self) -> None:
        try:
            socket.socket(socket.AF_INET6).close()
        except OSError:
            pytest.skip("no IPv6 on this machine")
        with Emulator(host="::1") as emulator, httpx.Client(base_url=emulator.base_url,
                                                            headers=HEADERS) as http:
            assert emulator.base_url.startswith("http://[::1]:")
            assert http.get("/v1/models").status_code == 200

    async def test_serving_leaves_logging_and_signal_handlers_alone(self) -> None:
        handlers = list(logging.getLogger().handlers)
        sigint = signal.getsignal(signal.SIGINT)
        async with Emulator([text_reply("hi")]) as emulator, httpx.AsyncClient(
            base_url=emulator.base_url, headers=HEADERS
        ) as http:
            assert (await http.post("/v1/messages", json=body())).status_code == 200
            assert signal.getsignal(signal.SIGINT) is sigint
        assert logging.getLogger().handlers == handlers


def _address(emulator: Emulator) -> tuple[str, int]:
    host, port = emulator.base_url.removeprefix("http://").split(":")
    return host, int(port)


def _read_until_closed(connection: socket.socket) -> bytes:
    reply = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := connection.recv(65536):
            reply += chunk
    return reply


def _request(payload: bytes = b"") -> bytes:
    head = (b"POST /v1/messages HTTP/1.1\r\nhost: x\r\nx-api-key: k\r\n"
            b"anthropic-version: 2023-06-01\r\ncontent-type: application/json\r\n")
    return head + b"content-length: %d\r\n\r\n" % len(payload) + payload


class TestHostileClients:
    """What a client can make the server hold is bounded: head size, and time."""

    def test_a_request_head_over_64_kb_is_431_and_reading_stops_there(self) -> None:
        piece = b"a" * 16384
        sent = 0
        with Emulator() as emulator, socket.create_connection(_address(emulator),
                                                              timeout=5) as connection:
            connection.sendall(b"GET /v1/models HTTP/1.1\r\nhost: x\r\nx-padding: ")
            connection.settimeout(0.05)
            reply = b""
            while not reply and sent < 64 * len(piece):
                connection.sendall(piece)
                sent += len(piece)
                with contextlib.suppress(TimeoutError):
                    reply = connection.recv(65536)
            connection.settimeout(5)
            reply += _read_until_closed(connection)
            with httpx.Client(base_url=emulator.base_url, headers=HEADERS) as http:
                after = http.post("/v1/messages", json=body())
        head, _, payload = reply.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 431 ")
        assert b"connection: close" in head
        assert "exceed 65536 bytes" in json.loads(payload)["error"]["message"]
        assert sent <= 64 * 1024 + 256 * 1024 + len(piece)  # one read beyond the limit at most
        assert after.status_code == 200

    def test_large_heads_under_the_limit_and_pipelined_requests_are_served(self) -> None:
        padding = b"".join(b"x-pad-%d: %s\r\n" % (n, b"p" * 900) for n in range(50))
        request = _request(json.dumps(body(max_tokens=16)).encode())
        padded = request.replace(b"host: x\r\n", b"host: x\r\n" + padding)
        big_body = json.dumps(body(metadata={"user_id": "u" * 300_000})).encode()
        last = _request(json.dumps(body()).encode()).replace(
            b"host: x\r\n", b"host: x\r\nconnection: close\r\n")
        with Emulator() as emulator, socket.create_connection(_address(emulator),
                                                              timeout=5) as connection:
            connection.sendall(padded + _request(big_body) + padded + last)
            reply = _read_until_closed(connection)
        assert reply.count(b"HTTP/1.1 200 OK") == 4
        assert len(emulator.requests) == 4

    def test_a_head_that_stops_arriving_is_408(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr("agentcore.emulator._asgi.STALL_SECONDS", 0.3)
        with Emulator() as emulator, socket.create_connection(_address(emulator),
                                                              timeout=5) as connection:
            connection.sendall(b"POST /v1/messages HTTP/1.1\r\nhost: x\r\nx-api")
            reply = _read_until_closed(connection)
        head, _, payload = reply.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408 ")
        assert json.loads(payload)["error"]["type"] == "invalid_request_error"

    def test_a_body_that_stops_arriving_is_408_and_nothing_is_answered(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr("agentcore.emulator._asgi.STALL_SECONDS", 0.3)
        whole = _request(json.dumps(body()).encode())
        with Emulator() as emulator, socket.create_connection(_address(emulator),
                                                              timeout=5) as connection:
            connection.sendall(whole[:-10])
            reply = _read_until_closed(connection)
            assert emulator.requests == []
        assert reply.startswith(b"HTTP/1.1 408 ")
        assert b"nothing was received for 0.3 s" in reply

    def test_a_connection_that_never_sends_a_request_is_closed(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr("agentcore.emulator._asgi.STALL_SECONDS", 0.3)
        with Emulator() as emulator, socket.create_connection(_address(emulator),
                                                              timeout=5) as connection:
            started = time.perf_counter()
            assert _read_until_closed(connection) == b""
            assert time.perf_counter() - started < 4

    def test_a_slow_answer_is_not_mistaken_for_a_stalled_client(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr("agentcore.emulator._asgi.STALL_SECONDS", 0.2)
        with Emulator([text_reply("slow"), text_reply("next")]) as emulator, httpx.Client(
            base_url=emulator.base_url, headers=HEADERS
        ) as http:
            emulator.faults.add(Fault.slow(0.8))
            first = http.post("/v1/messages", json=body())
            second = http.post("/v1/messages", json=body())
        assert [first.status_code, second.status_code] == [200, 200]
        assert first.json()["content"][0]["text"] == "slow"
