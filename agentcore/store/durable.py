"""Runs that outlive their process: kept in a :class:`~agentcore.store.RunStore`.

:func:`run_stored` runs an agent and keeps its state, its pending approvals and an audit
trail in the store; people decide later (``agentcore approvals approve 3``), and
:func:`resume_stored` continues the run with their decisions, in any process.

:class:`ExecutionJournal` makes tool execution at-most-once across crashes: its
``before_tool`` hook claims each call in the store before it runs (committed first), and a
call claimed before is never run again; if the earlier attempt never finished, the model is
told its outcome is unknown.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from agentcore.approval.requests import ApprovalRequest, Decision, arguments_hash
from agentcore.errors import RunStateError
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

    Pass ``before_tool=[..., journal.before_tool]`` (last, so no later hook can veto a call
    already claimed) and ``after_tool=[journal.after_tool, ...]`` (first, so it records what
    the tool itself returned) to the :class:`~agentcore.Agent`. Records are filed under the
    run set with :meth:`RunStore.running` (done by :func:`run_stored` / :func:`resume_stored`).
    """

    def __init__(self, store: RunStore) -> None:
        self.store = store

    def _run_id(self) -> str:
        return self.store.current_run_id() or ""

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

    A run that pauses can be decided from anywhere (the ``agentcore approvals`` command) and
    continued with :func:`resume_stored`. Decisions an attached approver makes are audited
    as made by ``decided_by``. ``on_event`` sees every run event as it happens (to stream
    the answer to a screen).
    """
    state = _start(agent, store, prompt)
    return _drive(store, state, agent.resume_stream(state), decided_by, on_event)


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

    Raises:
        RunStateError: no such run, or its stored state, a pending call or a decision is
            corrupt or was tampered with (nothing runs then).
        ApprovalError: an attached approver decided a call that someone decided in the store
            meanwhile; nothing was done with either decision, and resuming again applies the
            stored one.
    """
    state, decisions = _load(store, run_id)
    return _drive(store, state, agent.resume_stream(state, decisions), decided_by, on_event)


async def arun_stored(
    agent: Agent,
    store: RunStore,
    prompt: Prompt,
    *,
    decided_by: str = "approver",
    on_event: Callable[[RunEvent], None] | None = None,
) -> RunResult:
    """Async :func:`run_stored` (a turn's tool calls run concurrently)."""
    state = _start(agent, store, prompt)
    return await _adrive(store, state, agent.aresume_stream(state), decided_by, on_event)


async def aresume_stored(
    agent: Agent,
    store: RunStore,
    run_id: str,
    *,
    decided_by: str = "approver",
    on_event: Callable[[RunEvent], None] | None = None,
) -> RunResult:
    """Async :func:`resume_stored`."""
    state, decisions = _load(store, run_id)
    return await _adrive(store, state, agent.aresume_stream(state, decisions), decided_by, on_event)


def _start(agent: Agent, store: RunStore, prompt: Prompt) -> RunState:
    state = agent.new_state(prompt)
    store.save_run(state.run_id, state.to_json(), status="running")
    store.record_event("run.started", run_id=state.run_id)
    return state


def _load(store: RunStore, run_id: str) -> tuple[RunState, dict[str, Decision]]:
    record = store.load_run(run_id)
    state = RunState.from_json(record.state_json, trusted=True)
    if state.run_id != run_id:
        raise RunStateError(
            f"run {run_id!r}: its stored state belongs to run {state.run_id!r}; refusing it"
        )
    for call in state.pending:
        if call.status == "approval" and has_masked_secrets(call):
            real = store.call_arguments(run_id, call.call_id)
            if real is not None and arguments_hash(real) == call.arguments_hash:
                call.arguments = real
                call.arguments_masked = False
    waiting = {call.call_id for call in state.pending_approvals()}
    decisions = {
        call_id: decision
        for call_id, decision in store.decisions_for(run_id).items()
        if call_id in waiting
    }
    store.record_event("run.resumed", run_id=run_id)
    return state, decisions


def _drive(
    store: RunStore,
    state: RunState,
    events: Iterator[RunEvent],
    decided_by: str,
    on_event: Callable[[RunEvent], None] | None,
) -> RunResult:
    recorder = _Recorder(store, state, decided_by, on_event)
    with store.running(state.run_id):
        try:
            for event in events:
                recorder.see(event)
        except Exception as exc:
            recorder.abandon(state, exc)
            raise
    return recorder.finish()


async def _adrive(
    store: RunStore,
    state: RunState,
    events: AsyncIterator[RunEvent],
    decided_by: str,
    on_event: Callable[[RunEvent], None] | None,
) -> RunResult:
    recorder = _Recorder(store, state, decided_by, on_event)
    with store.running(state.run_id):
        try:
            async for event in events:
                recorder.see(event)
        except Exception as exc:
            recorder.abandon(state, exc)
            raise
    return recorder.finish()


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
        self.run_id = state.run_id
        self.decided_by = decided_by
        self.on_event = on_event
        self.requests: dict[str, ApprovalRequest] = {}
        self.result: RunResult | None = None
        self.progressed = False
        """A model call was answered or a tool ran: the run moved on from how it was stored."""

    def see(self, event: RunEvent) -> None:
        # Recorded before on_event runs, so a handler that raises loses nothing.
        if isinstance(event, _PROGRESS):
            self.progressed = True
        if isinstance(event, ApprovalRequested):
            self.requests[event.request.call_id] = event.request
        elif isinstance(event, ApprovalDecided):
            _audit_decision(self.store, self.run_id, self.requests, event, self.decided_by)
        elif isinstance(event, RunFinished):
            self.result = event.result
        if self.on_event is not None:
            self.on_event(event)

    def abandon(self, state: RunState, error: Exception) -> None:
        """The run raised instead of finishing: store it as failed (resumable), never leave
        it marked running. A run that had finished (only ``on_event`` raised) is stored as
        it ended."""
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
