"""Keeping a run inside the model's context window: estimates, budgets and compaction.

Before each model call the agent loop estimates the request's input tokens from its size
(:class:`TokenEstimator`: about four characters of JSON per token, corrected by the input
tokens each response reports for the request that produced it). The request may use the
model's window (:func:`agentcore.usage.context_window`, or ``ContextSettings.window``) minus
``max_tokens``, kept for the answer. When the estimate passes ``trigger`` of that budget, the
loop asks the compaction policy to bring the conversation down to ``target`` of it; when the
policy cannot, the run finishes as ``context_exceeded`` instead of sending a request that would
fail. A ``prompt is too long`` error and the stop reason ``model_context_window_exceeded``
take the same path.

:class:`ClearToolResults`, the default policy, is deterministic: it replaces the content of
the oldest tool results with a short placeholder that names the call (tool and arguments) so
the model can make it again, and leaves everything else as it was: every ``tool_use`` keeps
its ``tool_result``, assistant turns (thinking blocks included) are untouched, the last
``keep_last`` results and those of tools that need approval stay whole, and a result once
cleared reads the same on every later
request, so the cached prefix stays stable and a compaction costs one cache write. A policy of
your own (summarising old turns with a cheaper model, say) implements :class:`CompactionPolicy`;
its ``compact`` may be a coroutine function, and the drivers run it, never the loop.

:class:`ServerCompaction` asks the API to compact instead (the ``compact_20260112`` edit of
``context_management``, beta ``compact-2026-01-12``): the response then carries a
``compaction`` block, which the conversation keeps and sends back as received, and the API
ignores what came before it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeAlias, runtime_checkable

from pydantic import BaseModel

from agentcore.caching import _estimated_chars
from agentcore.errors import ConfigurationError
from agentcore.redaction import REDACTED, redact_value
from agentcore.types import to_wire

__all__ = [
    "PLACEHOLDER_PREFIX",
    "SERVER_COMPACTION_BETA",
    "ClearToolResults",
    "Compaction",
    "CompactionPolicy",
    "CompactionReason",
    "CompactionRequest",
    "CompactionResult",
    "ContextSettings",
    "ServerCompaction",
    "TokenEstimator",
    "check_compacted",
    "context_overflow",
]

SERVER_COMPACTION_BETA = "compact-2026-01-12"
"""The ``anthropic-beta`` name server-side compaction needs."""
_SERVER_COMPACTION_EDIT = "compact_20260112"

PLACEHOLDER_PREFIX = "[tool result cleared to fit the context window]"
"""How a result :class:`ClearToolResults` replaced begins."""

CompactionReason: TypeAlias = Literal[
    "near_window", "prompt_too_long", "model_context_window_exceeded"
]
"""Why a compaction ran: the estimate neared the window, or the API said it was exceeded."""

_CHARS_PER_TOKEN = 4.0
_ARGUMENTS_SHOWN = 300
_MIN_RATIO = 1 / 16
_MAX_RATIO = 2.0


# --- estimating ------------------------------------------------------------------------------


class TokenEstimator:
    """Estimates a request's input tokens from its size, corrected by reported usage.

    The size is the length of the request as JSON, measured without serializing it. The
    conversation is measured incrementally: the agent loop's list only grows by appending
    (a compaction replaces it with a new list), so each call measures only the messages
    appended since the last one. The tokens per character start at one in four and become,
    after each response, the ratio the API reported for the request that produced it
    (:meth:`observe`).
    """

    __slots__ = ("_count", "_last", "_messages", "_total", "tokens_per_char")

    def __init__(self, tokens_per_char: float = 1 / _CHARS_PER_TOKEN) -> None:
        self.tokens_per_char = tokens_per_char
        self._messages: object = None
        self._last: object = None
        self._count = 0
        self._total = 0

    def fixed_chars(self, params: Mapping[str, Any]) -> int:
        """Characters of everything in ``params`` but the messages (tools, system…)."""
        return sum(
            _estimated_chars(value)
            for key, value in params.items()
            if key not in ("messages", "max_tokens", "model")
        )

    def message_chars(
        self, messages: Sequence[Any], cumulative: Sequence[int] | None = None
    ) -> int:
        """Characters of ``messages`` the API reads: those from the latest ``compaction``
        block on, since it stands for everything before it.

        ``cumulative``, when given, holds the characters of the first k + 1 messages at
        index k (as a :class:`~agentcore.caching.CachePlanner` measured them), so no
        message is measured twice.
        """
        count = self._count
        if (
            messages is not self._messages
            or len(messages) < count
            or (count and messages[count - 1] is not self._last)
        ):
            self._messages = messages
            count = self._total = 0
        total = self._total
        for index in range(count, len(messages)):
            message = messages[index]
            position = _compaction_in(message)
            if position is None:
                if cumulative is None:
                    total += _estimated_chars(message)
                else:
                    total += cumulative[index] - (cumulative[index - 1] if index else 0)
            else:
                total = _estimated_chars(message["content"][position:])
        self._count = len(messages)
        self._last = messages[-1] if messages else None
        self._total = total
        return total

    def tokens(self, chars: int) -> int:
        """``chars`` characters of request in tokens, by the current ratio."""
        return math.ceil(chars * self.tokens_per_char)

    def observe(self, chars: int, reported_tokens: int) -> bool:
        """Learn from a response: a request of ``chars`` characters held ``reported_tokens``
        input tokens (uncached, written and read from the cache together). Returns whether
        the figure was believed.

        A ratio no tokenizer gives (under one token per 16 characters, over two per
        character) says the usage is not about this request (a fake, or a server that
        got it wrong) and is ignored, so it can neither disable nor force compaction.
        """
        if chars > 0 and reported_tokens > 0:
            ratio = reported_tokens / chars
            if _MIN_RATIO <= ratio <= _MAX_RATIO:
                self.tokens_per_char = ratio
                return True
        return False


def _compaction_in(message: Any) -> int | None:
    """Position of the last ``compaction`` block with content in an assistant message."""
    if not isinstance(message, dict) or message.get("role") != "assistant":
        return None
    content = message.get("content")
    if not isinstance(content, list):
        return None
    for position in range(len(content) - 1, -1, -1):
        block = content[position]
        if (
            isinstance(block, dict)
            and block.get("type") == "compaction"
            and block.get("content") is not None
        ):
            return position
    return None


def _after_last_compaction(messages: Sequence[Any]) -> tuple[int, int]:
    """(message index, block index) of the latest compaction block with content, else (0, 0)."""
    for index in range(len(messages) - 1, -1, -1):
        position = _compaction_in(messages[index])
        if position is not None:
            return index, position
    return 0, 0


# A size is read only when it has at most 15 digits: a longer number is no window any model
# has, and int() refuses numbers past 4,300 digits with a ValueError.
_SIZE = r"(\d{1,15})(?!\d)"
_TOO_LONG = re.compile(
    rf"prompt is too long:\s*{_SIZE}\s*tokens\s*>\s*{_SIZE}", re.IGNORECASE
)
_EXCEED = re.compile(
    rf"input length and `?max_tokens`? exceed context limit:\s*{_SIZE}\s*\+\s*{_SIZE}"
    rf"\s*>\s*{_SIZE}",
    re.IGNORECASE,
)


def context_overflow(message: str) -> tuple[int | None, int | None] | None:
    """Whether an API error message says the request does not fit the context window.

    Returns (tokens the prompt held, the window) as far as the message says them, or None
    when the error is about something else. A size of more than 15 digits is not believed:
    a prompt too long with such numbers reads as (None, None).
    """
    found = _TOO_LONG.search(message)
    if found:
        return int(found.group(1)), int(found.group(2))
    exceeded = _EXCEED.search(message)
    if exceeded:
        return int(exceeded.group(1)), int(exceeded.group(3))
    if "prompt is too long" in message.lower():
        return None, None
    return None


# --- policies --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CompactionRequest:
    """What a compaction policy is asked: bring ``messages`` down to ``target_tokens``."""

    messages: Sequence[Mapping[str, Any]]
    """The conversation as it would be sent; not to be changed in place."""
    model: str
    window: int
    """The model's context window, in tokens."""
    tokens: int
    """The estimated input tokens of the request now."""
    target_tokens: int
    """The estimated input tokens the request should come down to."""
    fixed_tokens: int
    """Of :attr:`tokens`, those of the tools and the system prompt, which stay."""
    tokens_per_char: float
    """The estimator's current ratio, for :meth:`estimate`."""
    reason: CompactionReason
    kept_tools: frozenset[str] = frozenset()
    """Tools whose calls need a person's approval (sensitive, or with an approval policy of
    their own): their results are the record of an approved action, and calling the tool
    again is no way to read one, so :class:`ClearToolResults` never clears them."""

    def estimate(self, messages: Sequence[Any]) -> int:
        """The estimated input tokens of the request with ``messages`` as its conversation."""
        return self.fixed_tokens + math.ceil(
            _message_chars(messages) * self.tokens_per_char
        )


