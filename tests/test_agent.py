"""The Agent end to end through ScriptedModel, the same specification for every driver.

Each test runs under four drivers: blocking ``run``, asyncio ``arun``, and the streaming
``stream`` / ``astream`` (which talk SSE to the scripted model).
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import structlog
from pydantic import BaseModel

from agentcore.agent import Agent, ModelSettings
from agentcore.approval import AlwaysAllow, Approve, Deny
from agentcore.approval.approvers import ScriptedApprover
from agentcore.client import AsyncClient, Client
from agentcore.emulator import Emulator
from agentcore.errors import ConfigurationError, InvalidRequestError, ToolError
from agentcore.events import (
    ApprovalDecided,
    ApprovalRequested,
    ModelTurnCompleted,
    RunEvent,
    RunFinished,
    TextDelta,
    ToolCallStarted,
    ToolResultEvent,
)
from agentcore.hooks import Veto
from agentcore.log import capture_events
from agentcore.loop import ToolCall
from agentcore.prompts import SystemPrompt
from agentcore.state import RunResult, RunState
from agentcore.testing import ScriptedModel, error_reply, reply, text_reply, tool_reply
from agentcore.tools import ToolOutput, tool
from agentcore.usage import Limits
from tests.approval_flow_app import lookup_order, refund_order

MODEL = "claude-sonnet-4-6"
DRIVERS = ["run", "arun", "stream", "astream"]

pytestmark = pytest.mark.usefixtures("ledger")
USAGE = {"input_tokens": 1000, "output_tokens": 100}


@pytest.fixture(params=DRIVERS)
def driver(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def settings(**options: Any) -> ModelSettings:
    """Model settings for a test: without cache breakpoints unless it asks for them."""
    options.setdefault("cache", False)
    return ModelSettings(**options)


def make_agent(script: ScriptedModel, **options: Any) -> Agent:
    options.setdefault("model_settings", settings())
    return Agent(
        options.pop("model", MODEL),
        options.pop("system", "You help customers."),
        options.pop("tools", [lookup_order]),
        client=Client(api_key="test", transport=script, max_retries=0),
        async_client=AsyncClient(api_key="test", transport=script, max_retries=0),
        **options,
    )


def execute(
    agent: Agent,
    driver: str,
    prompt: str | None = "Where is A-1?",
    *,
    state: RunState | None = None,
    decisions: dict[str, Any] | None = None,
) -> tuple[RunResult, list[RunEvent]]:
    """Run (or resume) with one driver; return the result and the events it streamed."""
    if state is not None:
        if driver == "run":
            return agent.resume(state, decisions), []
        if driver == "arun":
            return asyncio.run(agent.aresume(state, decisions)), []
        if driver == "stream":
            events = list(agent.resume_stream(state, decisions))
        else:
            events = asyncio.run(_collect(agent.aresume_stream(state, decisions)))
    else:
        assert prompt is not None
        if driver == "run":
            return agent.run(prompt), []
        if driver == "arun":
            return asyncio.run(agent.arun(prompt)), []
        if driver == "stream":
            events = list(agent.stream(prompt))
        else:
            events = asyncio.run(_collect(agent.astream(prompt)))
    last = events[-1]
    assert isinstance(last, RunFinished)
    assert sum(isinstance(event, RunFinished) for event in events) == 1
    return last.result, events


async def _collect(events: Any) -> list[RunEvent]:
    return [event async for event in events]


# What lookup_order answers for these orders.
ORDER_A1 = "order A-1: 2 items, paid 80.00 USD"
ORDER_A2 = "order A-2: 2 items, paid 80.00 USD"


def refunds() -> list[str]:
    """The refunds the shop tools ran in this test, as written to the ledger."""
    lines = Path(os.environ["LEDGER"]).read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.startswith("refund ")]


def tool_results(request: dict[str, Any]) -> list[dict[str, Any]]:
    content: list[dict[str, Any]] = request["messages"][-1]["content"]
    return content


class TestConversation:
    def test_parallel_calls_answered_in_one_message_in_call_order(self, driver: str) -> None:
        script = ScriptedModel(
            [
                tool_reply(
                    ("lookup_order", {"order_id": "A-1"}, "toolu_1"),
                    ("lookup_order", {"order_id": "A-2"}, "toolu_2"),
                    text="Checking both.",
                    usage=USAGE,
                ),
                text_reply("Both shipped.", usage=USAGE),
            ]
        )
        result, _ = execute(make_agent(script), driver)
        assert (result.status, result.output, result.stop_reason) == (
            "completed",
            "Both shipped.",
            "end_turn",
        )
        second = script.requests[1]
        assert second["messages"][1:] == [
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Checking both."},
                    {"type": "tool_use", "id": "toolu_1", "name": "lookup_order",
                     "input": {"order_id": "A-1"}},
                    {"type": "tool_use", "id": "toolu_2", "name": "lookup_order",
                     "input": {"order_id": "A-2"}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": ORDER_A1},
                    {"type": "tool_result", "tool_use_id": "toolu_2", "content": ORDER_A2},
                ],
            },
        ]  # fmt: skip
        assert second["system"] == "You help customers."
        assert second["tools"] == [lookup_order.definition()]
        final = {"role": "assistant", "content": [{"type": "text", "text": "Both shipped."}]}
        assert result.messages == [*second["messages"], final]

    def test_usage_and_cost_are_totalled_per_turn_and_for_the_run(self, driver: str) -> None:
        script = ScriptedModel(
            [
                tool_reply(("lookup_order", {"order_id": "A-1"}), usage=USAGE),
                text_reply("Shipped.", usage={**USAGE, "cache_read_input_tokens": 10_000}),
            ]
        )
        result, _ = execute(make_agent(script), driver)
        assert [turn.cost_usd for turn in result.turns] == [Decimal("0.0045"), Decimal("0.0075")]
        assert result.cost_usd == Decimal("0.012")
        assert result.usage.to_dict() == {
            "input_tokens": 2000,
            "output_tokens": 200,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 10_000,
        }
        assert [turn.model for turn in result.turns] == [MODEL, MODEL]
        assert all(turn.request_id and turn.request_id.startswith("req_") for turn in result.turns)
        assert result.models_used == [MODEL]
        assert result.duration_s > 0

    def test_an_unpriced_model_reports_an_unknown_cost(self, driver: str) -> None:
        script = ScriptedModel([text_reply("Hi.", usage=USAGE)])
        result, _ = execute(make_agent(script, model="claude-future-9"), driver)
        assert (result.status, result.cost_usd, result.usage.input_tokens) == (
            "completed",
            None,
            1000,
        )

    def test_invalid_arguments_are_corrected_on_the_next_turn(self, driver: str) -> None:
        script = ScriptedModel(
            [
                tool_reply(("lookup_order", {"order": "A-1"}, "toolu_1")),
                tool_reply(("lookup_order", {"order_id": "A-1"}, "toolu_2")),
                text_reply("Shipped."),
            ]
        )
        result, _ = execute(make_agent(script), driver)
        assert result.status == "completed"
        first_results = tool_results(script.requests[1])
        assert first_results[0]["is_error"] is True
        assert "order_id" in first_results[0]["content"]
        assert tool_results(script.requests[2]) == [
            {"type": "tool_result", "tool_use_id": "toolu_2", "content": ORDER_A1}
        ]

    def test_a_tool_that_raises_returns_an_error_result_and_the_run_goes_on(
        self, driver: str
    ) -> None:
        @tool
        def flaky(order_id: str) -> str:
            """Fails.

            Args:
                order_id: Order.
            """
            raise ToolError(f"order {order_id} is locked")

        script = ScriptedModel(
            [tool_reply(("flaky", {"order_id": "A-1"}, "toolu_1")), text_reply("Sorry.")]
        )
        result, _ = execute(make_agent(script, tools=[flaky]), driver)
        assert result.status == "completed"
        assert tool_results(script.requests[1]) == [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "order A-1 is locked",
             "is_error": True}
        ]  # fmt: skip

    def test_thinking_blocks_are_sent_back_unchanged(self, driver: str) -> None:
        thinking = {"type": "thinking", "thinking": "Look it up.", "signature": "c2lnbmF0dXJl"}
        redacted = {"type": "redacted_thinking", "data": "ZW5jcnlwdGVk"}
        call = {"type": "tool_use", "id": "toolu_1", "name": "lookup_order",
                "input": {"order_id": "A-1"}}  # fmt: skip
        script = ScriptedModel(
            [reply([thinking, redacted, call], stop_reason="tool_use"), text_reply("Shipped.")]
        )
        execute(make_agent(script), driver)
        assert script.requests[1]["messages"][1] == {
            "role": "assistant",
            "content": [thinking, redacted, call],
        }

    def test_a_versioned_system_prompt_is_sent_and_recorded(self, driver: str) -> None:
        prompt = SystemPrompt("You help.", name="support", version="7")
        script = ScriptedModel([text_reply("Hi.")])
        result, _ = execute(make_agent(script, system=prompt), driver)
        assert script.requests[0]["system"] == "You help."
        assert (result.state.prompt_name, result.state.prompt_version) == ("support", "7")

    def test_an_api_error_ends_the_run_as_failed_with_the_typed_error(self, driver: str) -> None:
        script = ScriptedModel([error_reply(400, "invalid_request_error", "bad tools")])
        result, _ = execute(make_agent(script), driver)
        assert result.status == "failed"
        assert isinstance(result.exception, InvalidRequestError)
        assert result.error == str(result.exception)
        assert result.error.startswith("400 invalid_request_error: bad tools (request-id: req_")


class TestStopReasons:
    @pytest.mark.parametrize(
        ("stop_reason", "status"),
        [
            ("end_turn", "completed"),
            ("stop_sequence", "completed"),
            ("max_tokens", "truncated"),
            ("refusal", "refused"),
            ("model_context_window_exceeded", "context_exceeded"),
            ("something_new", "failed"),
        ],
    )
    def test_each_stop_reason_ends_the_run_with_its_status(
        self, driver: str, stop_reason: str, status: str
    ) -> None:
        script = ScriptedModel([text_reply("Partial answer", stop_reason=stop_reason)])
        result, _ = execute(make_agent(script), driver)
        assert (result.status, result.stop_reason, result.output) == (
            status,
            stop_reason,
            "Partial answer",
        )

    def test_pause_turn_continues_the_turn(self, driver: str) -> None:
        server_call = {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search",
                       "input": {"query": "status"}}  # fmt: skip
        script = ScriptedModel(
            [reply([server_call], stop_reason="pause_turn"), text_reply("Found it.")]
        )
        result, _ = execute(make_agent(script), driver)
        assert result.status == "completed"
        assert script.requests[1]["messages"][-1] == {"role": "assistant", "content": [server_call]}

    def test_a_tool_call_cut_off_at_max_tokens_is_retried_with_more_room(
        self, driver: str
    ) -> None:
        cut = reply(
            [{"type": "tool_use", "id": "toolu_1", "name": "lookup_order", "input": {}}],
            stop_reason="max_tokens",
        )
        script = ScriptedModel(
            [cut, tool_reply(("lookup_order", {"order_id": "A-1"})), text_reply("Shipped.")]
        )
        result, _ = execute(make_agent(script, model_settings=settings(max_tokens=500)), driver)
        assert result.status == "completed"
        assert [r["max_tokens"] for r in script.requests] == [500, 1000, 500]
        assert script.requests[1]["messages"] == script.requests[0]["messages"]


class TestLimits:
    def test_max_turns(self, driver: str) -> None:
        replies = [tool_reply(("lookup_order", {"order_id": "A-1"})) for _ in range(2)]
        script = ScriptedModel(replies)
        result, _ = execute(make_agent(script, limits=Limits(max_turns=2)), driver)
        assert (result.status, result.limit, len(result.turns)) == ("limit_reached", "max_turns", 2)

    def test_a_budget_given_on_its_own_goes_on_top_of_the_limits_object(self, driver: str) -> None:
        replies = [tool_reply(("lookup_order", {"order_id": "A-1"})) for _ in range(3)]
        script = ScriptedModel(replies)
        agent = make_agent(script, limits=Limits(max_turns=10, max_tool_retries=1), max_turns=2)
        result, _ = execute(agent, driver)
        assert (result.status, result.limit, len(result.turns)) == ("limit_reached", "max_turns", 2)

    def test_an_option_no_object_has_is_a_configuration_error(self) -> None:
        with pytest.raises(ConfigurationError, match=r"unexpected keyword argument.*max_turnz"):
            Agent(MODEL, "You help.", [lookup_order], max_turnz=2)

    def test_max_total_tokens(self, driver: str) -> None:
        script = ScriptedModel([tool_reply(("lookup_order", {"order_id": "A-1"}), usage=USAGE)])
        result, _ = execute(make_agent(script, limits=Limits(max_total_tokens=1000)), driver)
        assert (result.status, result.limit) == ("limit_reached", "max_total_tokens")

    def test_max_cost_usd(self, driver: str) -> None:
        script = ScriptedModel([tool_reply(("lookup_order", {"order_id": "A-1"}), usage=USAGE)])
        result, _ = execute(make_agent(script, limits=Limits(max_cost_usd="0.004")), driver)
        assert (result.status, result.limit, result.cost_usd) == (
            "limit_reached",
            "max_cost_usd",
            Decimal("0.0045"),
        )


class Order(BaseModel):
    """An order's status."""

    order_id: str
    shipped: bool


