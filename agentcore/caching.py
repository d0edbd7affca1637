"""Automatic prompt caching: where to put ``cache_control`` breakpoints in a request.

The API caches the prefix of a request (tools, then system, then messages) up to and
including a block marked with ``cache_control``; a later request with the same prefix reads
it at a tenth of the input price. :func:`place_cache_breakpoints` marks, in this order of
priority, the latest turn (so the whole conversation so far is cached and read back on the
next turn), the system prompt, the tool definitions and, when a slot is left, the previous
turn (so last turn's cache entry is read even when the latest turn added many blocks). A
request holds at most four breakpoints, and the caller's own always come first.

A prefix shorter than the model's minimum is silently not cached by the API, so no
breakpoint is spent on it. Token counts are estimated from the JSON size (about four
characters of JSON per token), which is enough for this decision and costs no request.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from agentcore.errors import ConfigurationError
from agentcore.types import to_wire

__all__ = ["MAX_BREAKPOINTS", "min_cacheable_tokens", "place_cache_breakpoints"]

MAX_BREAKPOINTS = 4
"""The API rejects a request with more ``cache_control`` breakpoints than this."""

_CHARS_PER_TOKEN = 4
_DEFAULT_MIN_TOKENS = 1024
# Longest-lived documented minimums per model family. An unknown model gets the lowest
# current minimum: a breakpoint under the real minimum costs nothing (the API just does not
# cache), while overestimating it would silently give up savings.
_MIN_TOKENS_BY_MODEL: tuple[tuple[re.Pattern[str], int], ...] = (
    (re.compile(r"^claude-opus-4-[5-9](?:\D|$)"), 4096),
    (re.compile(r"^claude-haiku-4-[5-9](?:\D|$)"), 4096),
    (re.compile(r"^claude-(?:opus|sonnet)-4(?:\D|$)"), 1024),
    (re.compile(r"^claude-3-(?:5-)?haiku(?:\D|$)"), 2048),
    (re.compile(r"^claude-3-"), 1024),
)
# Blocks the API refuses to mark: thinking is cached as part of the turn around it.
_UNMARKABLE_BLOCK_TYPES = frozenset({"thinking", "redacted_thinking"})
_VALID_TTLS = (None, "5m", "1h")


def min_cacheable_tokens(model: str) -> int:
    """The shortest prefix, in tokens, that ``model`` caches (shorter ones are not cached)."""
    for pattern, tokens in _MIN_TOKENS_BY_MODEL:
        if pattern.match(model):
            return tokens
    return _DEFAULT_MIN_TOKENS


def place_cache_breakpoints(
    params: Mapping[str, Any], *, model: str, ttl: str | None = None
) -> dict[str, Any]:
    """Return a copy of request ``params`` with prompt-cache breakpoints placed.

    Args:
        params: Messages API request parameters (``tools``, ``system``, ``messages``…); items
            may be plain dicts or wire models. Neither the mapping nor anything in it is
            modified: only the containers that change are copied. Pass the conversation as
            stored, without the breakpoints of earlier turns, so the latest-turn breakpoint
            moves forward instead of piling up.
        model: The model the request goes to; decides the minimum cacheable length.
        ttl: ``"5m"`` or ``"1h"`` to set the cache lifetime; ``None`` keeps the API default.

    Returns:
        New request parameters with at most :data:`MAX_BREAKPOINTS` breakpoints in total,
        counting those already present (a top-level ``cache_control`` counts as one).

    Raises:
        ConfigurationError: ``ttl`` is not one of the API's lifetimes.
    """
    if ttl not in _VALID_TTLS:
        raise ConfigurationError(f"cache ttl must be '5m', '1h' or None, not {ttl!r}")
    marker: dict[str, Any] = {"type": "ephemeral"}
    if ttl is not None:
        marker["ttl"] = ttl
    result = dict(params)
    tools: list[Any] = list(params.get("tools") or ())
    system = params.get("system")
    system_blocks: list[Any]
    if isinstance(system, str):
        system_blocks = [{"type": "text", "text": system}] if system else []
    else:
        system_blocks = list(system or ())
    messages: list[Any] = list(params.get("messages") or ())

    slots = MAX_BREAKPOINTS - _count_breakpoints(params, tools, system_blocks, messages)
    if slots <= 0:
        return result
    minimum = min_cacheable_tokens(model)
    prefix = _PrefixSize(tools, system_blocks, messages, minimum)

    latest = len(messages) - 1
    # A top-level cache_control already asks the API to mark the latest block itself.
    at_latest = latest >= 0 and params.get("cache_control") is None
    if at_latest and prefix.reaches_minimum(messages=latest + 1):
        marked = _mark_message(messages[latest], marker)
        if marked is not None:
            messages[latest] = marked
            result["messages"] = messages
            slots -= 1
    if slots and system_blocks and prefix.reaches_minimum(messages=0):
        marked_system = _mark_last(system_blocks, marker)
        if marked_system is not None:
            result["system"] = marked_system
            slots -= 1
    if slots and tools and prefix.tools_reach_minimum():
        marked_tools = _mark_last(tools, marker)
        if marked_tools is not None:
            result["tools"] = marked_tools
            slots -= 1
    if slots and "messages" in result:
        previous = _previous_turn(messages, latest)
        if previous is not None and prefix.reaches_minimum(messages=previous + 1):
            marked = _mark_message(messages[previous], marker)
            if marked is not None:
                messages[previous] = marked
    return result


class _PrefixSize:
    """Estimates prefix sizes lazily: each item is measured once, and only until the
    running total reaches the minimum (past it, every longer prefix qualifies too)."""

    __slots__ = ("_base", "_cumulative", "_messages", "_minimum_chars", "_system", "_tools")

    def __init__(
        self, tools: list[Any], system: list[Any], messages: list[Any], minimum_tokens: int
    ) -> None:
        self._minimum_chars = minimum_tokens * _CHARS_PER_TOKEN
        self._tools = tools
        self._system = system
        self._messages = messages
        self._base: int | None = None
        self._cumulative: list[int] = []

    def tools_reach_minimum(self) -> bool:
        return sum(_estimated_chars(tool) for tool in self._tools) >= self._minimum_chars

    def reaches_minimum(self, *, messages: int) -> bool:
        """Whether tools, system and the first ``messages`` messages reach the minimum."""
        if self._base is None:
            items = (*self._tools, *self._system)
            self._base = sum(_estimated_chars(item) for item in items)
        cumulative = self._cumulative
        total = cumulative[-1] if cumulative else self._base
        while len(cumulative) < messages and total < self._minimum_chars:
            total += _estimated_chars(self._messages[len(cumulative)])
            cumulative.append(total)
        if messages == 0:
            return self._base >= self._minimum_chars
        if messages <= len(cumulative):
            return cumulative[messages - 1] >= self._minimum_chars
        return True


def _estimated_chars(value: Any) -> int:
    """About the length of ``value`` as JSON, without serializing it."""
    if isinstance(value, str):
        return len(value) + 2
    if isinstance(value, Mapping):
        return 2 + sum(len(str(key)) + 4 + _estimated_chars(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return 2 + sum(_estimated_chars(item) + 1 for item in value)
    if isinstance(value, BaseModel):
        return _estimated_chars(to_wire(value))
    return 5


def _field(item: Any, name: str) -> Any:
    # Plain dicts first: this runs over the whole conversation on every turn, and the
    # abstract Mapping check costs several times more than the concrete one.
    if isinstance(item, dict):
        return item.get(name)
    if isinstance(item, Mapping):
        return item.get(name)
    return getattr(item, name, None)


def _count_breakpoints(
    params: Mapping[str, Any], tools: list[Any], system: list[Any], messages: list[Any]
) -> int:
    count = 1 if params.get("cache_control") is not None else 0
    count += sum(1 for tool in tools if _field(tool, "cache_control") is not None)
    count += sum(1 for block in system if _field(block, "cache_control") is not None)
    for message in messages:
        content = (
            message.get("content") if isinstance(message, dict) else _field(message, "content")
        )
        if isinstance(content, list):
            count += _count_in_blocks(content)
    return count


def _count_in_blocks(blocks: list[Any]) -> int:
    count = 0
    for block in blocks:
        if isinstance(block, dict):
            marked, kind = block.get("cache_control") is not None, block.get("type")
        else:
            marked, kind = _field(block, "cache_control") is not None, _field(block, "type")
        count += marked
        if kind == "tool_result":
            nested = _field(block, "content")
            if isinstance(nested, list):
                count += _count_in_blocks(nested)
    return count


def _is_markable(block: Any) -> bool:
    kind = _field(block, "type")
    if kind in _UNMARKABLE_BLOCK_TYPES:
        return False
    # The API rejects cache_control on an empty text block.
    return not (kind == "text" and not _field(block, "text"))


def _with_marker(item: Any, marker: dict[str, Any]) -> dict[str, Any]:
    wire = to_wire(item)
    return {**wire, "cache_control": dict(marker)}


def _mark_last(items: list[Any], marker: dict[str, Any]) -> list[Any] | None:
    """A copy of ``items`` with the last markable one marked, or None when none qualifies."""
    for index in range(len(items) - 1, -1, -1):
        item = items[index]
        if _is_markable(item):
            if _field(item, "cache_control") is not None:
                return None
            marked = list(items)
            marked[index] = _with_marker(item, marker)
            return marked
    return None


def _mark_message(message: Any, marker: dict[str, Any]) -> dict[str, Any] | None:
    wire = to_wire(message) if isinstance(message, BaseModel) else message
    content = _field(wire, "content")
    if isinstance(content, str):
        if not content:
            return None
        blocks: list[Any] = [{"type": "text", "text": content}]
    elif isinstance(content, list):
        blocks = content
    else:
        return None
    marked = _mark_last(blocks, marker)
    if marked is None:
        return None
    return {**wire, "content": marked}


def _previous_turn(messages: list[Any], latest: int) -> int | None:
    """Index of the last message before ``latest`` with the same role: last turn's end."""
    role = _field(messages[latest], "role")
    for index in range(latest - 1, -1, -1):
        if _field(messages[index], "role") == role:
            return index
    return None
