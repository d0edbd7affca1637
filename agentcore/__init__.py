"""agentcore: Claude agents that act on real systems safely."""

from agentcore._version import __version__
from agentcore.client import AsyncClient, Client
from agentcore.errors import (
    AgentcoreError,
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
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
from agentcore.tools import Tool, ToolOutput, Toolset, tool
from agentcore.types import Message, Usage

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AgentcoreError",
    "AsyncClient",
    "AuthenticationError",
    "Client",
    "ConfigurationError",
    "InvalidRequestError",
    "Message",
    "ModelRetry",
    "NotFoundError",
    "OverloadedError",
    "PermissionDeniedError",
    "RateLimitError",
    "RunStateError",
    "StreamError",
    "Tool",
    "ToolArgumentsError",
    "ToolError",
    "ToolOutput",
    "Toolset",
    "Usage",
    "__version__",
    "tool",
]
