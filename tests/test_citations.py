"""Citations: typed in JSON replies and in streams, reachable from a run, cited by the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from agentcore import Agent, AsyncClient, Client, document
from agentcore.citations import (
    CharLocationCitation,
    ContentBlockLocationCitation,
    PageLocationCitation,
    SearchResultLocationCitation,
    UnknownCitation,
    WebSearchResultLocationCitation,
    parse_citation,
)
from agentcore.emulator import Emulator
from agentcore.errors import InvalidRequestError, MalformedResponseError, StreamError
from agentcore.events import RunFinished
from agentcore.streaming import CitationsDeltaEvent, MessageAccumulator
from agentcore.streaming.sse import SSEParser
from agentcore.testing import ScriptedModel, reply
from agentcore.testing._replies import sse_events
from agentcore.types import TextBlock, parse_message, to_wire

CHAR = {"type": "char_location", "cited_text": "Refunds within 30 days.", "document_index": 0,
        "document_title": "Policy", "start_char_index": 0, "end_char_index": 23}
PAGE = {"type": "page_location", "cited_text": "Terms apply.", "document_index": 1,
        "document_title": None, "start_page_number": 2, "end_page_number": 3,
        "file_id": "file_011a"}
BLOCK = {"type": "content_block_location", "cited_text": "Step one.", "document_index": 2,
         "document_title": "Guide", "start_block_index": 0, "end_block_index": 1}
WEB = {"type": "web_search_result_location", "cited_text": "Open 9-5.",
       "url": "https://example.com/hours", "title": "Hours", "encrypted_index": "Eo8BCi"}
SEARCH = {"type": "search_result_location", "cited_text": "Use the reset link.",
          "search_result_index": 0, "source": "kb://reset", "title": "Reset",
          "start_block_index": 0, "end_block_index": 1}
FUTURE = {"type": "video_location", "cited_text": "…", "start_second": 12, "extra": [1]}

KINDS = [
    (CHAR, CharLocationCitation), (PAGE, PageLocationCitation),
    (BLOCK, ContentBlockLocationCitation), (WEB, WebSearchResultLocationCitation),
    (SEARCH, SearchResultLocationCitation), (FUTURE, UnknownCitation),
]


def cited_message() -> dict[str, Any]:
    return reply([
        {"type": "text", "text": "Per the policy, "},
        {"type": "text", "text": "refunds are allowed within 30 days", "citations": [CHAR, PAGE]},
        {"type": "text", "text": " and ", "citations": [BLOCK, WEB, SEARCH, FUTURE]},
    ], stop_reason="end_turn", usage={"input_tokens": 10, "output_tokens": 5},
        model="claude-haiku-4-5", message_id="msg_cited")


class TestTypes:
    @pytest.mark.parametrize(("wire", "kind"), KINDS)
    def test_each_kind_parses_to_its_model_and_goes_back_unchanged(
        self, wire: dict[str, Any], kind: type
    ) -> None:
        citation = parse_citation(wire)
        assert type(citation) is kind
        assert citation.cited_text == wire["cited_text"]
        assert to_wire(citation) == wire

    def test_a_known_kind_missing_its_location_is_malformed(self) -> None:
        broken = {key: value for key, value in CHAR.items() if key != "end_char_index"}
        with pytest.raises(ValueError, match="end_char_index"):
            parse_citation(broken)

    def test_a_message_lists_its_citations_in_order_and_round_trips(self) -> None:
        message = parse_message(cited_message())

        assert [type(c).__name__ for c in message.citations] == [
            "CharLocationCitation", "PageLocationCitation", "ContentBlockLocationCitation",
            "WebSearchResultLocationCitation", "SearchResultLocationCitation", "UnknownCitation"]
        assert message.to_param()["content"] == cited_message()["content"]

    def test_a_reply_with_a_malformed_citation_is_a_malformed_response(self) -> None:
        bad = cited_message()
        bad["content"][1]["citations"] = [{"type": "char_location", "cited_text": 3}]
        client = Client(api_key="k", transport=ScriptedModel([bad]), max_retries=0)
        with pytest.raises(MalformedResponseError):
            client.messages.create(model="claude-haiku-4-5", max_tokens=10,
                                   messages=[{"role": "user", "content": "hi"}])


def accumulate(events: list[str]) -> tuple[MessageAccumulator, list[Any]]:
    accumulator = MessageAccumulator()
    parser = SSEParser()
    seen = [accumulator.add(sse) for sse in parser.feed("".join(events).encode())]
    return accumulator, [event for event in seen if event is not None]


class TestStreaming:
    def test_citations_deltas_are_typed_and_the_final_message_matches_the_json_reply(
        self,
    ) -> None:
        accumulator, events = accumulate(sse_events(cited_message()))

        deltas = [event for event in events if isinstance(event, CitationsDeltaEvent)]
        assert [(event.index, type(event.citation).__name__) for event in deltas] == [
            (1, "CharLocationCitation"), (1, "PageLocationCitation"),
            (2, "ContentBlockLocationCitation"), (2, "WebSearchResultLocationCitation"),
            (2, "SearchResultLocationCitation"), (2, "UnknownCitation")]
        streamed = accumulator.final_message()
        assert to_wire(streamed) == to_wire(parse_message(cited_message()))
        assert streamed.citations == parse_message(cited_message()).citations

    def test_an_uncited_block_stays_without_a_citations_field(self) -> None:
        accumulator, _ = accumulate(sse_events(cited_message()))
        first = accumulator.final_message().content[0]
        assert isinstance(first, TextBlock) and "citations" not in to_wire(first)

    def test_a_malformed_citation_delta_is_a_stream_error(self) -> None:
        events = sse_events(cited_message())
        bad = [event.replace('"end_char_index": 23', '"end_char_index": "x"') for event in events]
        with pytest.raises(StreamError, match="malformed citation"):
            accumulate(bad)


MANUAL = (
    "Northwind returns.\n"
    "Refunds are allowed within 30 days of delivery, up to $104.00 per order.\n"
    "Shipped orders cannot be cancelled.\n"
    "Gift cards are never refunded."
)


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator() as running:
        yield running


def question(
    *blocks: Any, text: str = "How many days after delivery can I get refunds?"
) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [*blocks, {"type": "text", "text": text}]}]


class TestTheEmulatorCites:
    def test_a_run_quotes_the_matching_sentence_with_a_char_location(
        self, emulator: Emulator
    ) -> None:
        with Client(api_key="k", base_url=emulator.base_url) as client:
            agent = Agent("claude-haiku-4-5", client=client)
            result = agent.run(question(document(text=MANUAL, title="Returns", citations=True)))

        (citation,) = result.citations
        assert isinstance(citation, CharLocationCitation)
        start = MANUAL.index("Refunds are")
        assert (citation.start_char_index, citation.end_char_index) == (
            start, start + len("Refunds are allowed within 30 days of delivery, up to $104.00 "
                               "per order."))
        assert citation.cited_text == MANUAL[citation.start_char_index:citation.end_char_index]
        assert (citation.document_index, citation.document_title) == (0, "Returns")
        assert citation.cited_text in result.output

    def test_an_uploaded_manual_is_cited_by_file_id_and_streamed_the_same(
        self, emulator: Emulator
    ) -> None:
        with Client(api_key="k", base_url=emulator.base_url) as client:
            manual = client.files.upload(MANUAL.encode(), filename="returns.txt")
            agent = Agent("claude-haiku-4-5", client=client)
            conversation = question(document(text="Unrelated memo.", citations=True),
                                    document(file_id=manual.id, title="Returns", citations=True,
                                             cache_control=True))
            ran = agent.run(conversation)
            streamed = next(event for event in agent.stream(conversation)
                            if isinstance(event, RunFinished)).result

        assert [c.file_id for c in ran.citations] == [manual.id]  # type: ignore[union-attr]
        assert [c.document_index for c in ran.citations] == [1]  # type: ignore[union-attr]
        assert streamed.citations == ran.citations

    def test_cited_answers_are_accepted_when_sent_back(self, emulator: Emulator) -> None:
        with Client(api_key="k", base_url=emulator.base_url) as client:
            agent = Agent("claude-haiku-4-5", client=client)
            first = agent.run(question(document(text=MANUAL, citations=True)))
            second = agent.run([*first.messages, {"role": "user",
                                                  "content": "Can gift cards be refunded?"}])

        assert second.status == "completed"
        assert [c.cited_text for c in second.citations] == ["Gift cards are never refunded."]
        sent_back = emulator.requests[-1]["messages"][1]["content"]
        assert [block.get("citations") for block in sent_back if block.get("citations")] == [
            to_wire(first.citations)]

    async def test_an_async_run_gets_the_same_citations(self, emulator: Emulator) -> None:
        conversation = question(document(text=MANUAL, title="Returns", citations=True))
        with Client(api_key="k", base_url=emulator.base_url) as client:
            expected = Agent("claude-haiku-4-5", client=client).run(conversation).citations
        async with AsyncClient(api_key="k", base_url=emulator.base_url) as async_client:
            agent = Agent("claude-haiku-4-5", async_client=async_client)
            result = await agent.arun(conversation)
        assert result.citations == expected != []

    def test_citations_on_some_documents_but_not_all_are_refused_as_by_the_api(
        self, emulator: Emulator
    ) -> None:
        with Client(api_key="k", base_url=emulator.base_url, max_retries=0) as client, \
                pytest.raises(InvalidRequestError, match="all of the documents"):
            client.messages.create(model="claude-haiku-4-5", max_tokens=100, messages=question(
                document(text=MANUAL, citations=True), document(text="A memo.")))

    def test_nothing_is_cited_without_citations_enabled(self, emulator: Emulator) -> None:
        with Client(api_key="k", base_url=emulator.base_url) as client:
            result = Agent("claude-haiku-4-5", client=client).run(
                question(document(text=MANUAL, title="Returns")))
        assert result.citations == []
        assert "Refunds are allowed" not in result.output
