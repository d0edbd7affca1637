"""A sans-IO parser for Server-Sent Events (the ``text/event-stream`` format).

Feed it bytes as they arrive, in any chunking, and it returns the events completed so far.
It follows the WHATWG HTML "event stream interpretation" rules: lines end with ``\\r\\n``,
``\\n`` or ``\\r``; ``data:`` lines of one event are joined with ``\\n``; lines starting with
``:`` are comments; a field without a colon has an empty value; one space after the colon
is dropped; a leading byte-order mark is ignored; an event is dispatched by a blank line.

Lines are split on bytes before decoding, so a UTF-8 character split across two chunks is
decoded whole (a newline byte never occurs inside a multi-byte UTF-8 sequence); invalid
UTF-8 becomes U+FFFD, as the spec requires.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any

__all__ = ["DEFAULT_MAX_EVENT_BYTES", "EventTooLargeError", "SSEParser", "ServerSentEvent"]

_BOM = b"\xef\xbb\xbf"

DEFAULT_MAX_EVENT_BYTES = 32 * 1024 * 1024
"""The largest line or event :class:`SSEParser` buffers by default."""


_EVENT_NAMES: dict[bytes, str] = {}
"""Decoded ``event:`` lines, keyed by the whole line: a stream repeats a handful of names."""
_EVENT_NAME_CACHE = 64
_EVENT_NAME_CHARS = 64


class EventTooLargeError(ValueError):
    """A line or an event of the stream is larger than the parser's ``max_event_bytes``."""


@dataclass(slots=True)
class ServerSentEvent:
    """One dispatched event of an event stream."""

    event: str | None
    """The ``event:`` name, or None when the event had none (the spec's default "message")."""
    data: str
    """The ``data:`` lines of the event, joined with ``\\n``."""
    id: str | None = None
    """The last event id seen on the stream so far (ids persist across events, per spec)."""
    retry: int | None = None
    """A ``retry:`` reconnection time in milliseconds, when this event carried one."""

    def json(self) -> Any:
        """The data parsed as JSON."""
        return json.loads(self.data)