class TestStructuredOutput:
    def test_the_run_returns_a_validated_instance(self, driver: str) -> None:
        script = ScriptedModel(
            [
                tool_reply(("final_result", {"order_id": "A-1"}, "toolu_1")),
                tool_reply(("final_result", {"order_id": "A-1", "shipped": True})),
            ]
        )
        result, _ = execute(make_agent(script, output_type=Order), driver)
        assert (result.status, result.output_object) == (
            "completed",
            Order(order_id="A-1", shipped=True),
        )
        assert script.requests[0]["tool_choice"] == {"type": "any"}
        assert script.requests[0]["tools"][-1]["name"] == "final_result"
        assert tool_results(script.requests[1])[0]["is_error"] is True

    def test_a_tool_may_not_take_the_output_tools_name(self) -> None:
        @tool
        def final_result(x: int) -> int:
            """Clash.

            Args:
                x: X.
            """
            return x

        with pytest.raises(ConfigurationError, match="final_result"):
            Agent(MODEL, tools=[final_result], output_type=Order, client=Client(api_key="t"))


class TestApproval:
    def refund_script(self) -> ScriptedModel:
        return ScriptedModel(
            [
                tool_reply(
                    ("refund_order", {"order_id": "A-1", "amount_cents": 500}, "toolu_1"),
                    ("lookup_order", {"order_id": "A-1"}, "toolu_2"),
                ),
                text_reply("Refunded."),
            ]
        )

    def test_an_approver_decides_and_approved_calls_run(self, driver: str) -> None:
        script = self.refund_script()
        approver = ScriptedApprover([Approve()])
        agent = make_agent(script, tools=[lookup_order, refund_order], approver=approver)
        result, events = execute(agent, driver)
        assert result.status == "completed"
        assert refunds() == ["refund A-1 500"]
        assert [r.call_id for r in approver.requests] == ["toolu_1"]
        assert [b["tool_use_id"] for b in tool_results(script.requests[1])] == [
            "toolu_1",
            "toolu_2",
        ]
        if events:
            kinds = [type(e).__name__ for e in events if not isinstance(e, TextDelta)]
            assert kinds == [
                "ModelTurnCompleted",
                "ToolCallStarted",
                "ToolResultEvent",
                "ApprovalRequested",
                "ApprovalDecided",
                "ToolCallStarted",
                "ToolResultEvent",
                "ModelTurnCompleted",
                "RunFinished",
            ]

    def test_a_denial_reaches_the_model_and_the_tool_never_runs(self, driver: str) -> None:
        script = self.refund_script()
        approver = ScriptedApprover([Deny("too much")])
        agent = make_agent(script, tools=[lookup_order, refund_order], approver=approver)
        result, _ = execute(agent, driver)
        assert refunds() == []
        assert tool_results(script.requests[1])[0] == {
            "type": "tool_result",
            "tool_use_id": "toolu_1",
            "content": "The user denied this action: too much",
            "is_error": True,
        }
        assert result.status == "completed"

    def test_without_an_approver_the_run_pauses_and_resumes_in_a_new_process(
        self, driver: str
    ) -> None:
        script = self.refund_script()
        agent = make_agent(script, tools=[lookup_order, refund_order])
        paused, events = execute(agent, driver)
        assert paused.status == "paused"
        assert [(p.call_id, p.tool_name, p.arguments) for p in paused.pending] == [
            ("toolu_1", "refund_order", {"order_id": "A-1", "amount_cents": 500})
        ]
        assert refunds() == []
        if events:
            assert any(isinstance(e, ApprovalRequested) for e in events)
        stored = paused.state.to_json()

        other_process = make_agent(script, tools=[lookup_order, refund_order])
        state = RunState.from_json(stored)
        approve = Approve(arguments_hash=paused.pending[0].arguments_hash)
        decisions = {"toolu_1": approve}
        result, _ = execute(other_process, driver, None, state=state, decisions=decisions)
        assert result.status == "completed"
        assert refunds() == ["refund A-1 500"]
        assert len(script.requests) == 2
        assert tool_results(script.requests[1]) == [
            {"type": "tool_result", "tool_use_id": "toolu_1",
             "content": "refunded 500 cents on A-1"},
            {"type": "tool_result", "tool_use_id": "toolu_2", "content": ORDER_A1},
        ]

    def test_always_allow_stops_asking_for_that_tool(self, driver: str) -> None:
        script = ScriptedModel(
            [
                tool_reply(("refund_order", {"order_id": "A-1", "amount_cents": 1})),
                tool_reply(("refund_order", {"order_id": "A-2", "amount_cents": 2})),
                text_reply("Done."),
            ]
        )
        approver = ScriptedApprover([AlwaysAllow()])
        agent = make_agent(script, tools=[refund_order], approver=approver)
        result, _ = execute(agent, driver)
        assert result.status == "completed"
        assert refunds() == ["refund A-1 1", "refund A-2 2"]
        assert len(approver.requests) == 1

    def test_an_async_requires_approval_policy_is_awaited(self, driver: str) -> None:
        async def large(arguments: dict[str, Any]) -> bool:
            return bool(arguments["amount_cents"] > 100)

        @tool(requires_approval=large)
        def credit(amount_cents: int) -> str:
            """Credit.

            Args:
                amount_cents: Cents.
            """
            return "credited"

        script = ScriptedModel(
            [
                tool_reply(("credit", {"amount_cents": 50}, "toolu_1"),
                           ("credit", {"amount_cents": 500}, "toolu_2")),
                text_reply("Done."),
            ]
        )  # fmt: skip
        approver = ScriptedApprover([Deny("no")])
        result, _ = execute(make_agent(script, tools=[credit], approver=approver), driver)
        assert [r.call_id for r in approver.requests] == ["toolu_2"]
        assert [b.get("is_error", False) for b in tool_results(script.requests[1])] == [
            False,
            True,
        ]
        assert result.status == "completed"

    def test_a_policy_that_answers_with_text_gives_the_reason_asked_and_kept(
        self, driver: str
    ) -> None:
        def above_a_dollar(arguments: dict[str, Any]) -> str | bool:
            amount = arguments["amount_cents"]
            return amount > 100 and f"credits above $1.00 need approval (this one is {amount})"

        @tool(requires_approval=above_a_dollar)
        def credit(amount_cents: int) -> str:
            """Credit.

            Args:
                amount_cents: Cents.
            """
            return "credited"

        script = ScriptedModel(
            [
                tool_reply(("credit", {"amount_cents": 50}, "toolu_1"),
                           ("credit", {"amount_cents": 500}, "toolu_2")),
                text_reply("Done."),
            ]
        )  # fmt: skip
        approver = ScriptedApprover([Approve()])
        execute(make_agent(script, tools=[credit], approver=approver), driver)
        assert [(r.call_id, r.reason) for r in approver.requests] == [
            ("toolu_2", "credits above $1.00 need approval (this one is 500)")
        ]

        script = ScriptedModel([tool_reply(("credit", {"amount_cents": 500}, "toolu_3"))])
        paused, _ = execute(make_agent(script, tools=[credit]), driver)
        assert [(p.call_id, p.reason) for p in paused.pending] == [
            ("toolu_3", "credits above $1.00 need approval (this one is 500)")
        ]
        restored = RunState.from_json(paused.state.to_json())
        assert [p.reason for p in restored.pending] == [
            "credits above $1.00 need approval (this one is 500)"
        ]


