"""Streamed replies for the caller: :class:`MessageStream` (blocking) and
:class:`AsyncMessageStream` (asyncio), two thin drivers of one
:class:`~agentcore._stream_flow.StreamCall` flow, which holds every decision.

The drivers keep the time: an attempt must get its response (status and headers) within
the timeout, and after that every event must arrive within the timeout of the one before
(or of the response): a stream may run as long as events keep coming, but a server that
trickles bytes without completing events fails with ``APITimeoutError``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Generator,
    Iterator,
)
from types import TracebackType
from typing import Any, cast

import httpx

from agentcore.client import _deadline
from agentcore.client._flow import Send, Sleep
from agentcore.client._http import attempt_timeout
from agentcore.client._stream_flow import READ, Emit, StreamAction, StreamCall
from agentcore.errors import AgentcoreError, StreamError
from agentcore.streaming.events import StreamEvent, TextDeltaEvent
from agentcore.types import Message, ModelWait

__all__ = ["AsyncMessageStream", "MessageStream", "StreamCall"]


class _StreamState:
    """What both stream drivers share: the flow, how it ended, and the call in progress."""

    def __init__(self, call: StreamCall) -> None:
        self._call = call
        self._flow = call.run()
        self._response: httpx.Response | None = None
        self._final: Message | None = None
        self._error: AgentcoreError | None = None
        self._idle_s: float | None = None
        """The attempt's timeout, also the longest wait for the next event."""
        self._request: httpx.Request | None = None
        self._hand_out_waits = False
        """Whether the events also carry a :class:`ModelWait` before each wait starts."""

    def _idle_deadline(self) -> float | None:
        idle = self._idle_s
        return None if idle is None else self._call.last_event_at + idle

    def _idle_timeout(self) -> httpx.ReadTimeout:
        return httpx.ReadTimeout(
            f"no stream event arrived within the {self._idle_s:g} s timeout",
            request=self._request,
        )

    @property
    def current_message(self) -> Message | None:
        """The message so far (complete blocks plus text so far); None before it starts."""
        accumulator = self._call.accumulator
        return accumulator.snapshot() if accumulator is not None else None

    @property
    def request_id(self) -> str | None:
        """The ``request-id`` of the response being read."""
        return self._call.request_id

    @property
    def model(self) -> str:
        """The model being streamed from (after any fallback)."""
        return self._call.model

    def _step(self, outcome: Any) -> StreamAction | None:
        """The flow's next action, or None once it has returned the final message."""
        try:
            return self._flow.send(outcome)
        except StopIteration as stop:
            self._final = stop.value
            return None
        except AgentcoreError as exc:
            self._error = self._call.redact_error(exc)
            raise

    def _final_message(self) -> Message:
        """The message, once the events are drained: the flow's error or an unfinished
        stream's are raised instead."""
        if self._error is not None:
            raise self._error
        if self._final is None:
            raise self._unfinished()
        return self._final

    def _unfinished(self) -> StreamError:
        return StreamError(
            "the stream was closed before it finished",
            partial=self.current_message,
            request_id=self.request_id,
        )


