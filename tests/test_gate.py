"""The approval gate: who must ask (policy), and asking approvers without ever failing open."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from agentcore.approval import AlwaysAllow, ApprovalRequest, Approve, Decision, Deny, Edit
from agentcore.approval.approvers import CallbackApprover, ScriptedApprover
from agentcore.approval.gate import (
    aapproval_reason,
    adecide,
    approval_reason,
    approval_steps,
    decide,
)
from tests.test_approval import SchemaTool, refund_request


class Raising:
    def decide(self, request: ApprovalRequest) -> Decision:
        raise ConnectionError("slack is down")


class AsyncApproving:
    async def decide(self, request: ApprovalRequest) -> Decision:
        await asyncio.sleep(0)
        return Approve(request.arguments_hash)


class Blocking:
    """Waits until released: a person who walked away from the screen."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def decide(self, request: ApprovalRequest) -> Decision:
        self.release.wait(5)
        return Approve()


class TestDecide:
    def test_returns_the_approvers_decision(self) -> None:
        assert decide(ScriptedApprover([Edit({"a": 1})]), refund_request()) == Edit({"a": 1})

    def test_an_exception_from_the_approver_is_a_denial(self) -> None:
        assert decide(Raising(), refund_request()) == Deny(
            "the approver failed (ConnectionError); denied for safety", automatic=True
        )

    def test_an_answer_that_is_not_a_decision_is_a_denial(self) -> None:
        approver = CallbackApprover(lambda request: "yes")  # type: ignore[arg-type, return-value]
        assert decide(approver, refund_request()) == Deny(
            "the approver returned str, not a decision", automatic=True
        )

    def test_ctrl_c_inside_the_approver_is_a_denial(self) -> None:
        def interrupted(request: ApprovalRequest) -> Decision:
            raise KeyboardInterrupt

        assert decide(CallbackApprover(interrupted), refund_request()) == Deny(
            "interrupted before a decision was made"
        )

    def test_no_answer_within_the_timeout_is_a_denial(self) -> None:
        approver = Blocking()
        try:
            decision = decide(approver, refund_request(), timeout_s=0.05)
        finally:
            approver.release.set()
        assert decision == Deny("no decision within 0.05 s; denied for safety", automatic=True)

    def test_an_answer_within_the_timeout_is_used(self) -> None:
        assert decide(ScriptedApprover([AlwaysAllow()]), refund_request(), timeout_s=5) == (
            AlwaysAllow()
        )

    def test_an_exception_within_the_timeout_is_a_denial(self) -> None:
        assert decide(Raising(), refund_request(), timeout_s=5) == Deny(
            "the approver failed (ConnectionError); denied for safety", automatic=True
        )

    def test_an_async_approver_is_run_to_completion(self) -> None:
        request = refund_request()
        assert decide(AsyncApproving(), request) == Approve(request.arguments_hash)

    async def test_an_async_approver_works_even_inside_a_running_loop(self) -> None:
        request = refund_request()
        assert decide(AsyncApproving(), request) == Approve(request.arguments_hash)


class TestAsyncDecide:
    async def test_awaits_an_async_approver(self) -> None:
        request = refund_request()
        assert await adecide(AsyncApproving(), request) == Approve(request.arguments_hash)

    async def test_runs_a_sync_approver_in_a_thread(self) -> None:
        assert await adecide(ScriptedApprover([Deny("no")]), refund_request()) == Deny("no")

    async def test_an_exception_is_a_denial(self) -> None:
        assert await adecide(Raising(), refund_request()) == Deny(
            "the approver failed (ConnectionError); denied for safety", automatic=True
        )

    @pytest.mark.parametrize("timeout_s", [None, 5.0])
    async def test_an_approvers_own_timeout_error_is_a_failure_not_a_timeout(
        self, timeout_s: float | None
    ) -> None:
        class UpstreamTimesOut:
            async def decide(self, request: ApprovalRequest) -> Decision:
                raise TimeoutError("the approval service did not answer")

        assert await adecide(UpstreamTimesOut(), refund_request(), timeout_s=timeout_s) == Deny(
            "the approver failed (TimeoutError); denied for safety", automatic=True
        )

    async def test_a_timeout_is_a_denial(self) -> None:
        class Slow:
            async def decide(self, request: ApprovalRequest) -> Decision:
                await asyncio.sleep(5)
                return Approve()

        assert await adecide(Slow(), refund_request(), timeout_s=0.05) == Deny(
            "no decision within 0.05 s; denied for safety", automatic=True
        )


