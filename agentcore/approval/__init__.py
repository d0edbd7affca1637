"""Human approval of tool calls: decisions, requests, the gate that asks, ready-made approvers.

A call that needs approval becomes an :class:`ApprovalRequest`; an approver answers it with a
:class:`Decision` (:class:`Approve`, :class:`Edit`, :class:`Deny`, :class:`AlwaysAllow`). The
gate (:func:`decide`, :func:`adecide`) never fails open, and :class:`ConsoleApprover` asks a
person at a terminal.
"""

from agentcore.approval.approvers import (
    CallbackApprover,
    ScriptedApprover,
)
from agentcore.approval.console import (
    ConsoleApprover,
)
from agentcore.approval.decisions import (
    AlwaysAllow,
    Approve,
    Decision,
    Deny,
    Edit,
    decision_from_dict,
    denial_message,
)
from agentcore.approval.gate import (
    AgentApprovalPolicy,
    aapproval_reason,
    adecide,
    approval_reason,
    approval_steps,
    decide,
)
from agentcore.approval.requests import (
    REDACTED,
    ApprovalRequest,
    ApprovedCall,
    Approver,
    AsyncApprover,
    DeniedCall,
    ToolLike,
    apply_decision,
    arguments_hash,
    bind_decisions,
    redact_arguments,
    restore_secrets,
)

__all__ = [
    "REDACTED",
    "AgentApprovalPolicy",
    "AlwaysAllow",
    "ApprovalRequest",
    "Approve",
    "ApprovedCall",
    "Approver",
    "AsyncApprover",
    "CallbackApprover",
    "ConsoleApprover",
    "Decision",
    "DeniedCall",
    "Deny",
    "Edit",
    "ScriptedApprover",
    "ToolLike",
    "aapproval_reason",
    "adecide",
    "apply_decision",
    "approval_reason",
    "approval_steps",
    "arguments_hash",
    "bind_decisions",
    "decide",
    "decision_from_dict",
    "denial_message",
    "redact_arguments",
    "restore_secrets",
]
