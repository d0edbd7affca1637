"""The retry decision and the server's retry hints, checked without any client."""

from __future__ import annotations

import random

import pytest

from agentcore.client._retry import RetryPolicy, parse_retry_after, parse_should_retry
from agentcore.errors import APIConnectionError, make_status_error


class Fixed(random.Random):
    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def random(self) -> float:
        return self.value


class TestRetryPolicy:
    def test_gives_up_once_the_budget_is_spent(self) -> None:
        policy = RetryPolicy(max_retries=2)
        error = APIConnectionError("reset")
        delays = [policy.delay_before_retry(done, error, Fixed(0.0)) for done in range(3)]
        assert delays == [0.5, 1.0, None]

    def test_gives_up_at_once_on_an_error_that_is_not_retryable(self) -> None:
        error = make_status_error(400, b"")
        assert RetryPolicy().delay_before_retry(0, error, Fixed(0.0)) is None

    def test_follows_a_server_hint_over_backoff(self) -> None:
        error = make_status_error(429, b"", retry_after_seconds=3.0)
        assert RetryPolicy().delay_before_retry(1, error, Fixed(0.9)) == 3.0

    def test_a_zero_hint_means_retry_now(self) -> None:
        error = make_status_error(429, b"", retry_after_seconds=0.0)
        assert RetryPolicy().delay_before_retry(0, error, Fixed(0.5)) == 0.0

    def test_a_hint_in_the_past_falls_back_to_backoff(self) -> None:
        error = make_status_error(429, b"", retry_after_seconds=-4.0)
        assert RetryPolicy().delay_before_retry(0, error, Fixed(0.0)) == 0.5

    def test_the_shape_of_backoff_is_configurable(self) -> None:
        policy = RetryPolicy(max_retries=9, initial_delay_seconds=1.0, max_delay_seconds=3.0,
                             jitter=0.0)
        error = APIConnectionError("reset")
        assert [policy.delay_before_retry(n, error, Fixed(0.7)) for n in range(4)] == [
            1.0, 2.0, 3.0, 3.0
        ]

    def test_a_negative_budget_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="max_retries must be 0 or more, not -1"):
            RetryPolicy(max_retries=-1)


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({}, None),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after-ms": "1500", "retry-after": "30"}, 1.5),
        ({"retry-after-ms": "later", "retry-after": "30"}, 30.0),
        ({"retry-after": "0.25"}, 0.25),
        ({"retry-after": "Wed, 21 Oct 2026 07:28:30 GMT",
          "date": "Wed, 21 Oct 2026 07:28:00 GMT"}, 30.0),
        ({"retry-after": "not a date"}, None),
    ],
)
def test_parse_retry_after(headers: dict[str, str], seconds: float | None) -> None:
    assert parse_retry_after(headers) == seconds


def test_an_http_date_without_a_response_date_is_measured_against_the_local_clock() -> None:
    hint = parse_retry_after({"retry-after": "Thu, 01 Jan 1970 00:00:00 GMT"})
    assert hint is not None and hint < -1_000_000


@pytest.mark.parametrize(
    ("value", "verdict"), [("true", True), ("false", False), ("maybe", None), (None, None)]
)
def test_parse_should_retry(value: str | None, verdict: bool | None) -> None:
    headers = {} if value is None else {"x-should-retry": value}
    assert parse_should_retry(headers) is verdict
