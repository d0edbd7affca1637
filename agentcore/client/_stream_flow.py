"""The flow of a streamed call, without I/O (driven by ``agentcore.client._message_stream``).

The flow opens the stream with the same retry and fallback rules as a plain call. Until the
first content block arrives, a failure (an ``error`` event, a cut connection, a stream that
ends early) counts as a failed attempt and is retried within the same budget; the events
received so far are held back meanwhile, so a retry never shows the caller anything twice.
After the first content block, a failure raises :class:`~agentcore.errors.StreamError`
carrying the partial message: output already shown is never silently produced again. An
``error`` event or a malformed message then raises the typed API error that is also a
StreamError (see :func:`~agentcore.errors.stream_api_error`).

:attr:`StreamCall.last_event_at` tells the driver when the last event arrived (or the
response opened), from which it measures the idle timeout.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, Final

import httpx

from agentcore.client._flow import (
    Calls,
    Send,
    Sleep,
    admit,
    log_model_call,
    response_or_error,
    send_booked,
    settle_outcome,
    with_retries,
)
from agentcore.client._http import (
    MessageCreateParams,
    connection_error,
    encode_body,
    options_for_body,
    split_params,
)
from agentcore.client._limiter import Ticket, max_tokens_of
from agentcore.client._rate_limit import parse_rate_limit_headers
from agentcore.errors import (
    AgentcoreError,
    APIError,
    MalformedResponseError,
    StreamError,
    stream_api_error,
)
from agentcore.inputs import check_request_size
from agentcore.streaming.accumulator import MessageAccumulator
from agentcore.streaming.events import StreamEvent
from agentcore.streaming.sse import EventTooLargeError, ServerSentEvent, SSEParser
from agentcore.types import Message

__all__ = ["READ", "Emit", "StreamAction", "StreamCall"]


class _Read:
    """Read the next chunk of the open body; answer with bytes, None at the end, or the
    ``httpx.RequestError`` the read raised."""

    __slots__ = ()


READ: Final = _Read()


@dataclass(frozen=True, slots=True)
class Emit:
    """Hand this event to the caller; answer with None."""

    event: StreamEvent


StreamAction = Send | Sleep | _Read | Emit
Chunk = bytes | httpx.RequestError | None


class StreamCall:
    """The flow of one ``messages.stream`` call, and what it has received so far."""

    __slots__ = (
        "_attempt",
        "_body",
        "_calls",
        "_held",
        "_options",
        "_parser",
        "_started",
        "_ticket",
        "accumulator",
        "last_event_at",
        "model",
        "request_id",
    )

    def __init__(self, calls: Calls, params: MessageCreateParams) -> None:
        self._body, self._options = split_params(params)
        self._body["stream"] = True
        self._calls = calls
        self._parser = SSEParser()
        self._held: list[StreamEvent] = []
        self._started = 0.0
        self._attempt = 0
        self._ticket: Ticket | None = None
        """The limiter's booking of the attempt whose response is being read."""
        self.accumulator: MessageAccumulator | None = None
        """Folds the current attempt's events; None before the first response."""
        self.model: str = params["model"]
        """The model of the current attempt (the one that answered, once content arrives)."""
        self.request_id: str | None = None
        """The ``request-id`` of the current attempt's response."""
        self.last_event_at = 0.0
        """``time.monotonic()`` when the last event arrived, or the response opened."""

    def run(self) -> Generator[StreamAction, Any, Message]:
        """The whole call: open (with retries and fallback), then relay every event.

        With a limiter, the booking of the attempt that streams is settled with the final
        message's usage; a stream that fails or is closed first leaves the estimates standing.
        """
        try:
            message = yield from self._run()
        except BaseException:
            self._settle(None)
            raise
        return message

    def _settle(self, message: Message | None) -> None:
        """Settle the streaming attempt's booking with its usage (its headers were read
        when it opened: by now they are older than what the limiter knows)."""
        ticket, self._ticket = self._ticket, None
        limiter = self._calls.limiter
        if ticket is not None and limiter is not None:
            limiter.settle(ticket, usage=None if message is None else message.usage)

    def _run(self) -> Generator[StreamAction, Any, Message]:
        calls = self._calls
        leftover = yield from with_retries(
            calls.models_for(self.model, self._options),
            self._open,
            calls.policy_for(self._options),
            calls.rng,
            calls.log_for(self._options),
        )
        accumulator = self.accumulator
        assert accumulator is not None
        for event in self._held:
            yield Emit(event)
        self._held = []
        yield from self._relay(accumulator, leftover)
        parser = self._parser
        while True:
            chunk = yield READ
            if chunk is None:
                break
            if isinstance(chunk, httpx.RequestError):
                if accumulator.is_complete:
                    break
                cause = connection_error(chunk, request_id=self.request_id)
                raise StreamError(
                    f"the stream was cut after output began: {cause.message}",
                    partial=accumulator.snapshot(),
                    cause=cause,
                    request_id=self.request_id,
                )
            try:
                events = parser.feed(chunk)
            except EventTooLargeError as exc:
                too_large = MalformedResponseError(str(exc), request_id=self.request_id)
                raise stream_api_error(
                    too_large, partial=accumulator.snapshot(), output_started=True
                ) from None
            if events:
                self.last_event_at = time.monotonic()
                yield from self._relay(accumulator, events)
        message = accumulator.final_message()
        self._settle(message)
        log_model_call(
            calls.log_for(self._options),
            message,
            started=self._started,
            attempt=self._attempt,
            prices=self._options.get("prices"),
        )
        return message

    def redact_error(self, error: AgentcoreError) -> AgentcoreError:
        """Scrub ``error`` of the credentials this call sends, in place, before the caller
        sees it (an error event or a cut after output began never passes the retry loop)."""
        self._calls.log_for(self._options).redactor.redact_error(error)
        return error

    def _relay(
        self, accumulator: MessageAccumulator, events: list[ServerSentEvent]
    ) -> Generator[Emit, None, None]:
        add = accumulator.add
        for sse in events:
            event = add(sse)
            if event is not None:
                yield Emit(event)

    def _open(
        self, model: str, number: int
    ) -> Generator[StreamAction, Any, list[ServerSentEvent] | AgentcoreError]:
        """One attempt: send, then read until the first content block (or the end).

        Returns the parsed events left over from the chunk that held the first block, or the
        error that ended the attempt.
        """
        self._settle(None)
        self.model = model
        self._attempt = number
        self._body["model"] = model
        calls = self._calls
        content = encode_body(self._body)
        check_request_size(content)
        request = calls.settings.build_request(
            "POST", "/v1/messages", content=content,
            options=options_for_body(calls.settings, self._options, content, self._body),
        )
        limiter = calls.limiter
        if limiter is None:
            self._started = time.perf_counter()
            outcome = yield Send(request, stream=True)
        else:
            log = calls.log_for(self._options)
            prices = self._options.get("prices")
            ticket = yield from admit(
                limiter, model, content, max_tokens_of(self._body), prices, log
            )
            self._started = time.perf_counter()
            outcome = yield from send_booked(limiter, ticket, Send(request, stream=True))
            if isinstance(outcome, httpx.Response) and outcome.is_success:
                self._ticket = ticket
                limiter.observe(ticket, parse_rate_limit_headers(outcome.headers))
            else:
                settle_outcome(limiter, ticket, outcome)
        response = response_or_error(outcome)
        if isinstance(response, APIError):
            return response
        self.request_id = request_id = response.headers.get("request-id")
        self.last_event_at = time.monotonic()
        self._parser = parser = SSEParser()
        self.accumulator = accumulator = MessageAccumulator(request_id=request_id)
        self._held = held = []
        while True:
            chunk: Chunk = yield READ
            if isinstance(chunk, httpx.RequestError):
                return connection_error(chunk, request_id=request_id)
            try:
                events = parser.close() if chunk is None else parser.feed(chunk)
            except EventTooLargeError as exc:
                return MalformedResponseError(str(exc), request_id=request_id)
            if events:
                self.last_event_at = time.monotonic()
            for position, sse in enumerate(events):
                try:
                    event = accumulator.add(sse)
                except StreamError as exc:
                    return _before_output(exc, request_id)
                if event is not None:
                    held.append(event)
                if accumulator.has_content or accumulator.is_complete:
                    return events[position + 1 :]
            if chunk is None:
                try:
                    accumulator.final_message()
                except StreamError as exc:
                    return exc
                return []


def _before_output(error: StreamError, request_id: str | None) -> AgentcoreError:
    """A failure before any output is a failed request: the API's own error when it sent one."""
    cause = error.cause
    if cause is None:
        return error
    if cause.request_id is None:
        cause.request_id = request_id
    return cause
