"""Token usage, prices and what a run costs, to the cent.

Prices are US dollars per million tokens. The cost of one response is::

    input·p_in + cache_write_5m·p_in·1.25 + cache_write_1h·p_in·2 + cache_read·p_in·0.1
    + output·p_out                                           (all × 0.5 for batch requests)

plus the server tools' requests at :data:`SERVER_TOOL_USD_PER_REQUEST` (web search $10 per
thousand; web fetch adds tokens only), computed with :class:`~decimal.Decimal`, so figures
are exact rather than float-rounded. Code execution is billed by container time, which no
response reports, so it is not in a response's cost. A model
missing from the :class:`PriceTable` costs ``None`` ("unknown"), never a guess: a future model
that merely shares a prefix with a known one is *not* priced like it. Dated snapshots
(``claude-sonnet-4-5-20250929``) and ``-latest`` aliases resolve to their base model.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any, TypeVar

from agentcore.errors import ConfigurationError, MalformedResponseError
from agentcore.types import MAX_TOKEN_COUNT, Usage

__all__ = [
    "BATCH_MULTIPLIER",
    "CACHE_READ_MULTIPLIER",
    "CACHE_WRITE_1H_MULTIPLIER",
    "CACHE_WRITE_5M_MULTIPLIER",
    "DEFAULT_PRICES",
    "SERVER_TOOL_USD_PER_REQUEST",
    "Limits",
    "ModelPrice",
    "PriceTable",
    "UsageTotals",
    "context_window",
    "cost_of",
    "max_output_tokens",
    "to_usd",
]

CACHE_WRITE_5M_MULTIPLIER = Decimal("1.25")
"""Writing the prompt cache with the default five-minute lifetime, relative to input."""
CACHE_WRITE_1H_MULTIPLIER = Decimal("2")
"""Writing the prompt cache with a one-hour lifetime, relative to input."""
CACHE_READ_MULTIPLIER = Decimal("0.1")
"""Reading the prompt cache, relative to input."""
BATCH_MULTIPLIER = Decimal("0.5")
"""Message Batches API requests, on every token price."""
WEB_SEARCH_USD_PER_REQUEST = Decimal("0.01")
"""The server-side web search tool: $10 per thousand searches."""
WEB_FETCH_USD_PER_REQUEST = Decimal("0")
"""The server-side web fetch tool: no charge beyond the tokens of what it fetched."""
SERVER_TOOL_USD_PER_REQUEST: Mapping[str, Decimal] = MappingProxyType(
    {
        "web_search_requests": WEB_SEARCH_USD_PER_REQUEST,
        "web_fetch_requests": WEB_FETCH_USD_PER_REQUEST,
    }
)
"""Price per request of each count in ``usage.server_tool_use``, on top of tokens (never
halved for batches). A count not listed here is reported in
:attr:`UsageTotals.server_tool_requests` but not priced."""

_PER_MILLION = Decimal(1_000_000)
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """List prices of one model in USD per million tokens."""

    input_per_mtok: Decimal
    output_per_mtok: Decimal

    @classmethod
    def of(
        cls, input_per_mtok: float | str | Decimal, output_per_mtok: float | str | Decimal
    ) -> ModelPrice:
        """Build a price from numbers as written (``ModelPrice.of(3, 15)``)."""
        return cls(to_usd(input_per_mtok), to_usd(output_per_mtok))


def to_usd(value: float | int | str | Decimal) -> Decimal:
    """Convert a dollar amount to Decimal through its decimal text (``0.1`` stays ``0.1``)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ConfigurationError(f"a dollar amount must be a number, not {value!r}")
    try:
        amount = Decimal(str(value))
    except ArithmeticError as exc:
        raise ConfigurationError(f"{value!r} is not a dollar amount") from exc
    if not amount.is_finite() or amount < 0:
        raise ConfigurationError(f"a dollar amount must be finite and >= 0, not {value!r}")
    return amount


DEFAULT_PRICES: Mapping[str, ModelPrice] = MappingProxyType(
    {
        "claude-opus-4-7": ModelPrice.of(5, 25),
        "claude-opus-4-5": ModelPrice.of(5, 25),
        "claude-opus-4-1": ModelPrice.of(15, 75),
        "claude-opus-4": ModelPrice.of(15, 75),
        "claude-sonnet-4-6": ModelPrice.of(3, 15),
        "claude-sonnet-4-5": ModelPrice.of(3, 15),
        "claude-sonnet-4": ModelPrice.of(3, 15),
        "claude-haiku-4-5": ModelPrice.of(1, 5),
        "claude-3-7-sonnet": ModelPrice.of(3, 15),
        "claude-3-5-sonnet": ModelPrice.of(3, 15),
        "claude-3-5-haiku": ModelPrice.of("0.8", 4),
        "claude-3-opus": ModelPrice.of(15, 75),
        "claude-3-haiku": ModelPrice.of("0.25", "1.25"),
    }
)
"""List prices of the Claude models this version knows (USD per million tokens)."""

