"""The emulator enforces an account's rate limits per model, as token buckets.

Buckets refill continuously at limit/60 per second up to the limit; a request that does not
fit is answered 429 ``rate_limit_error`` with ``retry-after`` in whole seconds and takes
nothing; every answer carries ``anthropic-ratelimit-*`` headers. The clock is injected, so
"a minute later" is a number, not a wait.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from agentcore.emulator import (
    Emulator,
    RateLimits,
    RateLimitSpecError,
    RateLimitUsage,
    add_arguments,
    run,
)
from agentcore.emulator._limits import AccountLimits
from agentcore.testing import text_reply

MODEL = "claude-sonnet-4-6"
HEADERS = {"x-api-key": "test-key", "anthropic-version": "2023-06-01"}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def body(**overrides: Any) -> dict[str, Any]:
    request: dict[str, Any] = {"model": MODEL, "max_tokens": 100,
                               "messages": [{"role": "user", "content": "Hello"}]}
    request.update(overrides)
    return request


def charged_input(response: httpx.Response) -> int:
    usage = response.json()["usage"]
    return int(usage["input_tokens"]) + int(usage["cache_creation_input_tokens"])


def ratelimit(response: httpx.Response, kind: str) -> tuple[int, int]:
    return (int(response.headers[f"anthropic-ratelimit-{kind}-limit"]),
            int(response.headers[f"anthropic-ratelimit-{kind}-remaining"]))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def serve(clock: FakeClock, limits: RateLimits, replies: Any = None) -> Emulator:
    return Emulator(replies, clock=clock, limits={MODEL: limits})


@pytest.fixture
def limited(clock: FakeClock) -> Iterator[tuple[Emulator, httpx.Client]]:
    limits = RateLimits(requests_per_minute=3, input_tokens_per_minute=6000,
                        output_tokens_per_minute=1200)
    with serve(clock, limits) as emulator, httpx.Client(
        base_url=emulator.base_url, headers=HEADERS
    ) as http:
        yield emulator, http


class TestHeadersAndBucketArithmetic:
    def test_an_answer_reports_what_it_took_from_each_bucket(
        self, limited: tuple[Emulator, httpx.Client]
    ) -> None:
        emulator, http = limited
        response = http.post("/v1/messages", json=body())
        assert response.status_code == 200
        output = response.json()["usage"]["output_tokens"]
        assert ratelimit(response, "requests") == (3, 2)
        assert ratelimit(response, "input-tokens") == (6000, 6000 - charged_input(response))
        # max_tokens was reserved on admission, then corrected to the reply's output
        assert ratelimit(response, "output-tokens") == (1200, 1200 - output)
        # the output bucket is the emptier one relative to its limit
        assert ratelimit(response, "tokens") == ratelimit(response, "output-tokens")
        assert emulator.rate_limit_usage(MODEL) == RateLimitUsage(
            MODEL, admitted=1, limited=0, input_tokens=charged_input(response),
            output_tokens=output, requests_remaining=2.0,
            input_tokens_remaining=6000.0 - charged_input(response),
            output_tokens_remaining=1200.0 - output)

    def test_buckets_refill_continuously_up_to_the_limit(
        self, clock: FakeClock, limited: tuple[Emulator, httpx.Client]
    ) -> None:
        emulator, http = limited
        for _ in range(3):
            assert http.post("/v1/messages", json=body()).status_code == 200
        assert emulator.rate_limit_usage(MODEL).requests_remaining == 0
        clock.advance(10)  # 3 per minute: half a request in 10 s, not a reset at a minute
        assert emulator.rate_limit_usage(MODEL).requests_remaining == pytest.approx(0.5)
        clock.advance(20)
        assert emulator.rate_limit_usage(MODEL).requests_remaining == pytest.approx(1.5)
        clock.advance(3600)
        usage = emulator.rate_limit_usage(MODEL)
        assert (usage.requests_remaining, usage.input_tokens_remaining,
                usage.output_tokens_remaining) == (3, 6000, 1200)

    def test_the_output_reservation_is_max_tokens_while_the_request_runs(
        self, clock: FakeClock
    ) -> None:
        seen: list[RateLimitUsage] = []
        limits = RateLimits(output_tokens_per_minute=1000)

        def reply(request: dict[str, Any]) -> Any:
            seen.append(emulator.rate_limit_usage(MODEL))
            return text_reply("fine")

        emulator = serve(clock, limits, reply)
        with emulator, httpx.Client(base_url=emulator.base_url, headers=HEADERS) as http:
            response = http.post("/v1/messages", json=body(max_tokens=700))
            after = emulator.rate_limit_usage(MODEL)
            # a second request fits only because the unused reservation flowed back
            second = http.post("/v1/messages", json=body(max_tokens=700))
        output = response.json()["usage"]["output_tokens"]
        assert seen[0].output_tokens_remaining == 300
        assert after.output_tokens_remaining == 1000 - output
        assert second.status_code == 200

    def test_a_reservation_larger_than_the_limit_reserves_the_whole_limit(
        self, clock: FakeClock
    ) -> None:
        with serve(clock, RateLimits(output_tokens_per_minute=500)) as emulator, httpx.Client(
            base_url=emulator.base_url, headers=HEADERS
        ) as http:
            first = http.post("/v1/messages", json=body(max_tokens=4096))
            second = http.post("/v1/messages", json=body(max_tokens=4096))
        output = first.json()["usage"]["output_tokens"]
        assert first.status_code == 200
        assert second.status_code == 429
        # the whole 500 must be back: (500 - (500 - output)) / (500/60 per second)
        assert second.headers["retry-after"] == str(math.ceil(output / (500 / 60)))

    def test_models_without_limits_announce_generous_ones_and_are_never_limited(
        self, limited: tuple[Emulator, httpx.Client]
    ) -> None:
        emulator, http = limited
        responses = [http.post("/v1/messages", json=body(model="claude-haiku-4-5"))
                     for _ in range(5)]
        assert {r.status_code for r in responses} == {200}
        assert ratelimit(responses[-1], "requests") == (4000, 3999)
        assert ratelimit(http.get("/v1/models"), "tokens") == (2_000_000, 1_999_999)
        with pytest.raises(KeyError):
            emulator.rate_limit_usage("claude-haiku-4-5")

    def test_reset_is_the_rfc3339_time_the_bucket_is_full_again(self) -> None:
        clock = FakeClock()
        moment = datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC)
        account = AccountLimits({MODEL: RateLimits(requests_per_minute=60,
                                                   input_tokens_per_minute=600)},
                                clock, now=lambda: moment)
        admission = account.admit(MODEL, input_tokens=450, max_tokens=10)
        account.settle(admission, input_tokens=450, output_tokens=5)
        headers = account.headers(MODEL)
        assert headers["anthropic-ratelimit-requests-reset"] == "2026-11-30T12:00:01Z"
        # 450 tokens at 10 per second: full again in 45 s
        assert headers["anthropic-ratelimit-input-tokens-reset"] == "2026-11-30T12:00:45Z"
        assert headers["anthropic-ratelimit-input-tokens-remaining"] == "150"
        assert headers["anthropic-ratelimit-tokens-remaining"] == "150"
        # no output limit: generous, never the tightest
        assert headers["anthropic-ratelimit-output-tokens-limit"] == "400000"
        clock.advance(4.5)
        assert account.headers(MODEL)["anthropic-ratelimit-input-tokens-remaining"] == "195"
        # 405 missing at 10 per second: 40.5 s, rounded up to the next whole second
        assert account.headers(MODEL)["anthropic-ratelimit-input-tokens-reset"] == (
            "2026-11-30T12:00:41Z")

    def test_a_request_due_exactly_when_the_bucket_holds_it_again_is_admitted(self) -> None:
        clock = FakeClock()
        clock.now = 987654.321  # a monotonic clock's magnitude after days of uptime
        account = AccountLimits({MODEL: RateLimits(requests_per_minute=7)}, clock)
        for _ in range(7):
            account.admit(MODEL, input_tokens=0, max_tokens=1)
        start = clock.now
        for n in range(1, 400):  # about an hour at one request per 60/7 s
            due = start + n * 60 / 7
            clock.now = (clock.now + due) / 2  # headers read in between refill the bucket
            account.usage(MODEL)
            clock.now = due
            account.admit(MODEL, input_tokens=0, max_tokens=1)  # no 429 for a rounding error
        assert account.usage(MODEL).admitted == 7 + 399

    def test_a_scripted_usage_beyond_reason_leaves_the_emulator_answering(
        self, clock: FakeClock
    ) -> None:
        absurd = text_reply("x", usage={"input_tokens": 1, "output_tokens": 10**20})
        with serve(clock, RateLimits(output_tokens_per_minute=8000),
                   [absurd, text_reply("y")]) as emulator, httpx.Client(
            base_url=emulator.base_url, headers=HEADERS
        ) as http:
            first = http.post("/v1/messages", json=body())
            second = http.post("/v1/messages", json=body())
        assert first.status_code == 200
        assert first.headers["anthropic-ratelimit-output-tokens-remaining"] == "0"
        assert second.status_code == 429
        # the bucket is empty for longer than anyone waits: a year is what is announced
        assert second.headers["retry-after"] == str(365 * 86400)
        reset = datetime.fromisoformat(second.headers["anthropic-ratelimit-output-tokens-reset"])
        # (the header is in whole seconds and read a moment later: allow a minute either way)
        assert abs((reset - datetime.now(UTC)).total_seconds() - 365 * 86400) < 60
        assert emulator.rate_limit_usage(MODEL).output_tokens == 10**20

    def test_an_answer_that_fails_inside_the_emulator_gives_its_reservation_back(
        self, clock: FakeClock
    ) -> None:
        def reply(request: dict[str, Any]) -> Any:
            raise ValueError("the reply function has a bug")

        with serve(clock, RateLimits(output_tokens_per_minute=1000), reply) as emulator, \
                httpx.Client(base_url=emulator.base_url, headers=HEADERS) as http:
            response = http.post("/v1/messages", json=body(max_tokens=700))
        assert response.status_code == 500
        error = response.json()["error"]
        assert error["type"] == "api_error"
        assert "ValueError: the reply function has a bug" in error["message"]
        assert response.headers["x-should-retry"] == "false"
        usage = emulator.rate_limit_usage(MODEL)
        assert (usage.admitted, usage.output_tokens, usage.output_tokens_remaining) == (
            1, 0, 1000)


class TestOverTheLimit:
    def test_a_request_over_the_limit_is_429_with_retry_after_and_takes_nothing(
        self, clock: FakeClock, limited: tuple[Emulator, httpx.Client]
    ) -> None:
        emulator, http = limited
        for _ in range(3):
            http.post("/v1/messages", json=body())
        before = emulator.rate_limit_usage(MODEL)
        refused = http.post("/v1/messages", json=body())
        assert refused.status_code == 429
        assert refused.json()["error"]["type"] == "rate_limit_error"
        assert "3 requests per minute" in refused.json()["error"]["message"]
        assert refused.headers["retry-after"] == "20"  # one request back at 3/min
        assert ratelimit(refused, "requests") == (3, 0)
        after = emulator.rate_limit_usage(MODEL)
        assert after.limited == 1
        assert (after.admitted, after.input_tokens, after.input_tokens_remaining) == (
            before.admitted, before.input_tokens, before.input_tokens_remaining)
        assert len(emulator.requests) == 3
        clock.advance(19)
        assert http.post("/v1/messages", json=body()).status_code == 429
        clock.advance(1)
        assert http.post("/v1/messages", json=body()).status_code == 200

    def test_retry_after_waits_for_the_slowest_short_bucket_in_whole_seconds(
        self, clock: FakeClock
    ) -> None:
        limits = RateLimits(requests_per_minute=1000, input_tokens_per_minute=70)
        prompt = "x" * 160  # about 40 tokens of text plus the message wrapper
        with serve(clock, limits) as emulator, httpx.Client(
            base_url=emulator.base_url, headers=HEADERS
        ) as http:
            first = http.post("/v1/messages", json=body(messages=[
                {"role": "user", "content": prompt}]))
            second = http.post("/v1/messages", json=body(messages=[
                {"role": "user", "content": prompt}]))
        charge = charged_input(first)
        assert first.status_code == 200 and second.status_code == 429
        missing = charge - (70 - charge)
        assert second.headers["retry-after"] == str(math.ceil(missing / (70 / 60)))
        assert "70 input tokens per minute" in second.json()["error"]["message"]

    def test_a_prompt_larger_than_the_whole_limit_says_so(self, clock: FakeClock) -> None:
        with serve(clock, RateLimits(input_tokens_per_minute=20)) as emulator, httpx.Client(
            base_url=emulator.base_url, headers=HEADERS
        ) as http:
            response = http.post("/v1/messages", json=body(messages=[
                {"role": "user", "content": "y" * 400}]))
        assert response.status_code == 429
        assert "more than the whole limit" in response.json()["error"]["message"]
        # waiting cannot help: the server's verdict is not to retry
        assert response.headers["x-should-retry"] == "false"
        assert emulator.rate_limit_usage(MODEL).limited == 1

    def test_the_agentcore_client_sees_a_rate_limit_error_with_the_servers_wait(
        self, clock: FakeClock
    ) -> None:
        from agentcore.client import Client
        from agentcore.errors import RateLimitError

        with serve(clock, RateLimits(requests_per_minute=1)) as emulator, Client(
            api_key="k", base_url=emulator.base_url, max_retries=0
        ) as client:
            client.messages.create(model=MODEL, max_tokens=50,
                                   messages=[{"role": "user", "content": "hi"}])
            with pytest.raises(RateLimitError) as caught:
                client.messages.create(model=MODEL, max_tokens=50,
                                       messages=[{"role": "user", "content": "hi"}])
        assert caught.value.status_code == 429
        assert caught.value.error_type == "rate_limit_error"


class TestCacheReads:
    def test_cache_reads_do_not_count_toward_input_tokens_per_minute(
        self, clock: FakeClock
    ) -> None:
        system = [{"type": "text", "text": "Policy. " * 800,
                   "cache_control": {"type": "ephemeral"}}]
        request = body(system=system)
        with serve(clock, RateLimits(input_tokens_per_minute=2500)) as emulator, httpx.Client(
            base_url=emulator.base_url, headers=HEADERS
        ) as http:
            write = http.post("/v1/messages", json=request)
            read = http.post("/v1/messages", json=request)
            usage = emulator.rate_limit_usage(MODEL)
        written = write.json()["usage"]
        reused = read.json()["usage"]
        assert written["cache_creation_input_tokens"] > 1500
        assert write.status_code == 200
        # the whole prompt would not fit in what is left; only its uncached tail is charged
        assert reused["cache_read_input_tokens"] == written["cache_creation_input_tokens"]
        assert reused["cache_read_input_tokens"] > int(
            write.headers["anthropic-ratelimit-input-tokens-remaining"])
        assert read.status_code == 200
        assert usage.input_tokens == charged_input(write) + charged_input(read)
        assert usage.input_tokens_remaining == 2500 - usage.input_tokens

    def test_a_refused_request_writes_nothing_to_the_cache(self, clock: FakeClock) -> None:
        system = [{"type": "text", "text": "Policy. " * 800,
                   "cache_control": {"type": "ephemeral"}}]
        limits = RateLimits(requests_per_minute=1)
        with serve(clock, limits) as emulator, httpx.Client(
            base_url=emulator.base_url, headers=HEADERS
        ) as http:
            http.post("/v1/messages", json=body())
            refused = http.post("/v1/messages", json=body(system=system))
            clock.advance(60)
            admitted = http.post("/v1/messages", json=body(system=system))
        assert refused.status_code == 429
        assert admitted.json()["usage"]["cache_read_input_tokens"] == 0
        assert admitted.json()["usage"]["cache_creation_input_tokens"] > 0


class TestSpecs:
    @pytest.mark.parametrize(("spec", "expected"), [
        ("claude-sonnet-4-6=50rpm,30000itpm,8000otpm",
         ("claude-sonnet-4-6", RateLimits(50, 30000, 8000))),
        ("claude-haiku-4-5=8000OTPM", ("claude-haiku-4-5", RateLimits(
            output_tokens_per_minute=8000))),
        (" m = 1rpm , 2itpm ", ("m", RateLimits(1, 2))),
    ])
    def test_parse(self, spec: str, expected: tuple[str, RateLimits]) -> None:
        assert RateLimits.parse(spec) == expected

    @pytest.mark.parametrize(("spec", "message"), [
        ("claude-sonnet-4-6", "expected MODEL=LIMIT"),
        ("=50rpm", "expected MODEL=LIMIT"),
        ("m=", "expected MODEL=LIMIT"),
        ("m=50", "'50' is not a limit"),
        ("m=50rps", "'50rps' is not a limit"),
        ("m=-5rpm", "'-5rpm' is not a limit"),
        ("m=0rpm", "must be at least 1"),
        ("m=1rpm,2rpm", "rpm is given twice"),
        ("m=５0rpm", "is not a limit"),
        ("m=" + "9" * 5000 + "rpm", "at most 15 digits"),
    ])
    def test_bad_specs_say_what_is_wrong(self, spec: str, message: str) -> None:
        with pytest.raises(RateLimitSpecError, match=message):
            RateLimits.parse(spec)

    def test_limits_must_be_positive_whole_numbers(self) -> None:
        with pytest.raises(ValueError, match="requests_per_minute must be a positive"):
            RateLimits(requests_per_minute=0)
        with pytest.raises(ValueError, match="input_tokens_per_minute"):
            RateLimits(input_tokens_per_minute=1.5)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match=r"output_tokens_per_minute must be .* below 10"):
            RateLimits(output_tokens_per_minute=10**400)  # float() of it would overflow

    def test_limits_for_a_model_the_emulator_does_not_serve_are_refused(self) -> None:
        # a typo would otherwise leave the intended model silently unlimited
        with pytest.raises(RateLimitSpecError, match=r"'claude-sonet-4-6'.*not a model.*"
                                                     r"claude-sonnet-4-6"):
            Emulator(limits={"claude-sonet-4-6": RateLimits(requests_per_minute=5)})

    def test_the_command_line_refuses_limits_for_an_unknown_model(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        parser = argparse.ArgumentParser()
        add_arguments(parser)
        args = parser.parse_args(["--port", "0", "--limits", "claude-sonet-4-6=50rpm"])
        assert run(args) == 2
        assert "limits for 'claude-sonet-4-6': it is not a model the emulator serves" in (
            capsys.readouterr().err)

    def test_command_line_limits_are_repeatable_per_model(self) -> None:
        parser = argparse.ArgumentParser()
        add_arguments(parser)
        args = parser.parse_args(["--limits", "claude-sonnet-4-6=50rpm,8000otpm",
                                  "--limits", "claude-haiku-4-5=10rpm"])
        assert dict(args.limits) == {
            "claude-sonnet-4-6": RateLimits(50, None, 8000),
            "claude-haiku-4-5": RateLimits(10),
        }

    def test_a_bad_command_line_spec_is_a_usage_error(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        parser = argparse.ArgumentParser(prog="agentcore emulator")
        add_arguments(parser)
        with pytest.raises(SystemExit) as exited:
            parser.parse_args(["--limits", "claude-sonnet-4-6=fast"])
        assert exited.value.code == 2
        assert "'fast' is not a limit" in capsys.readouterr().err

    @pytest.mark.e2e
    def test_the_command_line_emulator_enforces_its_limits(self) -> None:
        with subprocess.Popen(
            [sys.executable, "-m", "agentcore.emulator", "--port", "0",
             "--limits", f"{MODEL}=1rpm,5000itpm"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        ) as process:
            try:
                assert process.stdout is not None
                url = process.stdout.readline().strip()
                with httpx.Client(base_url=url, headers=HEADERS) as http:
                    first = http.post("/v1/messages", json=body())
                    second = http.post("/v1/messages", json=body())
            finally:
                process.terminate()
                process.wait(timeout=10)
        assert first.status_code == 200
        assert ratelimit(first, "requests") == (1, 0)
        assert ratelimit(first, "input-tokens") == (5000, 5000 - charged_input(first))
        assert second.status_code == 429
        assert 59 <= int(second.headers["retry-after"]) <= 60

    def test_the_same_model_twice_is_refused(self, capsys: pytest.CaptureFixture[str]) -> None:
        parser = argparse.ArgumentParser()
        add_arguments(parser)
        args = parser.parse_args(["--port", "0", "--limits", f"{MODEL}=1rpm",
                                  "--limits", f"{MODEL}=2rpm"])
        assert run(args) == 2
        assert f"--limits given more than once for {MODEL}" in capsys.readouterr().err


class TestConcurrency:
    async def test_many_requests_at_once_are_charged_exactly_what_their_answers_report(
        self,
    ) -> None:
        now = [100.0]
        chance = random.Random(7)

        async def reply(request: dict[str, Any]) -> Any:
            await asyncio.sleep(chance.random() * 0.005)  # answers finish out of order
            return text_reply("ok " * chance.randint(1, 50))

        emulator = Emulator(reply, clock=lambda: now[0], limits={MODEL: RateLimits(
            requests_per_minute=500, input_tokens_per_minute=5000,
            output_tokens_per_minute=3000)})
        async with httpx.AsyncClient(transport=emulator.asgi_transport(),
                                     base_url="http://emulator", headers=HEADERS) as http:
            responses = await asyncio.gather(*(
                http.post("/v1/messages", json=body(max_tokens=chance.randint(1, 400)))
                for _ in range(300)))
        answered = [r.json()["usage"] for r in responses if r.status_code == 200]
        refused = [r for r in responses if r.status_code == 429]
        assert answered and refused and len(answered) + len(refused) == 300
        output = sum(usage["output_tokens"] for usage in answered)
        charged = sum(usage["input_tokens"] + usage["cache_creation_input_tokens"]
                      for usage in answered)
        assert emulator.rate_limit_usage(MODEL) == RateLimitUsage(
            MODEL, admitted=len(answered), limited=len(refused), input_tokens=charged,
            output_tokens=output, requests_remaining=500.0 - len(answered),
            input_tokens_remaining=5000.0 - charged, output_tokens_remaining=3000.0 - output)
