"""1000 concurrent async agent runs against one emulator process on loopback.

The emulator runs in its own process (``python -m agentcore.emulator --port 0``) with the
demo policy, so every request is validated, billed and answered over real HTTP. Each run
asks for an order's status, its tracking and the customer's email: the demo policy calls
the three tools one after another, then ends the turn, so a run is 3 tool turns plus the
final answer (4 model calls). Two variants play the same 1000 conversations:

- *client loop*: a hand-written loop on ``AsyncClient`` (send, run the tool, append);
- *agent*: ``Agent.arun`` with the same tools and an ``AsyncClient`` on the same settings.

Both send through one client holding 200 connections to the emulator.

Printed: runs/s, p50/p99 per-turn latency (one model call as the Agent records it; with
1000 runs on 200 connections it is mostly the wait for a free connection) and p50/p99 run
latency, and the agent's throughput relative to the client loop. Requirement:
zero errors (no retries are allowed, so a single server failure would show).
``AGENTCORE_BENCH_RUNS`` overrides the number of runs for a quick local check.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from agentcore.agent import Agent, ModelSettings
from agentcore.client import AsyncClient
from agentcore.tools import tool

RUNS = int(os.environ.get("AGENTCORE_BENCH_RUNS", "1000"))
TOOL_TURNS = 3
MODEL = "claude-sonnet-4-6"
SYSTEM = "You help customers with their orders. Be brief."
PROMPT = "Check the status of order A-1001, its shipment tracking, and the customer's email."
CONNECTIONS = 200
SHARDS = 25


@tool
async def lookup_order(order_id: str) -> dict[str, str]:
    """Look up an order's status.

    Args:
        order_id: Order number such as "A-1001".
    """
    return {"order_id": order_id, "status": "shipped"}


@tool
async def track_shipment(order_id: str) -> dict[str, str]:
    """Get the carrier tracking for a shipment.

    Args:
        order_id: Order number such as "A-1001".
    """
    return {"carrier": "UPS", "tracking": "1Z999AA10123456784"}


@tool
async def find_customer(order_id: str) -> dict[str, str]:
    """Find the customer's contact email.

    Args:
        order_id: Order number such as "A-1001".
    """
    return {"email": "jo@example.com"}


TOOLS = [lookup_order, track_shipment, find_customer]


@pytest.fixture(scope="module")
def emulator_url() -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "agentcore.emulator", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        process.terminate()
        process.wait(timeout=10)


class ShardedTransport(httpx.AsyncBaseTransport):
    """Spreads requests over ``shards`` small connection pools, ``per_shard`` connections
    each, admitting at most ``per_shard`` requests into a pool at once.

    httpcore's pool re-examines every queued request against every connection whenever one
    frees up: 1000 runs queued on one pool of 200 connections spent most of the client's CPU
    there (measured: 4x fewer runs/s than small pools). Waiting on a semaphore costs little.
    """

    def __init__(self, shards: int, per_shard: int, tls: ssl.SSLContext) -> None:
        self._gates = [asyncio.Semaphore(per_shard) for _ in range(shards)]
        self._pools = [
            httpx.AsyncHTTPTransport(
                verify=tls,  # shared: loading the CA bundle per pool costs ~80 ms each
                limits=httpx.Limits(max_connections=per_shard,
                                    max_keepalive_connections=per_shard),
            )
            for _ in range(shards)
        ]
        self._next = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        shard = self._next = (self._next + 1) % len(self._pools)
        async with self._gates[shard]:
            response = await self._pools[shard].handle_async_request(request)
            await response.aread()
        return response

    async def aclose(self) -> None:
        for pool in self._pools:
            await pool.aclose()


def make_client(url: str) -> AsyncClient:
    # No pool timeout: runs beyond the connections wait for one instead of failing.
    transport = ShardedTransport(SHARDS, CONNECTIONS // SHARDS, ssl.create_default_context())
    http = httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(60.0, pool=None))
    return AsyncClient(api_key="bench", base_url=url, http_client=http, max_retries=0)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def client_loop_run(client: AsyncClient, turn_latencies: list[float]) -> int:
    tools = {t.name: t for t in TOOLS}
    definitions = [t.definition() for t in TOOLS]
    messages: list[dict[str, Any]] = [{"role": "user", "content": PROMPT}]
    tool_turns = 0
    while True:
        started = time.perf_counter()
        message = await client.messages.create(model=MODEL, max_tokens=1024, system=SYSTEM,
                                               tools=definitions, messages=messages)
        turn_latencies.append(time.perf_counter() - started)
        if message.stop_reason != "tool_use":
            return tool_turns
        tool_turns += 1
        results = []
        for call in message.tool_uses:
            chosen = tools[call.name]
            output = await chosen.arun(chosen.validate(call.input))
            results.append({"type": "tool_result", "tool_use_id": call.id,
                            "content": output.content})
        messages += [message.to_param(), {"role": "user", "content": results}]


async def agent_run(agent: Agent, turn_latencies: list[float]) -> int:
    result = await agent.arun(PROMPT)
    if result.status != "completed":
        raise AssertionError(f"run ended {result.status}: {result.error}")
    turn_latencies.extend(turn.latency_s for turn in result.turns)
    return sum(1 for turn in result.turns if turn.stop_reason == "tool_use")


async def measure(name: str, url: str, use_agent: bool) -> float:
    client = make_client(url)
    settings = ModelSettings(cache=False)
    agent = Agent(MODEL, SYSTEM, TOOLS, async_client=client, model_settings=settings)
    turn_latencies: list[float] = []
    run_latencies: list[float] = []

    async def one() -> int:
        started = time.perf_counter()
        if use_agent:
            turns = await agent_run(agent, turn_latencies)
        else:
            turns = await client_loop_run(client, turn_latencies)
        run_latencies.append(time.perf_counter() - started)
        return turns

    started = time.perf_counter()
    outcomes = await asyncio.gather(*(one() for _ in range(RUNS)), return_exceptions=True)
    elapsed = time.perf_counter() - started
    await client.close()
    errors = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    assert errors == [], f"{len(errors)} runs failed, first: {errors[0]!r}"
    assert outcomes == [TOOL_TURNS] * RUNS
    runs_per_s = RUNS / elapsed
    print(
        f"\n{name:>12}: {RUNS} runs x {TOOL_TURNS} tool turns in {elapsed:.2f} s = "
        f"{runs_per_s:.0f} runs/s ({runs_per_s * (TOOL_TURNS + 1):.0f} model calls/s); "
        f"per turn p50 {statistics.median(turn_latencies) * 1000:.1f} ms, "
        f"p99 {percentile(turn_latencies, 0.99) * 1000:.1f} ms; "
        f"per run p50 {statistics.median(run_latencies) * 1000:.0f} ms, "
        f"p99 {percentile(run_latencies, 0.99) * 1000:.0f} ms"
    )
    return runs_per_s


def test_thousand_concurrent_agent_runs_complete_without_errors(emulator_url: str) -> None:
    baseline = asyncio.run(measure("client loop", emulator_url, use_agent=False))
    agent = asyncio.run(measure("agent", emulator_url, use_agent=True))
    print(f"agent throughput = {agent / baseline:.2f}x the hand-written client loop "
          f"(same emulator process, same run)")
