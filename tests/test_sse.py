"""The SSE parser follows the event-stream rules whatever the chunking of its input."""

import random

import pytest

from agentcore.streaming.sse import ServerSentEvent, SSEParser
from tests.sse_streams import random_chunks


def parse(*chunks: bytes) -> list[ServerSentEvent]:
    parser = SSEParser()
    events = [event for chunk in chunks for event in parser.feed(chunk)]
    return events + parser.close()


def every_split(payload: bytes) -> list[tuple[bytes, bytes]]:
    return [(payload[:cut], payload[cut:]) for cut in range(len(payload) + 1)]


class TestFields:
    def test_event_name_and_data(self) -> None:
        assert parse(b'event: ping\ndata: {"type": "ping"}\n\n') == [
            ServerSentEvent(event="ping", data='{"type": "ping"}')
        ]

    def test_event_without_a_name_has_none(self) -> None:
        assert parse(b"data: hello\n\n") == [ServerSentEvent(event=None, data="hello")]

    def test_multi_line_data_is_joined_with_newlines(self) -> None:
        assert parse(b"data: one\ndata:two\ndata:  three\n\n") == [
            ServerSentEvent(event=None, data="one\ntwo\n three")
        ]

    def test_only_one_leading_space_is_stripped(self) -> None:
        assert parse(b"event:  spaced\ndata:   x \n\n") == [
            ServerSentEvent(event=" spaced", data="  x ")
        ]

    def test_comment_lines_are_ignored(self) -> None:
        assert parse(b": keep-alive\n:\ndata: a\n: between\n\n") == [
            ServerSentEvent(event=None, data="a")
        ]

    def test_field_without_colon_has_an_empty_value(self) -> None:
        assert parse(b"data\ndata\n\n") == [ServerSentEvent(event=None, data="\n")]

    def test_empty_data_line_dispatches_an_event_with_empty_data(self) -> None:
        assert parse(b"event: e\ndata:\n\n") == [ServerSentEvent(event="e", data="")]

    def test_blank_lines_without_data_dispatch_nothing(self) -> None:
        assert parse(b"\n\nevent: lonely\n\n\n") == []

    def test_event_name_does_not_leak_into_the_next_event(self) -> None:
        assert parse(b"event: first\ndata: 1\n\ndata: 2\n\n") == [
            ServerSentEvent(event="first", data="1"),
            ServerSentEvent(event=None, data="2"),
        ]

    def test_event_field_without_colon_clears_the_name(self) -> None:
        assert parse(b"event: named\nevent\ndata: x\n\n") == [ServerSentEvent(event=None, data="x")]

    def test_unknown_fields_are_ignored(self) -> None:
        assert parse(b"colour: blue\ndata: x\n\n") == [ServerSentEvent(event=None, data="x")]

    def test_event_names_stay_right_when_repeated_across_streams_and_past_a_hundred(
        self,
    ) -> None:
        names = [f"name-{n}" for n in range(150)] + ["", "\ufffd\ufffd"]
        payload = b"".join(
            b"event: " + (b"\xff\xfe" if name == "\ufffd\ufffd" else name.encode())
            + b"\ndata: " + str(n).encode() + b"\n\n"
            for n, name in enumerate(names)
        )
        expected = [
            ServerSentEvent(event=name or None, data=str(n)) for n, name in enumerate(names)
        ]
        for _ in range(3):
            assert parse(payload) == expected
            assert parse(*random_chunks(payload, 3, max_size=9)) == expected

    def test_id_persists_across_events_and_an_id_with_nul_is_ignored(self) -> None:
        parser = SSEParser()
        events = parser.feed(b"id: 7\ndata: a\n\ndata: b\n\nid: 8\x009\ndata: c\n\n")
        assert events == [
            ServerSentEvent(event=None, data="a", id="7"),
            ServerSentEvent(event=None, data="b", id="7"),
            ServerSentEvent(event=None, data="c", id="7"),
        ]
        assert parser.last_event_id == "7"

    def test_retry_is_kept_only_when_all_digits(self) -> None:
        assert parse(b"retry: 1500\ndata: a\n\nretry: 15s\ndata: b\n\n") == [
            ServerSentEvent(event=None, data="a", retry=1500),
            ServerSentEvent(event=None, data="b"),
        ]