@dataclass(frozen=True, slots=True)
class CompactionResult:
    """A policy's answer: the compacted conversation and what was removed."""

    messages: list[dict[str, Any]]
    removed: int
    """How many results, turns or blocks were removed or replaced."""
    description: str = ""
    """A short account for logs and events ("cleared 4 tool results: …")."""


@runtime_checkable
class CompactionPolicy(Protocol):
    """Shortens a conversation that nears the context window.

    ``compact`` returns the compacted conversation, or None when it cannot shorten it; it
    may be a coroutine function (the async driver awaits it, the blocking one runs it to
    completion). The loop checks the result (:func:`check_compacted`) before using it.
    """

    def compact(
        self, request: CompactionRequest
    ) -> CompactionResult | Awaitable[CompactionResult | None] | None:
        """The conversation of ``request`` made shorter, or None."""
        ...


@dataclass(frozen=True, slots=True)
class ClearToolResults:
    """The default policy: replace the oldest tool results with a placeholder.

    Results are cleared oldest first until the request is estimated at the target; the
    last ``keep_last`` results, results shorter than ``min_chars`` and the results of the
    request's ``kept_tools`` (actions a person approved) stay whole. The
    placeholder says what was removed (tool, arguments, size) and how to get it again (call
    the tool again with those arguments). Nothing else changes, so ``tool_use`` and
    ``tool_result`` pairs stay intact and thinking blocks are never touched.
    """

    keep_last: int = 3
    min_chars: int = 600

    def __post_init__(self) -> None:
        for name in ("keep_last", "min_chars"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigurationError(f"{name} must be 0 or more, not {value!r}")

    def compact(self, request: CompactionRequest) -> CompactionResult | None:
        """Clear results oldest first until the request fits ``request.target_tokens``."""
        messages = request.messages
        calls = _tool_calls(messages)
        positions = [
            (index, position)
            for index, message in enumerate(messages)
            if message.get("role") == "user" and isinstance(message.get("content"), list)
            for position, block in enumerate(message["content"])
            if isinstance(block, dict) and block.get("type") == "tool_result"
        ]
        if self.keep_last:
            positions = positions[: -self.keep_last]
        tokens = request.tokens
        changed: dict[int, list[Any]] = {}
        cleared: list[str] = []
        for index, position in positions:
            if tokens <= request.target_tokens:
                break
            block = messages[index]["content"][position]
            content = block.get("content")
            if _is_placeholder(content):
                continue
            size = _estimated_chars(content)
            if size < self.min_chars:
                continue
            name, arguments = calls.get(block.get("tool_use_id"), ("a tool", {}))
            if name in request.kept_tools:
                continue
            text = _placeholder(name, arguments, size)
            blocks = changed.setdefault(index, list(messages[index]["content"]))
            blocks[position] = {**block, "content": text}
            tokens -= math.floor((size - _estimated_chars(text)) * request.tokens_per_char)
            cleared.append(name)
        if not cleared:
            return None
        compacted = [
            {**message, "content": changed[index]} if index in changed else dict(message)
            for index, message in enumerate(messages)
        ]
        names = ", ".join(sorted(set(cleared)))
        return CompactionResult(
            compacted,
            len(cleared),
            f"cleared {len(cleared)} tool result{'s' if len(cleared) != 1 else ''} ({names})",
        )


def _tool_calls(messages: Sequence[Mapping[str, Any]]) -> dict[Any, tuple[str, Any]]:
    calls: dict[Any, tuple[str, Any]] = {}
    for message in messages:
        content = message.get("content")
        if message.get("role") != "assistant" or not isinstance(content, list):
            continue
        for block in content:
            if isinstance(block, dict) and block.get("type") == "tool_use":
                calls[block.get("id")] = (str(block.get("name")), block.get("input"))
    return calls


def _is_placeholder(content: Any) -> bool:
    return isinstance(content, str) and content.startswith(PLACEHOLDER_PREFIX)


def _placeholder(name: str, arguments: Any, size: int) -> str:
    """What replaces a cleared result. The arguments are shown as a stored run may keep them
    (credentials and key-shaped values masked, see :func:`~agentcore.redaction.redact_value`):
    the placeholder is part of the conversation that is stored and logged, unlike the call's
    own arguments, which stay in the assistant turn for the model to copy."""
    shown = json.dumps(redact_value(arguments), ensure_ascii=False, sort_keys=True)
    if len(shown) > _ARGUMENTS_SHOWN:
        shown = shown[:_ARGUMENTS_SHOWN] + "…"
    masked = (
        f" ({REDACTED} stands for the value you gave in that call)" if REDACTED in shown else ""
    )
    return (
        f"{PLACEHOLDER_PREFIX} {name} returned about {size:,} characters here. To see them "
        f"again, call {name} again with these arguments: {shown}{masked}"
    )


def _message_chars(messages: Sequence[Any]) -> int:
    start, skip = _after_last_compaction(messages)
    total = 0
    for index in range(start, len(messages)):
        message = messages[index]
        if index == start and skip:
            content = message.get("content")
            total += _estimated_chars(content[skip:]) if isinstance(content, list) else 0
        else:
            total += _estimated_chars(message)
    return total


@dataclass(frozen=True, slots=True)
class ServerCompaction:
    """Let the API compact the conversation (beta): the ``compact_20260112`` edit.

    Args:
        trigger_tokens: Input tokens at which the API compacts (at least 50,000); None
            keeps the API's default (150,000).
        pause_after: Stop with ``stop_reason: "compaction"`` after the summary (the loop
            then calls again, as for ``pause_turn``).
        instructions: A summarisation prompt replacing the API's own.
    """

    trigger_tokens: int | None = None
    pause_after: bool = False
    instructions: str | None = None

    def __post_init__(self) -> None:
        trigger = self.trigger_tokens
        if trigger is not None and (
            isinstance(trigger, bool) or not isinstance(trigger, int) or trigger < 50_000
        ):
            raise ConfigurationError(
                f"trigger_tokens must be a whole number of at least 50000, not {trigger!r}"
            )

    def edit(self) -> dict[str, Any]:
        """The ``context_management.edits`` entry this strategy sends."""
        edit: dict[str, Any] = {"type": _SERVER_COMPACTION_EDIT}
        if self.trigger_tokens is not None:
            edit["trigger"] = {"type": "input_tokens", "value": self.trigger_tokens}
        if self.pause_after:
            edit["pause_after_compaction"] = True
        if self.instructions is not None:
            edit["instructions"] = self.instructions
        return edit

    def request_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """``params`` (``messages.create`` keyword arguments) with the edit added to the
        body's ``context_management`` and the beta named."""
        result = dict(params)
        extra_body = dict(result.get("extra_body") or {})
        management = dict(extra_body.get("context_management") or {})
        management["edits"] = [*(management.get("edits") or ()), self.edit()]
        extra_body["context_management"] = management
        result["extra_body"] = extra_body
        betas = list(result.get("betas") or ())
        if SERVER_COMPACTION_BETA not in betas:
            betas.append(SERVER_COMPACTION_BETA)
        result["betas"] = betas
        return result


@dataclass(frozen=True, slots=True)
class ContextSettings:
    """How a run stays inside the context window: ``ModelSettings(context=...)``.

    Args:
        window: The context window in tokens; None uses the model's known window (see
            :func:`agentcore.usage.context_window`), and a model with none known is not
            budgeted until the API reports its window in an error.
        compaction: What shortens the conversation: a :class:`CompactionPolicy` run by the
            agent (:class:`ClearToolResults` by default), :class:`ServerCompaction` to let the
            API do it, or None to finish the run as ``context_exceeded`` instead.
        trigger: Compact when the estimated request passes this share of the budget (the
            window minus ``max_tokens``).
        target: A compaction aims for this share, so that it is not needed again next turn.
        count_tokens: Before deciding on a compaction (the estimate passed ``trigger``), ask
            the API's ``count_tokens`` for the exact size (one more round trip, free) and
            decide on that; the count also corrects later estimates. A failed count falls
            back to the estimate.
    """

    window: int | None = None
    compaction: CompactionPolicy | ServerCompaction | None = field(
        default_factory=ClearToolResults
    )
    trigger: float = 0.8
    target: float = 0.5
    count_tokens: bool = False

    def __post_init__(self) -> None:
        window = self.window
        if window is not None and (
            isinstance(window, bool) or not isinstance(window, int) or window < 1
        ):
            raise ConfigurationError(f"window must be a positive integer, not {window!r}")
        for name in ("trigger", "target"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not (
                0 < value <= 1
            ):
                raise ConfigurationError(f"{name} must be a number in (0, 1], not {value!r}")
        if self.target > self.trigger:
            raise ConfigurationError(
                f"target ({self.target}) must not be above trigger ({self.trigger})"
            )
        compaction = self.compaction
        if compaction is not None and not isinstance(compaction, ServerCompaction) and not (
            callable(getattr(compaction, "compact", None))
        ):
            raise ConfigurationError(
                "compaction must be a CompactionPolicy (an object with a compact(request) "
                f"method), ServerCompaction() or None, not {compaction!r}"
            )

    @property
    def policy(self) -> CompactionPolicy | None:
        """The policy the agent runs itself, if any."""
        compaction = self.compaction
        return None if isinstance(compaction, ServerCompaction) else compaction


@dataclass(frozen=True, slots=True)
class Compaction:
    """One compaction of a run's conversation, as logged and reported in events."""

    reason: CompactionReason
    policy: str
    """The policy's class name."""
    tokens_before: int
    """Estimated input tokens of the request before."""
    tokens_after: int
    window: int
    removed: int
    description: str


# --- checking a policy's work ----------------------------------------------------------------


def check_compacted(
    before: Sequence[Mapping[str, Any]], after: Any
) -> str | None:
    """What is wrong with a compacted conversation, or None when it may be sent.

    It must be a list of user/assistant messages that JSON can carry (no NaN, no lone
    surrogate, nothing but JSON's types), starting with a user message, every ``tool_use``
    answered by a ``tool_result`` in the next message and every result answering a call of
    the message before; it must end with the message ``before`` ends with (the latest user
    message, or the assistant turn in progress), of which only the content of tool results
    may be shortened; and the latest assistant turn must be unchanged (its thinking blocks
    and calls belong to the turn in progress).
    """
    if not isinstance(after, list) or not after:
        return "the compacted conversation is not a non-empty list of messages"
    for index, message in enumerate(after):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            return f"message {index} is not a dict with role 'user' or 'assistant'"
    try:
        json.dumps(after, default=_wire_json, ensure_ascii=False, allow_nan=False).encode()
    except (TypeError, ValueError, RecursionError) as exc:
        # ValueError covers NaN, circular references and (as UnicodeEncodeError) surrogates.
        return f"the compacted conversation cannot be sent as JSON ({type(exc).__name__})"
    if after[0].get("role") != "user":
        return "the compacted conversation does not start with a user message"
    for index, message in enumerate(after):
        calls = _ids(message, "tool_use", "id") if message.get("role") == "assistant" else set()
        answered = (
            _ids(after[index + 1], "tool_result", "tool_use_id")
            if index + 1 < len(after) and after[index + 1].get("role") == "user"
            else set()
        )
        if calls - answered:
            return f"tool_use {sorted(calls - answered)[0]!r} lost its tool_result"
        if message.get("role") == "user":
            results = _ids(message, "tool_result", "tool_use_id")
            previous = _ids(after[index - 1], "tool_use", "id") if index else set()
            if results - previous:
                return f"tool_result {sorted(results - previous)[0]!r} lost its tool_use"
    if before:
        latest = before[-1]
        if after[-1].get("role") != latest.get("role"):
            return (
                f"the compacted conversation must end as before, with a {latest.get('role')} "
                "message"
            )
        if latest.get("role") == "user" and not _same_but_results(
            latest.get("content"), after[-1].get("content")
        ):
            return "the latest user message was changed or dropped"
    last_before = _last_assistant(before)
    if last_before is not None and _last_assistant(after) != last_before:
        return "the latest assistant turn (its thinking and calls) was changed"
    return None


def _wire_json(value: Any) -> Any:
    """What the client's encoder sends for a value plain JSON does not know (else TypeError)."""
    if isinstance(value, BaseModel):
        return to_wire(value)
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"a value of type {type(value).__name__} is not JSON")


def _same_but_results(before: Any, after: Any) -> bool:
    """Whether message content ``after`` is ``before`` with at most the content of its tool
    results replaced."""
    if not isinstance(before, list) or not isinstance(after, list):
        return bool(before == after)
    if len(before) != len(after):
        return False
    for old, new in zip(before, after, strict=True):
        if old == new:
            continue
        if not (
            isinstance(old, dict)
            and isinstance(new, dict)
            and old.get("type") == "tool_result"
            and {**old, "content": None} == {**new, "content": None}
        ):
            return False
    return True


def _ids(message: Mapping[str, Any], kind: str, key: str) -> set[Any]:
    content = message.get("content")
    if not isinstance(content, list):
        return set()
    return {
        block.get(key) for block in content if isinstance(block, dict) and block.get("type") == kind
    }


def _last_assistant(messages: Sequence[Mapping[str, Any]]) -> Any:
    for message in reversed(messages):
        if message.get("role") == "assistant":
            return message.get("content")
    return None
