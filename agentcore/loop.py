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

import copy
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from agentcore.actions import (
    Action,
    AskApproval,
    CallModel,
    CheckApproval,
    CompactContext,
    CountTokens,
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
from agentcore.context import (
    Compaction,
    CompactionReason,
    CompactionRequest,
    CompactionResult,
    TokenEstimator,
    check_compacted,
    context_overflow,
)
from agentcore.errors import (
    AgentcoreError,
    InvalidRequestError,
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
from agentcore.usage import Limits, context_window, cost_of, max_output_tokens

if TYPE_CHECKING:
    from agentcore.output import OutputSpec

__all__ = [
    "Action",
    "AgentLoop",
    "AskApproval",
    "CallModel",
    "CheckApproval",
    "CompactContext",
    "CountTokens",
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
        "_compacted",
        "_compacting",
        "_compactions",
        "_counted",
        "_estimator",
        "_exception",
        "_fixed_chars",
        "_forced",
        "_kwargs",
        "_learned_window",
        "_output_value",
        "_overflow_reply",
        "_secret_fields",
        "_sent_chars",
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
        self._estimator = TokenEstimator()
        self._fixed_chars: int | None = config.request_chars
        self._sent_chars = 0
        self._learned_window: int | None = None
        self._compacted = False
        self._counted: int | None = None
        self._forced: CompactionReason | None = None
        self._compacting: CompactionRequest | None = None
        self._compactions: list[Compaction] = []
        self._overflow_reply: dict[str, Any] | None = None

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
        usage = message.usage
        prompt_tokens = (
            usage.input_tokens
            + (usage.cache_creation_input_tokens or 0)
            + (usage.cache_read_input_tokens or 0)
        )
        if self._sent_chars:
            self._estimator.observe(self._sent_chars, prompt_tokens)
        self._compacted = False
        self._counted = None
        self._forced = None
        if stop_reason == "model_context_window_exceeded" and self.config.context.policy:
            if self._window(state.model) is None:
                self._learned_window = prompt_tokens + usage.output_tokens
            # The partial answer is kept aside: the turn is asked again once the
            # conversation is shorter, and it is kept only if the run ends here.
            self._overflow_reply = self._recorded(message)
            self._forced = "model_context_window_exceeded"
            return self._call_model()
        self._overflow_reply = None
        if stop_reason == "max_tokens" and self._retry_cut_tool_call(message):
            return self._call_model()
        max_tokens = self._max_tokens()
        state.max_tokens_override = None
        if stop_reason == "pause_turn" and not message.content:
            # Nothing to send back and continue: the conversation stays as it was, so a
            # resume asks the model again.
            error = (
                "the model paused its turn (pause_turn) with nothing in it; a paused turn "
                "holds the server tool work done so far, so the reply was refused"
            )
            self._exception = MalformedResponseError(error, request_id=message.request_id)
            return self._finish("failed", error=error, resumable=True)
        recorded = self._recorded(message)
        if _continues_paused_turn(state):
            # The reply goes on from the paused assistant turn sent back as-is: one turn,
            # one assistant message (roles keep alternating).
            paused = state.messages[-1]
            recorded = {**paused, "content": [*paused["content"], *recorded["content"]]}
            state.messages[-1] = recorded
        else:
            state.messages.append(recorded)
        if stop_reason == "tool_use":
            return self._start_tools(message)
        if stop_reason in ("pause_turn", "compaction"):
            if message.tool_uses:
                # Client calls are only ever answered after a tool_use stop; run none of them.
                error = (
                    f"the model paused its turn ({stop_reason}) with client tool calls in it "
                    f"({', '.join(block.name for block in message.tool_uses)}); a paused turn "
                    "holds server blocks only, so the reply was refused and nothing ran"
                )
                self._exception = MalformedResponseError(error, request_id=message.request_id)
                return self._finish("failed", error=error)
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

    def model_failed(self, error: AgentcoreError) -> Action:
        """The model call failed for good (after the client's retries): end the run as failed.

        A ``prompt is too long`` error is the context window's, not a failure: the loop
        learns the sizes the error names, compacts the conversation and asks again, or ends
        the run as ``context_exceeded`` when it cannot. The state keeps everything up to the
        failed call, so ``resume`` can try again.
        """
        if isinstance(error, InvalidRequestError) and not self._forced:
            overflow = context_overflow(str(error))
            if overflow is not None:
                tokens, window = overflow
                if window is not None and self.config.context.window is None:
                    self._learned_window = window
                if tokens is not None and self._sent_chars:
                    self._estimator.observe(self._sent_chars, tokens)
                self._forced = "prompt_too_long"
                self._exception = error
                return self._call_model()
        self._exception = error
        return self._finish("failed", error=str(error), resumable=True)

    def context_compacted(self, result: CompactionResult | BaseException | None) -> Action:
        """Take the answer to a :class:`CompactContext`: the compacted conversation, None
        (the policy could not shorten it) or the exception the policy raised."""
        request = self._compacting
        assert request is not None, "no compaction was asked for"
        self._compacting = None
        self._compacted = True
        policy = self.config.context.policy
        name = type(policy).__name__
        if isinstance(result, BaseException):
            self._exception = result
            return self._context_exceeded(
                f"the conversation nears the context window and the compaction policy "
                f"{name} failed: {type(result).__name__}: {result}"[:1000]
            )
        if result is None:
            return self._call_model()
        if not isinstance(result, CompactionResult):
            problem: str | None = f"it returned {type(result).__name__}, not a CompactionResult"
        elif (
            isinstance(result.removed, bool)
            or not isinstance(result.removed, int)
            or result.removed < 0
            or not isinstance(result.description, str)
        ):
            problem = "its removed is not a count or its description not a string"
        else:
            problem = check_compacted(self.state.messages, result.messages)
        if problem is not None:
            return self._finish(
                "failed",
                error=f"the compaction policy {name} returned a conversation that cannot be "
                f"sent: {problem}",
                resumable=True,
            )
        assert isinstance(result, CompactionResult)
        state = self.state
        estimator = self._estimator
        fixed = self._fixed_chars or 0
        # A copy of its own, so a policy that keeps the list it returned cannot change it.
        messages = copy.deepcopy(list(result.messages))
        after = estimator.tokens(fixed + estimator.message_chars(messages))
        if request.reason != "near_window" and after >= request.tokens:
            # The API said the window is full: the same request again would be refused again.
            return self._context_exceeded(
                f"the API said the conversation does not fit the {request.window}-token "
                f"context window and the compaction policy {name} did not shorten it "
                f"(estimated at {request.tokens} tokens before, {after} after)"
            )
        state.messages = messages
        self._forced = None
        self._counted = None
        self._overflow_reply = None
        self._compactions.append(
            Compaction(
                request.reason,
                name,
                request.tokens,
                after,
                request.window,
                result.removed,
                # An account for a log line, not a copy of what was removed.
                result.description[:_DESCRIPTION_CHARS],
            )
        )
        return self._call_model()

    def tokens_counted(self, count: int | BaseException) -> Action:
        """Take the answer to a :class:`CountTokens`: the exact input tokens of the request,
        or the error that kept the API from counting them (the estimate then stands, as it
        does for a count no tokenizer gives for a request of that size)."""
        if (
            isinstance(count, int)
            and not isinstance(count, bool)
            and self._estimator.observe(self._sent_chars, count)
        ):
            self._counted = count
        else:
            self._counted = -1
        return self._call_model()

    def take_compactions(self) -> list[Compaction]:
        """The compactions made since the last call, for events and logs."""
        compactions, self._compactions = self._compactions, []
        return compactions

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

    def _call_model(self) -> CallModel | CompactContext | CountTokens | Finish:
        state = self.state
        config = self.config
        limit = config.limits.reached(
            len(state.turns),
            state.usage,
            state.cost_usd,
            state.unpriced_models,
            paused_replies=_paused_replies(state),
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
        unfit = self._fit(params, model)
        if unfit is not None:
            return unfit
        if config.cache:
            params = self._cache_planner.place(params, model=model, ttl=config.cache_ttl)
        return CallModel(params, model, route_reason)

    def _window(self, model: str) -> int | None:
        # A window the API named in an error wins over the catalogue's.
        return self.config.context.window or self._learned_window or context_window(model)

    def _fit(
        self, params: dict[str, Any], model: str
    ) -> CompactContext | CountTokens | Finish | None:
        """None when the request may be sent; else the compaction to run first, or the end
        of the run when the conversation cannot be made to fit."""
        window = self._window(model)
        if window is None:
            self._sent_chars = 0  # not measured: no response may correct the estimate
            return None
        settings = self.config.context
        estimator = self._estimator
        fixed = self._fixed_chars
        if fixed is None:
            fixed = self._fixed_chars = estimator.fixed_chars(params)
        state = self.state
        messages = state.messages
        cumulative = self._cache_planner.measure(messages) if self.config.cache else None
        chars = fixed + estimator.message_chars(messages, cumulative)
        self._sent_chars = chars
        tokens = estimator.tokens(chars)
        counted = self._counted
        if counted is not None and counted > 0:
            tokens = counted
        budget = window - params["max_tokens"]
        forced = self._forced
        if budget <= 0:
            return self._context_exceeded(
                f"max_tokens={params['max_tokens']} leaves no room for input in the "
                f"{window}-token context window of {model}"
            )
        if forced is None and tokens <= settings.trigger * budget:
            return None
        if settings.count_tokens and counted is None and forced is None:
            return CountTokens(_countable(params))
        policy = settings.policy
        if policy is not None and not self._compacted:
            request = CompactionRequest(
                # The policy gets its own copy: one that changes it in place cannot touch
                # the conversation the run keeps, whatever it then returns.
                messages=copy.deepcopy(state.messages),
                model=model,
                window=window,
                tokens=tokens,
                # Told the window is full, the estimate is not to be trusted: halve the
                # conversation (by the target share) whatever the budget says.
                target_tokens=int(
                    settings.target * (min(budget, tokens) if forced else budget)
                ),
                fixed_tokens=estimator.tokens(fixed),
                tokens_per_char=estimator.tokens_per_char,
                reason=forced or "near_window",
                kept_tools=frozenset(
                    name
                    for name, tool in self.config.tools.items()
                    if tool.sensitive or tool.requires_approval is not None
                ),
            )
            self._compacting = request
            return CompactContext(policy, request)
        if forced is None and tokens <= budget:
            return None
        said = "the API refused it; estimated at" if forced else "estimated at"
        what = (
            "compaction could not shorten it enough"
            if policy is not None
            else "no compaction is configured"
        )
        return self._context_exceeded(
            f"the conversation no longer fits the {window}-token context window of "
            f"{model} with max_tokens={params['max_tokens']} ({said} {tokens} tokens) and "
            f"{what}; shorten or summarize the history, or use a model with a larger window"
        )

    def _context_exceeded(self, error: str) -> Finish:
        """End the run before a request that cannot fit; the answer the model was cut off
        in, if any, is kept."""
        reply, self._overflow_reply = self._overflow_reply, None
        if reply is not None:
            self.state.messages.append(reply)
            return self._finish("context_exceeded", error=error)
        return self._finish("context_exceeded", error=error, resumable=True)

    def _max_tokens(self) -> int:
        return self.state.max_tokens_override or self.config.max_tokens

    def _record_turn(self, message: Message, latency_s: float) -> None:
        state = self.state
        model = message.model or state.model
        usage = message.usage
        cost = cost_of(usage, model, self.config.prices, batch=usage.service_tier == "batch")
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
                f"the model's reply uses tool_use id {repeated!r} more than once in this run "
                "(in a tool_use or server_tool_use block); tool_use ids must be unique, so the "
                "reply was refused and none of its calls ran"
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
                if any(name in server.block_names for server in config.server_tools):
                    problem = (
                        f"{name!r} is a server tool: the API runs it when you use it, so it "
                        f"cannot be called as a client tool. Client tools: {available}."
                    )
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
        # One pass sorts the calls by status; the order of the steps below is checks first,
        # then calls ready to run, then calls waiting for approval.
        checks: list[PendingCall] = []
        ready: list[PendingCall] = []
        waiting: list[PendingCall] = []
        for call in pending:
            status = call.status
            if status == "check":
                checks.append(call)
            elif status == "ready":
                ready.append(call)
            elif status == "approval":
                waiting.append(call)
        if checks:
            return CheckApproval(
                tuple([self._tool_call(call) for call in checks]),
                self.config.approval_policy,
                tuple(self.state.always_allowed),
            )
        if ready:
            return RunTools(tuple([self._tool_call(call) for call in ready]))
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


_CALL_BLOCKS = frozenset({"tool_use", "server_tool_use"})


class _ToolUseIds:
    """The ids of the calls (``tool_use`` and ``server_tool_use``) a run's conversation
    holds, read once per message as it grows.

    Calls, approvals, decisions and execution records are all keyed by these ids, and the
    API pairs each result with its call by id alone, so a client call whose id repeats one
    (within its reply, from an earlier turn, or of a server call) cannot be run safely.
    """

    __slots__ = ("ids", "scanned")

    def __init__(self) -> None:
        self.ids: set[object] = set()
        self.scanned = 0

    def repeated(self, messages: Sequence[Mapping[str, Any]], reply: Message) -> str | None:
        """The first client call id of ``reply`` already used, or None.

        ``reply`` is the last of ``messages`` (joined there to the paused turn it continues,
        whose server calls count as used).
        """
        earlier = len(messages) - 1
        if earlier < self.scanned:
            self.ids.clear()
            self.scanned = 0
        ids = self.ids
        for message in messages[self.scanned : earlier]:
            content = message.get("content")
            if message.get("role") == "assistant" and isinstance(content, list):
                ids.update(_call_ids(content))
        self.scanned = max(earlier, 0)
        last = messages[-1].get("content") if messages else None
        in_reply = _call_ids(last, "server_tool_use") if isinstance(last, list) else set()
        for block in reply.tool_uses:
            if block.id in ids or block.id in in_reply:
                return block.id
            in_reply.add(block.id)
        return None


def _call_ids(content: list[Any], *kinds: str) -> set[object]:
    """The ids of the call blocks in ``content`` (of the given kinds; default: both)."""
    wanted = _CALL_BLOCKS if not kinds else frozenset(kinds)
    return {
        block.get("id")
        for block in content
        if isinstance(block, dict) and block.get("type") in wanted
    }


def _paused_replies(state: RunState) -> int:
    """How many ``pause_turn`` replies in a row the next model call continues: the
    conversation ends with their joined assistant message (a cut-off tool call retried in
    between is not a reply of its own)."""
    messages = state.messages
    if not messages or messages[-1].get("role") != "assistant":
        return 0
    count = 0
    for turn in reversed(state.turns):
        if turn.stop_reason == "max_tokens":
            continue
        if turn.stop_reason != "pause_turn":
            break
        count += 1
    return count


def _continues_paused_turn(state: RunState) -> bool:
    """Whether the reply just recorded in ``state.turns`` continues a paused turn: the
    conversation ends with the assistant message of a ``pause_turn`` (or server-side
    ``compaction``) reply (a cut-off tool call retried in between does not count as a turn of
    its own)."""
    messages = state.messages
    if not messages or messages[-1].get("role") != "assistant":
        return False
    if not isinstance(messages[-1].get("content"), list):
        return False
    for turn in reversed(state.turns[:-1]):
        if turn.stop_reason != "max_tokens":
            return turn.stop_reason in ("pause_turn", "compaction")
    return False


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


_DESCRIPTION_CHARS = 500
"""The most of a compaction policy's description that logs and events carry."""

_COUNTABLE = frozenset(
    {"model", "messages", "system", "tools", "tool_choice", "thinking", "betas", "extra_body"}
)


def _countable(params: dict[str, Any]) -> dict[str, Any]:
    """The parameters of a request that ``count_tokens`` takes."""
    return {key: value for key, value in params.items() if key in _COUNTABLE}


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
