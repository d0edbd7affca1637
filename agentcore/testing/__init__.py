"""A test kit: :class:`ScriptedModel` answers Messages API calls from a script over an httpx
MockTransport, and the reply builders say what it answers.
"""

from agentcore.testing._scripted import (
    ErrorReply,
    Reply,
    ScriptedModel,
    ScriptExhausted,
    ToolCallSpec,
    error_reply,
    reply,
    sse_events,
    text_reply,
    tool_reply,
)

__all__ = [
    "ErrorReply",
    "Reply",
    "ScriptExhausted",
    "ScriptedModel",
    "ToolCallSpec",
    "error_reply",
    "reply",
    "sse_events",
    "text_reply",
    "tool_reply",
]
