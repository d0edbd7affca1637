"""Usage accounting and prices: exact costs, never a guessed price."""

from decimal import Decimal

import pytest

from agentcore.errors import ConfigurationError
from agentcore.types import CacheCreation, Usage
from agentcore.usage import (
    DEFAULT_PRICES,
    ModelPrice,
    PriceTable,
    UsageTotals,
    cost_of,
    max_output_tokens,
    to_usd,
)


class TestCostOf:
    def test_input_and_output_at_list_price(self) -> None:
        usage = Usage(input_tokens=1000, output_tokens=500)
        assert cost_of(usage, "claude-sonnet-4-6") == Decimal("0.0105")

    @pytest.mark.parametrize(
        ("model", "expected"),
        [
            ("claude-opus-4-7", Decimal("30")),
            ("claude-sonnet-4-6", Decimal("18")),
            ("claude-haiku-4-5", Decimal("6")),
            ("claude-opus-4-1", Decimal("90")),
            ("claude-opus-4", Decimal("90")),
            ("claude-sonnet-4-5", Decimal("18")),
            ("claude-sonnet-4", Decimal("18")),
            ("claude-3-5-haiku", Decimal("4.8")),
        ],
    )
    def test_a_million_tokens_each_way_costs_the_sum_of_both_prices(
        self, model: str, expected: Decimal
    ) -> None:
        usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000)
        assert cost_of(usage, model) == expected

    def test_cache_writes_default_to_five_minutes_and_reads_cost_a_tenth(self) -> None:
        usage = Usage(
            input_tokens=100,
            output_tokens=300,
            cache_creation_input_tokens=2000,
            cache_read_input_tokens=10_000,
        )
        # 100·5 + 2000·5·1.25 + 10000·5·0.1 + 300·25 = 25500 per million
        assert cost_of(usage, "claude-opus-4-7") == Decimal("0.0255")

    def test_one_hour_cache_writes_cost_double_the_input_price(self) -> None:
        usage = Usage(
            input_tokens=0,
            output_tokens=0,
            cache_creation_input_tokens=3000,
            cache_creation=CacheCreation(
                ephemeral_5m_input_tokens=1000, ephemeral_1h_input_tokens=2000
            ),
        )
        # 1000·1·1.25 + 2000·1·2 = 5250 per million
        assert cost_of(usage, "claude-haiku-4-5") == Decimal("0.00525")

    def test_batch_halves_every_price(self) -> None:
        usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000)
        assert cost_of(usage, "claude-sonnet-4-6", batch=True) == Decimal("9")

    def test_web_searches_cost_ten_dollars_per_thousand(self) -> None:
        usage = Usage(input_tokens=0, output_tokens=0, server_tool_use={"web_search_requests": 3})
        assert cost_of(usage, "claude-sonnet-4-6") == Decimal("0.03")

    @pytest.mark.parametrize(
        ("model", "base"),
        [
            ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
            ("claude-opus-4-20250514", "claude-opus-4"),
            ("claude-opus-4-1-20250805", "claude-opus-4-1"),
            ("claude-3-5-haiku-latest", "claude-3-5-haiku"),
            ("claude-haiku-4-5@20251001", "claude-haiku-4-5"),
        ],
    )
    def test_dated_snapshots_and_aliases_cost_like_their_base_model(
        self, model: str, base: str
    ) -> None:
        usage = Usage(input_tokens=12_345, output_tokens=678)
        assert cost_of(usage, model) == cost_of(usage, base)
        assert cost_of(usage, model) is not None

    @pytest.mark.parametrize(
        "model",
        ["claude-opus-4-8", "claude-sonnet-4-6-experimental", "claude-opus-4-", "gpt-4o", ""],
    )
    def test_unknown_models_cost_none_rather_than_a_neighbours_price(self, model: str) -> None:
        assert cost_of(Usage(input_tokens=10, output_tokens=10), model) is None


class TestPriceTable:
    def test_caller_prices_add_models_and_replace_defaults(self) -> None:
        table = PriceTable({"my-model": (2, 10), "claude-sonnet-4-6": ModelPrice.of(1, 1)})
        usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000)
        assert cost_of(usage, "my-model", table) == Decimal("12")
        assert cost_of(usage, "claude-sonnet-4-6", table) == Decimal("2")
        assert cost_of(usage, "claude-haiku-4-5", table) == Decimal("6")

    def test_without_defaults_only_the_given_models_are_priced(self) -> None:
        table = PriceTable({"my-model": ("0.5", "1.5")}, include_defaults=False)
        assert list(table) == ["my-model"]
        assert table.lookup("claude-sonnet-4-6") is None
        assert table["my-model"] == ModelPrice(Decimal("0.5"), Decimal("1.5"))

    def test_a_price_that_is_not_a_pair_is_a_configuration_error(self) -> None:
        with pytest.raises(ConfigurationError, match=r"'m'.*ModelPrice or \(input, output\)"):
            PriceTable({"m": 3})  # type: ignore[dict-item]

    def test_defaults_cannot_be_changed_in_place(self) -> None:
        with pytest.raises(TypeError):
            DEFAULT_PRICES["claude-sonnet-4-6"] = ModelPrice.of(0, 0)  # type: ignore[index]


class TestToUsd:
    def test_floats_keep_their_decimal_text(self) -> None:
        assert to_usd(0.1) == Decimal("0.1")
        assert to_usd("2.50") == Decimal("2.50")
        assert to_usd(3) == Decimal(3)

    @pytest.mark.parametrize("value", [-1, float("nan"), float("inf"), "abc", True, None])
    def test_negative_infinite_or_non_numeric_amounts_are_refused(self, value: object) -> None:
        with pytest.raises(ConfigurationError):
            to_usd(value)  # type: ignore[arg-type]


class TestUsageTotals:
    def test_adds_every_counter_and_totals_all_tokens(self) -> None:
        totals = UsageTotals()
        totals.add(Usage(input_tokens=10, output_tokens=5, cache_read_input_tokens=100))
        totals.add(Usage(input_tokens=1, output_tokens=2, cache_creation_input_tokens=50))
        assert totals == UsageTotals(
            input_tokens=11,
            output_tokens=7,
            cache_creation_input_tokens=50,
            cache_read_input_tokens=100,
        )
        assert totals.total_tokens == 168

    def test_round_trips_through_a_dict(self) -> None:
        totals = UsageTotals(1, 2, 3, 4)
        assert UsageTotals.from_dict(totals.to_dict()) == totals


def test_max_output_tokens_is_known_for_listed_models_and_their_snapshots() -> None:
    assert max_output_tokens("claude-sonnet-4-6") == 128_000
    assert max_output_tokens("claude-haiku-4-5-20251001") == 64_000
    assert max_output_tokens("claude-future-9") is None
