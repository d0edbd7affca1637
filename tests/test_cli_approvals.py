"""``agentcore approvals`` and ``agentcore runs``: deciding and resuming stored runs."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agentcore.agent import Agent
from agentcore.cli import main
from agentcore.client import Client
from agentcore.store import RunStore
from agentcore.store.durable import ExecutionJournal, run_stored
from agentcore.testing import ScriptedModel, tool_reply
from tests.approval_flow_app import MODEL, TOOLS

ROOT = Path(__file__).resolve().parent.parent
LOOKUP = ("lookup_order", {"order_id": "A-1001"}, "toolu_lookup")
REFUND = (
    "refund_order",
    {"order_id": "A-1001", "amount_cents": 2500, "api_key": "sk-live-secret"},
    "toolu_refund",
)
REFUND_WITHOUT_SECRET = (
    "refund_order",
    {"order_id": "A-1001", "amount_cents": 2500},
    "toolu_refund",
)
AGENT_SPEC = "tests.approval_flow_app:build_agent"


class App:
    """A support app's store after one run paused on a refund, plus its side-effect ledger."""

    def __init__(
        self, tmp_path: Path, ledger: Path, refund: tuple[str, dict[str, Any], str]
    ) -> None:
        self.store_path = tmp_path / "runs.db"
        self.ledger = ledger
        self.seen = tmp_path / "seen.json"
        with RunStore(self.store_path) as store:
            journal = ExecutionJournal(store)
            agent = Agent(
                MODEL,
                tools=TOOLS,
                client=Client(
                    api_key="test", transport=ScriptedModel([tool_reply(LOOKUP, refund)])
                ),
                before_tool=[journal.before_tool],
                after_tool=[journal.after_tool],
            )
            result = run_stored(agent, store, "Refund half of A-1001")
        assert result.status == "paused"
        self.run_id = result.state.run_id

    def cli(self, *args: str) -> int:
        return main([*args, "--store", str(self.store_path)])

    def subprocess_cli(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        environment = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "LEDGER": str(self.ledger),
            "SEEN": str(self.seen),
            "USER": "ana",
            **env,
        }
        return subprocess.run(
            [sys.executable, "-m", "agentcore.cli", *args, "--store", str(self.store_path)],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def executed(self) -> list[str]:
        return self.ledger.read_text().splitlines()

    def results_seen_by_model(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = json.loads(self.seen.read_text())
        content: list[dict[str, Any]] = messages[-1]["content"]
        return [block for block in content if block["type"] == "tool_result"]

    def store(self) -> RunStore:
        return RunStore(self.store_path)


@pytest.fixture
def app(tmp_path: Path, ledger: Path, monkeypatch: pytest.MonkeyPatch) -> App:
    """The run paused on a refund without secret arguments."""
    monkeypatch.setenv("USER", "ana")
    return App(tmp_path, ledger, REFUND_WITHOUT_SECRET)


@pytest.fixture
def secret_app(tmp_path: Path, ledger: Path, monkeypatch: pytest.MonkeyPatch) -> App:
    """The run paused on a refund carrying a secret API key."""
    monkeypatch.setenv("USER", "ana")
    return App(tmp_path, ledger, REFUND)


class TestApprovals:
    def test_list_shows_pending_calls_with_secrets_redacted(
        self, secret_app: App, capsys: pytest.CaptureFixture[str]
    ) -> None:
        app = secret_app
        assert app.cli("approvals", "list") == 0
        header, row = capsys.readouterr().out.splitlines()
        assert header.split() == ["ID", "STATUS", "TOOL", "ARGUMENTS", "RUN", "SINCE"]
        assert row.split()[:3] == ["1", "pending", "refund_order"]
        assert "sk-live-secret" not in row
        assert app.run_id in row

    def test_list_as_json_lines(
        self, secret_app: App, capsys: pytest.CaptureFixture[str]
    ) -> None:
        app = secret_app
        assert app.cli("approvals", "list", "--json") == 0
        [line] = capsys.readouterr().out.splitlines()
        approval = json.loads(line)
        assert {k: approval[k] for k in ("id", "call_id", "tool", "arguments", "status")} == {
            "id": 1,
            "call_id": "toolu_refund",
            "tool": "refund_order",
            "arguments": {"order_id": "A-1001", "amount_cents": 2500, "api_key": "[REDACTED]"},
            "status": "pending",
        }

    def test_show_prints_the_call_in_full(
        self, secret_app: App, capsys: pytest.CaptureFixture[str]
    ) -> None:
        app = secret_app
        assert app.cli("approvals", "show", "1") == 0
        out = capsys.readouterr().out
        assert out.startswith("Approval 1: pending\n  Tool:       refund_order\n")
        assert "  Purpose:    Refund part or all of an order.\n" in out
        assert "  Why asked:  tool 'refund_order' is marked sensitive\n" in out
        assert '      "api_key": "[REDACTED]"\n' in out

    def test_approve_records_who_decided(
        self, app: App, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert app.cli("approvals", "approve", "1") == 0
        out = capsys.readouterr().out
        assert out.startswith(f"Approval 1 (refund_order, run {app.run_id}): approved by ana.\n")
        assert f"Resume it with: agentcore runs resume {app.run_id}" in out
        with app.store() as store:
            approval = store.get_approval(1)
        assert (approval.status, approval.decided_by) == ("approved", "ana")
        assert approval.decision is not None and approval.decision.kind == "approve"

    @pytest.mark.parametrize(
        ("args", "status", "kind"),
        [
            (["--always", "--by", "bob"], "always_allowed", "always_allow"),
            (["--edit", '{"order_id": "A-1001", "amount_cents": 1000, "api_key": "[REDACTED]"}',
              "--by", "bob"], "edited", "edit"),
        ],
    )  # fmt: skip
    def test_approve_always_or_with_an_edit(
        self, app: App, args: list[str], status: str, kind: str
    ) -> None:
        assert app.cli("approvals", "approve", "toolu_refund", *args) == 0
        with app.store() as store:
            approval = store.get_approval(1)
        assert (approval.status, approval.decided_by) == (status, "bob")
        assert approval.decision is not None and approval.decision.kind == kind

    @pytest.mark.parametrize(
        ("edit", "message"),
        [
            ('{"amount_cents": ', "error: --edit is not valid JSON: Expecting value (column 18)"),
            ("[1]", "error: --edit must be a JSON object of arguments"),
            ('{"order_id": "A-1001", "amount_cents": 0}',
             "error: --edit does not fit tool 'refund_order': amount_cents: 0 is less than or "
             "equal to the minimum of 0"),
        ],
    )  # fmt: skip
    def test_an_invalid_edit_is_refused_and_the_call_stays_pending(
        self, app: App, capsys: pytest.CaptureFixture[str], edit: str, message: str
    ) -> None:
        assert app.cli("approvals", "approve", "1", "--edit", edit) == 1
        assert capsys.readouterr().err.strip() == message
        with app.store() as store:
            assert store.get_approval(1).status == "pending"

    def test_deny_needs_a_reason_and_records_it(
        self, app: App, capsys: pytest.CaptureFixture[str]
    ) -> None:
        with pytest.raises(SystemExit) as exit_info:
            app.cli("approvals", "deny", "1")
        assert exit_info.value.code == 2
        assert app.cli("approvals", "deny", "1", "--reason", "needs a manager") == 0
        with app.store() as store:
            approval = store.get_approval(1)
        assert (approval.status, getattr(approval.decision, "reason", None)) == (
            "denied",
            "needs a manager",
        )

    def test_a_call_cannot_be_decided_twice(
        self, app: App, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert app.cli("approvals", "deny", "1", "--reason", "no") == 0
        assert app.cli("approvals", "approve", "1") == 1
        assert "was already decided: denied" in capsys.readouterr().err

    def test_an_unknown_approval_is_a_clear_error(
        self, app: App, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert app.cli("approvals", "approve", "99") == 1
        assert capsys.readouterr().err.startswith("error: no approval 99 in ")

    def test_the_store_is_required(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delenv("AGENTCORE_STORE", raising=False)
        assert main(["approvals", "list"]) == 2
        assert "give the run store with --store PATH" in capsys.readouterr().err


class TestRuns:
    def test_list_and_show(self, app: App, capsys: pytest.CaptureFixture[str]) -> None:
        assert app.cli("runs", "list") == 0
        header, row = capsys.readouterr().out.splitlines()
        assert header.split() == ["RUN", "STATUS", "UPDATED", "APPROVALS"]
        assert row.split()[:2] == [app.run_id, "paused"]
        # The same timestamps as approvals list: date and time, UTC, to the second.
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", " ".join(row.split()[2:4]))
        assert row.endswith("  1 pending")
        assert header.index("APPROVALS") == row.index("1 pending")
        assert app.cli("approvals", "approve", "1") == 0
        capsys.readouterr()
        assert app.cli("runs", "show", app.run_id) == 0
        out = capsys.readouterr().out
        assert out.startswith(f"Run {app.run_id}: paused\n")
        events = [line.split()[2] for line in out.split("Audit log:\n")[1].splitlines()]
        assert events == [
            "run.started",
            "execution.started",
            "execution.finished",
            "approval.requested",
            "run.finished",
            "approval.decision",
        ]

    @pytest.mark.e2e
    def test_approve_then_resume_in_a_new_process_runs_the_call_once(self, app: App) -> None:
        assert app.subprocess_cli("approvals", "approve", "1").returncode == 0
        resumed = app.subprocess_cli("runs", "resume", app.run_id, "--agent", AGENT_SPEC)
        assert (resumed.returncode, resumed.stdout) == (
            0,
            f"Run {app.run_id}: completed\nAll done.\n",
        )
        assert app.executed() == ["lookup A-1001", "refund A-1001 2500"]
        assert [r["content"] for r in app.results_seen_by_model()] == [
            "order A-1001: 2 items, paid 80.00 USD",
            "refunded 2500 cents on A-1001",
        ]
        again = app.subprocess_cli("runs", "resume", app.run_id, "--agent", AGENT_SPEC)
        assert again.returncode == 0
        assert app.executed() == ["lookup A-1001", "refund A-1001 2500"]

    @pytest.mark.e2e
    def test_deny_then_resume_tells_the_model_why(self, app: App) -> None:
        denied = app.subprocess_cli("approvals", "deny", "1", "--reason", "needs a manager")
        assert denied.returncode == 0
        resumed = app.subprocess_cli("runs", "resume", app.run_id, "--agent", AGENT_SPEC)
        assert resumed.returncode == 0, resumed.stderr
        assert app.executed() == ["lookup A-1001"]
        assert app.results_seen_by_model()[1] == {
            "type": "tool_result",
            "tool_use_id": "toolu_refund",
            "content": "The user denied this action: needs a manager",
            "is_error": True,
        }

    @pytest.mark.e2e
    def test_a_crash_between_approval_and_completion_never_runs_the_call_twice(
        self, app: App
    ) -> None:
        assert app.subprocess_cli("approvals", "approve", "1").returncode == 0
        crashed = app.subprocess_cli(
            "runs", "resume", app.run_id, "--agent", AGENT_SPEC, CRASH_IN_REFUND="1"
        )
        assert crashed.returncode == 70
        assert app.executed() == ["lookup A-1001", "refund A-1001 2500"]
        with app.store() as store:
            assert store.load_run(app.run_id).status == "paused"
            record = store.execution(app.run_id, "toolu_refund")
            assert record is not None and record.status == "started"

        resumed = app.subprocess_cli("runs", "resume", app.run_id, "--agent", AGENT_SPEC)
        assert resumed.returncode == 0, resumed.stderr
        assert app.executed() == ["lookup A-1001", "refund A-1001 2500"]
        [_, refund_result] = app.results_seen_by_model()
        assert refund_result["is_error"] is True
        assert "whether it took effect is unknown; it is not run twice" in refund_result["content"]
        with app.store() as store:
            record = store.execution(app.run_id, "toolu_refund")
            outcomes = [e.outcome for e in store.audit_log(run_id=app.run_id)]
        assert record is not None and record.status == "unknown"
        assert "unknown" in outcomes

    @pytest.mark.e2e
    def test_a_call_with_a_secret_argument_runs_after_approval_in_a_new_process(
        self, secret_app: App
    ) -> None:
        """The secret is kept encrypted in the store, so the approved call can run with it."""
        app = secret_app
        assert app.subprocess_cli("approvals", "approve", "1").returncode == 0
        resumed = app.subprocess_cli("runs", "resume", app.run_id, "--agent", AGENT_SPEC)
        assert resumed.returncode == 0, resumed.stderr
        assert app.executed() == ["lookup A-1001", "refund A-1001 2500"]
        assert app.results_seen_by_model()[1]["content"] == "refunded 2500 cents on A-1001"
        assert b"sk-live-secret" not in app.store_path.read_bytes()

    @pytest.mark.e2e
    def test_a_tampered_run_is_refused(self, app: App) -> None:
        with app.store() as store:
            sealed = store._db.execute("SELECT state_json FROM runs").fetchone()[0]
            store._db.execute(
                "UPDATE runs SET state_json = ?", (sealed.replace("A-1001", "A-6666"),)
            )
        assert app.subprocess_cli("approvals", "approve", "1").returncode == 0
        resumed = app.subprocess_cli("runs", "resume", app.run_id, "--agent", AGENT_SPEC)
        assert resumed.returncode == 1
        assert resumed.stderr.strip() == (
            f"error: run {app.run_id!r}: run state does not match its digest: it was corrupted "
            "or tampered with"
        )
        assert app.executed() == ["lookup A-1001"]

    def test_a_bad_agent_spec_is_a_clear_error(
        self, app: App, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert app.cli("runs", "resume", app.run_id, "--agent", "tests.nowhere:agent") == 1
        assert capsys.readouterr().err.startswith(
            "error: --agent 'tests.nowhere:agent': cannot import 'tests.nowhere'"
        )
