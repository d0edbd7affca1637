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
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from agentcore.errors import ConfigurationError
from agentcore.types import to_wire

__all__ = ["MAX_BREAKPOINTS", "CachePlanner", "min_cacheable_tokens", "place_cache_breakpoints"]

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

    This measures the whole request; for the successive requests of one conversation, a
    :class:`CachePlanner` measures only what was appended since the last one.
    """
    return CachePlanner().place(params, model=model, ttl=ttl)


class CachePlanner:
    """Places breakpoints on the successive requests of one growing conversation.

    :meth:`place` decides exactly as :func:`place_cache_breakpoints` does, but remembers
    the size and the caller's breakpoints of every message it measured, so a request costs
    the size of the messages appended since the previous one, not of the whole conversation.
    It relies on what the agent loop guarantees: the ``messages`` list passed each time is
    the same list, which only grows by appending, and neither earlier messages nor the
    ``tools`` and ``system`` objects are changed in place. A different or shorter list, or
    one whose last measured message was replaced, is measured again from the start.
    """

    __slots__ = (
        "_cumulative_chars",
        "_last_measured",
        "_message_breakpoints",
        "_messages",
        "_minimum_chars",
        "_minimum_model",
        "_system",
        "_system_blocks",
        "_system_breakpoints",
        "_system_chars",
        "_tools",
        "_tools_breakpoints",
        "_tools_chars",
    )

    def __init__(self) -> None:
        self._messages: object = None
        self._last_measured: object = None
        self._cumulative_chars: list[int] = []
        """Estimated characters of the first k + 1 messages, at index k."""
        self._message_breakpoints = 0
        self._tools: object = None
        self._tools_chars = 0
        self._tools_breakpoints = 0
        self._system: object = None
        self._system_blocks: list[Any] = []
        self._system_chars = 0
        self._system_breakpoints = 0
        self._minimum_model: str | None = None
        self._minimum_chars = 0

    def place(
        self, params: Mapping[str, Any], *, model: str, ttl: str | None = None
    ) -> dict[str, Any]:
        """Return a copy of ``params`` with breakpoints placed (see
        :func:`place_cache_breakpoints`, whose arguments and result these are)."""
        if ttl not in _VALID_TTLS:
            raise ConfigurationError(f"cache ttl must be '5m', '1h' or None, not {ttl!r}")
        marker: dict[str, Any] = {"type": "ephemeral"}
        if ttl is not None:
            marker["ttl"] = ttl
        result = dict(params)
        tools = self._measure_tools(params.get("tools"))
        system_blocks = self._measure_system(params.get("system"))
        stored = params.get("messages") or ()
        cumulative = self._measure_messages(stored)

        existing = (
            (1 if params.get("cache_control") is not None else 0)
            + self._tools_breakpoints
            + self._system_breakpoints
            + self._message_breakpoints
        )
        slots = MAX_BREAKPOINTS - existing
        if slots <= 0:
            return result
        if model != self._minimum_model:
            # A run asks for the same model turn after turn: its patterns are matched once.
            self._minimum_chars = min_cacheable_tokens(model) * _CHARS_PER_TOKEN
            self._minimum_model = model
        minimum_chars = self._minimum_chars
        base_chars = self._tools_chars + self._system_chars

        def reaches_minimum(message_count: int) -> bool:
            """Whether tools, system and the first ``message_count`` messages qualify."""
            chars = cumulative[message_count - 1] if message_count else 0
            return base_chars + chars >= minimum_chars

        messages: list[Any] | None = None
        latest = len(stored) - 1
        # A top-level cache_control already asks the API to mark the latest block itself.
        at_latest = latest >= 0 and params.get("cache_control") is None
        if at_latest and reaches_minimum(latest + 1):
            marked = _mark_message(stored[latest], marker)
            if marked is not None:
                messages = list(stored)
                messages[latest] = marked
                result["messages"] = messages
                slots -= 1
        if slots and system_blocks and reaches_minimum(0):
            marked_system = _mark_last(system_blocks, marker)
            if marked_system is not None:
                result["system"] = marked_system
                slots -= 1
        if slots and tools and self._tools_chars >= minimum_chars:
            marked_tools = _mark_last(tools, marker)
            if marked_tools is not None:
                result["tools"] = marked_tools
                slots -= 1
        if slots and messages is not None:
            previous = _previous_turn(messages, latest)
            if previous is not None and reaches_minimum(previous + 1):
                marked = _mark_message(messages[previous], marker)
                if marked is not None:
                    messages[previous] = marked
        return result

    def measure(self, messages: Sequence[Any]) -> Sequence[int]:
        """The estimated characters of the first k + 1 of ``messages`` at index k, measuring
        only the messages appended since the last call (the same list :meth:`place` gets)."""
        return self._measure_messages(messages)

    def _measure_tools(self, source: Any) -> Sequence[Any]:
        tools: Sequence[Any] = source or ()
        if source is not self._tools or source is None:
            self._tools = source
            self._tools_chars = sum(_estimated_chars(tool) for tool in tools)
            self._tools_breakpoints = sum(
                1 for tool in tools if _field(tool, "cache_control") is not None
            )
        return tools

    def _measure_system(self, source: Any) -> list[Any]:
        if source is self._system and source is not None:
            return self._system_blocks
        blocks: list[Any]
        if isinstance(source, str):
            blocks = [{"type": "text", "text": source}] if source else []
        else:
            blocks = list(source or ())
        self._system = source
        self._system_blocks = blocks
        self._system_chars = sum(_estimated_chars(block) for block in blocks)
        self._system_breakpoints = sum(
            1 for block in blocks if _field(block, "cache_control") is not None
        )
        return blocks

    def _measure_messages(self, messages: Sequence[Any]) -> list[int]:
        cumulative = self._cumulative_chars
        measured = len(cumulative)
        if (
            messages is not self._messages
            or len(messages) < measured
            or (measured and messages[measured - 1] is not self._last_measured)
        ):
            self._messages = messages
            cumulative = self._cumulative_chars = []
            self._message_breakpoints = 0
            measured = 0
        if measured == len(messages):
            return cumulative
        total = cumulative[-1] if cumulative else 0
        breakpoints = self._message_breakpoints
        for index in range(measured, len(messages)):
            message = messages[index]
            total += _estimated_chars(message)
            cumulative.append(total)
            content = (
                message.get("content") if isinstance(message, dict) else _field(message, "content")
            )
            if isinstance(content, list):
                breakpoints += _count_in_blocks(content)
        self._message_breakpoints = breakpoints
        self._last_measured = messages[-1]
        return cumulative


def _estimated_chars(value: Any) -> int:
    """About the length of ``value`` as JSON, without serializing it: a string counts its
    length plus its quotes, an object its braces and, per member, the key, its quotes, a
    colon and a space plus the value, an array its brackets and one per item plus the
    items, anything else five."""
    # Exact dicts, lists and strings (all a conversation holds) are tested first by type:
    # this runs on every message appended, and the abstract checks cost several times more.
    kind = type(value)
    if kind is str:
        return len(value) + 2
    if kind is dict:
        total = 2
        for key, item in value.items():
            total += (len(key) if type(key) is str else len(str(key))) + 4
            total += _estimated_chars(item)
        return total
    if kind is list:
        total = 2
        for item in value:
            total += _estimated_chars(item) + 1
        return total
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


def _mark_last(items: Sequence[Any], marker: dict[str, Any]) -> list[Any] | None:
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
