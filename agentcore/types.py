"""Pydantic models for the Messages API wire format.

Every model keeps unknown fields (``extra="allow"``) and sends them back unchanged, and an
unknown content-block type becomes an :class:`UnknownBlock` that round-trips, so a new API
field or block never crashes a run. :func:`to_wire` is the one way back to JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal, TypeAlias

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    TypeAdapter,
    field_validator,
)

from agentcore.citations import Citation

__all__ = [
    "KNOWN_STOP_REASONS",
    "MAX_TOKEN_COUNT",
    "Base64Source",
    "CacheControl",
    "CacheCreation",
    "ContainerUploadBlock",
    "ContentBlock",
    "DocumentBlock",
    "FileSource",
    "ImageBlock",
    "Message",
    "MessageParam",
    "ModelInfo",
    "ModelWait",
    "RedactedThinkingBlock",
    "ServerToolResultBlock",
    "ServerToolUseBlock",
    "Source",
    "StopReason",
    "TextBlock",
    "TextSource",
    "ThinkingBlock",
    "ToolParam",
    "ToolResultBlock",
    "ToolUseBlock",
    "URLSource",
    "UnknownBlock",
    "UnknownSource",
    "Usage",
    "parse_block",
    "parse_message",
    "to_wire",
]


class WireModel(BaseModel):
    """Base of the wire models: unknown fields are kept and serialized back."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    __wire_typed__: ClassVar[bool] = False
    """Whether the model has a ``type`` field, decided once per class: every parsed model
    runs :meth:`model_post_init`, and reading ``model_fields`` there costs more than the
    rest of it."""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls.__wire_typed__ = "type" in cls.__pydantic_fields__
        _install_post_init(cls)

    def model_post_init(self, context: Any, /) -> None:
        # A literal ``type`` is part of the wire shape even when left at its default.
        if self.__wire_typed__:
            self.__pydantic_fields_set__.add("type")


def _install_post_init(cls: type[WireModel]) -> None:
    """Give ``cls`` a post-init that fills its private attributes from their plain defaults
    in one step, when they all have one and the class adds no post-init of its own.

    pydantic runs a generic initializer for models with private attributes on every parse
    (a wrapper around :meth:`WireModel.model_post_init` that asks each attribute for a copy
    of its default); the result here is the same ``__pydantic_private__`` dict, built from a
    copy of the defaults taken once per class. Immutable defaults only (None, str, int…), so
    the shared values cannot leak changes between instances.
    """
    private = cls.__private_attributes__
    if not private:
        return
    current = cls.__dict__.get("model_post_init")
    original = getattr(current, "__wrapped__", None)
    if original is not WireModel.model_post_init and not getattr(
        original, "__wire_post_init__", False
    ):
        return  # the class (or a base between) has its own post-init: keep pydantic's
    defaults: dict[str, Any] = {}
    for name, attribute in private.items():
        default = attribute.default
        if attribute.default_factory is not None or type(default) not in _IMMUTABLE:
            return
        defaults[name] = default
    typed = cls.__wire_typed__

    def model_post_init(self: WireModel, context: Any, /) -> None:
        if getattr(self, "__pydantic_private__", None) is None:
            object.__setattr__(self, "__pydantic_private__", defaults.copy())
        if typed:
            self.__pydantic_fields_set__.add("type")

    model_post_init.__wire_post_init__ = True  # type: ignore[attr-defined]
    cls.model_post_init = model_post_init  # type: ignore[method-assign]


_IMMUTABLE = frozenset({type(None), str, int, float, bool, bytes})


def to_wire(value: Any) -> Any:
    """Return the JSON-ready form of a wire model (or a list/dict holding them).

    Only fields that were received or set are written (and ``type``), so a block the API
    sent goes back exactly as it came, unknown fields and explicit nulls included, and
    optional fields nobody set are not invented.
    """
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_unset=True, by_alias=True)
    if isinstance(value, list):
        return [to_wire(item) for item in value]
    if isinstance(value, dict):
        return {key: to_wire(item) for key, item in value.items()}
    return value


