"""The two drivers of a run: the only place it does I/O.

Both drive the same :func:`~agentcore._run_flow.run_flow`, which holds everything a run does
between the :class:`~agentcore.loop.AgentLoop`'s decisions (events, logging, redaction,
pausing); a driver only performs the effects the flow asks for — model calls (plain or
streamed), tools through their hooks, approval policies, approvers — and yields the events.
:func:`drive` blocks and runs a turn's calls in order; :func:`adrive` uses asyncio and runs
them concurrently, up to ``tool_concurrency`` at a time (sync tools in threads).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from time import perf_counter
from typing import Any

from agentcore._run_flow import CheckPolicies, CreateMessage, Emit, RunCalls, run_flow
from agentcore.approval.gate import (
    ApprovalPolicy,
    aapproval_reason,
    adecide,
    approval_reason,
    decide,
)
from agentcore.approval.requests import Decision
from agentcore.client._client import AsyncClient, Client
from agentcore.errors import APIError, StreamError
from agentcore.events import RunEvent, TextDelta, ThinkingDelta
from agentcore.hooks import AfterToolHook, BeforeToolHook, arun_call, run_call
from agentcore.loop import AgentLoop, ToolCall, ToolOutcome
from agentcore.streaming.events import TextDeltaEvent, ThinkingDeltaEvent
from agentcore.types import Message

__all__ = ["DriverSettings", "adrive", "drive"]


@dataclass(frozen=True, slots=True)
class DriverSettings:
    """What both drivers need besides the loop: the user code they call."""

    before_tool: tuple[BeforeToolHook, ...]
    after_tool: tuple[AfterToolHook, ...]
    approval_policy: ApprovalPolicy | None
    approver: object | None
    approval_timeout_s: float | None
    tool_concurrency: int = 8


def drive(
    loop: AgentLoop,
    settings: DriverSettings,
    client: Callable[[], Client],
    decisions: Mapping[str, Decision] | None = None,
    *,
    streaming: bool,
) -> Iterator[RunEvent]:
    """Run ``loop`` to its end with blocking I/O, yielding events; tools run in order."""
    approver = settings.approver
    flow = run_flow(loop, decisions, approver=approver, calls_at_once=False)
    answer: Any = None
    while True:
        try:
            effect = flow.send(answer)
        except StopIteration:
            return
        answer = None
        if isinstance(effect, Emit):
            yield effect.event
        elif isinstance(effect, CreateMessage):
            messages, params, context = client().messages, effect.params, effect.log_context
            reply: Message | APIError | StreamError
            began = perf_counter()
            try:
                if streaming:
                    with messages.stream(**params, log_context=context) as stream:
                        for event in stream:
                            delta = _delta_event(event)
                            if delta is not None:
                                yield delta
                        reply = stream.get_final_message()
                else:
                    reply = messages.create(**params, log_context=context)
            except (APIError, StreamError) as exc:
                reply = exc
            except Exception as exc:
                reply = _unexpected(exc)
            answer = reply, perf_counter() - began
        elif isinstance(effect, RunCalls):
            answer = [_timed_run(call, settings) for call in effect.calls]
        elif isinstance(effect, CheckPolicies):
            answer = {
                call.id: approval_reason(
                    call.tool,
                    call.arguments,
                    policy=settings.approval_policy,
                    always_allowed=effect.always_allowed,
                )
                for call in effect.calls
            }
        else:
            answer = decide(
                approver,  # type: ignore[arg-type]
                effect.request,
                timeout_s=settings.approval_timeout_s,
            )


async def adrive(
    loop: AgentLoop,
    settings: DriverSettings,
    client: Callable[[], AsyncClient],
    decisions: Mapping[str, Decision] | None = None,
    *,
    streaming: bool,
) -> AsyncIterator[RunEvent]:
    """Run ``loop`` to its end with asyncio, yielding events; a turn's calls run concurrently."""
    approver = settings.approver
    flow = run_flow(loop, decisions, approver=approver, calls_at_once=True)
    limit = asyncio.Semaphore(settings.tool_concurrency)

    async def run_one(call: ToolCall) -> tuple[ToolOutcome, float]:
        async with limit:
            began = perf_counter()
            outcome = await arun_call(call, settings.before_tool, settings.after_tool)
            return outcome, perf_counter() - began

    answer: Any = None
    while True:
        try:
            effect = flow.send(answer)
        except StopIteration:
            return
        answer = None
        if isinstance(effect, Emit):
            yield effect.event
        elif isinstance(effect, CreateMessage):
            messages, params, context = client().messages, effect.params, effect.log_context
            reply: Message | APIError | StreamError
            began = perf_counter()
            try:
                if streaming:
                    async with messages.stream(**params, log_context=context) as stream:
                        async for event in stream:
                            delta = _delta_event(event)
                            if delta is not None:
                                yield delta
                        reply = await stream.get_final_message()
                else:
                    reply = await messages.create(**params, log_context=context)
            except (APIError, StreamError) as exc:
                reply = exc
            except Exception as exc:
                reply = _unexpected(exc)
            answer = reply, perf_counter() - began
        elif isinstance(effect, RunCalls):
            answer = await asyncio.gather(*(run_one(call) for call in effect.calls))
        elif isinstance(effect, CheckPolicies):
            answer = {}
            for call in effect.calls:
                answer[call.id] = await aapproval_reason(
                    call.tool,
                    call.arguments,
                    policy=settings.approval_policy,
                    always_allowed=effect.always_allowed,
                )
        else:
            answer = await adecide(
                approver,  # type: ignore[arg-type]
                effect.request,
                timeout_s=settings.approval_timeout_s,
            )


def _unexpected(exc: Exception) -> APIError:
    """The typed error a run fails with when its model call raised something no client maps
    (a custom transport's own exception, say); the original stays as ``__cause__``."""
    error = APIError(f"the model call failed unexpectedly: {type(exc).__name__}: {exc}"[:1000])
    error.__cause__ = exc
    return error


def _timed_run(call: ToolCall, settings: DriverSettings) -> tuple[ToolOutcome, float]:
    began = perf_counter()
    outcome = run_call(call, settings.before_tool, settings.after_tool)
    return outcome, perf_counter() - began


def _delta_event(event: object) -> TextDelta | ThinkingDelta | None:
    kind = type(event)
    if kind is TextDeltaEvent:
        return TextDelta(event.text)  # type: ignore[attr-defined]
    if kind is ThinkingDeltaEvent:
        return ThinkingDelta(event.thinking)  # type: ignore[attr-defined]
    return None
