"""``Agent(..., store=RunStore(...))``: every run is kept in the store and journalled.

A paused run waits in the store with its pending approvals; anyone decides them there
(``RunStore.record_decision`` or ``agentcore approvals``), and ``agent.resume(run_id)`` goes on
with those decisions. The journal the agent wires around its own hooks makes each call run at
most once, across resumes and crashes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from agentcore.agent import Agent
from agentcore.approval import Approve, Deny, Edit
from agentcore.approval.approvers import ScriptedApprover
from agentcore.cli import main
from agentcore.client import AsyncClient, Client
from agentcore.errors import ApprovalError, ConfigurationError, RunStateError
from agentcore.events import RunEvent, RunFinished, ToolCallStarted
from agentcore.hooks import Veto
from agentcore.loop import ToolCall
from agentcore.state import RunResult, RunState
from agentcore.store import RunStore
from agentcore.store.durable import ExecutionJournal, resume_stored, run_stored
from agentcore.testing import ScriptedModel, text_reply, tool_reply
from agentcore.tools import ToolOutput, tool
from tests.approval_flow_app import LOOKUP, MODEL, REFUND, TOOLS

ROOT = Path(__file__).resolve().parent.parent
UNKNOWN_OUTCOME = "whether it took effect is unknown; it is not run twice"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RunStore]:
    with RunStore(tmp_path / "runs.db") as opened:
        yield opened


def stored_agent(
    store: RunStore | str | Path,
    replies: Sequence[dict[str, Any]],
    *,
    approver: Any = None,
    tools: Sequence[Any] = TOOLS,
    before_tool: Sequence[Any] = (),
    after_tool: Sequence[Any] = (),
) -> tuple[Agent, ScriptedModel]:
    model = ScriptedModel(replies)
    agent = Agent(
        MODEL,
        tools=tools,
        client=Client(api_key="test", transport=model),
        async_client=AsyncClient(api_key="test", transport=model),
        approver=approver,
        before_tool=before_tool,
        after_tool=after_tool,
        store=store,
    )
    return agent, model


def tool_results(model: ScriptedModel) -> list[dict[str, Any]]:
    content: list[dict[str, Any]] = model.requests[-1]["messages"][-1]["content"]
    return [block for block in content if block["type"] == "tool_result"]


def paused_on_refund(store: RunStore) -> str:
    agent, _ = stored_agent(store, [tool_reply(LOOKUP, REFUND)])
    paused = agent.run("Refund half of A-1001")
    assert paused.status == "paused"
    return paused.state.run_id


# --- the four drivers ------------------------------------------------------------------------


def _finished(events: Iterator[RunEvent]) -> RunResult:
    results = [event.result for event in events if isinstance(event, RunFinished)]
    assert len(results) == 1
    return results[0]


async def _afinished(events: AsyncIterator[RunEvent]) -> RunResult:
    results = [event.result async for event in events if isinstance(event, RunFinished)]
    assert len(results) == 1
    return results[0]


async def start_with(driver: str, agent: Agent, prompt: str) -> RunResult:
    if driver == "run":
        return agent.run(prompt)
    if driver == "arun":
        return await agent.arun(prompt)
    if driver == "stream":
        return _finished(agent.stream(prompt))
    return await _afinished(agent.astream(prompt))


async def resume_with(
    driver: str, agent: Agent, run: str | RunState, decisions: Any = None
) -> RunResult:
    if driver == "run":
        return agent.resume(run, decisions)
    if driver == "arun":
        return await agent.aresume(run, decisions)
    if driver == "stream":
        return _finished(agent.resume_stream(run, decisions))
    return await _afinished(agent.aresume_stream(run, decisions))


DRIVERS = ("run", "arun", "stream", "astream")


class TestEveryDriverKeepsTheRunInTheStore:
    @pytest.mark.parametrize("driver", DRIVERS)
    async def test_a_paused_run_waits_in_the_store_and_its_approved_call_runs_once(
        self, driver: str, store: RunStore, ledger: Path
    ) -> None:
        agent, model = stored_agent(store, [tool_reply(LOOKUP, REFUND), text_reply("Refunded.")])
        paused = await start_with(driver, agent, "Refund half of A-1001")
        run_id = paused.state.run_id
        assert paused.status == "paused"
        assert store.load_run(run_id).status == "paused"
        [approval] = store.list_approvals(run_id=run_id)
        assert (approval.call_id, approval.tool_name, approval.status) == (
            "toolu_refund",
            "refund_order",
            "pending",
        )
        assert ledger.read_text().splitlines() == ["lookup A-1001"]

        store.record_decision(approval.approval_id, Approve(), decided_by="ana")
        finished = await resume_with(driver, agent, run_id)
        assert (finished.status, finished.output) == ("completed", "Refunded.")
        assert ledger.read_text().splitlines() == ["lookup A-1001", "refund A-1001 2500"]
        assert tool_results(model)[-1]["content"] == "refunded 2500 cents on A-1001"
        assert store.load_run(run_id).status == "completed"
        refund = store.execution(run_id, "toolu_refund")
        assert refund is not None and refund.status == "succeeded"
        events = [entry.event for entry in store.audit_log(run_id=run_id)]
        assert events[0] == "run.started"
        assert events.count("run.resumed") == 1
        assert events[-1] == "run.finished"

        asked = len(model.requests)
        again = await resume_with(driver, agent, run_id)
        assert (again.status, again.output) == ("completed", "Refunded.")
        assert len(model.requests) == asked
        assert ledger.read_text().splitlines() == ["lookup A-1001", "refund A-1001 2500"]

    @pytest.mark.parametrize("driver", DRIVERS)
    async def test_an_attached_approvers_decision_is_recorded_in_the_store(
        self, driver: str, store: RunStore, ledger: Path
    ) -> None:
        agent, _ = stored_agent(
            store,
            [tool_reply(REFUND), text_reply("Not refunded.")],
            approver=ScriptedApprover([Deny("not today")]),
        )
        result = await start_with(driver, agent, "Refund")
        assert result.status == "completed"
        decisions = [
            (entry.event, entry.decision, entry.decided_by, entry.reason)
            for entry in store.audit_log(run_id=result.state.run_id)
            if entry.event == "approval.decision"
        ]
        assert decisions == [("approval.decision", "deny", "approver", "not today")]
        assert store.load_run(result.state.run_id).status == "completed"
        assert ledger.read_text() == ""

    async def test_a_stream_left_after_run_finished_has_stored_the_run(
        self, store: RunStore, ledger: Path
    ) -> None:
        agent, _ = stored_agent(store, [text_reply("Hello.")])
        stream = agent.stream("Hi")
        for event in stream:
            if isinstance(event, RunFinished):
                run_id = event.result.state.run_id
                break
        assert store.load_run(run_id).status == "completed"
        stream.close()
        assert store.load_run(run_id).status == "completed"
        finished = [e for e in store.audit_log(run_id=run_id) if e.event == "run.finished"]
        assert len(finished) == 1

    def test_a_stream_abandoned_mid_run_is_stored_as_failed_not_left_running(
        self, store: RunStore, ledger: Path
    ) -> None:
        agent, _ = stored_agent(store, [tool_reply(LOOKUP), text_reply("Done.")])
        stream = agent.stream("Look up A-1001")
        for event in stream:
            if isinstance(event, ToolCallStarted):
                break
        stream.close()
        [run] = store.list_runs()
        assert run.status == "failed"
        assert ledger.read_text() == ""


# --- resuming --------------------------------------------------------------------------------


class TestResumingFromTheStore:
    def test_decisions_given_to_resume_are_recorded_in_the_store_first(
        self, store: RunStore, ledger: Path
    ) -> None:
        run_id = paused_on_refund(store)
        agent, _ = stored_agent(store, [text_reply("Refunded.")])
        finished = agent.resume(run_id, {"toolu_refund": Approve()})
        assert finished.status == "completed"
        assert ledger.read_text().splitlines() == ["lookup A-1001", "refund A-1001 2500"]
        [approval] = store.list_approvals(status=None, run_id=run_id)
        assert approval.status == "approved"
        with pytest.raises(ApprovalError, match="already"):
            store.record_decision(approval.approval_id, Deny("too late"), decided_by="bo")

    def test_a_given_decision_contradicting_the_stored_one_is_refused_and_nothing_runs(
        self, store: RunStore, ledger: Path
    ) -> None:
        run_id = paused_on_refund(store)
        store.record_decision("toolu_refund", Deny("no"), decided_by="ana")
        agent, model = stored_agent(store, [text_reply("Refunded.")])
        with pytest.raises(ApprovalError, match="already"):
            agent.resume(run_id, {"toolu_refund": Approve()})
        assert ledger.read_text().splitlines() == ["lookup A-1001"]
        assert model.requests == []
        assert store.load_run(run_id).status == "paused"

    def test_a_run_state_stands_for_its_run_and_continues_from_the_stored_state(
        self, store: RunStore, ledger: Path
    ) -> None:
        agent, _ = stored_agent(store, [tool_reply(REFUND), text_reply("Refunded.")])
        paused = agent.run("Refund")
        paused.state.pending[0].arguments["amount_cents"] = 999_999
        store.record_decision("toolu_refund", Approve(), decided_by="ana")
        finished = agent.resume(paused.state)
        assert finished.status == "completed"
        assert ledger.read_text().splitlines() == ["refund A-1001 2500"]

    def test_an_unknown_run_is_refused(self, store: RunStore, ledger: Path) -> None:
        agent, model = stored_agent(store, [text_reply("never")])
        with pytest.raises(RunStateError, match="no run 'nope'"):
            agent.resume("nope")
        stranger = Agent(MODEL, tools=TOOLS).new_state("Refund")
        with pytest.raises(RunStateError, match="no run"):
            agent.resume(stranger)
        assert model.requests == []

    def test_a_run_id_needs_an_agent_with_a_store(self) -> None:
        agent = Agent(MODEL, tools=TOOLS, client=Client(api_key="t", transport=ScriptedModel([])))
        with pytest.raises(ConfigurationError, match="store"):
            agent.resume("some-run")

    def test_without_a_store_nothing_is_stored(self, store: RunStore, ledger: Path) -> None:
        model = ScriptedModel([tool_reply(REFUND)])
        agent = Agent(MODEL, tools=TOOLS, client=Client(api_key="t", transport=model))
        assert agent.store is None
        assert agent.run("Refund").status == "paused"
        assert store.list_runs() == []


# --- secrets across an abandoned resume ------------------------------------------------------


@tool(sensitive=True, secret_fields=("api_key",))
def pay(cents: int, api_key: str) -> str:
    """Pay out.

    Args:
        cents: How much.
        api_key: The payment provider's key.
    """
    payments.append((cents, api_key))
    return f"paid {cents}"


payments: list[tuple[int, str]] = []
PAY = ("pay", {"cents": 500, "api_key": "sk-live-secret"}, "toolu_pay")


class TestSecretsOfAnApprovedCallSurviveAnAbandonedResume:
    @pytest.fixture(autouse=True)
    def _no_payments_yet(self) -> None:
        payments.clear()

    @pytest.mark.parametrize(
        ("decision", "paid"),
        [
            (Approve(), (500, "sk-live-secret")),
            (Edit({"cents": 300, "api_key": "sk-live-other"}), (300, "sk-live-other")),
        ],
    )
    def test_the_call_runs_with_its_real_arguments_never_the_masked_ones(
        self, store: RunStore, decision: Any, paid: tuple[int, str]
    ) -> None:
        agent, _ = stored_agent(
            store, [tool_reply(PAY), text_reply("Paid."), text_reply("Paid.")], tools=[pay]
        )
        run_id = agent.run("Pay 5 dollars").state.run_id
        store.record_decision("toolu_pay", decision, decided_by="ana")
        stream = agent.resume_stream(run_id)
        for event in stream:
            if isinstance(event, ToolCallStarted):
                break
        stream.close()
        assert store.load_run(run_id).status == "failed"
        assert payments == []

        assert agent.resume(run_id).status == "completed"
        assert payments == [paid]
        for file in store.path.parent.glob("runs.db*"):
            assert b"sk-live" not in file.read_bytes(), file


# --- crashes ---------------------------------------------------------------------------------


class ProcessDied(BaseException):
    """Stands for the process dying inside a tool: no ``except Exception`` stops it, and,
    unlike KeyboardInterrupt, asyncio hands it to the awaiting run instead of the loop."""


class TestACrashNeverRunsACallTwice:
    @pytest.mark.parametrize("crash", [KeyboardInterrupt, SystemExit])
    def test_a_call_interrupted_between_claim_and_finish_is_reported_unknown(
        self, crash: type[BaseException], store: RunStore
    ) -> None:
        ran: list[int] = []

        @tool(sensitive=True)
        def charge(cents: int) -> str:
            """Charge a card.

            Args:
                cents: How much.
            """
            ran.append(cents)
            if len(ran) == 1:
                raise crash()
            return "charged"

        charge_call = ("charge", {"cents": 700}, "toolu_charge")
        agent, model = stored_agent(
            store, [tool_reply(charge_call), text_reply("Let me check.")], tools=[charge]
        )
        run_id = agent.run("Charge 7 dollars").state.run_id
        store.record_decision("toolu_charge", Approve(), decided_by="ana")
        with pytest.raises(crash):
            agent.resume(run_id)
        record = store.execution(run_id, "toolu_charge")
        assert record is not None and record.status == "started"

        finished = agent.resume(run_id)
        assert ran == [700]
        assert finished.status == "completed"
        [result] = tool_results(model)
        assert result["is_error"] is True and UNKNOWN_OUTCOME in result["content"]
        record = store.execution(run_id, "toolu_charge")
        assert record is not None and record.status == "unknown"
        agent.resume(run_id)
        assert ran == [700]

    @pytest.mark.parametrize("driver", DRIVERS)
    async def test_a_crash_before_any_pause_resumes_after_the_models_reply_not_before_it(
        self, driver: str, store: RunStore
    ) -> None:
        """The model is not asked again from the prompt (it would ask for the email anew,
        under a new call id the journal has never seen): the run goes on from its reply."""
        sent: list[str] = []

        @tool
        def send_email(to: str) -> str:
            """Send the customer an email.

            Args:
                to: The address.
            """
            sent.append(to)
            raise ProcessDied

        call = ("send_email", {"to": "ada@example.com"}, "toolu_mail")
        agent, model = stored_agent(
            store, [tool_reply(call), text_reply("I could not tell if it went out.")],
            tools=[send_email],
        )  # fmt: skip
        with pytest.raises(ProcessDied):
            await start_with(driver, agent, "Email Ada")
        [run] = store.list_runs()
        assert run.status == "running"

        finished = await resume_with(driver, agent, run.run_id)
        assert finished.output == "I could not tell if it went out."
        assert sent == ["ada@example.com"]
        assert len(model.requests) == 2
        [result] = tool_results(model)
        assert result["tool_use_id"] == "toolu_mail"
        assert UNKNOWN_OUTCOME in result["content"]

    def test_a_crash_inside_a_call_with_a_secret_argument_is_reported_unknown(
        self, store: RunStore
    ) -> None:
        """Its secret was not kept in the stored state, but it never runs again anyway."""
        used: list[str] = []

        @tool(secret_fields=("token",))
        def rotate_key(account: str, token: str) -> str:
            """Rotate an account's key.

            Args:
                account: The account.
                token: The admin token.
            """
            used.append(token)
            raise ProcessDied

        call = ("rotate_key", {"account": "acme", "token": "tok-secret"}, "toolu_rotate")
        agent, model = stored_agent(
            store, [tool_reply(call), text_reply("Please check the key.")], tools=[rotate_key]
        )
        with pytest.raises(ProcessDied):
            agent.run("Rotate acme's key")
        [run] = store.list_runs()

        finished = agent.resume(run.run_id)
        assert (finished.status, used) == ("completed", ["tok-secret"])
        [result] = tool_results(model)
        assert UNKNOWN_OUTCOME in result["content"]


# --- hooks -----------------------------------------------------------------------------------


class TestUserHooksAroundTheJournal:
    def test_a_user_veto_means_the_journal_never_claims_the_call(
        self, store: RunStore, ledger: Path
    ) -> None:
        def no_lookups(call: ToolCall) -> Veto | None:
            return Veto("lookups are closed") if call.name == "lookup_order" else None

        agent, model = stored_agent(
            store, [tool_reply(LOOKUP), text_reply("Closed.")], before_tool=[no_lookups]
        )
        result = agent.run("Look up A-1001")
        assert result.status == "completed"
        assert ledger.read_text() == ""
        assert store.execution(result.state.run_id, "toolu_lookup") is None
        assert "lookups are closed" in tool_results(model)[0]["content"]

    def test_the_journal_claims_the_arguments_a_user_hook_rewrote(
        self, store: RunStore, ledger: Path
    ) -> None:
        def other_order(call: ToolCall) -> dict[str, Any]:
            return {"order_id": "B-2002"}

        agent, _ = stored_agent(
            store, [tool_reply(LOOKUP), text_reply("Done.")], before_tool=[other_order]
        )
        run_id = agent.run("Look up A-1001").state.run_id
        assert ledger.read_text().splitlines() == ["lookup B-2002"]
        [claimed] = [e for e in store.audit_log(run_id=run_id) if e.event == "execution.started"]
        assert claimed.arguments == {"order_id": "B-2002"}

    def test_a_user_after_hook_sees_the_real_output_and_the_journal_records_it(
        self, store: RunStore, ledger: Path
    ) -> None:
        seen: list[Any] = []

        def redact(call: ToolCall, output: ToolOutput) -> ToolOutput:
            seen.append(output.content)
            return ToolOutput("[order details withheld]")

        agent, model = stored_agent(
            store, [tool_reply(LOOKUP), text_reply("Done.")], after_tool=[redact]
        )
        run_id = agent.run("Look up A-1001").state.run_id
        real = "order A-1001: 2 items, paid 80.00 USD"
        assert seen == [real]
        record = store.execution(run_id, "toolu_lookup")
        assert record is not None and record.result == real
        assert tool_results(model)[0]["content"] == "[order details withheld]"

    def test_journal_hooks_wired_by_hand_as_well_are_refused(self, store: RunStore) -> None:
        journal = ExecutionJournal(store)
        with pytest.raises(ConfigurationError, match="ExecutionJournal"):
            Agent(MODEL, tools=TOOLS, store=store, before_tool=[journal.before_tool])
        with pytest.raises(ConfigurationError, match="ExecutionJournal"):
            Agent(MODEL, tools=TOOLS, store=store, after_tool=[journal.after_tool])


# --- the store argument ----------------------------------------------------------------------


class TestTheStoreArgument:
    def test_a_path_opens_a_store_the_agent_owns(self, tmp_path: Path, ledger: Path) -> None:
        path = tmp_path / "runs.db"
        agent, _ = stored_agent(str(path), [tool_reply(REFUND)])
        assert agent.store is not None and agent.store.path == path
        run_id = agent.run("Refund").state.run_id
        agent.close()
        with RunStore(path) as store:
            assert store.load_run(run_id).status == "paused"
            store.record_decision("toolu_refund", Approve(), decided_by="ana")
        agent, _ = stored_agent(path, [text_reply("Refunded.")])
        assert agent.resume(run_id).status == "completed"
        assert ledger.read_text().splitlines() == ["refund A-1001 2500"]
        agent.close()

    def test_a_store_of_the_wrong_kind_is_refused(self) -> None:
        with pytest.raises(ConfigurationError, match="store must be"):
            Agent(MODEL, store=42)  # type: ignore[arg-type]

    def test_run_stored_and_resume_stored_delegate_to_an_agent_with_that_store(
        self, store: RunStore, ledger: Path
    ) -> None:
        agent, _ = stored_agent(store, [tool_reply(REFUND), text_reply("Refunded.")])
        seen: list[RunEvent] = []
        paused = run_stored(agent, store, "Refund", on_event=seen.append)
        assert paused.status == "paused" and isinstance(seen[-1], RunFinished)
        store.record_decision("toolu_refund", Approve(), decided_by="ana")
        finished = resume_stored(agent, store, paused.state.run_id)
        assert finished.status == "completed"
        assert ledger.read_text().splitlines() == ["refund A-1001 2500"]
        events = [e.event for e in store.audit_log(run_id=paused.state.run_id)]
        assert events.count("run.started") == 1 and events.count("execution.started") == 1

    def test_run_stored_refuses_an_agent_keeping_its_runs_elsewhere(
        self, store: RunStore, tmp_path: Path
    ) -> None:
        with RunStore(tmp_path / "other.db") as other:
            agent, model = stored_agent(other, [text_reply("never")])
            with pytest.raises(ConfigurationError, match="keeps its runs in"):
                run_stored(agent, store, "Hi")
        assert model.requests == []


# --- the command line ------------------------------------------------------------------------


AGENT_MODULE = """\
from agentcore import Agent, RunStore
from agentcore.client import Client
from agentcore.testing import ScriptedModel, text_reply
from tests.approval_flow_app import MODEL, TOOLS

