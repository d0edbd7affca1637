"""Input-token accounting with prompt caching, the way the Messages API bills it.

The prompt is a sequence of blocks in the API's cache order: tool definitions, system
blocks, then message content blocks. A block marked with ``cache_control`` is a
breakpoint; the prefix ending there is written to the cache (if it reaches the model's
minimum length) and a later request whose prefix matches reads it instead. Like the API,
a breakpoint also finds entries written at earlier blocks, up to :data:`LOOKBACK_BLOCKS`
back, so moving the breakpoint forward each turn still reads last turn's entry.
``input_tokens`` counts only what was neither read nor written.

Tokens are counted with one of two tokenizers: ``"chars"``, about four characters of JSON per
token whatever they are, or ``"varied"`` (:func:`varied_tokens`), which, like a real
tokenizer, makes digits, punctuation (so JSON and code) and non-Latin scripts cost more tokens
per character than English prose.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agentcore.testing._replies import CHARS_PER_TOKEN

__all__ = [
    "LOOKBACK_BLOCKS",
    "TOKENIZERS",
    "InputUsage",
    "PromptBlock",
    "PromptCache",
    "count_input_tokens",
    "prompt_blocks",
    "prompt_tokens",
    "varied_tokens",
]

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
class PromptBlock:
    """One block of a prompt: its canonical bytes (what a cache prefix hashes), its tokens,
    and its ``cache_control`` TTL (None when it is not a breakpoint)."""

    canonical: bytes
    tokens: int
    ttl: str | None


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)

_LETTERS = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ \n"
_DIGITS = b"0123456789"
_ASCII = bytes(range(128))


def _chars_tokens(canonical: bytes) -> int:
    return (len(canonical) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN


def varied_tokens(canonical: bytes) -> int:
    """Tokens of UTF-8 text the way a real tokenizer varies: about 4.5 characters per token
    for English words and spaces, 2 per token for digits, 1.5 for punctuation and other ASCII
    (JSON's quotes and braces, code's operators), and a token per non-ASCII character of a
    non-Latin script (three UTF-8 bytes; an accented Latin letter, two bytes, costs less)."""
    letters = len(canonical) - len(canonical.translate(None, _LETTERS))
    digits = len(canonical) - len(canonical.translate(None, _DIGITS))
    non_ascii = len(canonical.translate(None, _ASCII))
    other = len(canonical) - letters - digits - non_ascii
    return math.ceil(letters / 4.5 + digits / 2 + other / 1.5 + non_ascii / 3)


TOKENIZERS: dict[str, Callable[[bytes], int]] = {"chars": _chars_tokens, "varied": varied_tokens}
"""The emulator's tokenizers by name (see the module's docstring)."""


def _block(
    value: Mapping[str, Any], prefix: str, tokenize: Callable[[bytes], int] = _chars_tokens
) -> PromptBlock:
    control = value.get("cache_control")
    plain = value if control is None else {
        key: item for key, item in value.items() if key != "cache_control"
    }
    canonical = (prefix + _ENCODER.encode(plain)).encode()
    ttl: str | None = None
    if isinstance(control, dict):
        raw_ttl = control.get("ttl")
        ttl = raw_ttl if raw_ttl in _TTL_SECONDS else "5m"
    return PromptBlock(canonical, tokenize(canonical), ttl)


def prompt_blocks(body: Mapping[str, Any], tokenizer: str = "chars") -> list[PromptBlock]:
    """The prompt's blocks in cache order, each with its tokens and cache TTL: what
    :func:`count_input_tokens` sums and :meth:`PromptCache.account` bills, computed once for
    a request that needs both."""
    tokenize = TOKENIZERS[tokenizer]
    blocks = [
        _block(definition, "tool:", tokenize) for definition in body.get("tools") or []
        if isinstance(definition, dict)
    ]
    system = body.get("system")
    if isinstance(system, str) and system:
        blocks.append(_block({"type": "text", "text": system}, "system:", tokenize))
    elif isinstance(system, list):
        blocks.extend(
            _block(item, "system:", tokenize) for item in system if isinstance(item, dict)
        )
    messages = body.get("messages") or []
    start, skip = _after_compaction(messages)
    for index, message in enumerate(messages[start:], start):
        role = f"{message.get('role')}:"
        content = message.get("content")
        if index == start and skip and isinstance(content, list):
            content = content[skip:]
        if isinstance(content, str):
            blocks.append(_block({"type": "text", "text": content}, role, tokenize))
        elif isinstance(content, list):
            blocks.extend(
                _block(item, role, tokenize) for item in content if isinstance(item, dict)
            )
    top_level = body.get("cache_control")
    if isinstance(top_level, dict) and blocks and blocks[-1].ttl is None:
        last = blocks[-1]
        ttl = top_level.get("ttl")
        blocks[-1] = PromptBlock(last.canonical, last.tokens, ttl if ttl in _TTL_SECONDS else "5m")
    return blocks


def _after_compaction(messages: list[Any]) -> tuple[int, int]:
    """Where the prompt starts: at the latest ``compaction`` block holding a summary (the API
    drops everything before it), as (message index, block index); else (0, 0)."""
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        content = message.get("content") if isinstance(message, dict) else None
        if message.get("role") != "assistant" or not isinstance(content, list):
            continue
        for position in range(len(content) - 1, -1, -1):
            block = content[position]
            if (
                isinstance(block, dict)
                and block.get("type") == "compaction"
                and block.get("content") is not None
            ):
                return index, position
    return 0, 0


def count_input_tokens(body: Mapping[str, Any], tokenizer: str = "chars") -> int:
    """The prompt's size in tokens, as ``count_tokens`` reports it (cache ignored)."""
    return prompt_tokens(prompt_blocks(body, tokenizer))


def prompt_tokens(blocks: Sequence[PromptBlock]) -> int:
    """The size in tokens of a prompt made of ``blocks`` (at least 1)."""
    return max(1, sum(block.tokens for block in blocks))


class PromptCache:
    """Cache entries per (API key, model), each a prefix hash with an expiry time.

    Args:
        clock: Seconds from a monotonic clock; inject one to test expiry.
    """

    def __init__(self, *, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._entries: dict[tuple[str, str], dict[bytes, float]] = {}

    def account(
        self,
        body: Mapping[str, Any],
        *,
        key: str,
        model: str,
        min_tokens: int,
        tokenizer: str = "chars",
        commit: bool = True,
        blocks: Sequence[PromptBlock] | None = None,
    ) -> InputUsage:
        """Bill one request's input, reading and writing cache entries as the API would.

        With ``commit=False`` the bill is computed and the cache left unchanged (no writes,
        no refreshed expiry), to know a request's charges before deciding to answer it.
        ``blocks`` are ``body``'s :func:`prompt_blocks` when the caller has them already.
        """
        if blocks is None:
            blocks = prompt_blocks(body, tokenizer)
        total = prompt_tokens(blocks)
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