_MAX_OUTPUT_TOKENS: Mapping[str, int] = MappingProxyType(
    {
        "claude-opus-4-7": 128_000,
        "claude-opus-4-5": 64_000,
        "claude-opus-4-1": 32_000,
        "claude-opus-4": 32_000,
        "claude-sonnet-4-6": 128_000,
        "claude-sonnet-4-5": 64_000,
        "claude-sonnet-4": 64_000,
        "claude-haiku-4-5": 64_000,
        "claude-3-7-sonnet": 64_000,
        "claude-3-5-sonnet": 8_192,
        "claude-3-5-haiku": 8_192,
        "claude-3-opus": 4_096,
        "claude-3-haiku": 4_096,
    }
)

_CONTEXT_WINDOWS: Mapping[str, int] = MappingProxyType(
    {
        "claude-opus-4-7": 1_000_000,
        "claude-opus-4-5": 200_000,
        "claude-opus-4-1": 200_000,
        "claude-opus-4": 200_000,
        "claude-sonnet-4-6": 1_000_000,
        "claude-sonnet-4-5": 200_000,
        "claude-sonnet-4": 200_000,
        "claude-haiku-4-5": 200_000,
        "claude-3-7-sonnet": 200_000,
        "claude-3-5-sonnet": 200_000,
        "claude-3-5-haiku": 200_000,
        "claude-3-opus": 200_000,
        "claude-3-haiku": 200_000,
    }
)

# A snapshot date (``-20250929``, Vertex's ``@20250929``) or a ``-latest`` alias after a base id.
_SNAPSHOT_SUFFIX = re.compile(r"(?:[-@]\d{8}|-latest)\Z")


def _by_model(table: Mapping[str, _T], model: str) -> _T | None:
    """``table``'s entry for ``model``, or for the base model of a dated snapshot or alias."""
    found = table.get(model)
    if found is None:
        found = table.get(_SNAPSHOT_SUFFIX.sub("", model))
    return found


def max_output_tokens(model: str) -> int | None:
    """The most output tokens ``model`` can produce in one response, when known."""
    return _by_model(_MAX_OUTPUT_TOKENS, model)


def context_window(model: str) -> int | None:
    """The most tokens ``model`` reads and writes in one request (prompt plus output), when
    known; ``ModelSettings(context=ContextSettings(window=...))`` overrides it per agent."""
    return _by_model(_CONTEXT_WINDOWS, model)


class PriceTable(Mapping[str, ModelPrice]):
    """Model id → :class:`ModelPrice`, the defaults overlaid with the caller's prices.

    Args:
        prices: Extra or replacement prices; values may be :class:`ModelPrice` or a pair
            ``(input_per_mtok, output_per_mtok)``.
        include_defaults: Start from :data:`DEFAULT_PRICES` (the default) or from nothing.

    Lookup accepts dated snapshot ids and ``-latest`` aliases of a listed model.
    """

    __slots__ = ("_cache", "_prices")

    def __init__(
        self,
        prices: Mapping[str, ModelPrice | tuple[float | str | Decimal, float | str | Decimal]]
        | None = None,
        *,
        include_defaults: bool = True,
    ) -> None:
        table: dict[str, ModelPrice] = dict(DEFAULT_PRICES) if include_defaults else {}
        for model, price in (prices or {}).items():
            if isinstance(price, ModelPrice):
                table[model] = price
            elif isinstance(price, tuple) and len(price) == 2:
                table[model] = ModelPrice.of(*price)
            else:
                raise ConfigurationError(
                    f"price of {model!r} must be a ModelPrice or (input, output) per million "
                    f"tokens, not {price!r}"
                )
        self._prices = table
        self._cache: dict[str, ModelPrice | None] = {}

    def __getitem__(self, model: str) -> ModelPrice:
        price = self.lookup(model)
        if price is None:
            raise KeyError(model)
        return price

    def __iter__(self) -> Iterator[str]:
        return iter(self._prices)

    def __len__(self) -> int:
        return len(self._prices)

    def lookup(self, model: str) -> ModelPrice | None:
        """The price of ``model`` (or of the base model of a dated snapshot), else None."""
        try:
            return self._cache[model]
        except KeyError:
            pass
        price = self._cache[model] = _by_model(self._prices, model)
        return price


