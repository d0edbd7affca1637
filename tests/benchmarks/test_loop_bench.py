"""Framework overhead per tool turn: Agent.run against a hand-written loop, in the same run.

Every variant plays the same conversation: N turns in which the model calls a no-op tool,
then a final text answer. Figures are per model call (N + 1 of them).

- *floor*: build the request dict and ``json.dumps`` it, nothing else;
- *hand-written*: the floor, plus sending it through ``httpx.Client(transport=MockTransport)``
  to a fake server that parses and keeps the request (as ScriptedModel does) and returns a
  prepared reply, ``json.loads`` of the reply, finding the ``tool_use``, calling the tool and
  appending both messages;
- *agent*: ``Agent.run`` with the same tool and ``ScriptedModel`` as the server (defaults,
  with prompt caching and logging as shipped: caching on, logging disabled).
- *limited*: the agent through a client with ``rate_limit`` set to limits it never reaches,
  so every call books, settles and hashes its cache prefixes but never waits: the cost of
  the limiter itself (printed, not asserted).

Each figure is the best of many interleaved runs (so a loaded machine slows every variant
alike). Target: the agent at most 2.5x the hand-written loop per turn, and time per turn flat
as turns grow (the conversation grows, so every variant's per-turn cost creeps up together).
Run with ``make bench``; figures are printed (``-s``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from agentcore.agent import Agent, ModelSettings
from agentcore.client import Client, RateLimit
from agentcore.testing import ScriptedModel, text_reply, tool_reply
from agentcore.tools import tool
from agentcore.usage import Limits

TARGET_RATIO = 2.5
TURN_COUNTS = (1, 10, 100)
MODEL = "claude-sonnet-4-6"
SYSTEM = "You look orders up for customers. Be brief."
PROMPT = "Where is my order A-1001?"
USAGE = {"input_tokens": 812, "output_tokens": 64}
TOOL_INPUT = {"order_id": "A-1001"}


@tool
def lookup_order(order_id: str) -> str:
    """Look up an order.

    Args:
        order_id: Order number such as "A-1001".
    """
    return "shipped"


def plain_lookup_order(order_id: str) -> str:
    return "shipped"


TOOLS = [lookup_order.definition()]


def script_for(turns: int) -> list[dict[str, Any]]:
    replies = [
        tool_reply(("lookup_order", TOOL_INPUT, f"toolu_{i:04d}"), usage=USAGE)
        for i in range(turns)
    ]
    return [*replies, text_reply("It has shipped.", usage=USAGE)]


def prepared_replies(turns: int) -> list[bytes]:
    replies = []
    for message in script_for(turns):
        replies.append(json.dumps({"id": "msg_1", "model": MODEL, **message}).encode())
    return replies


# --- the variants ------------------------------------------------------------------------------


def floor_loop(turns: int) -> Callable[[], None]:
    replies = [json.loads(body) for body in prepared_replies(turns)]

    def run() -> None:
        messages: list[dict[str, Any]] = [{"role": "user", "content": PROMPT}]
        for reply in replies:
            request = {
                "model": MODEL,
                "max_tokens": 4096,
                "system": SYSTEM,
                "tools": TOOLS,
                "messages": messages,
            }
            json.dumps(request)
            # Grow the conversation exactly as the other variants do, untimed work aside.
            messages.append({"role": "assistant", "content": reply["content"]})
            if reply["stop_reason"] == "tool_use":
                messages.append({"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": reply["content"][0]["id"],
                     "content": "shipped"}]})  # fmt: skip

    return run


def hand_written_loop(turns: int) -> Callable[[], None]:
    replies = prepared_replies(turns)

    def run() -> None:
        served = iter(replies)
        received: list[Any] = []

        def server(request: httpx.Request) -> httpx.Response:
            # The same server-side work as ScriptedModel: parse the request and keep it.
            received.append(json.loads(request.content))
            return httpx.Response(
                200,
                content=next(served),
                headers={"content-type": "application/json", "request-id": "req_1"},
            )

        with httpx.Client(
            transport=httpx.MockTransport(server), base_url="https://api.anthropic.com"
        ) as http:
            messages: list[dict[str, Any]] = [{"role": "user", "content": PROMPT}]
            while True:
                body = json.dumps({
                    "model": MODEL, "max_tokens": 4096, "system": SYSTEM, "tools": TOOLS,
                    "messages": messages,
                })  # fmt: skip
                response = http.post(
                    "/v1/messages",
                    content=body,
                    headers={
                        "x-api-key": "test",
                        "anthropic-version": "2023-06-01",
                        "content-type": "application/json",
                    },
                )
                message = json.loads(response.content)
                messages.append({"role": "assistant", "content": message["content"]})
                if message["stop_reason"] != "tool_use":
                    break
                results = []
                for block in message["content"]:
                    if block["type"] == "tool_use":
                        output = plain_lookup_order(**block["input"])
                        results.append(
                            {"type": "tool_result", "tool_use_id": block["id"], "content": output}
                        )
                messages.append({"role": "user", "content": results})

    return run


UNREACHED_LIMITS = RateLimit(
    requests_per_minute=10**12, input_tokens_per_minute=10**12, output_tokens_per_minute=10**12
)


def agent_loop(
    turns: int, *, cache: bool = True, rate_limit: RateLimit | None = None
) -> Callable[[], None]:
    script = script_for(turns)
    pending: list[tuple[Agent, ScriptedModel]] = []

    def prepare() -> None:
        model = ScriptedModel(script)
        client = Client(api_key="test", transport=model, rate_limit=rate_limit)
        agent = Agent(
            MODEL,
            SYSTEM,
            [lookup_order],
            client=client,
            limits=Limits(max_turns=turns + 1),
            model_settings=ModelSettings(cache=cache),
        )
        pending.append((agent, model))

    def run() -> None:
        agent, _ = pending.pop()
        result = agent.run(PROMPT)
        assert result.status == "completed", result.error
        assert len(result.turns) == turns + 1

    run.prepare = prepare  # type: ignore[attr-defined]
    return run


# --- measuring ---------------------------------------------------------------------------------


def measure(turns: int, budget_s: float) -> dict[str, float]:
    """Best µs per model call of each variant, runs interleaved so they share the load."""
    variants: dict[str, Callable[[], None]] = {
        "floor": floor_loop(turns),
        "hand": hand_written_loop(turns),
        "agent": agent_loop(turns),
        "uncached": agent_loop(turns, cache=False),
        "limited": agent_loop(turns, rate_limit=UNREACHED_LIMITS),
    }
    best = dict.fromkeys(variants, float("inf"))
    rounds = 0
    deadline = time.perf_counter() + budget_s
    while rounds < 5 or (time.perf_counter() < deadline and rounds < 2000):
        for name, run in variants.items():
            prepare = getattr(run, "prepare", None)
            if prepare is not None:
                prepare()
            began = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - began)
        rounds += 1
    return {name: seconds / (turns + 1) * 1e6 for name, seconds in best.items()}


def test_agent_overhead_per_tool_turn_is_within_target_and_linear() -> None:
    rows = []
    without_cache: list[float] = []
    limited: list[float] = []
    for turns in TURN_COUNTS:
        measure(turns, 0.2)  # warm imports and caches
        figures = measure(turns, 3.0 if turns < 100 else 8.0)
        rows.append((turns, figures["floor"], figures["hand"], figures["agent"]))
        without_cache.append(figures["uncached"])
        limited.append(figures["limited"])

    print()
    print(
        "turns   floor µs/turn   hand-written µs/turn   agent µs/turn   agent/hand   "
        "agent/floor   agent without cache breakpoints"
    )
    for (turns, floor, baseline, agent), uncached in zip(rows, without_cache, strict=True):
        print(
            f"{turns:>5}   {floor:>13.1f}   {baseline:>20.1f}   {agent:>13.1f}   "
            f"{agent / baseline:>9.2f}x   {agent / floor:>10.1f}x   "
            f"{uncached:>8.1f} µs/turn ({uncached / baseline:.2f}x hand-written)"
        )
    for (turns, _, baseline, agent), with_limiter in zip(rows, limited, strict=True):
        print(
            f"{turns:>5} turns, client with rate_limit (never waiting): {with_limiter:.1f} "
            f"µs/turn, {with_limiter / baseline:.2f}x hand-written, "
            f"{with_limiter - agent:+.1f} µs/turn over the agent without it"
        )
    per_turn = [agent for _, _, _, agent in rows]
    print(
        f"growth of agent µs/turn from 1 to {TURN_COUNTS[-1]} turns: "
        f"{per_turn[-1] / per_turn[0]:.2f}x (hand-written: {rows[-1][2] / rows[0][2]:.2f}x)"
    )

    for turns, _, baseline, agent in rows:
        assert agent / baseline <= TARGET_RATIO, (
            f"{turns} turns: agent {agent:.0f} µs/turn is {agent / baseline:.2f}x the "
            f"hand-written loop ({baseline:.0f} µs/turn); target {TARGET_RATIO}x"
        )
    # Linear total time: per-turn cost may creep with the growing history, but only as much
    # as the hand-written loop's does (plus noise), never by a factor of the turn count.
    agent_growth = rows[-1][3] / rows[0][3]
    baseline_growth = rows[-1][2] / rows[0][2]
    assert agent_growth <= max(2.0, baseline_growth * 1.5)
