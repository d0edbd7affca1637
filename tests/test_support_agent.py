"""The support agent example: its database, tools, console logic, script mode and deferred runs.

The console as a person drives it, through a pseudo-terminal, is in test_support_console.py.
"""

from __future__ import annotations

import io
import json
import shlex
import sqlite3
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from agentcore import Approve, Client, RunStore, ScriptedApprover, resume_stored
from agentcore.emulator import Emulator
from agentcore.state import TurnRecord
from agentcore.testing import ScriptedModel, error_reply, text_reply, tool_reply
from agentcore.types import Usage
from agentcore.usage import PriceTable
from examples.support_agent.app import (
    ENV_OFFLINE,
    connect,
    create_support_agent,
    database_for_store,
    load_prompt,
    store_for_database,
)
from examples.support_agent.console import CANNED_CONVERSATION, ChatConsole, Deferral
from examples.support_agent.data import create_database
from examples.support_agent.domain import domain_tools
from examples.support_agent.lookups import open_lookups
from examples.support_agent.render import Ledger, Style, compact_call, compact_result
from tests._support_agent_harness import (
    REFUND_REQUEST,
    STATUS_QUESTION,
    flat,
    refunds,
    run_command,
    run_example,
)

ADA = "ada.lovelace@example.com"
A1001_STATUS = {
    "columns": [
        "order_id", "status", "placed_on", "total", "items", "payment", "shipping", "refunded",
        "still_refundable",
    ],
    "rows": [[
        "A-1001", "delivered", "2026-10-19", "$104.00",
        "1 x USB-C cable (2 m) ($15.00 each); 1 x Mechanical keyboard ($89.00 each)",
        "paypal, $104.00 on 2026-10-19", "Royal Mail delivered", "$0.00", "$104.00",
    ]],
}  # fmt: skip


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return create_database(tmp_path / "company.db")


