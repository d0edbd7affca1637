"""The small support app whose tools the tests share, in their own process and in others.

``lookup_order`` and the sensitive ``refund_order`` are the order tools of test_agent, test_loop,
test_approval_flow, test_durable, the CLI tests and console_approver_app.

Its tools write to a ledger file (``$LEDGER``) so a test can count real executions across
processes; ``$CRASH_IN_REFUND=1`` makes the refund kill its process mid-way, after its side
effect, like a machine losing power. :func:`build_agent` is what
``agentcore runs resume --agent tests.approval_flow_app:build_agent`` imports (its journal wired
by hand), :func:`build_stored_agent` the same agent given the store (``Agent(store=...)``);
their model answers every call with "All done." and writes the requests it saw to ``$SEEN``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field

from agentcore.agent import Agent
from agentcore.client import Client
from agentcore.store import RunStore
from agentcore.store.durable import ExecutionJournal
from agentcore.testing import ScriptedModel, text_reply
from agentcore.tools import Tool, tool

MODEL = "claude-sonnet-4-5"


def _ledger(line: str) -> None:
    with Path(os.environ["LEDGER"]).open("a", encoding="utf-8") as ledger:
        ledger.write(line + "\n")


@tool
def lookup_order(order_id: str) -> str:
    """Look up an order.

    Args:
        order_id: Order number such as "A-1001".
    """
    _ledger(f"lookup {order_id}")
    return f"order {order_id}: 2 items, paid 80.00 USD"


@tool(sensitive=True, secret_fields=("api_key",))
def refund_order(
    order_id: str, amount_cents: Annotated[int, Field(gt=0)], api_key: str = ""
) -> str:
    """Refund part or all of an order.

    Args:
        order_id: Order number such as "A-1001".
        amount_cents: Amount to refund, in cents.
        api_key: Payment provider key.
    """
    _ledger(f"refund {order_id} {amount_cents}")
    if os.environ.get("CRASH_IN_REFUND") == "1":
        os._exit(70)
    return f"refunded {amount_cents} cents on {order_id}"


TOOLS: Sequence[Tool] = (lookup_order, refund_order)

# The calls tests script the model to make: (tool name, arguments, tool_use id).
LOOKUP = ("lookup_order", {"order_id": "A-1001"}, "toolu_lookup")
REFUND = ("refund_order", {"order_id": "A-1001", "amount_cents": 2500}, "toolu_refund")


def _final_answer(body: dict[str, Any]) -> dict[str, Any]:
    seen = os.environ.get("SEEN")
    if seen:
        Path(seen).write_text(json.dumps(body["messages"]), encoding="utf-8")
    return text_reply("All done.")


def build_agent(store: RunStore) -> Agent:
    """The agent as the app builds it in any process: journaled tools, no approver."""
    journal = ExecutionJournal(store)
    return Agent(
        MODEL,
        tools=TOOLS,
        client=Client(api_key="test", transport=ScriptedModel(_final_answer)),
        before_tool=[journal.before_tool],
        after_tool=[journal.after_tool],
    )


def build_stored_agent(store: RunStore) -> Agent:
    """The same agent keeping its runs in ``store`` itself."""
    return Agent(
        MODEL,
        tools=TOOLS,
        client=Client(api_key="test", transport=ScriptedModel(_final_answer)),
        store=store,
    )