class TestHooks:
    def test_before_tool_may_veto_or_rewrite_and_after_tool_may_redact(
        self, driver: str
    ) -> None:
        seen: list[dict[str, Any]] = []

        def guard(call: ToolCall) -> dict[str, Any] | Veto | None:
            if call.arguments["order_id"] == "A-9":
                return Veto("order A-9 is under investigation")
            if call.arguments["order_id"] == "a-1":
                return {"order_id": "A-1"}
            return None

        async def record(call: ToolCall) -> None:
            seen.append(call.arguments)

        def redact(call: ToolCall, output: ToolOutput) -> ToolOutput | None:
            if isinstance(output.content, str) and "A-2" in output.content:
                return ToolOutput("[REDACTED]")
            return None

        script = ScriptedModel(
            [
                tool_reply(
                    ("lookup_order", {"order_id": "A-9"}, "toolu_1"),
                    ("lookup_order", {"order_id": "a-1"}, "toolu_2"),
                    ("lookup_order", {"order_id": "A-2"}, "toolu_3"),
                ),
                text_reply("Done."),
            ]
        )
        agent = make_agent(script, before_tool=[guard, record], after_tool=[redact])
        result, events = execute(agent, driver)
        assert tool_results(script.requests[1]) == [
            {"type": "tool_result", "tool_use_id": "toolu_1", "is_error": True,
             "content": "The call to 'lookup_order' was blocked before it ran: order A-9 is "
                        "under investigation"},
            {"type": "tool_result", "tool_use_id": "toolu_2", "content": ORDER_A1},
            {"type": "tool_result", "tool_use_id": "toolu_3", "content": "[REDACTED]"},
        ]  # fmt: skip
        assert seen == [{"order_id": "A-1"}, {"order_id": "A-2"}]
        if events:
            executed = [e.executed for e in events if isinstance(e, ToolResultEvent)]
            assert executed == [False, True, True]
        assert result.status == "completed"


