"""Rate-limit configuration and the ``anthropic-ratelimit-*`` headers, checked without a client."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from agentcore import ConfigurationError, RateLimit
from agentcore.client import BucketHeaders, RateLimitHeaders, parse_rate_limit_headers
from agentcore.usage import ModelPrice, PriceTable


class TestRateLimit:
    def test_budgets_become_exact_decimals(self) -> None:
        config = RateLimit(spend_usd_per_minute="0.10", spend_usd_per_hour=2)
        assert config.spend_usd_per_minute == Decimal("0.10")
        assert config.spend_usd_per_hour == Decimal("2")

    def test_a_model_of_its_own_replaces_the_defaults_for_that_model(self) -> None:
        config = RateLimit(
            requests_per_minute=50,
            input_tokens_per_minute=30_000,
            models={"claude-haiku-4-5": RateLimit(requests_per_minute=100)},
        )
        assert config.per_minute("claude-sonnet-4-6") == {
            "requests": 50, "input_tokens": 30_000, "output_tokens": None,
        }
        assert config.per_minute("claude-haiku-4-5") == {
            "requests": 100, "input_tokens": None, "output_tokens": None,
        }

    def test_prices_given_as_pairs_become_a_price_table(self) -> None:
        config = RateLimit(spend_usd_per_minute=1, prices={"my-model": (2, 10)})
        assert isinstance(config.prices, PriceTable)
        assert config.prices.lookup("my-model") == ModelPrice.of(2, 10)

    @pytest.mark.parametrize(
        ("arguments", "message"),
        [
            ({"requests_per_minute": 0}, "requests_per_minute must be between 1 and"),
            ({"input_tokens_per_minute": -5}, "input_tokens_per_minute must be between 1 and"),
            ({"output_tokens_per_minute": 2.5}, "output_tokens_per_minute must be a whole number"),
            ({"requests_per_minute": True}, "requests_per_minute must be a whole number"),
            ({"requests_per_minute": 10**13}, "must be between 1 and 1000000000000"),
            ({"spend_usd_per_minute": 0}, "spend_usd_per_minute must be more than 0 dollars"),
            ({"spend_usd_per_hour": "lots"}, "spend_usd_per_hour: 'lots' is not a dollar amount"),
            ({"spend_usd_per_hour": float("nan")}, "spend_usd_per_hour: a dollar amount must be"),
            ({"spend_usd_per_minute": -1}, "spend_usd_per_minute: a dollar amount must be"),
            ({"models": {"m": RateLimit(spend_usd_per_hour=1)}}, "a spend budget is client-wide"),
            ({"models": {"m": 50}}, r"models\['m'\] must be a RateLimit, not int"),
        ],
    )
    def test_bad_values_are_refused_when_built(
        self, arguments: dict[str, Any], message: str
    ) -> None:
        with pytest.raises(ConfigurationError, match=message):
            RateLimit(**arguments)


FULL = {
    "anthropic-ratelimit-requests-limit": "50",
    "anthropic-ratelimit-requests-remaining": "49",
    "anthropic-ratelimit-requests-reset": "2026-11-30T13:40:01Z",
    "anthropic-ratelimit-input-tokens-limit": "30000",
    "anthropic-ratelimit-input-tokens-remaining": "29000",
    "anthropic-ratelimit-input-tokens-reset": "2026-11-30T13:40:02+00:00",
    "anthropic-ratelimit-output-tokens-limit": "8000",
    "anthropic-ratelimit-output-tokens-remaining": "8000",
    "anthropic-ratelimit-output-tokens-reset": "2026-11-30T13:40:00Z",
}


class TestParseRateLimitHeaders:
    def test_reads_the_three_limits(self) -> None:
        assert parse_rate_limit_headers(FULL) == RateLimitHeaders(
            requests=BucketHeaders(50, 49, datetime(2026, 11, 30, 13, 40, 1, tzinfo=UTC)),
            input_tokens=BucketHeaders(
                30_000, 29_000, datetime(2026, 11, 30, 13, 40, 2, tzinfo=UTC)
            ),
            output_tokens=BucketHeaders(8000, 8000, datetime(2026, 11, 30, 13, 40, tzinfo=UTC)),
        )

    def test_a_response_without_them_announces_nothing(self) -> None:
        headers = parse_rate_limit_headers({"content-type": "application/json"})
        assert headers.is_empty
        assert headers == RateLimitHeaders()

    def test_a_partial_announcement_keeps_what_is_there(self) -> None:
        headers = parse_rate_limit_headers({"anthropic-ratelimit-requests-remaining": "7"})
        assert headers == RateLimitHeaders(requests=BucketHeaders(remaining=7))
        assert not headers.is_empty

    @pytest.mark.parametrize(
        "value",
        ["-5", "+5", " 50", "50 ", "5e1", "50.0", "", "0x32", "٥٠", "50,000", "1" * 14, "NaN"],
    )
    def test_a_count_that_is_not_plain_digits_is_unknown(self, value: str) -> None:
        headers = parse_rate_limit_headers(
            {**FULL, "anthropic-ratelimit-requests-limit": value,
             "anthropic-ratelimit-input-tokens-remaining": value}
        )
        assert headers.requests.limit is None
        assert headers.requests.remaining == 49
        assert headers.input_tokens.remaining is None
        assert headers.input_tokens.limit == 30_000

    def test_a_limit_of_zero_and_more_remaining_than_the_limit_are_dropped(self) -> None:
        headers = parse_rate_limit_headers(
            {**FULL, "anthropic-ratelimit-requests-limit": "0",
             "anthropic-ratelimit-output-tokens-remaining": "9000"}
        )
        assert headers.requests == BucketHeaders(None, 49, headers.requests.reset)
        assert headers.output_tokens == BucketHeaders(8000, None, headers.output_tokens.reset)

    @pytest.mark.parametrize(
        "value",
        ["tomorrow", "2026-11-30T13:40:01", "2026-13-30T13:40:01Z", "9" * 200,
         "2026-11-30T13:40:01Z\u202e", "Mon, 30 Nov 2026 13:40:01 GMT"],
    )
    def test_a_reset_that_is_not_rfc_3339_with_an_offset_is_unknown(self, value: str) -> None:
        headers = parse_rate_limit_headers({**FULL, "anthropic-ratelimit-requests-reset": value})
        assert headers.requests == BucketHeaders(50, 49, None)
