"""The client's rate limiter: bucket arithmetic on an injected clock, then the clients using it.

Every test runs on a fake clock: the limiter's ``clock`` and the client's ``sleep`` move the
same time, so waits are exact and nothing sleeps for real.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import json
import math
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import httpx
import pytest

from agentcore import (
    Agent,
    AsyncClient,
    Client,
    ConfigurationError,
    RateLimit,
    RateLimiter,
    SpendBudgetError,
    StreamError,
)
from agentcore.client import parse_rate_limit_headers
from agentcore.client._bucket import TokenBucket
from agentcore.client._flow import Send, Sleep
from agentcore.client._http import encode_body
from agentcore.log import capture_events
from agentcore.testing import ScriptedModel, error_reply, sse_events, text_reply, tool_reply
from agentcore.tools import tool
from agentcore.types import ModelWait, Usage
from tests._client_harness import ChunkStream

MODEL = "claude-haiku-4-5"
OTHER_MODEL = "claude-sonnet-4-6"
API_KEY = "sk-ant-test-key-0123456789"


class Clock:
    """A monotonic clock that moves only when something sleeps on it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def headers(**values: str) -> Any:
    return parse_rate_limit_headers(
        {f"anthropic-ratelimit-{key.replace('_', '-')}": value for key, value in values.items()}
    )


def limiter(clock: Clock, **limits: Any) -> RateLimiter:
    """A limiter that has heard from both models: their buckets are full."""
    rate_limiter = RateLimiter(RateLimit(**limits), clock=clock)
    for model in (MODEL, OTHER_MODEL):
        per_minute = rate_limiter.config.per_minute(model)
        full = {f"{name}_remaining": str(limit) for name, limit in per_minute.items() if limit}
        first = rate_limiter.reserve(model, b"", 0)
        assert first.ticket is not None and first.wait_s == 0.0
        rate_limiter.settle(first.ticket, headers=headers(**full))
    return rate_limiter


def body_of(tokens: int) -> bytes:
    """A request body the limiter estimates at ``tokens`` input tokens."""
    return b"x" * (4 * tokens)


def waits(limiter: RateLimiter, count: int, *, tokens: int = 1, max_tokens: int = 0,
          model: str = MODEL) -> list[float]:
    return [
        limiter.reserve(model, body_of(tokens), max_tokens).wait_s for _ in range(count)
    ]


def usage(input_tokens: int, output_tokens: int = 0, **cache: int) -> Usage:
    return Usage(input_tokens=input_tokens, output_tokens=output_tokens, **cache)