class TestEvents:
    @pytest.mark.parametrize("driver", ["stream", "astream"])
    def test_streams_text_deltas_tool_events_and_turns(self, driver: str) -> None:
        script = ScriptedModel(
            [
                tool_reply(("lookup_order", {"order_id": "A-1"}, "toolu_1"), usage=USAGE),
                text_reply("Your order A-1 has shipped today.", usage=USAGE),
            ]
        )
        result, events = execute(make_agent(script), driver)
        text = "".join(e.text for e in events if isinstance(e, TextDelta))
        assert text == "Your order A-1 has shipped today."
        assert len([e for e in events if isinstance(e, TextDelta)]) > 1
        started = [e for e in events if isinstance(e, ToolCallStarted)]
        assert [(e.call_id, e.tool_name, e.arguments) for e in started] == [
            ("toolu_1", "lookup_order", {"order_id": "A-1"})
        ]
        finished = [e for e in events if isinstance(e, ToolResultEvent)]
        assert [(e.call_id, e.content, e.is_error) for e in finished] == [
            ("toolu_1", ORDER_A1, False)
        ]
        turns = [e.turn for e in events if isinstance(e, ModelTurnCompleted)]
        assert turns == result.turns
        assert not any(isinstance(e, ApprovalDecided) for e in events)


