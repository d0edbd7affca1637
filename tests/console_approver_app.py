"""A tiny program a person drives through a terminal in tests/test_console_approver.py.

``python console_approver_app.py request`` asks a ConsoleApprover about one refund and prints
``DECISION: <json>``. ``python console_approver_app.py agent`` runs a whole Agent (scripted
model) whose refund needs approval, and prints ``REFUNDS: <json>`` (the lines the refund wrote
to ``$LEDGER``) and ``RESULT: <json>``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from agentcore.approval import ApprovalRequest
from agentcore.approval.console import ConsoleApprover
from tests.approval_flow_app import refund_order


def ask_once() -> None:
    request = ApprovalRequest.for_call(
        refund_order,
        "toolu_1",
        {"order_id": "A-1001", "amount_cents": 5000, "api_key": "sk-live-secret"},
        "tool 'refund_order' is marked sensitive",
    )
    decision = ConsoleApprover().decide(request)
    print("DECISION: " + json.dumps(decision.to_dict()), flush=True)


def run_agent() -> None:
    from agentcore.agent import Agent
    from agentcore.client import Client
    from agentcore.testing import ScriptedModel, text_reply, tool_reply

    model = ScriptedModel(
        [
            tool_reply(("refund_order", {"order_id": "A-1001", "amount_cents": 5000}, "toolu_1")),
            text_reply("Done."),
        ]
    )
    agent = Agent(
        "claude-sonnet-4-5",
        tools=[refund_order],
        client=Client(api_key="test", transport=model),
        approver=ConsoleApprover(),
    )
    result = agent.run("Refund order A-1001")
    tool_results = [
        block
        for message in result.messages
        if message["role"] == "user" and isinstance(message["content"], list)
        for block in message["content"]
        if block.get("type") == "tool_result"
    ]
    refunds = Path(os.environ["LEDGER"]).read_text(encoding="utf-8").splitlines()
    print("REFUNDS: " + json.dumps(refunds), flush=True)
    print("RESULT: " + json.dumps({"status": result.status, "tool_results": tool_results}))


if __name__ == "__main__":
    run_agent() if sys.argv[1:] == ["agent"] else ask_once()
