"""agentcore: Claude agents that act on real systems safely."""

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

__version__ = "0.1.0"

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AgentcoreError",
    "AuthenticationError",
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