class TestAsyncConcurrency:
    def test_a_turns_calls_run_concurrently(self) -> None:
        both_started = threading.Barrier(2, timeout=5)

        @tool
        def wait_for_peer(name: str) -> str:
            """Blocks until another call runs at the same time.

            Args:
                name: Label.
            """
            both_started.wait()
            return name

        script = ScriptedModel(
            [
                tool_reply(("wait_for_peer", {"name": "a"}), ("wait_for_peer", {"name": "b"})),
                text_reply("Done."),
            ]
        )
        result = asyncio.run(make_agent(script, tools=[wait_for_peer]).arun("go"))
        assert [b["content"] for b in tool_results(script.requests[1])] == ["a", "b"]
        assert result.status == "completed"

    @pytest.mark.parametrize("limit", [1, 2])
    def test_tool_concurrency_caps_calls_in_flight(self, limit: int) -> None:
        in_flight = 0
        peak = 0

        @tool
        async def slow(n: int) -> int:
            """Slow.

            Args:
                n: N.
            """
            nonlocal in_flight, peak
            in_flight += 1
            peak = max(peak, in_flight)
            await asyncio.sleep(0.01)
            in_flight -= 1
            return n

        calls = [("slow", {"n": n}) for n in range(4)]
        script = ScriptedModel([tool_reply(*calls), text_reply("Done.")])
        agent = make_agent(script, tools=[slow], tool_concurrency=limit)
        asyncio.run(agent.arun("go"))
        assert peak == limit
        assert [b["content"] for b in tool_results(script.requests[1])] == ["0", "1", "2", "3"]


