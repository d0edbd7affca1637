"""The Messages API client: :class:`Client` (blocking) and :class:`AsyncClient` (asyncio).

Both clients build the same flows (``agentcore.client._flow``: request building, response parsing,
error mapping, retries, model fallback) and differ only in how they send a request and how
they wait before a retry.

Example::

    from agentcore import Client

    with Client() as client:  # reads ANTHROPIC_API_KEY
        message = client.messages.create(
            model="claude-sonnet-4-6", max_tokens=256,
            messages=[{"role": "user", "content": "Hello"}],
        )
    print(message.text)
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Sequence
from types import TracebackType
from typing import TypeVar, Unpack

import httpx

from agentcore.client import _deadline
from agentcore.client._flow import Calls, Flow, Send
from agentcore.client._http import (
    CountTokensParams,
    MessageCreateParams,
    Settings,
)
from agentcore.client._limiter import RateLimiter
from agentcore.client._message_stream import AsyncMessageStream, MessageStream, StreamCall
from agentcore.client._rate_limit import RateLimit
from agentcore.client._retry import RetryPolicy
from agentcore.client.files import AsyncFiles, Files
from agentcore.errors import ConfigurationError
from agentcore.log import get_logger
from agentcore.types import Message, ModelInfo, ModelWait

__all__ = [
    "AsyncClient",
    "AsyncMessageStream",
    "AsyncMessages",
    "AsyncModels",
    "Client",
    "CountTokensParams",
    "MessageCreateParams",
    "MessageStream",
    "Messages",
    "Models",
]

T = TypeVar("T")


def _calls(
    *,
    api_key: str | None,
    auth_token: str | None,
    base_url: str | None,
    version: str | None,
    betas: Sequence[str],
    timeout: float | httpx.Timeout | None,
    max_retries: int,
    fallback_models: Sequence[str],
    rng: random.Random | None,
    rate_limit: RateLimit | RateLimiter | bool | None,
) -> Calls:
    settings = Settings.resolve(
        api_key=api_key,
        auth_token=auth_token,
        base_url=base_url,
        version=version,
        betas=betas,
        timeout=timeout,
    )
    return Calls(
        settings,
        RetryPolicy(max_retries=max_retries),
        rng if rng is not None else random.Random(),
        tuple(fallback_models),
        get_logger("agentcore.client"),
        _limiter(rate_limit),
    )


def _limiter(rate_limit: RateLimit | RateLimiter | bool | None) -> RateLimiter | None:
    if rate_limit is None or rate_limit is False:
        return None
    if rate_limit is True:
        return RateLimiter()
    if isinstance(rate_limit, RateLimit):
        return RateLimiter(rate_limit)
    if isinstance(rate_limit, RateLimiter):
        return rate_limit
    raise ConfigurationError(
        f"rate_limit must be a RateLimit, a RateLimiter or True, not {type(rate_limit).__name__}"
    )


def _repr(client: Client | AsyncClient) -> str:
    calls = client._calls
    return (
        f"{type(client).__name__}(base_url={calls.settings.base_url!r}, "
        f"version={calls.settings.version!r}, max_retries={calls.policy.max_retries})"
    )


class Client:
    """A blocking client for the Messages API.

    Args:
        api_key: Sent as ``x-api-key``; defaults to ``ANTHROPIC_API_KEY``.
        auth_token: A bearer token (``Authorization: Bearer``) instead of a key; defaults to
            ``ANTHROPIC_AUTH_TOKEN`` when no key is set.
        base_url: Defaults to ``ANTHROPIC_BASE_URL``, then ``https://api.anthropic.com``.
        version: ``anthropic-version``; defaults to ``ANTHROPIC_VERSION``, then 2023-06-01.
        betas: Beta names sent in ``anthropic-beta`` with every request.
        timeout: Seconds (connect stays at most 5 s) or an ``httpx.Timeout``; the default
            is 5 s to connect and 600 s to read. The read timeout is also the deadline of
            each attempt as a whole (connect, send, and the whole response); a stream gets
            it to open and then as the longest wait between two events.
        max_retries: Retries of a failed request (per model); a call may override it.
        fallback_models: Models to try in order when a model is not found, not permitted,
            or still overloaded after its retries; a call may override them.
        transport: The httpx transport to send through (tests: ``httpx.MockTransport``).
        http_client: An httpx client to use instead of one of our own; it is not closed
            by :meth:`close`.
        sleep: Waits before a retry or for the rate limit (tests: a function that records
            the delay).
        rng: The jitter source for backoff (tests: a seeded ``random.Random``).
        rate_limit: Pace requests to the account's limits before sending them: a
            :class:`RateLimit` (limits and spend budgets known in advance), ``True`` (learn
            the limits from the responses' headers) or a :class:`RateLimiter` (to share one
            between clients, or inject its clock). One limiter serves every call and every
            thread using the client; each wait is logged as ``model.throttled``.

    The credentials the client sends (the key or token, credential headers, a password in
    ``base_url``; of any shape, from 8 characters) are redacted from every error it raises
    and every event it logs, so a server echoing them back cannot leak them.

    Raises:
        MissingAPIKeyError: no key or token was given or found in the environment.
        ConfigurationError: ``rate_limit`` is not one of the accepted kinds.
    """

    messages: Messages
    models: Models
    files: Files

    def __init__(
        self,
        api_key: str | None = None,
        *,
        auth_token: str | None = None,
        base_url: str | None = None,
        version: str | None = None,
        betas: Sequence[str] = (),
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = 2,
        fallback_models: Sequence[str] = (),
        transport: httpx.BaseTransport | None = None,
        http_client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        rate_limit: RateLimit | RateLimiter | bool | None = None,
    ) -> None:
        self._calls = _calls(
            api_key=api_key,
            auth_token=auth_token,
            base_url=base_url,
            version=version,
            betas=betas,
            timeout=timeout,
            max_retries=max_retries,
            fallback_models=fallback_models,
            rng=rng,
            rate_limit=rate_limit,
        )
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(
            transport=transport, timeout=self._calls.settings.timeout
        )
        if http_client is None and transport is None:
            _deadline.install(self._http)
        self._sleep = sleep
        self.messages = Messages(self)
        self.models = Models(self)
        self.files = Files(self)

    def _run(self, flow: Flow[T]) -> T:
        steps = self._run_waits(flow)
        while True:
            try:
                next(steps)
            except StopIteration as stop:
                result: T = stop.value
                return result

    def _run_waits(self, flow: Flow[T]) -> Generator[ModelWait, None, T]:
        """Drive ``flow`` with blocking I/O, yielding each wait's :class:`ModelWait` before
        sleeping through it (so a caller can show it first); returns the flow's result."""
        outcome: httpx.Response | httpx.RequestError | None = None
        try:
            while True:
                action = flow.send(outcome)
                if isinstance(action, Send):
                    outcome = _deadline.exchange(
                        self._http, action.request, keep_open=action.stream
                    )
                else:
                    if action.wait is not None:
                        yield action.wait
                    self._sleep(action.seconds)
                    outcome = None
        except StopIteration as stop:
            result: T = stop.value
            return result
        finally:
            # Interrupted or cancelled mid-call: the flow gives back what it booked now,
            # not whenever the collector reaches it.
            flow.close()

    def close(self) -> None:
        """Close the connection pool (unless the httpx client was passed in)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def rate_limiter(self) -> RateLimiter | None:
        """The limiter pacing this client's requests, or None without ``rate_limit``."""
        return self._calls.limiter

    def __repr__(self) -> str:
        return _repr(self)


