"""RunState: a paused run is plain data that survives JSON, and refuses what it cannot trust."""

import json
from decimal import Decimal

import pytest

from agentcore.errors import RunStateError
from agentcore.state import (
    STATE_VERSION,
    PendingApproval,
    PendingCall,
    RunState,
    TurnRecord,
    has_masked_secrets,
)
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
    assert body["pending"][0]["arguments"] == {"account": "A-1", "pin": "[REDACTED]"}
    assert body["messages"][1]["content"][1]["input"] == {"account": "A-1", "pin": "[REDACTED]"}
    assert "1234" not in json.dumps(body["messages"][1]) + json.dumps(body["pending"])
    # The live object is untouched.
    assert state.pending[0].arguments["pin"] == "1234"


def test_a_tools_secret_fields_from_the_state_and_from_its_calls_are_all_masked() -> None:
    """A state resumed by an agent whose tool marks other fields secret masks both sets."""
    state = paused_state()
    tool_use = state.messages[1]["content"][1]
    tool_use["input"] = {"account": "A-1", "pin": "1234", "puk": "87654321"}
    state.pending[0].arguments = dict(tool_use["input"])
    state.pending[0].secret_fields = ["puk"]
    text = state.to_json()
    body = json.loads(text)["state"]
    masked = {"account": "A-1", "pin": "[REDACTED]", "puk": "[REDACTED]"}
    assert body["messages"][1]["content"][1]["input"] == masked
    assert "1234" not in text
    assert "87654321" not in text


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


KEY = "sk-ant-api03-" + "K" * 40


def state_quoting_a_key() -> RunState:
    state = paused_state()
    state.messages[0] = {"role": "user", "content": f"My key is {KEY}, reset my PIN to 1234"}
    state.messages[1]["content"].insert(1, {"type": "text", "text": f"Using {KEY}."})
    state.pending[0].result = None
    state.output = f"Using {KEY}."
    state.error = f"the API said: invalid x-api-key: {KEY}"
    return state


def test_api_keys_are_redacted_anywhere_in_json_even_with_secrets_kept() -> None:
    state = state_quoting_a_key()

    for document in (state.to_json(), state.to_json(include_secrets=True)):
        body = json.loads(document)["state"]
        assert KEY not in document
        assert body["messages"][1]["content"][1] == {"type": "text", "text": "Using [REDACTED]."}
        assert body["output"] == "Using [REDACTED]."
        assert body["error"] == "the API said: invalid x-api-key: [REDACTED]"
        # Ids, names and signatures stay as they are, so the conversation can be sent again.
        assert body["messages"][1]["content"][0] == {
            "type": "thinking", "thinking": "ok", "signature": "sig==",
        }
        assert body["messages"][1]["content"][2]["id"] == "toolu_1"


def test_secret_argument_values_are_masked_in_any_text_of_the_json() -> None:
    body = json.loads(state_quoting_a_key().to_json())["state"]

    assert body["messages"][0]["content"] == "My key is [REDACTED], reset my PIN to [REDACTED]"
    assert "1234" not in json.dumps(body)


def test_a_call_whose_arguments_were_masked_is_known_as_such_after_json() -> None:
    state = paused_state()
    state.pending[0].secret_fields = []
    state.pending[0].arguments = {"account": "A-1", "password": "hunter2-long"}

    stored = RunState.from_json(state.to_json())
    kept = RunState.from_json(state.to_json(include_secrets=True))

    assert stored.pending[0].arguments == {"account": "A-1", "password": "[REDACTED]"}
    assert has_masked_secrets(stored.pending[0])
    assert kept.pending[0].arguments == {"account": "A-1", "password": "hunter2-long"}
    assert not has_masked_secrets(kept.pending[0])


def test_the_structured_output_data_survives_json_and_loads_under_its_former_name() -> None:
    state = RunState(model="m", status="completed", output_data={"total_cents": 1200})
    assert RunState.from_json(state.to_json()).output_data == {"total_cents": 1200}
    document = json.loads(state.to_json())
    document["state"]["output_object"] = document["state"].pop("output_data")
    assert RunState.from_json(json.dumps(document)).output_data == {"total_cents": 1200}