CACHE_WRITE_USAGE = {
    "input_tokens": 1000,
    "output_tokens": 100,
    "cache_creation_input_tokens": 2000,
    "cache_read_input_tokens": 0,
}
CACHE_READ_USAGE = {**CACHE_WRITE_USAGE, "cache_creation_input_tokens": 0,
                    "cache_read_input_tokens": 2000}


class TestLogging:
    def test_each_response_is_one_model_call_event_with_the_runs_context(
        self, driver: str
    ) -> None:
        """The client logs the call once; the agent adds run id, turn, prompt and prices."""
        script = ScriptedModel([
            tool_reply(("lookup_order", {"order_id": "A-1"}), usage=CACHE_WRITE_USAGE),
            text_reply("OK.", usage=CACHE_READ_USAGE),
        ])
        prompt = SystemPrompt("You help.", name="support", version="3")
        agent = make_agent(script, system=prompt, model_settings=settings(prices={MODEL: (3, 15)}))

        with capture_events() as events:
            result, _ = execute(agent, driver)

        assert [event["event"] for event in events] == [
            "run.start", "model.call", "tool.call", "model.call", "run.finish",
        ]
        calls = [event for event in events if event["event"] == "model.call"]
        assert all(call["latency_ms"] >= 0 for call in calls)
        common = {
            "event": "model.call", "level": "info", "logger": "agentcore.client",
            "model": MODEL, "latency_ms": 0, "input_tokens": 1000, "output_tokens": 100,
            "attempt": 1, "prompt_name": "support", "prompt_version": "3",
            "run_id": result.state.run_id,
        }
        assert [{**call, "latency_ms": 0} for call in calls] == [
            {
                **common, "cache_creation_input_tokens": 2000, "cache_read_input_tokens": 0,
                "cost_usd": "0.012", "stop_reason": "tool_use",
                "request_id": result.turns[0].request_id, "turn": 1,
            },
            {
                **common, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 2000,
                "cost_usd": "0.0051", "stop_reason": "end_turn",
                "request_id": result.turns[1].request_id, "turn": 2,
            },
        ]
        assert [turn.request_id for turn in result.turns] == [
            "req_scripted_000001", "req_scripted_000002"
        ]

    def test_the_agents_prices_set_the_logged_cost(self) -> None:
        script = ScriptedModel([text_reply("OK.", usage=USAGE)])
        agent = make_agent(script, model_settings=settings(prices={MODEL: (30, 150)}))

        with capture_events() as events:
            agent.run("Hi")

        [call] = [event for event in events if event["event"] == "model.call"]
        assert call["cost_usd"] == "0.045"
        assert events[-1]["event"] == "run.finish"
        assert events[-1]["status"] == "completed"


