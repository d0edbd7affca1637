"""The run store's SQL schema, its records, and the row conversions (used by store.py)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from agentcore.approval.requests import Decision, decision_from_dict
from agentcore.errors import ApprovalError, RunStateError

SCHEMA_VERSION = 1

STATUS_BY_KIND = {
    "approve": "approved",
    "edit": "edited",
    "deny": "denied",
    "always_allow": "always_allowed",
}

_TABLES = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
CREATE TABLE runs (
    run_id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    state_json TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE pending_approvals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES runs (run_id),
    call_id TEXT NOT NULL,
    tool TEXT NOT NULL,
    arguments_json TEXT NOT NULL,
    arguments_hash TEXT NOT NULL,
    reason TEXT NOT NULL,
    request_json TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN
        ('pending', 'approved', 'edited', 'denied', 'always_allowed')),
    created_at TEXT NOT NULL,
    decided_at TEXT,
    UNIQUE (run_id, call_id)
);
CREATE TABLE decisions (
    run_id TEXT NOT NULL,
    call_id TEXT NOT NULL,
    decision_json TEXT NOT NULL,
    decided_by TEXT NOT NULL,
    decided_at TEXT NOT NULL,
    PRIMARY KEY (run_id, call_id)
);
CREATE TABLE executions (
    run_id TEXT NOT NULL,
    call_id TEXT NOT NULL,
    tool TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('started', 'succeeded', 'failed', 'unknown')),
    result_json TEXT,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    PRIMARY KEY (run_id, call_id)
);
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    event TEXT NOT NULL,
    run_id TEXT,
    call_id TEXT,
    tool TEXT,
    arguments_json TEXT,
    decision TEXT,
    decided_by TEXT,
    reason TEXT,
    outcome TEXT
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
"""


def create_or_check(db: sqlite3.Connection, where: str) -> None:
    """Create the tables in an empty database, or check the version of an existing one."""
    has_version = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    ).fetchone()
    if has_version is None:
        others = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if others:
            raise RunStateError(f"{where!r} is a SQLite database but not an agentcore run store")
        for statement in _split(_TABLES):
            db.execute(statement)
        db.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
        return
    row = db.execute("SELECT version FROM schema_version").fetchone()
    if row is None or row[0] != SCHEMA_VERSION:
        found = None if row is None else row[0]
        raise RunStateError(
            f"run store {where!r} has schema version {found!r}; this agentcore uses "
            f"version {SCHEMA_VERSION}"
        )


def _split(script: str) -> list[str]:
    # Triggers contain ';' inside BEGIN … END, so statements are split where sqlite3 says a
    # statement is complete rather than at every semicolon.
    statements, current = [], ""
    for line in script.strip().splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    return statements


def append_audit(
    db: sqlite3.Connection,
    at: str,
    event: str,
    *,
    run_id: str | None = None,
    call_id: str | None = None,
    tool: str | None = None,
    arguments: dict[str, Any] | None = None,
    decision: str | None = None,
    decided_by: str | None = None,
    reason: str | None = None,
    outcome: str | None = None,
) -> None:
    """Append one audit row (``arguments`` must already be redacted)."""
    db.execute(
        "INSERT INTO audit_log (at, event, run_id, call_id, tool, arguments_json, decision, "
        "decided_by, reason, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            at,
            event,
            run_id,
            call_id,
            tool,
            None if arguments is None else dumps(arguments),
            decision,
            decided_by,
            reason,
            outcome,
        ),
    )


@dataclass(frozen=True, slots=True)
class RunRecord:
    """A stored run."""

    run_id: str
    status: str
    state_json: str
    """The run's state; unsealed by ``load_run``, still sealed in ``list_runs``."""
    created_at: str
    updated_at: str


