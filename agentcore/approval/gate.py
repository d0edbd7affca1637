"""The approval gate: which calls must ask a person, and asking without ever failing open.

:func:`approval_steps` is the approval rule (the agent's policy, then the tool's own
``sensitive`` / ``requires_approval``) and says why a call needs approval;
:func:`approval_reason` and :func:`aapproval_reason` run it with the policies' answers.
:func:`decide` and :func:`adecide` ask an approver and turn an exception, a timeout or an
answer that is not a decision into a :class:`~agentcore.approval.Deny`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import queue
import threading
from collections.abc import Awaitable, Callable, Generator, Iterable
from typing import Any, TypeAlias, cast

from agentcore._awaitables import resolve
from agentcore.approval.requests import (
    ApprovalRequest,
    Approver,
    AsyncApprover,
    Decision,
    Deny,
    ToolLike,
)
from agentcore.log import get_logger
from agentcore.redaction import Redactor, secret_values_in

__all__ = [
    "AgentApprovalPolicy",
    "AnyApprover",
    "ApprovalSteps",
    "Consult",
    "aapproval_reason",
    "adecide",
    "approval_reason",
    "approval_steps",
    "decide",
]

_log = get_logger("agentcore.approval")


AnyApprover: TypeAlias = Approver | AsyncApprover
"""An :class:`~agentcore.approval.Approver` or :class:`~agentcore.approval.AsyncApprover`."""


def _checked(result: object) -> Decision:
    if isinstance(result, Decision):
        return result
    return Deny(f"the approver returned {type(result).__name__}, not a decision", automatic=True)


def _failure(request: ApprovalRequest, exc: BaseException) -> Deny:
    _log.warning(
        "approval.approver_failed",
        tool=request.tool_name,
        call_id=request.call_id,
        error=type(exc).__name__,
    )
    return Deny(f"the approver failed ({type(exc).__name__}); denied for safety", automatic=True)


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
        return Deny(f"no decision within {timeout_s:g} s; denied for safety", automatic=True)
    if not succeeded:
        assert isinstance(value, BaseException)
        raise value
    return _checked(value)


async def adecide(
    approver: AnyApprover, request: ApprovalRequest, *, timeout_s: float | None = None
) -> Decision:
    """Async twin of :func:`decide`: sync approvers run in a thread, failures become denials.

    After ``timeout_s`` the run goes on with the denial; an async approver is cancelled and
    not waited for, a sync approver's thread is a daemon that nothing waits for (neither the
    run nor ``asyncio.run``), and a late answer from either is dropped.
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

    if timeout_s is None:
        return await call()
    # Not asyncio.wait_for: it waits for the cancelled approver to finish, and returns what
    # an approver that catches the cancellation answers then, however late.
    asking = asyncio.ensure_future(call())
    try:
        done, _ = await asyncio.wait((asking,), timeout=timeout_s)
    except asyncio.CancelledError:
        asking.cancel()
        raise
    if asking in done:
        return asking.result()
    asking.cancel()
    _abandoned.add(asking)
    asking.add_done_callback(_abandoned.discard)
    return Deny(f"no decision within {timeout_s:g} s; denied for safety", automatic=True)


_abandoned: set[asyncio.Future[Decision]] = set()
"""Approvers given up on at their timeout, referenced until they end so none is collected
while it still runs; their answers are never read."""


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


AgentApprovalPolicy: TypeAlias = Callable[
    [ToolLike, dict[str, Any]], "bool | str | Awaitable[bool | str | None] | None"
]
"""An agent-level policy ``(tool, arguments) -> bool | str | None``: True asks, a non-empty
text asks with that text as the reason shown to the person, False (or an empty text) runs
without asking, None leaves it to the tool's own ``sensitive`` / ``requires_approval``."""

Consult: TypeAlias = Callable[[], object]
"""A call of user code (an approval policy) that :func:`approval_steps` needs the answer of."""

ApprovalSteps: TypeAlias = Generator[Consult, object, str | None]


