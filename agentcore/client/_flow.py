"""Calls as sans-IO flows: retries and model fallback written once for both clients.

A flow is a generator that yields what it needs done — :class:`Send` a request, :class:`Sleep`
before a retry — and is sent back what happened (an ``httpx.Response``, or the
``httpx.RequestError`` that replaced it). It returns the call's result or raises its typed
error. ``Client`` drives flows with blocking I/O and ``AsyncClient`` with ``await``; every
decision lives here, in the manner of httpx's ``Auth.auth_flow``.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeAlias, TypeVar
from urllib.parse import quote

import httpx

from agentcore.client._http import (
    CountTokensParams,
    MessageCreateParams,
    Settings,
    connection_error,
    encode_body,
    options_for_body,
    read_message,
    read_model,
    read_model_page,
    read_token_count,
    split_params,
    status_error,
)
from agentcore.client._limiter import RateLimiter, Ticket, max_tokens_of
from agentcore.client._rate_limit import parse_rate_limit_headers
from agentcore.client._retry import RetryPolicy, parse_retry_after
from agentcore.errors import (
    AgentcoreError,
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    MalformedResponseError,
    NotFoundError,
    OverloadedError,
    PermissionDeniedError,
    StreamError,
)
from agentcore.inputs import check_request_size
from agentcore.log import EventLogger
from agentcore.redaction import credentials_sent
from agentcore.types import Message, ModelInfo, ModelWait
from agentcore.usage import PriceTable, cost_of

__all__ = [
    "Calls",
    "Flow",
    "Send",
    "Sleep",
    "admit",
    "send_booked",
    "settle_outcome",
    "with_retries",
]

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Send:
    """Send this request; answer with the response or the ``httpx.RequestError`` raised.

    With ``stream`` the response body is left unread for the flow to pull, except for an
    error status, whose (short) body the driver reads so the error can quote it.
    """

    request: httpx.Request
    stream: bool = False


@dataclass(frozen=True, slots=True)
class Sleep:
    """Wait this many seconds before the next attempt; answer with None.

    ``wait`` says why, for whoever drives the flow and wants to show it.
    """

    seconds: float
    wait: ModelWait | None = None


Outcome: TypeAlias = "httpx.Response | httpx.RequestError | None"
Flow: TypeAlias = Generator[Send | Sleep, Outcome, T]
Attempt: TypeAlias = Callable[[str, int], Generator[Any, Any, "R | AgentcoreError"]]


def response_or_error(outcome: Outcome) -> httpx.Response | APIError:
    """The successful response, or the typed error for a failed exchange."""
    if isinstance(outcome, httpx.RequestError):
        return connection_error(outcome)
    assert outcome is not None, "a Send must be answered with a response or a transport error"
    if outcome.is_success:
        return outcome
    return status_error(outcome)


def _falls_back(error: AgentcoreError) -> bool:
    """Whether the next model may succeed where this one failed."""
    if isinstance(error, StreamError) and error.cause is not None:
        error = error.cause
    return isinstance(error, NotFoundError | PermissionDeniedError | OverloadedError)


def _retry_reason(error: AgentcoreError) -> str:
    if isinstance(error, APIStatusError):
        return error.error_type or f"http_{error.status_code}"
    if isinstance(error, APITimeoutError):
        return "timeout"
    if isinstance(error, APIConnectionError):
        return "connection_error"
    if isinstance(error, MalformedResponseError):
        return "malformed_response"
    if isinstance(error, StreamError):
        return "stream_failed"
    return type(error).__name__


def with_retries(
    models: tuple[str, ...],
    attempt: Attempt[R],
    policy: RetryPolicy,
    rng: random.Random,
    log: EventLogger,
) -> Generator[Any, Any, R]:
    """Run ``attempt(model, attempt_number)`` until it succeeds, retrying and falling back.

    Each model gets the full retry budget. A model that is not found, not permitted, or still
    overloaded once its retries are spent gives way to the next; any other final error, or
    the last model's, is raised.

    Every failed attempt's error is scrubbed with ``log``'s redactor as soon as it comes back,
    before it is logged or raised: the client's logger knows the credentials it sends, so a
    server or proxy echoing them back never gets them out of the client.
    """
    redactor = log.redactor
    for index, model in enumerate(models):
        retries = 0
        while True:
            result = yield from attempt(model, retries + 1)
            if not isinstance(result, AgentcoreError):
                return result
            redactor.redact_error(result)
            delay = policy.delay_before_retry(retries, result, rng)
            if delay is None:
                break
            retries += 1
            if log.is_enabled_for(logging.WARNING):
                log.warning(
                    "model.retry",
                    model=model or None,
                    attempt=retries,
                    delay_s=delay,
                    reason=_retry_reason(result),
                    status_code=getattr(result, "status_code", None),
                    request_id=getattr(result, "request_id", None),
                )
            yield Sleep(delay, ModelWait(
                "retry", delay, model=model or None, attempt=retries,
                max_attempts=policy.max_retries, detail=_retry_reason(result),
            ))
        if index + 1 == len(models) or not _falls_back(result):
            raise result
        if log.is_enabled_for(logging.WARNING):
            log.warning(
                "model.fallback",
                from_model=model,
                to_model=models[index + 1],
                reason=_retry_reason(result),
                request_id=getattr(result, "request_id", None),
            )
    raise AssertionError("with_retries needs at least one model")


_MAX_WAITS = 100
"""The most waits one request makes for the limiter (holds of 50 ms, then pauses)."""


def admit(
    limiter: RateLimiter,
    model: str,
    content: bytes,
    max_tokens: int,
    prices: PriceTable | None,
    log: EventLogger,
) -> Generator[Sleep, Outcome, Ticket]:
    """Book a request with the client's limiter and wait until it may be sent.

    Each wait is a :class:`Sleep` carrying a ``rate_limit`` :class:`ModelWait`; the first
    wait for each reason is logged as ``model.throttled``. A request held for the model's
    first response asks again after each short wait; a booked one waits once, then waits
    out any 429 pause that began meanwhile. Should the flow be closed while a booking
    waits, the booking is settled as it stands.
    """
    logged = ""
    admission = limiter.reserve(model, content, max_tokens, prices)
    # Holds end by the limiter's clock; the bound keeps a clock that never moves from
    # holding the flow forever.
    for _ in range(_MAX_WAITS):
        if admission.ticket is not None:
            break
        logged = yield from _wait(log, model, admission.wait_s, admission.limit, logged)
        admission = limiter.reserve(model, content, max_tokens, prices)
    else:
        admission = limiter.reserve(model, content, max_tokens, prices, hold=False)
    ticket = admission.ticket
    assert ticket is not None
    wait, limit = admission.wait_s, admission.limit
    try:
        for _ in range(_MAX_WAITS):
            if wait <= 0:
                break
            logged = yield from _wait(log, model, wait, limit, logged)
            wait, limit = limiter.pause_left(model), "retry-after"
    except BaseException:
        limiter.settle(ticket)
        raise
    limiter.sent(ticket)
    return ticket


def _wait(
    log: EventLogger, model: str, seconds: float, limit: str, logged: str
) -> Generator[Sleep, Outcome, str]:
    if limit != logged and log.is_enabled_for(logging.INFO):
        log.info("model.throttled", model=model, wait_s=round(seconds, 3), limit=limit)
    yield Sleep(seconds, ModelWait("rate_limit", seconds, model=model, detail=limit))
    return limit


def send_booked(
    limiter: RateLimiter, ticket: Ticket, send: Send
) -> Generator[Send, Outcome, Outcome]:
    """Yield ``send``; a flow closed or failing meanwhile settles the booking as it stands."""
    try:
        return (yield send)
    except BaseException:
        limiter.settle(ticket)
        raise


def settle_outcome(
    limiter: RateLimiter, ticket: Ticket, outcome: Outcome, message: object = None
) -> None:
    """Settle a booking with an exchange's result: a response's headers and status, and the
    usage of the message read from it."""
    if not isinstance(outcome, httpx.Response):
        limiter.settle(ticket)
        return
    headers = parse_rate_limit_headers(outcome.headers)
    if outcome.is_success:
        usage = message.usage if isinstance(message, Message) else None
        limiter.settle(ticket, headers=headers, usage=usage)
        return
    status = outcome.status_code
    retry_after = parse_retry_after(outcome.headers) if status == 429 else None
    limiter.settle(ticket, headers=headers, status_code=status, retry_after_s=retry_after)


def log_model_call(
    log: EventLogger,
    message: Message,
    *,
    started: float,
    attempt: int,
    prices: PriceTable | None,
) -> None:
    """Emit the ``model.call`` event for a message that arrived: the one event per response.

    ``log`` carries the fields the caller asked for (see :meth:`Calls.log_for`).
    ``started`` is the ``time.perf_counter()`` reading taken when the request was sent.
    ``cost_usd`` is the exact cost as a decimal string (computed with ``prices``, or the
    default table; half price when ``usage.service_tier`` says the batch tier billed it), or
    None when the model has no price.
    """
    if not log.is_enabled_for(logging.INFO):
        return
    latency_ms = round((time.perf_counter() - started) * 1000.0, 3)
    usage = message.usage
    cost = cost_of(usage, message.model, prices, batch=usage.service_tier == "batch")
    log.info(
        "model.call",
        model=message.model,
        latency_ms=latency_ms,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_creation_input_tokens=usage.cache_creation_input_tokens or 0,
        cache_read_input_tokens=usage.cache_read_input_tokens or 0,
        cost_usd=None if cost is None else str(cost),
        stop_reason=message.stop_reason,
        request_id=message.request_id,
        attempt=attempt,
    )


class Calls:
    """Builds the flow of every API call; one per client, shared by its resources."""

    __slots__ = ("fallback_models", "limiter", "log", "policy", "rng", "settings")

    def __init__(
        self,
        settings: Settings,
        policy: RetryPolicy,
        rng: random.Random,
        fallback_models: tuple[str, ...],
        log: EventLogger,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.settings = settings
        self.limiter = limiter
        """Paces the Messages requests of every call; None sends them at once."""
        self.policy = policy
        self.rng = rng
        self.fallback_models = fallback_models
        self.log = log.with_secret_values(settings.credentials)
        """The client's logger; its redactor also replaces the credentials the client sends."""

    def log_for(self, options: Mapping[str, Any]) -> EventLogger:
        """The logger of one call: the client's, with the call's own ``log_fields`` on every
        event, and hiding any credential the call's own ``extra_headers`` send (its events and
        errors hide those too)."""
        log = self.log
        extra_headers = options.get("extra_headers")
        if extra_headers:
            log = log.with_secret_values(credentials_sent(extra_headers))
        fields = options.get("log_fields")
        return log.bind(**fields) if fields else log

    def policy_for(self, options: Mapping[str, Any]) -> RetryPolicy:
        """The client's policy, or a copy with the call's own ``max_retries``."""
        max_retries = options.get("max_retries")
        if max_retries is None or max_retries == self.policy.max_retries:
            return self.policy
        return replace(self.policy, max_retries=max_retries)

    def models_for(self, model: str, options: Mapping[str, Any]) -> tuple[str, ...]:
        """``model`` then the fallbacks (the call's, else the client's), without repeats."""
        fallbacks = options.get("fallback_models")
        fallbacks = self.fallback_models if fallbacks is None else tuple(fallbacks)
        if not fallbacks:
            return (model,)
        return tuple(dict.fromkeys((model, *fallbacks)))

    def create(self, params: MessageCreateParams) -> Flow[Message]:
        """POST /v1/messages, returning the :class:`Message`."""
        body, options = split_params(params)
        settings, log, limiter = self.settings, self.log_for(options), self.limiter
        prices = options.get("prices")

        def attempt(
            model: str, number: int
        ) -> Generator[Send | Sleep, Outcome, Message | APIError]:
            body["model"] = model
            content = encode_body(body)
            check_request_size(content)
            request = settings.build_request(
                "POST", "/v1/messages", content=content,
                options=options_for_body(settings, options, content, body),
            )
            if limiter is None:
                started = time.perf_counter()
                response = response_or_error((yield Send(request)))
                if isinstance(response, APIError):
                    return response
                message = read_message(response)
                if isinstance(message, Message):
                    log_model_call(log, message, started=started, attempt=number, prices=prices)
                return message
            ticket = yield from admit(
                limiter, model, content, max_tokens_of(body), prices, log
            )
            started = time.perf_counter()
            outcome = yield from send_booked(limiter, ticket, Send(request))
            response = response_or_error(outcome)
            if isinstance(response, APIError):
                settle_outcome(limiter, ticket, outcome)
                return response
            message = read_message(response)
            settle_outcome(limiter, ticket, outcome, message)
            if isinstance(message, Message):
                log_model_call(log, message, started=started, attempt=number, prices=prices)
            return message

        models = self.models_for(params["model"], options)
        return with_retries(models, attempt, self.policy_for(options), self.rng, log)

    def count_tokens(self, params: CountTokensParams) -> Flow[int]:
        """POST /v1/messages/count_tokens, returning ``input_tokens``."""
        body, options = split_params(params, counting=True)
        body["model"] = params["model"]
        content = encode_body(body)
        check_request_size(content)
        options = options_for_body(self.settings, options, content, body)
        return self._simple("POST", "/v1/messages/count_tokens", read_token_count, content, options)

    def retrieve_model(self, model_id: str) -> Flow[ModelInfo]:
        """GET /v1/models/{model_id}."""
        path = "/v1/models/" + quote(model_id, safe="")
        return self._simple("GET", path, read_model)

    def list_models(self, *, page_size: int = 100) -> Flow[list[ModelInfo]]:
        """GET /v1/models, following ``has_more`` through every page."""
        models: list[ModelInfo] = []
        after: str | None = None
        while True:
            query = {"limit": str(page_size)}
            if after is not None:
                query["after_id"] = after
            page, after = yield from self._simple("GET", "/v1/models", read_model_page, query=query)
            models.extend(page)
            if after is None:
                return models

    def _simple(
        self,
        method: str,
        path: str,
        read: Callable[[httpx.Response], T | APIError],
        content: bytes | None = None,
        options: Mapping[str, Any] | None = None,
        query: Mapping[str, str] | None = None,
    ) -> Flow[T]:
        settings = self.settings

        def attempt(model: str, number: int) -> Generator[Send, Outcome, T | APIError]:
            request = settings.build_request(
                method, path, content=content, options=options, params=query
            )
            response = response_or_error((yield Send(request)))
            return response if isinstance(response, APIError) else read(response)

        call_options = options or {}
        policy, log = self.policy_for(call_options), self.log_for(call_options)
        return with_retries(("",), attempt, policy, self.rng, log)
