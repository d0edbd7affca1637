"""Many concurrent agent runs on one account's rate limit: paced by the limiter, or retrying.

``RUNS`` agent runs start at once, each making ``TOOL_TURNS`` tool calls and then answering
(``TOOL_TURNS + 1`` model calls), against an emulator in its own process that enforces
``RPM`` requests per minute and a matching input-token limit (``RPM`` times the tokens a call
of this conversation is charged on average, measured first). Before each variant the
account is drained with small requests until it answers 429, as an account already in use
would be, so the runs meet the limit itself rather than a minute's burst. Three variants, in
the same run, each on a fresh account:

- *limiter*: ``Agent.arun`` on one ``AsyncClient(rate_limit=True)``, which learns the limits
  from the response headers (default ``max_retries``, 2);
- *retries*: the same without ``rate_limit``, retrying 429s as it always does, with
  ``RETRIES`` retries so that runs can get through at all;
- *sdk*: the official ``anthropic`` SDK's ``AsyncAnthropic`` with ``RETRIES`` retries, in a
  hand-written tool loop.

Printed per variant: requests answered per minute as a fraction of the limit (answers over
the time from the start to the last run's end), 429s as a share of all requests, runs
completed, and run latency p50/p99 (from the common start to each run's answer; a run that
failed, its retries spent, never answered and counts as infinitely late). Targets for
the limiter: at least 90% of the limit, at most 1% answered 429, and a p99 below the
retrying variants'.

The load is 300 runs on 1800 requests a minute by default (1200 calls, about 40 s a
variant); ``AGENTCORE_BENCH_RUNS=1000 AGENTCORE_BENCH_RPM=6000`` is the full load (about 3.5
minutes for the three variants). It needs the machine to itself: on a busy two-core machine one
process cannot send 100 requests a second, and the figures then measure the machine, not the
limit.
"""

from __future__ import annotations

import asyncio
import math
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import anthropic
import httpx
import httpx2

from agentcore import Agent, AsyncClient, ModelSettings, tool

RUNS = int(os.environ.get("AGENTCORE_BENCH_RUNS", "300"))
RPM = int(os.environ.get("AGENTCORE_BENCH_RPM", "1800"))
TOOL_TURNS = 3
RETRIES = 10
CONNECTIONS = 256
MODEL = "claude-haiku-4-5"
MAX_TOKENS = 1024
SYSTEM = "You look orders up for customers. Be brief."
PROMPT = "Where is my order A-1001?"
API_KEY = "bench-key-0123456789"


@tool
def lookup_order(order_id: str) -> str:
    """Look up an order.

    Args:
        order_id: Order number such as "A-1001".
    """
    return f"{order_id}: shipped"


class CountingTransport(httpx.AsyncBaseTransport):
    """An HTTP transport that counts the status of every response it passes on."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport(
            limits=httpx.Limits(max_connections=CONNECTIONS,
                                max_keepalive_connections=CONNECTIONS)
        )
        self.statuses: Counter[int] = Counter()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        self.statuses[response.status_code] += 1
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


class CountingTransport2(httpx2.AsyncBaseTransport):
    """The same for the official SDK, which sends through ``httpx2`` (same pool size)."""

    def __init__(self, statuses: Counter[int]) -> None:
        self.inner = httpx2.AsyncHTTPTransport(
            limits=httpx2.Limits(max_connections=CONNECTIONS,
                                 max_keepalive_connections=CONNECTIONS)
        )
        self.statuses = statuses

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self.inner.handle_async_request(request)
        self.statuses[response.status_code] += 1
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


@contextmanager
def account(limits: str) -> Iterator[str]:
    """An emulator process enforcing ``limits``; yields its base URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.benchmarks._rate_limit_emulator", limits,
         str(TOOL_TURNS)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), f"the emulator printed {url!r}"
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


