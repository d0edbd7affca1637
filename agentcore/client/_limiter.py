"""A client's rate limiter: token buckets that pace requests before they are sent.

One :class:`RateLimiter` belongs to a client and is shared by every call made through it,
from any thread or task. Each model has three buckets (requests, input tokens and output
tokens per minute) and the client has up to two spend buckets (dollars per minute, per
hour). A bucket holds at most its limit and refills continuously at limit per window, as
the API's own limits do.

A request *reserves* before it is sent: the limiter finds the earliest moment at which
every bucket can pay for it, books the cost in all of them at that moment, and returns how
long to wait. Booking is immediate and final, in arrival order (the arithmetic is GCRA's:
each bucket keeps the time at which it would be full again), so a request that came later
queues behind one that came earlier and no caller starves, however many share the client.
The costs booked are estimates, settled when the response arrives:

- input tokens: about four bytes of the JSON body per token, less the prefix that an
  earlier response of the same model showed to be in the prompt cache (cache reads do not
  count toward the API's input limit), then the ``usage`` the response reports;
- output tokens: the model's running average of output (``max_tokens`` until a response
  has said), then the output the response reports; a request is only sent once the bucket
  holds its whole ``max_tokens``, which the API sets aside while the request runs;
- spend: the estimated input at the input price plus the expected output at the output
  price, sent only once the bucket holds the worst case (``max_tokens`` of output), then the
  response's exact cost.

Before the first response about a model arrives, one request is sent and the others wait for
it (two seconds at most): nothing but a response can say how much of the account is left.

The ``anthropic-ratelimit-*`` headers of every response teach the per-minute limits and
resynchronise the buckets with the server's own count (another process may share the
account). A 429 that still comes holds every request to that model until its
``retry-after`` has passed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from agentcore.client._bucket import TokenBucket
from agentcore.client._cached_prefixes import CachedPrefixes, breakpoint_prefixes
from agentcore.client._rate_limit import LimitName, RateLimit, RateLimitHeaders
from agentcore.errors import SpendBudgetError
from agentcore.types import Usage
from agentcore.usage import (
    CACHE_WRITE_1H_MULTIPLIER,
    CACHE_WRITE_5M_MULTIPLIER,
    PriceTable,
    cost_of,
)

__all__ = ["Admission", "LimitState", "RateLimiter", "Ticket"]

BYTES_PER_TOKEN = 4
"""How the limiter estimates a request's input tokens from its JSON body."""
MIN_WAIT_SECONDS = 0.001
"""Shorter waits are not worth a sleep."""
FIRST_RESPONSE_HOLD_SECONDS = 2.0
"""The longest the first request to a model holds the others back while it is answered."""
_HOLD_POLL_SECONDS = 0.05

_LIMIT_TITLES: dict[str, str] = {
    "requests": "requests per minute",
    "input_tokens": "input tokens per minute",
    "output_tokens": "output tokens per minute",
    "spend_minute": "spend per minute",
    "spend_hour": "spend per hour",
    "retry_after": "retry-after",
    "first_response": "first response",
}
_LIMIT_NAMES: tuple[LimitName, ...] = ("requests", "input_tokens", "output_tokens")
_PER_MILLION = Decimal(1_000_000)
_OUTPUT_AVERAGE_WEIGHT = 0.2
"""How much the latest response moves a model's running average of output tokens."""
_MAX_PAUSE_SECONDS = 60.0


class _ModelBuckets:
    __slots__ = (
        "buckets",
        "cached_prefixes",
        "configured",
        "output_estimate",
        "paused_until",
        "probe",
        "probe_sent_at",
        "synced",
    )

    def __init__(self, configured: Mapping[LimitName, int | None], now: float) -> None:
        self.configured = configured
        self.buckets: dict[LimitName, TokenBucket] = {
            name: TokenBucket(60.0, configured[name], now) for name in _LIMIT_NAMES
        }
        self.paused_until = 0.0
        self.synced = False
        """Whether a response about this model has arrived (its headers were read)."""
        self.probe: Ticket | None = None
        """The request sent before any response arrived, which the others wait for."""
        self.probe_sent_at = 0.0
        self.output_estimate: float | None = None
        """Running average of the output tokens of this model's responses."""
        self.cached_prefixes = CachedPrefixes()


