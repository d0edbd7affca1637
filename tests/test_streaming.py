"""Streamed responses fold into the same Message the non-streaming API returns.

Streams are rendered from non-streaming Message dicts (tests/sse_streams.py) and fed in
random chunkings; every failure mode raises StreamError carrying what arrived before it.
"""

import json
import logging
from typing import Any

import pytest

from agentcore.citations import parse_citation
from agentcore.errors import APIStatusError, InternalServerError, OverloadedError, StreamError
from agentcore.streaming import (
    CitationsDeltaEvent,
    ContentBlockStartEvent,
    ContentBlockStopEvent,
    InputJSONDeltaEvent,
    MessageAccumulator,
    MessageDeltaEvent,
    MessageStartEvent,
    MessageStopEvent,
    SignatureDeltaEvent,
    StreamDecoder,
    StreamEvent,
    TextDeltaEvent,
    ThinkingDeltaEvent,
)
from agentcore.streaming.sse import ServerSentEvent
from agentcore.types import (
    Message,
    TextBlock,
    ToolUseBlock,
    UnknownBlock,
    Usage,
    parse_block,
    parse_message,
    to_wire,
)
from tests.sse_streams import Event, encode, message, random_chunks, stream_events

TEXT = message(
    [{"type": "text", "text": "Bonjour ! Your order A-1001 shipped 🚚 — naïve café ✓ " * 4}]
)

PARALLEL_TOOLS = message(
    [
        {"type": "text", "text": "I'll check both orders at once."},
        {"type": "tool_use", "id": "toolu_01A", "name": "lookup_order",
         "input": {"order_id": "A-1001", "fields": ["status", "eta"], "note": "é\"\\"}},
        {"type": "tool_use", "id": "toolu_01B", "name": "lookup_order",
         "input": {"order_id": "B-2002", "nested": {"deep": [1, 2.5, None, True]}}},
        {"type": "tool_use", "id": "toolu_01C", "name": "ping_service", "input": {}},
    ],
    stop_reason="tool_use",
)

THINKING = message(
    [
        {"type": "thinking", "thinking": "The user wants a refund. Check the order first.",
         "signature": "EqQBCkgIARABGAIiQL4bGFz+sig=="},
        {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4a"},
        {"type": "tool_use", "id": "toolu_01T", "name": "refund",
         "input": {"order_id": "A-1001", "amount_cents": 1299}},
    ],
    stop_reason="tool_use",
)

CITATION = {"type": "char_location", "cited_text": "The grass is green.", "document_index": 0,
            "document_title": "Facts", "start_char_index": 0, "end_char_index": 20}
CITATIONS = message(
    [
        {"type": "text", "text": "According to the document, "},
        {"type": "text", "text": "the grass is green", "citations": [CITATION, CITATION]},
        {"type": "text", "text": "."},
    ]
)

SEARCH_CITATION = {"type": "web_search_result_location", "url": "https://example.com/a",
                   "title": "A", "encrypted_index": "Eo8B", "cited_text": "Lyon is in France."}
SERVER_TOOLS = message(
    [
        {"type": "server_tool_use", "id": "srvtoolu_01", "name": "web_search",
         "input": {"query": "where is Lyon"}},
        {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_01", "content": [
            {"type": "web_search_result", "url": "https://example.com/a", "title": "A",
             "encrypted_content": "EqgfCioIARgBIiQ3", "page_age": None}]},
        {"type": "text", "text": "Lyon is in France.", "citations": [SEARCH_CITATION]},
    ],
    usage={"input_tokens": 2048, "output_tokens": 90, "cache_creation_input_tokens": 0,
           "cache_read_input_tokens": 0, "server_tool_use": {"web_search_requests": 1}},
)

ALL_STREAMS = {"text": TEXT, "parallel_tools": PARALLEL_TOOLS, "thinking": THINKING,
               "citations": CITATIONS, "server_tools": SERVER_TOOLS}


def decode(payload: bytes | list[bytes], *, request_id: str | None = None) -> Message:
    decoder = StreamDecoder(request_id=request_id)
    for chunk in [payload] if isinstance(payload, bytes) else payload:
        decoder.feed(chunk)
    return decoder.close()


