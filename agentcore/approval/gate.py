"""The approval gate: which calls must ask a person, and asking without ever failing open.

:func:`approval_reason` applies the policy (the agent's, then the tool's own ``sensitive`` /
``requires_approval``) and says why a call needs approval. :func:`decide` and :func:`adecide`
ask an approver and turn an exception, a timeout or an answer that is not a decision into a
:class:`~agentcore.approval.Deny`.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import queue
import threading
from collections.abc import Awaitable, Callable, Generator, Iterable
from typing import Any, Protocol, TypeAlias, cast

from agentcore._awaitables import resolve
from agentcore.approval.requests import (
    ApprovalRequest,
    Decision,
    Deny,
    ToolLike,
)
from agentcore.log import get_logger
from agentcore.redaction import Redactor, secret_values_in

__all__ = ["ApprovalPolicy", "aapproval_reason", "adecide", "approval_reason", "decide"]

_log = get_logger("agentcore.approval")


class _DecidesSomehow(Protocol):
    def decide(self, request: ApprovalRequest) -> Any: ...


AnyApprover: TypeAlias = _DecidesSomehow
"""An :class:`~agentcore.approval.Approver` or :class:`~agentcore.approval.AsyncApprover`."""


def _checked(result: object) -> Decision:
    if isinstance(result, Decision):
        return result
    return Deny(f"the approver returned {type(result).__name__}, not a decision")


def _failure(request: ApprovalRequest, exc: BaseException) -> Deny:
    _log.warning(
        "approval.approver_failed",
        tool=request.tool_name,
        call_id=request.call_id,
        error=type(exc).__name__,
    )
    return Deny(f"the approver failed ({type(exc).__name__}); denied for safety")


def decide(
    approver: AnyApprover, request: ApprovalRequest, *, timeout_s: float | None = None
) -> Decision:
    """Ask ``approver`` about ``request`` and never let a failure become an approval.

    An exception from the approver, no answer within ``timeout_s`` seconds, or an answer
    that is not a :class:`Decision` yields a :class:`Deny` saying why. An async approver is
    run to completion on a private event loop (in a worker thread when a loop is already
    running in this thread).
    """
    try:
        if timeout_s is None:
            return _checked(_ask(approver, request))
        return _decide_with_timeout(approver, request, timeout_s)
    except Exception as exc:
        return _failure(request, exc)
    except KeyboardInterrupt:
        return Deny("interrupted before a decision was made")


def _ask(approver: AnyApprover, request: ApprovalRequest) -> object:
    # The approver's answer as it is: an async approver is run to completion here.
    result: object = approver.decide(request)
    if inspect.isawaitable(result):
        result = resolve(result)
    return result


def _decide_with_timeout(
    approver: AnyApprover, request: ApprovalRequest, timeout_s: float
) -> Decision:
    # The approver may block forever (a person who walked away); a daemon thread is left to
    # finish on its own rather than joined, so neither the run nor interpreter exit waits.
    outcome: queue.SimpleQueue[tuple[bool, object]] = queue.SimpleQueue()

    def worker() -> None:
        try:
            outcome.put((True, _ask(approver, request)))
        except BaseException as exc:
            outcome.put((False, exc))

    threading.Thread(target=worker, name="agentcore-approver", daemon=True).start()
    try:
        succeeded, value = outcome.get(timeout=timeout_s)
    except queue.Empty:
        return Deny(f"no decision within {timeout_s:g} s; denied for safety")
    if not succeeded:
        assert isinstance(value, BaseException)
        raise value
    return _checked(value)


async def adecide(
    approver: AnyApprover, request: ApprovalRequest, *, timeout_s: float | None = None
) -> Decision:
    """Async twin of :func:`decide`: sync approvers run in a thread, failures become denials.

    After ``timeout_s`` the run goes on with the denial; a sync approver's thread is a daemon
    that nothing waits for (neither the run nor ``asyncio.run``), and its late answer is
    dropped.
    """

    async def call() -> Decision:
        # The approver's own exceptions (a TimeoutError from its network call among them) are
        # caught here, so the TimeoutError below can only be the wait running out.
        try:
            if inspect.iscoroutinefunction(approver.decide):
                return _checked(await approver.decide(request))
            result: object = await _in_daemon_thread(approver, request)
            if inspect.isawaitable(result):
                result = await result
            return _checked(result)
        except Exception as exc:
            return _failure(request, exc)

    try:
        return await asyncio.wait_for(call(), timeout_s)
    except TimeoutError:
        return Deny(f"no decision within {timeout_s:g} s; denied for safety")


async def _in_daemon_thread(approver: AnyApprover, request: ApprovalRequest) -> object:
    # Not asyncio.to_thread: the default executor is joined when the event loop closes, so an
    # approver still blocked after its timeout would hold asyncio.run() open. An answer that
    # arrives after the wait was given up on finds the future cancelled and is dropped.
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[object] = loop.create_future()

    def deliver(succeeded: bool, value: object) -> None:
        if answer.done():
            return
        if succeeded:
            answer.set_result(value)
        else:
            answer.set_exception(cast(BaseException, value))

    def worker() -> None:
        try:
            outcome: tuple[bool, object] = (True, approver.decide(request))
        except BaseException as exc:
            outcome = (False, exc)
        # A closed event loop raises RuntimeError: nobody waits for this answer any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(deliver, *outcome)

    threading.Thread(target=worker, name="agentcore-approver", daemon=True).start()
    return await answer


ApprovalPolicy: TypeAlias = Callable[
    [ToolLike, dict[str, Any]], "bool | Awaitable[bool | None] | None"
]
"""An agent-level policy ``(tool, arguments) -> bool | None``: True asks, False runs without
asking, None leaves it to the tool's own ``sensitive`` / ``requires_approval`` settings."""

