"""The four answers to an approval request, as small frozen dataclasses that serialize.

Each has a literal ``kind`` and may carry the ``arguments_hash`` of the arguments it was given
for (see :func:`agentcore.approval.arguments_hash`), so a decision made for one set of
arguments never approves another.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, TypeAlias

from agentcore.errors import ApprovalError

__all__ = [
    "AlwaysAllow",
    "Approve",
    "Decision",
    "Deny",
    "Edit",
    "decision_from_dict",
    "denial_message",
]


@dataclass(frozen=True, slots=True)
class Approve:
    """Run the call with the arguments that were shown."""

    arguments_hash: str | None = None
    """When set, the hash of the arguments this approval was given for (:func:`arguments_hash`)."""
    kind: ClassVar[Literal["approve"]] = "approve"

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready form, ``{"kind": "approve", ...}``."""
        return _with_hash({"kind": self.kind}, self.arguments_hash)


@dataclass(frozen=True, slots=True)
class Edit:
    """Run the call with these arguments instead (they are validated again before running)."""

    arguments: dict[str, Any]
    """The replacement arguments, a JSON object."""
    arguments_hash: str | None = None
    """When set, the hash of the original arguments the edit was made from."""
    kind: ClassVar[Literal["edit"]] = "edit"

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready form, ``{"kind": "edit", "arguments": {...}, ...}``."""
        return _with_hash({"kind": self.kind, "arguments": self.arguments}, self.arguments_hash)


@dataclass(frozen=True, slots=True)
class Deny:
    """Do not run the call; the model gets an error result carrying the reason."""

    reason: str = ""
    """Why, in words the model can pass on (empty when none was given)."""
    arguments_hash: str | None = None
    """When set, the hash of the arguments this denial was given for."""
    automatic: bool = False
    """True when no person made this denial: a policy denying everything, no terminal to ask
    at, an approver that failed or timed out. The model is told so instead of "the user"."""
    kind: ClassVar[Literal["deny"]] = "deny"

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready form, ``{"kind": "deny", "reason": "...", ...}``
        (with ``"automatic": true`` for a denial no person made)."""
        data: dict[str, Any] = {"kind": self.kind, "reason": self.reason}
        if self.automatic:
            data["automatic"] = True
        return _with_hash(data, self.arguments_hash)


@dataclass(frozen=True, slots=True)
class AlwaysAllow:
    """Run the call, and run this tool without asking for the rest of the run."""

    arguments_hash: str | None = None
    """When set, the hash of the arguments this approval was given for."""
    kind: ClassVar[Literal["always_allow"]] = "always_allow"

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready form, ``{"kind": "always_allow", ...}``."""
        return _with_hash({"kind": self.kind}, self.arguments_hash)


Decision: TypeAlias = Approve | Edit | Deny | AlwaysAllow
"""An approver's answer to one :class:`ApprovalRequest`."""

_DECISION_KINDS = ("approve", "edit", "deny", "always_allow")


def _with_hash(data: dict[str, Any], digest: str | None) -> dict[str, Any]:
    if digest is not None:
        data["arguments_hash"] = digest
    return data


def decision_from_dict(data: Mapping[str, Any]) -> Decision:
    """Rebuild a decision from its :meth:`to_dict` form.

    Raises:
        ApprovalError: ``data`` is not a decision (unknown ``kind``, missing or mistyped field).
    """
    if not isinstance(data, Mapping):
        raise ApprovalError(f"a decision must be a JSON object, got {type(data).__name__}")
    kind = data.get("kind")
    digest = data.get("arguments_hash")
    if digest is not None and not isinstance(digest, str):
        raise ApprovalError("decision field 'arguments_hash' must be a string")
    if kind == "approve":
        return Approve(arguments_hash=digest)
    if kind == "always_allow":
        return AlwaysAllow(arguments_hash=digest)
    if kind == "deny":
        reason = data.get("reason", "")
        if not isinstance(reason, str):
            raise ApprovalError("decision field 'reason' must be a string")
        automatic = data.get("automatic", False)
        if not isinstance(automatic, bool):
            raise ApprovalError("decision field 'automatic' must be true or false")
        return Deny(reason, arguments_hash=digest, automatic=automatic)
    if kind == "edit":
        arguments = data.get("arguments")
        if not isinstance(arguments, dict):
            raise ApprovalError("an 'edit' decision needs 'arguments', a JSON object")
        return Edit(arguments, arguments_hash=digest)
    raise ApprovalError(
        f"unknown decision kind {kind!r}; expected one of {', '.join(_DECISION_KINDS)}"
    )


def denial_message(reason: str, *, automatic: bool = False) -> str:
    """The ``tool_result`` text the model receives for a denied call: a person's denial, or
    (``automatic``) one made without asking anyone."""
    if automatic:
        return (
            "This action was denied automatically, without asking a person: "
            f"{reason or 'no reason given'}"
        )
    return f"The user denied this action: {reason or 'no reason given'}"
