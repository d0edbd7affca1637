"""The two drivers of the agent loop: the only place a run does I/O.

:func:`drive` (blocking) and :func:`adrive` (asyncio) perform the actions
:class:`~agentcore.loop.AgentLoop` returns — model calls (plain or streamed), tools through
their hooks, approval policies, approvers — feed the outcomes back, log what happened and
yield :mod:`agentcore.events`. The blocking driver runs a turn's calls in order; the asyncio
driver runs them concurrently, up to ``tool_concurrency`` at a time (sync tools in threads).
Neither decides anything: every decision is the loop's, so both behave the same.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, replace
from time import perf_counter
from typing import Any

from agentcore.approval import Decision
from agentcore.client import AsyncClient, Client, LogContext
from agentcore.errors import APIError, StreamError
from agentcore.events import (
    ApprovalDecided,
    ApprovalRequested,
    ModelTurnCompleted,
    RunEvent,
    RunFinished,
    TextDelta,
    ThinkingDelta,
    ToolCallStarted,
    ToolResultEvent,
)
from agentcore.gate import ApprovalPolicy, aapproval_reason, adecide, approval_reason, decide
from agentcore.hooks import AfterToolHook, BeforeToolHook, arun_call, run_call
from agentcore.log import get_logger
from agentcore.loop import (
    AgentLoop,
    AskApproval,
    CallModel,
    CheckApproval,
    Finish,
    RunTools,
    ToolCall,
    ToolOutcome,
)
from agentcore.redaction import redact_content, secret_values_in
from agentcore.state import RunResult
from agentcore.stream_events import TextDeltaEvent, ThinkingDeltaEvent
from agentcore.types import Message

__all__ = ["DriverSettings", "adrive", "drive"]

_log = get_logger("agentcore.agent")
_INFO = logging.INFO


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
    state = loop.state
    logging_on = _log.is_enabled_for(_INFO)
    if logging_on:
        _log_start(loop)
    started = perf_counter()
    action = loop.next_action(decisions)
    while True:
        kind = type(action)
        if kind is CallModel:
            assert isinstance(action, CallModel)
            if logging_on and action.route_reason is not None:
                _log.info("model.route", model=action.model, reason=action.route_reason)
            http = client()
            context = _log_context(loop)
            began = perf_counter()
            try:
                if streaming:
                    message = yield from _stream_model(http, action.params, context)
                else:
                    message = http.messages.create(**action.params, log_context=context)
            except (APIError, StreamError) as exc:
                action = loop.model_failed(exc)
                continue
            action = loop.model_responded(message, latency_s=perf_counter() - began)
            yield ModelTurnCompleted(state.turns[-1])
        elif kind is RunTools:
            assert isinstance(action, RunTools)
            outcomes = []
            for call in action.calls:
                yield ToolCallStarted(call.id, call.name, call.arguments)
                began = perf_counter()
                outcome = _recorded(call, run_call(call, settings.before_tool, settings.after_tool))
                elapsed = perf_counter() - began
                outcomes.append(outcome)
                if logging_on:
                    _log_tool_call(call, outcome, elapsed)
                yield _result_event(call, outcome, elapsed)
            action = loop.tools_ran(outcomes)
        elif kind is CheckApproval:
            assert isinstance(action, CheckApproval)
            reasons = {
                call.id: approval_reason(
                    call.tool,
                    call.arguments,
                    policy=settings.approval_policy,
                    always_allowed=state.always_allowed,
                )
                for call in action.calls
            }
            action = loop.approval_checked(reasons)
        elif kind is AskApproval:
            assert isinstance(action, AskApproval)
            for request in action.requests:
                if logging_on:
                    _log.info(
                        "approval.requested",
                        tool=request.tool_name,
                        call_id=request.call_id,
                        reason=request.reason,
                    )
                yield ApprovalRequested(request)
            approver = settings.approver
            if approver is None:
                action = loop.pause()
                continue
            answers: dict[str, Decision] = {}
            for request in action.requests:
                decision = decide(
                    approver,  # type: ignore[arg-type]
                    request,
                    timeout_s=settings.approval_timeout_s,
                )
                answers[request.call_id] = decision
                if logging_on:
                    _log_decision(request.tool_name, request.call_id, decision, approver)
                yield ApprovalDecided(request.call_id, request.tool_name, decision)
            action = loop.approvals_decided(answers)
        else:
            assert isinstance(action, Finish)
            result = action.result
            state.duration_s += perf_counter() - started
            result.duration_s = state.duration_s
            if logging_on:
                _log_finish(result)
            yield RunFinished(result)
            return

async def adrive(
    loop: AgentLoop,
    settings: DriverSettings,
    client: Callable[[], AsyncClient],
    decisions: Mapping[str, Decision] | None = None,
    *,
    streaming: bool,
) -> AsyncIterator[RunEvent]:
    """Run ``loop`` to its end with asyncio, yielding events; a turn's calls run concurrently."""
    state = loop.state
    logging_on = _log.is_enabled_for(_INFO)
    if logging_on:
        _log_start(loop)
    started = perf_counter()
    limit = asyncio.Semaphore(settings.tool_concurrency)
    action = loop.next_action(decisions)
    while True:
        kind = type(action)
        if kind is CallModel:
            assert isinstance(action, CallModel)
            if logging_on and action.route_reason is not None:
                _log.info("model.route", model=action.model, reason=action.route_reason)
            http = client()
            context = _log_context(loop)
            began = perf_counter()
            try:
                if streaming:
                    stream_call = http.messages.stream(**action.params, log_context=context)
                    async with stream_call as stream:
                        async for event in stream:
                            delta = _delta_event(event)
                            if delta is not None:
                                yield delta
                        message = await stream.get_final_message()
                else:
                    message = await http.messages.create(**action.params, log_context=context)
            except (APIError, StreamError) as exc:
                action = loop.model_failed(exc)
                continue
            action = loop.model_responded(message, latency_s=perf_counter() - began)
            yield ModelTurnCompleted(state.turns[-1])
        elif kind is RunTools:
            assert isinstance(action, RunTools)
            calls = action.calls
            for call in calls:
                yield ToolCallStarted(call.id, call.name, call.arguments)

            async def run_one(call: ToolCall) -> tuple[ToolOutcome, float]:
                async with limit:
                    began = perf_counter()
                    outcome = await arun_call(call, settings.before_tool, settings.after_tool)
                    return _recorded(call, outcome), perf_counter() - began

            finished = await asyncio.gather(*(run_one(call) for call in calls))
            for call, (outcome, elapsed) in zip(calls, finished, strict=True):
                if logging_on:
                    _log_tool_call(call, outcome, elapsed)
                yield _result_event(call, outcome, elapsed)
            action = loop.tools_ran([outcome for outcome, _ in finished])
        elif kind is CheckApproval:
            assert isinstance(action, CheckApproval)
            reasons = {}
            for call in action.calls:
                reasons[call.id] = await aapproval_reason(
                    call.tool,
                    call.arguments,
                    policy=settings.approval_policy,
                    always_allowed=state.always_allowed,
                )
            action = loop.approval_checked(reasons)
        elif kind is AskApproval:
            assert isinstance(action, AskApproval)
            for request in action.requests:
                if logging_on:
                    _log.info(
                        "approval.requested",
                        tool=request.tool_name,
                        call_id=request.call_id,
                        reason=request.reason,
                    )
                yield ApprovalRequested(request)
            approver = settings.approver
            if approver is None:
                action = loop.pause()
                continue
            answers: dict[str, Decision] = {}
            for request in action.requests:
                decision = await adecide(
                    approver,  # type: ignore[arg-type]
                    request,
                    timeout_s=settings.approval_timeout_s,
                )
                answers[request.call_id] = decision
                if logging_on:
                    _log_decision(request.tool_name, request.call_id, decision, approver)
                yield ApprovalDecided(request.call_id, request.tool_name, decision)
            action = loop.approvals_decided(answers)
        else:
            assert isinstance(action, Finish)
            result = action.result
            state.duration_s += perf_counter() - started
            result.duration_s = state.duration_s
            if logging_on:
                _log_finish(result)
            yield RunFinished(result)
            return