class TestBuckets:
    def test_a_full_bucket_lets_its_limit_through_then_paces_at_the_limit_rate(self) -> None:
        clock = Clock()
        rate_limiter = limiter(clock, requests_per_minute=60)
        assert waits(rate_limiter, 60) == [0.0] * 60
        assert waits(rate_limiter, 2) == [1.0, 2.0]
        clock.now += 0.5
        assert waits(rate_limiter, 1) == [2.5]

    def test_the_bucket_refills_continuously_not_at_minute_boundaries(self) -> None:
        clock = Clock()
        rate_limiter = limiter(clock, requests_per_minute=60)
        waits(rate_limiter, 60)
        clock.now += 10
        assert waits(rate_limiter, 11) == [0.0] * 10 + [1.0]

    def test_input_tokens_are_estimated_from_the_body_and_corrected_by_usage(self) -> None:
        clock = Clock()
        rate_limiter = limiter(clock, input_tokens_per_minute=600)  # 10 tokens a second
        first = rate_limiter.reserve(MODEL, body_of(100), 0)
        assert first.ticket.estimated_input_tokens == 100
        assert waits(rate_limiter, 5, tokens=100) == [0.0] * 5
        assert waits(rate_limiter, 1, tokens=100) == [10.0]
        rate_limiter.settle(first.ticket, usage=usage(50))  # 50 of the 100 booked come back
        assert waits(rate_limiter, 1, tokens=100) == [15.0]

    def test_output_tokens_are_reserved_from_max_tokens_and_corrected_by_usage(self) -> None:
        clock = Clock()
        rate_limiter = limiter(clock, output_tokens_per_minute=1200)  # 20 tokens a second
        first = rate_limiter.reserve(MODEL, body_of(1), 600)
        assert waits(rate_limiter, 2, max_tokens=600) == [0.0, 30.0]
        rate_limiter.settle(first.ticket, usage=usage(1, output_tokens=100))
        assert waits(rate_limiter, 1, max_tokens=600) == [35.0]

    def test_output_is_booked_as_the_model_has_been_answering_but_max_tokens_must_fit(
        self,
    ) -> None:
        """The API holds max_tokens while a request runs, so that much must be free; what
        stays booked is the output the model's responses have been using."""
        clock = Clock()
        rate_limiter = limiter(clock, output_tokens_per_minute=1200)  # 20 tokens a second
        first = rate_limiter.reserve(MODEL, body_of(1), 600)
        assert first.ticket is not None
        rate_limiter.settle(first.ticket, usage=usage(1, output_tokens=100))
        assert waits(rate_limiter, 7, max_tokens=600) == [0.0] * 6 + [5.0]

    def test_usage_beyond_what_the_request_could_use_is_not_believed(self) -> None:
        """A server reporting absurd counts would otherwise hold every caller for years."""
        clock = Clock()
        rate_limiter = limiter(clock, input_tokens_per_minute=600, output_tokens_per_minute=600)
        admission = rate_limiter.reserve(MODEL, body_of(100), 50)
        assert admission.ticket is not None
        rate_limiter.settle(admission.ticket, usage=usage(10**9, output_tokens=10**9))
        state = rate_limiter.state(MODEL)
        # At most 400 input tokens (one per byte of the body) and max_tokens of output.
        assert (state["input_tokens"].available, state["output_tokens"].available) == (
            pytest.approx(200), pytest.approx(550)
        )

    def test_a_request_larger_than_the_limit_waits_for_a_full_bucket_and_takes_it_all(
        self,
    ) -> None:
        """Not ten minutes of the limit: a request never costs the next more than a minute."""
        clock = Clock()
        rate_limiter = limiter(clock, input_tokens_per_minute=100)
        assert waits(rate_limiter, 2, tokens=1000) == [0.0, 60.0]

    def test_each_model_has_its_own_buckets(self) -> None:
        clock = Clock()
        rate_limiter = limiter(
            clock, requests_per_minute=1, models={OTHER_MODEL: RateLimit(requests_per_minute=2)}
        )
        assert waits(rate_limiter, 2) == [0.0, 60.0]
        assert waits(rate_limiter, 3, model=OTHER_MODEL) == [0.0, 0.0, 30.0]

    def test_a_wait_names_the_limit_that_holds_the_request(self) -> None:
        clock = Clock()
        rate_limiter = limiter(clock, requests_per_minute=60, input_tokens_per_minute=600)
        rate_limiter.reserve(MODEL, body_of(600), 0)
        admission = rate_limiter.reserve(MODEL, body_of(10), 0)
        assert (admission.wait_s, admission.limit) == (1.0, "input tokens per minute")

    def test_bookings_from_many_threads_are_all_counted(self) -> None:
        clock = Clock()
        rate_limiter = limiter(clock, requests_per_minute=10_000)

        def work() -> None:
            for _ in range(100):
                admission = rate_limiter.reserve(MODEL, body_of(1), 0)
                rate_limiter.sent(admission.ticket)
                rate_limiter.settle(admission.ticket, usage=usage(1))

        threads = [threading.Thread(target=work) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert rate_limiter.state(MODEL)["requests"].available == pytest.approx(10_000 - 800)

    def test_threads_booking_at_once_never_share_a_slot(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Another thread runs between finding a slot and booking it (forced here): each
        request still gets a second of its own, never one already given away."""
        clock = Clock()
        rate_limiter = limiter(clock, requests_per_minute=60)
        earliest = TokenBucket.earliest

        def earliest_then_switch(bucket: TokenBucket, cost: float, now: float) -> float:
            moment = earliest(bucket, cost, now)
            time.sleep(0)
            return moment

        monkeypatch.setattr(TokenBucket, "earliest", earliest_then_switch)
        seen: list[float] = []
        together = threading.Barrier(8)

        def work() -> None:
            together.wait()
            seen.extend(waits(rate_limiter, 40))

        threads = [threading.Thread(target=work) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert sorted(seen) == [0.0] * 60 + [float(second) for second in range(1, 261)]

    def test_a_booking_is_settled_once(self) -> None:
        clock = Clock()
        rate_limiter = limiter(clock, input_tokens_per_minute=600)
        admission = rate_limiter.reserve(MODEL, body_of(100), 0)
        rate_limiter.settle(admission.ticket, usage=usage(10))
        rate_limiter.settle(admission.ticket, usage=usage(0))
        assert rate_limiter.state(MODEL)["input_tokens"].available == 590


class TestLearningFromHeaders:
    def test_an_unknown_limit_holds_nothing_back_until_a_response_announces_it(self) -> None:
        clock = Clock()
        rate_limiter = RateLimiter(clock=clock)
        first = rate_limiter.reserve(MODEL, body_of(1), 0)
        assert first.wait_s == 0.0
        assert rate_limiter.state(MODEL)["requests"].limit is None
        rate_limiter.settle(
            first.ticket, headers=headers(requests_limit="60", requests_remaining="0"),
            usage=usage(1),
        )
        assert rate_limiter.state(MODEL)["requests"].limit == 60
        admission = rate_limiter.reserve(MODEL, body_of(1), 0)
        assert (admission.wait_s, admission.limit) == (1.0, "requests per minute")

    def test_a_configured_limit_below_the_announced_one_holds(self) -> None:
        clock = Clock()
        rate_limiter = limiter(clock, requests_per_minute=30)
        admission = rate_limiter.reserve(MODEL, body_of(1), 0)
        rate_limiter.settle(admission.ticket, headers=headers(requests_limit="60"))
        assert rate_limiter.state(MODEL)["requests"].limit == 30

    def test_garbage_headers_change_nothing(self) -> None:
        clock = Clock()
        rate_limiter = limiter(clock, requests_per_minute=60)
        admission = rate_limiter.reserve(MODEL, body_of(1), 0)
        rate_limiter.settle(admission.ticket, headers=headers(
            requests_limit="-1", requests_remaining="lots", input_tokens_limit="1e9",
            output_tokens_remaining="99999999999999999",
        ))
        state = rate_limiter.state(MODEL)
        assert (state["requests"].limit, state["requests"].available) == (60, 59)
        assert state["input_tokens"].limit is None and state["output_tokens"].limit is None

    def test_fewer_remaining_than_the_bookings_explain_means_someone_else_spends(self) -> None:
        clock = Clock()
        rate_limiter = limiter(clock, requests_per_minute=60)
        admission = rate_limiter.reserve(MODEL, body_of(1), 0)
        rate_limiter.sent(admission.ticket)
        rate_limiter.settle(admission.ticket, headers=headers(requests_remaining="20"))
        assert waits(rate_limiter, 21) == [0.0] * 20 + [1.0]

    def test_requests_still_queued_here_are_not_counted_twice(self) -> None:
        clock = Clock()
        rate_limiter = limiter(clock, requests_per_minute=60)
        admissions = [rate_limiter.reserve(MODEL, body_of(1), 0) for _ in range(10)]
        rate_limiter.sent(admissions[0].ticket)
        # The server saw one request: 59 left, and 9 more are booked here but not sent.
        rate_limiter.settle(admissions[0].ticket, headers=headers(requests_remaining="59"))
        assert rate_limiter.state(MODEL)["requests"].available == 50

    def test_more_remaining_than_expected_is_not_followed(self) -> None:
        """A response may be older than the bookings made since: trusting it would overspend."""
        clock = Clock()
        rate_limiter = limiter(clock, requests_per_minute=60)
        admissions = [rate_limiter.reserve(MODEL, body_of(1), 0) for _ in range(60)]
        for admission in admissions:
            rate_limiter.sent(admission.ticket)
        rate_limiter.settle(admissions[0].ticket, headers=headers(requests_remaining="60"))
        assert waits(rate_limiter, 1) == [1.0]


class TestFirstResponse:
    def test_one_request_goes_first_and_its_answer_tells_how_much_is_left(self) -> None:
        clock = Clock()
        rate_limiter = RateLimiter(RateLimit(requests_per_minute=60), clock=clock)
        first = rate_limiter.reserve(MODEL, body_of(1), 0)
        assert first.ticket is not None and first.wait_s == 0.0
        held = rate_limiter.reserve(MODEL, body_of(1), 0)
        assert (held.ticket, held.wait_s, held.limit) == (None, 0.05, "first response")
        rate_limiter.sent(first.ticket)
        rate_limiter.settle(first.ticket, headers=headers(requests_remaining="10"),
                            usage=usage(1))
        assert waits(rate_limiter, 11) == [0.0] * 10 + [1.0]

    def test_the_first_answer_may_also_say_more_is_left_than_assumed(self) -> None:
        clock = Clock()
        rate_limiter = RateLimiter(clock=clock)
        first = rate_limiter.reserve(MODEL, body_of(1), 0)
        assert first.ticket is not None
        rate_limiter.settle(first.ticket, headers=headers(
            input_tokens_limit="1000", input_tokens_remaining="400"), usage=usage(1))
        assert rate_limiter.state(MODEL)["input_tokens"].available == 400

    def test_the_others_are_held_for_two_seconds_at_most(self) -> None:
        clock = Clock()
        rate_limiter = RateLimiter(clock=clock)
        first = rate_limiter.reserve(MODEL, body_of(1), 0)
        assert first.ticket is not None
        clock.now += 1.99
        held = rate_limiter.reserve(MODEL, body_of(1), 0)
        assert held.ticket is None and held.wait_s == pytest.approx(0.01)
        clock.now += 0.01
        assert rate_limiter.reserve(MODEL, body_of(1), 0).ticket is not None

    def test_a_first_request_that_got_no_answer_lets_the_next_one_go_first(self) -> None:
        clock = Clock()
        rate_limiter = RateLimiter(clock=clock)
        first = rate_limiter.reserve(MODEL, body_of(1), 0)
        assert first.ticket is not None
        rate_limiter.settle(first.ticket)  # the connection failed
        assert rate_limiter.reserve(MODEL, body_of(1), 0).ticket is not None
        assert rate_limiter.reserve(MODEL, body_of(1), 0).ticket is None

    def test_a_stream_releases_the_others_when_it_opens(self) -> None:
        clock = Clock()
        rate_limiter = RateLimiter(clock=clock)
        first = rate_limiter.reserve(MODEL, body_of(1), 0)
        assert first.ticket is not None
        rate_limiter.sent(first.ticket)
        rate_limiter.observe(first.ticket, headers(requests_limit="60", requests_remaining="59"))
        assert rate_limiter.reserve(MODEL, body_of(1), 0).ticket is not None
        assert rate_limiter.state(MODEL)["requests"].available == pytest.approx(58)

    def test_the_flow_asks_again_after_each_short_wait_and_logs_it_once(self) -> None:
        clock = Clock()
        rate_limiter = RateLimiter(clock=clock)
        client = Client(API_KEY, transport=ScriptedModel([]), sleep=clock.sleep,
                        rate_limit=rate_limiter)
        params: Any = {"model": MODEL, "max_tokens": 10,
                       "messages": [{"role": "user", "content": "Hi"}]}
        first, second = client._calls.create(dict(params)), client._calls.create(dict(params))
        send = next(first)
        assert isinstance(send, Send)
        with capture_events() as events:
            assert next(second) == Sleep(
                0.05, ModelWait("rate_limit", 0.05, model=MODEL, detail="first response")
            )
            clock.now += 0.05
            assert second.send(None).seconds == 0.05
            with pytest.raises(StopIteration):
                first.send(ok(requests_limit="60", requests_remaining="58"))
            clock.now += 0.05
            assert isinstance(second.send(None), Send)
        assert [(event["event"], event["limit"]) for event in events
                if event["event"] == "model.throttled"] == [("model.throttled", "first response")]


def cached_body(*turns: str) -> bytes:
    """A conversation whose first and latest user turns carry cache breakpoints."""
    mark = {"type": "ephemeral"}
    messages: list[dict[str, Any]] = []
    for index, text in enumerate(turns):
        if index:
            messages.append({"role": "assistant", "content": [{"type": "text", "text": "ok"}]})
        block: dict[str, Any] = {"type": "text", "text": text}
        if index in (0, len(turns) - 1):
            block["cache_control"] = mark
        messages.append({"role": "user", "content": [block]})
    return encode_body({"model": MODEL, "max_tokens": 100, "messages": messages})


class TestPromptCache:
    def test_a_prefix_a_response_showed_cached_is_not_reserved_again(self) -> None:
        clock = Clock()
        rate_limiter = limiter(clock, input_tokens_per_minute=100_000)
        first_turn, second_turn = cached_body("a" * 4000), cached_body("a" * 4000, "more")
        first = rate_limiter.reserve(MODEL, first_turn, 100)
        assert first.ticket.estimated_input_tokens == math.ceil(len(first_turn) / 4)
        rate_limiter.settle(first.ticket, usage=usage(12, cache_creation_input_tokens=1000))

        second = rate_limiter.reserve(MODEL, second_turn, 100)
        prefix = second_turn.index(b',"cache_control"')
        assert second.ticket.estimated_input_tokens == math.ceil((len(second_turn) - prefix) / 4)

    def test_without_a_response_reporting_the_cache_the_whole_body_is_reserved(self) -> None:
        clock = Clock()
        rate_limiter = limiter(clock, input_tokens_per_minute=100_000)
        first = rate_limiter.reserve(MODEL, cached_body("a" * 4000), 100)
        rate_limiter.settle(first.ticket, usage=usage(1012))  # nothing cached
        second_turn = cached_body("a" * 4000, "more")
        second = rate_limiter.reserve(MODEL, second_turn, 100)
        assert second.ticket.estimated_input_tokens == math.ceil(len(second_turn) / 4)

    def test_the_cached_prefix_is_forgotten_after_five_minutes(self) -> None:
        clock = Clock()
        rate_limiter = limiter(clock, input_tokens_per_minute=100_000)
        first = rate_limiter.reserve(MODEL, cached_body("a" * 4000), 100)
        rate_limiter.settle(first.ticket, usage=usage(12, cache_read_input_tokens=1000))
        clock.now += 301
        second_turn = cached_body("a" * 4000, "more")
        second = rate_limiter.reserve(MODEL, second_turn, 100)
        assert second.ticket.estimated_input_tokens == math.ceil(len(second_turn) / 4)


class TestRateLimitResponse:
    def test_a_429_holds_every_request_to_its_model_until_retry_after(self) -> None:
        clock = Clock()
        rate_limiter = RateLimiter(clock=clock)
        admission = rate_limiter.reserve(MODEL, body_of(1), 0)
        rate_limiter.settle(admission.ticket, status_code=429, retry_after_s=5.0)
        held = rate_limiter.reserve(MODEL, body_of(1), 0)
        assert (held.wait_s, held.limit) == (5.0, "retry-after")
        assert rate_limiter.reserve(OTHER_MODEL, body_of(1), 0).wait_s == 0.0
        clock.now += 5
        assert rate_limiter.reserve(MODEL, body_of(1), 0).wait_s == 0.0

    def test_a_429_gives_back_the_tokens_it_did_not_use(self) -> None:
        clock = Clock()
        rate_limiter = limiter(clock, input_tokens_per_minute=600, output_tokens_per_minute=600)
        admission = rate_limiter.reserve(MODEL, body_of(100), 200)
        rate_limiter.settle(admission.ticket, status_code=429, retry_after_s=1.0)
        state = rate_limiter.state(MODEL)
        assert (state["input_tokens"].available, state["output_tokens"].available) == (600, 600)

    def test_a_hint_beyond_a_minute_is_cut_to_a_minute(self) -> None:
        clock = Clock()
        rate_limiter = RateLimiter(clock=clock)
        admission = rate_limiter.reserve(MODEL, body_of(1), 0)
        rate_limiter.settle(admission.ticket, status_code=429, retry_after_s=1e9)
        assert rate_limiter.pause_left(MODEL) == 60.0


class TestSpendBudget:
    # claude-haiku-4-5: $1 per million input tokens, $5 per million output tokens.
    def test_requests_wait_until_the_budget_per_minute_allows_them(self) -> None:
        clock = Clock()
        rate_limiter = limiter(clock, spend_usd_per_minute="0.01")
        # 1000 input tokens ($0.001) + max_tokens 1000 ($0.005): $0.006 booked each.
        first = rate_limiter.reserve(MODEL, body_of(1000), 1000)
        second = rate_limiter.reserve(MODEL, body_of(1000), 1000)
        assert first.wait_s == 0.0
        assert second.wait_s == pytest.approx(12.0)
        assert second.limit == "spend per minute"

    def test_the_exact_cost_of_the_response_replaces_the_worst_case(self) -> None:
        clock = Clock()
        rate_limiter = limiter(clock, spend_usd_per_minute="0.01")
        first = rate_limiter.reserve(MODEL, body_of(1000), 1000)
        rate_limiter.settle(first.ticket, usage=usage(1000, output_tokens=100))  # $0.0015
        assert rate_limiter.state(MODEL)["spend_minute"].available == pytest.approx(0.0085)
        assert rate_limiter.reserve(MODEL, body_of(1000), 1000).wait_s == 0.0

    def test_a_budget_per_hour_refills_over_the_hour(self) -> None:
        clock = Clock()
        rate_limiter = limiter(clock, spend_usd_per_hour="0.012")
        assert waits(rate_limiter, 2, tokens=1000, max_tokens=1000) == [0.0, 0.0]
        third = rate_limiter.reserve(MODEL, body_of(1000), 1000)
        assert (third.wait_s, third.limit) == (pytest.approx(1800.0), "spend per hour")

    def test_a_request_that_alone_may_cost_more_than_the_budget_is_refused(self) -> None:
        rate_limiter = limiter(Clock(), spend_usd_per_minute="0.01")
        with pytest.raises(SpendBudgetError, match=(
            r"a request to claude-haiku-4-5 with max_tokens=4000 may cost up to \$0\.0210, "
            r"more than the client's spend budget of \$0\.01 per minute"
        )):
            rate_limiter.reserve(MODEL, body_of(1000), 4000)
        assert rate_limiter.state(MODEL)["spend_minute"].available == pytest.approx(0.01)

    def test_the_refusal_quotes_the_budget_as_it_was_given(self) -> None:
        tiny = limiter(Clock(), spend_usd_per_minute="0.00001")
        with pytest.raises(SpendBudgetError, match=r"spend budget of \$0\.00001 per minute;"):
            tiny.reserve(MODEL, body_of(10), 100)
        large = limiter(Clock(), spend_usd_per_hour="123456.78",
                        prices={"my-model": (1_000_000, 1_000_000)})
        with pytest.raises(SpendBudgetError, match=r"spend budget of \$123456\.78 per hour;"):
            large.reserve("my-model", body_of(10), 1_000_000)

    def test_a_model_without_a_price_cannot_be_kept_to_a_budget(self) -> None:
        rate_limiter = limiter(Clock(), spend_usd_per_hour=5)
        with pytest.raises(SpendBudgetError, match="model 'my-model' has no price"):
            rate_limiter.reserve("my-model", body_of(10), 10)
        priced = limiter(Clock(), spend_usd_per_hour=5, prices={"my-model": (1, 5)})
        assert priced.reserve("my-model", body_of(10), 10).wait_s == 0.0


# --- the clients ---------------------------------------------------------------------------


def message_json(model: str = MODEL, input_tokens: int = 10, output_tokens: int = 5) -> bytes:
    message = text_reply("Hello!", usage={"input_tokens": input_tokens,
                                          "output_tokens": output_tokens})
    return json.dumps({**message, "model": model}).encode()


def ok(**rate_headers: str) -> httpx.Response:
    extra = [(f"anthropic-ratelimit-{k.replace('_', '-')}", v) for k, v in rate_headers.items()]
    return httpx.Response(
        200, headers=[("content-type", "application/json"), *extra], content=message_json()
    )


def create(client: Client) -> str:
    return client.messages.create(
        model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "Hi"}]
    ).text


class TestClient:
    def test_the_second_call_sleeps_for_the_limit_and_logs_model_throttled(self) -> None:
        clock = Clock()
        client = Client(API_KEY, transport=ScriptedModel([ok(), ok()]), sleep=clock.sleep,
                        rate_limit=limiter(clock, requests_per_minute=1))
        with capture_events() as events:
            assert [create(client), create(client)] == ["Hello!", "Hello!"]
        assert clock.sleeps == [60.0]
        throttled = [event for event in events if event["event"] == "model.throttled"]
        assert throttled == [{
            "event": "model.throttled", "level": "info", "logger": "agentcore.client",
            "model": MODEL, "wait_s": 60.0, "limit": "requests per minute",
        }]

    def test_a_wait_is_a_sleep_the_run_can_show(self) -> None:
        clock = Clock()
        client = Client(API_KEY, transport=ScriptedModel([]), sleep=clock.sleep,
                        rate_limit=limiter(clock, requests_per_minute=1))
        params: Any = {"model": MODEL, "max_tokens": 10, "messages": [{"role": "user",
                                                                     "content": "Hi"}]}
        first = client._calls.create(dict(params))
        assert isinstance(next(first), Send)
        second = client._calls.create(dict(params))
        assert next(second) == Sleep(
            60.0, ModelWait("rate_limit", 60.0, model=MODEL, detail="requests per minute")
        )

    def test_a_429_pauses_requests_already_waiting_until_retry_after(self) -> None:
        clock = Clock()
        client = Client(API_KEY, transport=ScriptedModel([]), sleep=clock.sleep,
                        rate_limit=limiter(clock, requests_per_minute=2))
        params: Any = {"model": MODEL, "max_tokens": 10,
                       "messages": [{"role": "user", "content": "Hi"}]}
        first, second, third = (client._calls.create(dict(params)) for _ in range(3))
        send = next(first)
        assert isinstance(send, Send)
        assert isinstance(next(second), Send)
        assert next(third).seconds == 30.0  # booked for t+30 s, before any 429
        limited = httpx.Response(
            429, headers={"retry-after": "50", "content-type": "application/json"},
            content=b'{"type":"error","error":{"type":"rate_limit_error","message":"slow"}}',
            request=send.request,
        )
        retry = first.send(limited)
        assert retry == Sleep(50.0, ModelWait("retry", 50.0, model=MODEL, attempt=1,
                                              max_attempts=2, detail="rate_limit_error"))
        clock.now += 30
        assert third.send(None) == Sleep(
            20.0, ModelWait("rate_limit", 20.0, model=MODEL, detail="retry-after")
        )
        clock.now += 20
        assert isinstance(third.send(None), Send)

    def test_a_429_on_one_call_makes_the_next_call_wait_for_it(self) -> None:
        clock = Clock()
        script = ScriptedModel([
            error_reply(429, "rate_limit_error", "slow down", headers={"retry-after": "4"}),
            ok(), ok(),
        ])
        client = Client(API_KEY, transport=script, sleep=clock.sleep,
                        rate_limit=RateLimiter(clock=clock))
        assert create(client) == "Hello!"
        assert clock.sleeps == [4.0]  # the retry's wait, which also held everyone else
        rate_limiter = client.rate_limiter
        assert rate_limiter is not None and rate_limiter.pause_left(MODEL) == 0.0

    def test_the_limits_announced_by_a_response_pace_the_next_calls(self) -> None:
        clock = Clock()
        script = ScriptedModel([ok(requests_limit="60", requests_remaining="0"), ok()])
        client = Client(API_KEY, transport=script, sleep=clock.sleep,
                        rate_limit=RateLimiter(clock=clock))
        create(client)
        create(client)
        assert clock.sleeps == [1.0]

    def test_a_stream_is_settled_with_the_usage_it_reports(self) -> None:
        clock = Clock()
        rate_limiter = limiter(clock, input_tokens_per_minute=10_000,
                               output_tokens_per_minute=10_000)
        script = ScriptedModel([text_reply("Hi there", usage={"input_tokens": 40,
                                                              "output_tokens": 7})])
        client = Client(API_KEY, transport=script, sleep=clock.sleep, rate_limit=rate_limiter)
        with client.messages.stream(model=MODEL, max_tokens=500,
                                    messages=[{"role": "user", "content": "Hi"}]) as stream:
            assert stream.get_final_message().text == "Hi there"
        state = rate_limiter.state(MODEL)
        assert (state["input_tokens"].available, state["output_tokens"].available) == (
            pytest.approx(10_000 - 40), pytest.approx(10_000 - 7)
        )

    def test_a_stream_waits_like_a_plain_call(self) -> None:
        clock = Clock()
        script = ScriptedModel([text_reply("one"), text_reply("two")])
        client = Client(API_KEY, transport=script, sleep=clock.sleep,
                        rate_limit=limiter(clock, requests_per_minute=1))
        texts = []
        for _ in range(2):
            with client.messages.stream(model=MODEL, max_tokens=50,
                                        messages=[{"role": "user", "content": "Hi"}]) as stream:
                texts.append(stream.get_final_message().text)
        assert (texts, clock.sleeps) == (["one", "two"], [60.0])

    def test_a_stream_closed_while_it_waits_gives_its_booking_back(self) -> None:
        clock = Clock()
        rate_limiter = limiter(clock, requests_per_minute=1)
        client = Client(API_KEY, transport=ScriptedModel([text_reply("one")]),
                        sleep=clock.sleep, rate_limit=rate_limiter)
        create_params: Any = {"model": MODEL, "max_tokens": 10,
                              "messages": [{"role": "user", "content": "Hi"}]}
        with client.messages.stream(**create_params) as stream:
            stream.get_final_message()
        flow = client._calls.create(dict(create_params))
        assert isinstance(next(flow), Sleep)
        flow.close()
        state = rate_limiter._models[MODEL].buckets["requests"]
        assert (state.queued, state.in_flight) == (0.0, 0.0)
        assert rate_limiter.state(MODEL)["requests"].available == 0  # as after the stream

    def test_a_spend_budget_refusal_ends_the_call_with_its_typed_error(self) -> None:
        script = ScriptedModel([])
        client = Client(API_KEY, transport=script,
                        rate_limit=RateLimit(spend_usd_per_minute="0.0001"))
        with pytest.raises(SpendBudgetError, match="more than the client's spend budget"):
            create(client)
        assert script.requests == []

    def test_rate_limit_must_be_a_rate_limit_a_limiter_or_true(self) -> None:
        with pytest.raises(ConfigurationError, match="rate_limit must be a RateLimit"):
            Client(API_KEY, rate_limit=60)  # type: ignore[arg-type]

    def test_without_rate_limit_there_is_no_limiter(self) -> None:
        assert Client(API_KEY).rate_limiter is None

    def test_one_client_serves_many_threads(self) -> None:
        script = ScriptedModel(lambda body: ok(requests_limit="100000"))
        client = Client(API_KEY, transport=script, rate_limit=True)
        results: list[str] = []

        def work() -> None:
            for _ in range(10):
                results.append(create(client))

        threads = [threading.Thread(target=work) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert results == ["Hello!"] * 60
        rate_limiter = client.rate_limiter
        assert rate_limiter is not None
        assert rate_limiter.state(MODEL)["requests"].limit == 100_000


class VirtualTime:
    """An asyncio clock that jumps to the next wake-up once every task is asleep on it."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + seconds, next(self._order), future))
        await future

    async def run(
        self,
        runs: Sequence[Coroutine[Any, Any, float] | asyncio.Future[float]],
        *,
        max_steps: int = 1_000_000,
    ) -> list[float]:
        """Drive ``runs`` (coroutines or tasks) to their ends, waking the earliest sleeper
        whenever all of them sleep; fails after ``max_steps`` turns of the event loop."""
        tasks = [asyncio.ensure_future(run) for run in runs]
        for _ in range(max_steps):
            alive = sum(not task.done() for task in tasks)
            if not alive:
                return [task.result() for task in tasks]
            if len(self._sleepers) == alive:
                wake_at, _, future = heapq.heappop(self._sleepers)
                self.now = max(self.now, wake_at)
                future.set_result(None)
            await asyncio.sleep(0)
        raise AssertionError("the runs did not finish")


def run_virtual(
    make: Callable[[VirtualTime], list[Coroutine[Any, Any, float]]],
) -> tuple[VirtualTime, list[float]]:
    clock = VirtualTime()

    async def main() -> list[float]:
        return await clock.run(make(clock))

    return clock, asyncio.run(main())


class TestAsyncClient:
    def test_concurrent_runs_share_the_limit_fairly(self) -> None:
        """20 runs of 3 calls each on 1 request/s: none finishes much later than the others."""
        sent_at: list[float] = []

        def make(clock: VirtualTime) -> list[Coroutine[Any, Any, float]]:
            def answer(body: dict[str, Any]) -> httpx.Response:
                sent_at.append(clock.now)
                return ok()

            rate_limiter = RateLimiter(RateLimit(requests_per_minute=60), clock=clock)
            drain = rate_limiter.reserve(MODEL, b"{}", 0)  # start from an empty bucket
            rate_limiter.settle(drain.ticket, headers=headers(requests_remaining="0"))
            client = AsyncClient(API_KEY, transport=ScriptedModel(answer), sleep=clock.sleep,
                                 rate_limit=rate_limiter)

            async def run() -> float:
                for _ in range(3):
                    await client.messages.create(
                        model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "Hi"}]
                    )
                return clock.now

            return [run() for _ in range(20)]

        _, finished = run_virtual(make)
        assert len(sent_at) == 60
        gaps = [later - earlier for earlier, later in itertools.pairwise(sorted(sent_at))]
        assert min(gaps) == pytest.approx(1.0)  # never faster than the limit
        assert max(finished) == pytest.approx(60.0)  # and never slower: the limit is used fully
        assert min(finished) >= 41.0  # no run got ahead by more than one round of calls

    def test_a_429_holds_every_concurrent_run_until_retry_after(self) -> None:
        sent_at: list[float] = []

        def make(clock: VirtualTime) -> list[Coroutine[Any, Any, float]]:
            def answer(body: dict[str, Any]) -> httpx.Response:
                sent_at.append(clock.now)
                if len(sent_at) == 1:
                    return httpx.Response(
                        429, headers={"retry-after": "10", "content-type": "application/json"},
                        content=b'{"type":"error","error":{"type":"rate_limit_error",'
                                b'"message":"slow down"}}',
                    )
                return ok()

            client = AsyncClient(API_KEY, transport=ScriptedModel(answer), sleep=clock.sleep,
                                 rate_limit=RateLimiter(clock=clock))

            async def run() -> float:
                await client.messages.create(
                    model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "Hi"}]
                )
                return clock.now

            return [run() for _ in range(10)]

        _, finished = run_virtual(make)
        assert sent_at[0] == 0.0
        assert sorted(sent_at[1:]) == [10.0] * 10
        assert finished == [10.0] * 10


