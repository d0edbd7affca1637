"""The run store's multi-statement writes; each runs inside the caller's transaction."""

from __future__ import annotations

import sqlite3
from typing import Any

from agentcore.approval.requests import ApprovalRequest, Decision, redact_arguments
from agentcore.errors import ApprovalError, RunStateError
from agentcore.store._schema import STATUS_BY_KIND, ApprovalRecord, append_audit, dumps


def add_pending(db: sqlite3.Connection, run_id: str, request: ApprovalRequest, now: str) -> None:
    """Record a call waiting for approval (redacted), once; refuse it with other arguments."""
    known = db.execute(
        "SELECT arguments_hash FROM pending_approvals WHERE run_id = ? AND call_id = ?",
        (run_id, request.call_id),
    ).fetchone()
    if known is not None:
        if known[0] != request.arguments_hash:
            raise RunStateError(
                f"run {run_id!r}: call {request.call_id!r} was recorded with other "
                "arguments; the run state was tampered with or reused"
            )
        return
    shown = request.display_arguments()
    summary = {**request.to_dict(), "arguments": shown}
    db.execute(
        "INSERT INTO pending_approvals (run_id, call_id, tool, arguments_json, "
        "arguments_hash, reason, request_json, status, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?)",
        (
            run_id,
            request.call_id,
            request.tool_name,
            dumps(shown),
            request.arguments_hash,
            request.reason,
            dumps(summary),
            now,
        ),
    )
    append_audit(
        db, now, "approval.requested", run_id=run_id, call_id=request.call_id,
        tool=request.tool_name, arguments=shown, reason=request.reason,
    )  # fmt: skip


def record_decision(
    db: sqlite3.Connection, now: str, approval: ApprovalRecord, decision: Decision, by: str
) -> None:
    """Mark a pending approval decided and keep the decision (already bound to its hash)."""
    changed = db.execute(
        "UPDATE pending_approvals SET status = ?, decided_at = ? "
        "WHERE id = ? AND status = 'pending'",
        (STATUS_BY_KIND[decision.kind], now, approval.approval_id),
    ).rowcount
    if not changed:
        raise ApprovalError(
            f"approval {approval.approval_id} ({approval.tool_name}, call "
            f"{approval.call_id}) was already decided: {approval.status}"
        )
    db.execute(
        "INSERT INTO decisions (run_id, call_id, decision_json, decided_by, "
        "decided_at) VALUES (?, ?, ?, ?, ?)",
        (approval.run_id, approval.call_id, dumps(decision.to_dict()), by, now),
    )
    edited = getattr(decision, "arguments", None)
    shown = (
        redact_arguments(edited, approval.secret_fields)
        if isinstance(edited, dict)
        else approval.arguments
    )
    append_audit(
        db, now, "approval.decision", run_id=approval.run_id, call_id=approval.call_id,
        tool=approval.tool_name, arguments=shown, decision=decision.kind, decided_by=by,
        reason=getattr(decision, "reason", None),
    )  # fmt: skip


def claim_execution(
    db: sqlite3.Connection,
    now: str,
    run_id: str,
    call_id: str,
    tool: str,
    shown: dict[str, Any],
) -> bool:
    """Insert the ``started`` row, or find the earlier claim (turning ``started`` to unknown)."""
    existing = db.execute(
        "SELECT status FROM executions WHERE run_id = ? AND call_id = ?",
        (run_id, call_id),
    ).fetchone()
    if existing is None:
        db.execute(
            "INSERT INTO executions (run_id, call_id, tool, status, started_at) "
            "VALUES (?, ?, ?, 'started', ?)",
            (run_id, call_id, tool, now),
        )
        append_audit(
            db, now, "execution.started", run_id=run_id, call_id=call_id, tool=tool,
            arguments=shown,
        )  # fmt: skip
        return True
    if existing[0] == "started":
        db.execute(
            "UPDATE executions SET status = 'unknown', finished_at = ? "
            "WHERE run_id = ? AND call_id = ?",
            (now, run_id, call_id),
        )
        append_audit(
            db, now, "execution.unknown", run_id=run_id, call_id=call_id, tool=tool,
            outcome="unknown", reason="execution began but never finished; it is not run again",
        )  # fmt: skip
    return False


def finish_execution(
    db: sqlite3.Connection, now: str, run_id: str, call_id: str, is_error: bool, result_json: str
) -> None:
    """Record a claimed call's outcome; refuse one that was never claimed."""
    outcome = "failed" if is_error else "succeeded"
    row = db.execute(
        "SELECT tool FROM executions WHERE run_id = ? AND call_id = ?",
        (run_id, call_id),
    ).fetchone()
    if row is None:
        raise RunStateError(f"run {run_id!r}: call {call_id!r} finished without begin_execution")
    db.execute(
        "UPDATE executions SET status = ?, result_json = ?, finished_at = ? "
        "WHERE run_id = ? AND call_id = ?",
        (outcome, result_json, now, run_id, call_id),
    )
    append_audit(
        db, now, "execution.finished", run_id=run_id, call_id=call_id, tool=row[0],
        outcome=outcome,
    )  # fmt: skip