@dataclass(frozen=True, slots=True)
class LimitState:
    """A limiter's view of one limit at one moment (see :meth:`RateLimiter.state`)."""

    limit: float | None
    """Per window (minute or hour); None while unknown."""
    available: float | None
    """What a request could take now; negative while requests queue; None while unknown."""


class Ticket:
    """One request's booking: what it reserved, to be settled with what it used."""

    __slots__ = (
        "body_bytes",
        "costs",
        "estimated_input_tokens",
        "max_tokens",
        "model",
        "prefixes",
        "prices",
        "sent",
        "settled",
        "shifts",
        "spend",
        "spend_ceiling",
        "start",
    )

    def __init__(
        self,
        model: str,
        costs: dict[LimitName, float],
        spend: float,
        start: float,
        prefixes: list[tuple[bytes, int]],
        prices: PriceTable | None,
        body_bytes: int = 0,
        max_tokens: int = 0,
        spend_ceiling: float = 0.0,
        shifts: dict[str, float] | None = None,
    ) -> None:
        self.model = model
        self.shifts = shifts or {}
        """How far the booking moved each bucket's full-again instant (seconds)."""
        self.spend_ceiling = spend_ceiling
        """The most the response can be believed to have cost (dollars)."""
        self.body_bytes = body_bytes
        self.max_tokens = max_tokens
        self.costs = costs
        self.spend = spend
        self.start = start
        """When it may be sent (limiter clock)."""
        self.prefixes = prefixes
        self.prices = prices
        self.estimated_input_tokens = int(costs["input_tokens"])
        self.sent = False
        self.settled = False


@dataclass(frozen=True, slots=True)
class Admission:
    """What :meth:`RateLimiter.reserve` decided: the booking, and how long to wait.

    Without a ticket nothing was booked: ask again after ``wait_s`` (the first response
    about the model has not arrived yet).
    """

    ticket: Ticket | None
    wait_s: float
    limit: str
    """What holds the request back (``"input tokens per minute"``…), or ``""``."""


