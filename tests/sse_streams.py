"""Recorded-style Messages API event streams, rendered from a non-streaming Message dict.

The events follow PROTOCOL.md §6: ``message_start`` with empty content and one output
token, each block opened empty, its text / thinking / tool input split over several deltas
(the tool input's first fragment is ``""``, as the API sends it), a ``ping``, then
``message_delta`` with the stop reason and cumulative usage, and ``message_stop``.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

Event = tuple[str, dict[str, Any]]


def _pieces(text: str, size: int) -> Iterator[str]:
    for start in range(0, len(text), size):
        yield text[start : start + size]


def _block_events(index: int, block: dict[str, Any], chunk: int) -> Iterator[Event]:
    kind = block["type"]

    def delta(body: dict[str, Any]) -> Event:
        return "content_block_delta", {"type": "content_block_delta", "index": index, "delta": body}

    if kind == "text":
        start = {"type": "text", "text": ""}
        yield "content_block_start", {"type": "content_block_start", "index": index,
                                      "content_block": start}
        for citation in block.get("citations") or ():
            yield delta({"type": "citations_delta", "citation": citation})
        for piece in _pieces(block["text"], chunk):
            yield delta({"type": "text_delta", "text": piece})
    elif kind in ("tool_use", "server_tool_use"):
        start = {**block, "input": {}}
        yield "content_block_start", {"type": "content_block_start", "index": index,
                                      "content_block": start}
        yield delta({"type": "input_json_delta", "partial_json": ""})
        source = json.dumps(block["input"], ensure_ascii=False) if block["input"] else ""
        for piece in _pieces(source, chunk):
            yield delta({"type": "input_json_delta", "partial_json": piece})
    elif kind == "thinking":
        start = {"type": "thinking", "thinking": "", "signature": ""}
        yield "content_block_start", {"type": "content_block_start", "index": index,
                                      "content_block": start}
        for piece in _pieces(block["thinking"], chunk):
            yield delta({"type": "thinking_delta", "thinking": piece})
        yield delta({"type": "signature_delta", "signature": block["signature"]})
    else:
        yield "content_block_start", {"type": "content_block_start", "index": index,
                                      "content_block": block}
    yield "content_block_stop", {"type": "content_block_stop", "index": index}


def stream_events(message: dict[str, Any], *, chunk: int = 7) -> list[Event]:
    """The event sequence the API streams for ``message``; deltas carry ``chunk`` chars."""
    usage = message.get("usage") or {}
    start_usage = {**usage, "output_tokens": 1}
    start = {**message, "content": [], "stop_reason": None, "stop_sequence": None,
             "usage": start_usage}
    events: list[Event] = [("message_start", {"type": "message_start", "message": start})]
    for index, block in enumerate(message["content"]):
        events.extend(_block_events(index, block, chunk))
        if index == 0:
            events.append(("ping", {"type": "ping"}))
    events.append(("message_delta", {
        "type": "message_delta",
        "delta": {"stop_reason": message.get("stop_reason"),
                  "stop_sequence": message.get("stop_sequence")},
        "usage": {"output_tokens": usage.get("output_tokens", 0)},
    }))
    events.append(("message_stop", {"type": "message_stop"}))
    return events


def encode(events: list[Event], *, newline: str = "\n") -> bytes:
    """The bytes of ``events`` on the wire, each line ending with ``newline``."""
    return "".join(
        f"event: {name}{newline}data: {json.dumps(data, ensure_ascii=False)}{newline}{newline}"
        for name, data in events
    ).encode()


def random_chunks(payload: bytes, seed: int, *, max_size: int = 40) -> list[bytes]:
    """``payload`` cut at random points (many 1-byte pieces), reproducible from ``seed``."""
    rng = random.Random(seed)
    chunks: list[bytes] = []
    position = 0
    while position < len(payload):
        size = 1 if rng.random() < 0.3 else rng.randint(1, max_size)
        chunks.append(payload[position : position + size])
        position += size
    return chunks


def message(content: list[dict[str, Any]], *, stop_reason: str = "end_turn",
            usage: dict[str, Any] | None = None) -> dict[str, Any]:
    """A complete non-streaming Message dict."""
    return {
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-6",
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage or {"input_tokens": 25, "output_tokens": 140,
                           "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
    }