@tool
def lookup_order(order_id: str) -> str:
    """Look up an order.

    Args:
        order_id: Order number such as "A-1001".
    """
    return "shipped"


class TestAgent:
    def test_a_run_through_a_limited_client_waits_and_says_which_run_waited(self) -> None:
        clock = Clock()
        script = ScriptedModel([
            tool_reply(("lookup_order", {"order_id": "A-1001"})), text_reply("It shipped."),
        ])
        client = Client(API_KEY, transport=script, sleep=clock.sleep,
                        rate_limit=limiter(clock, requests_per_minute=2))
        limiter_of_client = client.rate_limiter
        assert limiter_of_client is not None
        limiter_of_client.reserve(MODEL, b"{}", 0)  # someone else used half the minute
        agent = Agent(MODEL, "You help.", [lookup_order], client=client)
        with capture_events() as events:
            result = agent.run("Where is A-1001?")
        assert (result.status, result.output) == ("completed", "It shipped.")
        assert clock.sleeps == [30.0]
        [throttled] = [event for event in events if event["event"] == "model.throttled"]
        assert throttled["run_id"] == result.state.run_id
        assert throttled["turn"] == 2


class TestGivingUp:
    """A booking whose request was never sent comes back whole: nothing reached the server."""

    def test_bookings_given_up_before_sending_leave_the_buckets_as_they_were(self) -> None:
        clock = Clock()
        rate_limiter = limiter(clock, requests_per_minute=60, input_tokens_per_minute=6000,
                               spend_usd_per_minute="1")
        waits(rate_limiter, 60)  # the minute is spent
        before = rate_limiter.state(MODEL)
        given_up = [rate_limiter.reserve(MODEL, body_of(10), 100) for _ in range(100)]
        for admission in given_up:
            assert admission.ticket is not None
            rate_limiter.settle(admission.ticket)
        assert rate_limiter.state(MODEL) == before
        assert waits(rate_limiter, 1) == [1.0]

    def test_a_booking_sent_and_never_answered_keeps_its_estimates(self) -> None:
        """The server may have counted it: only a response can say it did not."""
        clock = Clock()
        rate_limiter = limiter(clock, requests_per_minute=60)
        admission = rate_limiter.reserve(MODEL, body_of(1), 0)
        assert admission.ticket is not None
        rate_limiter.sent(admission.ticket)
        rate_limiter.settle(admission.ticket)
        assert rate_limiter.state(MODEL)["requests"].available == 59

    def test_a_first_request_given_up_lets_the_next_one_go_first(self) -> None:
        clock = Clock()
        rate_limiter = RateLimiter(clock=clock)
        first = rate_limiter.reserve(MODEL, body_of(1), 0)
        assert first.ticket is not None
        rate_limiter.settle(first.ticket)
        second = rate_limiter.reserve(MODEL, body_of(1), 0)
        assert second.ticket is not None and second.wait_s == 0.0

    def test_cancelling_a_hundred_waiting_async_calls_returns_their_budget(self) -> None:
        clock = Clock()
        rate_limiter = limiter(clock, requests_per_minute=60)
        waits(rate_limiter, 60)  # the minute is spent: every call below must wait
        bucket = rate_limiter._models[MODEL].buckets["requests"]
        booked_before = (bucket.queued, bucket.in_flight)
        asleep = 0

        async def sleep_until_cancelled(seconds: float) -> None:
            nonlocal asleep
            asleep += 1
            await asyncio.Event().wait()

        async def main() -> list[asyncio.Task[Any]]:
            client = AsyncClient(API_KEY, transport=ScriptedModel([]),
                                 sleep=sleep_until_cancelled, rate_limit=rate_limiter)
            tasks = [
                asyncio.ensure_future(client.messages.create(
                    model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "Hi"}]
                ))
                for _ in range(100)
            ]
            for _ in range(1000):
                if asleep == 100:
                    break
                await asyncio.sleep(0)
            assert rate_limiter.state(MODEL)["requests"].available == -100
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            return tasks  # still referenced: the budget must not wait for the collector

        tasks = asyncio.run(main())
        assert all(task.cancelled() for task in tasks)
        assert (bucket.queued, bucket.in_flight) == booked_before
        assert rate_limiter.state(MODEL)["requests"].available == 0
        assert waits(rate_limiter, 1) == [1.0]

    def test_a_sync_call_interrupted_while_it_waits_returns_its_budget(self) -> None:
        class Interrupted(BaseException):
            pass

        def interrupt(seconds: float) -> None:
            raise Interrupted

        clock = Clock()
        rate_limiter = limiter(clock, requests_per_minute=60)
        waits(rate_limiter, 60)
        client = Client(API_KEY, transport=ScriptedModel([]), sleep=interrupt,
                        rate_limit=rate_limiter)
        with pytest.raises(Interrupted) as interrupted:
            create(client)
        assert interrupted.value is not None  # the traceback, and the call's frames, live on
        assert rate_limiter.state(MODEL)["requests"].available == 0