class SSEParser:
    """Turns the bytes of an event stream into :class:`ServerSentEvent` objects.

    The parser holds no I/O: the caller reads the bytes and feeds them in. The work done per
    chunk is linear in its size, however the stream is split (an unfinished line is kept as
    a list of pieces and joined once its end arrives). A line or an event's data growing past
    ``max_event_bytes`` raises :class:`EventTooLargeError` rather than filling memory.
    """

    __slots__ = (
        "_at_start",
        "_data",
        "_data_size",
        "_event",
        "_last_id",
        "_max",
        "_pending",
        "_pending_size",
        "_retry",
        "_skip_lf",
    )

    def __init__(self, *, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        self._max = max_event_bytes
        self._pending_size = 0
        self._data_size = 0
        self._pending: list[bytes] = []
        self._skip_lf = False
        self._at_start = True
        self._event: str | None = None
        self._data: list[bytes] = []
        self._last_id: str | None = None
        self._retry: int | None = None

    @property
    def last_event_id(self) -> str | None:
        """The last ``id:`` the stream set (what a reconnect sends as ``Last-Event-ID``)."""
        return self._last_id

    @property
    def has_partial_event(self) -> bool:
        """Whether bytes of an event not yet dispatched are buffered (a blank line is due)."""
        return bool(self._pending or self._data or self._event is not None)

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Consume ``chunk`` and return the events it completed, in order."""
        if not chunk:
            return []
        if self._at_start:
            head = b"".join(self._pending) + chunk if self._pending else chunk
            if len(head) < len(_BOM) and _BOM.startswith(head):
                self._pending = [head]
                return []
            self._at_start = False
            self._pending = []
            chunk = head[len(_BOM) :] if head.startswith(_BOM) else head
            if not chunk:
                return []
        if self._skip_lf:
            # The previous chunk ended with "\r": a "\n" starting this one belongs to it.
            self._skip_lf = False
            if chunk[0] == 0x0A:
                chunk = chunk[1:]
                if not chunk:
                    return []
        if b"\n" not in chunk and b"\r" not in chunk:
            self._pending.append(chunk)
            self._pending_size += len(chunk)
            if self._pending_size > self._max:
                self._pending = []
                raise EventTooLargeError(f"a stream line is longer than {self._max} bytes")
            return []
        if self._pending:
            self._pending.append(chunk)
            buffer = b"".join(self._pending)
            self._pending = []
            self._pending_size = 0
        else:
            buffer = chunk
        if b"\r" in buffer:
            self._skip_lf = buffer[-1] == 0x0D
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = buffer.split(b"\n")
        rest = lines.pop()
        if rest:
            self._pending.append(rest)
            self._pending_size = len(rest)
            if self._pending_size > self._max:
                self._pending = []
                raise EventTooLargeError(f"a stream line is longer than {self._max} bytes")
        return self._process(lines)

    def close(self) -> list[ServerSentEvent]:
        """Signal the end of the input and reset the parser.

        Per the spec, an event that the stream did not end with a blank line is incomplete
        and is discarded, so this returns no events; :attr:`has_partial_event` (read before
        calling) tells whether one was dropped. A Messages API stream cut this way is still
        detected as cut by the message accumulator, because ``message_stop`` never arrives.
        """
        self._pending = []
        self._pending_size = 0
        self._data_size = 0
        self._skip_lf = False
        self._at_start = True
        self._event = None
        self._data = []
        self._retry = None
        return []

    def _process(self, lines: list[bytes]) -> list[ServerSentEvent]:
        # The hot loop of a stream: "data:" lines are recognised by their prefix, a repeated
        # "event:" line by one lookup in the cache of decoded names (bounded), and the
        # running state is kept in locals; everything else goes through _field.
        events: list[ServerSentEvent] = []
        dispatch = events.append
        data = self._data
        event = self._event
        size = self._data_size
        limit = self._max
        names = _EVENT_NAMES
        for line in lines:
            if not line:
                if data:
                    text = data[0] if len(data) == 1 else b"\n".join(data)
                    dispatch(
                        ServerSentEvent(
                            event, text.decode("utf-8", "replace"), self._last_id, self._retry
                        )
                    )
                    data = self._data = []
                    size = 0
                event = None
                if self._retry is not None:
                    self._retry = None
                continue
            if line.startswith(b"data:"):
                data.append(line[6:] if line.startswith(b" ", 5) else line[5:])
                size += len(line)
                if size > limit:
                    self._data = []
                    self._data_size = 0
                    raise EventTooLargeError(f"a stream event is larger than {limit} bytes")
            elif (name := names.get(line)) is not None:
                event = name or None
            elif line.startswith(b"event:"):
                value = line[7:] if line.startswith(b" ", 6) else line[6:]
                name = value.decode("utf-8", "replace")
                if len(names) < _EVENT_NAME_CACHE and len(line) <= _EVENT_NAME_CHARS:
                    # Interned, so comparing it with a literal name is an identity check.
                    name = names[line] = sys.intern(name)
                event = name or None
            elif line[0] != 0x3A:  # lines starting with ":" are comments
                self._event = event
                self._data_size = size
                self._field(line)
                event = self._event
                size = self._data_size
        self._event = event
        self._data_size = size
        return events

    def _field(self, line: bytes) -> None:
        name, colon, value = line.partition(b":")
        if colon and value[:1] == b" ":
            value = value[1:]
        if name == b"event":
            self._event = value.decode("utf-8", "replace") or None
        elif name == b"data":
            self._data.append(value)
            self._data_size += len(value)
        elif name == b"id":
            if b"\0" not in value:
                self._last_id = value.decode("utf-8", "replace")
        elif name == b"retry" and value.isdigit():
            self._retry = int(value)