_ReasonSteps: TypeAlias = Generator[Awaitable[object], object, str | None]


def _reason_steps(
    tool: ToolLike,
    arguments: dict[str, Any],
    policy: ApprovalPolicy | None,
    always_allowed: Iterable[str],
) -> _ReasonSteps:
    # Written once as a generator that yields whatever must be awaited, so the sync and the
    # async entry points share every rule and differ only in how they wait.
    if tool.name in set(always_allowed):
        return None
    try:
        if policy is not None:
            verdict: object = policy(tool, arguments)
            if inspect.isawaitable(verdict):
                verdict = yield verdict
            if verdict is not None:
                return f"the agent's approval policy asks for {tool.name!r}" if verdict else None
        if tool.sensitive:
            return f"tool {tool.name!r} is marked sensitive"
        if tool.requires_approval is None:
            return None
        asked: object = tool.requires_approval(arguments)
        if inspect.isawaitable(asked):
            asked = yield asked
    except Exception as exc:
        return f"the approval policy for {tool.name!r} failed ({type(exc).__name__}); asking"
    stated = _stated_reason(tool, arguments, asked) if isinstance(asked, str) else ""
    if stated:
        return stated
    return f"the approval policy of tool {tool.name!r} asks for these arguments" if asked else None


def _stated_reason(tool: ToolLike, arguments: dict[str, Any], reason: str) -> str:
    # The policy's own words are shown on terminals, listed, logged and stored, and may quote
    # the model's arguments: they become one line without control characters, and a secret
    # argument or a credential they quote is masked as it is everywhere else.
    printable = "".join(char for char in reason if char.isprintable() or char.isspace())
    line = " ".join(printable.split())
    if not line:
        return ""
    secrets = secret_values_in(arguments, tool.secret_fields) if tool.secret_fields else ()
    masked: str = Redactor(secret_values=secrets).redact(line)
    return masked


def approval_reason(
    tool: ToolLike,
    arguments: dict[str, Any],
    *,
    policy: ApprovalPolicy | None = None,
    always_allowed: Iterable[str] = (),
) -> str | None:
    """Return why calling ``tool`` with ``arguments`` needs approval, or None when it does not.

    Order: a tool always-allowed for this run needs nothing; then the agent-level ``policy``
    decides when it returns a bool; then ``sensitive=True`` always asks and
    ``requires_approval(arguments)`` asks per call, its text being the reason when it returns
    one (secret arguments masked). A policy that raises asks (fail closed).
    Async policies are run to completion here; async drivers use :func:`aapproval_reason`.
    """
    steps = _reason_steps(tool, arguments, policy, always_allowed)
    try:
        pending = next(steps)
        while True:
            try:
                outcome = resolve(cast(object, pending))
            except Exception as exc:
                pending = steps.throw(exc)
            else:
                pending = steps.send(outcome)
    except StopIteration as stop:
        reason: str | None = stop.value
        return reason


async def aapproval_reason(
    tool: ToolLike,
    arguments: dict[str, Any],
    *,
    policy: ApprovalPolicy | None = None,
    always_allowed: Iterable[str] = (),
) -> str | None:
    """Async twin of :func:`approval_reason`: awaits async policies on the running loop."""
    steps = _reason_steps(tool, arguments, policy, always_allowed)
    try:
        pending = next(steps)
        while True:
            try:
                outcome = await pending
            except Exception as exc:
                pending = steps.throw(exc)
            else:
                pending = steps.send(outcome)
    except StopIteration as stop:
        reason: str | None = stop.value
        return reason
