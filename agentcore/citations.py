"""Citations: where a piece of the model's text comes from.

With ``"citations": {"enabled": true}`` on a document, the model's text blocks carry a
``citations`` list; each entry points back into a document (by characters, pages or content
blocks), a web search result, or a search result block. Every kind the API returns has its
model here, discriminated on ``type``; a kind this version does not know becomes an
:class:`UnknownCitation` that keeps every field and is sent back unchanged, like any block.

Example::

    for citation in message.citations:
        print(f"{citation.cited_text!r} ({citation.type})")
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Discriminator, Tag, TypeAdapter

__all__ = [
    "CharLocationCitation",
    "Citation",
    "ContentBlockLocationCitation",
    "PageLocationCitation",
    "SearchResultLocationCitation",
    "UnknownCitation",
    "WebSearchResultLocationCitation",
    "parse_citation",
]


class _CitationModel(BaseModel):
    # The wire models' rules (see agentcore.types.WireModel): unknown fields are kept, and a
    # literal ``type`` is always written back.
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    def model_post_init(self, context: Any, /) -> None:
        self.__pydantic_fields_set__.add("type")


class CharLocationCitation(_CitationModel):
    """A span of a plain-text document, by character offsets (0-based, end exclusive)."""

    type: Literal["char_location"] = "char_location"
    cited_text: str
    """The quoted text (not counted as output tokens)."""
    document_index: int
    """The position of the document among the request's documents, from 0."""
    document_title: str | None = None
    start_char_index: int
    end_char_index: int
    file_id: str | None = None
    """The uploaded file the document came from, when it was given by file id."""


class PageLocationCitation(_CitationModel):
    """Pages of a PDF document (1-based, end exclusive)."""

    type: Literal["page_location"] = "page_location"
    cited_text: str
    document_index: int
    document_title: str | None = None
    start_page_number: int
    end_page_number: int
    file_id: str | None = None


class ContentBlockLocationCitation(_CitationModel):
    """Blocks of a custom-content document (0-based, end exclusive)."""

    type: Literal["content_block_location"] = "content_block_location"
    cited_text: str
    document_index: int
    document_title: str | None = None
    start_block_index: int
    end_block_index: int
    file_id: str | None = None


class WebSearchResultLocationCitation(_CitationModel):
    """A web page found by the web search server tool."""

    type: Literal["web_search_result_location"] = "web_search_result_location"
    cited_text: str
    url: str
    title: str | None = None
    encrypted_index: str
    """Opaque; must be sent back unchanged in later turns."""


class SearchResultLocationCitation(_CitationModel):
    """Blocks of a ``search_result`` content block (a tool's or the user's search result)."""

    type: Literal["search_result_location"] = "search_result_location"
    cited_text: str
    search_result_index: int
    source: str
    title: str | None = None
    start_block_index: int
    end_block_index: int


class UnknownCitation(_CitationModel):
    """A citation kind this version does not know; every field is kept and sent back."""

    type: str
    cited_text: str | None = None
    """The quoted text, when the citation has one, as every known kind does."""


_KNOWN_KINDS = frozenset({
    "char_location",
    "page_location",
    "content_block_location",
    "web_search_result_location",
    "search_result_location",
})


def _citation_tag(value: Any) -> str:
    if isinstance(value, UnknownCitation):
        return "unknown"
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return kind if kind in _KNOWN_KINDS else "unknown"


Citation: TypeAlias = Annotated[
    Annotated[CharLocationCitation, Tag("char_location")]
    | Annotated[PageLocationCitation, Tag("page_location")]
    | Annotated[ContentBlockLocationCitation, Tag("content_block_location")]
    | Annotated[WebSearchResultLocationCitation, Tag("web_search_result_location")]
    | Annotated[SearchResultLocationCitation, Tag("search_result_location")]
    | Annotated[UnknownCitation, Tag("unknown")],
    Discriminator(_citation_tag),
]
"""Any citation; ``type`` says which."""

_ADAPTER: TypeAdapter[Citation] = TypeAdapter(Citation)


def parse_citation(data: Any) -> Citation:
    """Validate one citation dict; an unknown ``type`` becomes :class:`UnknownCitation`.

    Raises:
        pydantic.ValidationError: a known kind lacks a field it must have, or is not a dict.
    """
    return _ADAPTER.validate_python(data)