class TestScriptedApprover:
    def test_answers_in_order_records_requests_and_denies_when_out_of_answers(self) -> None:
        approver = ScriptedApprover([Approve()])
        request = refund_request()
        assert [approver.decide(request), approver.decide(request)] == [
            Approve(),
            Deny("the scripted approver has no decisions left"),
        ]
        assert approver.requests == [request, request]

    def test_answers_by_tool_name(self) -> None:
        approver = ScriptedApprover({"refund_order": AlwaysAllow()})
        other = ApprovalRequest("c2", "delete_account", "", {}, "sensitive")
        assert approver.decide(refund_request()) == AlwaysAllow()
        assert approver.decide(other) == Deny("no scripted decision for tool 'delete_account'")


def over_fifty_dollars(arguments: dict[str, Any]) -> bool:
    return bool(arguments["amount_cents"] > 5000)


async def async_over_fifty_dollars(arguments: dict[str, Any]) -> bool:
    await asyncio.sleep(0)
    return bool(arguments["amount_cents"] > 5000)


class TestApprovalReason:
    def test_a_sensitive_tool_always_asks(self) -> None:
        assert approval_reason(SchemaTool(sensitive=True), {"amount_cents": 1}) == (
            "tool 'refund_order' is marked sensitive"
        )

    def test_a_plain_tool_never_asks(self) -> None:
        assert approval_reason(SchemaTool(sensitive=False), {"amount_cents": 1}) is None

    @pytest.mark.parametrize("policy", [over_fifty_dollars, async_over_fifty_dollars])
    def test_a_per_call_policy_asks_only_when_it_says_so(self, policy: Any) -> None:
        tool = SchemaTool(sensitive=False, requires_approval=policy)
        assert approval_reason(tool, {"amount_cents": 4000}) is None
        assert approval_reason(tool, {"amount_cents": 6000}) == (
            "the approval policy of tool 'refund_order' asks for these arguments"
        )

    @pytest.mark.parametrize("policy", [over_fifty_dollars, async_over_fifty_dollars])
    async def test_the_async_twin_applies_the_same_rules(self, policy: Any) -> None:
        tool = SchemaTool(sensitive=False, requires_approval=policy)
        assert await aapproval_reason(tool, {"amount_cents": 4000}) is None
        assert await aapproval_reason(tool, {"amount_cents": 6000}) == (
            "the approval policy of tool 'refund_order' asks for these arguments"
        )

    @pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
    async def test_a_policy_that_answers_with_text_asks_and_gives_it_as_the_reason(
        self, is_async: bool
    ) -> None:
        def over_fifty(arguments: dict[str, Any]) -> str | None:
            amount = arguments["amount_cents"]
            if amount <= 5000:
                return None
            return f"refunds above $50.00 need a supervisor (this one is ${amount / 100:.2f})"

        async def async_over_fifty(arguments: dict[str, Any]) -> str | None:
            return over_fifty(arguments)

        tool = SchemaTool(
            sensitive=False, requires_approval=async_over_fifty if is_async else over_fifty
        )
        reason = "refunds above $50.00 need a supervisor (this one is $60.00)"
        assert approval_reason(tool, {"amount_cents": 6000}) == reason
        assert await aapproval_reason(tool, {"amount_cents": 6000}) == reason
        assert approval_reason(tool, {"amount_cents": 4000}) is None
        assert await aapproval_reason(tool, {"amount_cents": 4000}) is None

    @pytest.mark.parametrize("answer", [False, None, ""])
    def test_false_none_and_empty_text_do_not_ask(self, answer: object) -> None:
        tool = SchemaTool(sensitive=False, requires_approval=lambda arguments: answer)
        assert approval_reason(tool, {"amount_cents": 6000}) is None

    @pytest.mark.parametrize(
        "answer", [True, "   ", "\x1b\x07\x00"], ids=["true", "blank", "control characters"]
    )
    def test_a_yes_without_a_readable_reason_gets_the_generic_one(self, answer: object) -> None:
        tool = SchemaTool(sensitive=False, requires_approval=lambda arguments: answer)
        assert approval_reason(tool, {"amount_cents": 6000}) == (
            "the approval policy of tool 'refund_order' asks for these arguments"
        )

    def test_a_stated_reason_becomes_one_line_without_control_characters(self) -> None:
        def chatty(arguments: dict[str, Any]) -> str:
            return f"  large refund:\n\t{arguments['note']}  \n"

        tool = SchemaTool(sensitive=False, requires_approval=chatty)
        note = "\x1b[31mapprove me\x1b[0m \u202eplease"
        assert approval_reason(tool, {"amount_cents": 1, "note": note}) == (
            "large refund: [31mapprove me[0m please"
        )

    def test_a_secret_argument_quoted_by_the_reason_is_masked(self) -> None:
        def quoting(arguments: dict[str, Any]) -> str:
            return f"charged with key {arguments['api_key']}"

        tool = SchemaTool(sensitive=False, requires_approval=quoting)
        arguments = {"amount_cents": 1, "api_key": "live-4242"}
        assert approval_reason(tool, arguments) == "charged with key [REDACTED]"

    def test_a_policy_that_raises_asks(self) -> None:
        tool = SchemaTool(sensitive=False, requires_approval=over_fifty_dollars)
        assert approval_reason(tool, {}) == (
            "the approval policy for 'refund_order' failed (KeyError); asking"
        )

    async def test_an_async_policy_that_raises_asks(self) -> None:
        tool = SchemaTool(sensitive=False, requires_approval=async_over_fifty_dollars)
        assert await aapproval_reason(tool, {}) == (
            "the approval policy for 'refund_order' failed (KeyError); asking"
        )

    def test_the_agent_policy_overrides_the_tools_settings(self) -> None:
        def read_only_tools_run_freely(tool: Any, arguments: dict[str, Any]) -> bool | None:
            return False if tool.name.startswith("lookup_") else None

        lookup = SchemaTool(name="lookup_order", sensitive=True)
        refund = SchemaTool(sensitive=True)
        assert approval_reason(lookup, {}, policy=read_only_tools_run_freely) is None
        assert approval_reason(refund, {}, policy=read_only_tools_run_freely) == (
            "tool 'refund_order' is marked sensitive"
        )

    def test_the_agent_policy_can_demand_approval_for_any_tool(self) -> None:
        def ask_for_everything(tool: Any, arguments: dict[str, Any]) -> bool:
            return True

        assert approval_reason(SchemaTool(sensitive=False), {}, policy=ask_for_everything) == (
            "the agent's approval policy asks for 'refund_order'"
        )

    def test_the_agent_policy_may_give_its_reason_in_words(self) -> None:
        def over_budget(tool: Any, arguments: dict[str, Any]) -> str | None:
            if arguments.get("amount_cents", 0) > 5000:
                return f"  {tool.name} over $50.00\n\x1b[2J for key {arguments['api_key']}"
            return None

        refund = SchemaTool(sensitive=True)
        asked = approval_reason(
            refund, {"amount_cents": 6000, "api_key": "live-4242"}, policy=over_budget
        )
        assert asked == "refund_order over $50.00 [2J for key [REDACTED]"
        # None leaves it to the tool, which is sensitive.
        assert approval_reason(refund, {"amount_cents": 10}, policy=over_budget) == (
            "tool 'refund_order' is marked sensitive"
        )

    @pytest.mark.parametrize(
        ("answer", "reason"),
        [("", None), ("   ", "the agent's approval policy asks for 'refund_order'")],
        ids=["empty text runs", "blank text asks"],
    )
    def test_the_agent_policys_empty_and_blank_texts_read_like_the_tools(
        self, answer: str, reason: str | None
    ) -> None:
        tool = SchemaTool(sensitive=True)
        assert approval_reason(tool, {}, policy=lambda tool, arguments: answer) == reason

    async def test_an_async_agent_policy_may_give_its_reason_in_words(self) -> None:
        async def ask(tool: Any, arguments: dict[str, Any]) -> str:
            return "every refund waits for the night shift"

        reason = await aapproval_reason(SchemaTool(sensitive=False), {}, policy=ask)
        assert reason == "every refund waits for the night shift"

    def test_an_always_allowed_tool_no_longer_asks(self) -> None:
        tool = SchemaTool(sensitive=True)
        assert approval_reason(tool, {}, always_allowed={"refund_order"}) is None


