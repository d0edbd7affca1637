"""Scripted replies of the Messages API and their rendering, shared by the test kit and emulator.

A *reply* is what a fake model answers to one ``POST /v1/messages``: a Message dict (built
with :func:`text_reply`, :func:`tool_reply` or :func:`reply`), an :class:`ErrorReply`, a
ready :class:`httpx.Response`, or an exception to raise as if the connection failed.
:func:`sse_events` renders a Message dict as the exact SSE event sequence the API streams.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import httpx

__all__ = [
    "CHARS_PER_TOKEN",
    "ErrorReply",
    "Reply",
    "ToolCallSpec",
    "error_body",
    "error_reply",
    "estimate_tokens",
    "new_id",
    "reply",
    "sse_events",
    "text_reply",
    "tool_reply",
]

CHARS_PER_TOKEN = 4
"""The fakes count about four characters of JSON per token, like English text on the API."""

_DEFAULT_TEXT_CHUNK_CHARS = 12
_DEFAULT_JSON_CHUNK_CHARS = 10


def new_id(prefix: str) -> str:
    """A fresh random identifier shaped like the API's (``msg_…``, ``toolu_…``, ``req_…``)."""
    return f"{prefix}_01{secrets.token_hex(12)}"


def estimate_tokens(value: Any) -> int:
    """Tokens of a JSON value (or text) at :data:`CHARS_PER_TOKEN` characters per token."""
    if isinstance(value, str | bytes):
        chars = len(value)
    else:
        chars = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False))
    return (chars + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN


@dataclass(frozen=True, slots=True)
class ErrorReply:
    """An error response: status, ``error.type``, message and extra headers.

    Build it with :func:`error_reply`; the fakes add the ``request-id`` header and the
    ``request_id`` body field themselves.
    """

    status: int
    error_type: str
    message: str
    headers: Mapping[str, str] = field(default_factory=dict)

    def body(self, request_id: str) -> dict[str, Any]:
        """The JSON error body the API sends for this error."""
        return error_body(self.error_type, self.message, request_id)


Reply: TypeAlias = "dict[str, Any] | ErrorReply | httpx.Response | BaseException"
"""One scripted answer: a Message dict, an error, a ready response, or an exception to raise."""

ToolCallSpec: TypeAlias = "tuple[str, dict[str, Any]] | tuple[str, dict[str, Any], str]"
"""A tool call for :func:`tool_reply`: ``(name, input)`` or ``(name, input, tool_use_id)``."""


def error_body(error_type: str, message: str, request_id: str) -> dict[str, Any]:
    """The API's error envelope: ``{"type": "error", "error": {...}, "request_id": ...}``."""
    return {
        "type": "error",
        "error": {"type": error_type, "message": message},
        "request_id": request_id,
    }


def reply(
    content: Sequence[Mapping[str, Any]],
    *,
    stop_reason: str | None,
    usage: Mapping[str, Any] | None = None,
    model: str | None = None,
    stop_sequence: str | None = None,
    message_id: str | None = None,
) -> dict[str, Any]:
    """A Message dict with the given content blocks.

    Args:
        content: Content blocks as plain dicts, in order.
        stop_reason: Why the model stopped; any string (or None) is passed through.
        usage: Token counts; when omitted the fake computes them from the request size
            (input) and the content size (output), about four characters per token.
        model: The model id to report; when omitted the fake echoes the requested model.
        stop_sequence: Which stop sequence matched, for ``stop_reason="stop_sequence"``.
        message_id: The ``msg_…`` id; a fresh one by default.
    """
    message: dict[str, Any] = {
        "id": message_id or new_id("msg"),
        "type": "message",
        "role": "assistant",
        "content": [dict(block) for block in content],
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
    }
    if model is not None:
        message["model"] = model
    if usage is not None:
        message["usage"] = dict(usage)
    return message


def text_reply(
    text: str,
    *,
    stop_reason: str = "end_turn",
    usage: Mapping[str, Any] | None = None,
    model: str | None = None,
    stop_sequence: str | None = None,
) -> dict[str, Any]:
    """A Message dict with one text block (a final answer by default)."""
    return reply(
        [{"type": "text", "text": text}],
        stop_reason=stop_reason,
        usage=usage,
        model=model,
        stop_sequence=stop_sequence,
    )


def tool_reply(
    *calls: ToolCallSpec,
    text: str | None = None,
    stop_reason: str = "tool_use",
    usage: Mapping[str, Any] | None = None,
    model: str | None = None,
) -> dict[str, Any]:
    """A Message dict asking for one tool call, or several parallel calls.

    Each call is ``(name, input)`` with a fresh ``toolu_…`` id, or ``(name, input, id)``.
    ``text`` adds a text block before the calls, as models often do.
    """
    if not calls:
        raise ValueError("tool_reply needs at least one (name, input) call")
    content: list[dict[str, Any]] = []
    if text is not None:
        content.append({"type": "text", "text": text})
    for call in calls:
        name, arguments = call[0], call[1]
        tool_use_id = call[2] if len(call) == 3 else new_id("toolu")
        content.append({"type": "tool_use", "id": tool_use_id, "name": name, "input": arguments})
    return reply(content, stop_reason=stop_reason, usage=usage, model=model)


def error_reply(
    status: int,
    error_type: str,
    message: str,
    *,
    headers: Mapping[str, str] | None = None,
) -> ErrorReply:
    """An error response, e.g. ``error_reply(429, "rate_limit_error", "slow down",
    headers={"retry-after": "0"})``."""
    return ErrorReply(status, error_type, message, dict(headers or {}))


def _chunks(text: str, size: int) -> list[str]:
    return [text[start : start + size] for start in range(0, len(text), size)]


def _event(name: str, data: Mapping[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _block_events(
    index: int, block: Mapping[str, Any], text_chars: int, json_chars: int
) -> list[str]:
    kind = block.get("type")
    events: list[str] = []
    deltas: list[dict[str, Any]] = []
    if kind == "text":
        start = {**block, "text": ""}
        citations = block.get("citations")
        if isinstance(citations, list) and citations:
            # As the API streams a cited text block: an empty list first, then one
            # citations_delta per citation, then the text.
            start["citations"] = []
            deltas = [{"type": "citations_delta", "citation": citation} for citation in citations]
        text = str(block.get("text", ""))
        # Several deltas even for short text, so consumers are exercised on concatenation.
        size = max(1, min(text_chars, (len(text) + 1) // 2))
        deltas += [{"type": "text_delta", "text": piece} for piece in _chunks(text, size)]
    elif kind in ("tool_use", "server_tool_use"):
        start = {**block, "input": {}}
        encoded = json.dumps(block.get("input", {}), ensure_ascii=False)
        # The API's first input_json_delta is often empty; consumers must cope.
        pieces = ["", *_chunks(encoded, json_chars)]
        deltas = [{"type": "input_json_delta", "partial_json": piece} for piece in pieces]
    elif kind == "thinking":
        start = {**block, "thinking": "", "signature": ""}
        thinking = str(block.get("thinking", ""))
        deltas = [
            {"type": "thinking_delta", "thinking": piece}
            for piece in _chunks(thinking, max(1, text_chars))
        ]
        deltas.append({"type": "signature_delta", "signature": str(block.get("signature", ""))})
    elif kind == "compaction":
        # The summary streams as compaction_delta content; the opaque part comes whole.
        start = {**block, "content": None, "encrypted_content": None}
        summary = block.get("content")
        pieces = list(_chunks(summary, max(1, text_chars))) if isinstance(summary, str) else []
        deltas = [{"type": "compaction_delta", "content": piece} for piece in pieces] or [
            {"type": "compaction_delta", "content": summary}
        ]
        deltas[-1]["encrypted_content"] = block.get("encrypted_content")
    else:
        start = dict(block)
    events.append(_event("content_block_start", {
        "type": "content_block_start", "index": index, "content_block": start,
    }))
    for delta in deltas:
        events.append(_event("content_block_delta", {
            "type": "content_block_delta", "index": index, "delta": delta,
        }))
    events.append(_event("content_block_stop", {"type": "content_block_stop", "index": index}))
    return events


def sse_events(
    message: Mapping[str, Any],
    *,
    text_chunk_chars: int = _DEFAULT_TEXT_CHUNK_CHARS,
    json_chunk_chars: int = _DEFAULT_JSON_CHUNK_CHARS,
) -> list[str]:
    """Render a complete Message dict as the SSE events the API streams for it.

    The sequence is ``message_start``, ``ping``, then per block ``content_block_start``,
    its deltas and ``content_block_stop``, then ``message_delta`` (stop reason and
    cumulative usage) and ``message_stop``. Text is split over several ``text_delta``
    events and tool input JSON over several ``input_json_delta`` fragments, the first
    one empty. A cited text block starts with ``"citations": []`` and gets one
    ``citations_delta`` per citation before its text. Each returned string is one whole
    event (``event: …\\ndata: …\\n\\n``).
    """
    usage = dict(message.get("usage") or {})
    start_usage = {**usage, "output_tokens": 1}
    start_message = {
        **message,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": start_usage,
    }
    events = [
        _event("message_start", {"type": "message_start", "message": start_message}),
        _event("ping", {"type": "ping"}),
    ]
    for index, block in enumerate(message.get("content") or []):
        events.extend(_block_events(index, block, text_chunk_chars, json_chunk_chars))
    final_usage = {key: value for key, value in usage.items() if key != "service_tier"}
    events.append(_event("message_delta", {
        "type": "message_delta",
        "delta": {
            "stop_reason": message.get("stop_reason"),
            "stop_sequence": message.get("stop_sequence"),
        },
        "usage": final_usage,
    }))
    events.append(_event("message_stop", {"type": "message_stop"}))
    return events
