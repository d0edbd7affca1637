"""Running a tool's function: its result, or what it raised, as a :class:`ToolOutput`."""

from __future__ import annotations

import asyncio
import inspect
import logging
import traceback
from collections.abc import Awaitable, Callable, Iterable
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any

import pydantic_core

from agentcore.errors import ConfigurationError, ModelRetry, ToolError
from agentcore.log import get_logger
from agentcore.redaction import secret_values_in
from agentcore.tools._content import to_content

__all__ = [
    "ToolCallInfo",
    "ToolOutput",
    "current_tool_call",
    "enter_call",
    "leave_call",
    "run_async",
    "run_blocking",
]

# Tool failures are a tool's events, whichever module runs it.
_log = get_logger("agentcore.tools")
# Results that cannot be awaitable; checking them against the Awaitable ABC costs more than
# the rest of a small tool call.
_PLAIN_RESULTS = frozenset({str, int, float, bool, dict, list, type(None)})


@dataclass(frozen=True, slots=True)
class ToolCallInfo:
    """The tool call a tool function is running for (see :func:`current_tool_call`)."""

    id: str
    """The ``tool_use`` block's id: the same on every resume of the same run."""
    name: str
    """The tool's name."""

    @property
    def idempotency_key(self) -> str:
        """A key to pass to the system the tool acts on, so a repeated call changes nothing.

        It is the call id: stable for one call of one run, however often that call is
        attempted (a resumed copy of a plain serialized state runs it again with the same key).
        """
        return self.id


_current_call: ContextVar[ToolCallInfo | None] = ContextVar("agentcore_tool_call", default=None)


def current_tool_call() -> ToolCallInfo | None:
    """The call being run, when called from inside a tool function; ``None`` elsewhere.

    A tool that moves money or sends mail passes ``current_tool_call().idempotency_key`` to
    the payment or mail API, so running the same call twice has the effect of running it once.
    """
    return _current_call.get()


def enter_call(call_id: str, name: str) -> Token[ToolCallInfo | None]:
    """Make ``current_tool_call()`` answer ``(call_id, name)`` until :func:`leave_call`."""
    return _current_call.set(ToolCallInfo(call_id, name))


def leave_call(token: Token[ToolCallInfo | None]) -> None:
    """Undo the :func:`enter_call` that gave ``token``."""
    _current_call.reset(token)


@dataclass(frozen=True, slots=True)
class ToolOutput:
    """What one tool call produced, ready to become a ``tool_result`` block."""

    content: str | list[dict[str, Any]]
    """Text, or a list of content blocks (text, image, ...) the tool returned as such."""
    is_error: bool = False
    """The tool failed; the model sees ``content`` as the error."""
    error: BaseException | None = None
    """The exception the tool raised, kept for logs; never sent to the model."""


def run_blocking(
    name: str,
    target: Callable[..., Any],
    kwargs: dict[str, Any],
    *,
    is_async: bool,
    secret_fields: Iterable[str],
) -> ToolOutput:
    """Call ``target`` (an async one to completion on a fresh event loop) and wrap the outcome.

    Raises:
        ConfigurationError: ``target`` is async and an event loop is running in this thread.
    """
    if is_async:
        _require_no_running_loop(name)
    try:
        if is_async:
            result = asyncio.run(_awaited(target(**kwargs)))
        else:
            result = target(**kwargs)
            if type(result) not in _PLAIN_RESULTS and inspect.isawaitable(result):
                result = asyncio.run(_awaited(result))
    except Exception as exc:
        return _failure_output(name, exc, kwargs, secret_fields)
    return _output(name, result)


async def run_async(
    name: str,
    target: Callable[..., Any],
    kwargs: dict[str, Any],
    *,
    is_async: bool,
    secret_fields: Iterable[str],
) -> ToolOutput:
    """Await ``target`` (a sync one in a worker thread) and wrap the outcome."""
    try:
        if is_async:
            result = await target(**kwargs)
        else:
            result = await asyncio.to_thread(target, **kwargs)
            if type(result) not in _PLAIN_RESULTS and inspect.isawaitable(result):
                result = await result
    except Exception as exc:
        return _failure_output(name, exc, kwargs, secret_fields)
    return _output(name, result)


def _require_no_running_loop(name: str) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise ConfigurationError(
        f"tool {name!r} is async and Tool.run() was called inside a running event "
        "loop; await tool.arun(...) (or use the agent's async API) instead"
    )


def _failure_output(
    name: str, exc: Exception, kwargs: dict[str, Any], secret_fields: Iterable[str]
) -> ToolOutput:
    if isinstance(exc, ToolError):
        # Raised on purpose: the message is for the model, and nothing went wrong to log.
        message = str(exc) or type(exc).__name__
        if isinstance(exc, ModelRetry):
            message = f"{message}\nCorrect this and call {name} again."
        return ToolOutput(content=message, is_error=True, error=exc)
    message = str(exc)
    # The traceback and the redacting logger cost more than the rest of a failed call: build
    # them only when the event will be emitted.
    if _log.is_enabled_for(logging.ERROR):
        log = _log
        # The message or the traceback may quote a secret or credential-named argument.
        secret_values = secret_values_in(kwargs, secret_fields, credentials=True)
        if secret_values:
            log = _log.with_secret_values(secret_values)
        log.error(
            "tool.error",
            tool=name,
            error_type=type(exc).__name__,
            error=message,
            traceback="".join(traceback.format_exception(exc)),
        )
    content = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return ToolOutput(content=content, is_error=True, error=exc)


def _output(name: str, result: Any) -> ToolOutput:
    try:
        return ToolOutput(content=to_content(result))
    except pydantic_core.PydanticSerializationError as exc:
        _log.error("tool.error", tool=name, error_type=type(exc).__name__, error=str(exc))
        return ToolOutput(
            content=f"the tool returned a {type(result).__name__} that cannot be written as JSON",
            is_error=True,
            error=exc,
        )


async def _awaited(awaitable: Awaitable[Any]) -> Any:
    return await awaitable
