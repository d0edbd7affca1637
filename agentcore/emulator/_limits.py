"""An account's rate limits, per model, enforced the way the Messages API documents them.

Each limit is a token bucket whose capacity is the per-minute limit and which refills
continuously at ``limit / 60`` per second (it is never reset at minute boundaries):

- requests: one per admitted ``POST /v1/messages``;
- input tokens: uncached input plus cache writes; cache reads do not count;
- output tokens: ``max_tokens`` (at most the bucket's capacity) is reserved when the request is
  admitted and corrected to the reply's ``output_tokens`` when it is answered, so an unused
  reservation flows back and a longer reply takes the difference.

A request is admitted only if every configured bucket holds its share; otherwise it is answered
429 ``rate_limit_error`` with ``retry-after`` (whole seconds until the buckets would hold it, at
most a year) and nothing is taken; a request wanting more than a whole limit also gets
``x-should-retry: false``, since no wait lets it through. Every answer to a limited model
carries the buckets' state in the ``anthropic-ratelimit-*`` headers.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from agentcore.emulator._validation import RequestRejected

__all__ = ["DEFAULT_HEADERS_LIMITS", "AccountLimits", "Admission", "RateLimitSpecError",
           "RateLimitUsage", "RateLimits"]

DEFAULT_HEADERS_LIMITS = {"requests": 4000, "tokens": 2_000_000, "input-tokens": 2_000_000,
                          "output-tokens": 400_000}
"""The generous limits announced for a model without configured limits (never enforced)."""

_UNITS = {"rpm": "requests_per_minute", "itpm": "input_tokens_per_minute",
          "otpm": "output_tokens_per_minute"}
_SPEC_PART = re.compile(r"^([0-9]{1,15})([a-z]+)$")
_MAX_LIMIT = 10**15
_SLACK = 1e-9
"""A bucket holding ``amount`` less this fraction of its capacity holds it: what continuous
refill computed in floating point falls short by when a request arrives exactly on time."""
_MAX_WAIT_SECONDS = 365 * 86400.0
"""The longest wait announced (``retry-after``, ``*-reset``), however deep a bucket's debt."""


class RateLimitSpecError(ValueError):
    """Limits that cannot be used: a command-line spec that cannot be understood, or limits
    for a model the emulator does not serve."""


@dataclass(frozen=True, slots=True)
class RateLimits:
    """One model's limits per minute; None leaves that dimension unlimited.

    Each limit is a whole number from 1 to 10**15 - 1.

    Args:
        requests_per_minute: Admitted requests per minute (RPM).
        input_tokens_per_minute: Uncached input plus cache-write tokens per minute (ITPM).
        output_tokens_per_minute: Output tokens per minute (OTPM).
    """

    requests_per_minute: int | None = None
    input_tokens_per_minute: int | None = None
    output_tokens_per_minute: int | None = None

    def __post_init__(self) -> None:
        for name in _UNITS.values():
            value = getattr(self, name)
            if value is None:
                continue
            if (isinstance(value, bool) or not isinstance(value, int) or value < 1
                    or value >= _MAX_LIMIT):
                shown = repr(value) if len(repr(value)) <= 40 else f"{repr(value)[:40]}…"
                raise ValueError(f"{name} must be a positive whole number below 10**15 or "
                                 f"None, not {shown}")

    @classmethod
    def parse(cls, spec: str) -> tuple[str, RateLimits]:
        """Parse ``MODEL=50rpm,30000itpm,8000otpm`` (any non-empty subset, any order).

        Raises:
            RateLimitSpecError: The spec is malformed; the message says what is wrong.
        """
        model, sep, rest = spec.strip().partition("=")
        model = model.strip()
        if not sep or not model or not rest.strip():
            raise RateLimitSpecError(
                f"limits {spec!r}: expected MODEL=LIMIT[,LIMIT…], e.g. "
                "claude-sonnet-4-6=50rpm,30000itpm,8000otpm")
        values: dict[str, int] = {}
        for part in rest.split(","):
            text = part.strip().lower()
            match = _SPEC_PART.match(text) if text.isascii() else None
            if match is None or match.group(2) not in _UNITS:
                raise RateLimitSpecError(
                    f"limits {spec!r}: {part.strip()[:40]!r} is not a limit; use a whole "
                    "number (at most 15 digits) followed by rpm, itpm or otpm, e.g. 50rpm")
            number, unit = int(match.group(1)), match.group(2)
            if number < 1:
                raise RateLimitSpecError(f"limits {spec!r}: {part.strip()!r} must be at least 1")
            if _UNITS[unit] in values:
                raise RateLimitSpecError(f"limits {spec!r}: {unit} is given twice")
            values[_UNITS[unit]] = number
        return model, cls(**values)


