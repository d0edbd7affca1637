"""Just enough HTTP/1.1 over asyncio streams for the emulator: requests in, responses out.

Persistent connections, ``Content-Length`` and chunked request bodies, and chunked
responses for SSE so a connection can be kept alive after a stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = [
    "MAX_BODY_BYTES",
    "HTTPRequest",
    "ProtocolViolation",
    "abort_connection",
    "read_request",
    "start_chunked",
    "write_chunk",
    "write_response",
]

MAX_BODY_BYTES = 32 * 1024 * 1024
"""The Messages API's request size limit; larger bodies get 413."""

_MAX_HEADER_BYTES = 64 * 1024
_REASONS = {
    200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 413: "Payload Too Large", 429: "Too Many Requests",
    500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
    504: "Gateway Timeout", 529: "Overloaded",
}


class ProtocolViolation(Exception):
    """The peer sent something that is not HTTP/1.1; ``status`` is the answer to give."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(slots=True)
class HTTPRequest:
    """One parsed request. Header names are lower-case."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes = b""
    keep_alive: bool = True


async def read_request(reader: asyncio.StreamReader) -> HTTPRequest | None:
    """Read one request; None when the peer closed the connection between requests."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as error:
        if not error.partial.strip():
            return None
        raise ProtocolViolation("connection closed in the middle of the request head") from None
    except asyncio.LimitOverrunError:
        raise ProtocolViolation("request head too large", 431) from None
    if len(head) > _MAX_HEADER_BYTES:
        raise ProtocolViolation("request head too large", 431)
    lines = head.decode("latin-1").split("\r\n")
    try:
        method, target, version = lines[0].split(" ")
    except ValueError:
        raise ProtocolViolation(f"malformed request line: {lines[0][:80]!r}") from None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise ProtocolViolation(f"malformed header line: {line[:80]!r}")
        headers[name.strip().lower()] = value.strip()
    parts = urlsplit(target)
    request = HTTPRequest(
        method=method.upper(),
        path=unquote(parts.path),
        query=dict(parse_qsl(parts.query)),
        headers=headers,
    )
    connection = headers.get("connection", "").lower()
    request.keep_alive = connection != "close" and (
        version == "HTTP/1.1" or connection == "keep-alive"
    )
    if "chunked" in headers.get("transfer-encoding", "").lower():
        request.body = await _read_chunked(reader)
    elif "content-length" in headers:
        try:
            length = int(headers["content-length"])
        except ValueError:
            raise ProtocolViolation("content-length is not a number") from None
        if length > MAX_BODY_BYTES:
            raise ProtocolViolation("request body exceeds 32 MB", 413)
        request.body = await reader.readexactly(length) if length else b""
    return request


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while True:
        size_line = await reader.readuntil(b"\r\n")
        try:
            size = int(size_line.split(b";")[0].strip(), 16)
        except ValueError:
            raise ProtocolViolation("malformed chunk size") from None
        if size == 0:
            await reader.readuntil(b"\r\n")
            return bytes(body)
        body += await reader.readexactly(size)
        await reader.readexactly(2)
        if len(body) > MAX_BODY_BYTES:
            raise ProtocolViolation("request body exceeds 32 MB", 413)


def _head(status: int, headers: Mapping[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}"]
    lines.extend(f"{name}: {value}" for name, value in headers.items())
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def write_response(
    writer: asyncio.StreamWriter,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    keep_alive: bool,
) -> None:
    """Queue a complete response with a ``content-length``."""
    full = {**headers, "content-length": str(len(body))}
    if not keep_alive:
        full["connection"] = "close"
    writer.write(_head(status, full) + body)


def start_chunked(
    writer: asyncio.StreamWriter, status: int, headers: Mapping[str, str], *, keep_alive: bool
) -> None:
    """Queue the head of a chunked response (used for SSE streams)."""
    full = {**headers, "transfer-encoding": "chunked"}
    if not keep_alive:
        full["connection"] = "close"
    writer.write(_head(status, full))


def write_chunk(writer: asyncio.StreamWriter, data: bytes) -> None:
    """Queue one chunk; an empty ``data`` ends the chunked body."""
    if data:
        writer.write(b"%x\r\n%s\r\n" % (len(data), data))
    else:
        writer.write(b"0\r\n\r\n")


def abort_connection(writer: asyncio.StreamWriter) -> None:
    """Drop the connection with a TCP reset, as a crashed server or proxy would."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
