"""What automatic prompt caching saves, measured on the emulator.

A 10-turn conversation with a ~5,000-token system prompt is run twice against the emulator
(which bills input from the request size and honours ``cache_control`` like the API): once
with the requests as they are, once with prompt-cache breakpoints. The input cost of both
runs (uncached input, cache writes at 1.25x, cache reads at 0.1x) is compared. Measured two
ways: an ``Agent`` run of ten model turns (nine tool calls, then the answer) with
``cache=True`` against ``cache=False``, and a ten-question chat driven through the client
with :func:`place_cache_breakpoints`. Target: at least 70% less input cost with caching.
Also timed: placing the breakpoints on a 201-message conversation, against JSON-encoding
the same request (which every call does); target: cheaper than the encoding.
Run with ``make bench``; figures are printed (``-s``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from agentcore.agent import Agent, ModelSettings
from agentcore.caching import CachePlanner, place_cache_breakpoints
from agentcore.client import Client
from agentcore.emulator import Emulator
from agentcore.testing import text_reply, tool_reply
from agentcore.tools import tool
from agentcore.types import Usage
from agentcore.usage import cost_of

MODEL = "claude-sonnet-4-6"
TURNS = 10
SAVING_TARGET = 0.70
ENCODING_RATIO_TARGET = 1.0
# About 5,000 tokens at the emulator's four characters per token.
SYSTEM = "".join(
    f"Policy {n}: refunds over $50 need a manager; quote the order id; be brief. "
    for n in range(270)
)
TOOLS = [
    {
        "name": "lookup_order",
        "description": "Look up an order by id.",
        "input_schema": {"type": "object", "properties": {"order_id": {"type": "string"}}},
    }
]


def answer(body: dict[str, Any]) -> dict[str, Any]:
    turn = sum(1 for message in body["messages"] if message["role"] == "user")
    return text_reply(f"Noted, this is answer {turn}.")


def converse(client: Client, *, cache: bool) -> list[Usage]:
    """Run the conversation; return the usage of every turn."""
    history: list[dict[str, Any]] = []
    usages: list[Usage] = []
    for turn in range(1, TURNS + 1):
        history.append({"role": "user", "content": f"Question {turn}: where is order A-{turn}?"})
        params: dict[str, Any] = {
            "model": MODEL, "max_tokens": 64, "system": SYSTEM, "tools": TOOLS,
            "messages": history,
        }
        if cache:
            params = place_cache_breakpoints(params, model=MODEL)
        message = client.messages.create(**params)
        usages.append(message.usage)
        history.append(message.to_param())
    return usages


def input_cost(usages: list[Usage]) -> Decimal:
    total = Decimal(0)
    for usage in usages:
        cost = cost_of(usage.model_copy(update={"output_tokens": 0}), MODEL)
        assert cost is not None
        total += cost
    return total


def report(label: str, plain: list[Usage], cached: list[Usage]) -> float:
    """Print the comparison; return the fraction of input cost saved."""
    without, with_cache = input_cost(plain), input_cost(cached)
    saved = 1 - float(with_cache / without)
    print(
        f"\n{label}: {len(plain)} turns, {plain[0].input_tokens}-token first prompt on {MODEL}"
        f"\n  input cost without caching ${without:.6f}"
        f"\n  input cost with caching    ${with_cache:.6f}"
        f"\n  cache writes {sum(u.cache_creation_input_tokens or 0 for u in cached)} tokens, "
        f"reads {sum(u.cache_read_input_tokens or 0 for u in cached)} tokens"
        f"\n  saved {saved:.1%} (target {SAVING_TARGET:.0%})"
    )
    return saved


@tool
def lookup_order(order_id: str) -> str:
    """Look up an order by id.

    Args:
        order_id: The order number, such as "A-1".
    """
    return f"order {order_id}: shipped"


def agent_answer(body: dict[str, Any]) -> dict[str, Any]:
    """Nine lookups, one per turn, then the answer: ten model turns in one run."""
    results = sum(
        1
        for message in body["messages"]
        if isinstance(message["content"], list)
        for block in message["content"]
        if block.get("type") == "tool_result"
    )
    if results < TURNS - 1:
        return tool_reply(("lookup_order", {"order_id": f"A-{results + 1}"}))
    return text_reply("All nine orders have shipped.")


def agent_usages(*, cache: bool) -> list[Usage]:
    with Emulator(agent_answer) as emulator:
        client = Client(api_key="bench", base_url=emulator.base_url)
        settings = ModelSettings(cache=cache, max_tokens=256)
        agent = Agent(MODEL, SYSTEM, [lookup_order], client=client, model_settings=settings)
        result = agent.run("Check orders A-1 to A-9 one at a time.")
    assert result.status == "completed", result.status
    return [turn.usage for turn in result.turns]


def test_agent_with_caching_spends_far_less_on_input_over_ten_turns() -> None:
    plain, cached = agent_usages(cache=False), agent_usages(cache=True)

    saved = report("Agent(cache=True) vs Agent(cache=False)", plain, cached)

    assert len(plain) == len(cached) == TURNS
    assert plain[0].input_tokens >= 5000
    assert all(not (u.cache_read_input_tokens or u.cache_creation_input_tokens) for u in plain)
    assert saved >= SAVING_TARGET


def test_caching_cuts_input_cost_of_a_ten_turn_conversation() -> None:
    with Emulator(answer) as emulator:
        plain = converse(Client(api_key="bench", base_url=emulator.base_url), cache=False)
    with Emulator(answer) as emulator:
        cached = converse(Client(api_key="bench", base_url=emulator.base_url), cache=True)

    saved = report("client + place_cache_breakpoints, 10-question chat", plain, cached)

    assert plain[0].input_tokens >= 5000
    assert all(not (u.cache_read_input_tokens or u.cache_creation_input_tokens) for u in plain)
    assert saved >= SAVING_TARGET


def best_seconds(run: Callable[[], object], *, repeat: int = 2000) -> float:
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeat):
            run()
        best = min(best, (time.perf_counter() - start) / repeat)
    return best


def _conversation(turns: int) -> list[dict[str, Any]]:
    history: list[dict[str, Any]] = []
    for turn in range(turns):
        history.append({"role": "user", "content": f"Question {turn}"})
        history.append({"role": "assistant", "content": [{"type": "text", "text": "Answer"}]})
    history.append({"role": "user", "content": "Last question"})
    return history


def test_placing_breakpoints_each_turn_costs_less_than_encoding_the_request() -> None:
    """What an agent pays per turn: its planner measures only the messages appended since."""
    history = _conversation(100)
    params = {"model": MODEL, "max_tokens": 64, "system": SYSTEM, "tools": TOOLS,
              "messages": history}
    encoding = best_seconds(lambda: json.dumps(params), repeat=500)
    one_shot = best_seconds(lambda: place_cache_breakpoints(params, model=MODEL), repeat=500)

    appended = 200
    per_turn = float("inf")
    for _ in range(5):
        planner = CachePlanner()
        messages = list(history)
        grown = {**params, "messages": messages}
        planner.place(grown, model=MODEL)
        start = time.perf_counter()
        for turn in range(appended):
            messages.append({"role": "user" if turn % 2 else "assistant", "content": "More"})
            planner.place(grown, model=MODEL)
        per_turn = min(per_turn, (time.perf_counter() - start) / appended)

    print(
        f"\nbreakpoints on a {len(history)}-message conversation, per turn with the agent's "
        f"planner: {per_turn * 1e6:.1f} µs = {per_turn / encoding:.2f}x the JSON encoding every "
        f"request needs anyway ({encoding * 1e6:.1f} µs); placed from scratch: "
        f"{one_shot * 1e6:.1f} µs = {one_shot / encoding:.2f}x"
    )
    assert per_turn < ENCODING_RATIO_TARGET * encoding