class RateLimiter:
    """Paces one client's requests; shared by every call through it, thread-safe.

    Args:
        config: Limits known in advance; the rest are learned from response headers.
        clock: Seconds from a monotonic clock (tests: a fake one).

    Build one yourself to inject a clock, or to share it between a :class:`Client` and an
    :class:`AsyncClient` using the same account (``Client(rate_limit=limiter)``).
    """

    def __init__(
        self, config: RateLimit | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.config = config if config is not None else RateLimit()
        self._clock = clock
        self._lock = threading.Lock()
        self._models: dict[str, _ModelBuckets] = {}
        self._spend: dict[str, TokenBucket] = {}
        minute, hour = self.config.spend_usd_per_minute, self.config.spend_usd_per_hour
        if isinstance(minute, Decimal):
            self._spend["spend_minute"] = TokenBucket(60.0, float(minute), clock())
        if isinstance(hour, Decimal):
            self._spend["spend_hour"] = TokenBucket(3600.0, float(hour), clock())
        self._prices = self.config.prices if isinstance(self.config.prices, PriceTable) else None

    def _model(self, model: str) -> _ModelBuckets:
        buckets = self._models.get(model)
        if buckets is None:
            buckets = _ModelBuckets(self.config.per_minute(model), self._clock())
            self._models[model] = buckets
        return buckets

    def state(self, model: str) -> dict[str, LimitState]:
        """The limiter's current view of ``model``'s limits and the client's spend budgets.

        Keyed ``"requests"``, ``"input_tokens"`` and ``"output_tokens"``, plus
        ``"spend_minute"`` and ``"spend_hour"`` (dollars) for the budgets configured.
        """
        with self._lock:
            now = self._clock()
            buckets = self._model(model)
            views = dict(buckets.buckets) | self._spend
            return {
                name: LimitState(
                    None if bucket.capacity is None else bucket.capacity,
                    None if bucket.capacity is None else bucket.level(now),
                )
                for name, bucket in views.items()
            }

    def reserve(
        self,
        model: str,
        body: bytes,
        max_tokens: int,
        prices: PriceTable | None = None,
        *,
        hold: bool = True,
    ) -> Admission:
        """Book one request to ``model`` and say how long it must wait before it is sent.

        Until a response about ``model`` arrives, one request goes and the others are held
        (an admission without a ticket, for at most :data:`FIRST_RESPONSE_HOLD_SECONDS`): its
        headers tell how much of the account's budget is left, which neither a fresh limiter
        nor its configuration can know. ``hold=False`` books at once instead.

        Raises:
            SpendBudgetError: the request alone may cost more than a spend budget holds,
                or the model has no price to keep a spend budget with.
        """
        prefixes = breakpoint_prefixes(body)
        with self._lock:
            now = self._clock()
            buckets = self._model(model)
            probing = False
            if not buckets.synced:
                probe = buckets.probe
                if probe is None:
                    probing = True
                else:
                    held_for = now - buckets.probe_sent_at
                    if hold and held_for < FIRST_RESPONSE_HOLD_SECONDS:
                        wait = min(_HOLD_POLL_SECONDS, FIRST_RESPONSE_HOLD_SECONDS - held_for)
                        return Admission(None, wait, _LIMIT_TITLES["first_response"])
            cached = buckets.cached_prefixes.cached_length(prefixes, now)
            input_tokens = -(-(len(body) - cached) // BYTES_PER_TOKEN)
            max_tokens = max(max_tokens, 0)
            output = buckets.output_estimate
            expected_output = max_tokens if output is None else min(max_tokens, output)
            costs: dict[LimitName, float] = {
                "requests": 1.0,
                "input_tokens": float(input_tokens),
                "output_tokens": expected_output,
            }
            for name, bucket in buckets.buckets.items():
                # One request takes at most a full bucket (a minute of the limit): a limit
                # announced below a single request's size must not hold the next for hours.
                if bucket.capacity is not None and costs[name] > bucket.capacity:
                    costs[name] = bucket.capacity
            table = prices if prices is not None else self._prices
            spend, worst_spend, spend_ceiling = self._spend_estimate(
                model, input_tokens, max_tokens, expected_output, table,
                caching=bool(prefixes), body_bytes=len(body),
            )
            start = max(now, buckets.paused_until)
            binding = "retry_after" if start > now else ""
            for name, bucket in buckets.buckets.items():
                # The API holds max_tokens of output while a request runs: send only when the
                # bucket has that much, though only the expected output is booked.
                needed = max_tokens if name == "output_tokens" else costs[name]
                earliest = bucket.earliest(needed, now)
                if earliest > start:
                    start, binding = earliest, name
            for spend_name, bucket in self._spend.items():
                earliest = bucket.earliest(worst_spend, now)
                if earliest > start:
                    start, binding = earliest, spend_name
            shifts: dict[str, float] = {}
            for name, bucket in buckets.buckets.items():
                before = bucket.full_at
                bucket.book(costs[name], start)
                shifts[name] = bucket.full_at - before
            for spend_name, bucket in self._spend.items():
                before = bucket.full_at
                bucket.book(spend, start)
                shifts[spend_name] = bucket.full_at - before
            ticket = Ticket(
                model, costs, spend, start, prefixes, table, len(body), max_tokens,
                spend_ceiling, shifts,
            )
            if probing:
                buckets.probe, buckets.probe_sent_at = ticket, start
        wait = start - now
        if wait < MIN_WAIT_SECONDS:
            return Admission(ticket, 0.0, "")
        return Admission(ticket, wait, _LIMIT_TITLES.get(binding, binding))

    def _spend_estimate(
        self,
        model: str,
        input_tokens: int,
        max_tokens: int,
        expected_output: float,
        prices: PriceTable | None,
        *,
        caching: bool,
        body_bytes: int,
    ) -> tuple[float, float, float]:
        """What the request is expected to cost, and the most it may cost: its input
        (written to the cache if it has breakpoints) and the expected or ``max_tokens``
        output; then the most its response can be believed to have cost: every byte of the
        body an input token at the one-hour cache-write price, and ``max_tokens`` of
        output."""
        if not self._spend:
            return 0.0, 0.0, 0.0
        table = prices if prices is not None else PriceTable()
        price = table.lookup(model)
        if price is None:
            raise SpendBudgetError(
                f"model {model!r} has no price, so the client's spend budget cannot be kept "
                "for it; give its price in RateLimit(prices=...)"
            )
        input_price = price.input_per_mtok
        if caching:
            input_price *= CACHE_WRITE_5M_MULTIPLIER
        input_cost = Decimal(input_tokens) * input_price / _PER_MILLION
        output_price = price.output_per_mtok / _PER_MILLION
        worst = input_cost + Decimal(max_tokens) * output_price
        expected = float(input_cost) + expected_output * float(output_price)
        ceiling = (
            Decimal(body_bytes) * price.input_per_mtok * CACHE_WRITE_1H_MULTIPLIER
            / _PER_MILLION
            + Decimal(max_tokens) * output_price
        )
        for name, bucket in self._spend.items():
            if bucket.capacity is not None and float(worst) > bucket.capacity:
                minute = name == "spend_minute"
                window = "minute" if minute else "hour"
                budget = (
                    self.config.spend_usd_per_minute if minute else self.config.spend_usd_per_hour
                )
                raise SpendBudgetError(
                    f"a request to {model} with max_tokens={max_tokens} may cost up to "
                    f"${worst:.4f}, more than the client's spend budget of "
                    f"${budget:f} per {window}; lower max_tokens or raise the budget"
                )
        return expected, float(worst), float(max(ceiling, worst))

    def pause_left(self, model: str) -> float:
        """Seconds until a 429's ``retry-after`` for ``model`` has passed (0 when none)."""
        with self._lock:
            buckets = self._models.get(model)
            if buckets is None:
                return 0.0
            return max(0.0, buckets.paused_until - self._clock())

    def sent(self, ticket: Ticket) -> None:
        """The request is going out now: its bookings are in flight."""
        with self._lock:
            if ticket.sent or ticket.settled:
                return
            ticket.sent = True
            self._move(ticket, queued=-1.0, in_flight=1.0)

    def _move(self, ticket: Ticket, *, queued: float, in_flight: float) -> None:
        buckets = self._models[ticket.model].buckets
        for name in _LIMIT_NAMES:
            cost = ticket.costs[name]
            buckets[name].queued += queued * cost
            buckets[name].in_flight += in_flight * cost
        for bucket in self._spend.values():
            bucket.queued += queued * ticket.spend
            bucket.in_flight += in_flight * ticket.spend

    def settle(
        self,
        ticket: Ticket,
        *,
        headers: RateLimitHeaders | None = None,
        usage: Usage | None = None,
        status_code: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        """Close a booking with what came back; settling twice changes nothing.

        Args:
            ticket: The booking of the request.
            headers: The response's rate-limit headers, when a response came.
            usage: What a successful response used: replaces the estimates.
            status_code: An error response's status. No output was produced, so the output
                tokens and spend booked are given back; after a 429 the input tokens too.
                Without any of these, a request that was sent (the connection failed)
                keeps its estimates, and one never sent (its call was cancelled or closed
                while it waited) gives its whole booking back.
            retry_after_s: A 429's hint: every request to the model waits that long.
        """
        with self._lock:
            if ticket.settled:
                return
            now = self._clock()
            answered = headers is not None or usage is not None or status_code is not None
            if not ticket.sent and not answered:
                self._give_up(ticket, now)
                return
            if not ticket.sent:
                ticket.sent = True
                self._move(ticket, queued=-1.0, in_flight=1.0)
            self._move(ticket, queued=0.0, in_flight=-1.0)
            ticket.settled = True
            model = self._models[ticket.model]
            if model.probe is ticket:
                model.probe = None
            if usage is not None:
                self._correct(model, ticket, usage, now)
            elif status_code is not None:
                model.buckets["output_tokens"].adjust(-ticket.costs["output_tokens"], now)
                if status_code == 429:
                    model.buckets["input_tokens"].adjust(-ticket.costs["input_tokens"], now)
                for bucket in self._spend.values():
                    bucket.adjust(-ticket.spend, now)
            if headers is not None:
                self._learn(model, headers, now)
            elif answered:
                model.synced = True
            if status_code == 429 and retry_after_s is not None and retry_after_s > 0:
                until = now + min(retry_after_s, _MAX_PAUSE_SECONDS)
                model.paused_until = max(model.paused_until, until)

    def _give_up(self, ticket: Ticket, now: float) -> None:
        """Return the whole booking of a request that was never sent (its call was cancelled
        or closed while it waited): the server never saw it."""
        self._move(ticket, queued=-1.0, in_flight=0.0)
        ticket.settled = True
        model = self._models[ticket.model]
        if model.probe is ticket:
            model.probe = None
        # Booked for later, a request also moved each bucket over the time until it was
        # due: undo the whole move, so later requests take the place it held.
        buckets: dict[str, TokenBucket] = dict(self._spend)
        for limit_name, bucket in model.buckets.items():
            buckets[limit_name] = bucket
        for name, shift in ticket.shifts.items():
            buckets[name].full_at -= shift

    def _correct(self, model: _ModelBuckets, ticket: Ticket, usage: Usage, now: float) -> None:
        """Replace the estimates with the usage reported, believed only as far as it can be
        true: no more input tokens than the body has bytes, no more output than
        ``max_tokens`` (a server reporting absurd counts must not stall every caller)."""
        counted_input = usage.input_tokens + (usage.cache_creation_input_tokens or 0)
        if ticket.body_bytes:
            counted_input = min(counted_input, ticket.body_bytes)
        output = usage.output_tokens
        if ticket.max_tokens:
            output = min(output, ticket.max_tokens)
        buckets = model.buckets
        # Like its booking, a response takes at most a full bucket of each limit.
        input_capacity = buckets["input_tokens"].capacity
        if input_capacity is not None:
            counted_input = min(counted_input, int(input_capacity))
        output_capacity = buckets["output_tokens"].capacity
        if output_capacity is not None:
            output = min(output, int(output_capacity))
        buckets["input_tokens"].adjust(counted_input - ticket.costs["input_tokens"], now)
        buckets["output_tokens"].adjust(output - ticket.costs["output_tokens"], now)
        average = model.output_estimate
        model.output_estimate = float(output) if average is None else (
            average + _OUTPUT_AVERAGE_WEIGHT * (output - average)
        )
        if self._spend:
            cost = cost_of(usage, ticket.model, ticket.prices)
            actual = ticket.spend if cost is None else min(float(cost), ticket.spend_ceiling)
            for bucket in self._spend.values():
                taken = actual if bucket.capacity is None else min(actual, bucket.capacity)
                bucket.adjust(taken - ticket.spend, now)
        cached = (usage.cache_read_input_tokens or 0) + (usage.cache_creation_input_tokens or 0)
        if cached and ticket.prefixes:
            model.cached_prefixes.remember(ticket.prefixes, cached, BYTES_PER_TOKEN, now)

    def observe(self, ticket: Ticket, headers: RateLimitHeaders) -> None:
        """Read the headers of a response that is still arriving (a stream), before its
        usage settles the booking; a first response releases the requests it held."""
        with self._lock:
            if not ticket.settled:
                self._learn(self._models[ticket.model], headers, self._clock(), own=ticket)

    def _learn(
        self,
        model: _ModelBuckets,
        headers: RateLimitHeaders,
        now: float,
        own: Ticket | None = None,
    ) -> None:
        """Take the announced limits, and follow the server's count: exactly on the first
        response (nothing here can be newer), downwards only after that."""
        first, model.synced = not model.synced, True
        if headers.is_empty:
            return
        for name in _LIMIT_NAMES:
            announced = headers.bucket(name)
            bucket = model.buckets[name]
            if announced.limit is not None:
                configured = model.configured[name]
                limit = float(
                    announced.limit if configured is None else min(configured, announced.limit)
                )
                if bucket.capacity != limit:
                    bucket.set_capacity(limit, now)
            if announced.remaining is None or bucket.capacity is None:
                continue
            if first:
                # The server counted the request it answered; only the others are unknown.
                unseen = bucket.in_flight - (own.costs[name] if own is not None else 0.0)
                bucket.set_level(announced.remaining - bucket.queued - unseen, now)
            else:
                bucket.resync(announced.remaining, now)


def max_tokens_of(body: Mapping[str, Any]) -> int:
    """The request's ``max_tokens`` when it is a sane count, else 0."""
    value = body.get("max_tokens")
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return 0
