"""A run as a sans-IO flow: everything a run does between the loop's actions, written once.

:func:`run_flow` steps an :class:`~agentcore.loop.AgentLoop` to its end. It yields the loop's
own actions for a driver to perform — :class:`~agentcore.actions.CallModel`,
:class:`~agentcore.actions.RunTools`, :class:`~agentcore.actions.CheckApproval`,
:class:`~agentcore.actions.AskApproval` — and the :mod:`agentcore.events` a driver hands to
its caller, and is sent back what happened. The logging, the events and the duration
bookkeeping live here (every decision, down to pausing a run and masking a tool's output,
is the loop's); :mod:`agentcore.drivers` performs the actions with blocking I/O or with
asyncio, in the manner of the client's flows (``agentcore.client._flow``).
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Mapping
from time import perf_counter
from typing import Any, TypeAlias

from agentcore.approval.gate import AnyApprover
from agentcore.approval.requests import ApprovalRequest, Decision
from agentcore.errors import APIError, StreamError
from agentcore.events import (
    ApprovalDecided,
    ApprovalRequested,
    ContextCompacted,
    ModelTurnCompleted,
    RunEvent,
    RunFinished,
    ToolCallStarted,
    ToolResultEvent,
)
from agentcore.log import get_logger
from agentcore.loop import (
    AgentLoop,
    AskApproval,
    CallModel,
    CheckApproval,
    CompactContext,
    CountTokens,
    Finish,
    RunTools,
    ToolCall,
    ToolOutcome,
)
from agentcore.state import RunResult

__all__ = ["RunFlow", "Step", "run_flow"]

_log = get_logger("agentcore.agent")
_INFO = logging.INFO

Step: TypeAlias = (
    CallModel | RunTools | CheckApproval | AskApproval | CompactContext | CountTokens | RunEvent
)
"""What the flow yields: an action for the driver to perform, or an event to hand on.

A driver answers :class:`CallModel` with the :class:`~agentcore.types.Message`, or the
``APIError`` / ``StreamError`` the call raised; :class:`RunTools` with one
``(ToolOutcome, seconds)`` pair per call, in the order of the calls; :class:`CheckApproval`
with the reason approval is needed (None: it is not) by call id; :class:`AskApproval` with
the approver's (fail-closed) decision for each request, in order; :class:`CompactContext`
with the policy's result (or the exception it raised); :class:`CountTokens` with the count
(or the error); an event with None.
"""
RunFlow: TypeAlias = Generator[Step, Any, None]


def run_flow(
    loop: AgentLoop,
    decisions: Mapping[str, Decision] | None,
    *,
    approver: AnyApprover | None,
    calls_at_once: bool,
) -> RunFlow:
    """The flow of one run (or resumed run) of ``loop``, ending after :class:`RunFinished`.

    Args:
        loop: The run's loop, holding its state.
        decisions: Decisions for calls waiting for approval, when resuming.
        approver: The approver the driver asks, named in the ``approval.decision`` log.
        calls_at_once: Whether the driver runs a turn's calls concurrently. If so, every
            call is announced, then all run, then their results follow; if not, each call's
            result follows its announcement before the next one starts.
    """
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
            began = perf_counter()
            reply = yield action
            latency_s = perf_counter() - began
            if isinstance(reply, APIError | StreamError):
                action = loop.model_failed(reply)
                continue
            action = loop.model_responded(reply, latency_s=latency_s)
            yield ModelTurnCompleted(state.turns[-1])
        elif kind is RunTools:
            assert isinstance(action, RunTools)
            calls = action.calls
            batches = (action,) if calls_at_once else tuple(RunTools((call,)) for call in calls)
            for batch in batches:
                for call in batch.calls:
                    yield ToolCallStarted(call.id, call.name, call.arguments)
                ran = yield batch
                for call, (outcome, elapsed) in zip(batch.calls, ran, strict=True):
                    outcome = loop.tool_ran(outcome)
                    if logging_on:
                        _log_tool_call(call, outcome, elapsed)
                    yield _result_event(call, outcome, elapsed)
            action = loop.tools_ran()
        elif kind is CompactContext:
            assert isinstance(action, CompactContext)
            compacted = yield action
            action = loop.context_compacted(compacted)
            for compaction in loop.take_compactions():
                if logging_on:
                    _log.info(
                        "context.compaction",
                        run_id=state.run_id,
                        reason=compaction.reason,
                        policy=compaction.policy,
                        tokens_before=compaction.tokens_before,
                        tokens_after=compaction.tokens_after,
                        window=compaction.window,
                        removed=compaction.removed,
                        description=compaction.description,
                    )
                yield ContextCompacted(compaction)
        elif kind is CountTokens:
            assert isinstance(action, CountTokens)
            count = yield action
            action = loop.tokens_counted(count)
        elif kind is CheckApproval:
            assert isinstance(action, CheckApproval)
            reasons = yield action
            action = loop.approval_checked(reasons)
        elif kind is AskApproval:
            assert isinstance(action, AskApproval)
            yield from _announce(action.requests, logging_on)
            answers: dict[str, Decision] = {}
            for request in action.requests:
                (decision,) = yield AskApproval((request,))
                answers[request.call_id] = decision
                if logging_on:
                    _log_decision(request.tool_name, request.call_id, decision, approver)
                yield ApprovalDecided(request.call_id, request.tool_name, decision)
            action = loop.approvals_decided(answers)
        else:
            assert isinstance(action, Finish)
            yield from _announce(action.awaiting, logging_on)
            result = action.result
            state.duration_s += perf_counter() - started
            result.duration_s = state.duration_s
            if logging_on:
                _log_finish(result)
            yield RunFinished(result)
            return


# --- helpers ---------------------------------------------------------------------------------


def _announce(requests: tuple[ApprovalRequest, ...], logging_on: bool) -> RunFlow:
    for request in requests:
        if logging_on:
            _log.info(
                "approval.requested",
                tool=request.tool_name,
                call_id=request.call_id,
                reason=request.reason,
            )
        yield ApprovalRequested(request)


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


def _log_decision(
    tool_name: str, call_id: str, decision: Decision, approver: AnyApprover | None
) -> None:
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
