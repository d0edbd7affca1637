"""Human approval of tool calls: requests, approvers, and how a decision is applied.

A call that needs approval becomes an :class:`ApprovalRequest`. An approver (a console, a web
UI, a queue consumer) answers it with a :class:`Decision`: :class:`Approve`, :class:`Edit`,
:class:`Deny` or :class:`AlwaysAllow` (defined in :mod:`agentcore.approval.decisions`, re-exported
here), which serialize (``to_dict()``, :func:`decision_from_dict`) and cross processes.

Approvals fail closed: :func:`agentcore.gate.decide` turns an approver's exception, a
timeout or an answer that is not a decision into a :class:`Deny`; :func:`bind_decisions`
turns a decision given for other arguments into a :class:`Deny`; :func:`apply_decision`
re-validates edited arguments and refuses invalid ones. Nothing but an explicit approval of
the exact arguments shown ever lets a call run.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from agentcore.approval.decisions import (
    AlwaysAllow,
    Approve,
    Decision,
    Deny,
    Edit,
    decision_from_dict,
    denial_message,
)
from agentcore.errors import AgentcoreError, ApprovalError
from agentcore.redaction import REDACTED, Redactor, mask_fields

if TYPE_CHECKING:
    from agentcore.tools._tool import ToolApprovalPolicy

__all__ = [
    "REDACTED",
    "AlwaysAllow",
    "ApprovalRequest",
    "Approve",
    "ApprovedCall",
    "Approver",
    "AsyncApprover",
    "Decision",
    "DeniedCall",
    "Deny",
    "Edit",
    "ToolLike",
    "apply_decision",
    "arguments_hash",
    "bind_decisions",
    "decision_from_dict",
    "denial_message",
    "redact_arguments",
    "restore_secrets",
]


def arguments_hash(arguments: Mapping[str, Any]) -> str:
    """Return the sha256 (hex) of the canonical JSON of ``arguments``.

    Canonical means sorted keys, no insignificant whitespace and unescaped unicode, so equal
    arguments always hash equally. An approval is bound to this hash: if the arguments
    change, the approval no longer holds.
    """
    canonical = json.dumps(
        arguments, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def redact_arguments(arguments: Mapping[str, Any], secret_fields: Iterable[str]) -> dict[str, Any]:
    """Return a copy of ``arguments`` with every secret field's value replaced by
    :data:`~agentcore.redaction.REDACTED`.

    Keys are matched by name at any depth, so a secret nested in an object is masked too;
    every other argument is kept exactly as it is (see :func:`agentcore.redaction.mask_fields`).
    """
    masked: dict[str, Any] = mask_fields(dict(arguments), secret_fields)
    return masked


def restore_secrets(edited: Any, original: Any, secret_fields: Iterable[str]) -> Any:
    """Put real values back where an edit left a secret field masked.

    People edit the masked view of the arguments; a secret field whose value is still
    :data:`~agentcore.redaction.REDACTED` after the edit keeps its original value, at any depth.
    """
    return _restored(edited, original, Redactor(secret_fields, credentials=False))


def _restored(edited: Any, original: Any, secrets: Redactor) -> Any:
    if isinstance(edited, dict):
        source = original if isinstance(original, Mapping) else {}
        restored: dict[str, Any] = {}
        for key, value in edited.items():
            if value == REDACTED and key in source and secrets.is_secret_key(key):
                restored[key] = source[key]
            else:
                restored[key] = _restored(value, source.get(key), secrets)
        return restored
    if isinstance(edited, list):
        items = original if isinstance(original, list) else []
        return [
            _restored(value, items[i] if i < len(items) else None, secrets)
            for i, value in enumerate(edited)
        ]
    return edited


# --- requests and approvers ------------------------------------------------------------------


class ToolLike(Protocol):
    """The parts of a tool that approval needs (``agentcore.tools.Tool`` has them all)."""

    @property
    def name(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def input_schema(self) -> dict[str, Any]: ...
    @property
    def sensitive(self) -> bool: ...
    @property
    def requires_approval(self) -> ToolApprovalPolicy | None: ...
    @property
    def secret_fields(self) -> frozenset[str]: ...
    def validate(self, arguments: dict[str, Any]) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class ApprovalRequest:
    """One tool call waiting for a human decision."""

    call_id: str
    """The ``tool_use`` block's id."""
    tool_name: str
    description: str
    """The tool's description, as the model saw it."""
    arguments: dict[str, Any]
    """The validated arguments the call would run with (secrets included: mask before showing)."""
    reason: str
    """Why approval is needed, e.g. ``"tool 'refund_order' is marked sensitive"``."""
    secret_fields: frozenset[str] = frozenset()
    arguments_hash: str = ""
    """:func:`arguments_hash` of ``arguments``; filled in when left empty."""
    input_schema: dict[str, Any] = field(default_factory=dict)
    """The tool's JSON Schema, for showing details and checking edits early."""

    def __post_init__(self) -> None:
        if not self.arguments_hash:
            object.__setattr__(self, "arguments_hash", arguments_hash(self.arguments))

    @classmethod
    def for_call(
        cls, tool: ToolLike, call_id: str, arguments: dict[str, Any], reason: str
    ) -> ApprovalRequest:
        """Build the request for calling ``tool`` with ``arguments``."""
        return cls(
            call_id=call_id,
            tool_name=tool.name,
            description=tool.description,
            arguments=arguments,
            reason=reason,
            secret_fields=frozenset(tool.secret_fields),
            input_schema=tool.input_schema,
        )

    def display_arguments(self) -> dict[str, Any]:
        """The arguments with secret fields masked, for showing to a person or storing."""
        return redact_arguments(self.arguments, self.secret_fields)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready form (arguments included unmasked; see display_arguments)."""
        return {
            "call_id": self.call_id,
            "tool_name": self.tool_name,
            "description": self.description,
            "arguments": self.arguments,
            "reason": self.reason,
            "secret_fields": sorted(self.secret_fields),
            "arguments_hash": self.arguments_hash,
            "input_schema": self.input_schema,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ApprovalRequest:
        """Rebuild a request from :meth:`to_dict`; raises ApprovalError on a malformed one."""
        try:
            request = cls(
                call_id=str(data["call_id"]),
                tool_name=str(data["tool_name"]),
                description=str(data.get("description", "")),
                arguments=dict(data["arguments"]),
                reason=str(data.get("reason", "")),
                secret_fields=frozenset(data.get("secret_fields", ())),
                arguments_hash=str(data.get("arguments_hash", "")),
                input_schema=dict(data.get("input_schema", {})),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ApprovalError(f"malformed approval request: {exc!r}") from exc
        if request.arguments_hash != arguments_hash(request.arguments):
            raise ApprovalError(
                f"approval request for call {request.call_id!r}: arguments do not match "
                "their recorded hash"
            )
        return request


@runtime_checkable
class Approver(Protocol):
    """Decides approval requests synchronously (a console, a blocking UI call)."""

    def decide(self, request: ApprovalRequest) -> Decision:
        """Return the decision for ``request``."""
        ...


@runtime_checkable
class AsyncApprover(Protocol):
    """Decides approval requests asynchronously (a web UI, Slack, a queue)."""

    async def decide(self, request: ApprovalRequest) -> Decision:
        """Return the decision for ``request``."""
        ...


def bind_decisions(
    requests: Iterable[ApprovalRequest],
    decisions: Mapping[str, Decision],
    *,
    require_hash: bool = False,
) -> dict[str, Decision]:
    """Match deferred decisions (by call id) to the pending requests they answer.

    A decision carrying an ``arguments_hash`` that differs from its request's becomes a
    :class:`Deny` (the arguments changed since the person looked). With ``require_hash``
    (the requests come from a state nobody vouches for), a decision that carries no
    ``arguments_hash`` becomes a :class:`Deny` too, since nothing ties it to the arguments a
    person saw. Requests without a decision are left out of the result (they stay pending).

    Raises:
        ApprovalError: a decision names a call id that is not pending; nothing is approved.
    """
    pending = {request.call_id: request for request in requests}
    unknown = sorted(set(decisions) - set(pending))
    if unknown:
        raise ApprovalError(
            f"decisions for unknown call ids {unknown}; pending calls are {sorted(pending)}"
        )
    bound: dict[str, Decision] = {}
    for call_id, decision in decisions.items():
        if not isinstance(decision, Decision):
            bound[call_id] = Deny(f"{type(decision).__name__} is not a decision")
            continue
        expected = pending[call_id].arguments_hash
        if require_hash and decision.arguments_hash is None and not isinstance(decision, Deny):
            bound[call_id] = Deny(
                "the run was resumed from a state that is not authenticated, and the decision "
                "is not bound to the arguments the call has (give Approve(arguments_hash=...)); "
                "denied for safety",
                arguments_hash=expected,
            )
        elif decision.arguments_hash is not None and decision.arguments_hash != expected:
            bound[call_id] = Deny(
                "the decision was made for different arguments than the call now has; "
                "denied for safety",
                arguments_hash=expected,
            )
        else:
            bound[call_id] = decision
    return bound


# --- applying a decision ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ApprovedCall:
    """A call cleared to run, with the arguments it runs with."""

    call_id: str
    tool_name: str
    arguments: dict[str, Any]
    """The JSON arguments that were approved (the edited ones after an Edit)."""
    kwargs: dict[str, Any]
    """``tool.validate(arguments)``: what the tool function is called with."""
    decision: Decision
    always_allow: bool = False
    """The tool may run without asking for the rest of the run."""


@dataclass(frozen=True, slots=True)
class DeniedCall:
    """A call that must not run; ``model_message`` is the error tool_result for the model."""

    call_id: str
    tool_name: str
    reason: str
    model_message: str
    decision: Decision


def apply_decision(
    tool: ToolLike, request: ApprovalRequest, decision: Decision
) -> ApprovedCall | DeniedCall:
    """Turn a decision about ``request`` into the call to run, or the refusal to report.

    Edited arguments are validated with ``tool.validate``; invalid edits are refused and the
    model is told why. A decision bound to other arguments is refused. Anything that is not
    one of the four decision types is a denial.
    """
    if not isinstance(decision, Decision):
        return _denied(
            request, decision, f"{type(decision).__name__} is not a decision", automatic=True
        )
    if decision.arguments_hash is not None and decision.arguments_hash != request.arguments_hash:
        return _denied(
            request,
            decision,
            "the decision was made for different arguments; denied for safety",
            automatic=True,
        )
    if isinstance(decision, Deny):
        return _denied(request, decision, decision.reason)
    arguments = request.arguments
    if isinstance(decision, Edit):
        arguments = restore_secrets(decision.arguments, request.arguments, request.secret_fields)
    try:
        kwargs = tool.validate(dict(arguments))
    except AgentcoreError as exc:
        reason = _invalid_reason(exc, edited=isinstance(decision, Edit))
        return DeniedCall(request.call_id, request.tool_name, reason, reason, decision)
    return ApprovedCall(
        call_id=request.call_id,
        tool_name=request.tool_name,
        arguments=dict(arguments),
        kwargs=kwargs,
        decision=decision,
        always_allow=isinstance(decision, AlwaysAllow),
    )


def _invalid_reason(exc: AgentcoreError, *, edited: bool) -> str:
    problems = getattr(exc, "problems", None)
    if isinstance(problems, list) and problems:
        listed = "; ".join(
            f"{item[0]}: {item[1]}" if isinstance(item, tuple) and item[0] else str(item[-1])
            for item in problems
        )
    else:
        listed = str(exc)
    if edited:
        return (
            "The person approving this call edited its arguments, but the edit is invalid, so "
            f"the action was not run: {listed}"
        )
    return f"The approved arguments are invalid, so the action was not run: {listed}"


def _denied(
    request: ApprovalRequest, decision: object, reason: str, *, automatic: bool = False
) -> DeniedCall:
    final = decision if isinstance(decision, Deny) else Deny(reason, automatic=True)
    automatic = automatic or (isinstance(final, Deny) and final.automatic)
    message = denial_message(reason, automatic=automatic)
    return DeniedCall(request.call_id, request.tool_name, reason, message, final)
