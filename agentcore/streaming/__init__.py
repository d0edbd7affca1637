"""Streaming without I/O: the byte-level SSE parser, the typed stream events, and the
accumulator that builds a Message from them.
"""

from agentcore.streaming.accumulator import (
    CitationsDeltaEvent,
    ContentBlockStartEvent,
    ContentBlockStopEvent,
    InputJSONDeltaEvent,
    MessageAccumulator,
    MessageDeltaEvent,
    MessageStartEvent,
    MessageStopEvent,
    ServerSentEvent,
    SignatureDeltaEvent,
    SSEParser,
    StreamDecoder,
    StreamEvent,
    TextDeltaEvent,
    ThinkingDeltaEvent,
)

__all__ = [
    "CitationsDeltaEvent",
    "ContentBlockStartEvent",
    "ContentBlockStopEvent",
    "InputJSONDeltaEvent",
    "MessageAccumulator",
    "MessageDeltaEvent",
    "MessageStartEvent",
    "MessageStopEvent",
    "SSEParser",
    "ServerSentEvent",
    "SignatureDeltaEvent",
    "StreamDecoder",
    "StreamEvent",
    "TextDeltaEvent",
    "ThinkingDeltaEvent",
]
