"""What staying inside a small context window costs, measured on the emulator.

A 60-turn run whose tool returns 20 KB per call (59 pages, then the answer) is run against a
40,000-token window, where the agent compacts (the default ``ClearToolResults``), and against
a 1,000,000-token window, where it never needs to. Both runs are billed by the emulator from
the requests as sent, with prompt caching. Printed: the input dollars of the compacted run as
a ratio of the roomy one (target: at most 1.0x, since compaction keeps each request small),
the compactions made, and the share of input the prompt cache saved in each run against the
same run without caching (target: at least 35% with compaction; with 5,000 new tokens a turn
in a 40,000-token window, writing them to the cache is most of what a turn costs).

A second measure keeps the caching benchmark's ten-turn shape (a 5,000-token system prompt)
with tool results large enough that the conversation is compacted once on the way: the
input saving of caching must stay at least 70% through that compaction.
Run with ``make bench``; figures are printed (``-s``).
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from agentcore import Agent, Client, ContextSettings, RunResult, tool
from agentcore.emulator import Emulator
from agentcore.log import capture_events
from agentcore.testing import text_reply, tool_reply
from agentcore.testing._models import DEFAULT_MODELS
from agentcore.usage import cost_of

MODEL = "claude-sonnet-4-6"
COST_RATIO_TARGET = 1.0
SAVING_TARGET = 0.70
# In a 40,000-token window each turn's new 5,000-token result is an eighth of the prompt and
# is written to the cache at 1.25x, and each compaction writes the conversation once more, so
# caching cannot save what it saves on a long prompt; this is the floor measured with margin.
LONG_RUN_SAVING_TARGET = 0.35
SYSTEM = "".join(
    f"Policy {n}: refunds over $50 need a manager; quote the order id; be brief. "
    for n in range(270)
)


def page_text(page: int, chars: int) -> str:
    line = f"page {page}: order A-{page:04d} shipped, parcel {page * 7919 % 100_000:05d}. "
    return (line * (chars // len(line) + 1))[:chars]


def results_in(body: dict[str, Any]) -> int:
    return sum(
        1
        for message in body["messages"]
        if isinstance(message["content"], list)
        for block in message["content"]
        if block.get("type") == "tool_result"
    )


def run(turns: int, result_chars: int, window: int, *, cache: bool) -> tuple[RunResult, int]:
    """One run of ``turns`` model turns; returns it and the number of compactions."""

    @tool
    def fetch_page(page: int) -> str:
        """Fetch one page of the shipping log.

        Args:
            page: Page number, from 1.
        """
        return page_text(page, result_chars)

    def answer(body: dict[str, Any]) -> dict[str, Any]:
        done = results_in(body)
        if done < turns - 1:
            return tool_reply(("fetch_page", {"page": done + 1}))
        return text_reply(f"Read {done} pages.")

    models = [dataclasses.replace(entry, context_window=window) for entry in DEFAULT_MODELS]
    with Emulator(answer, models=models) as emulator:
        agent = Agent(
            MODEL,
            SYSTEM,
            [fetch_page],
            client=Client(api_key="bench", base_url=emulator.base_url),
            max_turns=turns + 10,
            max_tokens=1024,
            cache=cache,
            context=ContextSettings(window=window),
        )
        with capture_events() as events:
            result = agent.run("Read the whole shipping log.")
    assert result.status == "completed", result.error
    assert len(result.turns) == turns
    compactions = sum(1 for event in events if event["event"] == "context.compaction")
    return result, compactions


def input_cost(result: RunResult) -> Decimal:
    total = Decimal(0)
    for turn in result.turns:
        cost = cost_of(turn.usage.model_copy(update={"output_tokens": 0}), turn.model)
        assert cost is not None
        total += cost
    return total


def test_a_sixty_turn_run_in_a_small_window_costs_no_more_than_one_with_room() -> None:
    small, compactions = run(60, 20_000, 40_000, cache=True)
    large, none = run(60, 20_000, 1_000_000, cache=True)
    small_plain, _ = run(60, 20_000, 40_000, cache=False)
    large_plain, _ = run(60, 20_000, 1_000_000, cache=False)

    ratio = float(input_cost(small) / input_cost(large))
    small_saving = 1 - float(input_cost(small) / input_cost(small_plain))
    large_saving = 1 - float(input_cost(large) / input_cost(large_plain))
    print(
        f"\n60 turns, 20 KB tool results, {MODEL}, prompt caching on"
        f"\n  40,000-token window:    ${input_cost(small):.4f} input, {compactions} compactions"
        f"\n  1,000,000-token window: ${input_cost(large):.4f} input, {none} compactions"
        f"\n  ratio {ratio:.2f}x (target <= {COST_RATIO_TARGET:.1f}x)"
        f"\n  cache saving: {small_saving:.1%} with compaction, {large_saving:.1%} without "
        f"(target >= {LONG_RUN_SAVING_TARGET:.0%})"
    )
    assert compactions >= 5 and none == 0
    assert ratio <= COST_RATIO_TARGET
    assert small_saving >= LONG_RUN_SAVING_TARGET


def test_caching_keeps_its_saving_through_a_compaction_in_ten_turns() -> None:
    cached, compactions = run(10, 2_000, 12_000, cache=True)
    plain, _ = run(10, 2_000, 12_000, cache=False)

    saving = 1 - float(input_cost(cached) / input_cost(plain))
    print(
        f"\n10 turns, 5,000-token system prompt, 2 KB tool results, 12,000-token window: "
        f"{compactions} compaction(s); caching saved {saving:.1%} of input "
        f"(target >= {SAVING_TARGET:.0%})"
    )
    assert compactions >= 1
    assert saving >= SAVING_TARGET