class TestApprovalSteps:
    """The rule itself, which calls no user code: the loop runs it to decide alone."""

    def test_a_call_no_policy_has_a_say_in_is_decided_without_consulting_anyone(self) -> None:
        steps = approval_steps(SchemaTool(sensitive=True), {"amount_cents": 1})
        with pytest.raises(StopIteration) as decided:
            next(steps)
        assert decided.value.value == "tool 'refund_order' is marked sensitive"

    def test_the_agent_policy_is_yielded_to_the_runner_not_called_by_the_rule(self) -> None:
        asked: list[str] = []

        def runs_freely(tool: Any, arguments: dict[str, Any]) -> bool:
            asked.append(tool.name)
            return False

        steps = approval_steps(SchemaTool(sensitive=True), {}, policy=runs_freely)
        consult = next(steps)
        assert asked == []
        with pytest.raises(StopIteration) as decided:
            steps.send(consult())
        assert (asked, decided.value.value) == (["refund_order"], None)

    def test_a_policy_whose_call_raised_asks_for_approval(self) -> None:
        tool = SchemaTool(sensitive=False, requires_approval=over_fifty_dollars)
        steps = approval_steps(tool, {})
        next(steps)
        with pytest.raises(StopIteration) as decided:
            steps.throw(KeyError("amount_cents"))
        assert decided.value.value == (
            "the approval policy for 'refund_order' failed (KeyError); asking"
        )