@dataclass(frozen=True, slots=True)
class ApprovalRecord:
    """A call that waits (or waited) for a person's decision."""

    approval_id: int
    """A short number to refer to it on the command line."""
    run_id: str
    call_id: str
    tool_name: str
    arguments: dict[str, Any]
    """The arguments with secret fields redacted."""
    arguments_hash: str
    """Hash of the real arguments; decisions are bound to it."""
    reason: str
    status: str
    """``pending``, ``approved``, ``edited``, ``denied`` or ``always_allowed``."""
    created_at: str
    decided_at: str | None
    description: str
    input_schema: dict[str, Any]
    secret_fields: frozenset[str]
    decision: Decision | None
    decided_by: str | None


@dataclass(frozen=True, slots=True)
class ExecutionRecord:
    """What is known about running one approved call."""

    run_id: str
    call_id: str
    tool: str
    status: str
    """``started``, ``succeeded``, ``failed`` or ``unknown`` (began, never finished)."""
    result: Any
    started_at: str
    finished_at: str | None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One row of the append-only audit log."""

    entry_id: int
    at: str
    event: str
    run_id: str | None
    call_id: str | None
    tool: str | None
    arguments: dict[str, Any] | None
    """Redacted arguments, when the event concerns a call."""
    decision: str | None
    decided_by: str | None
    reason: str | None
    outcome: str | None


SELECT_RUNS = "SELECT run_id, status, state_json, created_at, updated_at FROM runs"

SELECT_APPROVALS = (
    "SELECT p.id, p.run_id, p.call_id, p.tool, p.arguments_json, p.arguments_hash, p.reason, "
    "p.request_json, p.status, p.created_at, p.decided_at, d.decision_json, d.decided_by "
    "FROM pending_approvals p LEFT JOIN decisions d "
    "ON d.run_id = p.run_id AND d.call_id = p.call_id"
)

SELECT_AUDIT = (
    "SELECT id, at, event, run_id, call_id, tool, arguments_json, decision, decided_by, "
    "reason, outcome FROM audit_log"
)


def dumps(value: Any) -> str:
    """The JSON text stored for ``value`` (what JSON cannot hold is stored as its str)."""
    return json.dumps(value, ensure_ascii=False, default=str)


def _loads(raw: str | None, what: str) -> Any:
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise RunStateError(f"stored {what} is not valid JSON: {exc}") from exc


def approval_from_row(row: tuple[Any, ...]) -> ApprovalRecord:
    """Build an ApprovalRecord from a SELECT_APPROVALS row."""
    what = f"approval {row[0]}"
    request = _loads(row[7], what) or {}
    decision = None
    if row[11] is not None:
        try:
            decision = decision_from_dict(_loads(row[11], f"decision of {what}"))
        except ApprovalError as exc:
            raise RunStateError(f"stored decision of {what} is corrupt: {exc}") from exc
    return ApprovalRecord(
        approval_id=row[0],
        run_id=row[1],
        call_id=row[2],
        tool_name=row[3],
        arguments=_loads(row[4], f"arguments of {what}"),
        arguments_hash=row[5],
        reason=row[6],
        status=row[8],
        created_at=row[9],
        decided_at=row[10],
        description=str(request.get("description", "")),
        input_schema=dict(request.get("input_schema") or {}),
        secret_fields=frozenset(request.get("secret_fields") or ()),
        decision=decision,
        decided_by=row[12],
    )


def execution_from_row(row: tuple[Any, ...]) -> ExecutionRecord:
    """Build an ExecutionRecord from its row."""
    result = _loads(row[4], f"result of call {row[1]!r}")
    return ExecutionRecord(row[0], row[1], row[2], row[3], result, row[5], row[6])


def audit_from_row(row: tuple[Any, ...]) -> AuditEntry:
    """Build an AuditEntry from a SELECT_AUDIT row."""
    arguments = _loads(row[6], f"arguments of audit entry {row[0]}")
    return AuditEntry(row[0], row[1], row[2], row[3], row[4], row[5], arguments, *row[7:11])
