"""RunState: a paused run is plain data that survives JSON, and refuses what it cannot trust."""

import json
from decimal import Decimal

import pytest

from agentcore.errors import RunStateError
from agentcore.state import STATE_VERSION, PendingApproval, PendingCall, RunState, TurnRecord
from agentcore.types import Usage


def paused_state() -> RunState:
    state = RunState(
        model="claude-sonnet-4-6",
        messages=[
            {"role": "user", "content": "Reset my PIN to 1234"},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "ok", "signature": "sig=="},
                    {"type": "tool_use", "id": "toolu_1", "name": "set_pin",
                     "input": {"account": "A-1", "pin": "1234"}},
                ],
            },
        ],
        phase="tools",
        status="paused",
        secret_fields_by_tool={"set_pin": ["pin"]},
    )  # fmt: skip
    state.turns.append(
        TurnRecord(
            "claude-sonnet-4-6",
            "tool_use",
            Usage(input_tokens=10, output_tokens=20),
            Decimal("0.00033"),
            "req_1",
            0.25,
        )
    )
    state.usage.add(Usage(input_tokens=10, output_tokens=20))
    state.cost_usd = Decimal("0.00033")
    state.pending.append(
        PendingCall(
            "toolu_1",
            "set_pin",
            {"account": "A-1", "pin": "1234"},
            "approval",
            reason="tool 'set_pin' is marked sensitive",
            arguments_hash="abc",
            secret_fields=["pin"],
        )
    )
    return state


def test_a_state_round_trips_through_json_with_secrets_kept_on_request() -> None:
    state = paused_state()
    restored = RunState.from_json(state.to_json(include_secrets=True))
    assert restored == state


def test_secret_arguments_are_masked_in_json_by_default() -> None:
    state = paused_state()
    document = json.loads(state.to_json())
    body = document["state"]
    assert document["version"] == STATE_VERSION
    assert body["pending"][0]["arguments"] == {"account": "A-1", "pin": "[redacted]"}
    assert body["messages"][1]["content"][1]["input"] == {"account": "A-1", "pin": "[redacted]"}
    assert "1234" not in json.dumps(body["messages"][1]) + json.dumps(body["pending"])
    # The live object is untouched.
    assert state.pending[0].arguments["pin"] == "1234"


def test_pending_approvals_list_the_calls_waiting_for_a_decision() -> None:
    assert paused_state().pending_approvals() == [
        PendingApproval(
            "toolu_1",
            "set_pin",
            {"account": "A-1", "pin": "1234"},
            "tool 'set_pin' is marked sensitive",
            "abc",
        )
    ]


def test_cost_is_unknown_once_an_unpriced_model_answered() -> None:
    state = paused_state()
    assert state.total_cost_usd == Decimal("0.00033")
    state.unpriced_models.append("claude-future")
    assert state.total_cost_usd is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("not json", "not valid JSON"),
        ('{"format": "something else"}', "not an agentcore run state"),
        ('{"format": "agentcore.run_state", "version": 99, "state": {}}', "version 99"),
        ('{"format": "agentcore.run_state", "version": 1, "state": {"phase": "x"}}', "invalid"),
    ],
)
def test_documents_that_cannot_be_trusted_raise_run_state_error(text: str, problem: str) -> None:
    with pytest.raises(RunStateError, match=problem):
        RunState.from_json(text)
