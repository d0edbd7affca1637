"""Tools: ``@tool`` turns a typed, documented function into a tool definition, validates the
model's arguments against its schema and runs it.
"""

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
    "ToolOutput",
    "Toolset",
    "tool",
]