class TestLineEndings:
    @pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
    def test_every_line_ending_gives_the_same_events(self, newline: bytes) -> None:
        payload = b"event: a\ndata: 1\ndata: 2\n\n: c\nevent: b\ndata: 3\n\n".replace(
            b"\n", newline
        )
        assert parse(payload) == [
            ServerSentEvent(event="a", data="1\n2"),
            ServerSentEvent(event="b", data="3"),
        ]

    def test_crlf_split_between_chunks_is_one_line_ending(self) -> None:
        assert parse(b"data: a\r", b"\n\r", b"\ndata: b\r\n\r\n") == [
            ServerSentEvent(event=None, data="a"),
            ServerSentEvent(event=None, data="b"),
        ]

    def test_cr_then_cr_lf_is_two_line_endings(self) -> None:
        assert parse(b"data: a\r\r\n") == [ServerSentEvent(event=None, data="a")]

    def test_every_split_point_gives_the_same_events(self) -> None:
        payload = b"event: x\r\ndata: caf\xc3\xa9 \xf0\x9f\x98\x80\r\n: c\r\rdata: 2\n\n"
        expected = [
            ServerSentEvent(event="x", data="café 😀"),
            ServerSentEvent(event=None, data="2"),
        ]
        for head, tail in every_split(payload):
            assert parse(head, tail) == expected, (head, tail)

    def test_one_byte_at_a_time(self) -> None:
        payload = "event: text\r\ndata: 日本語 ✓\r\n\r\n".encode()
        assert parse(*(payload[i : i + 1] for i in range(len(payload)))) == [
            ServerSentEvent(event="text", data="日本語 ✓")
        ]

    def test_random_chunkings_give_the_same_events(self) -> None:
        payload = b"".join(
            f"event: e{n}\r\ndata: {n}\u00e9\r\ndata: more\r\n\r\n".encode() for n in range(50)
        )
        expected = parse(payload)
        assert len(expected) == 50
        for seed in range(20):
            assert parse(*random_chunks(payload, seed)) == expected


class TestEncoding:
    def test_leading_byte_order_mark_is_ignored_even_when_split(self) -> None:
        assert parse(b"\xef", b"\xbb", b"\xbfdata: a\n\n") == [
            ServerSentEvent(event=None, data="a")
        ]

    def test_invalid_utf8_becomes_replacement_characters(self) -> None:
        assert parse(b"data: \xff\xfe ok\n\n") == [
            ServerSentEvent(event=None, data="\ufffd\ufffd ok")
        ]


class TestEndOfInput:
    def test_unterminated_event_is_dropped_at_close(self) -> None:
        parser = SSEParser()
        assert parser.feed(b"data: a\n\nevent: message_stop\ndata: {}\n") == [
            ServerSentEvent(event=None, data="a")
        ]
        assert parser.has_partial_event
        assert parser.close() == []

    def test_unterminated_line_is_buffered_not_dispatched(self) -> None:
        parser = SSEParser()
        assert parser.feed(b"data: a\n\ndata: b") == [ServerSentEvent(event=None, data="a")]
        assert parser.has_partial_event
        assert parser.feed(b"c\n\n") == [ServerSentEvent(event=None, data="bc")]
        assert not parser.has_partial_event

    def test_close_resets_the_parser_for_a_new_stream(self) -> None:
        parser = SSEParser()
        parser.feed(b"data: half")
        parser.close()
        assert parser.feed(b"data: fresh\n\n") == [ServerSentEvent(event=None, data="fresh")]


def reference_parse(payload: bytes) -> list[ServerSentEvent]:
    """The spec's algorithm written plainly, over the whole decoded input at once."""
    text = payload.decode("utf-8", "replace").removeprefix("\ufeff")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")[:-1]
    events, data, name, last_id, retry = [], [], None, None, None
    for line in lines:
        if line == "":
            if data:
                events.append(ServerSentEvent(name, "\n".join(data), last_id, retry))
            data, name, retry = [], None, None
            continue
        if line.startswith(":"):
            continue
        field, colon, value = line.partition(":")
        value = value[1:] if colon and value.startswith(" ") else value
        if field == "event":
            name = value or None
        elif field == "data":
            data.append(value)
        elif field == "id" and "\0" not in value:
            last_id = value
        elif field == "retry" and value.isascii() and value.isdigit():
            retry = int(value)
    return events


class TestAgainstTheSpecAlgorithm:
    LINES = ("event: a", "event:b", "event", "data: x", "data:  y", "data", "data:é😀",
             ": comment", ":", "id: 1", "id", "retry: 20", "retry: x", "other: z", "", "")
    NEWLINES = ("\n", "\r\n", "\r")

    def test_random_streams_in_random_chunkings(self) -> None:
        rng = random.Random(7)
        for _ in range(300):
            count = rng.randint(0, 30)
            text = "".join(rng.choice(self.LINES) + rng.choice(self.NEWLINES) for _ in range(count))
            payload = text.encode()
            expected = reference_parse(payload)
            for seed in range(5):
                assert parse(*random_chunks(payload, seed, max_size=6)) == expected, payload
