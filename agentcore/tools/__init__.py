"""Tools: ``@tool`` turns a typed, documented function into a tool definition, validates the
model's arguments against its schema and runs it.
"""

from agentcore.tools._run import ToolCallInfo, current_tool_call
from agentcore.tools._tool import (
    NO_OUTPUT,
    REDACTED,
    ApprovalAnswer,
    Tool,
    ToolApprovalPolicy,
    ToolOutput,
    Toolset,
    tool,
)

__all__ = [
    "NO_OUTPUT",
    "REDACTED",
    "ApprovalAnswer",
    "Tool",
    "ToolApprovalPolicy",
    "ToolCallInfo",
    "ToolOutput",
    "Toolset",
    "current_tool_call",
    "tool",
]
