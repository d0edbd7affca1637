"""Runs that outlive their process: kept in a :class:`~agentcore.store.RunStore`.

``Agent(..., store=RunStore("runs.db"))`` keeps every run's state, its pending approvals and
an audit trail in the store; people decide later (``agentcore approvals approve 3``), and
``agent.resume(run_id)`` continues the run with their decisions, in any process. The
functions here do the storing for it; :func:`run_stored` and :func:`resume_stored` do the
same for an agent given the store separately.

:class:`ExecutionJournal` makes tool execution at-most-once across crashes: its
``before_tool`` hook claims each call in the store before it runs (committed first), and a
call claimed before is never run again; if the earlier attempt never finished, the model is
told its outcome is unknown. An agent with a store wires it around its own hooks.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentcore.approval.requests import ApprovalRequest, Decision, arguments_hash
from agentcore.errors import ApprovalError, ConfigurationError, RunStateError
from agentcore.events import (
    ApprovalDecided,
    ApprovalRequested,
    ModelTurnCompleted,
    RunEvent,
    RunFinished,
    ToolCallStarted,
    ToolResultEvent,
)
from agentcore.hooks import Veto
from agentcore.redaction import redact_content, secret_values_in
from agentcore.state import RunResult, RunState, has_masked_secrets
from agentcore.store._schema import secret_names
from agentcore.store.runs import RunStore

if TYPE_CHECKING:
    from agentcore.agent import Agent, Prompt
    from agentcore.loop import ToolCall
    from agentcore.tools._tool import ToolOutput

__all__ = ["ExecutionJournal", "aresume_stored", "arun_stored", "resume_stored", "run_stored"]


class ExecutionJournal:
    """Tool hooks that record every execution in ``store`` so no call ever runs twice.

    ``Agent(..., store=store)`` wires one for each run itself. For a custom setup, pass
    ``before_tool=[..., journal.before_tool]`` (last, so no later hook can veto a call
    already claimed) and ``after_tool=[journal.after_tool, ...]`` (first, so it records what
    the tool itself returned) to the :class:`~agentcore.Agent`. Records are filed under
    ``run_id`` when given, else under the run set with :meth:`RunStore.running` (done by
    :func:`run_stored` / :func:`resume_stored`).
    """

    def __init__(self, store: RunStore, run_id: str | None = None) -> None:
        self.store = store
        self.run_id = run_id

    def _run_id(self) -> str:
        run_id = self.run_id if self.run_id is not None else self.store.current_run_id()
        if not run_id:
            # Filed under no run, one run's call would meet another's record with the same
            # tool_use id: it would be refused there, and told the other run's result.
            raise ConfigurationError(
                "ExecutionJournal has no run to file this call under: give it run_id=, or "
                "run through Agent(store=...), run_stored or resume_stored"
            )
        return run_id

    def before_tool(self, call: ToolCall) -> Veto | None:
        """Claim the call; veto it when an earlier attempt already claimed it."""
        run_id = self._run_id()
        claimed = self.store.begin_execution(
            run_id,
            call.id,
            tool=call.name,
            arguments=call.arguments,
            secret_fields=call.tool.secret_fields,
        )
        if claimed:
            return None
        record = self.store.execution(run_id, call.id)
        if record is not None and record.status in ("succeeded", "failed"):
            return Veto(
                f"this exact call already ran in an earlier attempt and {record.status}, so it "
                f"is not run twice; its result was: {_result_text(record.result)}"
            )
        return Veto(
            "an earlier attempt of this exact call was interrupted while it ran, so whether "
            "it took effect is unknown; it is not run twice. Check its effect before asking "
            "to do it again."
        )

    def after_tool(self, call: ToolCall, output: ToolOutput) -> None:
        """Record how the call ended (a result quoting a secret argument is masked)."""
        names = secret_names(call.arguments, call.tool.secret_fields)
        result = output.content
        if names:
            values = secret_values_in(call.arguments, names)
            result = redact_content(result, secret_fields=names, secret_values=values)
        self.store.finish_execution(
            self._run_id(), call.id, is_error=output.is_error, result=result
        )


def _result_text(result: Any) -> str:
    if isinstance(result, str):
        return result
    if isinstance(result, list):
        texts = [block.get("text", "") for block in result if isinstance(block, dict)]
        return " ".join(text for text in texts if text) or "(no text)"
    return "(no result recorded)"


def run_stored(
    agent: Agent,
    store: RunStore,
    prompt: Prompt,
    *,
    decided_by: str = "approver",
    on_event: Callable[[RunEvent], None] | None = None,
) -> RunResult:
    """Run ``agent`` on ``prompt``, keeping the run, its pending approvals and audit in ``store``.

    ``Agent(..., store=store)`` does this on its own (``agent.run(prompt)``); this function
    also serves an agent built without a store, whose journal, if any, is wired by hand. A
    run that pauses can be decided from anywhere (the ``agentcore approvals`` command) and
    continued with :func:`resume_stored`. Decisions an attached approver makes are audited
    as made by ``decided_by``. ``on_event`` sees every run event as it happens (to stream
    the answer to a screen).

    Raises:
        ConfigurationError: the agent keeps its runs in another store.
    """
    state = agent.new_state(prompt)
    if _stores_itself(agent, store):
        return _consume(agent._stored_events(state, None, decided_by, resumed=False), on_event)
    events = stored_events(
        store, state, agent.resume_stream(state), decided_by=decided_by, resumed=False
    )
    with store.running(state.run_id):
        return _consume(events, on_event)


def resume_stored(
    agent: Agent,
    store: RunStore,
    run_id: str,
    *,
    decided_by: str = "approver",
    on_event: Callable[[RunEvent], None] | None = None,
) -> RunResult:
    """Continue a stored run with the decisions recorded for it, and store where it ends.

    The state and each decision are checked against their MACs first, and the secret
    arguments of the waiting calls are decrypted, so an approved call runs as it was asked.
    ``agent.resume(run_id)`` does the same for an ``Agent(..., store=store)``.

    Raises:
        RunStateError: no such run, or its stored state, a pending call or a decision is
            corrupt or was tampered with (nothing runs then).
        ApprovalError: an attached approver decided a call that someone decided in the store
            meanwhile; nothing was done with either decision, and resuming again applies the
            stored one.
        ConfigurationError: the agent keeps its runs in another store.
    """
    if _stores_itself(agent, store):
        state, decisions = open_run(agent.store or store, run_id)
        events = agent._stored_events(state, decisions, decided_by, resumed=True)
        return _consume(events, on_event)
    state, decisions = open_run(store, run_id)
    events = stored_events(
        store, state, agent.resume_stream(state, decisions), decided_by=decided_by, resumed=True
    )
    with store.running(state.run_id):
        return _consume(events, on_event)


async def arun_stored(
    agent: Agent,
    store: RunStore,
    prompt: Prompt,
    *,
    decided_by: str = "approver",
    on_event: Callable[[RunEvent], None] | None = None,
) -> RunResult:
    """Async :func:`run_stored` (a turn's tool calls run concurrently)."""
    state = agent.new_state(prompt)
    if _stores_itself(agent, store):
        events = agent._astored_events(state, None, decided_by, resumed=False)
        return await _aconsume(events, on_event)
    stored = astored_events(
        store, state, agent.aresume_stream(state), decided_by=decided_by, resumed=False
    )
    with store.running(state.run_id):
        return await _aconsume(stored, on_event)


async def aresume_stored(
    agent: Agent,
    store: RunStore,
    run_id: str,
    *,
    decided_by: str = "approver",
    on_event: Callable[[RunEvent], None] | None = None,
) -> RunResult:
    """Async :func:`resume_stored`."""
    if _stores_itself(agent, store):
        state, decisions = open_run(agent.store or store, run_id)
        events = agent._astored_events(state, decisions, decided_by, resumed=True)
        return await _aconsume(events, on_event)
    state, decisions = open_run(store, run_id)
    stored = astored_events(
        store,
        state,
        agent.aresume_stream(state, decisions),
        decided_by=decided_by,
        resumed=True,
    )
    with store.running(state.run_id):
        return await _aconsume(stored, on_event)


def same_store(store: RunStore, path: str | os.PathLike[str]) -> bool:
    """Whether ``store`` is the file at ``path`` (an in-memory store is no file)."""
    if str(store.path) in ("", ":memory:") or str(path) in ("", ":memory:"):
        return False
    try:
        return os.path.samefile(store.path, path)
    except OSError:
        return store.path.resolve() == Path(path).resolve()


def _stores_itself(agent: Agent, store: RunStore) -> bool:
    """Whether ``agent`` keeps its runs in a store of its own, which must be ``store``."""
    own = agent.store
    if own is None:
        return False
    if own is not store and not same_store(own, store.path):
        raise ConfigurationError(
            f"the agent keeps its runs in {str(own.path)!r}, not in {str(store.path)!r}; "
            "pass the agent's own store"
        )
    return True


def _consume(events: Iterator[RunEvent], on_event: Callable[[RunEvent], None] | None) -> RunResult:
    result: RunResult | None = None
    try:
        for event in events:
            if type(event) is RunFinished:
                result = event.result
            if on_event is not None:
                on_event(event)
    finally:
        _close(events)
    if result is None:
        raise RunStateError("a stored run ended without a result")
    return result


async def _aconsume(
    events: AsyncIterator[RunEvent], on_event: Callable[[RunEvent], None] | None
) -> RunResult:
    result: RunResult | None = None
    try:
        async for event in events:
            if type(event) is RunFinished:
                result = event.result
            if on_event is not None:
                on_event(event)
    finally:
        await _aclose(events)
    if result is None:
        raise RunStateError("a stored run ended without a result")
    return result


def _close(events: Iterator[RunEvent]) -> None:
    close = getattr(events, "close", None)
    if close is not None:
        close()


async def _aclose(events: AsyncIterator[RunEvent]) -> None:
    close = getattr(events, "aclose", None)
    if close is not None:
        await close()


def open_run(
    store: RunStore,
    run: str | RunState,
    decisions: Mapping[str, Decision] | None = None,
    *,
    decided_by: str = "application",
) -> tuple[RunState, dict[str, Decision]]:
    """The stored state of ``run`` (a run id, or a state standing for its run id) and the
    decisions to resume it with: those recorded in the store, plus ``decisions``.

    The state is the one in the store, checked and unsealed, never the object passed in. Each
    of ``decisions`` is recorded in the store first (audited as made by ``decided_by``), so
    nobody decides that call again.

    Raises:
        RunStateError: no such run, or its stored state, a pending call or a decision is
            corrupt or was tampered with.
        ApprovalError: a given decision names a call not waiting for approval, or one
            already decided in the store (nothing is recorded then).
        ConfigurationError: ``run`` is neither a run id nor a :class:`RunState`.
    """
    if isinstance(run, RunState):
        run_id = run.run_id
    elif isinstance(run, str):
        run_id = run
    else:
        raise ConfigurationError(f"resume takes a run id or a RunState, not {run!r}")
    state = _stored_state(store, run_id)
    if decisions:
        _record_given(store, state, decisions, decided_by)
    waiting = {call.call_id for call in state.pending_approvals()}
    stored = {
        call_id: decision
        for call_id, decision in store.decisions_for(run_id).items()
        if call_id in waiting
    }
    for call_id, decision in (decisions or {}).items():
        stored.setdefault(call_id, decision)
    return state, stored


def _stored_state(store: RunStore, run_id: str) -> RunState:
    record = store.load_run(run_id)
    state = RunState.from_json(record.state_json, trusted=True)
    if state.run_id != run_id:
        raise RunStateError(
            f"run {run_id!r}: its stored state belongs to run {state.run_id!r}; refusing it"
        )
    for call in state.pending:
        if (
            call.status in ("check", "ready")
            and has_masked_secrets(call)
            and store.execution(run_id, call.call_id) is None
        ):
            # Stored before it ran, with its secrets masked: it goes back to waiting for
            # approval, so it runs only with its real arguments restored below and its stored
            # decision applied again, or not at all. (A call claimed already never runs again:
            # the journal answers for it.)
            call.status = "approval"
        if call.status == "approval" and has_masked_secrets(call):
            real = store.call_arguments(run_id, call.call_id)
            if real is not None and arguments_hash(real) == call.arguments_hash:
                call.arguments = real
                call.arguments_masked = False
    return state


def _record_given(
    store: RunStore, state: RunState, decisions: Mapping[str, Decision], decided_by: str
) -> None:
    waiting = {call.call_id for call in state.pending_approvals()}
    stray = sorted(set(decisions) - waiting)
    if stray:
        raise ApprovalError(
            f"run {state.run_id!r} has no call waiting for approval with id "
            f"{', '.join(map(repr, stray))}; nothing was decided"
        )
    approvals = {
        approval.call_id: approval
        for approval in store.list_approvals(status=None, run_id=state.run_id)
    }
    decided = [
        approvals[call_id]
        for call_id in decisions
        if call_id in approvals and approvals[call_id].status != "pending"
    ]
    if decided:
        first = decided[0]
        raise ApprovalError(
            f"approval {first.approval_id} ({first.tool_name}, call {first.call_id}) was "
            f"already decided: {first.status}; nothing was decided"
        )
    for call_id, decision in decisions.items():
        if call_id in approvals:
            store.record_decision(approvals[call_id].approval_id, decision, decided_by=decided_by)


def stored_events(
    store: RunStore,
    state: RunState,
    events: Iterator[RunEvent],
    *,
    decided_by: str,
    resumed: bool,
) -> Iterator[RunEvent]:
    """Pass on ``events`` of the run of ``state`` while keeping the run in ``store``.

    The run is stored (or its resumption audited) before the first event; decisions an
    attached approver makes are recorded as they come; the result is stored before
    :class:`RunFinished` is passed on, so a caller may stop there. A run that raises, or
    whose events are abandoned before the end, is stored as failed (resumable), or left as
    it was when nothing had moved on yet.
    """
    recorder = _Recorder(store, state, decided_by, None)
    recorder.begin(state, resumed=resumed)
    try:
        for event in events:
            recorder.see(event)
            if type(event) is RunFinished:
                recorder.finish()
            yield event
    except (Exception, GeneratorExit) as exc:
        recorder.abandon(state, exc)
        raise
    finally:
        _close(events)


async def astored_events(
    store: RunStore,
    state: RunState,
    events: AsyncIterator[RunEvent],
    *,
    decided_by: str,
    resumed: bool,
) -> AsyncIterator[RunEvent]:
    """Async :func:`stored_events`."""
    recorder = _Recorder(store, state, decided_by, None)
    recorder.begin(state, resumed=resumed)
    try:
        async for event in events:
            recorder.see(event)
            if type(event) is RunFinished:
                recorder.finish()
            yield event
    except (Exception, GeneratorExit) as exc:
        recorder.abandon(state, exc)
        raise
    finally:
        await _aclose(events)


_PROGRESS = (ModelTurnCompleted, ToolCallStarted, ToolResultEvent)


class _Recorder:
    """Follows a run's events: records and audits decisions, then stores where the run ended.

    A decision an attached approver makes on a call the store holds as pending marks it
    decided there, so ``agentcore approvals`` cannot decide it again.
    """

    def __init__(
        self,
        store: RunStore,
        state: RunState,
        decided_by: str,
        on_event: Callable[[RunEvent], None] | None,
    ) -> None:
        self.store = store
        self.state = state
        self.run_id = state.run_id
        self.decided_by = decided_by
        self.on_event = on_event
        self.requests: dict[str, ApprovalRequest] = {}
        self.result: RunResult | None = None
        self.stored = False
        """The run's end is in the store."""
        self.progressed = False
        """A model call was answered or a tool ran: the run moved on from how it was stored."""
        self.unsaved_reply = False
        """The model answered since the state was last stored."""

    def begin(self, state: RunState, *, resumed: bool) -> None:
        """Store a new run as running, or audit that a stored one is resumed."""
        if resumed:
            self.store.record_event("run.resumed", run_id=state.run_id)
            return
        self.store.save_run(state.run_id, state.to_json(), status="running")
        self.store.record_event("run.started", run_id=state.run_id)

    def see(self, event: RunEvent) -> None:
        # Recorded before on_event runs, so a handler that raises loses nothing.
        if isinstance(event, _PROGRESS):
            self.progressed = True
        kind = type(event)
        if kind is ModelTurnCompleted:
            self.unsaved_reply = True
        elif kind is ToolCallStarted and self.unsaved_reply:
            # Stored before the reply's tools run: resumed after a crash, the run goes on
            # from this reply (its calls known to the journal by their ids), instead of
            # asking the model again, which would ask for the same actions under new ids.
            self.unsaved_reply = False
            self.store.save_run(self.run_id, self.state.to_json(), status="running")
        if isinstance(event, ApprovalRequested):
            self.requests[event.request.call_id] = event.request
        elif isinstance(event, ApprovalDecided):
            _audit_decision(self.store, self.run_id, self.requests, event, self.decided_by)
        elif isinstance(event, RunFinished):
            self.result = event.result
        if self.on_event is not None:
            self.on_event(event)

    def abandon(self, state: RunState, error: BaseException) -> None:
        """The run raised (or was abandoned) instead of finishing: store it as failed
        (resumable), never leave it marked running. A run that had finished (only the
        caller raised) is stored as it ended."""
        if self.stored:
            return
        if self.result is not None:
            self.finish()
            return
        if not self.progressed and self.store.load_run(state.run_id).status == "paused":
            # Refused before any model call or tool ran (a lost tool, a decision made in the
            # store meanwhile): the paused run is kept as it was, to be resumed once fixed.
            self.store.record_event(
                "run.resume_refused", run_id=state.run_id, reason=type(error).__name__
            )
            return
        self.store.save_run(state.run_id, state.to_json(), status="failed")
        self.store.record_event(
            "run.finished", run_id=state.run_id, outcome="failed", reason=type(error).__name__
        )

    def finish(self) -> RunResult:
        result = self.result
        if result is None:
            raise RunStateError(f"run {self.run_id!r} ended without a result")
        requests = self.requests
        pending = [requests[call.call_id] for call in result.pending if call.call_id in requests]
        final = result.state
        self.store.save_run(final.run_id, final.to_json(), status=result.status, pending=pending)
        self.stored = True
        self.store.record_event("run.finished", run_id=final.run_id, outcome=result.status)
        return result


def _audit_decision(
    store: RunStore,
    run_id: str,
    requests: Mapping[str, ApprovalRequest],
    event: ApprovalDecided,
    decided_by: str,
) -> None:
    stored = [
        approval
        for approval in store.list_approvals(status=None, run_id=run_id)
        if approval.call_id == event.call_id
    ]
    if stored:
        # The call also waits in the store, where anyone could decide it: the decision is
        # recorded there (and audited) so it is never decided a second time. If someone did
        # decide it meanwhile, this raises before the run acts on either decision.
        store.record_decision(stored[0].approval_id, event.decision, decided_by=decided_by)
        return
    request = requests.get(event.call_id)
    store.record_event(
        "approval.decision",
        run_id=run_id,
        call_id=event.call_id,
        tool=event.tool_name,
        arguments=None if request is None else request.arguments,
        secret_fields=() if request is None else request.secret_fields,
        decision=event.decision.kind,
        decided_by=decided_by,
        reason=getattr(event.decision, "reason", None),
    )