class CacheControl(WireModel):
    """A prompt-cache breakpoint: the prefix up to and including the marked block is cached."""

    type: Literal["ephemeral"] = "ephemeral"
    ttl: Literal["5m", "1h"] | None = None
    """Time to live; the API's default is five minutes."""


class _Block(WireModel):
    cache_control: CacheControl | None = None
    """Marks the end of a cacheable prefix (request only)."""

    _raw_deltas: list[dict[str, Any]] | None = PrivateAttr(default=None)

    @property
    def raw_deltas(self) -> list[dict[str, Any]] | None:
        """For a streamed block, the deltas this version folds generically (a
        ``compaction_delta``, or a type it does not know), each as received; never sent."""
        return self._raw_deltas

    @raw_deltas.setter
    def raw_deltas(self, deltas: list[dict[str, Any]] | None) -> None:
        self._raw_deltas = deltas


# --- sources of images and documents ---------------------------------------------------


class Base64Source(WireModel):
    """Inline bytes, base64-encoded."""

    type: Literal["base64"] = "base64"
    media_type: str
    data: str


class URLSource(WireModel):
    """Content the API fetches from a URL."""

    type: Literal["url"] = "url"
    url: str


class TextSource(WireModel):
    """A plain-text document."""

    type: Literal["text"] = "text"
    media_type: str = "text/plain"
    data: str


class FileSource(WireModel):
    """A file uploaded through the Files API."""

    type: Literal["file"] = "file"
    file_id: str


class UnknownSource(WireModel):
    """A source type this version does not know; kept as received."""

    type: str


_KNOWN_SOURCES = {"base64", "url", "text", "file"}


