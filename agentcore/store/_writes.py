"""The run store's multi-statement writes; each runs inside the caller's transaction.

Arguments are stored masked: declared secret fields and every credential-looking name (see
:mod:`agentcore.redaction`). When masking hid something, the real arguments (or the real
edited ones of an ``Edit`` decision) are kept beside the masked ones, AES-GCM encrypted and
bound to their run and call, so an approved call can still run with them.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any

from agentcore.approval.requests import (
    ApprovalRequest,
    Decision,
    Edit,
    redact_arguments,
    restore_secrets,
)
from agentcore.errors import ApprovalError, RunStateError
from agentcore.redaction import Redactor
from agentcore.store._keys import StoreKeys
from agentcore.store._schema import (
    STATUS_BY_KIND,
    ApprovalRecord,
    append_audit,
    decision_mac_fields,
    dumps,
    pending_mac_fields,
)

_DISPLAY = Redactor()


def shown_arguments(arguments: Mapping[str, Any], secret_fields: Iterable[str]) -> dict[str, Any]:
    """``arguments`` as the store shows and keeps them in clear: declared secret fields and
    credential-looking names masked at any depth, credentials in texts scrubbed."""
    scrubbed = _DISPLAY.redact(arguments)
    return redact_arguments(scrubbed, secret_fields) if isinstance(scrubbed, Mapping) else {}


def add_pending(
    db: sqlite3.Connection, keys: StoreKeys, run_id: str, request: ApprovalRequest, now: str
) -> None:
    """Record a call waiting for approval (masked, its secrets encrypted), once; refuse it with
    other arguments."""
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
    shown = shown_arguments(request.arguments, request.secret_fields)
    secret = None
    if shown != request.arguments:
        secret = keys.encrypt(dumps(request.arguments), "pending", run_id, request.call_id)
    arguments_json = dumps(shown)
    request_json = dumps({**request.to_dict(), "arguments": shown})
    mac = keys.mac(
        *pending_mac_fields(
            run_id, request.call_id, request.tool_name, arguments_json,
            request.arguments_hash, request.reason, request_json, secret,
        )
    )  # fmt: skip
    db.execute(
        "INSERT INTO pending_approvals (run_id, call_id, tool, arguments_json, "
        "arguments_hash, reason, request_json, status, created_at, secret_arguments, mac) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
        (
            run_id,
            request.call_id,
            request.tool_name,
            arguments_json,
            request.arguments_hash,
            request.reason,
            request_json,
            now,
            secret,
            mac,
        ),
    )
    append_audit(
        db, now, "approval.requested", run_id=run_id, call_id=request.call_id,
        tool=request.tool_name, arguments=shown, reason=request.reason,
    )  # fmt: skip


def record_decision(
    db: sqlite3.Connection,
    keys: StoreKeys,
    now: str,
    approval: ApprovalRecord,
    decision: Decision,
    by: str,
    real_arguments: dict[str, Any],
) -> None:
    """Mark a pending approval decided and keep the decision (already bound to its hash).

    An ``Edit`` whose secret fields still hold the mask gets the real values back from
    ``real_arguments``; its secrets are kept encrypted and only the masked edit in clear.
    """
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
    shown = approval.arguments
    secret = None
    decision_json = dumps(decision.to_dict())
    if isinstance(decision, Edit):
        declared = _declared_secret_fields(db, approval)
        full = Edit(
            restore_secrets(decision.arguments, real_arguments, approval.secret_fields),
            arguments_hash=decision.arguments_hash,
        )
        shown = shown_arguments(full.arguments, declared)
        masked = Edit(shown, arguments_hash=decision.arguments_hash)
        decision_json = dumps(masked.to_dict())
        if masked != full:
            secret = keys.encrypt(
                dumps(full.to_dict()), "decision", approval.run_id, approval.call_id
            )
    mac = keys.mac(
        *decision_mac_fields(approval.run_id, approval.call_id, decision_json, secret, by, now)
    )
    db.execute(
        "INSERT INTO decisions (run_id, call_id, decision_json, decided_by, "
        "decided_at, secret_decision, mac) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (approval.run_id, approval.call_id, decision_json, by, now, secret, mac),
    )
    append_audit(
        db, now, "approval.decision", run_id=approval.run_id, call_id=approval.call_id,
        tool=approval.tool_name, arguments=shown, decision=decision.kind, decided_by=by,
        reason=getattr(decision, "reason", None),
    )  # fmt: skip


def _declared_secret_fields(db: sqlite3.Connection, approval: ApprovalRecord) -> list[str]:
    row = db.execute(
        "SELECT request_json FROM pending_approvals WHERE id = ?", (approval.approval_id,)
    ).fetchone()
    request = loads_object(None if row is None else row[0])
    declared = request.get("secret_fields")
    if not isinstance(declared, list):
        return []
    return [name for name in declared if isinstance(name, str)]


def loads_object(raw: str | None) -> dict[str, Any]:
    """A stored JSON object, or an empty one when missing or not an object."""
    try:
        value = json.loads(raw) if raw is not None else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


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
