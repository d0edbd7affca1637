"""The Agent: a model, a system prompt and tools, run by two thin drivers over one loop.

Every decision lives in :mod:`agentcore.loop`; the drivers here only do the I/O it asks for
(model calls, tools, hooks, approval policies and approvers, the clock, logging). The sync
driver runs tools one after another; the async driver runs a turn's calls concurrently, up
to ``tool_concurrency`` at a time (sync tools in threads). Both exist in a streaming flavour
that yields :mod:`agentcore.events` as the run goes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import (
    AsyncIterator,
    Callable,
    Generator,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from dataclasses import dataclass
from decimal import Decimal
from time import perf_counter
from typing import Any, TypeAlias

from pydantic import BaseModel

from agentcore.approval import Decision
from agentcore.client import AsyncClient, Client
from agentcore.errors import APIError, ConfigurationError, StreamError
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
    Limits,
    LoopConfig,
    Router,
    RunTools,
    ToolCall,
    ToolOutcome,
)
from agentcore.output import OutputSpec
from agentcore.prompts import SystemPrompt
from agentcore.state import RunResult, RunState
from agentcore.stream_events import TextDeltaEvent, ThinkingDeltaEvent
from agentcore.tools import Tool, Toolset
from agentcore.types import Message, to_wire
from agentcore.usage import ModelPrice, PriceTable, to_usd

__all__ = ["Agent", "Prompt"]

Prompt: TypeAlias = str | Sequence[Mapping[str, Any] | BaseModel]
"""A user prompt, or a whole conversation (messages as dicts or wire models)."""

_log = get_logger("agentcore.agent")
_INFO = logging.INFO


@dataclass(frozen=True, slots=True)
class _Drivers:
    """What both drivers need besides the loop: user code to call and where to report."""

    before_tool: tuple[BeforeToolHook, ...]
    after_tool: tuple[AfterToolHook, ...]
    approval_policy: ApprovalPolicy | None
    approver: object | None
    approval_timeout_s: float | None


class Agent:
    """A Claude agent: runs the model, its tools and approvals until a final answer.

    Args:
        model: A model id, or a router ``(state) -> model | (model, reason)`` called before
            every model call.
        system: The system prompt, as text or a versioned :class:`SystemPrompt`.
        tools: The tools the model may call (``@tool`` functions).
        client: The blocking client for :meth:`run` and :meth:`stream`; built from the
            environment (``ANTHROPIC_API_KEY``, ``ANTHROPIC_BASE_URL``) on first use if None.
        async_client: The asyncio client for :meth:`arun` and :meth:`astream`; same default.
        approver: Decides calls that need approval. Without one, such a run pauses: the
            result holds the pending calls and a state for :meth:`resume`.
        approval_policy: An agent-level ``(tool, arguments) -> bool | None`` consulted before
            each tool's own ``sensitive`` / ``requires_approval`` settings.
        approval_timeout_s: Deny a call when the approver takes longer than this.
        max_tokens: Output tokens per model call.
        max_turns: Model calls per run (a limit: the run ends as ``limit_reached``).
        max_total_tokens: Tokens per run, input (cached or not) plus output.
        max_cost_usd: Dollars per run; a model with no known price stops such a run, since
            its cost cannot be checked.
        max_tool_retries: Consecutive turns with invalid tool calls before the run fails.
        tool_concurrency: Calls of one turn run at once by the async driver.
        output_type: A pydantic model: the run ends with a validated instance in
            ``RunResult.output_object`` (the model answers through a ``final_result`` tool).
        output_retries: Invalid or missing structured answers tolerated before failing.
        before_tool: Hooks run before each call; may veto it or rewrite its arguments.
        after_tool: Hooks run after each call; may replace (redact) its output.
        cache: Place prompt-cache breakpoints on every request.
        cache_ttl: ``"5m"`` or ``"1h"``; None keeps the API's default (five minutes).
        prices: Extra or replacement prices per model (USD per million tokens).
        fallback_models: Models to try, in order, when the model is overloaded or unavailable.
        temperature, top_p, top_k, stop_sequences, metadata, thinking, service_tier,
            tool_choice: Sent with every request as the Messages API defines them.
    """

    def __init__(
        self,
        model: str | Router,
        system: str | SystemPrompt | None = None,
        tools: Iterable[Tool | Callable[..., Any]] | Toolset = (),
        *,
        client: Client | None = None,
        async_client: AsyncClient | None = None,
        approver: object | None = None,
        approval_policy: ApprovalPolicy | None = None,
        approval_timeout_s: float | None = None,
        max_tokens: int = 4096,
        max_turns: int | None = 50,
        max_total_tokens: int | None = None,
        max_cost_usd: float | str | Decimal | None = None,
        max_tool_retries: int = 3,
        tool_concurrency: int = 8,
        output_type: type[BaseModel] | None = None,
        output_retries: int = 3,
        before_tool: Sequence[BeforeToolHook] = (),
        after_tool: Sequence[AfterToolHook] = (),
        cache: bool = True,
        cache_ttl: str | None = None,
        prices: PriceTable | Mapping[str, ModelPrice | tuple[float, float]] | None = None,
        fallback_models: Sequence[str] = (),
        temperature: float | None = None,
        top_p: float | None = None,
        top_k: int | None = None,
        stop_sequences: Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        thinking: Mapping[str, Any] | None = None,
        service_tier: str | None = None,
        tool_choice: Mapping[str, Any] | None = None,
    ) -> None:
        if not isinstance(model, str) and not callable(model):
            raise ConfigurationError(f"model must be a model id or a router, not {model!r}")
        if isinstance(model, str) and not model:
            raise ConfigurationError("model must be a non-empty model id")
        _require_positive("max_tokens", max_tokens)
        _require_positive("tool_concurrency", tool_concurrency)
        for name, value in (("max_turns", max_turns), ("max_total_tokens", max_total_tokens)):
            if value is not None:
                _require_positive(name, value)
        if max_tool_retries < 0 or output_retries < 0:
            raise ConfigurationError("max_tool_retries and output_retries must be 0 or more")
        toolset = tools if isinstance(tools, Toolset) else Toolset(tools)
        price_table = prices if isinstance(prices, PriceTable) else PriceTable(prices)
        limits = Limits(
            max_turns=max_turns,
            max_total_tokens=max_total_tokens,
            max_cost_usd=None if max_cost_usd is None else to_usd(max_cost_usd),
        )
        output = (
            OutputSpec.for_type(output_type, max_retries=output_retries)
            if output_type is not None
            else None
        )
        if output is not None and toolset.get(output.tool_name) is not None:
            raise ConfigurationError(
                f"a tool is named {output.tool_name!r}, the name of the structured-output tool; "
                "rename the tool"
            )
        definitions = toolset.definitions()
        if output is not None:
            definitions.append(output.definition)
        request_params: dict[str, Any] = {}
        if definitions:
            request_params["tools"] = definitions
        prompt_name = prompt_version = None
        if isinstance(system, SystemPrompt):
            request_params["system"] = system.text
            prompt_name, prompt_version = system.name, system.version
        elif system:
            request_params["system"] = system
        if tool_choice is not None:
            request_params["tool_choice"] = dict(tool_choice)
        elif output is not None and not _thinking_enabled(thinking):
            # The run must end in a final_result call; "any" makes the model call some tool
            # every turn (thinking allows only "auto", where a reminder does the job).
            request_params["tool_choice"] = {"type": "any"}
        optional: dict[str, Any] = {
            "temperature": temperature,
            "top_p": top_p,
            "top_k": top_k,
            "stop_sequences": list(stop_sequences) if stop_sequences is not None else None,
            "metadata": dict(metadata) if metadata is not None else None,
            "thinking": dict(thinking) if thinking is not None else None,
            "service_tier": service_tier,
            "fallback_models": list(fallback_models) or None,
        }
        request_params.update({k: v for k, v in optional.items() if v is not None})
        self._config = LoopConfig(
            model=model,
            tools={tool.name: tool for tool in toolset},
            request_params=request_params,
            max_tokens=max_tokens,
            limits=limits,
            max_tool_retries=max_tool_retries,
            prices=price_table,
            output=output,
            has_approval_policy=approval_policy is not None,
            cache=cache,
            cache_ttl=cache_ttl,
            prompt_name=prompt_name,
            prompt_version=prompt_version,
        )
        self._secret_fields = {
            tool.name: sorted(tool.secret_fields) for tool in toolset if tool.secret_fields
        }
        self._drivers = _Drivers(
            tuple(before_tool), tuple(after_tool), approval_policy, approver, approval_timeout_s
        )
        self._tool_concurrency = tool_concurrency
        self._client = client
        self._async_client = async_client
        self._owned: list[Client | AsyncClient] = []

    @property
    def model(self) -> str | Router:
        """The model id or router."""
        return self._config.model

    @property
    def tools(self) -> Mapping[str, Tool]:
        """The tools by name."""
        return self._config.tools

    # --- clients -----------------------------------------------------------------------------

    def _sync_client(self) -> Client:
        if self._client is None:
            self._client = Client()
            self._owned.append(self._client)
        return self._client

    def _aclient(self) -> AsyncClient:
        if self._async_client is None:
            self._async_client = AsyncClient()
            self._owned.append(self._async_client)
        return self._async_client

    def close(self) -> None:
        """Close the blocking client the agent built for itself (clients passed in stay open)."""
        if self._client is not None and self._client in self._owned:
            self._owned.remove(self._client)
            self._client.close()
            self._client = None

    async def aclose(self) -> None:
        """Close every client the agent built for itself."""
        self.close()
        if self._async_client is not None and self._async_client in self._owned:
            self._owned.remove(self._async_client)
            await self._async_client.close()
            self._async_client = None

    # --- starting and resuming ---------------------------------------------------------------

    def new_state(self, prompt: Prompt) -> RunState:
        """The state of a run that has not started: the conversation and the prompt version."""
        config = self._config
        model = config.model if isinstance(config.model, str) else ""
        return RunState(
            model=model,
            messages=_conversation(prompt),
            prompt_name=config.prompt_name,
            prompt_version=config.prompt_version,
            secret_fields_by_tool=dict(self._secret_fields),
        )

    def _loop(self, state: RunState) -> AgentLoop:
        return AgentLoop(self._config, state)

    def run(self, prompt: Prompt) -> RunResult:
        """Run to a final answer (or a pause, or a limit), blocking."""
        return _last(self._events(self._loop(self.new_state(prompt)), streaming=False))

    def resume(self, state: RunState, decisions: Mapping[str, Decision] | None = None) -> RunResult:
        """Continue a paused (or limit-stopped, or failed) run, blocking.

        ``decisions`` map call ids to decisions for the calls waiting for approval; calls
        already executed are never run again.
        """
        return _last(self._events(self._loop(state), decisions, streaming=False))

    def stream(self, prompt: Prompt) -> Iterator[RunEvent]:
        """Run, yielding events as they happen; the last one is :class:`RunFinished`."""
        return self._events(self._loop(self.new_state(prompt)), streaming=True)

    def resume_stream(
        self, state: RunState, decisions: Mapping[str, Decision] | None = None
    ) -> Iterator[RunEvent]:
        """:meth:`resume`, yielding events as they happen."""
        return self._events(self._loop(state), decisions, streaming=True)

    async def arun(self, prompt: Prompt) -> RunResult:
        """Async :meth:`run`; a turn's tool calls run concurrently."""
        return await _alast(self._aevents(self._loop(self.new_state(prompt)), streaming=False))

    async def aresume(
        self, state: RunState, decisions: Mapping[str, Decision] | None = None
    ) -> RunResult:
        """Async :meth:`resume`."""
        return await _alast(self._aevents(self._loop(state), decisions, streaming=False))

    def astream(self, prompt: Prompt) -> AsyncIterator[RunEvent]:
        """Async :meth:`stream`."""
        return self._aevents(self._loop(self.new_state(prompt)), streaming=True)

    def aresume_stream(
        self, state: RunState, decisions: Mapping[str, Decision] | None = None
    ) -> AsyncIterator[RunEvent]:
        """Async :meth:`resume_stream`."""
        return self._aevents(self._loop(state), decisions, streaming=True)

    # --- the blocking driver -----------------------------------------------------------------

    def _events(
        self,
        loop: AgentLoop,
        decisions: Mapping[str, Decision] | None = None,
        *,
        streaming: bool,
    ) -> Iterator[RunEvent]:
        drivers = self._drivers
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
                client = self._sync_client()
                began = perf_counter()
                try:
                    if streaming:
                        message = yield from _stream_model(client, action.params)
                    else:
                        message = client.messages.create(**action.params)
                except (APIError, StreamError) as exc:
                    action = loop.model_failed(exc)
                    continue
                action = loop.model_responded(message, latency_s=perf_counter() - began)
                if logging_on:
                    _log_model_call(loop)
                yield ModelTurnCompleted(state.turns[-1])
            elif kind is RunTools:
                assert isinstance(action, RunTools)
                outcomes = []
                for call in action.calls:
                    yield ToolCallStarted(call.id, call.name, call.arguments)
                    began = perf_counter()
                    outcome = run_call(call, drivers.before_tool, drivers.after_tool)
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
                        policy=drivers.approval_policy,
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
                approver = drivers.approver
                if approver is None:
                    action = loop.pause()
                    continue
                answers: dict[str, Decision] = {}
                for request in action.requests:
                    decision = decide(
                        approver,  # type: ignore[arg-type]
                        request,
                        timeout_s=drivers.approval_timeout_s,
                    )
                    answers[request.call_id] = decision
                    if logging_on:
                        _log_decision(request.tool_name, request.call_id, decision)
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

    # --- the asyncio driver ------------------------------------------------------------------

    async def _aevents(
        self,
        loop: AgentLoop,
        decisions: Mapping[str, Decision] | None = None,
        *,
        streaming: bool,
    ) -> AsyncIterator[RunEvent]:
        drivers = self._drivers
        state = loop.state
        logging_on = _log.is_enabled_for(_INFO)
        if logging_on:
            _log_start(loop)
        started = perf_counter()
        limit = asyncio.Semaphore(self._tool_concurrency)
        action = loop.next_action(decisions)
        while True:
            kind = type(action)
            if kind is CallModel:
                assert isinstance(action, CallModel)
                if logging_on and action.route_reason is not None:
                    _log.info("model.route", model=action.model, reason=action.route_reason)
                client = self._aclient()
                began = perf_counter()
                try:
                    if streaming:
                        async with client.messages.stream(**action.params) as stream:
                            async for event in stream:
                                delta = _delta_event(event)
                                if delta is not None:
                                    yield delta
                            message = await stream.get_final_message()
                    else:
                        message = await client.messages.create(**action.params)
                except (APIError, StreamError) as exc:
                    action = loop.model_failed(exc)
                    continue
                action = loop.model_responded(message, latency_s=perf_counter() - began)
                if logging_on:
                    _log_model_call(loop)
                yield ModelTurnCompleted(state.turns[-1])
            elif kind is RunTools:
                assert isinstance(action, RunTools)
                calls = action.calls
                for call in calls:
                    yield ToolCallStarted(call.id, call.name, call.arguments)

                async def run_one(call: ToolCall) -> tuple[ToolOutcome, float]:
                    async with limit:
                        began = perf_counter()
                        outcome = await arun_call(call, drivers.before_tool, drivers.after_tool)
                        return outcome, perf_counter() - began

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
                        policy=drivers.approval_policy,
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
                approver = drivers.approver
                if approver is None:
                    action = loop.pause()
                    continue
                answers: dict[str, Decision] = {}
                for request in action.requests:
                    decision = await adecide(
                        approver,  # type: ignore[arg-type]
                        request,
                        timeout_s=drivers.approval_timeout_s,
                    )
                    answers[request.call_id] = decision
                    if logging_on:
                        _log_decision(request.tool_name, request.call_id, decision)
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


