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
    ToolError,
)
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
    "ToolError",
    "Usage",
    "__version__",
]