def _source_tag(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    if isinstance(value, UnknownSource):
        return "unknown"
    return kind if kind in _KNOWN_SOURCES else "unknown"


Source: TypeAlias = Annotated[
    Annotated[Base64Source, Tag("base64")]
    | Annotated[URLSource, Tag("url")]
    | Annotated[TextSource, Tag("text")]
    | Annotated[FileSource, Tag("file")]
    | Annotated[UnknownSource, Tag("unknown")],
    Discriminator(_source_tag),
]


# --- content blocks ---------------------------------------------------------------------


class TextBlock(_Block):
    """Text, from the user or the model."""

    type: Literal["text"] = "text"
    text: str
    citations: list[Citation] | None = None
    """Where this text comes from, when the model cited documents or search results
    (responses only; see :mod:`agentcore.citations`)."""


class ImageBlock(_Block):
    """An image in a user message or a tool result."""

    type: Literal["image"] = "image"
    source: Source


class DocumentBlock(_Block):
    """A document (PDF or text) in a user message."""

    type: Literal["document"] = "document"
    source: Source
    title: str | None = None
    context: str | None = None
    citations: dict[str, Any] | None = None


class ToolUseBlock(_Block):
    """The model asks for a client tool to be run."""

    type: Literal["tool_use"] = "tool_use"
    id: str
    name: str
    input: dict[str, Any] = Field(default_factory=dict)


class ThinkingBlock(_Block):
    """Extended thinking; must be sent back unchanged, signature included."""

    type: Literal["thinking"] = "thinking"
    thinking: str
    signature: str = ""


class RedactedThinkingBlock(_Block):
    """Thinking the API encrypted; must be sent back unchanged."""

    type: Literal["redacted_thinking"] = "redacted_thinking"
    data: str


class ServerToolUseBlock(_Block):
    """A server tool (web search, code execution…) the API runs itself."""

    type: Literal["server_tool_use"] = "server_tool_use"
    id: str
    name: str
    input: dict[str, Any] = Field(default_factory=dict)


class ServerToolResultBlock(_Block):
    """The result of a server tool, such as ``web_search_tool_result``."""

    type: str
    tool_use_id: str
    content: Any = None


class ContainerUploadBlock(_Block):
    """Puts a file uploaded through the Files API into the code execution container."""

    type: Literal["container_upload"] = "container_upload"
    file_id: str


class UnknownBlock(_Block):
    """A block type this version does not know; every field is kept and sent back."""

    type: str


class ToolResultBlock(_Block):
    """The answer to a ``tool_use``, sent in the next user message."""

    type: Literal["tool_result"] = "tool_result"
    tool_use_id: str
    content: str | list[ContentBlock] | None = None
    is_error: bool | None = None


_KNOWN_BLOCKS = {
    "text",
    "image",
    "document",
    "tool_use",
    "tool_result",
    "thinking",
    "redacted_thinking",
    "server_tool_use",
    "container_upload",
}


def _block_tag(value: Any) -> str:
    if isinstance(value, dict):
        kind = value.get("type")
    else:
        if isinstance(value, UnknownBlock):
            return "unknown"
        if isinstance(value, ServerToolResultBlock):
            return "server_tool_result"
        kind = getattr(value, "type", None)
    if kind in _KNOWN_BLOCKS:
        return str(kind)
    if (
        isinstance(kind, str)
        and kind.endswith("_tool_result")
        and isinstance(value, dict)
        and "tool_use_id" in value
    ):
        return "server_tool_result"
    return "unknown"


ContentBlock: TypeAlias = Annotated[
    Annotated[TextBlock, Tag("text")]
    | Annotated[ImageBlock, Tag("image")]
    | Annotated[DocumentBlock, Tag("document")]
    | Annotated[ToolUseBlock, Tag("tool_use")]
    | Annotated[ToolResultBlock, Tag("tool_result")]
    | Annotated[ThinkingBlock, Tag("thinking")]
    | Annotated[RedactedThinkingBlock, Tag("redacted_thinking")]
    | Annotated[ServerToolUseBlock, Tag("server_tool_use")]
    | Annotated[ServerToolResultBlock, Tag("server_tool_result")]
    | Annotated[ContainerUploadBlock, Tag("container_upload")]
    | Annotated[UnknownBlock, Tag("unknown")],
    Discriminator(_block_tag),
]

ToolResultBlock.model_rebuild()


# --- messages and usage -------------------------------------------------------------------

StopReason: TypeAlias = Literal[
    "end_turn",
    "max_tokens",
    "stop_sequence",
    "tool_use",
    "pause_turn",
    "refusal",
    "model_context_window_exceeded",
]
"""The stop reasons this version knows; ``Message.stop_reason`` may hold others."""

KNOWN_STOP_REASONS: frozenset[str] = frozenset(StopReason.__args__)  # type: ignore[attr-defined]


MAX_TOKEN_COUNT = 1_000_000_000
"""The largest count a usage field may hold: a thousand times the largest context window.
A count above it (or negative, or not an integer) is a malformed response, never a cost."""

TokenCount: TypeAlias = Annotated[int, Field(strict=True, ge=0, le=MAX_TOKEN_COUNT)]
"""A count of tokens (or server tool requests) as the API reports it: a whole number in
``0..MAX_TOKEN_COUNT``; ``1.0``, ``"12"`` and ``true`` are refused, not converted."""


class CacheCreation(WireModel):
    """Cache writes split by time to live."""

    ephemeral_5m_input_tokens: TokenCount = 0
    ephemeral_1h_input_tokens: TokenCount = 0


class Usage(WireModel):
    """Token counts of one response. ``input_tokens`` excludes cached tokens.

    Every count is checked to be a whole number in ``0..MAX_TOKEN_COUNT``: a negative or
    absurd count would otherwise turn into a negative cost and disable a run's budgets.
    """

    input_tokens: TokenCount = 0
    output_tokens: TokenCount = 0
    cache_creation_input_tokens: TokenCount | None = None
    cache_read_input_tokens: TokenCount | None = None
    cache_creation: CacheCreation | None = None
    server_tool_use: dict[str, Any] | None = None
    """Server tool requests by kind (``web_search_requests``…); every number is a count."""
    service_tier: str | None = None

    @field_validator("server_tool_use")
    @classmethod
    def _counts_are_counts(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        for key, count in (value or {}).items():
            if isinstance(count, bool) or not isinstance(count, int | float):
                continue
            if type(count) is not int or not 0 <= count <= MAX_TOKEN_COUNT:
                raise ValueError(f"server_tool_use.{key} must be a whole number >= 0")
        return value


class MessageParam(WireModel):
    """One message of a request's conversation."""

    role: Literal["user", "assistant"]
    content: str | list[ContentBlock]


class Message(WireModel):
    """A response of the Messages API."""

    id: str
    type: Literal["message"] = "message"
    role: Literal["assistant"] = "assistant"
    model: str
    content: list[ContentBlock] = Field(default_factory=list)
    stop_reason: str | None = None
    """Why the model stopped; see :data:`StopReason` for the known values."""
    stop_sequence: str | None = None
    usage: Usage = Field(default_factory=Usage)

    _request_id: str | None = PrivateAttr(default=None)

    @property
    def request_id(self) -> str | None:
        """The ``request-id`` header of the response that carried this message."""
        # Read from pydantic's store directly: an underscored name goes through the model's
        # ``__getattr__``, which costs more than the rest of a turn's bookkeeping on it.
        private = self.__pydantic_private__
        return private.get("_request_id") if private else None

    @property
    def text(self) -> str:
        """The concatenated text of the message's text blocks."""
        return "".join(block.text for block in self.content if isinstance(block, TextBlock))

    @property
    def citations(self) -> list[Citation]:
        """Every citation of the message's text blocks, in order."""
        return [
            citation
            for block in self.content if isinstance(block, TextBlock)
            for citation in block.citations or ()
        ]

    @property
    def tool_uses(self) -> list[ToolUseBlock]:
        """The client tool calls the model asked for, in order."""
        return [block for block in self.content if isinstance(block, ToolUseBlock)]

    def to_param(self) -> dict[str, Any]:
        """The assistant message to send back in the next request, content unchanged."""
        return {"role": "assistant", "content": to_wire(self.content)}


class ToolParam(WireModel):
    """A client tool definition as the API receives it."""

    name: str
    description: str | None = None
    input_schema: dict[str, Any]
    cache_control: CacheControl | None = None


class ModelInfo(WireModel):
    """An entry of ``GET /v1/models``."""

    type: Literal["model"] = "model"
    id: str
    display_name: str | None = None
    created_at: str | None = None


_MESSAGE_ADAPTER: TypeAdapter[Message] = TypeAdapter(Message)
_BLOCK_ADAPTER: TypeAdapter[ContentBlock] = TypeAdapter(ContentBlock)


def parse_message(data: Any, *, request_id: str | None = None) -> Message:
    """Validate a response body (dict, bytes or str) into a :class:`Message`."""
    if isinstance(data, bytes | str):
        message = _MESSAGE_ADAPTER.validate_json(data)
    else:
        message = _MESSAGE_ADAPTER.validate_python(data)
    message._request_id = request_id
    return message


def parse_block(data: Any) -> ContentBlock:
    """Validate one content block dict; unknown types become :class:`UnknownBlock`."""
    return _BLOCK_ADAPTER.validate_python(data)


@dataclass(frozen=True, slots=True)
class ModelWait:
    """Why a model call is about to wait, and for how long, before its next request goes out.

    ``reason`` is ``"retry"`` (the last attempt failed and will be retried) or
    ``"rate_limit"`` (the client's limiter holds the request until the account's budget
    allows it). ``attempt`` and ``max_attempts`` count retries (None for a rate-limit wait);
    ``detail`` says what went wrong in a few words (``"rate_limit_error"``, ``"overloaded_error"``,
    ``"input tokens per minute"``).
    """

    reason: str
    seconds: float
    model: str | None = None
    attempt: int | None = None
    max_attempts: int | None = None
    detail: str | None = None