def fold(events: list[Event]) -> MessageAccumulator:
    accumulator = MessageAccumulator()
    for _, data in events:
        accumulator.add_data(data)
    return accumulator


def sse(name: str | None, data: Any) -> ServerSentEvent:
    return ServerSentEvent(event=name, data=data if isinstance(data, str) else json.dumps(data))


def message_start() -> Event:
    return stream_events(message([]))[0]


def deltas(index: int, kind: str, field: str, *pieces: str) -> list[Event]:
    return [
        ("content_block_delta", {"type": "content_block_delta", "index": index,
                                 "delta": {"type": kind, field: piece}})
        for piece in pieces
    ]


def block_start(index: int, block: dict[str, Any]) -> Event:
    return "content_block_start", {"type": "content_block_start", "index": index,
                                   "content_block": block}


def block_stop(index: int) -> Event:
    return "content_block_stop", {"type": "content_block_stop", "index": index}


def raise_stream_error(events: list[Event]) -> StreamError:
    accumulator = MessageAccumulator(request_id="req_42")
    with pytest.raises(StreamError) as caught:
        for name, data in events:
            accumulator.add(sse(name, data))
        accumulator.final_message()
    return caught.value


class TestFinalMessageEqualsNonStreaming:
    @pytest.mark.parametrize("name", sorted(ALL_STREAMS))
    @pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
    def test_random_chunkings(self, name: str, newline: str) -> None:
        expected = parse_message(ALL_STREAMS[name], request_id="req_1")
        payload = encode(stream_events(ALL_STREAMS[name], chunk=5), newline=newline)
        for seed in range(15):
            assert decode(random_chunks(payload, seed), request_id="req_1") == expected

    @pytest.mark.parametrize("name", sorted(ALL_STREAMS))
    def test_one_byte_at_a_time(self, name: str) -> None:
        payload = encode(stream_events(ALL_STREAMS[name], chunk=3), newline="\r\n")
        chunks = [payload[i : i + 1] for i in range(len(payload))]
        assert decode(chunks) == parse_message(ALL_STREAMS[name])

    def test_request_id_is_carried_to_the_final_message(self) -> None:
        assert decode(encode(stream_events(TEXT)), request_id="req_9").request_id == "req_9"

    def test_events_without_event_lines_are_dispatched_by_their_type(self) -> None:
        payload = b"".join(
            b"data: " + json.dumps(data).encode() + b"\n\n"
            for _, data in stream_events(PARALLEL_TOOLS)
        )
        assert decode(payload) == parse_message(PARALLEL_TOOLS)

    def test_add_data_folds_the_same_message_as_add(self) -> None:
        assert fold(stream_events(THINKING)).final_message() == parse_message(THINKING)


