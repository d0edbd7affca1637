"""Input-token accounting with prompt caching, the way the Messages API bills it.

The prompt is a sequence of blocks in the API's cache order: tool definitions, system
blocks, then message content blocks. A block marked with ``cache_control`` is a
breakpoint; the prefix ending there is written to the cache (if it reaches the model's
minimum length) and a later request whose prefix matches reads it instead. Like the API,
a breakpoint also finds entries written at earlier blocks, up to :data:`LOOKBACK_BLOCKS`
back, so moving the breakpoint forward each turn still reads last turn's entry.
``input_tokens`` counts only what was neither read nor written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from agentcore.testing._replies import CHARS_PER_TOKEN

__all__ = ["LOOKBACK_BLOCKS", "InputUsage", "PromptCache", "count_input_tokens"]

LOOKBACK_BLOCKS = 20
"""How many blocks before a breakpoint the API checks for an earlier cache entry."""

_TTL_SECONDS = {"5m": 300.0, "1h": 3600.0}
_PRUNE_AT_ENTRIES = 10_000


@dataclass(frozen=True, slots=True)
class InputUsage:
    """The input side of a response's usage."""

    input_tokens: int
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    ephemeral_5m_input_tokens: int = 0
    ephemeral_1h_input_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        """The whole prompt: uncached + written + read."""
        return self.input_tokens + self.cache_creation_input_tokens + self.cache_read_input_tokens

    def to_wire(self) -> dict[str, Any]:
        """The usage fields of a Message, without ``output_tokens``."""
        return {
            "input_tokens": self.input_tokens,
            "cache_creation_input_tokens": self.cache_creation_input_tokens,
            "cache_read_input_tokens": self.cache_read_input_tokens,
            "cache_creation": {
                "ephemeral_5m_input_tokens": self.ephemeral_5m_input_tokens,
                "ephemeral_1h_input_tokens": self.ephemeral_1h_input_tokens,
            },
        }


@dataclass(frozen=True, slots=True)
class _Block:
    canonical: bytes
    tokens: int
    ttl: str | None


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _block(value: Mapping[str, Any], prefix: str) -> _Block:
    control = value.get("cache_control")
    plain = value if control is None else {
        key: item for key, item in value.items() if key != "cache_control"
    }
    canonical = (prefix + _ENCODER.encode(plain)).encode()
    ttl: str | None = None
    if isinstance(control, dict):
        raw_ttl = control.get("ttl")
        ttl = raw_ttl if raw_ttl in _TTL_SECONDS else "5m"
    tokens = (len(canonical) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN
    return _Block(canonical, tokens, ttl)


def _prompt_blocks(body: Mapping[str, Any]) -> list[_Block]:
    blocks = [
        _block(definition, "tool:") for definition in body.get("tools") or []
        if isinstance(definition, dict)
    ]
    system = body.get("system")
    if isinstance(system, str) and system:
        blocks.append(_block({"type": "text", "text": system}, "system:"))
    elif isinstance(system, list):
        blocks.extend(_block(item, "system:") for item in system if isinstance(item, dict))
    for message in body.get("messages") or []:
        role = f"{message.get('role')}:"
        content = message.get("content")
        if isinstance(content, str):
            blocks.append(_block({"type": "text", "text": content}, role))
        elif isinstance(content, list):
            blocks.extend(_block(item, role) for item in content if isinstance(item, dict))
    top_level = body.get("cache_control")
    if isinstance(top_level, dict) and blocks and blocks[-1].ttl is None:
        last = blocks[-1]
        ttl = top_level.get("ttl")
        blocks[-1] = _Block(last.canonical, last.tokens, ttl if ttl in _TTL_SECONDS else "5m")
    return blocks


def count_input_tokens(body: Mapping[str, Any]) -> int:
    """The prompt's size in tokens, as ``count_tokens`` reports it (cache ignored)."""
    return max(1, sum(block.tokens for block in _prompt_blocks(body)))


class PromptCache:
    """Cache entries per (API key, model), each a prefix hash with an expiry time.

    Args:
        clock: Seconds from a monotonic clock; inject one to test expiry.
    """

    def __init__(self, *, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._entries: dict[tuple[str, str], dict[bytes, float]] = {}

    def account(
        self, body: Mapping[str, Any], *, key: str, model: str, min_tokens: int,
        commit: bool = True,
    ) -> InputUsage:
        """Bill one request's input, reading and writing cache entries as the API would.

        With ``commit=False`` the bill is computed and the cache left unchanged (no writes,
        no refreshed expiry), to know a request's charges before deciding to answer it.
        """
        blocks = _prompt_blocks(body)
        total = max(1, sum(block.tokens for block in blocks))
        breakpoints = [index for index, block in enumerate(blocks) if block.ttl is not None]
        if not breakpoints:
            return InputUsage(input_tokens=total)
        now = self._clock()
        store = self._entries.setdefault((key, model), {})
        if commit and len(store) > _PRUNE_AT_ENTRIES:
            for digest in [digest for digest, expiry in store.items() if expiry <= now]:
                del store[digest]
        running = hashlib.blake2b(digest_size=16)
        digests: list[bytes] = []
        cumulative: list[int] = []
        tokens_so_far = 0
        for block in blocks[: breakpoints[-1] + 1]:
            running.update(block.canonical)
            digests.append(running.copy().digest())
            tokens_so_far += block.tokens
            cumulative.append(tokens_so_far)

        read_end = -1
        for breakpoint_index in breakpoints:
            for position in range(breakpoint_index, breakpoint_index - LOOKBACK_BLOCKS, -1):
                if position <= read_end:
                    break
                expiry = store.get(digests[position])
                if expiry is not None and expiry > now:
                    read_end = position
                    break
        cache_read = 0
        if read_end >= 0:
            cache_read = cumulative[read_end]
            hit = digests[read_end]
            if commit:
                store[hit] = max(store[hit], now + _TTL_SECONDS["5m"])  # a read refreshes it

        written = {"5m": 0, "1h": 0}
        boundary = cache_read
        for breakpoint_index in breakpoints:
            ttl = blocks[breakpoint_index].ttl or "5m"
            if breakpoint_index <= read_end:
                continue
            if cumulative[breakpoint_index] < min_tokens:
                continue  # too short to cache; the API skips it silently
            if commit:
                store[digests[breakpoint_index]] = now + _TTL_SECONDS[ttl]
            written[ttl] += cumulative[breakpoint_index] - boundary
            boundary = cumulative[breakpoint_index]
        creation = written["5m"] + written["1h"]
        return InputUsage(
            input_tokens=total - cache_read - creation,
            cache_creation_input_tokens=creation,
            cache_read_input_tokens=cache_read,
            ephemeral_5m_input_tokens=written["5m"],
            ephemeral_1h_input_tokens=written["1h"],
        )
