"""A run under hostile model output: a sensitive action runs only on an explicit approval of
exactly those arguments, at most once, and every run ends by itself.

Each test scripts the model as an attacker would (duplicate tool_use ids, non-finite numbers,
a state naming a tool the agent lost) and asserts what ran: usually nothing.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentcore import Limits
from agentcore.agent import Agent
from agentcore.approval import Approve, Deny, Edit
from agentcore.approval.approvers import CallbackApprover, ScriptedApprover
from agentcore.approval.requests import ApprovalRequest, Decision
from agentcore.cli import main
from agentcore.client import AsyncClient, Client
from agentcore.errors import ApprovalError, MalformedResponseError, RunStateError, StreamError
from agentcore.events import RunFinished
from agentcore.hooks import Veto
from agentcore.loop import ToolCall
from agentcore.state import RunResult, RunState
from agentcore.store import RunStore
from agentcore.store.durable import ExecutionJournal, resume_stored, run_stored
from agentcore.testing import ScriptedModel, text_reply, tool_reply
from agentcore.tools import Tool, tool

MODEL = "claude-sonnet-4-5"


class Runaway(BaseException):
    """Raised by a test's counters when something ran far more often than it could legally;
    a BaseException, so no layer of the run turns it into a tool error and carries on."""


class Ledger:
    """What the tools of one test really did, with a ceiling that stops a runaway loop."""

    def __init__(self, ceiling: int = 50) -> None:
        self.entries: list[str] = []
        self.ceiling = ceiling

    def add(self, entry: str) -> None:
        self.entries.append(entry)
        if len(self.entries) > self.ceiling:
            raise Runaway(f"{len(self.entries)} executions: {self.entries[:3]}...")


def support_tools(ledger: Ledger) -> tuple[Tool, Tool]:
    @tool
    def ping(note: str) -> str:
        """Say hello.

        Args:
            note: Anything.
        """
        ledger.add(f"ping {note}")
        return "pong"

    @tool(sensitive=True)
    def refund(order_id: str, amount_cents: int) -> str:
        """Refund an order.

        Args:
            order_id: The order.
            amount_cents: How much, in cents.
        """
        ledger.add(f"refund {order_id} {amount_cents}")
        return f"refunded {amount_cents}"

    return ping, refund


def make_agent(
    replies: list[Any], tools: tuple[Tool, ...], **options: Any
) -> tuple[Agent, ScriptedModel]:
    model = ScriptedModel(replies)
    agent = Agent(
        MODEL,
        tools=tools,
        client=Client(api_key="test", transport=model, max_retries=0),
        async_client=AsyncClient(api_key="test", transport=model, max_retries=0),
        **options,
    )
    return agent, model


def run_both_ways(agent: Agent, mode: str, prompt: str = "go") -> RunResult:
    if mode == "sync":
        return agent.run(prompt)
    if mode == "stream":
        events = list(agent.stream(prompt))
        last = events[-1]
        assert isinstance(last, RunFinished)
        return last.result
    return asyncio.run(agent.arun(prompt))


MODES = ["sync", "async", "stream"]


# --- 1. tool_use ids --------------------------------------------------------------------------


class TestDuplicateToolUseIds:
    @pytest.mark.parametrize("mode", MODES)
    def test_a_reply_with_two_calls_sharing_an_id_runs_nothing_and_fails(self, mode: str) -> None:
        ledger = Ledger()
        tools = support_tools(ledger)
        reply = tool_reply(("ping", {"note": "a"}, "toolu_1"), ("ping", {"note": "b"}, "toolu_1"))
        agent, model = make_agent([reply, text_reply("unreachable")], tools)

        result = run_both_ways(agent, mode)

        assert ledger.entries == []
        assert result.status == "failed"
        assert result.error is not None and "toolu_1" in result.error
        assert "more than once" in result.error
        assert isinstance(result.exception, MalformedResponseError)
        assert len(model.requests) == 1

    @pytest.mark.parametrize("mode", MODES)
    def test_a_denied_and_an_approved_refund_sharing_an_id_never_reach_the_approver(
        self, mode: str
    ) -> None:
        ledger = Ledger()
        tools = support_tools(ledger)
        reply = tool_reply(
            ("refund", {"order_id": "A-1", "amount_cents": 1}, "toolu_x"),
            ("refund", {"order_id": "A-1", "amount_cents": 999_999}, "toolu_x"),
        )
        approver = ScriptedApprover([Deny("one cent? no"), Approve()])
        agent, _ = make_agent([reply, text_reply("unreachable")], tools, approver=approver)

        result = run_both_ways(agent, mode)

        assert ledger.entries == []
        assert approver.requests == []
        assert result.status == "failed"

    def test_with_the_execution_journal_the_run_ends_without_running_anything(
        self, tmp_path: Path
    ) -> None:
        ledger = Ledger()
        tools = support_tools(ledger)
        claims = Ledger(ceiling=20)
        reply = tool_reply(("ping", {"note": "a"}, "toolu_1"), ("ping", {"note": "b"}, "toolu_1"))
        with RunStore(tmp_path / "runs.db") as store:
            journal = ExecutionJournal(store)

            def counted_claim(call: ToolCall) -> Veto | None:
                claims.add(call.id)
                return journal.before_tool(call)

            agent, model = make_agent(
                [reply, text_reply("unreachable")],
                tools,
                before_tool=[counted_claim],
                after_tool=[journal.after_tool],
                limits=Limits(max_turns=3),
            )
            result = run_stored(agent, store, "go")
            assert store.load_run(result.state.run_id).status == "failed"

        assert result.status == "failed"
        assert claims.entries == []
        assert ledger.entries == []
        assert len(model.requests) == 1

    @pytest.mark.parametrize("mode", MODES)
    def test_an_id_repeating_one_from_an_earlier_turn_is_refused(self, mode: str) -> None:
        ledger = Ledger()
        tools = support_tools(ledger)
        refund_args = {"order_id": "A-1", "amount_cents": 500}
        replies = [
            tool_reply(("refund", refund_args, "toolu_same")),
            tool_reply(("refund", refund_args, "toolu_same")),
            text_reply("unreachable"),
        ]
        approver = ScriptedApprover([Approve(), Approve()])
        agent, model = make_agent(replies, tools, approver=approver)

        result = run_both_ways(agent, mode)

        assert ledger.entries == ["refund A-1 500"]
        assert len(approver.requests) == 1
        assert result.status == "failed"
        assert result.error is not None and "toolu_same" in result.error
        assert len(model.requests) == 2

    def test_a_resumed_state_with_duplicate_pending_ids_is_refused(self) -> None:
        ledger = Ledger()
        tools = support_tools(ledger)
        reply = tool_reply(("refund", {"order_id": "A-1", "amount_cents": 1}, "toolu_1"))
        agent, _ = make_agent([reply], tools)
        paused = agent.run("go")
        assert paused.status == "paused"
        data = json.loads(paused.state.to_json())
        pending = data["state"]["pending"]
        pending.append({**pending[0], "arguments": {"order_id": "A-1", "amount_cents": 999}})
        tampered = RunState.from_json(json.dumps(data))

        with pytest.raises(RunStateError, match="toolu_1"):
            agent.resume(tampered, {"toolu_1": Approve()})
        assert ledger.entries == []


class TestEveryRunIsBounded:
    """Guards: whatever the model sends, a run makes a bounded number of tool executions and
    ends, each round costing a model call that counts against ``max_turns``."""

    @pytest.mark.parametrize("mode", MODES)
    def test_a_model_that_calls_tools_forever_is_stopped_by_max_turns(self, mode: str) -> None:
        ledger = Ledger()
        tools = support_tools(ledger)
        counter = iter(range(1_000_000))

        def forever(body: dict[str, Any]) -> dict[str, Any]:
            n = next(counter)
            return tool_reply(("ping", {"note": str(n)}, f"toolu_{n}"))

        agent, model = make_agent(forever, tools, limits=Limits(max_turns=4))  # type: ignore[arg-type]

        result = run_both_ways(agent, mode)

        assert result.status == "limit_reached"
        assert len(ledger.entries) == 4
        assert len(model.requests) == 4

    @pytest.mark.parametrize("mode", MODES)
    def test_a_model_repeating_one_reply_with_duplicate_ids_runs_nothing(self, mode: str) -> None:
        ledger = Ledger()
        tools = support_tools(ledger)

        def pathological(body: dict[str, Any]) -> dict[str, Any]:
            return tool_reply(
                ("ping", {"note": "a"}, "toolu_dup"),
                ("refund", {"order_id": "A-1", "amount_cents": 9}, "toolu_dup"),
                ("ping", {"note": "b"}, "toolu_dup"),
            )

        approver = ScriptedApprover([Approve()] * 10)
        agent, model = make_agent(
            pathological,  # type: ignore[arg-type]
            tools,
            approver=approver,
            limits=Limits(max_turns=5),
        )

        result = run_both_ways(agent, mode)

        assert len(ledger.entries) == 0
        assert approver.requests == []
        assert result.status == "failed"
        assert len(model.requests) == 1


# --- 2. non-finite numbers ---------------------------------------------------------------------


def amount_tools(ledger: Ledger) -> tuple[Tool, Tool]:
    @tool(sensitive=True)
    def pay(amount: float) -> str:
        """Pay an amount.

        Args:
            amount: How much.
        """
        ledger.add(f"pay {amount}")
        return "paid"

    @tool
    def average(values: list[float]) -> float:
        """Average some numbers.

        Args:
            values: The numbers.
        """
        ledger.add(f"average {values}")
        return sum(values) / len(values)

    return pay, average


NON_FINITE = [float("nan"), float("inf"), float("-inf")]


class TestNonFiniteArguments:
    @pytest.mark.parametrize("value", NON_FINITE, ids=["NaN", "Infinity", "-Infinity"])
    @pytest.mark.parametrize("mode", ["sync", "async"])
    def test_a_non_finite_amount_goes_back_to_the_model_as_invalid(
        self, value: float, mode: str
    ) -> None:
        ledger = Ledger()
        approver = ScriptedApprover([Approve()])
        agent, model = make_agent(
            [
                tool_reply(
                    ("pay", {"amount": value}, "toolu_pay"),
                    ("average", {"values": [1, value]}, "toolu_avg"),
                ),
                text_reply("sorry"),
            ],
            amount_tools(ledger),
            approver=approver,
        )

        result = run_both_ways(agent, mode)

        assert result.status == "completed"
        assert ledger.entries == []
        assert approver.requests == []
        results = model.requests[-1]["messages"][-1]["content"]
        assert [(block["tool_use_id"], block.get("is_error")) for block in results] == [
            ("toolu_pay", True),
            ("toolu_avg", True),
        ]
        assert "amount" in results[0]["content"] and "finite" in results[0]["content"]
        assert "values" in results[1]["content"] and "finite" in results[1]["content"]

    @pytest.mark.parametrize("value", NON_FINITE, ids=["NaN", "Infinity", "-Infinity"])
    def test_a_streamed_non_finite_amount_is_refused_as_malformed(self, value: float) -> None:
        ledger = Ledger()
        approver = ScriptedApprover([Approve()])
        agent, _ = make_agent(
            [tool_reply(("pay", {"amount": value}, "toolu_pay")), text_reply("unreachable")],
            amount_tools(ledger),
            approver=approver,
        )

        result = run_both_ways(agent, "stream")

        assert ledger.entries == []
        assert approver.requests == []
        assert result.status == "failed"
        assert isinstance(result.exception, StreamError)
        assert "not valid JSON" in str(result.exception)

    def test_a_resumed_state_with_nan_in_a_pending_call_is_refused(self) -> None:
        ledger = Ledger()
        pay, _ = amount_tools(ledger)
        agent, _ = make_agent([tool_reply(("pay", {"amount": 5}, "toolu_pay"))], (pay,))
        paused = agent.run("go")
        assert paused.status == "paused"
        document = paused.state.to_json().replace('"amount": 5', '"amount": NaN')
        assert "NaN" in document

        with pytest.raises(RunStateError, match="NaN or Infinity"):
            agent.resume(RunState.from_json(document), {"toolu_pay": Approve()})
        assert ledger.entries == []

    def test_an_edit_to_a_non_finite_amount_is_not_run(self) -> None:
        ledger = Ledger()
        pay, _ = amount_tools(ledger)
        approver = ScriptedApprover([Edit({"amount": float("nan")})])
        agent, _ = make_agent(
            [tool_reply(("pay", {"amount": 5}, "toolu_pay")), text_reply("ok")],
            (pay,),
            approver=approver,
        )
        result = agent.run("go")
        assert ledger.entries == []
        assert result.status == "completed"


# --- 3. a state naming a tool the agent no longer has -------------------------------------------


class TestResumeWithoutTheTool:
    def paused_on_refund(self) -> tuple[RunResult, Ledger]:
        ledger = Ledger()
        tools = support_tools(ledger)
        reply = tool_reply(("refund", {"order_id": "A-1", "amount_cents": 700}, "toolu_r"))
        agent, _ = make_agent([reply], tools)
        paused = agent.run("refund")
        assert paused.status == "paused"
        return paused, ledger

    def test_resume_raises_a_run_state_error_naming_the_tool(self) -> None:
        paused, ledger = self.paused_on_refund()
        ping, _ = support_tools(ledger)
        without_refund, model = make_agent([text_reply("unreachable")], (ping,))
        state = RunState.from_json(paused.state.to_json())

        with pytest.raises(RunStateError, match="'refund'") as raised:
            without_refund.resume(state, {"toolu_r": Approve()})

        assert "toolu_r" in str(raised.value)
        assert ledger.entries == []
        assert model.requests == []

    def test_resume_with_an_approver_raises_too(self) -> None:
        paused, ledger = self.paused_on_refund()
        ping, _ = support_tools(ledger)
        approver = ScriptedApprover([Approve()])
        without_refund, _ = make_agent([text_reply("unreachable")], (ping,), approver=approver)

        with pytest.raises(RunStateError, match="'refund'"):
            asyncio.run(without_refund.aresume(RunState.from_json(paused.state.to_json())))
        assert approver.requests == []
        assert ledger.entries == []


    def test_the_resume_command_names_the_missing_tool_and_runs_nothing(
        self,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        ledger = Ledger()
        tools = support_tools(ledger)
        store_path = tmp_path / "runs.db"
        reply = tool_reply(("refund", {"order_id": "A-1", "amount_cents": 700}, "toolu_r"))
        with RunStore(store_path) as store:
            agent, _ = make_agent([reply], tools)
            run_id = run_stored(agent, store, "refund").state.run_id
        monkeypatch.setenv("USER", "ana")
        assert main(["approvals", "approve", "1", "--store", str(store_path)]) == 0
        (tmp_path / "without_refund.py").write_text(APP_WITHOUT_REFUND)
        monkeypatch.syspath_prepend(str(tmp_path))
        capsys.readouterr()

        spec = "without_refund:build"
        status = main(["runs", "resume", run_id, "--agent", spec, "--store", str(store_path)])

        assert status == 1
        err = capsys.readouterr().err
        assert err.startswith(f"error: run {run_id!r}: call 'toolu_r' is for tool 'refund', ")
        assert "which this agent does not have (its tools: ping)" in err
        assert "Traceback" not in err
        with RunStore(store_path) as store:
            assert store.load_run(run_id).status == "paused"
            assert store.get_approval(1).status == "approved"
        assert ledger.entries == []


APP_WITHOUT_REFUND = '''
from agentcore.agent import Agent
from agentcore.client import Client
from agentcore.testing import ScriptedModel, text_reply
from agentcore.tools import tool


@tool
def ping(note: str) -> str:
    """Say hello.

    Args:
        note: Anything.
    """
    raise AssertionError("no tool may run")


def build() -> Agent:
    model = ScriptedModel([text_reply("unreachable")])
    return Agent("claude-sonnet-4-5", tools=[ping], client=Client(api_key="t", transport=model))
'''


# --- 7. decisions made during a stored run -----------------------------------------------------


class TestDecisionsDuringStoredRuns:
    def test_an_approver_decision_during_resume_stored_marks_the_stored_approval_decided(
        self, tmp_path: Path
    ) -> None:
        ledger = Ledger()
        tools = support_tools(ledger)
        reply = tool_reply(("refund", {"order_id": "A-1", "amount_cents": 700}, "toolu_r"))
        with RunStore(tmp_path / "runs.db") as store:
            agent, _ = make_agent([reply], tools)
            paused = run_stored(agent, store, "refund")
            [pending] = store.list_approvals()

            approver = ScriptedApprover([Deny("not today")])
            with_approver, _ = make_agent([text_reply("ok")], tools, approver=approver)
            finished = resume_stored(with_approver, store, paused.state.run_id, decided_by="bo")

            assert finished.status == "completed"
            assert store.list_approvals() == []
            decided = store.get_approval(pending.approval_id)
            assert (decided.status, decided.decided_by) == ("denied", "bo")
            assert decided.decision is not None and decided.decision.kind == "deny"
            with pytest.raises(ApprovalError, match="already decided"):
                store.record_decision(pending.approval_id, Approve(), decided_by="eve")
        assert ledger.entries == []


    def test_a_call_decided_in_the_store_while_the_approver_was_asked_is_not_acted_on(
        self, tmp_path: Path
    ) -> None:
        ledger = Ledger()
        tools = support_tools(ledger)
        reply = tool_reply(("refund", {"order_id": "A-1", "amount_cents": 700}, "toolu_r"))
        with RunStore(tmp_path / "runs.db") as store:
            agent, _ = make_agent([reply], tools)
            run_id = run_stored(agent, store, "refund").state.run_id

            def meanwhile_someone_denies(request: ApprovalRequest) -> Decision:
                store.record_decision(1, Deny("no"), decided_by="eve")
                return Approve()

            approver = CallbackApprover(meanwhile_someone_denies)
            with_approver, model = make_agent([text_reply("ok")], tools, approver=approver)

            with pytest.raises(ApprovalError, match="already decided: denied"):
                resume_stored(with_approver, store, run_id, decided_by="bo")

            assert ledger.entries == []
            assert model.requests == []
            assert store.load_run(run_id).status == "paused"
            decided = store.get_approval(1)
            assert (decided.status, decided.decided_by) == ("denied", "eve")

            plain, _ = make_agent([text_reply("ok")], tools)
            assert resume_stored(plain, store, run_id).status == "completed"
        assert ledger.entries == []


# --- 8. an approver that outlives its timeout -----------------------------------------------------


class StuckApprover:
    """Answers Approve only once released, long after any timeout."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.answered = threading.Event()

    def decide(self, request: ApprovalRequest) -> Decision:
        self.release.wait(30)
        self.answered.set()
        return Approve()


@pytest.fixture
def stuck() -> Iterator[StuckApprover]:
    approver = StuckApprover()
    yield approver
    approver.release.set()


class TestApproverTimeout:
    @pytest.mark.parametrize("mode", MODES)
    def test_the_run_goes_on_with_the_denial_without_waiting_for_the_approver(
        self, mode: str, stuck: StuckApprover
    ) -> None:
        ledger = Ledger()
        tools = support_tools(ledger)
        reply = tool_reply(("refund", {"order_id": "A-1", "amount_cents": 700}, "toolu_r"))
        agent, model = make_agent(
            [reply, text_reply("ok")], tools, approver=stuck, approval_timeout_s=0.2
        )

        began = time.perf_counter()
        result = run_both_ways(agent, mode)
        elapsed = time.perf_counter() - began

        assert elapsed < 5
        assert result.status == "completed"
        [denial] = model.requests[-1]["messages"][-1]["content"]
        assert denial["is_error"] is True and "no decision within" in denial["content"]
        stuck.release.set()
        assert stuck.answered.wait(5)
        time.sleep(0.05)
        assert ledger.entries == []