class TestHostileAnswers:
    """Headers and usage come from the network: no answer may stall every caller for hours."""

    def test_a_limit_announced_below_one_request_makes_it_wait_a_minute_not_days(
        self,
    ) -> None:
        clock = Clock()
        rate_limiter = RateLimiter(clock=clock)
        first = rate_limiter.reserve(MODEL, body_of(1000), 4096)
        assert first.ticket is not None
        rate_limiter.settle(first.ticket, headers=headers(
            input_tokens_limit="1", input_tokens_remaining="1",
            output_tokens_limit="1", output_tokens_remaining="1",
        ))
        # Each request costs at most one whole bucket: a minute of that limit.
        assert waits(rate_limiter, 3, tokens=1000, max_tokens=4096) == [0.0, 60.0, 120.0]

    def test_usage_beyond_the_limit_costs_one_full_bucket(self) -> None:
        clock = Clock()
        rate_limiter = limiter(clock, input_tokens_per_minute=100)
        admission = rate_limiter.reserve(MODEL, body_of(1000), 0)
        assert admission.ticket is not None
        rate_limiter.settle(admission.ticket, usage=usage(4000))
        assert rate_limiter.state(MODEL)["input_tokens"].available == 0
        assert waits(rate_limiter, 1, tokens=100) == [60.0]

    def test_usage_beyond_what_the_request_could_cost_does_not_drain_the_spend_budget(
        self,
    ) -> None:
        clock = Clock()
        rate_limiter = limiter(clock, spend_usd_per_hour=5)
        admission = rate_limiter.reserve(MODEL, body_of(100), 50)
        assert admission.ticket is not None
        rate_limiter.settle(admission.ticket, usage=usage(10**9, output_tokens=10**9))
        # At most its 400 bytes as input tokens at the dearest input price ($2 per million
        # for a one-hour cache write) and max_tokens of output: $0.00105.
        assert rate_limiter.state(MODEL)["spend_hour"].available == pytest.approx(5 - 0.00105)
        assert rate_limiter.reserve(MODEL, body_of(100), 50).wait_s == 0.0