def _count(value: object, name: str) -> int:
    """``value`` when it is a token count; a malformed usage otherwise."""
    if type(value) is int and 0 <= value <= MAX_TOKEN_COUNT:
        return value
    raise MalformedResponseError(
        f"usage.{name} is {value!r}: a token count must be a whole number from 0 to "
        f"{MAX_TOKEN_COUNT}"
    )


def _counts(usage: Usage) -> tuple[int, int, int, int]:
    """Input, output, cache-write and cache-read tokens of ``usage``, each checked.

    A :class:`Usage` parsed from the API is already checked; this guards one built without
    validation (``model_construct``, assignment) before it is priced or summed.
    """
    return (
        _count(usage.input_tokens, "input_tokens"),
        _count(usage.output_tokens, "output_tokens"),
        _count(usage.cache_creation_input_tokens or 0, "cache_creation_input_tokens"),
        _count(usage.cache_read_input_tokens or 0, "cache_read_input_tokens"),
    )


def _cache_write_split(usage: Usage) -> tuple[int, int]:
    """Tokens written to the cache with the 5-minute and the 1-hour lifetime."""
    total = usage.cache_creation_input_tokens or 0
    breakdown = usage.cache_creation
    if breakdown is None:
        return total, 0
    one_hour = _count(breakdown.ephemeral_1h_input_tokens, "ephemeral_1h_input_tokens")
    five_minutes = _count(breakdown.ephemeral_5m_input_tokens, "ephemeral_5m_input_tokens")
    # The split is authoritative for 1-hour writes; anything the total holds beyond the
    # split was written with the default lifetime.
    return max(five_minutes, total - one_hour), one_hour


def _server_tool_counts(usage: Usage) -> Iterator[tuple[str, int]]:
    """The request counts of ``usage.server_tool_use`` that are whole numbers in range."""
    for name, count in (usage.server_tool_use or {}).items():
        if type(count) is int and 0 <= count <= MAX_TOKEN_COUNT:
            yield name, count


_NO_COST = Decimal(0)


def _server_tools_cost(usage: Usage) -> Decimal:
    if not usage.server_tool_use:
        return _NO_COST  # most responses: no server tool ran (Decimals are immutable)
    cost = Decimal(0)
    for name, count in _server_tool_counts(usage):
        price = SERVER_TOOL_USD_PER_REQUEST.get(name)
        if price is not None:
            cost += count * price
    return cost


def cost_of(
    usage: Usage, model: str, prices: PriceTable | None = None, *, batch: bool = False
) -> Decimal | None:
    """The exact cost in USD of one response, or None when ``model`` has no known price.

    Raises:
        MalformedResponseError: a count of ``usage`` is negative, absurd or not an integer.
    """
    input_tokens, output_tokens, _, cache_read = _counts(usage)
    price = _by_model(DEFAULT_PRICES, model) if prices is None else prices.lookup(model)
    if price is None:
        return None
    write_5m, write_1h = _cache_write_split(usage)
    p_in = price.input_per_mtok
    tokens_cost = (
        input_tokens * p_in
        + write_5m * p_in * CACHE_WRITE_5M_MULTIPLIER
        + write_1h * p_in * CACHE_WRITE_1H_MULTIPLIER
        + cache_read * p_in * CACHE_READ_MULTIPLIER
        + output_tokens * price.output_per_mtok
    ) / _PER_MILLION
    if batch:
        tokens_cost *= BATCH_MULTIPLIER
    return tokens_cost + _server_tools_cost(usage)


