"""RunStore: runs, pending approvals, decisions, exactly-once executions, append-only audit."""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import random
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agentcore.approval import REDACTED, AlwaysAllow, ApprovalRequest, Approve, Deny, Edit
from agentcore.errors import ApprovalError, RunStateError
from agentcore.store import RunStore
from agentcore.store.sealing import seal, unseal
from tests.test_approval import refund_request

STATE = json.dumps({"version": 1, "messages": [{"role": "user", "content": "refund A-1001"}]})


class Clock:
    """A clock that advances one second per reading."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RunStore]:
    with RunStore(tmp_path / "runs.db", clock=Clock()) as opened:
        yield opened


def paused(store: RunStore, *requests: ApprovalRequest, run_id: str = "run-1") -> None:
    store.save_run(run_id, STATE, status="paused", pending=requests or (refund_request(),))


class TestRuns:
    def test_a_saved_run_loads_back_with_its_state(self, store: RunStore) -> None:
        paused(store)
        run = store.load_run("run-1")
        assert (run.run_id, run.status, run.state_json) == ("run-1", "paused", STATE)
        assert run.created_at == "2026-01-02T03:04:06.000000+00:00"

    def test_saving_again_replaces_state_and_status_but_keeps_creation_time(
        self, store: RunStore
    ) -> None:
        paused(store)
        store.save_run("run-1", '{"version": 1}', status="finished")
        run = store.load_run("run-1")
        assert (run.status, run.state_json) == ("finished", '{"version": 1}')
        assert run.created_at < run.updated_at

    def test_runs_are_listed_newest_first_and_filtered_by_status(self, store: RunStore) -> None:
        paused(store, run_id="old")
        store.save_run("new", STATE, status="finished")
        assert [run.run_id for run in store.list_runs()] == ["new", "old"]
        assert [run.run_id for run in store.list_runs(status="paused")] == ["old"]

    def test_a_missing_run_is_a_clear_error(self, store: RunStore) -> None:
        with pytest.raises(RunStateError, match="no run 'nope'"):
            store.load_run("nope")

    def test_state_edited_in_the_database_is_rejected(self, store: RunStore) -> None:
        paused(store)
        envelope = json.loads(store._db.execute("SELECT state_json FROM runs").fetchone()[0])
        envelope["state"] = envelope["state"].replace("A-1001", "A-9999")
        store._db.execute("UPDATE runs SET state_json = ?", (json.dumps(envelope),))
        with pytest.raises(RunStateError, match="run 'run-1': run state does not match its digest"):
            store.load_run("run-1")

    def test_garbage_state_is_rejected(self, store: RunStore) -> None:
        paused(store)
        store._db.execute("UPDATE runs SET state_json = '{not json'")
        with pytest.raises(RunStateError, match="run 'run-1': stored run state is not valid JSON"):
            store.load_run("run-1")

    def test_a_store_made_with_a_key_opens_only_with_that_key(self, tmp_path: Path) -> None:
        path = tmp_path / "runs.db"
        with RunStore(path, key=b"k1" * 16) as keyed:
            paused(keyed)
            assert keyed.load_run("run-1").state_json == STATE
        with pytest.raises(RunStateError, match=r"key file .* is missing"):
            RunStore(path)
        with pytest.raises(RunStateError, match="made with another key"):
            RunStore(path, key=b"k2" * 16)
        with pytest.raises(RunStateError, match="at least 16 bytes"):
            RunStore(path, key=b"short")

    def test_a_state_row_copied_to_another_run_is_refused(self, store: RunStore) -> None:
        paused(store)
        store.save_run("run-2", STATE.replace("A-1001", "A-2002"), status="paused")
        store._db.execute(
            "UPDATE runs SET state_json = (SELECT state_json FROM runs WHERE run_id = 'run-1') "
            "WHERE run_id = 'run-2'"
        )
        with pytest.raises(RunStateError, match=r"run 'run-2'.*failed its integrity check"):
            store.load_run("run-2")
        assert [e.event for e in store.audit_log(run_id="run-2")][-1] == "integrity.failed"


def fill(store: RunStore, runs: int = 20) -> None:
    """Save enough runs that the file spans many pages."""
    paused(store)
    for number in range(runs):
        store.save_run(f"run-{number + 2}", json.dumps({"notes": "x" * 2000}), status="paused")


def cut_mid_page(path: Path) -> None:
    """Cut the file in the middle of a page, as a full disk or an interrupted copy does."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
    pages = path.stat().st_size // page_size
    os.truncate(path, pages // 2 * page_size + page_size // 2)


class TestOpening:
    @pytest.mark.parametrize(
        "content",
        [
            b"this is not sqlite, just some text that is long enough" * 40,
            random.Random(7).randbytes(8192),
        ],
        ids=["text", "random bytes"],
    )
    def test_a_file_that_is_not_a_database_is_a_clear_error(
        self, tmp_path: Path, content: bytes
    ) -> None:
        path = tmp_path / "runs.db"
        path.write_bytes(content)
        with pytest.raises(RunStateError) as caught:
            RunStore(path)
        assert str(caught.value) == (
            f"run store {str(path)!r} is damaged or is not a run store: file is not a database"
        )

    def test_a_store_cut_mid_page_is_a_clear_error(self, tmp_path: Path) -> None:
        path = tmp_path / "runs.db"
        with RunStore(path) as store:
            fill(store)
        cut_mid_page(path)
        with pytest.raises(RunStateError) as caught:
            RunStore(path)
        assert str(caught.value) == (
            f"run store {str(path)!r} is damaged or is not a run store: "
            "database disk image is malformed"
        )

    def test_another_applications_database_is_refused(self, tmp_path: Path) -> None:
        path = tmp_path / "other.db"
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE customers (id INTEGER)")
        with pytest.raises(RunStateError, match="not an agentcore run store"):
            RunStore(path)

    def test_a_store_from_another_schema_version_is_refused(self, tmp_path: Path) -> None:
        path = tmp_path / "runs.db"
        RunStore(path).close()
        with sqlite3.connect(path) as db:
            db.execute("UPDATE schema_version SET version = 99")
        with pytest.raises(RunStateError, match="has schema version 99; this agentcore uses"):
            RunStore(path)

    def test_uses_write_ahead_logging(self, store: RunStore) -> None:
        assert store._db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


READS_AND_WRITES: dict[str, Callable[[RunStore], Any]] = {
    "save_run": lambda store: store.save_run("run-99", STATE, status="paused"),
    "load_run": lambda store: store.load_run("run-1"),
    "set_status": lambda store: store.set_status("run-1", "finished"),
    "list_runs": lambda store: store.list_runs(),
    "list_approvals": lambda store: store.list_approvals(),
    "get_approval": lambda store: store.get_approval(1),
    "record_decision": lambda store: store.record_decision(1, Approve(), decided_by="ana"),
    "decisions_for": lambda store: store.decisions_for("run-1"),
    "begin_execution": lambda store: store.begin_execution("run-1", "toolu_1"),
    "execution": lambda store: store.execution("run-1", "toolu_1"),
    "record_event": lambda store: store.record_event("note", run_id="run-1"),
    "audit_log": lambda store: store.audit_log(),
}


class TestDamage:
    """Damage found after opening is a RunStateError naming the file, never a sqlite3 error."""

    @pytest.mark.parametrize("call", READS_AND_WRITES.values(), ids=READS_AND_WRITES.keys())
    def test_a_store_cut_mid_page_while_open_fails_every_call_clearly(
        self, tmp_path: Path, call: Callable[[RunStore], Any]
    ) -> None:
        path = tmp_path / "runs.db"
        with RunStore(path) as store:
            fill(store)
        with RunStore(path) as store:
            cut_mid_page(path)
            with pytest.raises(RunStateError) as caught:
                call(store)
        assert str(caught.value) == (
            f"run store {str(path)!r} is damaged or unreadable: database disk image is malformed"
        )

    def test_a_damaged_table_fails_the_calls_that_read_it(self, tmp_path: Path) -> None:
        path = tmp_path / "runs.db"
        with RunStore(path) as store:
            paused(store)
        with contextlib.closing(sqlite3.connect(path)) as db:
            page_size = db.execute("PRAGMA page_size").fetchone()[0]
            [root_page] = db.execute(
                "SELECT rootpage FROM sqlite_master WHERE name = 'pending_approvals'"
            ).fetchone()
        data = bytearray(path.read_bytes())
        start = (root_page - 1) * page_size
        data[start : start + page_size] = b"\x13" * page_size
        path.write_bytes(bytes(data))

        with RunStore(path) as store:
            assert [run.run_id for run in store.list_runs()] == ["run-1"]
            with pytest.raises(RunStateError) as caught:
                store.list_approvals()
        assert str(caught.value) == (
            f"run store {str(path)!r} is damaged or unreadable: database disk image is malformed"
        )


class TestApprovals:
    def test_pending_calls_are_listed_with_secrets_redacted(self, store: RunStore) -> None:
        request = refund_request()
        paused(store, request)
        [approval] = store.list_approvals()
        assert (approval.approval_id, approval.run_id, approval.call_id) == (1, "run-1", "toolu_1")
        assert approval.arguments == {
            "order_id": "A-1001",
            "amount_cents": 5000,
            "api_key": REDACTED,
        }
        assert (approval.arguments_hash, approval.status, approval.decision) == (
            request.arguments_hash,
            "pending",
            None,
        )
        assert (approval.description, approval.secret_fields) == (
            "Refund an order.",
            frozenset({"api_key"}),
        )

    def test_the_secret_never_reaches_the_database_file_in_clear(self, store: RunStore) -> None:
        paused(store)
        store.record_decision(1, Approve(), decided_by="ana")
        store.close()
        assert b"sk-live-1" not in store.path.read_bytes()

    def test_saving_a_run_twice_does_not_duplicate_its_pending_calls(
        self, store: RunStore
    ) -> None:
        paused(store)
        paused(store)
        assert len(store.list_approvals()) == 1
        assert [entry.event for entry in store.audit_log()] == ["approval.requested"]

    def test_a_pending_call_that_reappears_with_other_arguments_is_rejected(
        self, store: RunStore
    ) -> None:
        paused(store)
        with pytest.raises(RunStateError, match="call 'toolu_1' was recorded with other"):
            paused(store, refund_request(amount_cents=1))

    def test_a_decision_is_recorded_bound_to_the_arguments_shown(self, store: RunStore) -> None:
        request = refund_request()
        paused(store, request)
        approval = store.record_decision("toolu_1", Deny("over limit"), decided_by="ana")
        assert (approval.status, approval.decided_by) == ("denied", "ana")
        assert approval.decision == Deny("over limit", arguments_hash=request.arguments_hash)
        assert store.decisions_for("run-1") == {"toolu_1": approval.decision}
        assert store.list_approvals() == []
        assert [a.status for a in store.list_approvals(status=None)] == ["denied"]

    @pytest.mark.parametrize(
        ("decision", "status"),
        [(Approve(), "approved"), (AlwaysAllow(), "always_allowed"), (Edit({"x": 1}), "edited")],
    )
    def test_each_decision_kind_sets_its_status(
        self, store: RunStore, decision: Approve | AlwaysAllow | Edit, status: str
    ) -> None:
        paused(store)
        assert store.record_decision(1, decision, decided_by="ana").status == status

    def test_a_call_cannot_be_decided_twice(self, store: RunStore) -> None:
        paused(store)
        store.record_decision(1, Deny("no"), decided_by="ana")
        with pytest.raises(ApprovalError, match="was already decided: denied"):
            store.record_decision(1, Approve(), decided_by="bob")
        assert store.decisions_for("run-1") == {
            "toolu_1": Deny("no", arguments_hash=refund_request().arguments_hash)
        }

    def test_a_decision_made_for_other_arguments_is_refused(self, store: RunStore) -> None:
        paused(store)
        with pytest.raises(ApprovalError, match="made for different arguments"):
            store.record_decision(1, Approve(arguments_hash="0" * 64), decided_by="ana")
        assert store.list_approvals()[0].status == "pending"

    def test_an_unknown_approval_is_a_clear_error(self, store: RunStore) -> None:
        with pytest.raises(ApprovalError, match="no approval 'toolu_x'"):
            store.record_decision("toolu_x", Approve(), decided_by="ana")

    def test_a_call_id_shared_by_two_runs_must_be_named_by_number(self, store: RunStore) -> None:
        paused(store, run_id="run-1")
        paused(store, run_id="run-2")
        with pytest.raises(ApprovalError, match="is in several runs; use a number: 1, 2"):
            store.get_approval("toolu_1")
        assert store.get_approval(2).run_id == "run-2"


class TestExecutions:
    def test_the_first_claim_runs_and_a_second_is_refused(self, store: RunStore) -> None:
        assert store.begin_execution("run-1", "toolu_1", tool="refund_order") is True
        store.finish_execution("run-1", "toolu_1", is_error=False, result="refunded")
        assert store.begin_execution("run-1", "toolu_1", tool="refund_order") is False
        record = store.execution("run-1", "toolu_1")
        assert record is not None
        assert (record.status, record.result) == ("succeeded", "refunded")

    def test_a_claim_left_started_by_a_crash_becomes_unknown_and_never_runs_again(
        self, tmp_path: Path
    ) -> None:
        path = tmp_path / "runs.db"
        with RunStore(path) as first_process:
            assert first_process.begin_execution("run-1", "toolu_1", tool="refund_order")
        # the first process dies here, inside the tool
        with RunStore(path) as second_process:
            assert second_process.begin_execution("run-1", "toolu_1", tool="refund_order") is False
            assert second_process.begin_execution("run-1", "toolu_1", tool="refund_order") is False
            record = second_process.execution("run-1", "toolu_1")
            events = [(e.event, e.outcome) for e in second_process.audit_log()]
        assert record is not None and record.status == "unknown"
        assert events == [("execution.started", None), ("execution.unknown", "unknown")]

    def test_a_failed_call_is_recorded_as_failed(self, store: RunStore) -> None:
        store.begin_execution("run-1", "toolu_1", tool="refund_order")
        store.finish_execution("run-1", "toolu_1", is_error=True, result="card declined")
        record = store.execution("run-1", "toolu_1")
        assert record is not None and (record.status, record.result) == ("failed", "card declined")

    def test_finishing_an_unclaimed_call_is_an_error(self, store: RunStore) -> None:
        with pytest.raises(RunStateError, match="finished without begin_execution"):
            store.finish_execution("run-1", "toolu_1", is_error=False)

    def test_an_unclaimed_call_has_no_record(self, store: RunStore) -> None:
        assert store.execution("run-1", "toolu_1") is None

    @pytest.mark.e2e
    def test_concurrent_processes_claim_a_call_exactly_once(self, tmp_path: Path) -> None:
        path = tmp_path / "runs.db"
        RunStore(path).close()
        context = multiprocessing.get_context("spawn")
        with context.Pool(6) as pool:
            claims = pool.map(_claim, [str(path)] * 12)
        assert sorted(claims) == [False] * 11 + [True]


def _claim(path: str) -> bool:
    with RunStore(path) as store:
        return store.begin_execution("run-1", "toolu_1", tool="refund_order")


class TestAuditLog:
    def test_records_the_life_of_a_call_with_arguments_redacted(self, store: RunStore) -> None:
        paused(store)
        store.record_decision(1, Approve(), decided_by="ana")
        store.begin_execution(
            "run-1",
            "toolu_1",
            tool="refund_order",
            arguments=refund_request().arguments,
            secret_fields={"api_key"},
        )
        store.finish_execution("run-1", "toolu_1", is_error=False, result="ok")
        shown = {"order_id": "A-1001", "amount_cents": 5000, "api_key": REDACTED}
        rows = [
            (e.event, e.tool, e.arguments, e.decision, e.decided_by, e.reason, e.outcome)
            for e in store.audit_log(run_id="run-1")
        ]
        assert rows == [
            ("approval.requested", "refund_order", shown, None, None,
             "tool is marked sensitive", None),
            ("approval.decision", "refund_order", shown, "approve", "ana", None, None),
            ("execution.started", "refund_order", shown, None, None, None, None),
            ("execution.finished", "refund_order", None, None, None, None, "succeeded"),
        ]  # fmt: skip
        assert [e.at for e in store.audit_log()] == sorted(e.at for e in store.audit_log())

    def test_edited_arguments_are_audited_redacted(self, store: RunStore) -> None:
        paused(store)
        edit = Edit({"order_id": "A-1001", "amount_cents": 10, "api_key": "sk-other"})
        store.record_decision(1, edit, decided_by="ana")
        entry = store.audit_log()[-1]
        assert (entry.decision, entry.arguments) == (
            "edit",
            {"order_id": "A-1001", "amount_cents": 10, "api_key": REDACTED},
        )

    def test_the_audit_log_cannot_be_changed_or_deleted(self, store: RunStore) -> None:
        paused(store)
        with pytest.raises(sqlite3.IntegrityError, match="audit_log is append-only"):
            store._db.execute("UPDATE audit_log SET decided_by = 'mallory'")
        with pytest.raises(sqlite3.IntegrityError, match="audit_log is append-only"):
            store._db.execute("DELETE FROM audit_log")
        assert len(store.audit_log()) == 1

    def test_apps_may_append_their_own_events(self, store: RunStore) -> None:
        store.record_event(
            "run.resumed",
            run_id="run-1",
            decided_by="cli",
            arguments={"token": "t"},
            secret_fields={"token"},
        )
        [entry] = store.audit_log()
        assert (entry.event, entry.run_id, entry.decided_by, entry.arguments) == (
            "run.resumed",
            "run-1",
            "cli",
            {"token": REDACTED},
        )


class TestSealing:
    def test_round_trip_with_and_without_key(self) -> None:
        assert unseal(seal(STATE)) == STATE
        assert unseal(seal(STATE, b"key"), b"key") == STATE

    def test_a_checksum_envelope_cannot_pass_where_a_key_is_required(self) -> None:
        with pytest.raises(RunStateError, match="'sha256' but 'hmac-sha256' was required"):
            unseal(seal(STATE), b"key")

    @pytest.mark.parametrize(
        ("envelope", "message"),
        [
            ("[]", "not a sealed agentcore run state"),
            ('{"format": "agentcore.sealed-run-state", "version": 7}', "has version 7"),
            ('{"format": "agentcore.sealed-run-state", "version": 1}', "missing its state"),
        ],
    )
    def test_malformed_envelopes_are_rejected(self, envelope: str, message: str) -> None:
        with pytest.raises(RunStateError, match=message):
            unseal(envelope)
