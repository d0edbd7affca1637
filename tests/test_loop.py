"""The loop's decisions, driven with plain function calls: no network, no event loop."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel

from agentcore.approval import Approve, Deny, Edit, arguments_hash
from agentcore.errors import APIConnectionError, ApprovalError, ModelRetry
from agentcore.loop import (
    AgentLoop,
    AskApproval,
    CallModel,
    CheckApproval,
    CompactContext,
    Finish,
    Limits,
    LoopConfig,
    RunTools,
    ToolOutcome,
)
from agentcore.output import OutputSpec
from agentcore.state import RunState
from agentcore.tools import Tool, ToolOutput, tool
from agentcore.types import Message, parse_message
from tests.approval_flow_app import lookup_order, refund_order

MODEL = "claude-sonnet-4-6"


@tool(requires_approval=lambda args: args["amount_cents"] > 1000)
def credit_account(amount_cents: int) -> str:
    """Credit the customer's account.

    Args:
        amount_cents: Amount in cents.
    """
    return "credited"


TOOLS: dict[str, Tool] = {t.name: t for t in (lookup_order, refund_order, credit_account)}


def make_loop(
    *,
    pause_for_approval: bool = False,
    limits: Limits | None = None,
    max_tool_retries: int = 3,
    output: OutputSpec | None = None,
    model: Any = MODEL,
    max_tokens: int = 1024,
    prompt: str = "Where is order A-1?",
) -> AgentLoop:
    config = LoopConfig(
        model=model,
        tools=TOOLS,
        request_params={"system": "Be brief.", "tools": [t.definition() for t in TOOLS.values()]},
        max_tokens=max_tokens,
        limits=replace(limits or Limits(), max_tool_retries=max_tool_retries),
        output=output,
        pause_for_approval=pause_for_approval,
    )
    state = RunState(model=MODEL, messages=[{"role": "user", "content": prompt}])
    return AgentLoop(config, state)


def message(
    content: list[dict[str, Any]],
    stop_reason: str | None,
    *,
    input_tokens: int = 100,
    output_tokens: int = 10,
    model: str = MODEL,
) -> Message:
    return parse_message(
        {
            "id": "msg_1",
            "model": model,
            "content": content,
            "stop_reason": stop_reason,
            "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
        },
        request_id="req_1",
    )


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


PAUSED = [text("Searching.")]
"""The content of a paused turn (``pause_turn``): what the server tools did so far."""


def use(call_id: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"type": "tool_use", "id": call_id, "name": name, "input": arguments}


def ok(call_id: str, content: str) -> ToolOutcome:
    return ToolOutcome(call_id, ToolOutput(content))


def finished(action: object) -> Any:
    assert isinstance(action, Finish), f"expected Finish, got {action!r}"
    return action.result


class TestModelCalls:
    def test_first_action_calls_the_model_with_the_conversation_and_tools(self) -> None:
        loop = make_loop()
        action = loop.next_action()
        assert isinstance(action, CallModel)
        assert action.params == {
            "model": MODEL,
            "max_tokens": 1024,
            "messages": [{"role": "user", "content": "Where is order A-1?"}],
            "system": "Be brief.",
            "tools": [t.definition() for t in TOOLS.values()],
        }
        assert action.params["messages"] is loop.state.messages

    def test_a_router_chooses_the_model_and_says_why(self) -> None:
        loop = make_loop(model=lambda state: ("claude-haiku-4-5", f"{len(state.turns)} turns"))
        action = loop.next_action()
        assert isinstance(action, CallModel)
        assert (action.model, action.route_reason) == ("claude-haiku-4-5", "0 turns")
        assert action.params["model"] == "claude-haiku-4-5"


class TestStopReasons:
    @pytest.mark.parametrize("stop_reason", ["end_turn", "stop_sequence"])
    def test_end_turn_and_stop_sequence_complete_the_run(self, stop_reason: str) -> None:
        loop = make_loop()
        loop.next_action()
        result = finished(loop.model_responded(message([text("Shipped.")], stop_reason)))
        assert (result.status, result.stop_reason, result.output) == (
            "completed",
            stop_reason,
            "Shipped.",
        )
        assert result.messages[-1] == {"role": "assistant", "content": [text("Shipped.")]}
        assert result.cost_usd == Decimal("0.00045")

    def test_pause_turn_sends_the_assistant_content_back_and_calls_again(self) -> None:
        loop = make_loop()
        loop.next_action()
        paused = [
            {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}},
        ]
        action = loop.model_responded(message(paused, "pause_turn"))
        assert isinstance(action, CallModel)
        assert action.params["messages"][-1] == {"role": "assistant", "content": paused}
        assert len(action.params["messages"]) == 2

    def test_max_tokens_on_text_finishes_as_truncated_with_the_text_so_far(self) -> None:
        loop = make_loop()
        loop.next_action()
        result = finished(loop.model_responded(message([text("The order was")], "max_tokens")))
        assert (result.status, result.output) == ("truncated", "The order was")
        assert result.error == "the response was cut off at max_tokens=1024"

    def test_a_tool_call_cut_off_at_max_tokens_is_retried_once_with_double_room(self) -> None:
        loop = make_loop()
        loop.next_action()
        cut = message([text("Looking"), use("toolu_1", "lookup_order", {})], "max_tokens")
        retry = loop.model_responded(cut)
        assert isinstance(retry, CallModel)
        assert retry.params["max_tokens"] == 2048
        assert retry.params["messages"] == [{"role": "user", "content": "Where is order A-1?"}]
        result = finished(loop.model_responded(cut))
        assert result.status == "truncated"
        assert result.error == "the response was cut off at max_tokens=2048"
        assert len(result.turns) == 2

    def test_the_cut_off_retry_is_capped_by_the_models_output_limit(self) -> None:
        loop = make_loop(max_tokens=100_000)
        loop.next_action()
        action = loop.model_responded(message([use("toolu_1", "lookup_order", {})], "max_tokens"))
        assert isinstance(action, CallModel)
        assert action.params["max_tokens"] == 128_000

    def test_max_tokens_resets_after_the_retried_call_succeeds(self) -> None:
        loop = make_loop()
        loop.next_action()
        loop.model_responded(message([use("toolu_1", "lookup_order", {})], "max_tokens"))
        action = loop.model_responded(
            message([use("toolu_1", "lookup_order", {"order_id": "A-1"})], "tool_use")
        )
        assert isinstance(action, RunTools)
        follow_up = loop.tools_ran([ok("toolu_1", "shipped")])
        assert isinstance(follow_up, CallModel)
        assert follow_up.params["max_tokens"] == 1024

    def test_refusal_finishes_as_refused(self) -> None:
        loop = make_loop()
        loop.next_action()
        result = finished(loop.model_responded(message([], "refusal")))
        assert (result.status, result.stop_reason) == ("refused", "refusal")

    def test_context_window_exceeded_asks_for_compaction_then_finishes_with_its_own_status(
        self,
    ) -> None:
        loop = make_loop()
        loop.next_action()
        action = loop.model_responded(message([], "model_context_window_exceeded"))
        assert isinstance(action, CompactContext)
        assert action.request.reason == "model_context_window_exceeded"
        result = finished(loop.context_compacted(None))  # nothing left to compact
        assert result.status == "context_exceeded"
        assert "context window" in result.error

    @pytest.mark.parametrize("stop_reason", ["compaction_needed", None])
    def test_unknown_stop_reasons_fail_safely_with_the_raw_value(
        self, stop_reason: str | None
    ) -> None:
        loop = make_loop()
        loop.next_action()
        result = finished(loop.model_responded(message([text("hm")], stop_reason)))
        assert (result.status, result.stop_reason) == ("failed", stop_reason)
        assert result.error == f"the model stopped for an unknown reason: {stop_reason!r}"

    def test_a_failed_model_call_ends_the_run_as_failed_and_can_be_resumed(self) -> None:
        loop = make_loop()
        loop.next_action()
        error = APIConnectionError("connection refused")
        result = finished(loop.model_failed(error))
        assert (result.status, result.error, result.exception) == (
            "failed",
            "connection refused",
            error,
        )
        assert isinstance(AgentLoop(loop.config, result.state).next_action(), CallModel)


class TestToolTurns:
    def test_parallel_results_go_back_in_one_user_message_in_call_order(self) -> None:
        loop = make_loop()
        loop.next_action()
        thinking = {"type": "thinking", "thinking": "Two lookups.", "signature": "c2ln"}
        redacted = {"type": "redacted_thinking", "data": "ZW5j"}
        content = [
            thinking,
            redacted,
            use("toolu_1", "lookup_order", {"order_id": "A-1"}),
            use("toolu_2", "lookup_order", {"order_id": "A-2"}),
        ]
        action = loop.model_responded(message(content, "tool_use"))
        assert isinstance(action, RunTools)
        assert [(c.id, c.kwargs) for c in action.calls] == [
            ("toolu_1", {"order_id": "A-1"}),
            ("toolu_2", {"order_id": "A-2"}),
        ]
        follow_up = loop.tools_ran([ok("toolu_2", "two"), ok("toolu_1", "one")])
        assert isinstance(follow_up, CallModel)
        assert follow_up.params["messages"][1:] == [
            {"role": "assistant", "content": content},
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "one"},
                    {"type": "tool_result", "tool_use_id": "toolu_2", "content": "two"},
                ],
            },
        ]

    def test_a_tools_output_is_recorded_with_the_calls_secret_values_masked(self) -> None:
        @tool(secret_fields=("card_number",))
        def charge_card(card_number: str) -> str:
            """Charge a card.

            Args:
                card_number: The card to charge.
            """
            return "charged"

        card = "4242424242424242"
        config = LoopConfig(
            model=MODEL, tools={"charge_card": charge_card}, request_params={}, max_tokens=1024
        )
        state = RunState(model=MODEL, messages=[{"role": "user", "content": "Pay"}])
        loop = AgentLoop(config, state)
        loop.next_action()
        action = loop.model_responded(
            message([use("toolu_1", "charge_card", {"card_number": card})], "tool_use")
        )
        assert isinstance(action, RunTools)
        assert action.calls[0].kwargs == {"card_number": card}
        recorded = loop.tool_ran(ok("toolu_1", f"charged card {card}"))
        assert recorded.output.content == "charged card [REDACTED]"
        follow_up = loop.tools_ran()
        assert isinstance(follow_up, CallModel)
        assert follow_up.params["messages"][-1]["content"] == [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "charged card [REDACTED]"}
        ]
        assert card not in str(follow_up.params["messages"])

    def test_invalid_arguments_never_reach_the_tool_and_explain_the_problem(self) -> None:
        loop = make_loop()
        loop.next_action()
        content = [
            use("toolu_1", "lookup_order", {"order_id": 42}),
            use("toolu_2", "lookup_order", {"order_id": "A-2"}),
        ]
        action = loop.model_responded(message(content, "tool_use"))
        assert isinstance(action, RunTools)
        assert [c.id for c in action.calls] == ["toolu_2"]
        follow_up = loop.tools_ran([ok("toolu_2", "two")])
        assert isinstance(follow_up, CallModel)
        results = follow_up.params["messages"][-1]["content"]
        assert results[0] == {
            "type": "tool_result",
            "tool_use_id": "toolu_1",
            "content": lookup_order_error("order_id: expected a string, got an integer 42"),
            "is_error": True,
        }
        assert results[1]["tool_use_id"] == "toolu_2"
        assert loop.state.invalid_rounds == 1

    def test_an_unknown_tool_gets_an_error_naming_the_available_tools(self) -> None:
        loop = make_loop()
        loop.next_action()
        action = loop.model_responded(message([use("toolu_1", "delete_all", {})], "tool_use"))
        assert isinstance(action, CallModel)
        assert action.params["messages"][-1]["content"] == [
            {
                "type": "tool_result",
                "tool_use_id": "toolu_1",
                "content": "Unknown tool 'delete_all'. Available tools: credit_account, "
                "lookup_order, refund_order.",
                "is_error": True,
            }
        ]

    def test_a_model_that_keeps_sending_invalid_calls_fails_the_run(self) -> None:
        loop = make_loop(max_tool_retries=2)
        loop.next_action()
        def bad(n: int) -> Message:
            return message([use(f"toolu_{n}", "lookup_order", {})], "tool_use")

        assert isinstance(loop.model_responded(bad(1)), CallModel)
        assert isinstance(loop.model_responded(bad(2)), CallModel)
        result = finished(loop.model_responded(bad(3)))
        assert result.status == "failed"
        assert result.error.startswith(
            "the model made invalid tool calls 3 turns in a row (max_tool_retries=2)"
        )

    def test_a_valid_turn_resets_the_invalid_call_budget(self) -> None:
        loop = make_loop(max_tool_retries=1)
        loop.next_action()
        bad = message([use("toolu_1", "lookup_order", {})], "tool_use")
        good = message([use("toolu_2", "lookup_order", {"order_id": "A-1"})], "tool_use")
        loop.model_responded(bad)
        loop.model_responded(good)
        loop.tools_ran([ok("toolu_2", "shipped")])
        assert loop.state.invalid_rounds == 0
        again = message([use("toolu_3", "lookup_order", {})], "tool_use")
        assert isinstance(loop.model_responded(again), CallModel)

    def test_a_tool_raising_model_retry_counts_against_the_budget(self) -> None:
        loop = make_loop(max_tool_retries=0)
        loop.next_action()
        loop.model_responded(
            message([use("toolu_1", "lookup_order", {"order_id": "A-1"})], "tool_use")
        )
        retry = ToolOutput("try A-2", is_error=True, error=ModelRetry("try A-2"))
        result = finished(loop.tools_ran([ToolOutcome("toolu_1", retry)]))
        assert result.status == "failed"


def lookup_order_error(problem: str) -> str:
    return (
        "Invalid arguments for tool 'lookup_order':\n"
        f"- {problem}\n"
        "Call the tool again with corrected arguments."
    )


class TestApproval:
    def sensitive_turn(self) -> tuple[AgentLoop, object]:
        loop = make_loop()
        loop.next_action()
        content = [
            use("toolu_1", "refund_order", {"order_id": "A-1", "amount_cents": 500}),
            use("toolu_2", "lookup_order", {"order_id": "A-1"}),
        ]
        return loop, loop.model_responded(message(content, "tool_use"))

    def test_calls_needing_no_approval_run_first_then_approval_is_asked(self) -> None:
        loop, action = self.sensitive_turn()
        assert isinstance(action, RunTools)
        assert [c.id for c in action.calls] == ["toolu_2"]
        ask = loop.tools_ran([ok("toolu_2", "shipped")])
        assert isinstance(ask, AskApproval)
        (request,) = ask.requests
        arguments = {"order_id": "A-1", "amount_cents": 500}
        assert (request.call_id, request.tool_name, request.arguments, request.reason) == (
            "toolu_1",
            "refund_order",
            arguments,
            "tool 'refund_order' is marked sensitive",
        )
        assert request.arguments_hash == arguments_hash(arguments)

    def test_pausing_returns_the_pending_calls_and_keeps_executed_results(self) -> None:
        loop, _ = self.sensitive_turn()
        loop.tools_ran([ok("toolu_2", "shipped")])
        result = finished(loop.pause())
        assert result.status == "paused"
        assert [(p.call_id, p.tool_name) for p in result.pending] == [("toolu_1", "refund_order")]
        restored = RunState.from_json(result.state.to_json())
        resumed = AgentLoop(loop.config, restored)
        action = resumed.next_action(
            {"toolu_1": Approve(arguments_hash=result.pending[0].arguments_hash)}
        )
        assert isinstance(action, RunTools)
        assert [(c.id, c.kwargs) for c in action.calls] == [
            ("toolu_1", {"order_id": "A-1", "amount_cents": 500})
        ]
        follow_up = resumed.tools_ran([ok("toolu_1", "refunded")])
        assert isinstance(follow_up, CallModel)
        assert follow_up.params["messages"][-1]["content"] == [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "refunded"},
            {"type": "tool_result", "tool_use_id": "toolu_2", "content": "shipped"},
        ]

    def test_without_an_approver_the_loop_pauses_with_the_calls_it_waits_on(self) -> None:
        loop = make_loop(pause_for_approval=True)
        loop.next_action()
        content = [
            use("toolu_1", "refund_order", {"order_id": "A-1", "amount_cents": 500}),
            use("toolu_2", "lookup_order", {"order_id": "A-1"}),
        ]
        action = loop.model_responded(message(content, "tool_use"))
        assert isinstance(action, RunTools)
        paused = loop.tools_ran([ok("toolu_2", "shipped")])
        assert isinstance(paused, Finish)
        assert paused.result.status == "paused"
        assert [(r.call_id, r.reason) for r in paused.awaiting] == [
            ("toolu_1", "tool 'refund_order' is marked sensitive")
        ]
        assert [p.call_id for p in paused.result.pending] == ["toolu_1"]
        resumed = AgentLoop(loop.config, loop.state).next_action({"toolu_1": Approve()})
        assert isinstance(resumed, RunTools)
        assert [c.id for c in resumed.calls] == ["toolu_1"]

    def test_a_paused_run_resumed_without_decisions_pauses_again(self) -> None:
        loop = make_loop(pause_for_approval=True)
        loop.next_action()
        refund = use("toolu_1", "refund_order", {"order_id": "A-1", "amount_cents": 500})
        assert isinstance(loop.model_responded(message([refund], "tool_use")), Finish)
        again = AgentLoop(loop.config, loop.state).next_action()
        assert isinstance(again, Finish)
        assert (again.result.status, [r.call_id for r in again.awaiting]) == (
            "paused",
            ["toolu_1"],
        )

    def test_a_denied_call_returns_an_error_result_to_the_model(self) -> None:
        loop, _ = self.sensitive_turn()
        loop.tools_ran([ok("toolu_2", "shipped")])
        action = loop.approvals_decided({"toolu_1": Deny("over the limit")})
        assert isinstance(action, CallModel)
        assert action.params["messages"][-1]["content"][0] == {
            "type": "tool_result",
            "tool_use_id": "toolu_1",
            "content": "The user denied this action: over the limit",
            "is_error": True,
        }

    def test_an_edit_runs_the_call_with_the_edited_validated_arguments(self) -> None:
        loop, _ = self.sensitive_turn()
        loop.tools_ran([ok("toolu_2", "shipped")])
        action = loop.approvals_decided(
            {"toolu_1": Edit({"order_id": "A-1", "amount_cents": 200})}
        )
        assert isinstance(action, RunTools)
        assert action.calls[0].kwargs == {"order_id": "A-1", "amount_cents": 200}

    def test_an_approval_given_for_other_arguments_is_a_denial(self) -> None:
        loop, _ = self.sensitive_turn()
        loop.tools_ran([ok("toolu_2", "shipped")])
        stale = Approve(arguments_hash=arguments_hash({"order_id": "A-1", "amount_cents": 9}))
        action = loop.approvals_decided({"toolu_1": stale})
        assert isinstance(action, CallModel)
        first = action.params["messages"][-1]["content"][0]
        assert first["is_error"] is True
        assert "different arguments" in first["content"]

    def test_arguments_changed_in_a_stored_state_void_the_approval(self) -> None:
        loop, _ = self.sensitive_turn()
        loop.tools_ran([ok("toolu_2", "shipped")])
        loop.pause()
        loop.state.pending[0].arguments["amount_cents"] = 99_999
        action = AgentLoop(loop.config, loop.state).next_action({"toolu_1": Approve()})
        assert isinstance(action, CallModel)
        assert "arguments changed" in action.params["messages"][-1]["content"][0]["content"]

    def test_a_masked_secret_cannot_run_after_resume(self) -> None:
        loop, _ = self.sensitive_turn()
        loop.tools_ran([ok("toolu_2", "shipped")])
        loop.state.pending[0].secret_fields = ["order_id"]
        loop.pause()
        restored = RunState.from_json(loop.state.to_json())
        action = AgentLoop(loop.config, restored).next_action({"toolu_1": Approve()})
        assert isinstance(action, CallModel)
        assert "secret arguments" in action.params["messages"][-1]["content"][0]["content"]

    def test_a_decision_for_an_unknown_call_is_refused(self) -> None:
        loop, _ = self.sensitive_turn()
        loop.tools_ran([ok("toolu_2", "shipped")])
        with pytest.raises(ApprovalError, match="unknown call ids"):
            loop.approvals_decided({"toolu_9": Approve()})

    def test_a_per_call_policy_is_checked_by_the_driver(self) -> None:
        loop = make_loop()
        loop.next_action()
        action = loop.model_responded(
            message([use("toolu_1", "credit_account", {"amount_cents": 5000})], "tool_use")
        )
        assert isinstance(action, CheckApproval)
        assert [c.id for c in action.calls] == ["toolu_1"]
        ask = loop.approval_checked({"toolu_1": "large credit"})
        assert isinstance(ask, AskApproval)
        assert ask.requests[0].reason == "large credit"

    def test_always_allow_skips_approval_for_the_rest_of_the_run(self) -> None:
        from agentcore.approval import AlwaysAllow

        loop, _ = self.sensitive_turn()
        loop.tools_ran([ok("toolu_2", "shipped")])
        loop.approvals_decided({"toolu_1": AlwaysAllow()})
        loop.tools_ran([ok("toolu_1", "refunded")])
        again = message(
            [use("toolu_3", "refund_order", {"order_id": "A-2", "amount_cents": 1})], "tool_use"
        )
        action = loop.model_responded(again)
        assert isinstance(action, RunTools)
        assert [c.id for c in action.calls] == ["toolu_3"]


class TestLimits:
    def test_max_turns_stops_before_the_next_model_call(self) -> None:
        loop = make_loop(limits=Limits(max_turns=1))
        loop.next_action()
        action = loop.model_responded(
            message([use("toolu_1", "lookup_order", {"order_id": "A-1"})], "tool_use")
        )
        assert isinstance(action, RunTools)
        result = finished(loop.tools_ran([ok("toolu_1", "shipped")]))
        assert (result.status, result.limit) == ("limit_reached", "max_turns")
        assert result.error == "max_turns=1 reached after 1 model calls"
        assert result.messages[-1]["role"] == "user"

    def test_max_total_tokens_counts_input_and_output(self) -> None:
        loop = make_loop(limits=Limits(max_total_tokens=110))
        loop.next_action()
        result = finished(
            loop.model_responded(message(PAUSED, "pause_turn", input_tokens=100, output_tokens=10))
        )
        assert (result.status, result.limit) == ("limit_reached", "max_total_tokens")
        assert result.error == "max_total_tokens=110 reached: the run used 110 tokens"

    def test_max_cost_stops_once_the_run_has_spent_it(self) -> None:
        loop = make_loop(limits=Limits(max_cost_usd=Decimal("0.0009")))
        loop.next_action()
        assert isinstance(loop.model_responded(message(PAUSED, "pause_turn")), CallModel)
        result = finished(loop.model_responded(message(PAUSED, "pause_turn")))
        assert (result.status, result.limit, result.cost_usd) == (
            "limit_reached",
            "max_cost_usd",
            Decimal("0.0009"),
        )

    def test_a_cost_limit_cannot_be_checked_for_an_unpriced_model_so_it_stops(self) -> None:
        loop = make_loop(limits=Limits(max_cost_usd=Decimal(1)))
        loop.next_action()
        result = finished(loop.model_responded(message(PAUSED, "pause_turn", model="mystery-1")))
        assert (result.status, result.limit, result.cost_usd) == (
            "limit_reached",
            "max_cost_usd",
            None,
        )
        assert "no price is known for mystery-1" in result.error

    def test_a_run_stopped_by_a_limit_resumes_under_a_larger_one(self) -> None:
        loop = make_loop(limits=Limits(max_turns=1))
        loop.next_action()
        stopped = finished(loop.model_responded(message(PAUSED, "pause_turn")))
        larger = make_loop(limits=Limits(max_turns=5))
        assert isinstance(AgentLoop(larger.config, stopped.state).next_action(), CallModel)


class Invoice(BaseModel):
    """An invoice total."""

    customer: str
    total_cents: int


class TestStructuredOutput:
    def loop(self, retries: int = 2) -> AgentLoop:
        loop = make_loop(output=OutputSpec.for_type(Invoice, max_retries=retries))
        loop.next_action()
        return loop

    def test_a_valid_final_result_call_ends_the_run_with_an_instance(self) -> None:
        loop = self.loop()
        call = use("toolu_1", "final_result", {"customer": "Ada", "total_cents": 1200})
        result = finished(loop.model_responded(message([call], "tool_use")))
        assert result.status == "completed"
        assert result.output_object == Invoice(customer="Ada", total_cents=1200)
        assert result.state.output_data == {"customer": "Ada", "total_cents": 1200}

    def test_an_invalid_final_result_goes_back_to_the_model_as_an_error(self) -> None:
        loop = self.loop()
        call = use("toolu_1", "final_result", {"customer": "Ada", "total_cents": "lots"})
        action = loop.model_responded(message([call], "tool_use"))
        assert isinstance(action, CallModel)
        assert action.params["messages"][-1]["content"] == [
            {
                "type": "tool_result",
                "tool_use_id": "toolu_1",
                "content": "The final_result arguments are invalid: total_cents: Input should "
                "be a valid integer, unable to parse string as an integer. Call it again with "
                "corrected arguments.",
                "is_error": True,
            }
        ]

    def test_a_plain_text_answer_is_reminded_to_use_the_output_tool(self) -> None:
        loop = self.loop()
        action = loop.model_responded(message([text("Ada owes $12")], "end_turn"))
        assert isinstance(action, CallModel)
        assert action.params["messages"][-1] == {
            "role": "user",
            "content": "Please give your final answer by calling the final_result tool with "
            "the structured result.",
        }

    def test_the_run_fails_when_the_output_retry_budget_is_spent(self) -> None:
        loop = self.loop(retries=1)
        bad = message([use("toolu_1", "final_result", {"customer": "Ada"})], "tool_use")
        again = message([use("toolu_2", "final_result", {"customer": "Ada"})], "tool_use")
        assert isinstance(loop.model_responded(bad), CallModel)
        result = finished(loop.model_responded(again))
        assert result.status == "failed"
        assert result.error.startswith("the structured output failed validation 2 times")
