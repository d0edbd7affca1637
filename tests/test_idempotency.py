"""A tool reads the call it runs for: its id is the call's idempotency key.

Resuming the same plain serialized state twice runs an approved call twice; a tool that acts
on the world passes ``current_tool_call().idempotency_key`` on, so the second run changes
nothing there. Every driver gives the tool the id of the ``tool_use`` block it answers.
"""

from __future__ import annotations

import asyncio

import pytest

from agentcore import (
    Agent,
    AsyncClient,
    Client,
    ModelSettings,
    ToolCallInfo,
    current_tool_call,
    tool,
)
from agentcore.approval import Approve
from agentcore.state import RunState
from agentcore.testing import ScriptedModel, text_reply, tool_reply

MODEL = "claude-sonnet-4-6"


class Ledger:
    """A payment system that ignores a charge whose idempotency key it has already seen."""

    def __init__(self) -> None:
        self.charges: dict[str, int] = {}
        self.attempts: list[str] = []

    def charge(self, key: str, cents: int) -> str:
        self.attempts.append(key)
        if key in self.charges:
            return f"already charged under {key}"
        self.charges[key] = cents
        return f"charged {cents} under {key}"


def make_agent(script: ScriptedModel, tools: list[object]) -> Agent:
    return Agent(
        MODEL,
        "You take payments.",
        tools,  # type: ignore[arg-type]
        client=Client(api_key="test", transport=script, max_retries=0),
        async_client=AsyncClient(api_key="test", transport=script, max_retries=0),
        model_settings=ModelSettings(cache=False),
    )


def test_outside_a_tool_there_is_no_current_call() -> None:
    assert current_tool_call() is None


@pytest.mark.parametrize("driver", ["run", "arun"])
def test_each_parallel_call_sees_its_own_id(driver: str) -> None:
    seen: dict[str, ToolCallInfo | None] = {}

    @tool
    def note(text: str) -> str:
        """Note something.

        Args:
            text: What to note.
        """
        seen[text] = current_tool_call()
        return "noted"

    @tool
    async def anote(text: str) -> str:
        """Note something, asynchronously.

        Args:
            text: What to note.
        """
        await asyncio.sleep(0)
        seen[text] = current_tool_call()
        return "noted"

    script = ScriptedModel(
        [
            tool_reply(
                ("note", {"text": "a"}, "toolu_a"),
                ("anote", {"text": "b"}, "toolu_b"),
                ("note", {"text": "c"}, "toolu_c"),
            ),
            text_reply("Done."),
        ]
    )
    agent = make_agent(script, [note, anote])
    result = agent.run("go") if driver == "run" else asyncio.run(agent.arun("go"))

    assert result.status == "completed"
    assert {text: info and (info.id, info.name) for text, info in seen.items()} == {
        "a": ("toolu_a", "note"),
        "b": ("toolu_b", "anote"),
        "c": ("toolu_c", "note"),
    }
    assert all(info is not None and info.idempotency_key == info.id for info in seen.values())
    assert current_tool_call() is None


def test_resuming_a_plain_state_twice_runs_the_call_twice_under_one_key() -> None:
    ledger = Ledger()

    @tool(sensitive=True)
    def charge(cents: int) -> str:
        """Charge the customer.

        Args:
            cents: Amount in cents.
        """
        info = current_tool_call()
        assert info is not None
        return ledger.charge(info.idempotency_key, cents)

    script = ScriptedModel(
        [
            tool_reply(("charge", {"cents": 4999}, "toolu_charge")),
            text_reply("Charged."),
            text_reply("Charged."),
        ]
    )
    agent = make_agent(script, [charge])
    paused = agent.run("Charge $49.99")
    assert paused.status == "paused"
    saved = paused.state.to_json()
    [request] = paused.pending
    approval = {request.call_id: Approve(arguments_hash=request.arguments_hash)}

    for _ in range(2):
        resumed = agent.resume(RunState.from_json(saved), approval)
        assert resumed.status == "completed"

    assert ledger.attempts == ["toolu_charge", "toolu_charge"]
    assert ledger.charges == {"toolu_charge": 4999}
