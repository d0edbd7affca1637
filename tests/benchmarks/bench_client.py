"""Per-call overhead of the client, against a hand-written httpx + json call in the same run.

The baseline does the least a caller must: ``json.dumps`` the body, send it through the same
``httpx.MockTransport`` with fixed headers, and ``json.loads`` the reply. The client adds
parameter checks, header assembly, retry bookkeeping, typed parsing of the reply into a
``Message`` and the ``model.call`` event (disabled here, as it is unless logging is on).
Target: at most 1.5x the baseline per call, so the agent loop's per-turn budget (2.5x) is not
spent in the client. Run with ``make bench``; figures are printed (``-s``).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from agentcore import AsyncClient, Client

TARGET_RATIO = 1.5
CALLS = 2_000

REPLY = json.dumps({
    "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6",
    "content": [
        {"type": "text", "text": "Let me look that order up for you. " * 8},
        {"type": "tool_use", "id": "toolu_01", "name": "lookup_order",
         "input": {"order_id": "A-1001"}},
    ],
    "stop_reason": "tool_use", "stop_sequence": None,
    "usage": {"input_tokens": 812, "output_tokens": 64, "cache_creation_input_tokens": 0,
              "cache_read_input_tokens": 0},
}).encode()

MESSAGES: list[dict[str, Any]] = [
    {"role": "user", "content": "Where is my order A-1001? It was due on Monday."},
    {"role": "assistant", "content": [
        {"type": "text", "text": "Let me check."},
        {"type": "tool_use", "id": "toolu_00", "name": "lookup_order",
         "input": {"order_id": "A-1001"}}]},
    {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_00",
         "content": '{"status": "shipped", "carrier": "DHL", "eta": "2026-11-27"}'}]},
]
TOOLS = [{
    "name": "lookup_order", "description": "Look up an order by its number.",
    "input_schema": {"type": "object", "properties": {"order_id": {"type": "string"}},
                     "required": ["order_id"]},
}]


def answer(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        200, content=REPLY, headers={"content-type": "application/json", "request-id": "req_1"}
    )


def best_seconds(*runs: Callable[[], object], repeat: int = 5) -> list[float]:
    """The best CPU time of each run; runs are interleaved so load drift hits all alike."""
    best = [float("inf")] * len(runs)
    for _ in range(repeat):
        for position, run in enumerate(runs):
            start = time.process_time()
            run()
            best[position] = min(best[position], time.process_time() - start)
    return best


def test_sync_create_costs_little_over_hand_written_httpx() -> None:
    transport = httpx.MockTransport(answer)
    raw = httpx.Client(transport=transport)
    client = Client(api_key="bench-key", transport=transport)
    headers = {"x-api-key": "bench-key", "anthropic-version": "2023-06-01",
               "content-type": "application/json"}

    def baseline() -> None:
        for _ in range(CALLS):
            body = json.dumps({"model": "claude-sonnet-4-6", "max_tokens": 1024,
                               "messages": MESSAGES, "tools": TOOLS}).encode()
            request = httpx.Request("POST", "https://api.anthropic.com/v1/messages",
                                    headers=headers, content=body)
            json.loads(raw.send(request).content)

    def ours() -> None:
        for _ in range(CALLS):
            client.messages.create(model="claude-sonnet-4-6", max_tokens=1024,
                                   messages=MESSAGES, tools=TOOLS)

    base, mine = best_seconds(baseline, ours)
    ratio = mine / base
    print(f"\nsync create: baseline {base / CALLS * 1e6:.0f} µs/call, "
          f"client {mine / CALLS * 1e6:.0f} µs/call, ratio {ratio:.2f}x (target ≤{TARGET_RATIO}x)")
    assert ratio <= TARGET_RATIO


def test_async_create_costs_little_over_hand_written_httpx() -> None:
    transport = httpx.MockTransport(answer)
    headers = {"x-api-key": "bench-key", "anthropic-version": "2023-06-01",
               "content-type": "application/json"}

    async def baseline_calls() -> None:
        async with httpx.AsyncClient(transport=transport) as raw:
            for _ in range(CALLS):
                body = json.dumps({"model": "claude-sonnet-4-6", "max_tokens": 1024,
                                   "messages": MESSAGES, "tools": TOOLS}).encode()
                request = httpx.Request("POST", "https://api.anthropic.com/v1/messages",
                                        headers=headers, content=body)
                json.loads((await raw.send(request)).content)

    async def our_calls() -> None:
        async with AsyncClient(api_key="bench-key", transport=transport) as client:
            for _ in range(CALLS):
                await client.messages.create(model="claude-sonnet-4-6", max_tokens=1024,
                                             messages=MESSAGES, tools=TOOLS)

    base, mine = best_seconds(lambda: asyncio.run(baseline_calls()),
                              lambda: asyncio.run(our_calls()))
    ratio = mine / base
    print(f"\nasync create: baseline {base / CALLS * 1e6:.0f} µs/call, "
          f"client {mine / CALLS * 1e6:.0f} µs/call, ratio {ratio:.2f}x (target ≤{TARGET_RATIO}x)")
    assert ratio <= TARGET_RATIO
