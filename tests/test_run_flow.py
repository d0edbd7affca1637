"""The flow of a run, driven by hand: what it asks a driver to do, in order, with no I/O."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from agentcore._run_flow import RunFlow, run_flow
from agentcore.actions import AskApproval, CallModel, CheckApproval, RunTools
from agentcore.approval import Approve, Decision
from agentcore.client import Client
from agentcore.drivers import DriverSettings, drive
from agentcore.errors import APIConnectionError, ConfigurationError
from agentcore.events import RunFinished, ToolResultEvent
from agentcore.loop import AgentLoop, LoopConfig, ToolOutcome
from agentcore.state import RunState
from agentcore.testing import ScriptedModel, tool_reply
from agentcore.tools import Tool, ToolOutput, tool
from agentcore.types import Message
from tests.test_loop import MODEL, credit_account, lookup_order, message, refund_order


@tool(secret_fields=("card_number",))
def charge_card(card_number: str) -> str:
    """Charge a card.

    Args:
        card_number: The card to charge.
    """
    return "charged"


TOOLS: dict[str, Tool] = {
    t.name: t for t in (lookup_order, refund_order, credit_account, charge_card)
}


def make_loop(*, approver: bool = False) -> AgentLoop:
    config = LoopConfig(
        model=MODEL,
        tools=TOOLS,
        request_params={"tools": [t.definition() for t in TOOLS.values()]},
        max_tokens=1024,
        pause_for_approval=not approver,
    )
    state = RunState(model=MODEL, messages=[{"role": "user", "content": "Where is A-1?"}])
    return AgentLoop(config, state)


def calls(*uses: tuple[str, str, dict[str, Any]]) -> Message:
    blocks = [{"type": "tool_use", "id": i, "name": n, "input": a} for i, n, a in uses]
    return message(blocks, "tool_use")


DONE = message([{"type": "text", "text": "Done."}], "end_turn")


class ScriptedDriver:
    """Performs the flow's actions from scripts and notes each step as a short tuple."""

    def __init__(
        self,
        replies: Sequence[Message | APIConnectionError],
        *,
        outputs: dict[str, str] | None = None,
        reasons: dict[str, str | None] | None = None,
        decisions: Sequence[Decision] = (),
    ) -> None:
        self.replies: Iterator[Message | APIConnectionError] = iter(replies)
        self.outputs = outputs or {}
        self.reasons = reasons or {}
        self.decisions = iter(decisions)
        self.asked: list[tuple[Any, ...]] = []
        self.events: list[Any] = []

    def play(self, flow: RunFlow) -> None:
        answer: Any = None
        for _ in range(100):
            try:
                step = flow.send(answer)
            except StopIteration:
                return
            answer = None
            if isinstance(step, CallModel):
                self.asked.append(("call_model", len(step.params["messages"])))
                answer = next(self.replies)
            elif isinstance(step, RunTools):
                self.asked.append(("run_tools", *(call.id for call in step.calls)))
                answer = [
                    (ToolOutcome(call.id, ToolOutput(self.outputs.get(call.id, "ok"))), 0.25)
                    for call in step.calls
                ]
            elif isinstance(step, CheckApproval):
                self.asked.append(("check_approval", *(call.id for call in step.calls)))
                answer = {call.id: self.reasons.get(call.id) for call in step.calls}
            elif isinstance(step, AskApproval):
                self.asked.append(("ask_approval", *(r.call_id for r in step.requests)))
                answer = [next(self.decisions) for _ in step.requests]
            else:
                self.events.append(step)
                self.asked.append(("emit", type(step).__name__))
        raise AssertionError("the flow did not end within 100 steps")

    @property
    def result(self) -> Any:
        assert isinstance(self.events[-1], RunFinished)
        return self.events[-1].result


REFUND = calls(("toolu_1", "refund_order", {"order_id": "A-1", "amount_cents": 500}))
TWO_LOOKUPS = calls(
    ("toolu_1", "lookup_order", {"order_id": "A-1"}),
    ("toolu_2", "lookup_order", {"order_id": "A-2"}),
)