class Messages:
    """``client.messages``: create, stream and count tokens."""

    __slots__ = ("_client",)

    def __init__(self, client: Client) -> None:
        self._client = client

    def create(self, **params: Unpack[MessageCreateParams]) -> Message:
        """Send a conversation and return the model's reply.

        Keyword parameters are those of the API (``model``, ``max_tokens``, ``messages``,
        ``system``, ``tools``…) plus ``extra_body``, ``extra_headers``, ``betas``,
        ``max_retries``, ``timeout`` and ``fallback_models``. ``Message.model`` is the model
        that answered, after any fallback; ``Message.request_id`` identifies the response.

        Each response is logged once, as a ``model.call`` event (model, latency, tokens,
        cost, stop reason, request id, attempt); ``log_fields`` are added to every event
        logged for the call (a caller's run id, say), and ``prices`` compute the cost.

        Raises:
            APIStatusError: a subclass per error type, once retries and fallbacks are spent.
            APIConnectionError: no response (``APITimeoutError`` for a timeout).
        """
        return self._client._run(self._client._calls.create(params))

    def _create_waits(self, params: MessageCreateParams) -> Generator[ModelWait, None, Message]:
        """:meth:`create`, yielding a :class:`ModelWait` before each wait (a retry's backoff,
        the rate limit) starts; returns the message."""
        client = self._client
        return client._run_waits(client._calls.create(params))

    def stream(self, **params: Unpack[MessageCreateParams]) -> MessageStream:
        """Stream the reply; use the result in a ``with`` block and iterate its events."""
        client = self._client
        return MessageStream(StreamCall(client._calls, params), client._http, client._sleep)

    def count_tokens(self, **params: Unpack[CountTokensParams]) -> int:
        """The number of input tokens the conversation would use."""
        return self._client._run(self._client._calls.count_tokens(params))


