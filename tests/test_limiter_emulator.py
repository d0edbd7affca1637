"""The client's limiter against the emulator's account limits: same clock, same arithmetic.

The emulator and the limiter read one injected clock, and the client's sleeps move it, so the
limiter's pacing and the emulator's buckets can be compared exactly: a client that paces
itself is never answered 429, and what it thinks is left is what the emulator has left.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from agentcore import AsyncClient, Client, RateLimiter
from agentcore.emulator import Emulator, RateLimits
from tests.test_limiter import Clock, VirtualTime

MODEL = "claude-haiku-4-5"
API_KEY = "test-key-0123456789"


def question(number: int) -> list[dict[str, Any]]:
    return [{"role": "user", "content": f"Question {number}: " + "tell me more. " * (number % 7)}]


def test_the_limiters_view_matches_the_emulators_own_accounting() -> None:
    clock = Clock()
    limits = RateLimits(requests_per_minute=10, input_tokens_per_minute=600,
                        output_tokens_per_minute=1500)
    rate_limiter = RateLimiter(clock=clock)  # learns everything from the headers
    with Emulator(clock=clock, limits={MODEL: limits}) as emulator:
        client = Client(API_KEY, base_url=emulator.base_url, sleep=clock.sleep,
                        rate_limit=rate_limiter, max_retries=0)
        for number in range(30):
            client.messages.create(model=MODEL, max_tokens=100, messages=question(number))
        accounting = emulator.rate_limit_usage(MODEL)
        view = rate_limiter.state(MODEL)
        client.close()

    assert (accounting.admitted, accounting.limited) == (30, 0)
    assert clock.sleeps, "the limits were reached, so the client had to wait"
    assert (view["requests"].limit, view["input_tokens"].limit, view["output_tokens"].limit) == (
        10, 600, 1500
    )
    for name, remaining in [
        ("requests", accounting.requests_remaining),
        ("input_tokens", accounting.input_tokens_remaining),
        ("output_tokens", accounting.output_tokens_remaining),
    ]:
        available = view[name].available
        assert remaining is not None and available is not None
        # The headers round down to whole tokens, and the limiter follows them down.
        assert remaining - 1 < available <= remaining, name


def test_concurrent_runs_paced_by_the_limiter_are_never_answered_429() -> None:
    """20 runs of 2 calls at 10 requests a minute: a burst of 10, then one every 6 s."""
    clock = VirtualTime()
    limits = RateLimits(requests_per_minute=10)

    async def main(emulator: Emulator) -> list[float]:
        client = AsyncClient(API_KEY, base_url=emulator.base_url, sleep=clock.sleep,
                             rate_limit=RateLimiter(clock=clock), max_retries=0)

        async def run(number: int) -> float:
            for turn in range(2):
                await client.messages.create(model=MODEL, max_tokens=50,
                                             messages=question(number * 2 + turn))
            return clock.now

        tasks = [asyncio.ensure_future(run(number)) for number in range(20)]
        await clock.run(tasks, max_steps=10_000_000)
        await client.close()
        return [task.result() for task in tasks]

    with Emulator(clock=clock, limits={MODEL: limits}) as emulator:
        finished = asyncio.run(main(emulator))
        accounting = emulator.rate_limit_usage(MODEL)

    assert (accounting.admitted, accounting.limited) == (40, 0)
    assert max(finished) == pytest.approx(180.0, abs=0.1)