def query(database: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    connection = sqlite3.connect(database)
    try:
        with connection:
            return connection.execute(sql, params).fetchall()
    finally:
        connection.close()


class TestCompanyDatabase:
    def test_first_customer_is_ada_with_delivered_order_a1001(self, database: Path) -> None:
        assert query(database, "SELECT name, email FROM customers WHERE id = 1") == [
            ("Ada Lovelace", ADA)
        ]
        assert query(database, "SELECT status, total_cents FROM orders WHERE id = 'A-1001'") == [
            ("delivered", 10400)
        ]
        items = "SELECT sku, quantity, unit_price_cents FROM order_items WHERE order_id = ?"
        assert sorted(query(database, items, "A-1001")) == [
            ("CB-010", 1, 1500), ("KB-101", 1, 8900)
        ]

    def test_holds_a_few_hundred_customers_with_orders_and_history(self, database: Path) -> None:
        counts = {
            table: query(database, f"SELECT count(*) FROM {table}")[0][0]
            for table in ("customers", "orders", "shipments", "refunds", "policies")
        }
        assert counts == {
            "customers": 300, "orders": 764, "shipments": 654, "refunds": 62, "policies": 4
        }

    def test_same_seed_gives_the_same_data(self, tmp_path: Path) -> None:
        first = create_database(tmp_path / "one.db")
        second = create_database(tmp_path / "two.db")
        dump = "SELECT * FROM orders ORDER BY id"
        assert query(first, dump) == query(second, dump)

    def test_an_existing_database_is_kept(self, database: Path) -> None:
        before = query(database, "SELECT count(*) FROM refunds")
        query(database, "DELETE FROM refunds")
        create_database(database)
        assert before != [(0,)]
        assert query(database, "SELECT count(*) FROM refunds") == [(0,)]


class TestLookups:
    def test_are_named_queries_only(self, database: Path) -> None:
        db, tools = open_lookups(database)
        with db:
            assert [tool.name for tool in tools] == [
                "customer_by_email", "orders_for_customer", "order_status",
                "shipment_tracking", "refunds_for_order", "support_policy",
            ]  # fmt: skip

    def test_order_status_holds_items_payment_shipping_and_refunds(self, database: Path) -> None:
        db, tools = open_lookups(database)
        with db:
            output = _tool(tools, "order_status").run({"order_id": "A-1001", "customer_email": ADA})
        assert json.loads(str(output.content)) == A1001_STATUS

    def test_an_order_is_not_shown_to_another_customers_email(self, database: Path) -> None:
        db, tools = open_lookups(database)
        with db:
            output = _tool(tools, "order_status").run(
                {"order_id": "A-1001", "customer_email": "alan.turing@example.com"}
            )
        assert json.loads(str(output.content))["rows"] == []

    def test_card_digits_and_password_hashes_never_reach_the_model(self, database: Path) -> None:
        card_rows = query(database, "SELECT card_last4 FROM payments WHERE card_last4 IS NOT NULL")
        hashes = query(database, "SELECT password_hash FROM customers")
        db, tools = open_lookups(database)
        with db:
            seen = db.run_select("SELECT * FROM payments") + db.run_select(
                "SELECT * FROM customers"
            )
            seen += str(_tool(tools, "customer_by_email").run({"customer_email": ADA}).content)
        assert card_rows and hashes
        assert not any(f'"{last4}"' in seen for (last4,) in card_rows)
        assert not any(password_hash in seen for (password_hash,) in hashes)


def _tool(tools: list[Any], name: str) -> Any:
    return next(tool for tool in tools if tool.name == name)


class TestDomainTools:
    def test_refunds_above_twenty_dollars_need_approval_and_say_why(
        self, database: Path
    ) -> None:
        refund = _tool(domain_tools(database), "refund_order")
        assert refund.requires_approval({"amount_cents": 2000}) is None
        assert refund.requires_approval({"amount_cents": 2001}) == (
            "refunds above $20.00 need a supervisor's approval (this one is $20.01)"
        )
        assert _tool(
            domain_tools(database, refund_approval_above_cents=100_000), "refund_order"
        ).requires_approval({"amount_cents": 123_456}) == (
            "refunds above $1,000.00 need a supervisor's approval (this one is $1,234.56)"
        )

    def test_other_changes_always_need_approval(self, database: Path) -> None:
        assert {tool.name: tool.sensitive for tool in domain_tools(database)} == {
            "refund_order": False,
            "cancel_order": False,
            "update_shipping_address": True,
            "send_email": True,
        }

    def test_a_cancellation_asks_only_for_an_order_that_can_still_be_cancelled(
        self, database: Path
    ) -> None:
        """Nobody is asked to approve what the tool would refuse anyway."""
        cancel = _tool(domain_tools(database), "cancel_order")
        assert cancel.requires_approval is not None
        [(open_order, status)] = query(
            database, "SELECT id, status FROM orders WHERE status IN ('pending', 'paid') "
            "ORDER BY id LIMIT 1",
        )
        assert cancel.requires_approval({"order_id": open_order, "reason": "x"}) == (
            f"cancelling order {open_order} ({status}) needs your approval"
        )
        assert cancel.requires_approval({"order_id": "A-1001", "reason": "x"}) is None  # delivered
        assert cancel.requires_approval({"order_id": "Z-9", "reason": "x"}) is None  # no such order

    def test_refund_is_recorded_and_capped_at_what_is_left(self, database: Path) -> None:
        refund = _tool(domain_tools(database, actor="agent:test"), "refund_order")
        done = refund.run({"order_id": "A-1001", "amount_cents": 10000, "reason": "broken"})
        too_much = refund.run({"order_id": "A-1001", "amount_cents": 401, "reason": "more"})
        assert json.loads(str(done.content))["still_refundable_cents"] == 400
        assert (too_much.is_error, too_much.content) == (
            True,
            "At most 400 cents can still be refunded on A-1001 (total 10400, already "
            "refunded 10000).",
        )
        assert query(database, "SELECT amount_cents, reason, created_by FROM refunds "
                               "WHERE order_id = 'A-1001'") == [(10000, "broken", "agent:test")]

    def test_refund_after_the_thirty_day_window_is_refused(self, database: Path) -> None:
        """The policy the prompt states is enforced by the tool, not left to the model."""
        refund = _tool(domain_tools(database), "refund_order")
        [(status, delivered_at)] = query(
            database,
            "SELECT o.status, s.delivered_at FROM orders o JOIN shipments s "
            "ON s.order_id = o.id WHERE o.id = 'A-1003'",
        )
        output = refund.run({"order_id": "A-1003", "amount_cents": 500, "reason": "late"})
        assert (status, delivered_at) == ("delivered", "2026-09-27T12:00:00+00:00")
        assert (output.is_error, output.content) == (
            True,
            "Order A-1003 was delivered on 2026-09-27, 34 days ago; refunds are only "
            "possible within 30 days of delivery.",
        )
        assert query(database, "SELECT count(*) FROM refunds WHERE order_id = 'A-1003' "
                               "AND reason = 'late'") == [(0,)]

    def test_delivered_order_cannot_be_cancelled(self, database: Path) -> None:
        cancel = _tool(domain_tools(database), "cancel_order")
        output = cancel.run({"order_id": "A-1001", "reason": "changed my mind"})
        assert (output.is_error, output.content) == (
            True, "Order A-1001 is delivered and can no longer be cancelled."
        )

    def test_email_goes_to_the_outbox(self, database: Path) -> None:
        send = _tool(domain_tools(database), "send_email")
        send.run({"customer_email": ADA, "subject": "Your refund", "body": "It is on its way."})
        assert query(database, "SELECT customer_id, subject, body FROM outbox") == [
            (1, "Your refund", "It is on its way.")
        ]


class TestCostFooter:
    def test_cache_reads_show_what_they_saved(self) -> None:
        prices = PriceTable()
        ledger = Ledger()
        write = Usage(input_tokens=100, output_tokens=20, cache_creation_input_tokens=1000)
        read = Usage(input_tokens=100, output_tokens=20, cache_read_input_tokens=1000)
        for usage in (write, read):
            cost = (
                Decimal(usage.input_tokens * 3 + usage.output_tokens * 15)
                + Decimal((usage.cache_creation_input_tokens or 0) * 3) * Decimal("1.25")
                + Decimal((usage.cache_read_input_tokens or 0) * 3) * Decimal("0.1")
            ) / 1_000_000
            ledger.add_turn(TurnRecord("claude-sonnet-4-6", "end_turn", usage, cost), prices)
        assert ledger.summary() == (
            "2 model calls · input 2,200 tokens (1,000 read from the prompt cache, 1,000 "
            "written to it, 200 new) · output 40 · $0.0052 (cache saved $0.0020, 27%)"
        )

    def test_a_model_without_a_price_has_an_unknown_cost(self) -> None:
        ledger = Ledger()
        usage = Usage(input_tokens=10, output_tokens=5)
        ledger.add_turn(TurnRecord("local-model", "end_turn", usage, None), PriceTable())
        assert ledger.summary() == (
            "1 model call · input 10 tokens · output 5 · cost unknown (no price for local-model)"
        )

    def test_tool_calls_and_results_are_shown_compactly(self) -> None:
        call = compact_call("refund_order", {"order_id": "A-1001", "reason": "x" * 60})
        assert call == 'refund_order(order_id="A-1001", reason="' + "x" * 37 + '…")'
        assert compact_result('{"columns":["a"],"rows":[[1],[2]]}') == "2 rows"
        assert compact_result("There is no order A-9.") == "There is no order A-9."


class TestConversationWithAModel:
    """The console over a scripted model: what a real model's conversation looks like."""

    def test_two_turns_keep_the_history_and_the_approved_refund_is_recorded(
        self, database: Path
    ) -> None:
        model = ScriptedModel([
            tool_reply(("order_status", {"order_id": "A-1001", "customer_email": ADA}),
                       text="Let me look that up."),
            text_reply("Order A-1001 was delivered on 2026-10-22; it came to $104.00."),
            tool_reply(("refund_order", {"order_id": "A-1001", "amount_cents": 2500,
                                         "reason": "keyboard arrived scratched"})),
            text_reply("I refunded $25.00 to your PayPal account."),
        ])  # fmt: skip
        approver = ScriptedApprover([Approve()])
        out = io.StringIO()
        with Client(api_key="test", transport=model) as client:
            support = create_support_agent(database, client, approver=approver)
            console = ChatConsole(support.agent, "console", out, Style(False))
            status = console.run_script([STATUS_QUESTION, REFUND_REQUEST])
            support.close()
        assert status == 0
        assert refunds(database) == [(2500, "keyboard arrived scratched")]
        assert [request.tool_name for request in approver.requests] == ["refund_order"]
        first, second_turn = model.requests[0], model.requests[2]
        assert first["system"][0]["text"] == load_prompt().text
        assert [tool["name"] for tool in first["tools"]][-4:] == [
            "refund_order", "cancel_order", "update_shipping_address", "send_email"
        ]
        assert [(m["role"], _text(m)) for m in second_turn["messages"]] == [
            ("user", STATUS_QUESTION),
            ("assistant", "Let me look that up."),
            ("user", ""),
            ("assistant", "Order A-1001 was delivered on 2026-10-22; it came to $104.00."),
            ("user", REFUND_REQUEST),
        ]
        shown = out.getvalue()
        assert 'assistant> Let me look that up.\n  → order_status(order_id="A-1001", ' in shown
        assert "assistant> I refunded $25.00 to your PayPal account.\n" in shown
        assert "── session: 4 model calls" in shown


    def test_a_failed_reply_is_reported_and_left_out_of_the_history(
        self, database: Path
    ) -> None:
        model = ScriptedModel([
            error_reply(400, "invalid_request_error", "prompt is malformed"),
            text_reply("Our refund policy: within 30 days of delivery."),
        ])  # fmt: skip
        out = io.StringIO()
        with Client(api_key="test", transport=model, max_retries=0) as client:
            support = create_support_agent(database, client)
            console = ChatConsole(support.agent, "console", out, Style(False))
            status = console.run_script(["first try", "What is your policy on refunds?"])
            support.close()
        assert status == 1
        assert [(m["role"], _text(m)) for m in model.requests[1]["messages"]] == [
            ("user", "What is your policy on refunds?")
        ]
        shown = flat(out.getvalue())
        assert "(the reply ended: failed — 400 invalid_request_error: prompt is malformed" in shown
        assert "Goodbye. 1 message answered · 1 model call · " in shown
        assert all(len(line) <= 80 for line in out.getvalue().splitlines())

    def test_a_wrong_key_stops_the_script_with_the_fix_and_sends_nothing_more(
        self, database: Path
    ) -> None:
        model = ScriptedModel(
            lambda body: error_reply(401, "authentication_error", "invalid x-api-key")
        )
        out = io.StringIO()
        with Client(api_key="wrong", transport=model, max_retries=0) as client:
            support = create_support_agent(database, client)
            console = ChatConsole(support.agent, "console", out, Style(False))
            status = console.run_script([STATUS_QUESTION, REFUND_REQUEST, "Thanks!"])
            support.close()
        assert (status, len(model.requests)) == (1, 1)
        shown = flat(out.getvalue())
        ended = "(the reply ended: failed — 401 authentication_error: invalid x-api-key"
        fix = "Check ANTHROPIC_API_KEY (and ANTHROPIC_BASE_URL), or run with --offline."
        rest = "The remaining 2 scripted messages are not sent: they would fail the same way."
        goodbye = "Goodbye. 0 messages answered · 0 model calls · "
        assert shown.index(ended) < shown.index(fix) < shown.index(rest) < shown.index(goodbye)


class TestDeferredConversation:
    """The console in deferred mode picks a paused run up where a person left it."""

    def start(
        self, database: Path, store: RunStore, model: ScriptedModel
    ) -> tuple[ChatConsole, io.StringIO]:
        out = io.StringIO()
        agent = build_agent_for_test(database, model, store)
        console = ChatConsole(agent, "deferred", out, Style(False), deferral=Deferral(store, {}))
        console.send(REFUND_REQUEST)
        assert console.paused_run is not None
        assert refunds(database) == []
        return console, out

    def script(self) -> ScriptedModel:
        return ScriptedModel([
            tool_reply(("refund_order", {"order_id": "A-1001", "amount_cents": 2500,
                                         "reason": "scratched"})),
            text_reply("I refunded $25.00."),
            text_reply("You're welcome."),
        ])  # fmt: skip

    def test_decided_elsewhere_then_pending_resumes_it_here(self, database: Path) -> None:
        with RunStore(store_for_database(database)) as store:
            console, out = self.start(database, store, self.script())
            console.command("/pending")
            (approval,) = store.list_approvals()
            assert approval.reason == (
                "refunds above $20.00 need a supervisor's approval (this one is $25.00)"
            )
            store.record_decision(approval.approval_id, Approve(), decided_by="supervisor")
            console.command("/pending")
        shown = out.getvalue()
        assert "The last reply still waits for approval; decide it first" in shown
        assert "The approval was decided; resuming the run here.\n" in shown
        assert "assistant> I refunded $25.00.\n" in shown
        assert console.paused_run is None
        assert refunds(database) == [(2500, "scratched")]

    def test_resumed_elsewhere_the_conversation_goes_on_from_its_end(
        self, database: Path
    ) -> None:
        model = self.script()
        with RunStore(store_for_database(database)) as store:
            console, out = self.start(database, store, model)
            (approval,) = store.list_approvals()
            store.record_decision(approval.approval_id, Approve(), decided_by="supervisor")
            resume_stored(build_agent_for_test(database, model, store), store,
                          approval.run_id)  # fmt: skip
            console.send("thanks")
        shown = out.getvalue()
        assert (
            "The paused run was resumed elsewhere and ended completed; its reply:\n"
            "assistant> I refunded $25.00.\n" in shown
        )
        assert [(m["role"], _text(m)) for m in model.requests[-1]["messages"]] == [
            ("user", REFUND_REQUEST),
            ("assistant", ""),
            ("user", ""),
            ("assistant", "I refunded $25.00."),
            ("user", "thanks"),
        ]
        assert refunds(database) == [(2500, "scratched")]


def build_agent_for_test(database: Path, model: ScriptedModel, store: RunStore) -> Any:
    """The agent another process would build to resume the run (as build_agent does)."""
    client = Client(api_key="test", transport=model)
    return create_support_agent(database, client, store=store).agent


class TestConsoleCommands:
    def test_commands_run_without_the_model_and_end_of_input_says_goodbye(
        self, database: Path
    ) -> None:
        typed = ["/usage", "", "/frobnicate", "/new", "/pending"]

        def read_line(prompt: str) -> str:
            assert prompt == "you> "
            if not typed:
                raise EOFError
            return typed.pop(0)

        model = ScriptedModel([])
        out = io.StringIO()
        with Client(api_key="test", transport=model) as client:
            support = create_support_agent(database, client)
            status = ChatConsole(support.agent, "console", out, Style(False)).interact(read_line)
            support.close()
        assert status == 0
        assert model.requests == []
        assert out.getvalue() == (
            "  ── session: 0 model calls · input 0 tokens · output 0 · $0.0000\n"
            "Unknown command /frobnicate; /help lists them.\n"
            "New conversation.\n"
            "No run is waiting for approval.\n"
            "\n"
            "Goodbye. 0 messages answered · 0 model calls · input 0 tokens · output 0 ·\n"
            "$0.0000\n"
        )


def _text(message: dict[str, Any]) -> str:
    content = message["content"]
    if isinstance(content, str):
        return content
    return "".join(block.get("text", "") for block in content if block["type"] == "text")


class TestBackend:
    def test_without_a_key_the_emulator_answers_and_says_so(self) -> None:
        backend = connect(environ={})
        try:
            assert backend.offline
            assert backend.description.startswith(
                "OFFLINE: replies come from the agentcore emulator's demo policy at "
                "http://127.0.0.1:"
            )
        finally:
            backend.close()

    def test_offline_can_be_forced_with_a_key_set(self) -> None:
        backend = connect(environ={"ANTHROPIC_API_KEY": "sk-real", ENV_OFFLINE: "1"})
        backend.close()
        assert backend.offline

    def test_with_a_key_the_api_at_anthropic_base_url_is_used(self, database: Path) -> None:
        with Emulator() as server:
            base_url = server.base_url
            backend = connect(
                environ={"ANTHROPIC_API_KEY": "sk-test", "ANTHROPIC_BASE_URL": base_url}
            )
            support = create_support_agent(database, backend.client)
            result = support.agent.run(STATUS_QUESTION)
            support.close()
            backend.close()
        assert (backend.offline, backend.description) == (
            False, f"claude-sonnet-4-6 at {base_url}"
        )
        assert result.status == "completed"
        assert "status: delivered" in result.output
        assert server.requests[0]["model"] == "claude-sonnet-4-6"

    def test_the_run_store_sits_next_to_the_database(self, tmp_path: Path) -> None:
        store = store_for_database(tmp_path / "company.db")
        assert store == tmp_path / "company.runs.db"
        assert database_for_store(store) == tmp_path / "company.db"


@pytest.mark.e2e
class TestScriptMode:
    def test_say_runs_the_conversation_offline_from_the_database(self, tmp_path: Path) -> None:
        db = tmp_path / "company.db"
        finished = run_example("--db", str(db), "--say", STATUS_QUESTION, "--say", REFUND_REQUEST)
        assert finished.returncode == 0, finished.stderr
        assert all(len(line) <= 80 for line in finished.stdout.splitlines())  # a pipe: 80 wide
        out = flat(finished.stdout)
        assert "OFFLINE: replies come from the agentcore emulator's demo policy" in out
        assert "status: delivered" in out and "total: $104.00" in out
        assert (
            "Approval needed for 'refund_order', but standard input is not a terminal: denied "
            "(no interactive approver)." in out
        )
        assert (
            "- refund_order failed: This action was denied automatically, without asking a "
            "person: no interactive approver" in out
        )
        assert "── session: 4 model calls" in out
        assert "Traceback" not in finished.stderr
        assert refunds(db) == []

    def test_script_file_lines_are_sent_in_order_with_comments_skipped(
        self, tmp_path: Path
    ) -> None:
        script = tmp_path / "chat.txt"
        script.write_text(
            "# a scripted chat\nWhat is your policy on refunds?\n\n/usage\n/quit\nnever sent\n"
        )
        finished = run_example("--db", str(tmp_path / "c.db"), "--script", str(script))
        assert finished.returncode == 0, finished.stderr
        said = [line for line in finished.stdout.splitlines() if line.startswith("you> ")]
        assert said == ["you> What is your policy on refunds?", "you> /usage", "you> /quit"]
        assert "Refunds above $20.00 need a supervisor's approval." in flat(finished.stdout)

    def test_without_a_terminal_or_script_the_builtin_conversation_runs(
        self, tmp_path: Path
    ) -> None:
        finished = run_example("--db", str(tmp_path / "c.db"))
        assert finished.returncode == 0, finished.stderr
        assert "Standard input is not a terminal: running the built-in conversation." in (
            finished.stdout
        )
        said = [line[5:] for line in finished.stdout.splitlines() if line.startswith("you> ")]
        assert said == list(CANNED_CONVERSATION)

    def test_auto_deny_tells_the_model_why(self, tmp_path: Path) -> None:
        db = tmp_path / "c.db"
        finished = run_example("--db", str(db), "--approve", "auto-deny", "--say", REFUND_REQUEST)
        assert finished.returncode == 0, finished.stderr
        assert (
            "- refund_order failed: This action was denied automatically, without asking a "
            "person: this session denies every action that needs approval (--approve auto-deny)"
            in flat(finished.stdout)
        )
        assert refunds(db) == []

    def test_reset_recreates_the_database(self, database: Path) -> None:
        query(database, "DELETE FROM customers WHERE id > 1")
        finished = run_example("--db", str(database), "--reset", "--say", "/quit")
        assert finished.returncode == 0, finished.stderr
        assert query(database, "SELECT count(*) FROM customers") == [(300,)]

    def test_a_database_that_is_not_the_companys_is_refused(self, tmp_path: Path) -> None:
        other = tmp_path / "other.db"
        query(other, "CREATE TABLE notes (text TEXT)")
        finished = run_example("--db", str(other), "--say", "hi")
        assert finished.returncode == 2
        assert finished.stderr == (
            f"error: {other} is not a company database: it has no customers, addresses, "
            "products, orders, order_items, payments, shipments, refunds, outbox, policies, "
            "company table(s); choose another --db, or --reset to recreate it\n"
        )

    def test_unreadable_script_is_a_clear_error(self, tmp_path: Path) -> None:
        finished = run_example("--db", str(tmp_path / "c.db"), "--script", str(tmp_path / "no"))
        assert finished.returncode == 2
        assert finished.stderr.startswith(f"error: cannot read script {tmp_path / 'no'}:")
        assert "Traceback" not in finished.stderr


def printed_commands(stdout: str) -> dict[str, list[str]]:
    """The agentcore commands the console printed, by action (approve, deny, resume)."""
    commands: dict[str, list[str]] = {}
    # A command wider than the terminal goes on over lines ending in " \\", as in a shell.
    for line in stdout.replace(" \\\n", " ").splitlines():
        first = line.split(maxsplit=1)[0] if line.strip() else ""
        if first.endswith("agentcore"):
            words = shlex.split(line)
            if words[1] in ("approvals", "runs"):
                commands[words[2]] = words
    return commands


@pytest.mark.e2e
class TestDeferredApprovals:
    def pause(self, db: Path) -> dict[str, list[str]]:
        finished = run_example(
            "--db", str(db), "--approve", "deferred", "--say", REFUND_REQUEST, "--say", "thanks"
        )
        assert finished.returncode == 0, finished.stderr
        assert "The run is paused and stored in" in flat(finished.stdout)
        assert "the remaining 1 scripted message is not sent" in flat(finished.stdout)
        assert refunds(db) == []
        commands = printed_commands(finished.stdout)
        assert sorted(commands) == ["approve", "deny", "resume"]
        return commands

    # The resumed run (in another process, with its own emulator) still reads the policy
    # manual the conversation refers to by file id, and quotes it.
    MANUAL_QUOTES = (
        "[demo policy] From the documents in this conversation: Refunds are allowed within 30 "
        "days of delivery, up to the order total minus earlier refunds. Shipped or delivered "
        "orders cannot be cancelled; offer a return and refund instead.\n"
    )

    def run_printed(self, command: list[str]) -> subprocess.CompletedProcess[str]:
        return run_command(command)

    def test_approved_from_the_command_line_and_resumed_the_refund_runs_once(
        self, tmp_path: Path
    ) -> None:
        db = tmp_path / "company.db"
        commands = self.pause(db)
        approved = self.run_printed(commands["approve"])
        resumed = self.run_printed(commands["resume"])
        again = self.run_printed(commands["resume"])
        assert approved.returncode == 0, approved.stderr
        assert resumed.returncode == 0, resumed.stderr
        assert resumed.stdout.endswith(
            "- refund_order returned: refund_id: 63, order_id: A-1001, amount_cents: 2500, "
            "still_refundable_cents: 7900\n" + self.MANUAL_QUOTES
        )
        assert again.returncode == 0, again.stderr
        assert refunds(db) == [(2500, REFUND_REQUEST)]

    def test_a_database_in_a_directory_not_made_yet_gets_its_run_store_beside_it(
        self, tmp_path: Path
    ) -> None:
        """As on a fresh checkout, where ``examples/support_agent/data/`` does not exist."""
        db = tmp_path / "data" / "company.db"
        self.pause(db)
        assert store_for_database(db).exists()

    def test_denied_from_the_command_line_nothing_changes_and_the_model_is_told(
        self, tmp_path: Path
    ) -> None:
        db = tmp_path / "company.db"
        commands = self.pause(db)
        denied = self.run_printed(commands["deny"])
        resumed = self.run_printed(commands["resume"])
        assert denied.returncode == 0, denied.stderr
        assert resumed.stdout.endswith(
            "- refund_order failed: The user denied this action: over the limit\n"
            + self.MANUAL_QUOTES
        )
        assert refunds(db) == []
