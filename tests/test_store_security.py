"""Nothing runs on a forged decision, and secrets are never in clear at rest.

Each test plays one attack: rows forged or swapped with ``sqlite3``, a serialized state
edited by hand, a key file deleted or opened up, the database file searched for a secret.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from agentcore.agent import Agent
from agentcore.approval import Approve, Deny, arguments_hash
from agentcore.cli import main
from agentcore.client import Client
from agentcore.errors import RunStateError
from agentcore.redaction import REDACTED as MASK
from agentcore.state import PendingCall, RunState
from agentcore.store import RunStore
from agentcore.store.durable import ExecutionJournal, resume_stored, run_stored
from agentcore.testing import ScriptedModel, text_reply, tool_reply
from tests import approval_flow_app, store_security_app
from tests.store_security_app import RESET, SECRET

LOOKUP = ("lookup_order", {"order_id": "A-1001"}, "toolu_lookup")
REFUND = ("refund_order", {"order_id": "A-1001", "amount_cents": 2500}, "toolu_refund")
RESET_APP = "tests.store_security_app:build_agent"


@pytest.fixture
def ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "ledger.txt"
    path.touch()
    monkeypatch.setenv("LEDGER", str(path))
    monkeypatch.setenv("USER", "ana")
    return path


def executed(ledger: Path) -> list[str]:
    return ledger.read_text().splitlines()


def refund_agent(store: RunStore, replies: list[dict[str, Any]]) -> Agent:
    journal = ExecutionJournal(store)
    return Agent(
        approval_flow_app.MODEL,
        tools=approval_flow_app.TOOLS,
        client=Client(api_key="test", transport=ScriptedModel(replies)),
        before_tool=[journal.before_tool],
        after_tool=[journal.after_tool],
    )


def pause_refunds(path: Path, *refunds: tuple[str, dict[str, Any], str]) -> str:
    """Run the refund app in a store until it pauses on ``refunds``; return the run id."""
    with RunStore(path) as store:
        result = run_stored(refund_agent(store, [tool_reply(*refunds)]), store, "Refund A-1001")
    assert result.status == "paused"
    return result.state.run_id


def resume_refunds(path: Path, run_id: str) -> None:
    with RunStore(path) as store:
        resume_stored(refund_agent(store, [text_reply("ok")] * 3), store, run_id)


def raw_sql(path: Path, statement: str, params: tuple[Any, ...] = ()) -> None:
    """Change the database behind the store's back, as an attacker with the file would."""
    with closing(sqlite3.connect(path)) as db, db:
        db.execute(statement, params)


def audit_events(path: Path, run_id: str) -> list[str]:
    with RunStore(path) as store:
        return [entry.event for entry in store.audit_log(run_id=run_id)]


