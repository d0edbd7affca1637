"""Tools: ``@tool`` turns a typed, documented function into a tool definition, validates the
model's arguments against its schema and runs it; :class:`WebSearch`, :class:`WebFetch` and
:class:`CodeExecution` declare the tools the API runs itself.
"""

from agentcore.tools._run import ToolCallInfo, current_tool_call
from agentcore.tools._server_tools import (
    CodeExecution,
    ServerTool,
    UserLocation,
    WebFetch,
    WebSearch,
    container_upload,
)
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
    "CodeExecution",
    "ServerTool",
    "Tool",
    "ToolApprovalPolicy",
    "ToolCallInfo",
    "ToolOutput",
    "Toolset",
    "UserLocation",
    "WebFetch",
    "WebSearch",
    "container_upload",
    "current_tool_call",
    "tool",
]