# --- helpers ---------------------------------------------------------------------------------


def _stream_model(
    client: Client, params: dict[str, Any], context: LogContext
) -> Generator[RunEvent, None, Message]:
    # A generator returning the final message, so the driver can ``yield from`` it.
    with client.messages.stream(**params, log_context=context) as stream:
        for event in stream:
            delta = _delta_event(event)
            if delta is not None:
                yield delta
        return stream.get_final_message()


def _delta_event(event: object) -> TextDelta | ThinkingDelta | None:
    kind = type(event)
    if kind is TextDeltaEvent:
        return TextDelta(event.text)  # type: ignore[attr-defined]
    if kind is ThinkingDeltaEvent:
        return ThinkingDelta(event.thinking)  # type: ignore[attr-defined]
    return None


def _recorded(call: ToolCall, outcome: ToolOutcome) -> ToolOutcome:
    """The outcome as the run records it: a tool's output is the model's next input, the
    stored state and the events, so credentials and the call's secret arguments are
    replaced before anything else sees it (the exception itself stays, for logs)."""
    output = outcome.output
    secret_fields = call.tool.secret_fields
    content = redact_content(
        output.content,
        secret_fields=secret_fields,
        secret_values=secret_values_in(call.arguments, secret_fields),
    )
    if content == output.content:
        return outcome
    return replace(outcome, output=replace(output, content=content))


