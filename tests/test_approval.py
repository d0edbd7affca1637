"""Approval requests and decisions: hashing, redaction, serialization, binding, applying."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import pytest

from agentcore.approval import (
    REDACTED,
    AlwaysAllow,
    ApprovalRequest,
    Approve,
    ApprovedCall,
    DeniedCall,
    Deny,
    Edit,
    apply_decision,
    arguments_hash,
    bind_decisions,
    decision_from_dict,
    denial_message,
    redact_arguments,
    restore_secrets,
)
from agentcore.errors import ApprovalError, ToolArgumentsError
from agentcore.tools import ToolApprovalPolicy

REFUND_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "order_id": {"type": "string"},
        "amount_cents": {"type": "integer", "exclusiveMinimum": 0},
        "api_key": {"type": "string"},
    },
    "required": ["order_id", "amount_cents"],
    "additionalProperties": False,
}


@dataclass
class SchemaTool:
    """A minimal tool satisfying ToolLike: validates with JSON Schema, returns kwargs."""

    name: str = "refund_order"
    description: str = "Refund an order."
    input_schema: dict[str, Any] = field(default_factory=lambda: REFUND_SCHEMA)
    sensitive: bool = True
    requires_approval: ToolApprovalPolicy | None = None
    secret_fields: frozenset[str] = frozenset({"api_key"})

    def validate(self, arguments: dict[str, Any]) -> dict[str, Any]:
        validator = jsonschema.Draft202012Validator(self.input_schema)
        problems = [
            (".".join(map(str, error.absolute_path)), error.message)
            for error in validator.iter_errors(arguments)
        ]
        if problems:
            raise ToolArgumentsError(self.name, problems)
        return dict(arguments)


def refund_request(**arguments: Any) -> ApprovalRequest:
    args = {"order_id": "A-1001", "amount_cents": 5000, "api_key": "sk-live-1"} | arguments
    return ApprovalRequest.for_call(SchemaTool(), "toolu_1", args, "tool is marked sensitive")


class TestArgumentsHash:
    def test_is_sha256_of_canonical_json(self) -> None:
        canonical = '{"a":1,"b":"é"}'
        expected = hashlib.sha256(canonical.encode()).hexdigest()
        assert arguments_hash({"b": "é", "a": 1}) == expected

    def test_key_order_does_not_matter_but_values_do(self) -> None:
        assert arguments_hash({"a": 1, "b": 2}) == arguments_hash({"b": 2, "a": 1})
        assert arguments_hash({"a": 1}) != arguments_hash({"a": 2})
        assert arguments_hash({"a": 1}) != arguments_hash({"a": "1"})

    def test_request_fills_in_its_hash(self) -> None:
        request = refund_request()
        assert request.arguments_hash == arguments_hash(request.arguments)


class TestRedaction:
    def test_secret_fields_are_masked_at_any_depth(self) -> None:
        arguments = {
            "api_key": "sk",
            "nested": {"api_key": "sk2", "x": 1},
            "list": [{"api_key": 3}],
        }
        assert redact_arguments(arguments, {"api_key"}) == {
            "api_key": REDACTED,
            "nested": {"api_key": REDACTED, "x": 1},
            "list": [{"api_key": REDACTED}],
        }
        assert arguments["api_key"] == "sk"

    def test_request_display_masks_its_secret_fields(self) -> None:
        assert refund_request().display_arguments() == {
            "order_id": "A-1001",
            "amount_cents": 5000,
            "api_key": REDACTED,
        }

    def test_restore_secrets_keeps_real_values_where_the_edit_left_the_mask(self) -> None:
        original = {"order_id": "A-1", "api_key": "sk-live-1"}
        edited = {"order_id": "A-2", "api_key": REDACTED}
        assert restore_secrets(edited, original, {"api_key"}) == {
            "order_id": "A-2",
            "api_key": "sk-live-1",
        }

    def test_restore_secrets_keeps_a_secret_the_person_replaced(self) -> None:
        edited = {"api_key": "sk-new"}
        assert restore_secrets(edited, {"api_key": "sk-old"}, {"api_key"}) == edited


class TestDecisionSerialization:
    @pytest.mark.parametrize(
        ("decision", "wire"),
        [
            (Approve(), {"kind": "approve"}),
            (AlwaysAllow(), {"kind": "always_allow"}),
            (Deny("too much"), {"kind": "deny", "reason": "too much"}),
            (
                Deny("no terminal", automatic=True),
                {"kind": "deny", "reason": "no terminal", "automatic": True},
            ),
            (Edit({"amount_cents": 10}), {"kind": "edit", "arguments": {"amount_cents": 10}}),
            (Approve("abc"), {"kind": "approve", "arguments_hash": "abc"}),
        ],
    )
    def test_round_trips_through_json(self, decision: Any, wire: dict[str, Any]) -> None:
        assert decision.to_dict() == wire
        assert decision_from_dict(json.loads(json.dumps(decision.to_dict()))) == decision

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ({"kind": "yes"}, "unknown decision kind 'yes'"),
            ({}, "unknown decision kind None"),
            ({"kind": "edit"}, "needs 'arguments'"),
            ({"kind": "deny", "reason": 3}, "'reason' must be a string"),
            ({"kind": "deny", "automatic": "yes"}, "'automatic' must be true or false"),
            ({"kind": "approve", "arguments_hash": 1}, "'arguments_hash' must be a string"),
        ],
    )
    def test_malformed_decisions_are_rejected(self, data: dict[str, Any], message: str) -> None:
        with pytest.raises(ApprovalError, match=message.replace("(", r"\(")):
            decision_from_dict(data)

    def test_decisions_are_immutable_and_compare_by_value(self) -> None:
        assert Deny("x") == Deny("x")
        with pytest.raises(AttributeError):
            Deny("x").reason = "y"  # type: ignore[misc]

    def test_request_round_trips_and_refuses_a_tampered_one(self) -> None:
        request = refund_request()
        assert ApprovalRequest.from_dict(request.to_dict()) == request
        tampered = request.to_dict() | {"arguments": {"order_id": "A-1001", "amount_cents": 9}}
        with pytest.raises(ApprovalError, match="do not match their recorded hash"):
            ApprovalRequest.from_dict(tampered)


class TestApplyDecision:
    def test_approve_runs_the_arguments_that_were_shown(self) -> None:
        request = refund_request()
        outcome = apply_decision(SchemaTool(), request, Approve())
        assert outcome == ApprovedCall(
            call_id="toolu_1",
            tool_name="refund_order",
            arguments=request.arguments,
            kwargs=request.arguments,
            decision=Approve(),
            always_allow=False,
        )

    def test_always_allow_approves_and_marks_the_tool(self) -> None:
        outcome = apply_decision(SchemaTool(), refund_request(), AlwaysAllow())
        assert isinstance(outcome, ApprovedCall)
        assert outcome.always_allow is True

    def test_deny_tells_the_model_the_reason(self) -> None:
        outcome = apply_decision(SchemaTool(), refund_request(), Deny("over the limit"))
        assert outcome == DeniedCall(
            call_id="toolu_1",
            tool_name="refund_order",
            reason="over the limit",
            model_message="The user denied this action: over the limit",
            decision=Deny("over the limit"),
        )

    def test_deny_without_reason_says_so(self) -> None:
        assert denial_message("") == "The user denied this action: no reason given"

    def test_valid_edit_runs_the_edited_arguments_with_secrets_restored(self) -> None:
        request = refund_request()
        edit = Edit({"order_id": "A-1001", "amount_cents": 2500, "api_key": REDACTED})
        outcome = apply_decision(SchemaTool(), request, edit)
        expected = {"order_id": "A-1001", "amount_cents": 2500, "api_key": "sk-live-1"}
        assert isinstance(outcome, ApprovedCall)
        assert (outcome.arguments, outcome.kwargs) == (expected, expected)

    def test_invalid_edit_is_refused_with_the_reason(self) -> None:
        edit = Edit({"order_id": "A-1001", "amount_cents": -5})
        outcome = apply_decision(SchemaTool(), refund_request(), edit)
        reason = (
            "The person approving this call edited its arguments, but the edit is invalid, so "
            "the action was not run: amount_cents: -5 is less than or equal to the minimum of 0"
        )
        assert outcome == DeniedCall("toolu_1", "refund_order", reason, reason, edit)

    def test_decision_bound_to_other_arguments_is_refused(self) -> None:
        stale = Approve(arguments_hash=arguments_hash({"order_id": "A-1001", "amount_cents": 1}))
        outcome = apply_decision(SchemaTool(), refund_request(), stale)
        assert isinstance(outcome, DeniedCall)
        assert outcome.reason == "the decision was made for different arguments; denied for safety"

    def test_decision_bound_to_the_shown_arguments_is_applied(self) -> None:
        request = refund_request()
        outcome = apply_decision(SchemaTool(), request, Approve(request.arguments_hash))
        assert isinstance(outcome, ApprovedCall)

    def test_something_that_is_not_a_decision_is_a_denial(self) -> None:
        outcome = apply_decision(SchemaTool(), refund_request(), "yes")  # type: ignore[arg-type]
        assert isinstance(outcome, DeniedCall)
        assert outcome.model_message == (
            "This action was denied automatically, without asking a person: str is not a decision"
        )


class TestBindDecisions:
    def test_decisions_are_matched_to_pending_calls_by_id(self) -> None:
        first = refund_request()
        second = ApprovalRequest.for_call(SchemaTool(), "toolu_2", {"order_id": "B"}, "why")
        assert bind_decisions([first, second], {"toolu_2": Deny("no")}) == {
            "toolu_2": Deny("no")
        }

    def test_a_decision_for_changed_arguments_becomes_a_denial(self) -> None:
        request = refund_request()
        bound = bind_decisions([request], {"toolu_1": Approve(arguments_hash="0" * 64)})
        assert bound == {
            "toolu_1": Deny(
                "the decision was made for different arguments than the call now has; "
                "denied for safety",
                arguments_hash=request.arguments_hash,
            )
        }

    def test_a_decision_for_an_unknown_call_is_an_error_and_approves_nothing(self) -> None:
        with pytest.raises(ApprovalError, match=r"unknown call ids \['toolu_9'\]"):
            bind_decisions([refund_request()], {"toolu_9": Approve(), "toolu_1": Approve()})