class TestTypedEvents:
    def test_a_tool_use_stream_yields_one_typed_event_per_wire_event(self) -> None:
        stream = message(
            [{"type": "text", "text": "Hi"},
             {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"id": 42}}],
            stop_reason="tool_use",
            usage={"input_tokens": 12, "output_tokens": 57},
        )
        events = StreamDecoder().feed(encode(stream_events(stream, chunk=6)))
        final = parse_message(stream)
        start = parse_message({**stream, "content": [], "stop_reason": None,
                               "usage": {"input_tokens": 12, "output_tokens": 1}})
        assert events == [
            MessageStartEvent(start),
            ContentBlockStartEvent(0, TextBlock(text="")),
            TextDeltaEvent(0, "Hi"),
            ContentBlockStopEvent(0, TextBlock(text="Hi")),
            ContentBlockStartEvent(1, ToolUseBlock(id="toolu_1", name="lookup", input={})),
            InputJSONDeltaEvent(1, ""),
            InputJSONDeltaEvent(1, '{"id":'),
            InputJSONDeltaEvent(1, " 42}"),
            ContentBlockStopEvent(1, final.content[1]),
            MessageDeltaEvent("tool_use", None, Usage(input_tokens=12, output_tokens=57)),
            MessageStopEvent(final),
        ]

    def test_thinking_signature_and_citations_deltas(self) -> None:
        events: list[StreamEvent | None] = []
        accumulator = MessageAccumulator()
        for _, data in [
            message_start(),
            block_start(0, {"type": "thinking", "thinking": "", "signature": ""}),
            *deltas(0, "thinking_delta", "thinking", "Hm", "m."),
            *deltas(0, "signature_delta", "signature", "sig=="),
            block_stop(0),
            block_start(1, {"type": "text", "text": ""}),
            ("content_block_delta", {"type": "content_block_delta", "index": 1,
                                     "delta": {"type": "citations_delta", "citation": CITATION}}),
        ]:
            events.append(accumulator.add_data(data))
        assert events[2:] == [
            ThinkingDeltaEvent(0, "Hm"),
            ThinkingDeltaEvent(0, "m."),
            SignatureDeltaEvent(0, "sig=="),
            ContentBlockStopEvent(
                0, parse_block({"type": "thinking", "thinking": "Hmm.", "signature": "sig=="})
            ),
            ContentBlockStartEvent(1, TextBlock(text="")),
            CitationsDeltaEvent(1, parse_citation(CITATION)),
        ]

    def test_ping_and_untyped_data_return_no_event(self) -> None:
        accumulator = MessageAccumulator()
        assert accumulator.add(sse("ping", {"type": "ping"})) is None
        assert accumulator.add_data({"type": "ping"}) is None
        assert accumulator.add_data({"no": "type"}) is None
        assert accumulator.snapshot() is None


class TestForwardCompatibility:
    def test_unknown_events_are_skipped_and_unknown_deltas_kept_on_their_block(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        events = stream_events(TEXT)
        events[3:3] = [
            ("hologram_update", {"type": "hologram_update", "what": 1}),
            *deltas(0, "sparkle_delta", "sparkle", "✨", "✨"),
        ]
        future = b"event: future_event\ndata: {not json at all\n\n"
        payload = encode(events[:-1]) + future + encode(events[-1:])
        with caplog.at_level(logging.DEBUG, logger="agentcore.streaming"):
            final = decode(payload)
        expected = parse_message(TEXT)
        [block] = final.content
        # Folded as the API folds its own deltas, so the block goes back as it would have
        # come unstreamed; the deltas themselves are kept as received.
        assert to_wire(block) == {**to_wire(expected.content[0]), "sparkle": "✨✨"}
        assert block.raw_deltas == [{"type": "sparkle_delta", "sparkle": "✨"}] * 2
        assert final.model_copy(update={"content": expected.content}) == expected
        assert [record.getMessage() for record in caplog.records] == [
            "stream.unknown_event",
            "stream.unknown_delta",  # once, for two deltas of that type
            "stream.unknown_event",
        ]

    def test_unknown_deltas_append_strings_and_let_anything_else_replace_in_order(
        self,
    ) -> None:
        events = stream_events(TEXT)
        events[3:3] = [
            ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta})
            for delta in (
                {"type": "glow_delta", "glow": "a", "level": 1},
                {"type": "glow_delta", "glow": "b", "level": None},
                {"type": "glow_delta", "glow": "c"},
                {"type": "glow_delta", "glow": None},
                {"type": "glow_delta", "glow": "d"},
                {"type": "glow_delta", "glow": "e", "level": 2},
            )
        ]
        [block] = decode(encode(events)).content
        # "a" + "b" + "c" was replaced by null, then "d" + "e" built it again.
        assert to_wire(block) == {**to_wire(parse_message(TEXT).content[0]),
                                  "glow": "de", "level": 2}  # fmt: skip
        assert block.raw_deltas is not None and len(block.raw_deltas) == 6

    def test_events_after_message_stop_leave_the_message_unchanged(self) -> None:
        events = stream_events(TEXT)
        overloaded = {"type": "error", "error": {"type": "overloaded_error", "message": "x"}}
        trailer = [events[1], events[2], events[-1], ("error", overloaded)]
        accumulator = MessageAccumulator()
        returned = [accumulator.add(sse(name, data)) for name, data in events + trailer]
        assert returned[-4:] == [None, None, None, None]
        assert accumulator.final_message() == parse_message(TEXT)

    def test_unknown_block_type_becomes_an_unknown_block_with_its_fields(self) -> None:
        hologram = {"type": "hologram", "payload": [1, 2, 3], "colour": "blue"}
        stream = message([hologram, {"type": "text", "text": "done"}])
        final = decode(encode(stream_events(stream)))
        assert final == parse_message(stream)
        assert final.content[0] == UnknownBlock(type="hologram", payload=[1, 2, 3], colour="blue")

    def test_unknown_top_level_fields_of_message_delta_land_on_the_message(self) -> None:
        events = stream_events(TEXT)
        events[-2][1]["delta"]["container"] = {"id": "cntr_1"}
        final = fold(events).final_message()
        assert final == parse_message({**TEXT, "container": {"id": "cntr_1"}})


