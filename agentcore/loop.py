"""The agent loop as a sans-IO state machine: every decision, no I/O.

An :class:`AgentLoop` holds a :class:`~agentcore.state.RunState` and answers one question:
what happens next? It returns an *action* and takes the outcome back:

=====================  ======================================  ==============================
action                 the driver does                         and reports with
=====================  ======================================  ==============================
:class:`CallModel`     sends ``params`` to the Messages API    :meth:`~AgentLoop.model_responded`
                                                               or :meth:`~AgentLoop.model_failed`
:class:`CheckApproval` asks each call's approval policy        :meth:`~AgentLoop.approval_checked`
:class:`RunTools`      runs the validated calls                :meth:`~AgentLoop.tools_ran`
:class:`AskApproval`   asks the approver                       :meth:`~AgentLoop.approvals_decided`
:class:`Finish`        returns ``result``                      nothing
=====================  ======================================  ==============================

A driver reports each call of a :class:`RunTools` with :meth:`~AgentLoop.tool_ran` as it
finishes (or all at once with :meth:`~AgentLoop.tools_ran`): the loop keeps the output with
the call's secrets masked, and that recorded output is what events and logs may show. With
no approver attached (``LoopConfig.pause_for_approval``), a call that needs a decision pauses
the run instead of an :class:`AskApproval`.

The loop never calls user code (tools, hooks, approval policies, approvers) and never reads a
clock; the drivers in :mod:`agentcore.drivers` do, so the sync and async drivers share every
decision and a paused run is only its state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from agentcore.actions import (
    Action,
    AskApproval,
    CallModel,
    CheckApproval,
    Finish,
    LoopConfig,
    Router,
    RunTools,
    ToolCall,
    ToolOutcome,
)
from agentcore.approval.gate import approval_steps
from agentcore.approval.requests import (
    ApprovalRequest,
    ApprovedCall,
    Decision,
    Deny,
    apply_decision,
    arguments_hash,
    bind_decisions,
    redact_arguments,
)
from agentcore.caching import CachePlanner
from agentcore.errors import (
    AgentcoreError,
    MalformedResponseError,
    ModelRetry,
    RunStateError,
    ToolArgumentsError,
)
from agentcore.redaction import redact_content, secret_values_in
from agentcore.state import (
    PendingCall,
    RunResult,
    RunState,
    RunStatus,
    TurnRecord,
    has_masked_secrets,
)
from agentcore.tools._tool import non_finite_number
from agentcore.types import Message
from agentcore.usage import Limits, cost_of, max_output_tokens

if TYPE_CHECKING:
    from agentcore.output import OutputSpec

__all__ = [
    "Action",
    "AgentLoop",
    "AskApproval",
    "CallModel",
    "CheckApproval",
    "Finish",
    "Limits",
    "LoopConfig",
    "Router",
    "RunTools",
    "ToolCall",
    "ToolOutcome",
]


_TERMINAL: dict[str, RunStatus] = {
    "end_turn": "completed",
    "stop_sequence": "completed",
    "refusal": "refused",
    "max_tokens": "truncated",
    "model_context_window_exceeded": "context_exceeded",
}


class AgentLoop:
    """The decisions of one run over its :class:`RunState`."""

    __slots__ = (
        "_cache_planner",
        "_exception",
        "_kwargs",
        "_output_value",
        "_secret_fields",
        "_tool_use_ids",
        "config",
        "state",
    )

    def __init__(self, config: LoopConfig, state: RunState) -> None:
        self.config = config
        self.state = state
        # Remembers what it measured of the conversation, so each turn costs only the
        # messages appended since the last one.
        self._cache_planner = CachePlanner()
        self._secret_fields = {
            name: tool.secret_fields for name, tool in config.tools.items() if tool.secret_fields
        }
        self._kwargs: dict[str, dict[str, Any]] = {}
        self._output_value: Any = None
        self._exception: BaseException | None = None
        self._tool_use_ids = _ToolUseIds()

    # --- entry points ------------------------------------------------------------------------

    def next_action(self, decisions: Mapping[str, Decision] | None = None) -> Action:
        """The action to take from the state as it is: at the start of a run or on resume.

        ``decisions`` answer, by call id, calls that were waiting for approval when the run
        paused (see :meth:`approvals_decided`).
        """
        state = self.state
        if state.phase == "finished":
            return Finish(self._result())
        if state.phase == "tools":
            _check_pending(state, self.config.tools)
        state.status = "running"
        state.error = state.limit = None
        if state.phase == "tools":
            if decisions:
                return self.approvals_decided(decisions)
            return self._advance_tools()
        return self._call_model()

    def model_responded(self, message: Message, *, latency_s: float = 0.0) -> Action:
        """Record a response and decide what its stop reason asks for."""
        state = self.state
        self._record_turn(message, latency_s)
        stop_reason = message.stop_reason
        state.stop_reason = stop_reason
        if stop_reason == "max_tokens" and self._retry_cut_tool_call(message):
            return self._call_model()
        max_tokens = self._max_tokens()
        state.max_tokens_override = None
        state.messages.append(self._recorded(message))
        if stop_reason == "tool_use":
            return self._start_tools(message)
        if stop_reason == "pause_turn":
            return self._call_model()
        status = _TERMINAL.get(stop_reason or "")
        if status == "completed":
            if self.config.output is not None:
                return self._demand_structured_output()
            return self._finish("completed")
        if status == "truncated":
            return self._finish(
                "truncated",
                error=f"the response was cut off at max_tokens={max_tokens}",
            )
        if status == "refused":
            return self._finish("refused", error="the model declined to answer (refusal)")
        if status == "context_exceeded":
            return self._finish(
                "context_exceeded",
                error="the conversation no longer fits the model's context window; shorten "
                "or summarize the history, or use a model with a larger window",
            )
        return self._finish(
            "failed", error=f"the model stopped for an unknown reason: {stop_reason!r}"
        )

    def model_failed(self, error: AgentcoreError) -> Finish:
        """The model call failed for good (after the client's retries): end the run as failed.

        The state keeps everything up to the failed call, so ``resume`` can try again.
        """
        self._exception = error
        return self._finish("failed", error=str(error), resumable=True)

    def approval_checked(self, reasons: Mapping[str, str | None]) -> Action:
        """Record, per call id, why approval is needed (None: it is not)."""
        for call in self.state.pending:
            if call.status == "check":
                reason = reasons.get(call.call_id, "the approval policy gave no answer")
                self._mark_for_approval(call, reason)
        return self._advance_tools()

    def tool_ran(self, outcome: ToolOutcome) -> ToolOutcome:
        """Record what one call of a :class:`RunTools` produced; return it as recorded.

        A tool's output becomes the model's next input, the stored state and the events, so
        credentials and the values of the call's secret arguments are masked in it here,
        before anything else sees it (the exception itself stays, for logs). Events and logs
        show the returned outcome.
        """
        call = next(call for call in self.state.pending if call.call_id == outcome.call_id)
        output = outcome.output
        secret_fields = self.config.tools[call.tool_name].secret_fields
        content = redact_content(
            output.content,
            secret_fields=secret_fields,
            secret_values=secret_values_in(call.arguments, secret_fields, credentials=True),
        )
        if content != output.content:
            output = replace(output, content=content)
            outcome = replace(outcome, output=output)
        call.result = _tool_result(call.call_id, content, output.is_error)
        call.executed = outcome.executed
        call.status = "done"
        if isinstance(output.error, ModelRetry):
            call.retry = True
        return outcome

    def tools_ran(self, outcomes: Sequence[ToolOutcome] = ()) -> Action:
        """Record the outcomes of a :class:`RunTools` not reported yet (see :meth:`tool_ran`)
        and decide what comes next."""
        for outcome in outcomes:
            self.tool_ran(outcome)
        return self._advance_tools()

    def approvals_decided(self, decisions: Mapping[str, Decision]) -> Action:
        """Apply decisions (by call id) to the calls waiting for approval.

        Calls without a decision keep waiting. A decision bound to other arguments than the
        call has, or a call whose arguments no longer match the hash it was asked with, is a
        denial.

        Raises:
            ApprovalError: a decision names a call that is not waiting for one.
        """
        state = self.state
        waiting = [call for call in state.pending if call.status == "approval"]
        requests = {call.call_id: self._request(call) for call in waiting}
        bound = bind_decisions(requests.values(), decisions, require_hash=not state.authenticated)
        for call in waiting:
            decision = bound.get(call.call_id)
            if decision is None:
                continue
            tool = self.config.tools[call.tool_name]
            if has_masked_secrets(call):
                decision = Deny(
                    "its secret arguments were not kept while it waited for approval; "
                    "call the tool again",
                    automatic=True,
                )
            elif call.arguments_hash != arguments_hash(call.arguments):
                decision = Deny("its arguments changed after approval was asked", automatic=True)
            applied = apply_decision(tool, requests[call.call_id], decision)
            if isinstance(applied, ApprovedCall):
                call.arguments = applied.arguments
                self._kwargs[call.call_id] = applied.kwargs
                call.status = "ready"
                if applied.always_allow and call.tool_name not in state.always_allowed:
                    state.always_allowed.append(call.tool_name)
            else:
                call.result = _tool_result(call.call_id, applied.model_message, True)
                call.status = "done"
        return self._advance_tools()

    def pause(self) -> Finish:
        """Stop here with the calls still waiting for approval; resume continues from them."""
        waiting = [call for call in self.state.pending if call.status == "approval"]
        finish = self._finish("paused", resumable=True)
        return Finish(finish.result, tuple(self._request(call) for call in waiting))

    @property
    def output_value(self) -> Any:
        """The validated structured output, once the run produced one."""
        return self._output_value

    # --- model calls -------------------------------------------------------------------------

    def _call_model(self) -> CallModel | Finish:
        state = self.state
        config = self.config
        limit = config.limits.reached(
            len(state.turns), state.usage, state.cost_usd, state.unpriced_models
        )
        if limit is not None:
            name, message = limit
            return self._finish("limit_reached", error=message, limit=name, resumable=True)
        route_reason: str | None = None
        model = config.model
        if not isinstance(model, str):
            choice = model(state)
            if isinstance(choice, tuple):
                model, route_reason = choice
            else:
                model = choice
        params: dict[str, Any] = {
            "model": model,
            "max_tokens": self._max_tokens(),
            "messages": state.messages,
            **config.request_params,
        }
        if config.cache:
            params = self._cache_planner.place(params, model=model, ttl=config.cache_ttl)
        return CallModel(params, model, route_reason)

    def _max_tokens(self) -> int:
        return self.state.max_tokens_override or self.config.max_tokens

    def _record_turn(self, message: Message, latency_s: float) -> None:
        state = self.state
        model = message.model or state.model
        usage = message.usage
        cost = cost_of(usage, model, self.config.prices)
        state.turns.append(
            TurnRecord(model, message.stop_reason, usage, cost, message.request_id, latency_s)
        )
        state.usage.add(usage)
        if cost is None:
            if model not in state.unpriced_models:
                state.unpriced_models.append(model)
        else:
            state.cost_usd += cost
        if model not in state.models_used:
            state.models_used.append(model)
        state.model = model

    def _recorded(self, message: Message) -> dict[str, Any]:
        """The assistant message as the conversation keeps it: the values of secret tool
        arguments are masked (the calls themselves run with the real ones)."""
        param = message.to_param()
        if not self._secret_fields:
            return param
        content = param["content"]
        for index, block in enumerate(content):
            if block.get("type") != "tool_use":
                continue
            secret_fields = self._secret_fields.get(block.get("name"))
            if secret_fields and isinstance(block.get("input"), dict):
                content[index] = {**block, "input": redact_arguments(block["input"], secret_fields)}
        return param

    def _retry_cut_tool_call(self, message: Message) -> bool:
        """A tool call cut off mid-arguments is retried once with more room, never run."""
        content = message.content
        if not content or getattr(content[-1], "type", None) != "tool_use":
            return False
        state = self.state
        if state.max_tokens_override is not None:
            return False
        current = self._max_tokens()
        cap = max_output_tokens(message.model or state.model)
        larger = current * 2 if cap is None else min(current * 2, cap)
        if larger <= current:
            return False
        state.max_tokens_override = larger
        return True

    # --- tool turns --------------------------------------------------------------------------

    def _start_tools(self, message: Message) -> Action:
        state = self.state
        config = self.config
        repeated = self._tool_use_ids.repeated(state.messages, message)
        if repeated is not None:
            error = (
                f"the model's reply uses tool_use id {repeated!r} more than once in this run; "
                "tool_use ids must be unique, so the reply was refused and none of its calls ran"
            )
            self._exception = MalformedResponseError(error, request_id=message.request_id)
            return self._finish("failed", error=error)
        output = config.output
        pending: list[PendingCall] = []
        for block in message.tool_uses:
            call_id = block.id
            name = block.name
            arguments = block.input
            if output is not None and name == output.tool_name:
                value, problem = output.validate(arguments)
                if problem is None:
                    self._output_value = value
                    state.output_data = arguments
                    return self._finish("completed")
                if self._output_retries_spent(output):
                    return self._finish(
                        "failed",
                        error=f"the structured output failed validation {state.output_retries} "
                        f"times; last problem: {problem}",
                    )
                pending.append(_done(call_id, name, arguments, problem))
                continue
            tool = config.tools.get(name)
            if tool is None:
                available = ", ".join(sorted(config.tools)) or "none"
                problem = f"Unknown tool {name!r}. Available tools: {available}."
                pending.append(_done(call_id, name, arguments, problem, retry=True))
                continue
            try:
                kwargs = tool.validate(arguments)
            except ToolArgumentsError as exc:
                pending.append(_done(call_id, name, arguments, exc.model_message, retry=True))
                continue
            self._kwargs[call_id] = kwargs
            call = PendingCall(call_id, name, arguments, "ready")
            if tool.secret_fields:
                call.secret_fields = sorted(tool.secret_fields)
            steps = approval_steps(
                tool, arguments, policy=config.approval_policy, always_allowed=state.always_allowed
            )
            try:
                next(steps)
            except StopIteration as decided:
                self._mark_for_approval(call, decided.value)
            else:
                steps.close()
                call.status = "check"
            pending.append(call)
        if not pending:
            return self._finish(
                "failed", error="the model stopped for tool_use but asked for no client tool"
            )
        state.pending = pending
        state.phase = "tools"
        return self._advance_tools()

    def _mark_for_approval(self, call: PendingCall, reason: str | None) -> None:
        if reason is None:
            call.status = "ready"
            return
        call.status = "approval"
        call.reason = reason
        call.arguments_hash = arguments_hash(call.arguments)

    def _advance_tools(self) -> Action:
        pending = self.state.pending
        checks = [call for call in pending if call.status == "check"]
        if checks:
            return CheckApproval(
                tuple(self._tool_call(call) for call in checks),
                self.config.approval_policy,
                tuple(self.state.always_allowed),
            )
        ready = [call for call in pending if call.status == "ready"]
        if ready:
            return RunTools(tuple(self._tool_call(call) for call in ready))
        waiting = [call for call in pending if call.status == "approval"]
        if waiting:
            if self.config.pause_for_approval:
                return self.pause()
            return AskApproval(tuple(self._request(call) for call in waiting))
        return self._end_tool_turn()

    def _tool_call(self, call: PendingCall) -> ToolCall:
        tool = self.config.tools[call.tool_name]
        kwargs = self._kwargs.get(call.call_id)
        if kwargs is None:
            # Resumed in a new process: validated Python values are not serialized.
            kwargs = self._kwargs[call.call_id] = tool.validate(call.arguments)
        return ToolCall(call.call_id, call.tool_name, tool, call.arguments, kwargs)

    def _request(self, call: PendingCall) -> ApprovalRequest:
        tool = self.config.tools[call.tool_name]
        return ApprovalRequest(
            call_id=call.call_id,
            tool_name=call.tool_name,
            description=tool.description,
            arguments=call.arguments,
            reason=call.reason or "",
            secret_fields=frozenset(call.secret_fields),
            arguments_hash=call.arguments_hash or "",
            input_schema=tool.input_schema,
        )

    def _end_tool_turn(self) -> Action:
        state = self.state
        pending = state.pending
        content = [call.result for call in pending if call.result is not None]
        state.messages.append({"role": "user", "content": content})
        state.pending = []
        state.phase = "model"
        self._kwargs.clear()
        if any(call.retry for call in pending):
            state.invalid_rounds += 1
            max_tool_retries = self.config.limits.max_tool_retries
            if state.invalid_rounds > max_tool_retries:
                return self._finish(
                    "failed",
                    error=f"the model made invalid tool calls {state.invalid_rounds} turns in a "
                    f"row (max_tool_retries={max_tool_retries}); last problems: "
                    + "; ".join(_result_text(call.result) for call in pending if call.retry),
                )
        else:
            state.invalid_rounds = 0
        return self._call_model()

    # --- structured output -------------------------------------------------------------------

    def _demand_structured_output(self) -> Action:
        output = self.config.output
        assert output is not None
        state = self.state
        if self._output_retries_spent(output):
            return self._finish(
                "failed",
                error=f"the model answered without calling {output.tool_name!r} "
                f"{state.output_retries} times, so there is no structured output",
            )
        state.messages.append({"role": "user", "content": output.reminder})
        return self._call_model()

    def _output_retries_spent(self, output: OutputSpec) -> bool:
        """Count one more reply without a valid structured output; True once there were
        more such replies than ``output.max_retries``."""
        state = self.state
        state.output_retries += 1
        return state.output_retries > output.max_retries

    # --- finishing ---------------------------------------------------------------------------

    def _finish(
        self,
        status: RunStatus,
        *,
        error: str | None = None,
        limit: str | None = None,
        resumable: bool = False,
    ) -> Finish:
        state = self.state
        state.status = status
        state.error = error
        state.limit = limit
        if not resumable:
            state.phase = "finished"
        state.output = _last_text(state.messages)
        return Finish(self._result())

    def _result(self) -> RunResult:
        state = self.state
        return RunResult(
            output=state.output,
            status=state.status,
            stop_reason=state.stop_reason,
            messages=state.messages,
            turns=state.turns,
            usage=state.usage,
            cost_usd=state.total_cost_usd,
            duration_s=state.duration_s,
            models_used=state.models_used,
            state=state,
            limit=state.limit,
            pending=state.pending_approvals() if state.status == "paused" else [],
            error=state.error,
            exception=self._exception,
            output_object=self._output_value,
        )


class _ToolUseIds:
    """The tool_use ids a run's conversation holds, read once per message as it grows.

    Calls, approvals, decisions and execution records are all keyed by these ids, so a reply
    that repeats one (within itself, or from an earlier turn) cannot be run safely.
    """

    __slots__ = ("ids", "scanned")

    def __init__(self) -> None:
        self.ids: set[object] = set()
        self.scanned = 0

    def repeated(self, messages: Sequence[Mapping[str, Any]], reply: Message) -> str | None:
        """The first id of ``reply`` (the last of ``messages``) already used, or None."""
        earlier = len(messages) - 1
        if earlier < self.scanned:
            self.ids.clear()
            self.scanned = 0
        ids = self.ids
        for message in messages[self.scanned : earlier]:
            content = message.get("content")
            if message.get("role") == "assistant" and isinstance(content, list):
                ids.update(
                    block.get("id")
                    for block in content
                    if isinstance(block, dict) and block.get("type") == "tool_use"
                )
        self.scanned = max(earlier, 0)
        in_reply: set[str] = set()
        for block in reply.tool_uses:
            if block.id in ids or block.id in in_reply:
                return block.id
            in_reply.add(block.id)
        return None


def _check_pending(state: RunState, tools: Mapping[str, object]) -> None:
    """Refuse to resume calls that cannot be told apart or whose tool is gone."""
    seen: set[str] = set()
    for call in state.pending:
        if call.call_id in seen:
            raise RunStateError(
                f"run {state.run_id!r}: call id {call.call_id!r} is pending more than once; "
                "the stored state is corrupt or was tampered with"
            )
        seen.add(call.call_id)
        if call.status != "done" and call.tool_name not in tools:
            raise RunStateError(
                f"run {state.run_id!r}: call {call.call_id!r} is for tool {call.tool_name!r}, "
                f"which this agent does not have (its tools: {', '.join(sorted(tools)) or 'none'})"
                "; resume it with an agent that has that tool"
            )
        if call.status != "done" and non_finite_number(call.arguments) is not None:
            raise RunStateError(
                f"run {state.run_id!r}: call {call.call_id!r} has NaN or Infinity in its "
                "arguments, which no tool call can have; the stored state is corrupt"
            )


def _tool_result(call_id: str, content: Any, is_error: bool) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": call_id, "content": content}
    if is_error:
        block["is_error"] = True
    return block


def _done(
    call_id: str, name: str, arguments: dict[str, Any], problem: str, *, retry: bool = False
) -> PendingCall:
    result = _tool_result(call_id, problem, True)
    return PendingCall(call_id, name, arguments, "done", result=result, retry=retry)


def _result_text(block: dict[str, Any] | None) -> str:
    content = block.get("content") if block else None
    return content if isinstance(content, str) else str(content)


def _last_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") != "assistant":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        return "".join(
            block.get("text", "")
            for block in content or ()
            if isinstance(block, dict) and block.get("type") == "text"
        )
    return ""