@dataclass(frozen=True, slots=True)
class RateLimitUsage:
    """The emulator's own accounting for one model, at the moment it was read.

    ``input_tokens`` and ``output_tokens`` are what admitted requests were charged once
    answered (in-flight reservations are in the ``*_remaining`` figures, not here).
    ``*_remaining`` are the buckets' exact levels (None where that dimension is unlimited);
    they may be negative after replies longer than their reservation.
    """

    model: str
    admitted: int
    limited: int
    input_tokens: int
    output_tokens: int
    requests_remaining: float | None
    input_tokens_remaining: float | None
    output_tokens_remaining: float | None


@dataclass(slots=True)
class _Bucket:
    capacity: float
    level: float
    updated: float

    @property
    def rate(self) -> float:
        return self.capacity / 60.0

    def refill(self, now: float) -> None:
        if now > self.updated:
            self.level = min(self.capacity, self.level + (now - self.updated) * self.rate)
        self.updated = max(self.updated, now)

    def holds(self, amount: float) -> bool:
        """Whether ``amount`` can be taken now (after :meth:`refill`)."""
        return self.level + self.capacity * _SLACK >= amount

    def wait_for(self, amount: float) -> float:
        """Seconds until the bucket holds ``amount`` (after :meth:`refill`), at most a year."""
        return min(_MAX_WAIT_SECONDS, max(0.0, (amount - self.level) / self.rate))

    def full_in(self) -> float:
        return self.wait_for(self.capacity)


@dataclass(slots=True)
class _ModelAccount:
    model: str
    requests: _Bucket | None
    input: _Bucket | None
    output: _Bucket | None
    admitted: int = 0
    limited: int = 0
    input_tokens: int = 0
    output_tokens: int = 0

    def buckets(self) -> tuple[tuple[str, _Bucket | None], ...]:
        return (("requests", self.requests), ("input-tokens", self.input),
                ("output-tokens", self.output))


@dataclass(frozen=True, slots=True)
class Admission:
    """What an admitted request took, to be corrected by :meth:`AccountLimits.settle`."""

    model: str
    input_tokens: int
    output_tokens: int


def _bucket(limit: int | None, now: float) -> _Bucket | None:
    return None if limit is None else _Bucket(float(limit), float(limit), now)


def _rfc3339(moment: datetime) -> str:
    if moment.microsecond:
        moment = moment.replace(microsecond=0) + timedelta(seconds=1)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(slots=True)