class TestUsage:
    def test_cumulative_usage_replaces_rather_than_adds(self) -> None:
        events = stream_events(TEXT)
        final_delta = events.pop(-2)
        events[-1:-1] = [
            ("message_delta", {"type": "message_delta", "delta": {"stop_reason": None},
                               "usage": {"output_tokens": 50}}),
            ("message_delta", {**final_delta[1], "usage": {
                "output_tokens": 140, "input_tokens": 30, "cache_read_input_tokens": 2048,
                "cache_creation_input_tokens": None}}),
        ]
        final = fold(events).final_message()
        assert final.usage == Usage(input_tokens=30, output_tokens=140,
                                    cache_creation_input_tokens=0, cache_read_input_tokens=2048)

    def test_empty_tool_input_is_an_empty_object(self) -> None:
        events = [
            message_start(),
            block_start(0, {"type": "tool_use", "id": "toolu_1", "name": "now", "input": {}}),
            *deltas(0, "input_json_delta", "partial_json", "", " "),
            block_stop(0),
        ]
        assert fold(events).snapshot() == parse_message(
            message([{"type": "tool_use", "id": "toolu_1", "name": "now", "input": {}}]) | {
                "stop_reason": None, "usage": {"input_tokens": 25, "output_tokens": 1,
                                               "cache_creation_input_tokens": 0,
                                               "cache_read_input_tokens": 0}}
        )