def _result_event(call: ToolCall, outcome: ToolOutcome, elapsed: float) -> ToolResultEvent:
    output = outcome.output
    return ToolResultEvent(
        call.id, call.name, output.content, output.is_error, outcome.executed, elapsed
    )


def _log_start(loop: AgentLoop) -> None:
    state = loop.state
    _log.info(
        "run.start",
        run_id=state.run_id,
        model=state.model,
        tools=sorted(loop.config.tools),
        resumed=bool(state.turns),
        prompt_name=state.prompt_name,
        prompt_version=state.prompt_version,
    )


def _log_context(loop: AgentLoop) -> LogContext:
    # The client logs the one model.call event of each response; the run adds who asked.
    state = loop.state
    return LogContext(
        run_id=state.run_id,
        turn=len(state.turns) + 1,
        prompt_name=state.prompt_name,
        prompt_version=state.prompt_version,
        prices=loop.config.prices,
    )


def _log_tool_call(call: ToolCall, outcome: ToolOutcome, elapsed: float) -> None:
    output = outcome.output
    _log.info(
        "tool.call",
        tool=call.name,
        call_id=call.id,
        duration_ms=round(elapsed * 1000, 3),
        is_error=output.is_error,
        executed=outcome.executed,
        error=type(output.error).__name__ if output.error is not None else None,
    )


def _log_decision(tool_name: str, call_id: str, decision: Decision, approver: object) -> None:
    _log.info(
        "approval.decision",
        tool=tool_name,
        call_id=call_id,
        decision=decision.kind,
        decided_by=type(approver).__name__,
        reason=getattr(decision, "reason", None),
    )


def _log_finish(result: RunResult) -> None:
    _log.info(
        "run.finish",
        run_id=result.state.run_id,
        status=result.status,
        stop_reason=result.stop_reason,
        turns=len(result.turns),
        cost_usd=None if result.cost_usd is None else str(result.cost_usd),
        duration_ms=round(result.duration_s * 1000, 1),
        limit=result.limit,
        error=result.error,
    )
