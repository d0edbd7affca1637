"""The emulator for ``bench_rate_limits``, in a process of its own: an account with limits, and
a model that calls a tool a fixed number of times before it answers.

Usage: ``python -m tests.benchmarks._rate_limit_emulator MODEL=6000rpm,90000itpm TOOL_TURNS``.
Prints the base URL, then serves until terminated.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from agentcore.emulator import Emulator, RateLimits
from agentcore.testing import text_reply, tool_reply


def replies(tool_turns: int) -> Any:
    """A model that asks for ``lookup_order`` ``tool_turns`` times, then answers; a request
    without tools (the load that drains the account) gets a short answer."""

    def reply(body: dict[str, Any]) -> dict[str, Any]:
        if not body.get("tools"):
            return text_reply("ok")
        results = sum(
            1 for message in body["messages"]
            if message["role"] == "user" and isinstance(message["content"], list)
            and any(block.get("type") == "tool_result" for block in message["content"])
        )
        if results < tool_turns:
            return tool_reply(("lookup_order", {"order_id": f"A-{1000 + results}"}))
        return text_reply("Your order has shipped.")

    return reply


def main() -> None:
    model, limits = RateLimits.parse(sys.argv[1])
    with Emulator(replies(int(sys.argv[2])), limits={model: limits}) as emulator:
        print(emulator.base_url, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
