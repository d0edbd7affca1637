"""The deadline of one attempt, enforced inside blocking socket calls of the sync client.

httpx timeouts bound each socket operation, not an exchange: a server that sends one byte
every second never trips a two-second read timeout. The drivers therefore give every attempt
a deadline. ``AsyncClient`` enforces it with ``asyncio.timeout``; the blocking ``Client``
cannot interrupt a read from outside, so for the connection pools it creates itself it wraps
the network backend: each connect, read and write waits at most until :data:`DEADLINE`,
the deadline of the attempt running in this thread (or task). Over a transport the caller
supplies, the drivers check the deadline between chunks instead, so an attempt ends at most
one read timeout late. :func:`exchange` and :func:`aexchange` run one attempt under its
deadline, for the clients' calls and the streams alike.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from contextvars import ContextVar
from ssl import SSLContext
from typing import Any

import httpcore
import httpx

from agentcore.client._http import attempt_timeout, body_limit, deadline_passed

__all__ = ["DEADLINE", "aexchange", "aread_body", "exchange", "install", "read_body"]

DEADLINE: ContextVar[float | None] = ContextVar("agentcore_attempt_deadline", default=None)
"""The ``time.monotonic()`` reading by which the current attempt must be done, if any."""


def _clamp(timeout: float | None, expired: type[httpcore.TimeoutException]) -> float | None:
    deadline = DEADLINE.get()
    if deadline is None:
        return timeout
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise expired("the attempt's deadline passed")
    return remaining if timeout is None or remaining < timeout else timeout


class _Stream(httpcore.NetworkStream):
    __slots__ = ("_stream",)

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _clamp(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _clamp(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        tls = self._stream.start_tls(
            ssl_context, server_hostname, _clamp(timeout, httpcore.ConnectTimeout)
        )
        return _Stream(tls)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    __slots__ = ("_backend",)

    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_tcp(
            host, port, _clamp(timeout, httpcore.ConnectTimeout), local_address, socket_options
        )
        return _Stream(stream)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_unix_socket(
            path, _clamp(timeout, httpcore.ConnectTimeout), socket_options
        )
        return _Stream(stream)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def install(client: httpx.Client) -> None:
    """Make the connection pools of ``client`` (one the agentcore client created) honour
    :data:`DEADLINE`; pools of another kind are left as they are."""
    transports: list[object] = [client._transport, *client._mounts.values()]
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if isinstance(backend, httpcore.NetworkBackend) and not isinstance(backend, _Backend):
            pool._network_backend = _Backend(backend)  # type: ignore[union-attr]


def read_body(response: httpx.Response, deadline: float | None) -> bool:
    """Read ``response``'s body, at most :func:`body_limit` bytes of it, into
    ``response.content``; False when ``deadline`` passed first."""
    limit, size, chunks = body_limit(response), 0, []
    for chunk in response.iter_bytes():
        if deadline is not None and time.monotonic() > deadline:
            return False
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            break
    response._content = b"".join(chunks)
    return True


async def aread_body(response: httpx.Response) -> None:
    """:func:`read_body` for an async response (the caller bounds the time)."""
    limit, size, chunks = body_limit(response), 0, []
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            break
    response._content = b"".join(chunks)


def exchange(
    http: httpx.Client, request: httpx.Request, *, keep_open: bool = False
) -> httpx.Response | httpx.RequestError:
    """One attempt of ``request``, done within its :func:`attempt_timeout` (None: no deadline).

    Returns the response with its body read (:func:`read_body`) and the connection closed,
    or the transport error (a ``ReadTimeout`` once the deadline passed). With ``keep_open``
    a successful response is returned as soon as its headers arrive, its body unread, for
    the caller to stream and close.
    """
    seconds = attempt_timeout(request, http.timeout)
    deadline = None if seconds is None else time.monotonic() + seconds
    token = DEADLINE.set(deadline)
    try:
        response = http.send(request, stream=True)
        if keep_open and response.is_success:
            return response
        try:
            if not read_body(response, deadline):
                return deadline_passed(request, seconds)
        finally:
            response.close()
    except httpx.RequestError as exc:
        return exc
    finally:
        DEADLINE.reset(token)
    return response


async def aexchange(
    http: httpx.AsyncClient,
    request: httpx.Request,
    *,
    keep_open: bool = False,
) -> httpx.Response | httpx.RequestError:
    """:func:`exchange` for an async client, bounded by ``asyncio.timeout``."""
    seconds = attempt_timeout(request, http.timeout)
    try:
        async with asyncio.timeout(seconds):
            response = await http.send(request, stream=True)
            if keep_open and response.is_success:
                return response
            try:
                await aread_body(response)
            finally:
                await response.aclose()
    except httpx.RequestError as exc:
        return exc
    except TimeoutError:
        return deadline_passed(request, seconds)
    return response
