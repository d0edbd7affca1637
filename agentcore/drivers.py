"""The two drivers of a run: the only place it does I/O.

Both drive the same :func:`~agentcore._run_flow.run_flow`, which holds everything a run does
between the :class:`~agentcore.loop.AgentLoop`'s decisions (events, logging, timing) and
yields the loop's own actions. A driver performs each action and hands the
events on: :class:`~agentcore.actions.CallModel` through the client (plain or streamed),
:class:`~agentcore.actions.RunTools` through the hooks and the tools,
:class:`~agentcore.actions.CheckApproval` through the approval policies,
:class:`~agentcore.actions.CompactContext` through the compaction policy,
:class:`~agentcore.actions.CountTokens` through the client's ``count_tokens`` and
:class:`~agentcore.actions.AskApproval` through the approver. :func:`drive` blocks and runs a
turn's calls in order; :func:`adrive` uses asyncio and runs them concurrently, up to
``tool_concurrency`` at a time (sync tools in threads).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Callable, Generator, Iterator, Mapping
from dataclasses import dataclass
from time import perf_counter
from typing import Any, cast

from agentcore._awaitables import resolve
from agentcore._run_flow import run_flow
from agentcore.approval.gate import (
    AnyApprover,
    aapproval_reason,
    adecide,
    approval_reason,
    decide,
)
from agentcore.approval.requests import Decision
from agentcore.client._client import AsyncClient, Client, MessageCreateParams
from agentcore.errors import APIError, ConfigurationError, StreamError
from agentcore.events import ModelWaiting, RunEvent, TextDelta, ThinkingDelta
from agentcore.hooks import AfterToolHook, BeforeToolHook, arun_call, run_call
from agentcore.loop import (
    AgentLoop,
    AskApproval,
    CallModel,
    CheckApproval,
    CompactContext,
    CountTokens,
    RunTools,
    ToolCall,
    ToolOutcome,
)
from agentcore.streaming.events import TextDeltaEvent, ThinkingDeltaEvent
from agentcore.types import Message, ModelWait

__all__ = ["DriverSettings", "adrive", "drive"]

_Reply = Message | APIError | StreamError


@dataclass(frozen=True, slots=True)
class DriverSettings:
    """What both drivers need besides the loop: the user code they call."""

    before_tool: tuple[BeforeToolHook, ...]
    after_tool: tuple[AfterToolHook, ...]
    approver: AnyApprover | None
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
            step = flow.send(answer)
        except StopIteration:
            return
        if type(step) not in _ACTIONS:
            answer = None
            yield cast(RunEvent, step)
        elif isinstance(step, CallModel):
            answer = yield from _call_model(client(), _request(loop, step), streaming=streaming)
        elif isinstance(step, RunTools):
            answer = [_timed_run(call, settings) for call in step.calls]
        elif isinstance(step, CompactContext):
            try:
                answer = resolve(step.policy.compact(step.request))
            except Exception as exc:
                answer = exc
        elif isinstance(step, CountTokens):
            try:
                answer = client().messages.count_tokens(**step.params)
            except Exception as exc:
                answer = exc
        elif isinstance(step, CheckApproval):
            policy, allowed = step.policy, step.always_allowed
            answer = {
                call.id: approval_reason(
                    call.tool, call.arguments, policy=policy, always_allowed=allowed
                )
                for call in step.calls
            }
        elif isinstance(step, AskApproval):
            if approver is None:
                raise _no_approver()
            answer = [
                decide(approver, request, timeout_s=settings.approval_timeout_s)
                for request in step.requests
            ]
        else:
            answer = None
            yield step


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
            step = flow.send(answer)
        except StopIteration:
            return
        if type(step) not in _ACTIONS:
            answer = None
            yield cast(RunEvent, step)
        elif isinstance(step, CallModel):
            async for item in _acall_model(client(), _request(loop, step), streaming=streaming):
                if isinstance(item, _PASSED_ON):
                    yield item
                else:
                    answer = item
        elif isinstance(step, RunTools):
            answer = await asyncio.gather(*(run_one(call) for call in step.calls))
        elif isinstance(step, CompactContext):
            try:
                answer = step.policy.compact(step.request)
                if inspect.isawaitable(answer):
                    answer = await answer
            except Exception as exc:
                answer = exc
        elif isinstance(step, CountTokens):
            try:
                answer = await client().messages.count_tokens(**step.params)
            except Exception as exc:
                answer = exc
        elif isinstance(step, CheckApproval):
            policy, allowed = step.policy, step.always_allowed
            answer = {}
            for call in step.calls:
                answer[call.id] = await aapproval_reason(
                    call.tool, call.arguments, policy=policy, always_allowed=allowed
                )
        elif isinstance(step, AskApproval):
            if approver is None:
                raise _no_approver()
            answer = [
                await adecide(approver, request, timeout_s=settings.approval_timeout_s)
                for request in step.requests
            ]
        else:
            answer = None
            yield step


_ACTIONS = frozenset(
    {CallModel, RunTools, CompactContext, CountTokens, CheckApproval, AskApproval}
)
"""The steps of a run flow a driver carries out; every other step is an event, passed on as is.
Most steps are events, so they are told apart by exact type first (the actions are final)."""


# --- the model call ----------------------------------------------------------------------------

_PASSED_ON = (TextDelta, ThinkingDelta, ModelWaiting)
"""What an async model call yields before its last item (the reply): passed on to the consumer."""


def _request(loop: AgentLoop, action: CallModel) -> dict[str, Any]:
    """The keyword arguments of ``messages.create`` / ``.stream`` for ``action``.

    The client logs the one ``model.call`` event of each response (and its retries); the
    run adds who asked, and the prices it counts with.
    """
    state = loop.state
    fields = {
        "run_id": state.run_id,
        "turn": len(state.turns) + 1,
        "prompt_name": state.prompt_name,
        "prompt_version": state.prompt_version,
    }
    return {**action.params, "log_fields": fields, "prices": loop.config.prices}


def _call_model(
    client: Client, request: dict[str, Any], *, streaming: bool
) -> Generator[TextDelta | ThinkingDelta | ModelWaiting, None, _Reply]:
    """Send ``request``, yielding a :class:`ModelWaiting` before each wait (a retry's backoff,
    the rate limit) starts, and text and thinking deltas when streaming; return the reply or
    the error that ended the call.

    The wait itself happens when the consumer asks for the next event, so whoever shows the
    ``ModelWaiting`` shows it for the whole wait.
    """
    messages = client.messages
    try:
        if not streaming:
            steps = messages._create_waits(cast(MessageCreateParams, request))
            while True:
                try:
                    wait = next(steps)
                except StopIteration as stop:
                    message: Message = stop.value
                    return message
                yield ModelWaiting(wait)
        with messages.stream(**request) as stream:
            for event in stream._with_waits():
                delta = _delta_event(event)
                if delta is not None:
                    yield delta
                elif type(event) is ModelWait:
                    yield ModelWaiting(event)
            return stream.get_final_message()
    except (APIError, StreamError) as exc:
        return exc
    except Exception as exc:
        return _unexpected(exc)


async def _acall_model(
    client: AsyncClient, request: dict[str, Any], *, streaming: bool
) -> AsyncIterator[TextDelta | ThinkingDelta | ModelWaiting | _Reply]:
    """Async :func:`_call_model`: the waits and deltas, then the reply or the error as the
    last item."""
    messages = client.messages
    reply: _Reply
    try:
        if not streaming:
            done: list[Message] = []
            async for wait in messages._create_waits(
                cast(MessageCreateParams, request), done
            ):
                yield ModelWaiting(wait)
            reply = done[0]
        else:
            async with messages.stream(**request) as stream:
                async for event in stream._with_waits():
                    delta = _delta_event(event)
                    if delta is not None:
                        yield delta
                    elif type(event) is ModelWait:
                        yield ModelWaiting(event)
                reply = await stream.get_final_message()
    except (APIError, StreamError) as exc:
        reply = exc
    except Exception as exc:
        reply = _unexpected(exc)
    yield reply


def _delta_event(event: object) -> TextDelta | ThinkingDelta | None:
    """The run event of a streamed text or thinking delta; None for any other event."""
    if type(event) is TextDeltaEvent:
        return TextDelta(event.text)
    if type(event) is ThinkingDeltaEvent:
        return ThinkingDelta(event.thinking)
    return None


def _no_approver() -> ConfigurationError:
    return ConfigurationError(
        "the run asks an approver but none is attached; build its loop with "
        "LoopConfig(pause_for_approval=True) so that such a run pauses"
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
