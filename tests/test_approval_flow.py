"""Approval gates inside real agent runs: policies, each decision, pause and resume."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from agentcore.agent import Agent
from agentcore.approval import AlwaysAllow, ApprovalRequest, Approve, Decision, Deny, Edit
from agentcore.approval.approvers import CallbackApprover, ScriptedApprover
from agentcore.client import AsyncClient, Client
from agentcore.errors import ApprovalError, RunStateError
from agentcore.state import PendingApproval, RunState
from agentcore.testing import ScriptedModel, text_reply, tool_reply
from agentcore.tools import tool
from tests.approval_flow_app import (
    LOOKUP,
    MODEL,
    REFUND,
    TOOLS,
    lookup_order,
    refund_order,
)


def executed(ledger: Path) -> list[str]:
    return ledger.read_text().splitlines()


def make_agent(
    replies: Sequence[dict[str, Any]], approver: object | None = None, **options: Any
) -> tuple[Agent, ScriptedModel]:
    model = ScriptedModel(replies)
    agent = Agent(
        MODEL,
        tools=options.pop("tools", TOOLS),
        client=Client(api_key="test", transport=model),
        async_client=AsyncClient(api_key="test", transport=model),
        approver=approver,
        **options,
    )
    return agent, model


def tool_results(request: dict[str, Any]) -> list[dict[str, Any]]:
    """The tool_result blocks of the last user message the model received."""
    content: list[dict[str, Any]] = request["messages"][-1]["content"]
    return [block for block in content if block["type"] == "tool_result"]


class TestInteractiveDecisions:
    def test_a_free_call_runs_before_the_person_is_asked_in_a_mixed_turn(
        self, ledger: Path
    ) -> None:
        seen_when_asked: list[list[str]] = []

        def approve(request: ApprovalRequest) -> Decision:
            seen_when_asked.append(executed(ledger))
            return Approve(request.arguments_hash)

        agent, model = make_agent(
            [tool_reply(LOOKUP, REFUND), text_reply("Refunded.")], CallbackApprover(approve)
        )
        result = agent.run("Refund half of A-1001")
        assert result.status == "completed"
        assert seen_when_asked == [["lookup A-1001"]]
        assert executed(ledger) == ["lookup A-1001", "refund A-1001 2500"]
        assert tool_results(model.requests[1]) == [
            {"type": "tool_result", "tool_use_id": "toolu_lookup",
             "content": "order A-1001: 2 items, paid 80.00 USD"},
            {"type": "tool_result", "tool_use_id": "toolu_refund",
             "content": "refunded 2500 cents on A-1001"},
        ]  # fmt: skip

    def test_the_person_sees_the_call_with_its_reason_and_masked_secrets(
        self, ledger: Path
    ) -> None:
        approver = ScriptedApprover([Approve()])
        call = ("refund_order", {"order_id": "A-1", "amount_cents": 5, "api_key": "sk-1"}, "t1")
        agent, _ = make_agent([tool_reply(call), text_reply("ok")], approver)
        agent.run("Refund")
        [request] = approver.requests
        assert (request.call_id, request.tool_name, request.reason) == (
            "t1",
            "refund_order",
            "tool 'refund_order' is marked sensitive",
        )
        assert request.description == refund_order.description
        assert request.display_arguments() == {
            "order_id": "A-1",
            "amount_cents": 5,
            "api_key": "[REDACTED]",
        }

    def test_a_denial_reaches_the_model_as_an_error_result_and_nothing_runs(
        self, ledger: Path
    ) -> None:
        agent, model = make_agent(
            [tool_reply(REFUND), text_reply("Sorry, I cannot.")],
            ScriptedApprover([Deny("refunds need a manager")]),
        )
        result = agent.run("Refund")
        assert (result.status, result.output) == ("completed", "Sorry, I cannot.")
        assert executed(ledger) == []
        assert tool_results(model.requests[1]) == [
            {
                "type": "tool_result",
                "tool_use_id": "toolu_refund",
                "content": "The user denied this action: refunds need a manager",
                "is_error": True,
            }
        ]

    def test_an_approved_edit_runs_with_the_edited_arguments(self, ledger: Path) -> None:
        edit = Edit({"order_id": "A-1001", "amount_cents": 1000})
        agent, _ = make_agent([tool_reply(REFUND), text_reply("ok")], ScriptedApprover([edit]))
        agent.run("Refund")
        assert executed(ledger) == ["refund A-1001 1000"]

    def test_an_invalid_edit_is_refused_with_the_reason_and_nothing_runs(
        self, ledger: Path
    ) -> None:
        edit = Edit({"order_id": "A-1001", "amount_cents": -5})
        agent, model = make_agent([tool_reply(REFUND), text_reply("ok")], ScriptedApprover([edit]))
        agent.run("Refund")
        assert executed(ledger) == []
        [result] = tool_results(model.requests[1])
        assert result == {
            "type": "tool_result",
            "tool_use_id": "toolu_refund",
            "content": "The person approving this call edited its arguments, but the edit is "
            "invalid, so the action was not run: amount_cents: -5 is too small (expected an "
            "integer > 0)",
            "is_error": True,
        }

    def test_always_allow_stops_asking_for_that_tool_for_the_rest_of_the_run(
        self, ledger: Path
    ) -> None:
        second = ("refund_order", {"order_id": "B-2", "amount_cents": 100}, "toolu_2")
        approver = ScriptedApprover([AlwaysAllow()])
        agent, _ = make_agent(
            [tool_reply(REFUND), tool_reply(second), text_reply("Both refunded.")], approver
        )
        result = agent.run("Refund both")
        assert result.status == "completed"
        assert [request.call_id for request in approver.requests] == ["toolu_refund"]
        assert executed(ledger) == ["refund A-1001 2500", "refund B-2 100"]

    def test_a_failing_approver_denies(self, ledger: Path) -> None:
        def broken(request: ApprovalRequest) -> Decision:
            raise TimeoutError("the approval service timed out")

        agent, model = make_agent([tool_reply(REFUND), text_reply("ok")], CallbackApprover(broken))
        agent.run("Refund")
        assert executed(ledger) == []
        assert tool_results(model.requests[1])[0]["content"] == (
            "This action was denied automatically, without asking a person: the approver failed "
            "(TimeoutError); denied for safety"
        )

    async def test_the_async_driver_applies_the_same_decisions(self, ledger: Path) -> None:
        class AsyncDenier:
            async def decide(self, request: ApprovalRequest) -> Decision:
                await asyncio.sleep(0)
                return Deny("not today")

        agent, model = make_agent([tool_reply(LOOKUP, REFUND), text_reply("ok")], AsyncDenier())
        result = await agent.arun("Refund")
        assert result.status == "completed"
        assert executed(ledger) == ["lookup A-1001"]
        assert [r.get("is_error", False) for r in tool_results(model.requests[1])] == [
            False,
            True,
        ]


class TestPerCallPolicy:
    def test_only_calls_the_policy_flags_wait_for_approval(self, ledger: Path) -> None:
        @tool(requires_approval=lambda arguments: arguments["amount_cents"] > 5000)
        def refund(order_id: str, amount_cents: int) -> str:
            """Refund an order.

            Args:
                order_id: Order number.
                amount_cents: Amount in cents.
            """
            return f"refunded {amount_cents}"

        small = ("refund", {"order_id": "A", "amount_cents": 4000}, "small")
        large = ("refund", {"order_id": "B", "amount_cents": 6000}, "large")
        agent, _ = make_agent([tool_reply(small, large)], tools=[refund])
        result = agent.run("Refund both")
        assert result.status == "paused"
        assert result.pending == [
            PendingApproval(
                "large",
                "refund",
                {"order_id": "B", "amount_cents": 6000},
                "the approval policy of tool 'refund' asks for these arguments",
                result.pending[0].arguments_hash,
            )
        ]

    def test_an_agent_level_policy_can_waive_approval_for_read_only_tools(
        self, ledger: Path
    ) -> None:
        @tool(sensitive=True)
        def lookup_invoice(invoice_id: str) -> str:
            """Read an invoice.

            Args:
                invoice_id: Invoice number.
            """
            return "invoice"

        def reads_are_fine(tool: Any, arguments: dict[str, Any]) -> bool | None:
            return False if tool.name.startswith("lookup_") else None

        call = ("lookup_invoice", {"invoice_id": "I-1"}, "t1")
        agent, _ = make_agent(
            [tool_reply(call), text_reply("ok")],
            tools=[lookup_invoice],
            approval_policy=reads_are_fine,
        )
        assert agent.run("Show invoice").status == "completed"


class TestDeferred:
    def paused_run(self, ledger: Path) -> RunState:
        agent, _ = make_agent([tool_reply(LOOKUP, REFUND)])
        result = agent.run("Refund half of A-1001")
        assert result.status == "paused"
        assert executed(ledger) == ["lookup A-1001"]
        return result.state

    def test_pause_serialize_resume_runs_only_the_approved_call(self, ledger: Path) -> None:
        state = self.paused_run(ledger)
        text = state.to_json()
        approve = Approve(arguments_hash=state.pending_approvals()[0].arguments_hash)
        agent, model = make_agent([text_reply("Refunded.")])
        result = agent.resume(RunState.from_json(text), {"toolu_refund": approve})
        assert (result.status, result.output) == ("completed", "Refunded.")
        assert executed(ledger) == ["lookup A-1001", "refund A-1001 2500"]
        assert [r["tool_use_id"] for r in tool_results(model.requests[0])] == [
            "toolu_lookup",
            "toolu_refund",
        ]

    def test_resuming_without_a_decision_keeps_the_call_waiting(self, ledger: Path) -> None:
        state = self.paused_run(ledger)
        agent, _ = make_agent([])
        result = agent.resume(RunState.from_json(state.to_json()), {})
        assert (result.status, [p.call_id for p in result.pending]) == ("paused", ["toolu_refund"])
        assert executed(ledger) == ["lookup A-1001"]

    def test_a_decision_for_an_unknown_call_is_refused(self, ledger: Path) -> None:
        state = self.paused_run(ledger)
        agent, _ = make_agent([])
        with pytest.raises(ApprovalError, match="unknown call ids"):
            agent.resume(state, {"toolu_nope": Approve()})
        assert executed(ledger) == ["lookup A-1001"]

    def test_an_approval_bound_to_other_arguments_is_a_denial(self, ledger: Path) -> None:
        state = self.paused_run(ledger)
        agent, model = make_agent([text_reply("ok")])
        agent.resume(state, {"toolu_refund": Approve(arguments_hash="0" * 64)})
        assert executed(ledger) == ["lookup A-1001"]
        assert tool_results(model.requests[0])[1]["content"] == (
            "The user denied this action: the decision was made for different arguments than "
            "the call now has; denied for safety"
        )

    def test_arguments_changed_in_the_stored_state_are_not_run(self, ledger: Path) -> None:
        text = self.paused_run(ledger).to_json()
        text = text.replace('"amount_cents": 2500', '"amount_cents": 9999')
        agent, _ = make_agent([text_reply("ok")])
        agent.resume(RunState.from_json(text), {"toolu_refund": Approve()})
        assert executed(ledger) == ["lookup A-1001"]

    def test_corrupt_state_is_rejected_with_a_clear_error(self, ledger: Path) -> None:
        text = self.paused_run(ledger).to_json()
        with pytest.raises(RunStateError, match="run state is not valid JSON"):
            RunState.from_json(text[: len(text) // 2])


def test_tools_module_is_importable_for_other_processes() -> None:
    assert [t.name for t in TOOLS] == [lookup_order.name, refund_order.name]