class Models:
    """``client.models``: the models the key can use."""

    __slots__ = ("_client",)

    def __init__(self, client: Client) -> None:
        self._client = client

    def list(self) -> list[ModelInfo]:
        """Every available model, newest first, following pagination."""
        return self._client._run(self._client._calls.list_models())

    def retrieve(self, model_id: str) -> ModelInfo:
        """One model by id or alias (``NotFoundError`` if unknown)."""
        return self._client._run(self._client._calls.retrieve_model(model_id))


class AsyncClient:
    """The asyncio twin of :class:`Client`: same arguments, awaitable calls.

    ``transport`` is an ``httpx.AsyncBaseTransport``, ``http_client`` an
    ``httpx.AsyncClient`` and ``sleep`` a coroutine function such as ``asyncio.sleep``.
    """

    messages: AsyncMessages
    models: AsyncModels
    files: AsyncFiles

    def __init__(
        self,
        api_key: str | None = None,
        *,
        auth_token: str | None = None,
        base_url: str | None = None,
        version: str | None = None,
        betas: Sequence[str] = (),
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = 2,
        fallback_models: Sequence[str] = (),
        transport: httpx.AsyncBaseTransport | None = None,
        http_client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        rate_limit: RateLimit | RateLimiter | bool | None = None,
    ) -> None:
        self._calls = _calls(
            api_key=api_key,
            auth_token=auth_token,
            base_url=base_url,
            version=version,
            betas=betas,
            timeout=timeout,
            max_retries=max_retries,
            fallback_models=fallback_models,
            rng=rng,
            rate_limit=rate_limit,
        )
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(
            transport=transport, timeout=self._calls.settings.timeout
        )
        self._sleep = sleep
        self.messages = AsyncMessages(self)
        self.models = AsyncModels(self)
        self.files = AsyncFiles(self)

    async def _run(self, flow: Flow[T]) -> T:
        outcome: httpx.Response | httpx.RequestError | None = None
        try:
            while True:
                action = flow.send(outcome)
                if isinstance(action, Send):
                    outcome = await _deadline.aexchange(
                        self._http, action.request, keep_open=action.stream
                    )
                else:
                    await self._sleep(action.seconds)
                    outcome = None
        except StopIteration as stop:
            result: T = stop.value
            return result
        finally:
            # Interrupted or cancelled mid-call: the flow gives back what it booked now,
            # not whenever the collector reaches it.
            flow.close()

    async def _run_waits(
        self, flow: Flow[T], done: list[T]
    ) -> AsyncGenerator[ModelWait, None]:
        """Drive ``flow`` like :meth:`_run`, yielding each wait's :class:`ModelWait` before
        sleeping through it; the flow's result is appended to ``done`` (an async generator
        returns nothing)."""
        outcome: httpx.Response | httpx.RequestError | None = None
        try:
            while True:
                action = flow.send(outcome)
                if isinstance(action, Send):
                    outcome = await _deadline.aexchange(
                        self._http, action.request, keep_open=action.stream
                    )
                else:
                    if action.wait is not None:
                        yield action.wait
                    await self._sleep(action.seconds)
                    outcome = None
        except StopIteration as stop:
            done.append(stop.value)

    async def close(self) -> None:
        """Close the connection pool (unless the httpx client was passed in)."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def rate_limiter(self) -> RateLimiter | None:
        """The limiter pacing this client's requests, or None without ``rate_limit``."""
        return self._calls.limiter

    def __repr__(self) -> str:
        return _repr(self)


class AsyncMessages:
    """``client.messages`` of an :class:`AsyncClient`."""

    __slots__ = ("_client",)

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def create(self, **params: Unpack[MessageCreateParams]) -> Message:
        """Send a conversation and return the model's reply (see :meth:`Messages.create`)."""
        return await self._client._run(self._client._calls.create(params))

    def _create_waits(
        self, params: MessageCreateParams, done: list[Message]
    ) -> AsyncGenerator[ModelWait, None]:
        """:meth:`create`, yielding a :class:`ModelWait` before each wait starts; the
        message is appended to ``done``."""
        client = self._client
        return client._run_waits(client._calls.create(params), done)

    def stream(self, **params: Unpack[MessageCreateParams]) -> AsyncMessageStream:
        """Stream the reply: ``async with client.messages.stream(...) as stream``."""
        client = self._client
        return AsyncMessageStream(
            StreamCall(client._calls, params), client._http, client._sleep
        )

    async def count_tokens(self, **params: Unpack[CountTokensParams]) -> int:
        """The number of input tokens the conversation would use."""
        return await self._client._run(self._client._calls.count_tokens(params))


class AsyncModels:
    """``client.models`` of an :class:`AsyncClient`."""

    __slots__ = ("_client",)

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def list(self) -> list[ModelInfo]:
        """Every available model, following pagination."""
        return await self._client._run(self._client._calls.list_models())

    async def retrieve(self, model_id: str) -> ModelInfo:
        """One model by id or alias (``NotFoundError`` if unknown)."""
        return await self._client._run(self._client._calls.retrieve_model(model_id))