API_KEY = "sk-ant-api03-" + "Q" * 40
CARD = "4111111111111111"


@tool(secret_fields=("card_number",))
def charge(card_number: str, amount_cents: int) -> str:
    """Charge a card.

    Args:
        card_number: The card to charge.
        amount_cents: How much.
    """
    raise ValueError(f"gateway refused card {card_number} for key {API_KEY}")


@tool(secret_fields=("card_number",))
def card_status(card_number: str) -> str:
    """Check a card.

    Args:
        card_number: The card to check.
    """
    return f"card {card_number} is active; gateway config api_key={API_KEY}"


def json_lines(events: list[dict[str, Any]]) -> str:
    render = structlog.processors.JSONRenderer()
    return "\n".join(str(render(None, "", dict(event))) for event in events)


class TestSecretsInToolResults:
    def test_a_tool_error_quoting_a_key_and_a_secret_argument_reaches_no_one(
        self, driver: str
    ) -> None:
        """Not the model, the result, the stored state, the events nor the logs."""
        script = ScriptedModel([
            tool_reply(("charge", {"card_number": CARD, "amount_cents": 500}, "toolu_c")),
            text_reply("The charge failed."),
        ])
        agent = make_agent(script, tools=[charge])

        with capture_events() as events:
            result, run_events = execute(agent, driver, "Charge 5 dollars.")

        expected = {
            "type": "tool_result", "tool_use_id": "toolu_c", "is_error": True,
            "content": "ValueError: gateway refused card [REDACTED] for key [REDACTED]",
        }
        assert script.requests[1]["messages"][1]["content"] == [{
            "type": "tool_use", "id": "toolu_c", "name": "charge",
            "input": {"card_number": "[REDACTED]", "amount_cents": 500},
        }]
        assert tool_results(script.requests[1]) == [expected]
        assert result.messages[2] == {"role": "user", "content": [expected]}
        assert [event.content for event in run_events if isinstance(event, ToolResultEvent)] == (
            [expected["content"]] if driver in ("stream", "astream") else []
        )
        tool_error = next(event for event in events if event["event"] == "tool.error")
        assert tool_error["error"] == "gateway refused card [REDACTED] for key [REDACTED]"
        for place in (
            json.dumps(script.requests), json.dumps(result.messages), result.state.to_json(),
            json_lines(events),
        ):
            assert API_KEY not in place
            assert CARD not in place

    def test_a_result_quoting_a_key_or_a_secret_argument_is_redacted_before_the_model(
        self, driver: str
    ) -> None:
        script = ScriptedModel([
            tool_reply(("card_status", {"card_number": CARD}, "toolu_s")),
            text_reply("It is active."),
        ])
        agent = make_agent(script, tools=[card_status])

        result, _ = execute(agent, driver, "Is my card active?")

        assert tool_results(script.requests[1]) == [{
            "type": "tool_result", "tool_use_id": "toolu_s",
            "content": "card [REDACTED] is active; gateway config api_key=[REDACTED]",
        }]
        assert result.messages[2]["content"] == tool_results(script.requests[1])
        assert result.status == "completed"