def _require_positive(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"{name} must be a positive integer, not {value!r}")


def _thinking_enabled(thinking: Mapping[str, Any] | None) -> bool:
    return thinking is not None and thinking.get("type") not in (None, "disabled")


def _conversation(prompt: Prompt) -> list[dict[str, Any]]:
    if isinstance(prompt, str):
        if not prompt.strip():
            raise ConfigurationError("the prompt is empty")
        return [{"role": "user", "content": prompt}]
    messages = [to_wire(message) for message in prompt]
    if not messages:
        raise ConfigurationError("the conversation is empty: give a prompt or messages")
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            raise ConfigurationError(
                f"message {index} must be a dict with role 'user' or 'assistant', not {message!r}"
            )
    return messages


def _stream_model(client: Client, params: dict[str, Any]) -> Generator[RunEvent, None, Message]:
    # A generator returning the final message, so the driver can ``yield from`` it.
    with client.messages.stream(**params) as stream:
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


def _result_event(call: ToolCall, outcome: ToolOutcome, elapsed: float) -> ToolResultEvent:
    output = outcome.output
    return ToolResultEvent(
        call.id, call.name, output.content, output.is_error, outcome.executed, elapsed
    )


def _last(events: Iterator[RunEvent]) -> RunResult:
    for event in events:
        if type(event) is RunFinished:
            return event.result
    raise AssertionError("a run ended without a RunFinished event")


async def _alast(events: AsyncIterator[RunEvent]) -> RunResult:
    async for event in events:
        if type(event) is RunFinished:
            return event.result
    raise AssertionError("a run ended without a RunFinished event")


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


def _log_model_call(loop: AgentLoop) -> None:
    state = loop.state
    turn = state.turns[-1]
    usage = turn.usage
    _log.info(
        "model.call",
        run_id=state.run_id,
        model=turn.model,
        latency_ms=round(turn.latency_s * 1000, 1),
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_creation_input_tokens=usage.cache_creation_input_tokens or 0,
        cache_read_input_tokens=usage.cache_read_input_tokens or 0,
        cost_usd=None if turn.cost_usd is None else str(turn.cost_usd),
        stop_reason=turn.stop_reason,
        request_id=turn.request_id,
        turn=len(state.turns),
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


def _log_decision(tool_name: str, call_id: str, decision: Decision) -> None:
    _log.info(
        "approval.decision",
        tool=tool_name,
        call_id=call_id,
        decision=decision.kind,
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