def build_agent():
    return Agent(MODEL, tools=TOOLS, store=RunStore({store!r}),
                 client=Client(api_key="test", transport=ScriptedModel([text_reply("Done.")])))

agent = build_agent()
"""


class TestTheCommandLine:
    @pytest.fixture
    def app_dir(
        self, tmp_path: Path, store: RunStore, request: pytest.FixtureRequest
    ) -> Callable[[Path], str]:
        def write(store_path: Path) -> str:
            name = f"store_app_{request.node.name.replace('[', '_').replace(']', '')}"
            (tmp_path / f"{name}.py").write_text(
                textwrap.dedent(AGENT_MODULE.format(store=str(store_path))), encoding="utf-8"
            )
            return name

        return write

    @pytest.mark.parametrize("attribute", ["build_agent", "agent"])
    def test_an_agent_with_its_own_store_is_resumed_in_that_store(
        self,
        attribute: str,
        store: RunStore,
        tmp_path: Path,
        ledger: Path,
        app_dir: Callable[[Path], str],
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        run_id = paused_on_refund(store)
        store.record_decision("toolu_refund", Approve(), decided_by="ana")
        module = app_dir(store.path)
        status = main(
            ["runs", "resume", run_id, "--agent", f"{module}:{attribute}",
             "--app-dir", str(tmp_path), "--store", str(store.path)]
        )  # fmt: skip
        assert status == 0, capsys.readouterr().err
        assert capsys.readouterr().out == f"Run {run_id}: completed\nDone.\n"
        assert ledger.read_text().splitlines() == ["lookup A-1001", "refund A-1001 2500"]
        assert store.load_run(run_id).status == "completed"

    def test_an_agent_keeping_its_runs_in_another_store_is_a_clear_error(
        self,
        store: RunStore,
        tmp_path: Path,
        ledger: Path,
        app_dir: Callable[[Path], str],
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        run_id = paused_on_refund(store)
        store.record_decision("toolu_refund", Approve(), decided_by="ana")
        other = tmp_path / "other.db"
        module = app_dir(other)
        status = main(
            ["runs", "resume", run_id, "--agent", f"{module}:agent",
             "--app-dir", str(tmp_path), "--store", str(store.path)]
        )  # fmt: skip
        assert status == 1
        err = capsys.readouterr().err
        assert "keeps its runs in" in err and str(other) in err and str(store.path) in err
        assert ledger.read_text().splitlines() == ["lookup A-1001"]
        assert store.load_run(run_id).status == "paused"

    @pytest.mark.e2e
    def test_a_process_killed_inside_an_approved_call_never_runs_it_again(
        self, store: RunStore, tmp_path: Path, ledger: Path
    ) -> None:
        run_id = paused_on_refund(store)
        seen = tmp_path / "seen.json"

        def resume(**env: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "agentcore.cli", "runs", "resume", run_id,
                 "--agent", "tests.approval_flow_app:build_stored_agent",
                 "--store", str(store.path)],
                cwd=ROOT, capture_output=True, text=True, timeout=60,
                env={**os.environ, "PYTHONPATH": str(ROOT), "SEEN": str(seen), **env},
            )  # fmt: skip

        assert main(["approvals", "approve", "1", "--by", "ana", "--store", str(store.path)]) == 0
        assert resume(CRASH_IN_REFUND="1").returncode == 70
        record = store.execution(run_id, "toolu_refund")
        assert record is not None and record.status == "started"

        resumed = resume()
        assert resumed.returncode == 0, resumed.stderr
        assert resumed.stdout == f"Run {run_id}: completed\nAll done.\n"
        assert ledger.read_text().splitlines() == ["lookup A-1001", "refund A-1001 2500"]
        results = [
            block["content"]
            for block in json.loads(seen.read_text())[-1]["content"]
            if block["type"] == "tool_result"
        ]
        assert UNKNOWN_OUTCOME in results[-1]
        assert resume().returncode == 0
        assert ledger.read_text().splitlines() == ["lookup A-1001", "refund A-1001 2500"]