class TestToolCalls:
    def test_run_in_order_each_result_follows_its_own_start(self) -> None:
        driver = ScriptedDriver([TWO_LOOKUPS, DONE])
        driver.play(run_flow(make_loop(), None, approver=None, calls_at_once=False))
        assert driver.asked == [
            ("call_model", 1),
            ("emit", "ModelTurnCompleted"),
            ("emit", "ToolCallStarted"),
            ("run_tools", "toolu_1"),
            ("emit", "ToolResultEvent"),
            ("emit", "ToolCallStarted"),
            ("run_tools", "toolu_2"),
            ("emit", "ToolResultEvent"),
            ("call_model", 3),
            ("emit", "ModelTurnCompleted"),
            ("emit", "RunFinished"),
        ]
        assert driver.result.status == "completed"

    def test_run_at_once_every_call_starts_before_the_results(self) -> None:
        driver = ScriptedDriver([TWO_LOOKUPS, DONE])
        driver.play(run_flow(make_loop(), None, approver=None, calls_at_once=True))
        assert driver.asked == [
            ("call_model", 1),
            ("emit", "ModelTurnCompleted"),
            ("emit", "ToolCallStarted"),
            ("emit", "ToolCallStarted"),
            ("run_tools", "toolu_1", "toolu_2"),
            ("emit", "ToolResultEvent"),
            ("emit", "ToolResultEvent"),
            ("call_model", 3),
            ("emit", "ModelTurnCompleted"),
            ("emit", "RunFinished"),
        ]

    def test_a_result_is_redacted_of_the_calls_secret_before_anyone_sees_it(self) -> None:
        card = "4242424242424242"
        driver = ScriptedDriver(
            [calls(("toolu_1", "charge_card", {"card_number": card})), DONE],
            outputs={"toolu_1": f"charged card {card}"},
        )
        driver.play(run_flow(make_loop(), None, approver=None, calls_at_once=False))
        assert [e for e in driver.events if isinstance(e, ToolResultEvent)] == [
            ToolResultEvent(
                "toolu_1", "charge_card", "charged card [REDACTED]", False, True, 0.25
            )
        ]
        assert driver.result.messages[2] == {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_1",
                    "content": "charged card [REDACTED]",
                }
            ],
        }


class TestApproval:
    def test_without_an_approver_a_sensitive_call_pauses_the_run(self) -> None:
        driver = ScriptedDriver([REFUND])
        driver.play(run_flow(make_loop(), None, approver=None, calls_at_once=False))
        assert driver.asked == [
            ("call_model", 1),
            ("emit", "ModelTurnCompleted"),
            ("emit", "ApprovalRequested"),
            ("emit", "RunFinished"),
        ]
        assert driver.result.status == "paused"

    def test_the_approver_is_asked_and_an_approved_call_runs(self) -> None:
        driver = ScriptedDriver(
            [REFUND, DONE],
            decisions=[Approve()],
        )
        loop = make_loop(approver=True)
        driver.play(run_flow(loop, None, approver=object(), calls_at_once=False))
        assert driver.asked == [
            ("call_model", 1),
            ("emit", "ModelTurnCompleted"),
            ("emit", "ApprovalRequested"),
            ("ask_approval", "toolu_1"),
            ("emit", "ApprovalDecided"),
            ("emit", "ToolCallStarted"),
            ("run_tools", "toolu_1"),
            ("emit", "ToolResultEvent"),
            ("call_model", 3),
            ("emit", "ModelTurnCompleted"),
            ("emit", "RunFinished"),
        ]

    def test_a_call_with_a_policy_is_checked_and_runs_when_it_needs_no_approval(self) -> None:
        driver = ScriptedDriver(
            [calls(("toolu_1", "credit_account", {"amount_cents": 500})), DONE],
            reasons={"toolu_1": None},
        )
        driver.play(run_flow(make_loop(), None, approver=None, calls_at_once=False))
        assert driver.asked[2:5] == [
            ("check_approval", "toolu_1"),
            ("emit", "ToolCallStarted"),
            ("run_tools", "toolu_1"),
        ]


class TestModelFailure:
    def test_a_failed_model_call_finishes_the_run_as_failed_with_the_error(self) -> None:
        error = APIConnectionError("connection refused")
        driver = ScriptedDriver([error])
        driver.play(run_flow(make_loop(), None, approver=None, calls_at_once=False))
        assert driver.asked == [("call_model", 1), ("emit", "RunFinished")]
        assert driver.result.status == "failed"
        assert driver.result.exception is error


class TestDrivers:
    def test_a_loop_that_asks_an_approver_no_driver_has_is_a_configuration_error(self) -> None:
        script = ScriptedModel(
            [tool_reply(("refund_order", {"order_id": "A-1", "amount_cents": 500}, "toolu_1"))]
        )
        settings = DriverSettings((), (), None, None)
        client = Client(api_key="test", transport=script)
        events = drive(make_loop(approver=True), settings, lambda: client, streaming=False)
        with pytest.raises(ConfigurationError, match="pause_for_approval=True"):
            list(events)
        assert script.remaining == 0
