"""Stored runs and the execution journal, in one process (other processes: test_cli_approvals)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from agentcore.agent import Agent
from agentcore.approval import Approve, Deny
from agentcore.approval.approvers import ScriptedApprover
from agentcore.client import AsyncClient, Client
from agentcore.errors import RunStateError
from agentcore.store import RunStore
from agentcore.store.durable import (
    ExecutionJournal,
    aresume_stored,
    arun_stored,
    resume_stored,
    run_stored,
)
from agentcore.testing import ScriptedModel, text_reply, tool_reply
from tests.approval_flow_app import LOOKUP, MODEL, REFUND, TOOLS


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RunStore]:
    with RunStore(tmp_path / "runs.db") as opened:
        yield opened


def journaled_agent(
    store: RunStore,
    replies: Sequence[dict[str, Any]],
    approver: object | None = None,
    *,
    run_id: str | None = None,
) -> tuple[Agent, ScriptedModel]:
    journal = ExecutionJournal(store, run_id=run_id)
    model = ScriptedModel(replies)
    agent = Agent(
        MODEL,
        tools=TOOLS,
        client=Client(api_key="test", transport=model),
        async_client=AsyncClient(api_key="test", transport=model),
        approver=approver,
        before_tool=[journal.before_tool],
        after_tool=[journal.after_tool],
    )
    return agent, model


def last_results(model: ScriptedModel) -> list[dict[str, Any]]:
    content: list[dict[str, Any]] = model.requests[-1]["messages"][-1]["content"]
    return [block for block in content if block["type"] == "tool_result"]


class TestStoredRuns:
    def test_a_paused_run_is_stored_with_its_pending_call_then_resumed(
        self, store: RunStore, ledger: Path
    ) -> None:
        agent, _ = journaled_agent(store, [tool_reply(LOOKUP, REFUND)])
        paused = run_stored(agent, store, "Refund half of A-1001")
        run_id = paused.state.run_id
        assert store.load_run(run_id).status == "paused"
        [approval] = store.list_approvals()
        assert (approval.run_id, approval.call_id, approval.tool_name) == (
            run_id,
            "toolu_refund",
            "refund_order",
        )
        store.record_decision(approval.approval_id, Approve(), decided_by="ana")

        agent, _ = journaled_agent(store, [text_reply("Refunded.")])
        finished = resume_stored(agent, store, run_id)
        assert (finished.status, finished.output) == ("completed", "Refunded.")
        assert ledger.read_text().splitlines() == ["lookup A-1001", "refund A-1001 2500"]
        assert store.load_run(run_id).status == "completed"
        refund = store.execution(run_id, "toolu_refund")
        assert refund is not None
        assert (refund.status, refund.result) == ("succeeded", "refunded 2500 cents on A-1001")

    def test_an_attached_approvers_decisions_are_audited(
        self, store: RunStore, ledger: Path
    ) -> None:
        agent, _ = journaled_agent(
            store,
            [tool_reply(REFUND), text_reply("ok")],
            ScriptedApprover([Deny("not now")]),
        )
        result = run_stored(agent, store, "Refund", decided_by="console:ana")
        audit = [
            (e.event, e.tool, e.decision, e.decided_by, e.reason, e.outcome)
            for e in store.audit_log(run_id=result.state.run_id)
        ]
        assert audit == [
            ("run.started", None, None, None, None, None),
            ("approval.decision", "refund_order", "deny", "console:ana", "not now", None),
            ("run.finished", None, None, None, None, "completed"),
        ]
        assert ledger.read_text() == ""

    async def test_the_async_twins_pause_and_resume_the_same_way(
        self, store: RunStore, ledger: Path
    ) -> None:
        agent, _ = journaled_agent(store, [tool_reply(LOOKUP, REFUND)])
        paused = await arun_stored(agent, store, "Refund half of A-1001")
        assert paused.status == "paused"
        store.record_decision("toolu_refund", Deny("needs a manager"), decided_by="ana")
        agent, model = journaled_agent(store, [text_reply("Sorry.")])
        finished = await aresume_stored(agent, store, paused.state.run_id)
        assert finished.status == "completed"
        assert ledger.read_text().splitlines() == ["lookup A-1001"]
        assert last_results(model)[1] == {
            "type": "tool_result",
            "tool_use_id": "toolu_refund",
            "content": "The user denied this action: needs a manager",
            "is_error": True,
        }

    def test_a_stored_state_moved_to_another_run_id_is_refused(
        self, store: RunStore, ledger: Path
    ) -> None:
        agent, _ = journaled_agent(store, [tool_reply(REFUND)])
        paused = run_stored(agent, store, "Refund")
        record = store.load_run(paused.state.run_id)
        store.save_run("someone-else", record.state_json, status="paused")
        with pytest.raises(RunStateError, match="its stored state belongs to run"):
            resume_stored(agent, store, "someone-else")


class TestExecutionJournal:
    def test_a_call_that_already_ran_is_not_run_again_and_its_result_is_reused(
        self, store: RunStore, ledger: Path
    ) -> None:
        store.begin_execution("run-1", "toolu_refund", tool="refund_order")
        store.finish_execution("run-1", "toolu_refund", is_error=False, result="refunded earlier")
        agent, model = journaled_agent(
            store,
            [tool_reply(REFUND), text_reply("ok")],
            ScriptedApprover([Approve()]),
            run_id="run-1",
        )
        agent.run("Refund")
        assert ledger.read_text() == ""
        assert last_results(model) == [
            {
                "type": "tool_result",
                "tool_use_id": "toolu_refund",
                "content": "The call to 'refund_order' was blocked before it ran: this exact "
                "call already ran in an earlier attempt and succeeded, so it is not run twice; "
                "its result was: refunded earlier",
                "is_error": True,
            }
        ]

    def test_each_executed_call_is_recorded_with_redacted_arguments(
        self, store: RunStore, ledger: Path
    ) -> None:
        secret_refund = (
            "refund_order",
            {"order_id": "A-1", "amount_cents": 5, "api_key": "sk-live-1"},
            "toolu_s",
        )
        agent, _ = journaled_agent(
            store, [tool_reply(secret_refund), text_reply("ok")], ScriptedApprover([Approve()])
        )
        with store.running("run-7"):
            agent.run("Refund")
        [started, finished] = store.audit_log(run_id="run-7")
        assert (started.event, started.arguments) == (
            "execution.started",
            {"order_id": "A-1", "amount_cents": 5, "api_key": "[REDACTED]"},
        )
        assert (finished.event, finished.outcome) == ("execution.finished", "succeeded")
        assert "sk-live-1" not in json.dumps([e.arguments for e in store.audit_log()])
