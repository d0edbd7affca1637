"""Variants of attacks the framework already resists, as a determined attacker would try next.

Each test plays one variant through the public API (a scripted model, a serialized state,
the ``agentcore`` command, the SQL pack) and asserts what the promise says: nothing runs
without an explicit approval of exactly those arguments, secrets stay masked wherever the
run writes, and bad input is a typed error.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentcore import Agent, AsyncClient, Client, RunStore, tool
from agentcore.approval import ApprovalRequest, Approve, Decision, Deny
from agentcore.approval.approvers import CallbackApprover
from agentcore.cli import main
from agentcore.errors import (
    AuthenticationError,
    ConfigurationError,
    ModelRetry,
    RunStateError,
    StreamError,
    ToolError,
)
from agentcore.events import RunFinished
from agentcore.log import capture_events
from agentcore.redaction import REDACTED
from agentcore.state import RunState
from agentcore.store.durable import ExecutionJournal, run_stored
from agentcore.streaming.accumulator import StreamDecoder
from agentcore.testing import ScriptedModel, text_reply, tool_reply
from tests.test_client_credentials import GATEWAY_KEY, answering, create, every_text_of
from tests.test_store_security import REFUND, pause_refunds

MODEL = "claude-sonnet-4-5"


def scripted_agent(replies: list[dict[str, Any]], tools: list[Any]) -> tuple[Agent, ScriptedModel]:
    model = ScriptedModel(replies)
    agent = Agent(MODEL, tools=tools, client=Client(api_key="test", transport=model, max_retries=0))
    return agent, model


@tool(sensitive=True)
def refund(order_id: str, amount_cents: int) -> str:
    """Refund an order.

    Args:
        order_id: The order.
        amount_cents: How much, in cents.
    """
    return f"refunded {amount_cents} on {order_id}"


def paused_refund_document() -> dict[str, Any]:
    agent, _ = scripted_agent(
        [tool_reply(("refund", {"order_id": "A-1", "amount_cents": 1}, "toolu_1"))], [refund]
    )
    paused = agent.run("go")
    assert paused.status == "paused"
    document: dict[str, Any] = json.loads(paused.state.to_json())
    return document


# --- hand-edited run state ---------------------------------------------------------------------


class TestHostileStateDocuments:
    def test_a_state_nested_deeper_than_the_interpreter_can_read_is_a_run_state_error(
        self,
    ) -> None:
        document = '{"format": "agentcore.run_state", "version": 1, "state": '
        document += "[" * 100_000 + "]" * 100_000 + "}"

        with pytest.raises(RunStateError, match="not valid JSON"):
            RunState.from_json(document)

    @pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999"])
    def test_a_non_finite_number_in_a_call_marked_ready_is_a_run_state_error(
        self, number: str
    ) -> None:
        document = paused_refund_document()
        document["state"]["pending"][0]["status"] = "ready"
        text = json.dumps(document).replace('"amount_cents": 1', f'"amount_cents": {number}')
        assert number in text

        with pytest.raises(RunStateError, match="NaN or Infinity"):
            RunState.from_json(text)


# --- the approvals command ---------------------------------------------------------------------


class TestApprovalsCommand:
    def test_an_edit_nested_too_deeply_is_refused_with_a_message(
        self, tmp_path: Path, ledger: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        path = tmp_path / "runs.db"
        pause_refunds(path, REFUND)
        deep = "[" * 100_000 + "]" * 100_000
        edit = '{"order_id": "A-1001", "amount_cents": ' + deep + "}"

        assert main(["approvals", "approve", "1", "--edit", edit, "--store", str(path)]) == 1

        assert "--edit is not valid JSON" in capsys.readouterr().err
        with RunStore(path) as store:
            assert [approval.status for approval in store.list_approvals()] == ["pending"]

    @pytest.mark.parametrize("number", ["NaN", "-Infinity", "1e999"])
    def test_an_edit_to_a_non_finite_number_is_refused_and_the_approval_stays_pending(
        self, tmp_path: Path, number: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        @tool(sensitive=True)
        def pay(amount: float) -> str:
            """Pay an amount.

            Args:
                amount: How much.
            """
            return "paid"

        agent, _ = scripted_agent([tool_reply(("pay", {"amount": 5.0}, "toolu_pay"))], [pay])
        path = tmp_path / "runs.db"
        with RunStore(path) as store:
            assert run_stored(agent, store, "pay").status == "paused"
        edit = '{"amount": ' + number + "}"

        assert main(["approvals", "approve", "1", "--edit", edit, "--store", str(path)]) == 1

        assert "--edit has NaN or Infinity at amount" in capsys.readouterr().err
        with RunStore(path) as store:
            assert [approval.status for approval in store.list_approvals()] == ["pending"]


# --- secrets in what a tool returns or raises -------------------------------------------------

TOKEN = "rt-7Qx9-very-secret-reset-token"


def echo(mode: str, value: str) -> Any:
    if mode == "returns":
        return f"reset done with {value}"
    if mode == "returns json":
        return {"note": f'used "{value}"'}
    if mode == "tool error":
        raise ToolError(f"token {value} has expired")
    if mode == "model retry":
        raise ModelRetry(f"token {value} has expired")
    if mode == "raises":
        raise ValueError(f"token {value} is malformed")
    try:
        raise KeyError(value)
    except KeyError as exc:
        raise RuntimeError("lookup failed") from exc


ECHOES = ["returns", "returns json", "tool error", "model retry", "raises", "raises from"]


class TestSecretsInToolOutput:
    @pytest.mark.parametrize("mode", ECHOES)
    def test_a_credential_named_argument_echoed_by_the_tool_is_masked_everywhere(
        self, mode: str, tmp_path: Path
    ) -> None:
        @tool
        def reset_password(user: str, reset_token: str) -> Any:
            """Reset a password with a one-time token.

            Args:
                user: The account.
                reset_token: The one-time token.
            """
            return echo(mode, reset_token)

        call = ("reset_password", {"user": "ada", "reset_token": TOKEN}, "toolu_1")
        agent, model = scripted_agent([tool_reply(call), text_reply("done")], [reset_password])
        path = tmp_path / "runs.db"
        with capture_events() as events, RunStore(path) as store:
            result = run_stored(agent, store, "reset it")

        assert result.status == "completed"
        tool_results = json.dumps(model.requests[1]["messages"][-1])
        if mode != "raises from":
            assert "[REDACTED]" in tool_results
        assert TOKEN not in tool_results
        assert TOKEN not in json.dumps(events, default=str)
        assert TOKEN not in result.state.to_json()
        assert TOKEN.encode() not in path.read_bytes()

    @pytest.mark.parametrize("mode", ECHOES)
    def test_a_declared_secret_with_quotes_is_masked_in_its_escaped_form(
        self, mode: str, tmp_path: Path
    ) -> None:
        pin = 'pin"with\\quote-12345'

        @tool(secret_fields=["pin"])
        def unlock(door: str, pin: str) -> Any:
            """Unlock a door.

            Args:
                door: Which door.
                pin: Its pin.
            """
            return echo(mode, pin)

        call = ("unlock", {"door": "front", "pin": pin}, "toolu_1")
        agent, model = scripted_agent([tool_reply(call), text_reply("done")], [unlock])
        path = tmp_path / "runs.db"
        with capture_events() as events, RunStore(path) as store:
            result = run_stored(agent, store, "open up")

        assert result.status == "completed"
        sent = json.dumps(model.requests[1]["messages"][-1])
        stored = result.state.to_json()
        logged = json.dumps(events, default=str)
        assert "quote-12345" not in logged
        for form in (pin, json.dumps(pin)[1:-1], repr(pin)[1:-1]):
            assert form not in sent
            assert form not in stored
            assert form.encode() not in path.read_bytes()
        assert "quote-12345" not in sent and "quote-12345" not in stored


def test_the_console_approver_answers_an_edit_nested_too_deeply_and_asks_again() -> None:
    import io

    from agentcore import ConsoleApprover
    from agentcore.approval import ApprovalRequest, Approve

    deep = '{"order_id": ' + "[" * 100_000 + "]" * 100_000 + "}"
    answers, shown = io.StringIO(f"e\n{deep}\n\n\ny\n"), io.StringIO()
    request = ApprovalRequest.for_call(
        refund, "toolu_1", {"order_id": "A-1", "amount_cents": 5}, "sensitive"
    )

    decision = ConsoleApprover(answers, shown, require_tty=False).decide(request)

    assert decision == Approve(arguments_hash=request.arguments_hash)
    assert "Invalid JSON: nested too deeply." in shown.getvalue()


# --- an approver that answers after its time ran out -------------------------------------------


class AnswersWhenCancelled:
    """An async approver still thinking at the timeout, which answers Approve when cancelled
    (as a UI that turns a dismissed dialog into its default answer would)."""

    def __init__(self) -> None:
        self.cancelled = False

    async def decide(self, request: ApprovalRequest) -> Decision:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            self.cancelled = True
            await asyncio.sleep(0.3)
            return Approve(arguments_hash=request.arguments_hash)
        return Deny("too slow")


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_an_async_approver_answering_after_the_timeout_is_not_waited_for_nor_obeyed(
    mode: str,
) -> None:
    refunds: list[int] = []

    @tool(sensitive=True)
    def refund_now(order_id: str, amount_cents: int) -> str:
        """Refund an order.

        Args:
            order_id: The order.
            amount_cents: How much, in cents.
        """
        refunds.append(amount_cents)
        return "refunded"

    model = ScriptedModel(
        [tool_reply(("refund_now", {"order_id": "A-1", "amount_cents": 700}, "toolu_r")),
         text_reply("ok")]
    )  # fmt: skip
    approver = AnswersWhenCancelled()
    agent = Agent(
        MODEL,
        tools=[refund_now],
        client=Client(api_key="test", transport=model, max_retries=0),
        async_client=AsyncClient(api_key="test", transport=model, max_retries=0),
        approver=approver,
        approval_timeout_s=0.1,
    )

    began = time.perf_counter()
    result = agent.run("go") if mode == "sync" else asyncio.run(agent.arun("go"))
    elapsed = time.perf_counter() - began

    assert approver.cancelled or mode == "sync"  # a sync run leaves it on its own thread
    assert refunds == []
    assert result.status == "completed"
    [denial] = model.requests[-1]["messages"][-1]["content"]
    assert denial["is_error"] is True and "no decision within" in denial["content"]
    assert elapsed < 0.3


# --- a gateway key echoed where a value is not expected ----------------------------------------


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_key_echoed_as_a_field_name_of_the_error_body_is_masked(kind: str) -> None:
    body = {
        "type": "error",
        "error": {"type": "authentication_error", "message": "rejected", GATEWAY_KEY: "bad"},
    }
    error = create(kind, answering(httpx.Response(401, json=body)), api_key=GATEWAY_KEY)

    assert isinstance(error, AuthenticationError)
    assert GATEWAY_KEY not in every_text_of(error)
    assert error.body == {
        "type": "error",
        "error": {"type": "authentication_error", "message": "rejected", REDACTED: "bad"},
    }


# --- lone surrogates --------------------------------------------------------------------------


def streamed_tool_call(name: str, partial_json: str) -> bytes:
    """A streamed reply calling ``name`` whose input arrives as ``partial_json`` (raw)."""
    start = {
        "type": "message_start",
        "message": {
            "id": "msg_1", "type": "message", "role": "assistant", "model": MODEL,
            "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": 1, "output_tokens": 1},
        },
    }  # fmt: skip
    block = {"type": "tool_use", "id": "toolu_1", "name": name, "input": {}}
    events = [
        ("message_start", json.dumps(start)),
        ("content_block_start", json.dumps({"type": "content_block_start", "index": 0,
                                            "content_block": block})),
        ("content_block_delta", json.dumps({"type": "content_block_delta", "index": 0,
                                            "delta": {"type": "input_json_delta",
                                                      "partial_json": partial_json}})),
        ("content_block_stop", '{"type": "content_block_stop", "index": 0}'),
        ("message_delta", '{"type": "message_delta", "delta": {"stop_reason": "tool_use"}, '
                          '"usage": {"output_tokens": 1}}'),
        ("message_stop", '{"type": "message_stop"}'),
    ]  # fmt: skip
    return "".join(f"event: {event}\ndata: {data}\n\n" for event, data in events).encode()


class TestLoneSurrogates:
    @pytest.mark.parametrize("sensitive", [True, False])
    def test_a_streamed_tool_input_with_a_lone_surrogate_is_malformed_and_runs_nothing(
        self, sensitive: bool
    ) -> None:
        ran: list[str] = []

        @tool(sensitive=sensitive)
        def label(order_id: str) -> str:
            """Label an order.

            Args:
                order_id: The order.
            """
            ran.append(order_id)
            return "labelled"

        body = streamed_tool_call("label", '{"order_id": "A-1\\ud800"}')
        transport = httpx.MockTransport(
            lambda request: httpx.Response(
                200, content=body, headers={"content-type": "text/event-stream"}
            )
        )
        agent = Agent(
            MODEL,
            tools=[label],
            client=Client(api_key="test", transport=transport, max_retries=0),
            approver=CallbackApprover(lambda request: Approve()),
        )

        events = list(agent.stream("go"))

        last = events[-1]
        assert isinstance(last, RunFinished)
        assert last.result.status == "failed"
        assert isinstance(last.result.exception, StreamError)
        assert ran == []

    def test_a_streamed_text_with_a_lone_surrogate_is_malformed(self) -> None:
        decoder = StreamDecoder()
        start = streamed_tool_call("label", "{}").split(b"\n\n")[0] + b"\n\n"
        decoder.feed(start)
        text_start = (
            b'event: content_block_start\ndata: {"type": "content_block_start", "index": 0, '
            b'"content_block": {"type": "text", "text": ""}}\n\n'
        )
        decoder.feed(text_start)
        with pytest.raises(StreamError, match="malformed JSON"):
            decoder.feed(
                b'event: content_block_delta\ndata: {"type": "content_block_delta", "index": 0, '
                b'"delta": {"type": "text_delta", "text": "hi \\udc80"}}\n\n'
            )

    def test_a_pair_of_surrogate_escapes_is_one_character_and_accepted(self) -> None:
        document = paused_refund_document()
        text = json.dumps(document).replace('"order_id": "A-1"', '"order_id": "A-1\\ud83d\\ude00"')

        state = RunState.from_json(text)

        assert state.pending[0].arguments["order_id"] == "A-1\U0001f600"

    @pytest.mark.parametrize("status", ["ready", "approval"])
    def test_a_state_with_a_lone_surrogate_is_a_run_state_error(self, status: str) -> None:
        document = paused_refund_document()
        document["state"]["pending"][0]["status"] = status
        text = json.dumps(document).replace('"order_id": "A-1"', '"order_id": "A-1\\ud800"')

        with pytest.raises(RunStateError, match="lone surrogate"):
            RunState.from_json(text)


def test_a_policy_reason_quoting_a_credential_named_argument_is_masked_everywhere(
    tmp_path: Path,
) -> None:
    @tool(requires_approval=lambda arguments: f"resetting with {arguments['reset_token']}")
    def reset_password(user: str, reset_token: str) -> str:
        """Reset a password with a one-time token.

        Args:
            user: The account.
            reset_token: The one-time token.
        """
        return "reset"

    call = ("reset_password", {"user": "ada", "reset_token": TOKEN}, "toolu_1")
    agent, _ = scripted_agent([tool_reply(call)], [reset_password])
    path = tmp_path / "runs.db"
    with capture_events() as events, RunStore(path) as store:
        result = run_stored(agent, store, "reset it")

    assert result.status == "paused"
    assert result.pending[0].reason == f"resetting with {REDACTED}"
    assert TOKEN not in result.state.to_json()
    assert TOKEN not in json.dumps(events, default=str)
    assert all(TOKEN.encode() not in file.read_bytes() for file in tmp_path.iterdir())


@pytest.mark.parametrize("pin", [48213.0, 4.8213e4])
def test_a_secret_integer_sent_as_a_float_is_masked_in_the_form_the_tool_sees(
    pin: float, tmp_path: Path
) -> None:
    @tool(secret_fields=["pin"])
    def unlock(door: str, pin: int) -> str:
        """Unlock a door.

        Args:
            door: Which door.
            pin: Its pin.
        """
        return f"door {door} opened with pin {pin}"

    call = ("unlock", {"door": "front", "pin": pin}, "toolu_1")
    journal_store = RunStore(tmp_path / "runs.db")
    journal = ExecutionJournal(journal_store)
    model = ScriptedModel([tool_reply(call), text_reply("done")])
    agent = Agent(
        MODEL,
        tools=[unlock],
        client=Client(api_key="test", transport=model, max_retries=0),
        before_tool=[journal.before_tool],
        after_tool=[journal.after_tool],
    )
    with journal_store:
        result = run_stored(agent, journal_store, "open up")

    assert result.status == "completed"
    sent = model.requests[1]["messages"][-1]["content"][0]["content"]
    assert sent == f"door front opened with pin {REDACTED}"
    assert "48213" not in result.state.to_json()
    assert all(b"48213" not in file.read_bytes() for file in tmp_path.iterdir())


# --- the SQL pack -----------------------------------------------------------------------------


GENERATED = """
CREATE TABLE customers (
    id INTEGER PRIMARY KEY, name TEXT, password_hash TEXT,
    hint TEXT GENERATED ALWAYS AS (substr(password_hash, 1, 12)) VIRTUAL,
    copy TEXT GENERATED ALWAYS AS (password_hash || '') STORED
);
INSERT INTO customers (id, name, password_hash) VALUES (1, 'Ada', 'pbkdf2$SECRETHASH');
CREATE TABLE orders (
    id INTEGER PRIMARY KEY, cents INTEGER,
    dollars REAL GENERATED ALWAYS AS (cents / 100.0) VIRTUAL
);
INSERT INTO orders (id, cents) VALUES (1, 2500);
CREATE VIEW customer_hints AS SELECT id, hint FROM customers;
"""


@pytest.fixture
def generated_db(tmp_path: Path) -> Any:
    import sqlite3
    from contextlib import closing

    from agentcore_sql import SQLDatabase

    path = tmp_path / "shop.db"
    with closing(sqlite3.connect(path)) as connection:
        connection.executescript(GENERATED)
    database = SQLDatabase.sqlite(path, allow_tables=["customers", "orders", "customer_hints"])
    yield database
    database.close()


class TestGeneratedColumns:
    @pytest.mark.parametrize(
        "sql",
        [
            "SELECT * FROM customers",
            "SELECT hint, copy FROM customers",
            "SELECT name FROM customers WHERE hint LIKE 'pbkdf2$S%'",
            "SELECT * FROM customer_hints",
        ],
    )
    def test_a_generated_column_over_a_secret_column_never_reaches_the_model(
        self, generated_db: Any, sql: str
    ) -> None:
        shown = str(generated_db.run_select(sql))

        assert "SECRET" not in shown and "pbkdf2" not in shown
        if "WHERE" in sql:
            assert '"rows":[]' in shown

    def test_describe_table_leaves_them_out_and_other_generated_columns_stay(
        self, generated_db: Any
    ) -> None:
        described = generated_db.describe_table("customers")
        assert "SECRET" not in described and "pbkdf2" not in described
        assert '"hint"' not in described and '"copy"' not in described
        assert json.loads(generated_db.run_select("SELECT dollars FROM orders"))["rows"] == [[25.0]]


class TestJournalWithoutARun:
    """A hand-wired journal outside a stored run has no run to file calls under: two runs'
    calls sharing a ``tool_use`` id would meet, one refused and told the other's result."""

    def test_a_journal_used_outside_a_stored_run_refuses_instead_of_mixing_runs(
        self, tmp_path: Path
    ) -> None:
        @tool
        def notes(customer: str) -> str:
            """Read a customer's notes.

            Args:
                customer: Whose notes.
            """
            return f"notes of {customer}"

        with RunStore(tmp_path / "runs.db") as store:
            journal = ExecutionJournal(store)
            model = ScriptedModel([tool_reply(("notes", {"customer": "alice"}, "toolu_01"))])
            agent = Agent(
                "claude-sonnet-4-6",
                tools=[notes],
                client=Client(api_key="test", transport=model, max_retries=0),
                before_tool=[journal.before_tool],
                after_tool=[journal.after_tool],
                cache=False,
            )
            with pytest.raises(ConfigurationError, match="no run to file this call under"):
                agent.run("alice's notes")
            assert store.execution("", "toolu_01") is None

    def test_a_journal_given_its_run_files_calls_under_it(self, tmp_path: Path) -> None:
        @tool
        def notes(customer: str) -> str:
            """Read a customer's notes.

            Args:
                customer: Whose notes.
            """
            return f"notes of {customer}"

        with RunStore(tmp_path / "runs.db") as store:
            journal = ExecutionJournal(store, run_id="run-a")
            model = ScriptedModel(
                [tool_reply(("notes", {"customer": "alice"}, "toolu_01")), text_reply("Done.")]
            )
            agent = Agent(
                "claude-sonnet-4-6",
                tools=[notes],
                client=Client(api_key="test", transport=model, max_retries=0),
                before_tool=[journal.before_tool],
                after_tool=[journal.after_tool],
                cache=False,
            )
            assert agent.run("alice's notes").status == "completed"
            record = store.execution("run-a", "toolu_01")
            assert record is not None and record.status == "succeeded"
