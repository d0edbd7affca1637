"""Fakes for testing code built on agentcore without a network or an API key.

:class:`ScriptedModel` is an httpx transport (sync and async) that answers Messages API
requests from a script of replies, and records every request it saw::

    model = ScriptedModel([
        tool_reply(("lookup_order", {"order_id": "A-1001"})),
        text_reply("Order A-1001 has shipped."),
    ])
    client = Client(api_key="test", transport=model)
    ...
    assert model.requests[1]["messages"][-1]["content"][0]["type"] == "tool_result"

Streaming requests (``"stream": true``) get the real SSE event sequence for the same reply.
The loopback server in :mod:`agentcore.emulator` serves the same replies over HTTP.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import Any

import httpx

from agentcore.testing._models import DEFAULT_MODELS, model_page
from agentcore.testing._replies import (
    CHARS_PER_TOKEN,
    ErrorReply,
    Reply,
    ToolCallSpec,
    error_reply,
    estimate_tokens,
    reply,
    sse_events,
    text_reply,
    tool_reply,
)

__all__ = [
    "ErrorReply",
    "Reply",
    "ScriptExhausted",
    "ScriptedModel",
    "ToolCallSpec",
    "error_reply",
    "reply",
    "sse_events",
    "text_reply",
    "tool_reply",
]

_JSON_HEADERS = (("content-type", "application/json"),)
_SSE_HEADERS = (("content-type", "text/event-stream"), ("cache-control", "no-cache"))
_SUMMARY_MESSAGES = 6
_SUMMARY_CHARS = 60


class ScriptExhausted(AssertionError):
    """The code under test made more model calls than the script has replies."""


class _PreparedMessage:
    """A Message dict serialized once; model and usage are filled in per request."""

    __slots__ = ("message", "model", "output_tokens", "tail_json", "usage_json")

    def __init__(self, message: Mapping[str, Any]) -> None:
        self.message = dict(message)
        self.model: str | None = message.get("model")
        usage = message.get("usage")
        self.usage_json = json.dumps(usage) if usage is not None else None
        self.output_tokens = max(1, estimate_tokens(message.get("content") or []))
        rest = {key: value for key, value in message.items() if key not in ("model", "usage")}
        # What follows model and usage in the body: the other fields and the closing brace.
        self.tail_json = "," + json.dumps(rest, ensure_ascii=False)[1:] if rest else "}"

    def usage_for(self, request_bytes: int) -> str:
        if self.usage_json is not None:
            return self.usage_json
        input_tokens = max(1, request_bytes // CHARS_PER_TOKEN)
        return (
            f'{{"input_tokens":{input_tokens},"output_tokens":{self.output_tokens},'
            '"cache_creation_input_tokens":0,"cache_read_input_tokens":0}'
        )

    def render_json(self, model: str, request_bytes: int) -> bytes:
        head = f'{{"model":{json.dumps(model)},"usage":{self.usage_for(request_bytes)}'
        return (head + self.tail_json).encode()

    def render_dict(self, model: str, request_bytes: int) -> dict[str, Any]:
        usage = json.loads(self.usage_for(request_bytes))
        return {**self.message, "model": self.model or model, "usage": usage}


class _EventStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """Yields one SSE event per chunk, like a server flushing each event."""

    def __init__(self, events: list[str]) -> None:
        self._chunks = [event.encode() for event in events]

    def __iter__(self) -> Iterator[bytes]:
        yield from self._chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            yield chunk


def _summarize_content(content: Any) -> str:
    if isinstance(content, str):
        return repr(content[:_SUMMARY_CHARS])
    parts: list[str] = []
    for block in content if isinstance(content, list) else []:
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text":
            parts.append(repr(str(block.get("text", ""))[:_SUMMARY_CHARS]))
        elif kind == "tool_use":
            parts.append(f"tool_use {block.get('name')}({json.dumps(block.get('input'))[:40]})")
        elif kind == "tool_result":
            parts.append(f"tool_result for {block.get('tool_use_id')}")
        else:
            parts.append(str(kind))
    return ", ".join(parts) or "(empty)"


def _summarize_messages(body: Mapping[str, Any]) -> str:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "  (no messages)"
    shown = messages[-_SUMMARY_MESSAGES:]
    lines = [f"  ... {len(messages) - len(shown)} earlier messages"] if len(shown) < len(
        messages
    ) else []
    for message in shown:
        if isinstance(message, dict):
            role = message.get("role")
            lines.append(f"  {role}: {_summarize_content(message.get('content'))}")
    return "\n".join(lines)


class ScriptedModel(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """An httpx transport that plays a fake Messages API from a script.

    Args:
        replies: The answers to successive ``POST /v1/messages`` requests, in order, or a
            function of the parsed request body returning the answer. An answer is a
            Message dict (see :func:`text_reply`, :func:`tool_reply`, :func:`reply`), an
            :class:`ErrorReply` (see :func:`error_reply`), a ready :class:`httpx.Response`,
            or an exception instance, raised as if the connection failed.

    A Message dict without ``model`` reports the requested model; one without ``usage``
    gets usage computed from the request size (about four characters per token). The
    transport also answers ``POST /v1/messages/count_tokens`` and ``GET /v1/models``.
    It works with ``httpx.Client`` and ``httpx.AsyncClient`` alike.
    """

    def __init__(self, replies: Sequence[Reply] | Callable[[dict[str, Any]], Reply]) -> None:
        self._function: Callable[[dict[str, Any]], Reply] | None = None
        self._script: list[Reply | _PreparedMessage] = []
        if callable(replies):
            self._function = replies
        else:
            self._script = [
                _PreparedMessage(item) if isinstance(item, dict) else item for item in replies
            ]
        self._next = 0
        self._request_ids = itertools.count(1)
        self._lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        """Parsed JSON bodies of the ``POST /v1/messages`` requests, in order."""
        self.raw_requests: list[httpx.Request] = []
        """Every request the transport received (any endpoint), in order."""

    @property
    def remaining(self) -> int | None:
        """Scripted replies not used yet (None for a function script)."""
        return None if self._function is not None else len(self._script) - self._next

    def assert_all_replies_used(self) -> None:
        """Fail when scripted replies were left unused (the code made fewer calls than
        the test expected)."""
        remaining = self.remaining
        if remaining:
            raise AssertionError(
                f"ScriptedModel has {remaining} unused replies: {len(self._script)} scripted, "
                f"{self._next} requested"
            )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Answer one request (sync clients)."""
        try:
            content = request.content
        except httpx.RequestNotRead:
            content = request.read()
        return self._answer(request, content)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Answer one request (async clients)."""
        try:
            content = request.content
        except httpx.RequestNotRead:
            content = await request.aread()
        return self._answer(request, content)

    def _answer(self, request: httpx.Request, content: bytes) -> httpx.Response:
        self.raw_requests.append(request)
        method = request.method
        if method == "POST" and request.url.raw_path == b"/v1/messages":
            body = json.loads(content)
            self.requests.append(body)
            return self._messages(body, len(content))
        path = request.url.path
        if method == "POST" and path == "/v1/messages/count_tokens":
            tokens = max(1, len(content) // CHARS_PER_TOKEN)
            return self._json(200, json.dumps({"input_tokens": tokens}).encode())
        if method == "GET" and path == "/v1/models":
            return self._json(200, json.dumps(model_page(DEFAULT_MODELS, limit=100)).encode())
        if method == "GET" and path.startswith("/v1/models/"):
            model_id = path.removeprefix("/v1/models/")
            for entry in DEFAULT_MODELS:
                if entry.id == model_id:
                    return self._json(200, json.dumps(entry.to_wire()).encode())
            return self._error(ErrorReply(404, "not_found_error", f"model: {model_id}"))
        return self._error(ErrorReply(404, "not_found_error", f"Not found: {method} {path}"))

    def _take(self, body: dict[str, Any]) -> Reply | _PreparedMessage:
        if self._function is not None:
            return self._function(body)
        with self._lock:
            index = self._next
            if index >= len(self._script):
                raise ScriptExhausted(
                    f"ScriptedModel ran out of replies: {len(self._script)} scripted, and "
                    f"request #{index + 1} arrived asking for more. Its messages:\n"
                    + _summarize_messages(body)
                )
            self._next = index + 1
        return self._script[index]

    def _messages(self, body: dict[str, Any], request_bytes: int) -> httpx.Response:
        answer = self._take(body)
        if isinstance(answer, BaseException):
            raise answer
        if isinstance(answer, httpx.Response):
            return answer
        if isinstance(answer, ErrorReply):
            return self._error(answer)
        prepared = answer if isinstance(answer, _PreparedMessage) else _PreparedMessage(answer)
        model = prepared.model or str(body.get("model", ""))
        if body.get("stream"):
            events = sse_events(prepared.render_dict(model, request_bytes))
            return httpx.Response(
                200,
                headers=[*_SSE_HEADERS, ("request-id", self._request_id())],
                stream=_EventStream(events),
            )
        return self._json(200, prepared.render_json(model, request_bytes))

    def _request_id(self) -> str:
        # Sequential ids: unique per transport, readable in failures, and cheaper than random.
        # next() on a count is atomic, so threads sharing the transport never share an id.
        return f"req_scripted_{next(self._request_ids):06d}"

    def _json(self, status: int, content: bytes) -> httpx.Response:
        return httpx.Response(
            status, headers=[*_JSON_HEADERS, ("request-id", self._request_id())], content=content
        )

    def _error(self, error: ErrorReply) -> httpx.Response:
        request_id = self._request_id()
        headers = [*_JSON_HEADERS, ("request-id", request_id), *error.headers.items()]
        content = json.dumps(error.body(request_id)).encode()
        return httpx.Response(error.status, headers=headers, content=content)