def approval_steps(
    tool: ToolLike,
    arguments: dict[str, Any],
    *,
    policy: AgentApprovalPolicy | None = None,
    always_allowed: Iterable[str] = (),
) -> ApprovalSteps:
    """The approval rule, and the only place it lives: why calling ``tool`` with
    ``arguments`` needs approval, as the generator's return value (None: it does not).

    Order: a tool always allowed for this run needs nothing; then the agent-level ``policy``
    decides when it answers a bool or a text; then ``sensitive=True`` always asks, and the
    tool's ``requires_approval(arguments)`` asks per call. Either policy's text is the reason
    when it gives one. A policy that raises asks (fail closed).

    The generator does no I/O and calls no user code: it yields each policy call it needs
    the answer of, to be sent back (awaited first when awaitable) or its exception thrown
    in. :func:`approval_reason` and :func:`aapproval_reason` run it; the loop runs it up to
    the first policy call, deciding alone every call no policy has a say in.
    """
    if tool.name in set(always_allowed):
        return None
    try:
        if policy is not None:
            verdict = yield functools.partial(policy, tool, arguments)
            if verdict is not None:
                generic = f"the agent's approval policy asks for {tool.name!r}"
                if isinstance(verdict, str):
                    return _stated_reason(verdict, tool, arguments) or (
                        generic if verdict else None
                    )
                return generic if verdict else None
        if tool.sensitive:
            return f"tool {tool.name!r} is marked sensitive"
        if tool.requires_approval is None:
            return None
        asked = yield functools.partial(tool.requires_approval, arguments)
    except Exception as exc:
        return f"the approval policy for {tool.name!r} failed ({type(exc).__name__}); asking"
    if isinstance(asked, str):
        stated = _stated_reason(asked, tool, arguments)
        if stated:
            return stated
    return f"the approval policy of tool {tool.name!r} asks for these arguments" if asked else None


def _stated_reason(text: str, tool: ToolLike, arguments: dict[str, Any]) -> str | None:
    """A policy's own words as a reason, or None when nothing printable is left.

    They are shown on terminals, listed, logged and stored, and may quote the model's
    arguments: they become one line without control characters, and a secret argument or a
    credential they quote is masked as it is everywhere else.
    """
    printable = "".join(char for char in text if char.isprintable() or char.isspace())
    line = " ".join(printable.split())
    if not line:
        return None
    secrets = secret_values_in(arguments, tool.secret_fields, credentials=True)
    stated: str = Redactor(secret_values=secrets).redact(line)
    return stated


def approval_reason(
    tool: ToolLike,
    arguments: dict[str, Any],
    *,
    policy: AgentApprovalPolicy | None = None,
    always_allowed: Iterable[str] = (),
) -> str | None:
    """Return why calling ``tool`` with ``arguments`` needs approval, or None when it does not
    (the rule is :func:`approval_steps`'). Async policies are run to completion here; async
    drivers use :func:`aapproval_reason`."""
    steps = approval_steps(tool, arguments, policy=policy, always_allowed=always_allowed)
    try:
        consult = next(steps)
        while True:
            try:
                answer = consult()
                if inspect.isawaitable(answer):
                    answer = resolve(answer)
            except Exception as exc:
                consult = steps.throw(exc)
            else:
                consult = steps.send(answer)
    except StopIteration as stop:
        reason: str | None = stop.value
        return reason


async def aapproval_reason(
    tool: ToolLike,
    arguments: dict[str, Any],
    *,
    policy: AgentApprovalPolicy | None = None,
    always_allowed: Iterable[str] = (),
) -> str | None:
    """Async twin of :func:`approval_reason`: awaits async policies on the running loop."""
    steps = approval_steps(tool, arguments, policy=policy, always_allowed=always_allowed)
    try:
        consult = next(steps)
        while True:
            try:
                answer = consult()
                if inspect.isawaitable(answer):
                    answer = await answer
            except Exception as exc:
                consult = steps.throw(exc)
            else:
                consult = steps.send(answer)
    except StopIteration as stop:
        reason: str | None = stop.value
        return reason
