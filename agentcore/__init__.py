"""agentcore: Claude agents that act on real systems safely."""

from agentcore._version import __version__
from agentcore.agent import Agent, ModelSettings
from agentcore.approval.approvers import CallbackApprover, ScriptedApprover
from agentcore.approval.console import ConsoleApprover
from agentcore.approval.requests import (
    AlwaysAllow,
    ApprovalRequest,
    Approve,
    Approver,
    AsyncApprover,
    Decision,
    Deny,
    Edit,
)
from agentcore.client._client import AsyncClient, Client
from agentcore.client.batches import AsyncBatches, Batches
from agentcore.errors import (
    AgentcoreError,
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    ApprovalError,
    AuthenticationError,
    ConfigurationError,
    InvalidRequestError,
    ModelRetry,
    NotFoundError,
    OverloadedError,
    PermissionDeniedError,
    RateLimitError,
    RunStateError,
    StreamError,
    ToolArgumentsError,
    ToolError,
)
from agentcore.events import (
    ApprovalDecided,
    ApprovalRequested,
    ModelTurnCompleted,
    RunEvent,
    RunFinished,
    TextDelta,
    ThinkingDelta,
    ToolCallStarted,
    ToolResultEvent,
)
from agentcore.hooks import Veto
from agentcore.prompts import SystemPrompt
from agentcore.state import RunResult, RunState
from agentcore.store.durable import (
    ExecutionJournal,
    aresume_stored,
    arun_stored,
    resume_stored,
    run_stored,
)
from agentcore.store.runs import RunStore
from agentcore.tools import Tool, ToolCallInfo, ToolOutput, Toolset, current_tool_call, tool
from agentcore.types import Message, Usage
from agentcore.usage import Limits, ModelPrice, PriceTable, UsageTotals

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "Agent",
    "AgentcoreError",
    "AlwaysAllow",
    "ApprovalDecided",
    "ApprovalError",
    "ApprovalRequest",
    "ApprovalRequested",
    "Approve",
    "Approver",
    "AsyncApprover",
    "AsyncBatches",
    "AsyncClient",
    "AuthenticationError",
    "Batches",
    "CallbackApprover",
    "Client",
    "ConfigurationError",
    "ConsoleApprover",
    "Decision",
    "Deny",
    "Edit",
    "ExecutionJournal",
    "InvalidRequestError",
    "Limits",
    "Message",
    "ModelPrice",
    "ModelRetry",
    "ModelSettings",
    "ModelTurnCompleted",
    "NotFoundError",
    "OverloadedError",
    "PermissionDeniedError",
    "PriceTable",
    "RateLimitError",
    "RunEvent",
    "RunFinished",
    "RunResult",
    "RunState",
    "RunStateError",
    "RunStore",
    "ScriptedApprover",
    "StreamError",
    "SystemPrompt",
    "TextDelta",
    "ThinkingDelta",
    "Tool",
    "ToolArgumentsError",
    "ToolCallInfo",
    "ToolCallStarted",
    "ToolError",
    "ToolOutput",
    "ToolResultEvent",
    "Toolset",
    "Usage",
    "UsageTotals",
    "Veto",
    "__version__",
    "aresume_stored",
    "arun_stored",
    "current_tool_call",
    "resume_stored",
    "run_stored",
    "tool",
]
