"""The emulator as an ASGI application, and the uvicorn pieces that serve it over TCP.

:class:`EmulatorASGI` turns each HTTP request into an :class:`~agentcore.emulator._http.HTTPRequest`
for :meth:`EmulatorApp.handle <agentcore.emulator._app.EmulatorApp.handle>` and writes the
:class:`~agentcore.emulator._app.Outcome` back: a JSON body, an SSE stream (with its fault
applied mid-stream), or a dropped connection. Bodies over the API's limit (32 MB; 500 MB for a
file upload) get 413 without being read; over TCP, heads over 64 KB get 431 and requests that
stop arriving get 408.

Dropping a connection needs the socket, which ASGI does not expose: the uvicorn protocol here
adds a scope extension, ``"agentcore.reset"``, that resets the TCP connection. Without it
(in-process, through :class:`httpx.ASGITransport`) the app raises :class:`ConnectionDropped`,
which :class:`EmulatorTransport` turns into the :class:`httpx.ReadError` a client would see.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import struct
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

import httpx
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from agentcore.emulator._app import EmulatorApp, Outcome
from agentcore.emulator._faults import Fault
from agentcore.emulator._files import MAX_UPLOAD_BYTES
from agentcore.emulator._http import MAX_BODY_BYTES, HTTPRequest
from agentcore.emulator._validation import RequestRejected
from agentcore.log import get_logger
from agentcore.testing._replies import error_body, new_id

__all__ = ["ASGIApp", "ConnectionDropped", "EmulatorASGI", "EmulatorTransport", "UvicornServer",
           "listen_socket", "serve_config"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
"""An ASGI 3 application."""

RESET_EXTENSION = "agentcore.reset"
_log = get_logger("agentcore.emulator")
_BACKLOG = 4096
_MULTIPART_FRAMING_BYTES = 64 * 1024

MAX_HEAD_BYTES = 64 * 1024
"""The largest request head (request line and headers) served; a larger one is answered 431."""
STALL_SECONDS = 30.0
"""How long a request's head or body may stop arriving (and a new connection may stay silent)
before it is answered 408 and the connection closed."""


class ConnectionDropped(Exception):
    """The emulator dropped the connection (a reset fault) where it has no socket to reset."""


def _encode_headers(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]


class EmulatorASGI:
    """Serves an :class:`EmulatorApp` to an ASGI server (or :class:`httpx.ASGITransport`).

    Handles ``http`` and ``lifespan`` scopes; lifespan shutdown stops batch processing. A
    request still unanswered when the server stops waiting for it has its connection reset.
    """

    def __init__(self, app: EmulatorApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            try:
                await self._http(scope, receive, send)
            except asyncio.CancelledError:
                # The server is stopping and gave up waiting for this answer: drop the
                # connection as a server going down would (not a 500 and a logged traceback).
                if RESET_EXTENSION not in scope.get("extensions", {}):
                    raise
                await _reset(scope)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.app.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope["headers"]:
            headers[raw_name.decode("latin-1").lower()] = raw_value.decode("latin-1")
        query = scope.get("query_string") or b""
        request = HTTPRequest(
            method=scope["method"],
            path=scope["path"],
            query=dict(parse_qsl(query.decode("latin-1"))) if query else {},
            headers=headers,
        )
        started = time.perf_counter()
        limit, limit_text = _body_limit(request)
        too_large = _declared_too_large(headers, limit)
        if not too_large:
            body = await _read_body(receive, limit)
            if body is None:
                return  # the client went away before sending its request
            too_large = len(body) > limit
            request.body = body
        if too_large:
            outcome = self.app._error(RequestRejected(
                413, "request_too_large",
                f"Request exceeds the maximum allowed number of bytes ({limit_text}).",
                {"x-should-retry": "false", "connection": "close"}))
        else:
            outcome = await self.app.handle(request)
        if _log.is_enabled_for(logging.INFO):
            _log.info("emulator.request", method=request.method, path=request.path,
                      status=outcome.status if not outcome.reset else None,
                      request_id=outcome.headers.get("request-id"),
                      fault=outcome.injected,
                      reset=outcome.reset,
                      duration_ms=round((time.perf_counter() - started) * 1000, 3))
        if outcome.reset:
            await _reset(scope)
            return
        await self._write(scope, send, outcome)

    @staticmethod
    async def _write(scope: Scope, send: Send, outcome: Outcome) -> None:
        fault = outcome.fault
        headers = _encode_headers(outcome.headers)
        if outcome.events is None:
            body = outcome.body
            if fault is not None and fault.kind == "malformed":
                body = body[: max(1, len(body) // 2)]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({"type": "http.response.start", "status": outcome.status,
                        "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await send({"type": "http.response.start", "status": outcome.status, "headers": headers})
        events = outcome.events
        if fault is None:
            await send({"type": "http.response.body", "body": "".join(events).encode()})
            return
        good = "".join(events[: fault.after_events]).encode()
        await send({"type": "http.response.body", "body": good, "more_body": True})
        await _stream_fault(scope, send, fault)


async def _stream_fault(scope: Scope, send: Send, fault: Fault) -> None:
    if fault.kind == "cut" and not fault.clean_end:
        await _reset(scope)
        return
    tail = b""
    if fault.kind == "error_event":
        data = {"type": "error", "error": {"type": fault.error_type, "message": fault.message},
                "request_id": new_id("req")}
        tail = f"event: error\ndata: {json.dumps(data)}\n\n".encode()
    elif fault.kind == "malformed":
        tail = b'event: content_block_delta\ndata: {"type": "content_block_d\n\n'
    await send({"type": "http.response.body", "body": tail})


def _body_limit(request: HTTPRequest) -> tuple[int, str]:
    """The largest body the API takes for ``request``, in bytes and as its error names it: a
    file upload may be up to 500 MB (plus its multipart framing), anything else 32 MB."""
    if request.method == "POST" and request.path.rstrip("/") == "/v1/files":
        return MAX_UPLOAD_BYTES + _MULTIPART_FRAMING_BYTES, "500 MB"
    return MAX_BODY_BYTES, "32 MB"


def _declared_too_large(headers: dict[str, str], limit: int) -> bool:
    """Whether ``content-length`` announces more than ``limit`` (the body is then not
    read)."""
    declared = headers.get("content-length", "")
    if not (declared.isascii() and declared.isdigit()):
        return False
    return len(declared) > 12 or int(declared) > limit


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or None if the client disconnected. Stops reading once the
    body passes the limit (the caller answers 413)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        if chunk:
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                return b"".join(chunks)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def _reset(scope: Scope) -> None:
    reset = scope.get("extensions", {}).get(RESET_EXTENSION)
    if reset is None:
        raise ConnectionDropped("the emulator dropped the connection")
    reset()
    await asyncio.sleep(0)  # let the server see the connection lost before the app returns


class _CoalescingTransport:
    """Wraps a connection's transport so that the writes made in one event-loop step leave
    in one ``send``: uvicorn writes a response's head and body separately, which would cost
    two system calls (and two TCP segments) per answer. Everything else is delegated."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(data)

    def flush(self) -> None:
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            if not self._transport.is_closing():
                self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self.flush()
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class _EmulatorProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, plus a way to reset the connection, API-shaped errors for
    requests the parser refuses, one ``send`` per response, and bounds on what a client may
    hold: a request head (request line and headers) larger than :data:`MAX_HEAD_BYTES` is
    answered 431, and a head or body that stops arriving for :data:`STALL_SECONDS` is
    answered 408; either way the connection is closed."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        coalescing = _CoalescingTransport(transport, asyncio.get_running_loop())
        super().connection_made(coalescing)  # type: ignore[arg-type]
        self._in_head = False
        self._in_body = False
        self._head_bytes = 0
        self._last_data = self.loop.time()
        self._stall: asyncio.TimerHandle | None = None
        self._arm_stall(STALL_SECONDS)  # one timer for the connection's life, not per request

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_stall()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._last_data = self.loop.time()
        head_in_progress = self._in_head
        super().data_received(data)
        if not (head_in_progress and self._in_head) or self.transport.is_closing():
            return
        # Only whole reads inside one head are counted: the read that starts a head may also
        # hold the previous request's body, and the parser holds at most one read beyond.
        self._head_bytes += len(data)
        if self._head_bytes > MAX_HEAD_BYTES:
            self._send_error(431, b"Request Header Fields Too Large", "invalid_request_error",
                             f"the request line and headers exceed {MAX_HEAD_BYTES} bytes")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        extensions: dict[str, Any] = {RESET_EXTENSION: self._reset_connection}
        self.scope["extensions"] = extensions
        self._in_head = True
        self._head_bytes = 0

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._in_body = True  # until the message completes, at once when it has no body
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._in_body = False
        super().on_message_complete()

    def _arm_stall(self, delay: float) -> None:
        self._stall = self.loop.call_later(delay, self._check_stall)

    def _disarm_stall(self) -> None:
        if self._stall is not None:
            self._stall.cancel()
            self._stall = None

    def _check_stall(self) -> None:
        """Answer 408 (or close a connection that never sent a request) when nothing arrived
        for :data:`STALL_SECONDS` while a request was incomplete; otherwise look again."""
        self._stall = None
        if self.transport.is_closing():
            return
        remaining = STALL_SECONDS - (self.loop.time() - self._last_data)
        cycle = self.cycle
        never_sent = cycle is None and not self._in_head
        if remaining > 0 or not (never_sent or self._in_head or self._in_body):
            self._arm_stall(remaining if remaining > 0 else STALL_SECONDS)
            return
        if never_sent:
            self.transport.close()
            return
        if self.pipeline or self.flow.read_paused or (
                cycle is not None and not cycle.response_complete
                and (self._in_head or cycle.response_started)):
            # An earlier answer is still being written, or the server itself stopped
            # reading: the client is not the one stalling.
            self._arm_stall(STALL_SECONDS)
            return
        self._send_error(408, b"Request Timeout", "invalid_request_error",
                         f"the request stopped arriving: nothing was received for "
                         f"{STALL_SECONDS:g} s")

    def _reset_connection(self) -> None:
        """Drop the connection with a TCP reset, as a crashed server or proxy would."""
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.transport.abort()

    def send_400_response(self, msg: str) -> None:
        self._send_error(400, b"Bad Request", "invalid_request_error",
                         "malformed HTTP/1.1 request")

    def _send_error(self, status: int, reason: bytes, error_type: str, message: str) -> None:
        """Answer with an API-shaped error and close the connection (the request is not
        handed to the app, or its app will see the client gone)."""
        self._disarm_stall()
        request_id = new_id("req")
        body = json.dumps(error_body(error_type, message, request_id)).encode()
        head = [b"HTTP/1.1 %d %s" % (status, reason)]
        head.extend(name + b": " + value for name, value in self.server_state.default_headers)
        head += [b"content-type: application/json", b"request-id: " + request_id.encode(),
                 b"content-length: " + str(len(body)).encode(), b"connection: close"]
        self.transport.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
        self.transport.close()


class UvicornServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to its caller and stops promptly."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._stopping = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def main_loop(self) -> None:
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864000
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), 0.1)

    def request_exit(self) -> None:
        """Start a graceful shutdown: stop accepting, finish responses in flight."""
        self.should_exit = True
        self._stopping.set()


def serve_config(app: ASGIApp) -> uvicorn.Config:
    """The uvicorn settings the emulator runs with: no logging setup, no access log, idle
    keep-alive connections kept a minute, two seconds' grace for requests in flight at stop."""
    return uvicorn.Config(
        app, http=_EmulatorProtocol, ws="none", lifespan="on", interface="asgi3",
        log_config=None, log_level="error", access_log=False, backlog=_BACKLOG,
        timeout_graceful_shutdown=2, timeout_keep_alive=60, proxy_headers=False,
    )


def listen_socket(host: str, port: int) -> socket.socket:
    """A bound TCP socket for ``host:port`` (raises OSError when taken).

    Created with ``IPPROTO_TCP`` so that asyncio sets ``TCP_NODELAY`` on accepted
    connections: without it, a response head and body written separately wait for the
    peer's delayed ACK (about 40 ms per request).
    """
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP,
        flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


class EmulatorTransport(httpx.AsyncBaseTransport):
    """Sends requests straight to the emulator's ASGI app, in the same event loop, with no
    socket. A dropped connection surfaces as :class:`httpx.ReadError`, as over TCP.

    Several transports (and clients) may share one emulator; closing one leaves the others
    working. Batches in progress are processed by tasks of the running event loop.
    """

    def __init__(self, app: EmulatorASGI) -> None:
        self._inner = httpx.ASGITransport(app=app, client=("127.0.0.1", 0))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._inner.handle_async_request(request)
        except ConnectionDropped as error:
            raise httpx.ReadError(str(error), request=request) from error
