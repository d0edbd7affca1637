"""A run says when its model call waits, before the wait starts.

Given a model that answers 429 or 529 before it answers, every driver (blocking and asyncio,
streamed and not) yields a :class:`ModelWaiting` carrying the retry's :class:`ModelWait`,
and only then sleeps: a console reading the events can show "rate limited, retrying in 4 s"
for the whole wait instead of after it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from agentcore import Agent, AsyncClient, Client, ModelSettings, RateLimit
from agentcore.client import RateLimiter
from agentcore.client._flow import Sleep
from agentcore.client._rate_limit import parse_rate_limit_headers
from agentcore.events import ModelWaiting, RunEvent, RunFinished, TextDelta
from agentcore.testing import ScriptedModel, error_reply, text_reply
from agentcore.types import ModelWait

MODEL = "claude-sonnet-4-6"


class Clock:
    """Records each sleep, and what the consumer had seen when it began."""

    def __init__(self) -> None:
        self.seen: list[RunEvent] = []
        self.sleeps: list[tuple[float, int]] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append((seconds, len(self.seen)))

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)


def _script() -> ScriptedModel:
    return ScriptedModel(
        [
            error_reply(429, "rate_limit_error", "slow down", headers={"retry-after": "4"}),
            error_reply(529, "overloaded_error", "busy"),
            text_reply("Order A-1 has shipped."),
        ]
    )


def _agent(clock: Clock) -> Agent:
    script = _script()
    return Agent(
        MODEL,
        "You help customers.",
        client=Client(api_key="test", transport=script, max_retries=2, sleep=clock.sleep),
        async_client=AsyncClient(
            api_key="test", transport=script, max_retries=2, sleep=clock.asleep
        ),
        model_settings=ModelSettings(cache=False),
    )


def _collect(events: Iterator[RunEvent], clock: Clock) -> list[RunEvent]:
    for event in events:
        clock.seen.append(event)
    return clock.seen


async def _acollect(events: AsyncIterator[RunEvent], clock: Clock) -> list[RunEvent]:
    async for event in events:
        clock.seen.append(event)
    return clock.seen


def _events(driver: str, clock: Clock) -> list[RunEvent]:
    agent = _agent(clock)
    if driver == "stream":
        return _collect(agent.stream("Where is A-1?"), clock)
    if driver == "astream":
        return asyncio.run(_acollect(agent.astream("Where is A-1?"), clock))
    state = agent.new_state("Where is A-1?")
    if driver == "drive":
        return _collect(agent._events(state, None, resumed=False, streaming=False), clock)
    events = agent._aevents(state, None, resumed=False, streaming=False)
    return asyncio.run(_acollect(events, clock))


@pytest.mark.parametrize("driver", ["stream", "astream", "drive", "adrive"])
def test_each_retry_is_announced_before_its_sleep(driver: str) -> None:
    clock = Clock()
    events = _events(driver, clock)

    waits = [event for event in events if isinstance(event, ModelWaiting)]
    assert [wait.wait.reason for wait in waits] == ["retry", "retry"]
    assert [wait.wait.detail for wait in waits] == ["rate_limit_error", "overloaded_error"]
    assert [(wait.wait.attempt, wait.wait.max_attempts) for wait in waits] == [(1, 2), (2, 2)]
    assert waits[0].wait.seconds == 4.0  # the server's retry-after
    # Each sleep began after the consumer had its ModelWaiting, for exactly that wait.
    positions = [events.index(wait) for wait in waits]
    assert [seen for _, seen in clock.sleeps] == [position + 1 for position in positions]
    assert [seconds for seconds, _ in clock.sleeps] == [wait.wait.seconds for wait in waits]
    assert isinstance(events[-1], RunFinished)
    assert events[-1].result.output == "Order A-1 has shipped."


@pytest.mark.parametrize("driver", ["stream", "astream"])
def test_text_streams_only_after_the_waits(driver: str) -> None:
    events = _events(driver, Clock())
    kinds = [type(event) for event in events]
    first_text = kinds.index(TextDelta)
    assert ModelWaiting not in kinds[first_text:]


def test_a_run_without_retries_yields_no_waits() -> None:
    script = ScriptedModel([text_reply("Hello.")])
    agent = Agent(MODEL, client=Client(api_key="test", transport=script))
    events = list(agent.stream("Hi"))
    assert not [event for event in events if isinstance(event, ModelWaiting)]


def test_a_wait_from_any_flow_sleep_is_carried_the_same_way() -> None:
    """A rate limiter's wait is a Sleep with a ModelWait like a retry's: the client's driver
    hands out whatever wait a flow's Sleep carries, before sleeping."""
    slept: list[float] = []
    client = Client(api_key="test", transport=ScriptedModel([]), sleep=slept.append)
    limit = ModelWait("rate_limit", 4.0, detail="input tokens per minute")

    def flow() -> Any:
        yield Sleep(4.0, limit)
        yield Sleep(0.5)  # no reason given: slept, not announced
        return "sent"

    steps = client._run_waits(flow())
    assert next(steps) is limit
    assert slept == []
    with pytest.raises(StopIteration) as stop:
        next(steps)
    assert stop.value.value == "sent"
    assert slept == [4.0, 0.5]


class LimiterClock(Clock):
    """A clock the rate limiter reads, moved forward by each sleep."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        self.now += seconds


def _drained_limiter(clock: LimiterClock) -> RateLimiter:
    """A limiter allowing one request a minute, whose last response said none are left."""
    limiter = RateLimiter(RateLimit(requests_per_minute=1), clock=clock)
    earlier = limiter.reserve(MODEL, b"", 0)
    assert earlier.ticket is not None
    limiter.settle(
        earlier.ticket,
        headers=parse_rate_limit_headers(
            {
                "anthropic-ratelimit-requests-limit": "1",
                "anthropic-ratelimit-requests-remaining": "0",
            }
        ),
    )
    return limiter


@pytest.mark.parametrize("driver", ["stream", "astream", "drive", "adrive"])
def test_a_rate_limiter_wait_is_announced_before_its_sleep(driver: str) -> None:
    """Given a client whose limiter has no request left this minute, every driver yields the
    limiter's ModelWaiting ("requests per minute", 60 s) before sleeping through it."""
    clock = LimiterClock()
    script = ScriptedModel([text_reply("Order A-1 has shipped.")])
    agent = Agent(
        MODEL,
        "You help customers.",
        client=Client(
            api_key="test",
            transport=script,
            rate_limit=_drained_limiter(clock),
            sleep=clock.sleep,
        ),
        async_client=AsyncClient(
            api_key="test",
            transport=script,
            rate_limit=_drained_limiter(clock),
            sleep=clock.asleep,
        ),
        model_settings=ModelSettings(cache=False),
    )
    state = agent.new_state("Where is A-1?")
    if driver == "stream":
        events = _collect(agent.stream("Where is A-1?"), clock)
    elif driver == "astream":
        events = asyncio.run(_acollect(agent.astream("Where is A-1?"), clock))
    elif driver == "drive":
        events = _collect(agent._events(state, None, resumed=False, streaming=False), clock)
    else:
        stream = agent._aevents(state, None, resumed=False, streaming=False)
        events = asyncio.run(_acollect(stream, clock))

    waits = [event for event in events if isinstance(event, ModelWaiting)]
    assert [(w.wait.reason, w.wait.detail, w.wait.seconds) for w in waits] == [
        ("rate_limit", "requests per minute", 60.0)
    ]
    assert clock.sleeps == [(60.0, events.index(waits[0]) + 1)]
    assert isinstance(events[-1], RunFinished)
    assert events[-1].result.output == "Order A-1 has shipped."