@dataclass(slots=True)
class UsageTotals:
    """Token counts summed over the responses of a run."""

    input_tokens: int = 0
    """Uncached input tokens."""
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    """Input tokens written to the prompt cache."""
    cache_read_input_tokens: int = 0
    """Input tokens read from the prompt cache."""
    server_tool_requests: dict[str, int] = field(default_factory=dict)
    """Server tool requests by kind, as ``usage.server_tool_use`` names them
    (``web_search_requests``, ``web_fetch_requests``…)."""

    @property
    def total_tokens(self) -> int:
        """Every token processed: input (cached or not) plus output."""
        return (
            self.input_tokens
            + self.output_tokens
            + self.cache_creation_input_tokens
            + self.cache_read_input_tokens
        )

    def add(self, usage: Usage) -> None:
        """Add one response's usage.

        Raises:
            MalformedResponseError: a count is negative, absurd or not an integer (nothing
                is added then).
        """
        input_tokens, output_tokens, cache_write, cache_read = _counts(usage)
        self.input_tokens += input_tokens
        self.output_tokens += output_tokens
        self.cache_creation_input_tokens += cache_write
        self.cache_read_input_tokens += cache_read
        if not usage.server_tool_use:
            return
        requests = self.server_tool_requests
        for name, count in _server_tool_counts(usage):
            if count:
                requests[name] = requests.get(name, 0) + count

    def to_dict(self) -> dict[str, Any]:
        """The four token counts as a JSON-ready dict, with ``server_tool_use`` (the server
        tool requests by kind) when there were any."""
        counts: dict[str, Any] = {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_creation_input_tokens": self.cache_creation_input_tokens,
            "cache_read_input_tokens": self.cache_read_input_tokens,
        }
        if self.server_tool_requests:
            counts["server_tool_use"] = dict(self.server_tool_requests)
        return counts

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> UsageTotals:
        """Rebuild totals from :meth:`to_dict`; of ``server_tool_use`` only the whole,
        non-negative counts under text names are kept (anything else in its place is
        ignored)."""
        requests = data.get("server_tool_use")
        return cls(
            input_tokens=int(data.get("input_tokens", 0)),
            output_tokens=int(data.get("output_tokens", 0)),
            cache_creation_input_tokens=int(data.get("cache_creation_input_tokens", 0)),
            cache_read_input_tokens=int(data.get("cache_read_input_tokens", 0)),
            server_tool_requests={
                name: count
                for name, count in (requests.items() if isinstance(requests, Mapping) else ())
                if isinstance(name, str) and type(count) is int and count >= 0
            },
        )


@dataclass(frozen=True, slots=True)
class Limits:
    """Budgets of one run: ``Agent(limits=Limits(max_cost_usd="0.50"))``.

    The budgets are checked before every model call (see :meth:`reached`); a run that
    reaches one ends as ``limit_reached``. Bad values raise ConfigurationError here.
    """

    max_turns: int | None = 50
    """Model calls per run; None: no limit."""
    max_total_tokens: int | None = None
    """Input (cached or not) plus output tokens over the run."""
    max_cost_usd: Decimal | float | str | None = None
    """Dollars per run (kept as a Decimal); a model with no known price stops such a run,
    since its cost cannot be checked."""
    max_tool_retries: int = 3
    """Consecutive turns with invalid tool calls the model may correct before the run fails."""
    max_pause_continuations: int | None = 10
    """Consecutive ``pause_turn`` replies (a long server-tool turn paused) the run continues
    by calling the model again; one more paused reply in a row ends the run. None: only the
    other budgets bound them."""

    def __post_init__(self) -> None:
        for name in ("max_turns", "max_total_tokens"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                raise ConfigurationError(f"{name} must be a positive integer, not {value!r}")
        for name in ("max_tool_retries", "max_pause_continuations"):
            value = getattr(self, name)
            if value is None and name == "max_pause_continuations":
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigurationError(f"{name} must be 0 or more, not {value!r}")
        if self.max_cost_usd is not None and not isinstance(self.max_cost_usd, Decimal):
            object.__setattr__(self, "max_cost_usd", to_usd(self.max_cost_usd))

    def reached(
        self,
        turns: int,
        usage: UsageTotals,
        cost_usd: Decimal,
        unpriced_models: Sequence[str] = (),
        *,
        paused_replies: int = 0,
    ) -> tuple[str, str] | None:
        """The limit a run with these totals has reached, as (name, explanation), or None.

        ``paused_replies`` counts the ``pause_turn`` replies in a row that the next call
        would continue. A cost limit cannot be checked once a model without a known price
        answered, so it counts as reached then: a budget is never silently ignored.
        """
        if self.max_turns is not None and turns >= self.max_turns:
            return "max_turns", f"max_turns={self.max_turns} reached after {turns} model calls"
        pauses = self.max_pause_continuations
        if pauses is not None and paused_replies > pauses:
            return "max_pause_continuations", (
                f"max_pause_continuations={pauses} reached: the model paused its turn "
                f"(pause_turn) {paused_replies} times in a row without finishing it; resume "
                "with a larger max_pause_continuations to let it go on"
            )
        if self.max_total_tokens is not None and usage.total_tokens >= self.max_total_tokens:
            return "max_total_tokens", (
                f"max_total_tokens={self.max_total_tokens} reached: the run used "
                f"{usage.total_tokens} tokens"
            )
        if self.max_cost_usd is None:
            return None
        budget = to_usd(self.max_cost_usd)
        if unpriced_models:
            return "max_cost_usd", (
                f"max_cost_usd={self.max_cost_usd} cannot be enforced: no price is known for "
                f"{', '.join(unpriced_models)} (pass ModelSettings(prices=...) to the Agent)"
            )
        if cost_usd >= budget:
            return "max_cost_usd", (
                f"max_cost_usd={self.max_cost_usd} reached: the run cost ${cost_usd:.6f}"
            )
        return None
