"""What a client's limiter knows about the account's limits: configuration and headers.

:class:`RateLimit` is what the caller configures (``Client(rate_limit=RateLimit(...))``);
:func:`parse_rate_limit_headers` reads what every Messages API response announces in its
``anthropic-ratelimit-*`` headers. Both are plain data; the arithmetic lives in
:mod:`agentcore.client._limiter`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Literal

from agentcore.errors import ConfigurationError
from agentcore.usage import ModelPrice, PriceTable, to_usd

__all__ = [
    "BucketHeaders",
    "LimitName",
    "RateLimit",
    "RateLimitHeaders",
    "parse_rate_limit_headers",
]

LimitName = Literal["requests", "input_tokens", "output_tokens"]
"""The per-model limits the API announces (each per minute)."""

_MAX_PER_MINUTE = 10**12
"""No account has limits anywhere near this; a header claiming more is garbage."""
_DIGITS = re.compile(r"[0-9]{1,13}")


def _per_minute(value: int | None, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigurationError(f"{name} must be a whole number, not {value!r}")
    if not 0 < value <= _MAX_PER_MINUTE:
        raise ConfigurationError(f"{name} must be between 1 and {_MAX_PER_MINUTE}, not {value}")
    return value


def _budget(value: float | int | str | Decimal | None, name: str) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = to_usd(value)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{name}: {exc}") from None
    if amount <= 0:
        raise ConfigurationError(f"{name} must be more than 0 dollars, not {value!r}")
    return amount


@dataclass(frozen=True, slots=True)
class RateLimit:
    """The limits a client paces its requests by, when known before the first response.

    The per-minute limits apply to each model separately, as the API's do; ``models`` gives
    some models their own (only the per-minute fields of those entries are read). Any limit
    left at None is learned from the ``anthropic-ratelimit-*`` headers of the responses;
    where both are known, the lower one holds (so a process can keep to its share of an
    account). The spend budgets are client-wide, over every model, priced with ``prices``
    (the default price table when None, and a call's own ``prices`` when it gives them).

    ``Client(rate_limit=True)`` is ``RateLimit()``: learn everything from the headers.
    The limits pace Messages requests (``messages.create`` and ``messages.stream``); token
    counting and batches have limits of their own and are not held.

    Raises:
        ConfigurationError: a limit that is not a positive whole number, a budget that is
            not a positive dollar amount, or spend budgets given inside ``models``.
    """

    requests_per_minute: int | None = None
    """Requests the client sends per minute to one model."""
    input_tokens_per_minute: int | None = None
    """Input tokens per minute to one model, cache reads excluded (as the API counts)."""
    output_tokens_per_minute: int | None = None
    """Output tokens per minute from one model; a request goes when ``max_tokens`` fits and
    counts the output its response reports."""
    spend_usd_per_minute: Decimal | float | int | str | None = None
    """Dollars per minute over all models; converted to Decimal."""
    spend_usd_per_hour: Decimal | float | int | str | None = None
    """Dollars per hour over all models; converted to Decimal."""
    models: Mapping[str, RateLimit] = field(default_factory=dict)
    """Per-model limits that replace the ones above for that model."""
    prices: PriceTable | Mapping[str, ModelPrice | tuple[float | str, float | str]] | None = None
    """Prices for the spend budgets; None for the default table."""

    def __post_init__(self) -> None:
        _per_minute(self.requests_per_minute, "requests_per_minute")
        _per_minute(self.input_tokens_per_minute, "input_tokens_per_minute")
        _per_minute(self.output_tokens_per_minute, "output_tokens_per_minute")
        minute = _budget(self.spend_usd_per_minute, "spend_usd_per_minute")
        hour = _budget(self.spend_usd_per_hour, "spend_usd_per_hour")
        object.__setattr__(self, "spend_usd_per_minute", minute)
        object.__setattr__(self, "spend_usd_per_hour", hour)
        for model, limits in self.models.items():
            if not isinstance(limits, RateLimit):
                raise ConfigurationError(
                    f"models[{model!r}] must be a RateLimit, not {type(limits).__name__}"
                )
            if limits.spend_usd_per_minute is not None or limits.spend_usd_per_hour is not None:
                raise ConfigurationError(
                    f"models[{model!r}]: a spend budget is client-wide; give it on the outer "
                    "RateLimit"
                )
        object.__setattr__(self, "models", MappingProxyType(dict(self.models)))
        if self.prices is not None and not isinstance(self.prices, PriceTable):
            object.__setattr__(self, "prices", PriceTable(self.prices))

    def per_minute(self, model: str) -> dict[LimitName, int | None]:
        """The configured per-minute limits of ``model`` (None where not configured)."""
        own = self.models.get(model, self)
        return {
            "requests": own.requests_per_minute,
            "input_tokens": own.input_tokens_per_minute,
            "output_tokens": own.output_tokens_per_minute,
        }


@dataclass(frozen=True, slots=True)
class BucketHeaders:
    """One limit as a response announced it; a field is None when absent or unreadable."""

    limit: int | None = None
    """The most the bucket holds: the per-minute limit."""
    remaining: int | None = None
    """What was left when the server answered (never above ``limit``)."""
    reset: datetime | None = None
    """When the bucket will be full again (an aware datetime)."""


@dataclass(frozen=True, slots=True)
class RateLimitHeaders:
    """The ``anthropic-ratelimit-{requests,input-tokens,output-tokens}-*`` of a response."""

    requests: BucketHeaders = BucketHeaders()
    input_tokens: BucketHeaders = BucketHeaders()
    output_tokens: BucketHeaders = BucketHeaders()

    def bucket(self, name: LimitName) -> BucketHeaders:
        """The announcement for one limit."""
        bucket: BucketHeaders = getattr(self, name)
        return bucket

    @property
    def is_empty(self) -> bool:
        """Whether the response announced nothing readable."""
        return self == _NOTHING


_NOTHING = RateLimitHeaders()
_HEADER_PREFIX = {
    "requests": "anthropic-ratelimit-requests-",
    "input_tokens": "anthropic-ratelimit-input-tokens-",
    "output_tokens": "anthropic-ratelimit-output-tokens-",
}


def _count(value: str | None) -> int | None:
    """A count written as ASCII digits only (no sign, no spaces, no exponent), or None."""
    if value is None or not _DIGITS.fullmatch(value):
        return None
    count = int(value)
    return count if count <= _MAX_PER_MINUTE else None


def _reset_time(value: str | None) -> datetime | None:
    """An RFC 3339 time with an offset, or None."""
    if value is None or len(value) > 40 or not value.isascii():
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _bucket_headers(headers: Mapping[str, str], prefix: str) -> BucketHeaders:
    limit = _count(headers.get(prefix + "limit"))
    remaining = _count(headers.get(prefix + "remaining"))
    if limit == 0:
        limit = None
    if remaining is not None and limit is not None and remaining > limit:
        remaining = None
    return BucketHeaders(limit, remaining, _reset_time(headers.get(prefix + "reset")))


def parse_rate_limit_headers(headers: Mapping[str, str]) -> RateLimitHeaders:
    """Read a response's per-model limits; anything absent or malformed counts as unknown.

    A count must be plain ASCII digits no larger than 10**12; a limit of 0 and a remaining
    count above its limit are dropped as inconsistent; a reset time must be RFC 3339 with an
    offset. Nothing here raises: headers come from the network and may be anything.
    """
    if not any(key.startswith("anthropic-ratelimit-") for key in headers):
        return _NOTHING
    return RateLimitHeaders(
        requests=_bucket_headers(headers, _HEADER_PREFIX["requests"]),
        input_tokens=_bucket_headers(headers, _HEADER_PREFIX["input_tokens"]),
        output_tokens=_bucket_headers(headers, _HEADER_PREFIX["output_tokens"]),
    )