class AccountLimits:
    """The buckets of every limited model, with counters tests can read.

    Args:
        limits: Model id to its limits; other models are not limited.
        clock: Monotonic seconds (inject to test refill).
        now: The wall-clock time, for the ``*-reset`` headers.
    """

    limits: Mapping[str, RateLimits]
    clock: Callable[[], float]
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    _accounts: dict[str, _ModelAccount] = field(init=False, default_factory=dict)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)
    _generous: tuple[datetime, dict[str, str]] | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        started = self.clock()
        for model, limits in self.limits.items():
            self._accounts[model] = _ModelAccount(
                model,
                _bucket(limits.requests_per_minute, started),
                _bucket(limits.input_tokens_per_minute, started),
                _bucket(limits.output_tokens_per_minute, started),
            )

    def limits_model(self, model: str) -> bool:
        """Whether requests for ``model`` are limited."""
        return model in self._accounts

    def admit(self, model: str, *, input_tokens: int, max_tokens: int) -> Admission:
        """Take one request, its input tokens and its output reservation from the buckets.

        Raises:
            RequestRejected: 429 ``rate_limit_error`` with ``retry-after`` and the
                rate-limit headers when a bucket cannot hold its share; nothing is taken.
        """
        with self._lock:
            account = self._accounts[model]
            now = self.clock()
            output_reserved = max_tokens
            if account.output is not None:
                output_reserved = min(max_tokens, int(account.output.capacity))
            wanted = {"requests": 1, "input-tokens": input_tokens,
                      "output-tokens": output_reserved}
            short: list[tuple[str, float]] = []
            for kind, bucket in account.buckets():
                if bucket is None:
                    continue
                bucket.refill(now)
                if not bucket.holds(wanted[kind]):
                    short.append((kind, bucket.wait_for(min(wanted[kind], bucket.capacity))))
            if short:
                account.limited += 1
                raise self._rejection(account, wanted, short)
            for kind, bucket in account.buckets():
                if bucket is not None:
                    bucket.level -= wanted[kind]
            account.admitted += 1
            return Admission(model, input_tokens, output_reserved)

    def settle(self, admission: Admission, *, input_tokens: int, output_tokens: int) -> None:
        """Correct an admitted request's charges to the usage it reported."""
        with self._lock:
            account = self._accounts[admission.model]
            now = self.clock()
            if account.input is not None:
                account.input.refill(now)
                account.input.level -= input_tokens - admission.input_tokens
            if account.output is not None:
                account.output.refill(now)
                account.output.level -= output_tokens - admission.output_tokens
            account.input_tokens += input_tokens
            account.output_tokens += output_tokens

    def headers(self, model: str | None) -> dict[str, str]:
        """The ``anthropic-ratelimit-*`` headers for an answer about ``model``.

        ``tokens-*`` repeat whichever of the input and output buckets is nearer to empty
        (relative to its limit), as the API reports its most restrictive token limit.
        Unlimited dimensions, and models without limits, announce generous fixed limits.
        """
        now = self.now()
        account = self._accounts.get(model) if model is not None else None
        if account is None:
            second = now.replace(microsecond=0)
            cached = self._generous
            if cached is None or cached[0] != second:
                cached = self._generous = (second, _default_headers(now))
            return dict(cached[1])
        headers: dict[str, str] = {}
        with self._lock:
            moment = self.clock()
            tightest: tuple[float, str] | None = None
            for kind, bucket in account.buckets():
                if bucket is None:
                    _default_kind(headers, kind, now)
                    continue
                bucket.refill(moment)
                _bucket_headers(headers, kind, bucket, now)
                if kind != "requests":
                    share = bucket.level / bucket.capacity
                    if tightest is None or share < tightest[0]:
                        tightest = (share, kind)
            if tightest is None:
                _default_kind(headers, "tokens", now)
            else:
                for part in ("limit", "remaining", "reset"):
                    headers[f"anthropic-ratelimit-tokens-{part}"] = (
                        headers[f"anthropic-ratelimit-{tightest[1]}-{part}"])
        return headers

    def usage(self, model: str) -> RateLimitUsage:
        """The accounting for ``model`` now (buckets refilled to this moment).

        Raises:
            KeyError: ``model`` has no limits configured.
        """
        with self._lock:
            account = self._accounts[model]
            now = self.clock()
            levels: list[float | None] = []
            for _, bucket in account.buckets():
                if bucket is None:
                    levels.append(None)
                else:
                    bucket.refill(now)
                    levels.append(bucket.level)
            return RateLimitUsage(model, account.admitted, account.limited,
                                  account.input_tokens, account.output_tokens,
                                  levels[0], levels[1], levels[2])

    def _rejection(self, account: _ModelAccount, wanted: Mapping[str, int],
                   short: list[tuple[str, float]]) -> RequestRejected:
        wait = max(seconds for _, seconds in short)
        names = {"requests": "requests", "input-tokens": "input tokens",
                 "output-tokens": "output tokens"}
        parts = []
        never = False
        for kind, _ in short:
            bucket = dict(account.buckets())[kind]
            assert bucket is not None
            over = ""
            if wanted[kind] > bucket.capacity:
                over, never = " (more than the whole limit)", True
            parts.append(f"{int(bucket.capacity)} {names[kind]} per minute{over}")
        advice = ("make the request smaller: waiting cannot help" if never else
                  "retry after the retry-after seconds")
        message = (f"This request would exceed the rate limit for {account.model}: "
                   f"{', '.join(parts)}. The anthropic-ratelimit-* response headers show "
                   f"the current usage; {advice}.")
        headers = {"retry-after": str(max(1, math.ceil(wait))),
                   "x-should-retry": "false" if never else "true"}
        return RequestRejected(429, "rate_limit_error", message, headers)


def _bucket_headers(headers: dict[str, str], kind: str, bucket: _Bucket, now: datetime) -> None:
    headers[f"anthropic-ratelimit-{kind}-limit"] = str(int(bucket.capacity))
    headers[f"anthropic-ratelimit-{kind}-remaining"] = str(max(0, math.floor(bucket.level)))
    headers[f"anthropic-ratelimit-{kind}-reset"] = _rfc3339(
        now + timedelta(seconds=bucket.full_in()))


def _default_kind(headers: dict[str, str], kind: str, now: datetime,
                  reset: str | None = None) -> None:
    limit = DEFAULT_HEADERS_LIMITS[kind]
    headers[f"anthropic-ratelimit-{kind}-limit"] = str(limit)
    headers[f"anthropic-ratelimit-{kind}-remaining"] = str(limit - 1)
    headers[f"anthropic-ratelimit-{kind}-reset"] = reset or _rfc3339(now + timedelta(seconds=60))


def _default_headers(now: datetime) -> dict[str, str]:
    headers: dict[str, str] = {}
    reset = _rfc3339(now + timedelta(seconds=60))
    for kind in DEFAULT_HEADERS_LIMITS:
        _default_kind(headers, kind, now, reset)
    return headers