class TestConfiguration:
    @pytest.mark.parametrize(
        ("build", "problem"),
        [
            (lambda: ModelSettings(max_tokens=0), "max_tokens"),
            (lambda: Limits(max_turns=-1), "max_turns"),
            (lambda: Limits(max_tool_retries=-1), "max_tool_retries"),
            (lambda: Limits(max_cost_usd="cheap"), "dollar amount"),
            (lambda: Agent(MODEL, tool_concurrency=0), "tool_concurrency"),
            (lambda: Agent(MODEL, output_type=dict), "output_type"),  # type: ignore[arg-type]
            (lambda: Agent(MODEL, limits=50), "limits must be"),  # type: ignore[arg-type]
        ],
    )
    def test_bad_options_are_rejected_at_construction(
        self, build: Callable[[], object], problem: str
    ) -> None:
        with pytest.raises(ConfigurationError, match=problem):
            build()

    def test_a_single_tool_instead_of_a_list_is_rejected_at_construction(self) -> None:
        with pytest.raises(ConfigurationError) as caught:
            Agent(MODEL, tools=lookup_order, client=Client(api_key="t"))  # type: ignore[arg-type]
        assert str(caught.value) == (
            "tools must be a list of tools, not a single tool: tools=[lookup_order]"
        )

    def test_an_empty_prompt_is_rejected(self) -> None:
        agent = Agent(MODEL, client=Client(api_key="t"))
        with pytest.raises(ConfigurationError, match="prompt is empty"):
            agent.run("  ")

    def test_a_conversation_can_be_given_instead_of_a_prompt(self) -> None:
        script = ScriptedModel([text_reply("Fine.")])
        history = [
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!"},
            {"role": "user", "content": "How are you?"},
        ]
        result = make_agent(script).run(history)
        assert script.requests[0]["messages"] == history
        assert result.messages[:3] == history


class TestClients:
    def test_the_default_async_client_serves_runs_on_successive_event_loops(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Each ``asyncio.run`` has a new loop; the client built for the first one is not reused."""
        with Emulator([text_reply("First."), text_reply("Second.")]) as emulator:
            monkeypatch.setenv("ANTHROPIC_API_KEY", "test")
            monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
            monkeypatch.setenv("ANTHROPIC_BASE_URL", emulator.base_url)
            agent = Agent(MODEL, model_settings=ModelSettings(cache=False))
            first = asyncio.run(agent.arun("Hello"))
            second = asyncio.run(agent.arun("Hello again"))
        assert (first.status, first.output) == ("completed", "First.")
        assert (second.status, second.output) == ("completed", "Second.")

    def test_an_async_client_passed_in_serves_every_loop_and_stays_open(self) -> None:
        script = ScriptedModel([text_reply("First."), text_reply("Second.")])
        agent = make_agent(script)

        async def run_then_close(prompt: str) -> RunResult:
            result = await agent.arun(prompt)
            await agent.aclose()
            return result

        outputs = [asyncio.run(run_then_close(prompt)).output for prompt in ("One", "Two")]
        assert outputs == ["First.", "Second."]
        assert [request["messages"][0]["content"] for request in script.requests] == [
            "One",
            "Two",
        ]


class TestRequests:
    def test_cache_breakpoints_are_sent_but_never_stored_in_the_conversation(
        self, driver: str
    ) -> None:
        long_system = "You help customers with orders. " * 200
        script = ScriptedModel(
            [tool_reply(("lookup_order", {"order_id": "A-1"}, "toolu_1")), text_reply("OK.")]
        )
        agent = make_agent(script, system=long_system, model_settings=settings(cache=True))
        result, _ = execute(agent, driver)
        sent = script.requests[1]
        assert sent["messages"][-1]["content"][-1]["cache_control"] == {"type": "ephemeral"}
        assert "cache_control" not in str(result.messages)
        assert result.status == "completed"

    def test_fallback_models_answer_when_the_model_is_overloaded(self, driver: str) -> None:
        script = ScriptedModel(
            [
                error_reply(529, "overloaded_error", "Overloaded"),
                text_reply("Hi.", usage=USAGE, model="claude-haiku-4-5"),
            ]
        )
        agent = make_agent(script, model_settings=settings(fallback_models=["claude-haiku-4-5"]))
        result, _ = execute(agent, driver)
        assert [r["model"] for r in script.requests] == [MODEL, "claude-haiku-4-5"]
        assert (result.status, result.models_used, result.cost_usd) == (
            "completed",
            ["claude-haiku-4-5"],
            Decimal("0.0015"),
        )
