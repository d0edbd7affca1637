"""Tool hooks, and running one validated call through them.

A *before_tool* hook sees a :class:`~agentcore.loop.ToolCall` before it runs and returns
``None`` (run it as is), a ``dict`` (run it with these JSON arguments instead; they are
validated again) or a :class:`Veto` (do not run it; the model gets an error result with the
reason). An *after_tool* hook sees the call and its :class:`~agentcore.tools.ToolOutput` and
returns ``None`` (keep it) or a replacement output, e.g. with secrets redacted. Hooks may be
plain functions or coroutine functions; hooks run in the order given.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias, TypeVar

from agentcore._awaitables import resolve
from agentcore.errors import ConfigurationError, ToolArgumentsError
from agentcore.loop import ToolCall, ToolOutcome
from agentcore.tools._run import enter_call, leave_call
from agentcore.tools._tool import ToolOutput

__all__ = [
    "AfterToolHook",
    "BeforeToolHook",
    "Veto",
    "arun_call",
    "resolve",
    "run_call",
]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Veto:
    """Returned by a before_tool hook: do not run the call, and tell the model why."""

    reason: str


BeforeToolHook: TypeAlias = Callable[
    [ToolCall], "dict[str, Any] | Veto | Awaitable[dict[str, Any] | Veto | None] | None"
]
"""``(call) -> None | dict | Veto``, sync or async."""

AfterToolHook: TypeAlias = Callable[
    [ToolCall, ToolOutput], "ToolOutput | Awaitable[ToolOutput | None] | None"
]
"""``(call, output) -> ToolOutput | None``, sync or async."""


def _vetoed(call: ToolCall, reason: str) -> ToolOutcome:
    message = f"The call to {call.name!r} was blocked before it ran: {reason}"
    return ToolOutcome(call.id, ToolOutput(message, is_error=True), executed=False)


def _rewritten(call: ToolCall, verdict: object, hook: object) -> ToolCall | ToolOutcome:
    if isinstance(verdict, Veto):
        return _vetoed(call, verdict.reason)
    if not isinstance(verdict, dict):
        raise ConfigurationError(
            f"before_tool hook {hook!r} returned {type(verdict).__name__}; expected None, "
            "a dict of arguments or Veto(reason)"
        )
    try:
        kwargs = call.tool.validate(verdict)
    except ToolArgumentsError as exc:
        reason = f"a before_tool hook rewrote its arguments into invalid ones: {exc.model_message}"
        return _vetoed(call, reason)
    return dataclasses.replace(call, arguments=verdict, kwargs=kwargs)


def _checked_output(output: object, hook: object) -> ToolOutput:
    if not isinstance(output, ToolOutput):
        raise ConfigurationError(
            f"after_tool hook {hook!r} returned {type(output).__name__}; expected None or a "
            "ToolOutput"
        )
    return output


def run_call(
    call: ToolCall, before: Sequence[BeforeToolHook], after: Sequence[AfterToolHook]
) -> ToolOutcome:
    """Run one call through the hooks and the tool, blocking (async parts run to completion)."""
    for hook in before:
        verdict = resolve(hook(call))
        if verdict is not None:
            changed = _rewritten(call, verdict, hook)
            if isinstance(changed, ToolOutcome):
                return changed
            call = changed
    token = enter_call(call.id, call.name)
    try:
        output = call.tool.run(call.kwargs)
    finally:
        leave_call(token)
    for after_hook in after:
        replacement = resolve(after_hook(call, output))
        if replacement is not None:
            output = _checked_output(replacement, after_hook)
    return ToolOutcome(call.id, output)


async def arun_call(
    call: ToolCall, before: Sequence[BeforeToolHook], after: Sequence[AfterToolHook]
) -> ToolOutcome:
    """Async twin of :func:`run_call`: sync tools and hooks run as they are, tools in threads."""
    for hook in before:
        verdict = hook(call)
        if inspect.isawaitable(verdict):
            verdict = await verdict
        if verdict is not None:
            changed = _rewritten(call, verdict, hook)
            if isinstance(changed, ToolOutcome):
                return changed
            call = changed
    token = enter_call(call.id, call.name)
    try:
        output = await call.tool.arun(call.kwargs)
    finally:
        leave_call(token)
    for after_hook in after:
        replacement = after_hook(call, output)
        if inspect.isawaitable(replacement):
            replacement = await replacement
        if replacement is not None:
            output = _checked_output(replacement, after_hook)
    return ToolOutcome(call.id, output)
