"""RunStore: paused runs, pending approvals, executions and an append-only audit log in SQLite.

One file holds everything a deferred approval needs to survive the process that asked:

- ``runs``: each run's sealed state (see :mod:`agentcore.store.sealing`) and status;
- ``pending_approvals``: calls waiting for a person, with arguments masked (the real ones,
  when masking hid something, AES-GCM encrypted beside them);
- ``decisions``: what was decided, by whom, bound to the arguments hash that was shown;
- ``executions``: a row written *before* a tool runs, so a second attempt never runs it again
  (:meth:`RunStore.begin_execution`); a crash leaves the row ``started`` and the outcome is
  reported as ``unknown``;
- ``audit_log``: one row per happening, which triggers forbid updating or deleting.

Every row that can make a call run (a run's state, with its always-allowed tools; each
pending call; each decision) carries an HMAC bound to its run id and call id, made with a key
derived from the store key, and is checked when read: a row forged or edited behind the
store's back, or moved to another run or call, raises :class:`~agentcore.errors.RunStateError`
and leaves an ``integrity.failed`` entry in the audit log. The store key is the application's
(``key=``) or a key file beside the database, created on first use readable by its owner only.

SQLite runs in WAL mode with a busy timeout, and every write is one ``BEGIN IMMEDIATE``
transaction, so several processes may share a store file.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agentcore.approval.requests import (
    ApprovalRequest,
    Decision,
    decision_from_dict,
)
from agentcore.errors import ApprovalError, RunStateError
from agentcore.store import _schema as schema
from agentcore.store import _writes as writes
from agentcore.store._keys import StoreKeys, create_key_file, default_key_path, read_key_file
from agentcore.store._schema import (
    ApprovalRecord,
    AuditEntry,
    ExecutionRecord,
    RunRecord,
)
from agentcore.store.sealing import seal, unseal

__all__ = [
    "ApprovalRecord",
    "AuditEntry",
    "ExecutionRecord",
    "RunRecord",
    "RunStore",
    "seal",
    "unseal",
]

_BUSY_TIMEOUT_MS = 10_000
_NOT_A_STORE = "is damaged or is not a run store"
_DAMAGED = "is damaged or unreadable"


def _utc_now() -> datetime:
    return datetime.now(UTC)


class RunStore:
    """A SQLite file of runs, approvals, executions and their audit log.

    Args:
        path: The database file (created with its tables when missing).
        key: The store key (at least 16 random bytes), when the application keeps it (in a
            secrets manager, say). Without it the key is read from ``key_file``, which is
            created with 32 random bytes and mode 0600 when the store itself is new.
        key_file: Where the key file is; by default beside the database, ``<path>.key``.
        clock: Returns the current time; injectable for tests.

    Raises:
        RunStateError: the file is not a SQLite database, or was written by an incompatible
            version of this store; the key file of an existing store is missing, malformed or
            readable by others; or the key is not the one the store was made with. Every
            method raises it too when the file turns out to be damaged (or cannot be read or
            written) or a row fails its integrity check, naming the file or the row.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        key: bytes | None = None,
        key_file: str | os.PathLike[str] | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.path = Path(path)
        self.key_file = Path(key_file) if key_file is not None else default_key_path(self.path)
        self._clock = clock
        self._lock = threading.RLock()
        self._current_run: ContextVar[str | None] = ContextVar(
            f"agentcore_store_run_{id(self)}", default=None
        )
        try:
            self._db = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=10.0
            )
        except sqlite3.Error as exc:
            raise RunStateError(f"cannot open run store {str(self.path)!r}: {exc}") from exc
        try:
            with self._store_errors(_NOT_A_STORE):
                self._db.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
                self._db.execute("PRAGMA journal_mode = WAL")
                self._db.execute("PRAGMA foreign_keys = ON")
            with self._transaction(_NOT_A_STORE) as db:
                self._keys = self._open_keys(db, key)
        except RunStateError:
            self._db.close()
            raise

    def _open_keys(self, db: sqlite3.Connection, key: bytes | None) -> StoreKeys:
        found = schema.create_or_check(db, str(self.path))
        in_memory = str(self.path) in ("", ":memory:")
        if found is None:
            store_id = secrets.token_hex(16)
            if key is None:
                key = secrets.token_bytes(32) if in_memory else self._key_from_file(create=True)
            keys = StoreKeys(key, store_id)
            schema.record_key(db, store_id, keys.check_value())
            return keys
        store_id, check = found
        keys = StoreKeys(self._key_from_file(create=False) if key is None else key, store_id)
        if not hmac.compare_digest(check, keys.check_value()):
            raise RunStateError(
                f"run store {str(self.path)!r} was made with another key; open it with the key "
                "it was made with"
            )
        return keys

    def _key_from_file(self, *, create: bool) -> bytes:
        if create and not self.key_file.exists():
            try:
                return create_key_file(self.key_file)
            except OSError as exc:
                raise RunStateError(
                    f"cannot create the store's key file {str(self.key_file)!r}: {exc}"
                ) from exc
        return read_key_file(self.key_file)

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def _store_errors(self, problem: str = _DAMAGED) -> Iterator[None]:
        try:
            yield
        except sqlite3.ProgrammingError:
            # A closed store or a malformed statement: a mistake in the calling code, not
            # something wrong with the file.
            raise
        except sqlite3.DatabaseError as exc:
            raise RunStateError(f"run store {str(self.path)!r} {problem}: {exc}") from exc

    @contextmanager
    def _transaction(self, problem: str = _DAMAGED) -> Iterator[sqlite3.Connection]:
        with self._lock, self._store_errors(problem):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                # SQLite may have rolled back already (on some errors it does so itself).
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _read_one(self, query: str, params: Sequence[Any] = ()) -> Any:
        rows = self._read(query, params)
        return rows[0] if rows else None

    def _read(self, query: str, params: Sequence[Any] = ()) -> list[Any]:
        # The connection is shared by threads: reading under the lock keeps another thread's
        # open transaction from showing through.
        with self._lock, self._store_errors():
            return self._db.execute(query, params).fetchall()

    def _now(self) -> str:
        return self._clock().astimezone(UTC).isoformat(timespec="microseconds")

    @contextmanager
    def running(self, run_id: str) -> Iterator[None]:
        """Mark ``run_id`` as the run being driven in this context (thread or task).

        Execution hooks (:class:`agentcore.durable.ExecutionJournal`) file their records under
        it; :func:`agentcore.durable.run_stored` and ``resume_stored`` set it for you.
        """
        token = self._current_run.set(run_id)
        try:
            yield
        finally:
            self._current_run.reset(token)

    def current_run_id(self) -> str | None:
        """The run set by :meth:`running` in this context, if any."""
        return self._current_run.get()

    # -- runs -----------------------------------------------------------------------------

    def save_run(
        self,
        run_id: str,
        state_json: str,
        *,
        status: str,
        pending: Iterable[ApprovalRequest] = (),
    ) -> None:
        """Store (or replace) a run's state, and record the calls now waiting for approval.

        The state is sealed (see :func:`agentcore.sealing.seal`) and its row authenticated.
        Each pending request is stored with its arguments masked (secrets encrypted) and
        logged as ``approval.requested`` once.

        Raises:
            RunStateError: a pending call was already recorded with different arguments.
        """
        now = self._now()
        keys = self._keys
        sealed = seal(state_json, keys.state_key)
        mac = keys.mac(*schema.run_mac_fields(run_id, sealed))
        with self._transaction() as db:
            db.execute(
                "INSERT INTO runs (run_id, status, state_json, created_at, updated_at, mac) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (run_id) DO UPDATE SET "
                "status = excluded.status, state_json = excluded.state_json, "
                "updated_at = excluded.updated_at, mac = excluded.mac",
                (run_id, status, sealed, now, now, mac),
            )
            for request in pending:
                writes.add_pending(db, keys, run_id, request, now)

    def load_run(self, run_id: str) -> RunRecord:
        """Return the run with its state checked and unsealed.

        Raises:
            RunStateError: no such run, or its stored state is corrupt or was tampered with.
        """
        row = self._read_one(schema.SELECT_RUNS + " WHERE run_id = ?", (run_id,))
        if row is None:
            raise RunStateError(f"no run {run_id!r} in {str(self.path)!r}")
        try:
            state = unseal(row[2], self._keys.state_key)
        except RunStateError as exc:
            raise self._integrity_failure(f"run {run_id!r}: {exc}", run_id) from exc
        if not self._keys.verify(row[5], *schema.run_mac_fields(run_id, row[2])):
            raise self._integrity_failure(
                f"run {run_id!r}: its stored state belongs to another run or was tampered with "
                "(it failed its integrity check)",
                run_id,
            )
        return RunRecord(row[0], row[1], state, row[3], row[4])

    def set_status(self, run_id: str, status: str) -> None:
        """Change a run's status (e.g. to ``finished`` once it completed)."""
        with self._transaction() as db:
            changed = db.execute(
                "UPDATE runs SET status = ?, updated_at = ? WHERE run_id = ?",
                (status, self._now(), run_id),
            ).rowcount
        if not changed:
            raise RunStateError(f"no run {run_id!r} in {str(self.path)!r}")

    def list_runs(self, *, status: str | None = None) -> list[RunRecord]:
        """Return the runs (newest first), optionally only those with ``status``.

        The ``state_json`` of listed runs is left sealed; use :meth:`load_run` to read one.
        """
        query = schema.SELECT_RUNS
        params: tuple[str, ...] = ()
        if status is not None:
            query += " WHERE status = ?"
            params = (status,)
        rows = self._read(query + " ORDER BY updated_at DESC, run_id", params)
        return [RunRecord(*row[:5]) for row in rows]

    # -- approvals ------------------------------------------------------------------------

    def list_approvals(
        self, *, status: str | None = "pending", run_id: str | None = None
    ) -> list[ApprovalRecord]:
        """Return approvals (oldest first), by default only those still pending."""
        clauses, params = [], []
        if status is not None:
            clauses.append("p.status = ?")
            params.append(status)
        if run_id is not None:
            clauses.append("p.run_id = ?")
            params.append(run_id)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._read(schema.SELECT_APPROVALS + where + " ORDER BY p.id", params)
        return [self._checked_approval(row) for row in rows]

    def get_approval(self, ref: int | str) -> ApprovalRecord:
        """Return one approval by its number or its call id.

        Raises:
            ApprovalError: no approval matches, or a call id matches several runs.
        """
        if isinstance(ref, int) or (ref.isascii() and ref.isdigit()):
            number = int(ref)
            # Beyond SQLite's integers no row can match (and binding the number would fail).
            in_range = -(2**63) <= number < 2**63
            query = schema.SELECT_APPROVALS + " WHERE p.id = ?"
            rows = self._read(query, (number,)) if in_range else []
        else:
            rows = self._read(schema.SELECT_APPROVALS + " WHERE p.call_id = ?", (ref,))
        found = [self._checked_approval(row) for row in rows]
        if not found:
            raise ApprovalError(f"no approval {ref!r} in {str(self.path)!r}")
        if len(found) > 1:
            numbers = ", ".join(str(item.approval_id) for item in found)
            raise ApprovalError(f"call id {ref!r} is in several runs; use a number: {numbers}")
        return found[0]

    def record_decision(
        self, ref: int | str, decision: Decision, *, decided_by: str
    ) -> ApprovalRecord:
        """Record a person's decision on a pending approval, bound to its arguments hash.

        An ``Edit`` is stored with its secret fields masked in clear and in full encrypted; a
        secret field the edit left masked keeps the call's real value.

        Raises:
            ApprovalError: no such approval, it was already decided, or the decision was
                made for different arguments than the ones pending.
            RunStateError: the pending call failed its integrity check.
        """
        approval = self.get_approval(ref)
        if decision.arguments_hash not in (None, approval.arguments_hash):
            raise ApprovalError(
                f"approval {approval.approval_id}: the decision was made for different "
                "arguments than the pending call has"
            )
        bound = _bind(decision, approval.arguments_hash)
        real = self.call_arguments(approval.run_id, approval.call_id) or approval.arguments
        with self._transaction() as db:
            writes.record_decision(db, self._keys, self._now(), approval, bound, decided_by, real)
        return self.get_approval(approval.approval_id)

    def decisions_for(self, run_id: str) -> dict[str, Decision]:
        """Return the recorded decisions of a run by call id, ready for ``Agent.resume``.

        Each is checked against its MAC and has its secrets decrypted.

        Raises:
            RunStateError: a decision row was forged, edited or moved from another call (an
                ``integrity.failed`` audit entry records it), or cannot be read.
        """
        rows = self._read(
            "SELECT call_id, decision_json, secret_decision, decided_by, decided_at, mac "
            "FROM decisions WHERE run_id = ? ORDER BY decided_at",
            (run_id,),
        )
        decisions: dict[str, Decision] = {}
        for call_id, raw, secret, decided_by, decided_at, mac in rows:
            where = f"run {run_id!r}: stored decision for call {call_id!r}"
            fields = schema.decision_mac_fields(
                run_id, call_id, raw, secret, decided_by, decided_at
            )
            if not self._keys.verify(mac, *fields):
                raise self._integrity_failure(
                    f"{where} failed its integrity check: it was forged, edited or moved "
                    "from another call; nothing runs on it",
                    run_id,
                    call_id,
                )
            try:
                if secret is not None:
                    raw = self._keys.decrypt(secret, "decision", run_id, call_id)
                decisions[call_id] = decision_from_dict(json.loads(raw))
            except (ValueError, ApprovalError, RunStateError) as exc:
                raise RunStateError(f"{where} is corrupt: {exc}") from exc
        return decisions

    def call_arguments(self, run_id: str, call_id: str) -> dict[str, Any] | None:
        """The real arguments of a pending call whose stored ones are masked, decrypted;
        None when nothing was masked (or no such call is recorded).

        Raises:
            RunStateError: the pending call failed its integrity check, or its encrypted
                arguments cannot be decrypted.
        """
        rows = self._read(
            schema.SELECT_APPROVALS + " WHERE p.run_id = ? AND p.call_id = ?", (run_id, call_id)
        )
        if not rows:
            return None
        self._checked_approval(rows[0])
        secret = rows[0][13]
        if secret is None:
            return None
        try:
            arguments = json.loads(self._keys.decrypt(secret, "pending", run_id, call_id))
        except (ValueError, RunStateError) as exc:
            raise self._integrity_failure(
                f"run {run_id!r}: the stored arguments of call {call_id!r} cannot be read: {exc}",
                run_id,
                call_id,
            ) from exc
        return arguments if isinstance(arguments, dict) else None

    def _checked_approval(self, row: tuple[Any, ...]) -> ApprovalRecord:
        """Build an approval from its row after checking the MACs of it and its decision."""
        run_id, call_id = row[1], row[2]
        fields = schema.pending_mac_fields(
            run_id, call_id, row[3], row[4], row[5], row[6], row[7], row[13]
        )
        decided = schema.decision_mac_fields(run_id, call_id, row[11], row[15], row[12], row[17])
        problem = None
        if not self._keys.verify(row[14], *fields):
            problem = f"pending approval {row[0]} (run {run_id!r}, call {call_id!r})"
        elif row[11] is not None and not self._keys.verify(row[16], *decided):
            problem = f"the decision of approval {row[0]} (run {run_id!r}, call {call_id!r})"
        if problem is not None:
            raise self._integrity_failure(
                f"{problem} failed its integrity check: it was forged, edited or moved from "
                "another call; refusing it",
                run_id,
                call_id,
            )
        return schema.approval_from_row(row)

    def _integrity_failure(
        self, message: str, run_id: str | None, call_id: str | None = None
    ) -> RunStateError:
        """Audit a row that failed its check; return the error to raise."""
        self.record_event("integrity.failed", run_id=run_id, call_id=call_id, reason=message)
        return RunStateError(message)

    # -- executions -----------------------------------------------------------------------

    def begin_execution(
        self,
        run_id: str,
        call_id: str,
        *,
        tool: str = "",
        arguments: dict[str, Any] | None = None,
        secret_fields: Iterable[str] = (),
    ) -> bool:
        """Claim a call for execution; True means the caller must run it now, exactly once.

        The claim is committed before returning, so it survives a crash during the tool.
        False means the call was claimed before and must not run again: look at
        :meth:`execution` for its outcome. A claim left ``started`` (the process died while
        the tool ran) is marked ``unknown`` here, since nobody can tell whether it finished.
        """
        shown = writes.shown_arguments(arguments or {}, secret_fields)
        with self._transaction() as db:
            return writes.claim_execution(db, self._now(), run_id, call_id, tool, shown)

    def finish_execution(
        self, run_id: str, call_id: str, *, is_error: bool, result: Any = None
    ) -> None:
        """Record how a claimed call ended (``succeeded`` or ``failed``) with its result.

        Raises:
            RunStateError: the call was never claimed with :meth:`begin_execution`.
        """
        result_json = schema.dumps(result)
        with self._transaction() as db:
            writes.finish_execution(db, self._now(), run_id, call_id, is_error, result_json)

    def execution(self, run_id: str, call_id: str) -> ExecutionRecord | None:
        """Return the execution record of a call, or None if it was never claimed."""
        row = self._read_one(
            "SELECT run_id, call_id, tool, status, result_json, started_at, finished_at "
            "FROM executions WHERE run_id = ? AND call_id = ?",
            (run_id, call_id),
        )
        return None if row is None else schema.execution_from_row(row)

    # -- audit ----------------------------------------------------------------------------

    def record_event(
        self,
        event: str,
        *,
        run_id: str | None = None,
        call_id: str | None = None,
        tool: str | None = None,
        arguments: dict[str, Any] | None = None,
        secret_fields: Iterable[str] = (),
        decision: str | None = None,
        decided_by: str | None = None,
        reason: str | None = None,
        outcome: str | None = None,
    ) -> None:
        """Append one entry to the audit log (arguments are masked before storing)."""
        shown = None if arguments is None else writes.shown_arguments(arguments, secret_fields)
        with self._transaction() as db:
            schema.append_audit(
                db, self._now(), event, run_id=run_id, call_id=call_id, tool=tool,
                arguments=shown, decision=decision, decided_by=decided_by, reason=reason,
                outcome=outcome,
            )  # fmt: skip

    def audit_log(self, *, run_id: str | None = None) -> list[AuditEntry]:
        """Return audit entries in the order they were written, optionally for one run."""
        query = schema.SELECT_AUDIT
        params: tuple[str, ...] = ()
        if run_id is not None:
            query += " WHERE run_id = ?"
            params = (run_id,)
        rows = self._read(query + " ORDER BY id", params)
        return [schema.audit_from_row(row) for row in rows]


def _bind(decision: Decision, digest: str) -> Decision:
    if decision.arguments_hash == digest:
        return decision
    return decision_from_dict({**decision.to_dict(), "arguments_hash": digest})