def partial(content: list[dict[str, Any]], *, output_tokens: int = 1) -> Message:
    """The partial message of PARALLEL_TOOLS-style streams cut before message_delta."""
    return parse_message(
        message(content) | {"stop_reason": None, "usage": {
            "input_tokens": 25, "output_tokens": output_tokens,
            "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}},
        request_id="req_42",
    )


class TestFailures:
    def test_error_event_after_200_raises_the_typed_error_with_the_partial_message(
        self,
    ) -> None:
        events = stream_events(PARALLEL_TOOLS, chunk=4)
        cut = next(i for i, (name, data) in enumerate(events)
                   if name == "content_block_delta" and data["index"] == 2)
        error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
        # The text block is complete, the first tool call too, the second is half-received.
        caught = raise_stream_error([*events[:cut + 3], ("error", error)])
        assert isinstance(caught.cause, OverloadedError)
        assert (caught.cause.error_type, caught.cause.message) == ("overloaded_error", "Overloaded")
        assert caught.partial == partial(PARALLEL_TOOLS["content"][:2])
        assert caught.request_id == "req_42"
        assert not caught.is_retryable

    def test_error_event_before_any_content_is_retryable(self) -> None:
        error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
        caught = raise_stream_error([message_start(), ("error", error)])
        assert caught.partial == partial([])
        assert caught.is_retryable

    def test_error_event_inside_an_unfinished_tool_call_is_not_retryable(self) -> None:
        """The half-received call is left out of the partial, yet its deltas were delivered."""
        error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
        tool_use = {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {}}
        events = [
            message_start(),
            block_start(0, tool_use),
            *deltas(0, "input_json_delta", "partial_json", '{"order_', 'id": "A-1'),
            ("error", error),
        ]
        caught = raise_stream_error(events)
        assert caught.partial == partial([])
        assert caught.output_started is True
        assert caught.is_retryable is False

    def test_cut_stream_keeps_complete_blocks_and_the_text_so_far(self) -> None:
        events = stream_events(CITATIONS, chunk=4)
        cut = next(i for i, (name, data) in enumerate(events)
                   if name == "content_block_delta" and data["index"] == 2)
        caught = raise_stream_error(events[:cut])
        first, second, _ = CITATIONS["content"]
        assert caught.partial == partial([first, second, {"type": "text", "text": ""}])
        assert "before message_stop" in caught.message
        caught = raise_stream_error(events[: cut - 4])
        assert caught.partial == partial([first, {**second, "text": "the grass is"}])

    def test_cut_stream_leaves_out_a_half_received_tool_call(self) -> None:
        events = stream_events(PARALLEL_TOOLS, chunk=4)
        second_call = [i for i, (name, data) in enumerate(events)
                       if name == "content_block_delta" and data["index"] == 2]
        caught = raise_stream_error(events[: second_call[5]])
        assert caught.partial == partial(PARALLEL_TOOLS["content"][:2])
        # The last call takes no arguments: even its empty input is not shown before its stop.
        last_stop = next(i for i, (name, data) in enumerate(events)
                         if name == "content_block_stop" and data["index"] == 3)
        caught = raise_stream_error(events[:last_stop])
        assert caught.partial == partial(PARALLEL_TOOLS["content"][:3])
        assert not caught.is_retryable

    def test_stream_cut_before_message_start_has_no_partial(self) -> None:
        caught = raise_stream_error([])
        assert caught.partial is None
        assert "before message_start" in caught.message

    def test_unterminated_final_event_is_a_cut_stream(self) -> None:
        payload = encode(stream_events(TEXT)).removesuffix(b"\n")
        with pytest.raises(StreamError) as caught:
            decode(payload)
        assert caught.value.partial == parse_message(TEXT)

    def test_malformed_json_in_an_event_raises_with_the_partial(self) -> None:
        events = stream_events(TEXT, chunk=50)
        payload = encode(events[:3]) + b'event: content_block_delta\ndata: {"index": 0,\n\n'
        with pytest.raises(StreamError) as caught:
            decode(payload, request_id="req_42")
        text = TEXT["content"][0]["text"][:50]
        assert caught.value.partial == partial([{"type": "text", "text": text}])
        assert "malformed JSON in a content_block_delta event" in caught.value.message

    def test_malformed_tool_input_json_raises_at_block_stop(self) -> None:
        caught = raise_stream_error([
            message_start(),
            block_start(0, {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}),
            *deltas(0, "input_json_delta", "partial_json", '{"a": ', "1,"),
            block_stop(0),
        ])
        assert caught.message.startswith("the tool input of block 0 is not valid JSON")
        assert caught.partial == partial([])

    def test_tool_input_that_is_not_an_object_is_malformed(self) -> None:
        caught = raise_stream_error([
            message_start(),
            block_start(0, {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}),
            *deltas(0, "input_json_delta", "partial_json", "[1, 2]"),
            block_stop(0),
        ])
        assert caught.message.startswith("content block 0 is malformed")

    @pytest.mark.parametrize(
        ("events", "reason"),
        [
            ([block_start(0, {"type": "text", "text": ""})], "before message_start"),
            ([message_start(), *deltas(3, "text_delta", "text", "x")], "which is not open"),
            ([message_start(), block_stop(0)], "which is not open"),
            ([message_start(), message_start()], "a second message_start"),
            ([message_start(), block_start(0, {"type": "text", "text": ""}),
              ("message_stop", {"type": "message_stop"})], "still open"),
            ([message_start(), block_start("0", {"type": "text", "text": ""})],
             "non-integer index"),
            ([message_start(), ("content_block_delta", {"type": "content_block_delta",
                                                        "index": [0], "delta": {}})],
             "malformed content_block_delta"),
            ([message_start(), ("content_block_start", {"type": "content_block_start"})],
             "malformed content_block_start"),
            ([message_start(), ("message_delta", {"type": "message_delta", "delta": 5})],
             "malformed message_delta"),
            ([("message_start", {"type": "message_start", "message": {"id": 5}})],
             "the streamed message is malformed"),
        ],
    )
    def test_out_of_order_or_malformed_events_raise(
        self, events: list[Event], reason: str
    ) -> None:
        assert reason in raise_stream_error(events).message

    def test_event_data_that_is_not_an_object_raises(self) -> None:
        with pytest.raises(StreamError, match="is not a JSON object"):
            MessageAccumulator().add(sse("message_start", "[1]"))

    def test_error_event_with_text_data_still_raises_the_api_error(self) -> None:
        caught = raise_stream_error([message_start(), ("error", "upstream overloaded")])
        assert isinstance(caught.cause, APIStatusError)
        assert caught.cause.message == "non-JSON error body: 'upstream overloaded'"
        assert caught.partial == partial([])

    def test_error_dict_given_to_add_data_raises_the_typed_error(self) -> None:
        accumulator = MessageAccumulator()
        accumulator.add_data(message_start()[1])
        error = {"type": "error", "error": {"type": "api_error", "message": "Internal error"}}
        with pytest.raises(StreamError) as caught:
            accumulator.add_data(error)
        assert isinstance(caught.value.cause, InternalServerError)
        assert caught.value.cause.is_retryable

    def test_data_that_is_not_a_dict_given_to_add_data_raises(self) -> None:
        with pytest.raises(StreamError, match="is not a JSON object"):
            MessageAccumulator().add_data([1, 2])  # type: ignore[arg-type]


class TestEventData:
    def test_whitespace_around_event_json_is_accepted(self) -> None:
        accumulator = MessageAccumulator()
        name, data = message_start()
        accumulator.add(sse(name, f"  {json.dumps(data)}\t "))
        assert accumulator.snapshot() == parse_message(
            {**data["message"], "content": []}
        )

    def test_trailing_garbage_after_event_json_is_malformed(self) -> None:
        name, data = message_start()
        with pytest.raises(StreamError, match="malformed JSON in a message_start event"):
            MessageAccumulator().add(sse(name, json.dumps(data) + " x"))


class TestStreamDecoder:
    def test_feed_returns_typed_events_and_has_content_tracks_blocks(self) -> None:
        decoder = StreamDecoder()
        payload = encode(stream_events(message([{"type": "text", "text": "Hi!"}])))
        first_block = payload.index(b"event: content_block_start")
        assert [type(event) for event in decoder.feed(payload[:first_block])] == [
            MessageStartEvent
        ]
        assert not decoder.accumulator.has_content
        assert [type(event) for event in decoder.feed(payload[first_block:])] == [
            ContentBlockStartEvent,
            TextDeltaEvent,
            ContentBlockStopEvent,
            MessageDeltaEvent,
            MessageStopEvent,
        ]
        assert decoder.accumulator.has_content
        assert decoder.accumulator.is_complete
        assert decoder.close() == parse_message(message([{"type": "text", "text": "Hi!"}]))

    def test_close_on_a_cut_stream_raises_with_the_partial(self) -> None:
        decoder = StreamDecoder(request_id="req_42")
        payload = encode(stream_events(PARALLEL_TOOLS))
        decoder.feed(payload[: payload.index(b"event: message_delta")])
        with pytest.raises(StreamError) as caught:
            decoder.close()
        assert caught.value.partial == partial(PARALLEL_TOOLS["content"])

    def test_absurdly_nested_json_is_a_stream_error_not_a_crash(self) -> None:
        nested = "[" * 100_000 + "]" * 100_000
        caught = raise_stream_error([
            message_start(),
            block_start(0, {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}),
            *deltas(0, "input_json_delta", "partial_json", '{"a": ', nested, "}"),
            block_stop(0),
        ])
        assert caught.message.startswith("the tool input of block 0 is not valid JSON")
        with pytest.raises(StreamError, match="malformed JSON in a content_block_delta event"):
            MessageAccumulator().add(sse("content_block_delta", nested))