class MessageStream(_StreamState):
    """A streamed reply (blocking). Use it in a ``with`` block.

    Iterate it for typed events, or use :attr:`text_stream` for the text alone, then
    :meth:`get_final_message`. The request is sent when iteration starts.

    Raises (while iterating):
        APIStatusError, APIConnectionError: the stream could not start, after retries
            (``APITimeoutError`` when the response or an event did not arrive in time).
        StreamError: the stream failed after output began; ``partial`` holds what arrived.
            An ``error`` event raises its typed error (``OverloadedError``…) and a malformed
            message ``MalformedResponseError``, each also a StreamError.
    """

    def __init__(
        self, call: StreamCall, http: httpx.Client, sleep: Callable[[float], None]
    ) -> None:
        super().__init__(call)
        self._http = http
        self._sleep = sleep
        self._chunks: Iterator[bytes] = iter(())
        self._all = self._drive()
        # Waits are in it only once _with_waits() asked for them.
        self._events = cast(Iterator[StreamEvent], self._all)

    def _with_waits(self) -> Iterator[StreamEvent | ModelWait]:
        """The events, with a :class:`ModelWait` before each wait (a retry's backoff, the
        rate limit) starts, for a caller that shows it while the stream sleeps."""
        self._hand_out_waits = True
        return self._all

    def _drive(self) -> Generator[StreamEvent | ModelWait, None, None]:
        outcome: Any = None
        try:
            while (action := self._step(outcome)) is not None:
                if type(action) is Emit:
                    outcome = None
                    yield action.event
                elif action is READ:
                    outcome = self._read()
                elif type(action) is Send:
                    outcome = self._send(action.request)
                else:
                    assert type(action) is Sleep
                    if self._hand_out_waits and action.wait is not None:
                        yield action.wait
                    self._sleep(action.seconds)
                    outcome = None
        finally:
            self._flow.close()
            self._close_response()

    def _read(self) -> bytes | httpx.RequestError | None:
        deadline = self._idle_deadline()
        token = _deadline.DEADLINE.set(deadline)
        try:
            chunk = next(self._chunks, None)
        except httpx.RequestError as exc:
            return exc
        finally:
            _deadline.DEADLINE.reset(token)
        if deadline is not None and chunk is not None and time.monotonic() > deadline:
            return self._idle_timeout()
        return chunk

    def _send(self, request: httpx.Request) -> httpx.Response | httpx.RequestError:
        self._close_response()
        self._request = request
        self._idle_s = attempt_timeout(request, self._http.timeout)
        outcome = _deadline.exchange(self._http, request, keep_open=True)
        if isinstance(outcome, httpx.Response) and outcome.is_success:
            self._response = outcome
            self._chunks = outcome.iter_bytes()
        return outcome

    def _close_response(self) -> None:
        if self._response is not None:
            self._response.close()
            self._response = None
            self._chunks = iter(())

    def __iter__(self) -> Iterator[StreamEvent]:
        return self._events

    @property
    def text_stream(self) -> Iterator[str]:
        """The text deltas, as they arrive."""
        for event in self._events:
            if type(event) is TextDeltaEvent:
                yield event.text

    def get_final_message(self) -> Message:
        """Read the rest of the stream and return the complete message."""
        for _ in self._events:
            pass
        return self._final_message()

    def close(self) -> None:
        """Stop reading and release the connection."""
        self._all.close()

    def __enter__(self) -> MessageStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class AsyncMessageStream(_StreamState):
    """The asyncio twin of :class:`MessageStream`: ``async with`` and ``async for``."""

    def __init__(
        self,
        call: StreamCall,
        http: httpx.AsyncClient,
        sleep: Callable[[float], Awaitable[None]],
    ) -> None:
        super().__init__(call)
        self._http = http
        self._sleep = sleep
        self._chunks: AsyncIterator[bytes] | None = None
        self._all = self._drive()
        # Waits are in it only once _with_waits() asked for them.
        self._events = cast(AsyncGenerator[StreamEvent, None], self._all)

    def _with_waits(self) -> AsyncIterator[StreamEvent | ModelWait]:
        """The events, with a :class:`ModelWait` before each wait starts."""
        self._hand_out_waits = True
        return self._all

    async def _drive(self) -> AsyncGenerator[StreamEvent | ModelWait, None]:
        outcome: Any = None
        try:
            while (action := self._step(outcome)) is not None:
                if type(action) is Emit:
                    outcome = None
                    yield action.event
                elif action is READ:
                    outcome = await self._read()
                elif type(action) is Send:
                    outcome = await self._send(action.request)
                else:
                    assert type(action) is Sleep
                    if self._hand_out_waits and action.wait is not None:
                        yield action.wait
                    await self._sleep(action.seconds)
                    outcome = None
        finally:
            self._flow.close()
            await self._close_response()

    async def _read(self) -> bytes | httpx.RequestError | None:
        chunks = self._chunks
        if chunks is None:
            return None
        deadline = self._idle_deadline()
        try:
            if deadline is None:
                return await anext(chunks, None)
            async with asyncio.timeout(deadline - time.monotonic()):
                return await anext(chunks, None)
        except httpx.RequestError as exc:
            return exc
        except TimeoutError:
            return self._idle_timeout()

    async def _send(self, request: httpx.Request) -> httpx.Response | httpx.RequestError:
        await self._close_response()
        self._request = request
        self._idle_s = attempt_timeout(request, self._http.timeout)
        outcome = await _deadline.aexchange(self._http, request, keep_open=True)
        if isinstance(outcome, httpx.Response) and outcome.is_success:
            self._response = outcome
            self._chunks = outcome.aiter_bytes()
        return outcome

    async def _close_response(self) -> None:
        if self._response is not None:
            response, self._response, self._chunks = self._response, None, None
            await response.aclose()

    def __aiter__(self) -> AsyncIterator[StreamEvent]:
        return self._events

    @property
    async def text_stream(self) -> AsyncIterator[str]:
        """The text deltas, as they arrive."""
        async for event in self._events:
            if type(event) is TextDeltaEvent:
                yield event.text

    async def get_final_message(self) -> Message:
        """Read the rest of the stream and return the complete message."""
        async for _ in self._events:
            pass
        return self._final_message()

    async def close(self) -> None:
        """Stop reading and release the connection."""
        await self._events.aclose()

    async def __aenter__(self) -> AsyncMessageStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()
