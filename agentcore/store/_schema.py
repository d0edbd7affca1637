"""The run store's SQL schema, its records, and the row conversions (used by store.py)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from agentcore.approval.requests import Decision, decision_from_dict
from agentcore.errors import ApprovalError, RunStateError
from agentcore.redaction import Redactor

SCHEMA_VERSION = 2

_REDACTOR = Redactor()

STATUS_BY_KIND = {
    "approve": "approved",
    "edit": "edited",
    "deny": "denied",
    "always_allow": "always_allowed",
}

_TABLES = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
CREATE TABLE store_key (store_id TEXT NOT NULL, key_check TEXT NOT NULL);
CREATE TABLE runs (
    run_id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    state_json TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    mac TEXT
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
    secret_arguments TEXT,
    mac TEXT,
    UNIQUE (run_id, call_id)
);
CREATE TABLE decisions (
    run_id TEXT NOT NULL,
    call_id TEXT NOT NULL,
    decision_json TEXT NOT NULL,
    decided_by TEXT NOT NULL,
    decided_at TEXT NOT NULL,
    secret_decision TEXT,
    mac TEXT,
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


def create_or_check(db: sqlite3.Connection, where: str) -> tuple[str, str] | None:
    """Create the tables in an empty database, or check the version of an existing one.

    Returns the store's id and key check value, or None for a store just created (whose
    caller then records them with :func:`record_key`).
    """
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
        return None
    row = db.execute("SELECT version FROM schema_version").fetchone()
    if row is None or row[0] != SCHEMA_VERSION:
        found = None if row is None else row[0]
        raise RunStateError(
            f"run store {where!r} has schema version {found!r}; this agentcore uses "
            f"version {SCHEMA_VERSION}"
        )
    key_row = db.execute("SELECT store_id, key_check FROM store_key").fetchall()
    if len(key_row) != 1:
        raise RunStateError(f"run store {where!r} has lost the record of its key")
    return str(key_row[0][0]), str(key_row[0][1])


def record_key(db: sqlite3.Connection, store_id: str, key_check: str) -> None:
    """Record a new store's id and the check value of its key."""
    db.execute("INSERT INTO store_key (store_id, key_check) VALUES (?, ?)", (store_id, key_check))


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
    """The arguments with secret fields and credential-looking names masked."""
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
    """The tool's secret fields plus the credential-looking names in the arguments."""
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


SELECT_RUNS = "SELECT run_id, status, state_json, created_at, updated_at, mac FROM runs"

SELECT_APPROVALS = (
    "SELECT p.id, p.run_id, p.call_id, p.tool, p.arguments_json, p.arguments_hash, p.reason, "
    "p.request_json, p.status, p.created_at, p.decided_at, d.decision_json, d.decided_by, "
    "p.secret_arguments, p.mac, d.secret_decision, d.mac, d.decided_at "
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


def secret_names(arguments: Any, secret_fields: Iterable[str]) -> frozenset[str]:
    """The declared secret fields plus every credential-looking key in ``arguments``."""
    found = set(secret_fields)
    _collect_secret_keys(arguments, found)
    return frozenset(found)


def _collect_secret_keys(value: Any, found: set[str]) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, str) and _REDACTOR.is_secret_key(key):
                found.add(key)
            _collect_secret_keys(item, found)
    elif isinstance(value, list):
        for item in value:
            _collect_secret_keys(item, found)


def approval_from_row(row: tuple[Any, ...]) -> ApprovalRecord:
    """Build an ApprovalRecord from a SELECT_APPROVALS row."""
    what = f"approval {row[0]}"
    request = _loads(row[7], what) or {}
    arguments = _loads(row[4], f"arguments of {what}")
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
        arguments=arguments,
        arguments_hash=row[5],
        reason=row[6],
        status=row[8],
        created_at=row[9],
        decided_at=row[10],
        description=str(request.get("description", "")),
        input_schema=dict(request.get("input_schema") or {}),
        secret_fields=secret_names(arguments, request.get("secret_fields") or ()),
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


def pending_mac_fields(
    run_id: str,
    call_id: str,
    tool: str,
    arguments_json: str,
    digest: str,
    reason: str,
    request_json: str,
    secret_arguments: str | None,
) -> tuple[Any, ...]:
    """What the MAC of a pending approval row covers (all but its status and times)."""
    return (
        "pending", run_id, call_id, tool, arguments_json, digest, reason, request_json,
        secret_arguments,
    )  # fmt: skip


def decision_mac_fields(
    run_id: str,
    call_id: str,
    decision_json: str,
    secret_decision: str | None,
    decided_by: str,
    decided_at: str,
) -> tuple[Any, ...]:
    """What the MAC of a decision row covers: all of it."""
    return ("decision", run_id, call_id, decision_json, secret_decision, decided_by, decided_at)


def run_mac_fields(run_id: str, state_json: str) -> tuple[Any, ...]:
    """What the MAC of a run row covers: its id and its sealed state."""
    return ("run", run_id, state_json)