async def drain(url: str) -> None:
    """Spend the account's requests until it answers 429 on every connection."""
    body = {"model": MODEL, "max_tokens": 1, "messages": [{"role": "user", "content": "x"}]}
    headers = {"x-api-key": API_KEY, "anthropic-version": "2023-06-01"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as http:

        async def until_limited() -> None:
            for _ in range(10 * RPM):
                if (await http.post("/v1/messages", json=body)).status_code == 429:
                    return

        await asyncio.gather(*(until_limited() for _ in range(32)))


def agent_for(client: AsyncClient) -> Agent:
    return Agent(MODEL, SYSTEM, [lookup_order], async_client=client,
                 model_settings=ModelSettings(max_tokens=MAX_TOKENS))


async def charged_input_tokens_per_call(url: str) -> float:
    """What one call of the benchmark's conversation is charged as input, on average."""
    async with AsyncClient(API_KEY, base_url=url) as client:
        result = await agent_for(client).arun(PROMPT)
    assert result.status == "completed", result.error
    usage = result.usage
    charged = usage.input_tokens + usage.cache_creation_input_tokens
    return charged / len(result.turns)


def agentcore_variant(rate_limited: bool) -> Callable[[str, CountingTransport], Any]:
    async def variant(url: str, transport: CountingTransport) -> list[tuple[bool, float]]:
        client = AsyncClient(API_KEY, base_url=url, transport=transport,
                             rate_limit=True if rate_limited else None,
                             max_retries=2 if rate_limited else RETRIES)
        agent = agent_for(client)

        async def one() -> bool:
            result = await agent.arun(PROMPT)
            return result.status == "completed"

        outcomes = await timed_runs(one)
        await client.close()
        return outcomes

    return variant


async def sdk_variant(url: str, transport: CountingTransport) -> list[tuple[bool, float]]:
    http = httpx2.AsyncClient(transport=CountingTransport2(transport.statuses), timeout=600)
    client = anthropic.AsyncAnthropic(api_key=API_KEY, base_url=url, max_retries=RETRIES,
                                      http_client=http)
    tools: Any = [lookup_order.definition()]

    async def one() -> bool:
        messages: list[Any] = [{"role": "user", "content": PROMPT}]
        try:
            for _ in range(TOOL_TURNS + 1):
                reply = await client.messages.create(model=MODEL, max_tokens=MAX_TOKENS,
                                                     system=SYSTEM, tools=tools,
                                                     messages=messages)
                if reply.stop_reason != "tool_use":
                    return True
                calls = [block for block in reply.content if block.type == "tool_use"]
                messages.append({"role": "assistant", "content": [
                    {"type": "tool_use", "id": call.id, "name": call.name, "input": call.input}
                    for call in calls
                ]})
                messages.append({"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": call.id,
                     "content": lookup_order(**call.input)}
                    for call in calls
                ]})
        except anthropic.APIError:
            return False
        return False

    outcomes = await timed_runs(one)
    await client.close()
    return outcomes


async def timed_runs(one: Callable[[], Awaitable[bool]]) -> list[tuple[bool, float]]:
    """Start ``RUNS`` runs at once; each one's outcome and seconds from the common start."""
    started = time.perf_counter()

    async def timed() -> tuple[bool, float]:
        completed = await one()
        return completed, time.perf_counter() - started

    return list(await asyncio.gather(*(timed() for _ in range(RUNS))))


@dataclass(frozen=True)
class Figures:
    name: str
    answered_per_minute: float
    requests: int
    limited: int
    completed: int
    p50_s: float
    p99_s: float

    @property
    def share_of_limit(self) -> float:
        return self.answered_per_minute / RPM

    @property
    def share_limited(self) -> float:
        return self.limited / self.requests if self.requests else 0.0


def measure(name: str, limits: str, variant: Callable[[str, CountingTransport], Any]) -> Figures:
    with account(limits) as url:
        asyncio.run(drain(url))
        transport = CountingTransport()
        outcomes: list[tuple[bool, float]] = asyncio.run(variant(url, transport))
    elapsed = max(seconds for _, seconds in outcomes)
    # A run that failed never delivered its answer: its latency is unbounded.
    latencies = sorted(seconds if completed else math.inf for completed, seconds in outcomes)
    answered = transport.statuses[200]
    return Figures(
        name=name,
        answered_per_minute=answered / elapsed * 60.0,
        requests=sum(transport.statuses.values()),
        limited=transport.statuses[429],
        completed=sum(completed for completed, _ in outcomes),
        p50_s=statistics.median(latencies),
        p99_s=latencies[min(len(latencies) - 1, round(0.99 * len(latencies)) - 1)],
    )


def test_limiter_uses_the_limit_fully_with_almost_no_429s() -> None:
    with account(f"{MODEL}=1000000rpm") as url:
        per_call = asyncio.run(charged_input_tokens_per_call(url))
    itpm = max(1, round(RPM * per_call))
    limits = f"{MODEL}={RPM}rpm,{itpm}itpm"
    rows = [
        measure("agentcore, limiter", limits, agentcore_variant(rate_limited=True)),
        measure(f"agentcore, {RETRIES} retries", limits, agentcore_variant(rate_limited=False)),
        measure(f"anthropic SDK, {RETRIES} retries", limits, sdk_variant),
    ]
    print(f"\n{RUNS} concurrent runs x {TOOL_TURNS} tool turns ({TOOL_TURNS + 1} calls each) "
          f"on {RPM} requests/min and {itpm} input tokens/min ({per_call:.0f} per call), "
          "account drained first:")
    print(f"{'variant':<30} {'of limit':>9} {'requests':>9} {'429s':>7} {'429 share':>10} "
          f"{'completed':>10} {'p50 s':>7} {'p99 s':>7}   (failed runs: never, 'inf')")
    for row in rows:
        print(f"{row.name:<30} {row.share_of_limit:>8.1%} {row.requests:>9} {row.limited:>7} "
              f"{row.share_limited:>10.2%} {row.completed:>10} {row.p50_s:>7.1f} "
              f"{row.p99_s:>7.1f}")
    limiter, *retrying = rows
    best_retrying = min(row.p99_s for row in retrying)
    print(f"limiter targets: >= 90% of the limit: {limiter.share_of_limit:.1%}; <= 1% 429s: "
          f"{limiter.share_limited:.2%}; p99 below the retrying variants' "
          f"({best_retrying:.1f} s): {limiter.p99_s:.1f} s")
    assert limiter.completed == RUNS
