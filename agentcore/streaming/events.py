"""The typed events a Messages API stream produces, one light slotted class per event.

:class:`~agentcore.streaming.MessageAccumulator` returns them; each carries a class-level
``type`` equal to the wire name of its event or delta.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, TypeAlias

from agentcore.citations import Citation
from agentcore.types import ContentBlock, Message, Usage

__all__ = [
    "CitationsDeltaEvent",
    "ContentBlockStartEvent",
    "ContentBlockStopEvent",
    "InputJSONDeltaEvent",
    "MessageDeltaEvent",
    "MessageStartEvent",
    "MessageStopEvent",
    "SignatureDeltaEvent",
    "StreamEvent",
    "TextDeltaEvent",
    "ThinkingDeltaEvent",
]


@dataclass(slots=True)
class MessageStartEvent:
    """The stream began; ``message`` has no content yet and the input-token usage."""

    type: ClassVar[str] = "message_start"
    message: Message


@dataclass(slots=True)
class ContentBlockStartEvent:
    """A content block opened at ``index`` (text empty, tool input ``{}`` so far)."""

    type: ClassVar[str] = "content_block_start"
    index: int
    content_block: ContentBlock


@dataclass(slots=True)
class TextDeltaEvent:
    """More text for the text block at ``index``."""

    type: ClassVar[str] = "text_delta"
    index: int
    text: str


@dataclass(slots=True)
class InputJSONDeltaEvent:
    """A fragment of the tool input JSON of the block at ``index`` (not parseable alone)."""

    type: ClassVar[str] = "input_json_delta"
    index: int
    partial_json: str


@dataclass(slots=True)
class ThinkingDeltaEvent:
    """More extended-thinking text for the thinking block at ``index``."""

    type: ClassVar[str] = "thinking_delta"
    index: int
    thinking: str


@dataclass(slots=True)
class SignatureDeltaEvent:
    """The signature of the thinking block at ``index``."""

    type: ClassVar[str] = "signature_delta"
    index: int
    signature: str


@dataclass(slots=True)
class CitationsDeltaEvent:
    """A citation attached to the text block at ``index`` (typed; see
    :mod:`agentcore.citations`)."""

    type: ClassVar[str] = "citations_delta"
    index: int
    citation: Citation


@dataclass(slots=True)
class ContentBlockStopEvent:
    """The block at ``index`` is complete; ``block`` is its final value (tool input parsed)."""

    type: ClassVar[str] = "content_block_stop"
    index: int
    block: ContentBlock


@dataclass(slots=True)
class MessageDeltaEvent:
    """Top-level changes near the end: the stop reason and the cumulative usage."""

    type: ClassVar[str] = "message_delta"
    stop_reason: str | None
    stop_sequence: str | None
    usage: Usage
    """The message's usage after this event (the API sends cumulative counts)."""


@dataclass(slots=True)
class MessageStopEvent:
    """The stream finished normally; ``message`` is the final message."""

    type: ClassVar[str] = "message_stop"
    message: Message


StreamEvent: TypeAlias = (
    MessageStartEvent
    | ContentBlockStartEvent
    | TextDeltaEvent
    | InputJSONDeltaEvent
    | ThinkingDeltaEvent
    | SignatureDeltaEvent
    | CitationsDeltaEvent
    | ContentBlockStopEvent
    | MessageDeltaEvent
    | MessageStopEvent
)
"""Any event :meth:`MessageAccumulator.add` returns."""