class TestForgedRows:
    def test_a_decision_row_inserted_with_sqlite3_is_refused_and_audited(
        self, tmp_path: Path, ledger: Path
    ) -> None:
        path = tmp_path / "runs.db"
        run_id = pause_refunds(path, REFUND)
        forged = {"kind": "edit", "arguments": {"order_id": "A-1001", "amount_cents": 999999}}
        raw_sql(
            path,
            "INSERT INTO decisions (run_id, call_id, decision_json, decided_by, decided_at) "
            "VALUES (?, 'toolu_refund', ?, 'mallory', '2026-01-01T00:00:00+00:00')",
            (run_id, json.dumps(forged)),
        )
        with pytest.raises(RunStateError, match=r"decision for call 'toolu_refund'.*integrity"):
            resume_refunds(path, run_id)
        assert executed(ledger) == []
        assert "integrity.failed" in audit_events(path, run_id)

    def test_an_approval_edited_with_sqlite3_is_refused(self, tmp_path: Path, ledger: Path) -> None:
        path = tmp_path / "runs.db"
        run_id = pause_refunds(path, REFUND)
        assert main(["approvals", "approve", "1", "--store", str(path)]) == 0
        edit = {"kind": "edit", "arguments": {"order_id": "A-1001", "amount_cents": 999999}}
        raw_sql(path, "UPDATE decisions SET decision_json = ?", (json.dumps(edit),))
        with pytest.raises(RunStateError, match="integrity"):
            resume_refunds(path, run_id)
        assert executed(ledger) == []

    def test_decisions_swapped_between_two_calls_are_refused(
        self, tmp_path: Path, ledger: Path
    ) -> None:
        path = tmp_path / "runs.db"
        first = ("refund_order", REFUND[1], "toolu_first")
        second = ("refund_order", REFUND[1], "toolu_second")
        run_id = pause_refunds(path, first, second)
        with RunStore(path) as store:
            store.record_decision("toolu_first", Approve(), decided_by="ana")
            store.record_decision("toolu_second", Deny("only one refund"), decided_by="ana")
        for old, new in (("toolu_first", "swap"), ("toolu_second", "toolu_first"),
                         ("swap", "toolu_second")):  # fmt: skip
            raw_sql(path, "UPDATE decisions SET call_id = ? WHERE call_id = ?", (new, old))
        with pytest.raises(RunStateError, match="integrity"):
            resume_refunds(path, run_id)
        assert executed(ledger) == []

    def test_a_pending_call_shown_with_other_arguments_cannot_be_listed_or_approved(
        self, tmp_path: Path, ledger: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        path = tmp_path / "runs.db"
        run_id = pause_refunds(path, REFUND)
        shown = json.dumps({"order_id": "A-1001", "amount_cents": 1})
        raw_sql(path, "UPDATE pending_approvals SET arguments_json = ?", (shown,))
        assert main(["approvals", "list", "--store", str(path)]) == 1
        assert main(["approvals", "approve", "1", "--store", str(path)]) == 1
        assert "failed its integrity check" in capsys.readouterr().err
        with RunStore(path) as store:
            assert store.decisions_for(run_id) == {}
        assert "integrity.failed" in audit_events(path, run_id)


class TestPlainSerializedState:
    def paused(self, ledger: Path) -> tuple[str, str]:
        """A run paused on a refund, serialized; and the hash of the refund it shows."""
        agent = Agent(
            approval_flow_app.MODEL,
            tools=approval_flow_app.TOOLS,
            client=Client(api_key="test", transport=ScriptedModel([tool_reply(LOOKUP, REFUND)])),
        )
        result = agent.run("Refund A-1001")
        assert result.status == "paused"
        return result.state.to_json(), result.pending[0].arguments_hash

    def agent(self, *replies: dict[str, Any]) -> tuple[Agent, ScriptedModel]:
        model = ScriptedModel(list(replies))
        client = Client(api_key="test", transport=model)
        return Agent(approval_flow_app.MODEL, tools=approval_flow_app.TOOLS, client=client), model

    def test_a_call_set_to_ready_by_hand_does_not_run_without_a_decision(
        self, ledger: Path
    ) -> None:
        text, _ = self.paused(ledger)
        edited = text.replace('"status": "approval"', '"status": "ready"')
        assert edited != text
        agent, _ = self.agent(text_reply("Refunded."))
        result = agent.resume(RunState.from_json(edited))
        assert result.status == "paused"
        assert [call.call_id for call in result.pending] == ["toolu_refund"]
        assert executed(ledger) == ["lookup A-1001"]

    def test_a_tool_added_to_always_allowed_by_hand_still_asks(self, ledger: Path) -> None:
        text, digest = self.paused(ledger)
        edited = text.replace('"always_allowed": []', '"always_allowed": ["refund_order"]')
        assert edited != text
        again = ("refund_order", {"order_id": "A-1001", "amount_cents": 7000}, "toolu_again")
        agent, _ = self.agent(tool_reply(again), text_reply("Refunded."))
        state = RunState.from_json(edited)
        result = agent.resume(state, {"toolu_refund": Deny("not this one", arguments_hash=digest)})
        assert result.status == "paused"
        assert [call.call_id for call in result.pending] == ["toolu_again"]
        assert executed(ledger) == ["lookup A-1001"]

    def test_arguments_and_hash_rewritten_by_hand_do_not_run_on_a_bare_approve(
        self, ledger: Path
    ) -> None:
        text, digest = self.paused(ledger)
        forged_arguments = {"order_id": "A-1001", "amount_cents": 999999}
        edited = text.replace('"amount_cents": 2500', '"amount_cents": 999999').replace(
            digest, arguments_hash(forged_arguments)
        )
        assert edited.count("999999") >= 2 and digest not in edited
        agent, model = self.agent(text_reply("ok"))
        result = agent.resume(RunState.from_json(edited), {"toolu_refund": Approve()})
        assert executed(ledger) == ["lookup A-1001"]
        assert result.status == "completed"
        [_, refund_result] = [
            block
            for block in model.requests[0]["messages"][-1]["content"]
            if block["type"] == "tool_result"
        ]
        assert refund_result["is_error"] is True
        assert "bound to the arguments" in refund_result["content"]

    def test_an_approval_of_the_shown_arguments_does_not_run_rewritten_ones(
        self, ledger: Path
    ) -> None:
        text, digest = self.paused(ledger)
        forged_arguments = {"order_id": "A-1001", "amount_cents": 999999}
        edited = text.replace('"amount_cents": 2500', '"amount_cents": 999999').replace(
            digest, arguments_hash(forged_arguments)
        )
        agent, _ = self.agent(text_reply("ok"))
        agent.resume(RunState.from_json(edited), {"toolu_refund": Approve(arguments_hash=digest)})
        assert executed(ledger) == ["lookup A-1001"]

    def test_an_approval_bound_to_the_shown_arguments_runs_and_a_second_resume_runs_again(
        self, ledger: Path
    ) -> None:
        """Without a store nothing remembers that the call ran: the README says so."""
        text, digest = self.paused(ledger)
        for _ in range(2):
            agent, _ = self.agent(text_reply("Refunded."))
            result = agent.resume(
                RunState.from_json(text), {"toolu_refund": Approve(arguments_hash=digest)}
            )
            assert result.status == "completed"
        assert executed(ledger) == ["lookup A-1001", "refund A-1001 2500", "refund A-1001 2500"]

    def test_state_the_application_vouches_for_takes_a_bare_approve(self, ledger: Path) -> None:
        text, _ = self.paused(ledger)
        agent, _ = self.agent(text_reply("Refunded."))
        result = agent.resume(RunState.from_json(text, trusted=True), {"toolu_refund": Approve()})
        assert result.status == "completed"
        assert executed(ledger) == ["lookup A-1001", "refund A-1001 2500"]


class TestKeyFile:
    @pytest.fixture
    def open_umask(self) -> Iterator[None]:
        previous = os.umask(0)
        try:
            yield
        finally:
            os.umask(previous)

    def test_a_new_store_creates_a_key_only_its_owner_can_read(
        self, tmp_path: Path, open_umask: None
    ) -> None:
        path = tmp_path / "runs.db"
        RunStore(path).close()
        key = tmp_path / "runs.db.key"
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        assert len(key.read_bytes()) == 32
        assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []

    def test_a_store_whose_key_file_was_deleted_is_refused(
        self, tmp_path: Path, ledger: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        path = tmp_path / "runs.db"
        pause_refunds(path, REFUND)
        (tmp_path / "runs.db.key").unlink()
        with pytest.raises(RunStateError, match=r"key file .*runs\.db\.key.* is missing"):
            RunStore(path)
        assert not (tmp_path / "runs.db.key").exists()
        assert main(["approvals", "approve", "1", "--store", str(path)]) == 1
        assert "is missing" in capsys.readouterr().err
        assert not (tmp_path / "runs.db.key").exists()

    @pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
    def test_a_key_file_others_can_read_is_refused(
        self, tmp_path: Path, ledger: Path, mode: int
    ) -> None:
        path = tmp_path / "runs.db"
        RunStore(path).close()
        (tmp_path / "runs.db.key").chmod(mode)
        with pytest.raises(RunStateError, match=r"readable by others.*chmod 600"):
            RunStore(path)

    def test_another_key_is_refused_when_the_store_opens(self, tmp_path: Path) -> None:
        path = tmp_path / "runs.db"
        RunStore(path, key=b"k" * 32).close()
        assert not (tmp_path / "runs.db.key").exists()
        with pytest.raises(RunStateError, match="another key"):
            RunStore(path, key=b"x" * 32)
        with pytest.raises(RunStateError, match="is missing"):
            RunStore(path)


def stored_bytes(path: Path) -> bytes:
    """The database file and its write-ahead log, as they are on disk."""
    files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-journal")]
    return b"".join(file.read_bytes() for file in files if file.exists())


def pause_reset(path: Path) -> str:
    with RunStore(path) as store:
        model = ScriptedModel([tool_reply(RESET)])
        result = run_stored(store_security_app.build_agent(store, model), store, "Reset it")
        assert result.status == "paused"
        assert SECRET.encode() not in stored_bytes(path)
    return result.state.run_id


class TestSecretsAtRest:
    def test_a_credential_named_argument_is_kept_encrypted_and_the_approved_call_gets_it(
        self, tmp_path: Path, ledger: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        path = tmp_path / "runs.db"
        run_id = pause_reset(path)
        store_option = ["--store", str(path)]
        assert main(["approvals", "list", *store_option]) == 0
        assert main(["approvals", "list", "--json", *store_option]) == 0
        listed = capsys.readouterr().out
        assert SECRET not in listed
        shown = json.loads(listed.splitlines()[-1])["arguments"]
        assert shown == {"user": "ada", "reset_token": MASK}
        with RunStore(path) as store:
            audited = [entry.arguments for entry in store.audit_log() if entry.arguments]
        assert audited == [{"user": "ada", "reset_token": MASK}]

        assert main(["approvals", "approve", "1", *store_option]) == 0
        assert main(["runs", "resume", run_id, "--agent", RESET_APP, *store_option]) == 0
        assert capsys.readouterr().out.endswith("Done.\n")
        assert executed(ledger) == [f"reset ada with {SECRET}"]
        assert SECRET.encode() not in stored_bytes(path)
        with RunStore(path) as store:
            assert SECRET not in json.dumps([e.arguments for e in store.audit_log()])

    def test_an_edit_with_a_secret_field_is_masked_on_display_and_encrypted_at_rest(
        self, tmp_path: Path, ledger: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        path = tmp_path / "runs.db"
        run_id = pause_reset(path)
        store_option = ["--store", str(path)]
        new_secret = "rt-NEW-edited-secret-value"
        edit = json.dumps({"user": "ada", "reset_token": new_secret})
        assert main(["approvals", "approve", "1", "--edit", edit, *store_option]) == 0
        assert new_secret.encode() not in stored_bytes(path)
        assert main(["approvals", "list", "--all", "--json", *store_option]) == 0
        listed = capsys.readouterr().out
        assert new_secret not in listed and SECRET not in listed
        decision = json.loads(listed.splitlines()[-1])["decision"]
        assert decision["arguments"] == {"user": "ada", "reset_token": MASK}

        assert main(["runs", "resume", run_id, "--agent", RESET_APP, *store_option]) == 0
        assert executed(ledger) == [f"reset ada with {new_secret}"]
        assert new_secret.encode() not in stored_bytes(path)

    def test_an_edit_that_keeps_the_mask_runs_with_the_real_secret(
        self, tmp_path: Path, ledger: Path
    ) -> None:
        path = tmp_path / "runs.db"
        run_id = pause_reset(path)
        store_option = ["--store", str(path)]
        edit = json.dumps({"user": "bob", "reset_token": MASK})
        assert main(["approvals", "approve", "1", "--edit", edit, *store_option]) == 0
        assert main(["runs", "resume", run_id, "--agent", RESET_APP, *store_option]) == 0
        assert executed(ledger) == [f"reset bob with {SECRET}"]


def test_a_key_file_that_is_a_symbolic_link_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    RunStore(path, key_file=tmp_path / "real.key").close()
    (tmp_path / "runs.db.key").symlink_to(tmp_path / "real.key")
    with pytest.raises(RunStateError, match="is a symbolic link"):
        RunStore(path)
    RunStore(path, key_file=tmp_path / "real.key").close()


def test_plain_json_comes_back_without_authority_unless_the_caller_vouches_for_it() -> None:
    state = RunState(model="m", always_allowed=["refund_order"])
    state.pending = [
        PendingCall("toolu_1", "refund_order", {"amount_cents": 1}, "ready"),
        PendingCall("toolu_2", "lookup_order", {"order_id": "A-1"}, "check"),
        PendingCall("toolu_3", "lookup_order", {"order_id": "A-2"}, "done"),
    ]
    text = state.to_json()

    plain = RunState.from_json(text)
    assert (plain.authenticated, plain.always_allowed) == (False, [])
    assert [(call.status, call.arguments_hash) for call in plain.pending] == [
        ("approval", arguments_hash({"amount_cents": 1})),
        ("approval", arguments_hash({"order_id": "A-1"})),
        ("done", None),
    ]
    assert "authenticated" not in text

    vouched = RunState.from_json(text, trusted=True)
    assert (vouched.authenticated, vouched.always_allowed) == (True, ["refund_order"])
    assert [call.status for call in vouched.pending] == ["ready", "check", "done"]