class TestWhereBookingsGo:
    def test_a_fallback_is_booked_against_the_model_that_answers(self) -> None:
        clock = Clock()
        rate_limiter = limiter(clock, requests_per_minute=10, output_tokens_per_minute=1000)
        asked: list[str] = []

        def answer(body: dict[str, Any]) -> httpx.Response:
            asked.append(body["model"])
            if body["model"] == MODEL:
                return error_reply(404, "not_found_error", "no such model")
            return httpx.Response(200, headers={"content-type": "application/json"},
                                  content=message_json(OTHER_MODEL, output_tokens=5))

        client = Client(API_KEY, transport=ScriptedModel(answer), sleep=clock.sleep,
                        rate_limit=rate_limiter, fallback_models=[OTHER_MODEL])
        assert create(client) == "Hello!"
        assert asked == [MODEL, OTHER_MODEL]
        first, fallback = rate_limiter.state(MODEL), rate_limiter.state(OTHER_MODEL)
        # The refused request counts as a request, with no output; the answer as both.
        assert (first["requests"].available, first["output_tokens"].available) == (9, 1000)
        assert (fallback["requests"].available, fallback["output_tokens"].available) == (
            9, pytest.approx(995)
        )

    def test_a_stream_cut_half_way_is_settled_with_its_estimates(self) -> None:
        """The server counted the request and some output; nothing says how much."""
        clock = Clock()
        rate_limiter = limiter(clock, input_tokens_per_minute=10_000,
                               output_tokens_per_minute=10_000)
        message = {**text_reply("Hello there, how are you?"), "model": MODEL}
        events = sse_events(message, text_chunk_chars=5)
        first_text = next(n for n, event in enumerate(events) if "text_delta" in event)
        cut = httpx.Response(200, headers={"content-type": "text/event-stream"},
                             stream=ChunkStream(["".join(events[: first_text + 1]).encode()],
                                                httpx.RemoteProtocolError("closed")))
        client = Client(API_KEY, transport=httpx.MockTransport(lambda request: cut),
                        sleep=clock.sleep, rate_limit=rate_limiter)
        stream = client.messages.stream(model=MODEL, max_tokens=300,
                                        messages=[{"role": "user", "content": "Hi"}])
        with pytest.raises(StreamError, match="cut after output began"), stream:
            stream.get_final_message()
        buckets = rate_limiter._models[MODEL].buckets
        assert [(bucket.queued, bucket.in_flight) for bucket in buckets.values()] == [(0, 0)] * 3
        state = rate_limiter.state(MODEL)
        assert 0 < 10_000 - state["input_tokens"].available < 200  # the body's estimate
        assert 10_000 - state["output_tokens"].available == pytest.approx(300)  # as booked
