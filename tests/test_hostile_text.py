"""Text and identifiers from a model, a store or a shell, as an attacker would write them.

What a person sees on a terminal must be exactly what they approve: escape sequences,
C1 controls and bidirectional overrides are shown as visible escapes, never obeyed. Numbers
and names are checked whole: no non-ASCII digits, no trailing newline, no overflow.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agentcore.agent import Agent
from agentcore.approval import ApprovalRequest, Approve, Deny
from agentcore.approval.console import ConsoleApprover
from agentcore.cli import main
from agentcore.client import Client, batch_body
from agentcore.emulator._validation import RequestRejected, validate_message_request
from agentcore.errors import ApprovalError, ConfigurationError, ToolDefinitionError
from agentcore.events import (
    ApprovalDecided,
    ApprovalRequested,
    TextDelta,
    ToolCallStarted,
    ToolResultEvent,
)
from agentcore.store import RunStore
from agentcore.store.durable import run_stored
from agentcore.terminal import terminal_safe
from agentcore.testing import ScriptedModel, text_reply, tool_reply
from agentcore.tools import tool
from agentcore.usage import PriceTable
from examples.support_agent.render import Ledger, Style, TurnPrinter

ROOT = Path(__file__).resolve().parent.parent

CLEAR_SCREEN = "\x1b[2J"
OSC8_LINK = "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\"
TITLE = "\x1b]0;owned\x07"
CSI_C1 = "\x9b31m"
RIGHT_TO_LEFT = "\u202e0001\u202c"
ISOLATES = "\u2066x\u2067y\u2068z\u2069"
HOSTILE = [CLEAR_SCREEN, OSC8_LINK, TITLE, CSI_C1, RIGHT_TO_LEFT, ISOLATES, "a\rb", "\u2028"]
UNSAFE_CHARS = set("\x1b\x07\x9b\r\u202e\u202c\u2066\u2067\u2068\u2069\u2028")


def assert_terminal_safe(text: str) -> None:
    """No character a terminal would act on (beyond newlines) is left in ``text``."""
    found = sorted({f"U+{ord(c):04X}" for c in text if c in UNSAFE_CHARS})
    assert found == [], f"raw control characters reached the terminal: {found}"


class TestTerminalSafe:
    @pytest.mark.parametrize(
        ("text", "shown"),
        [
            (CLEAR_SCREEN, "\\u001b[2J"),
            (TITLE, "\\u001b]0;owned\\u0007"),
            (CSI_C1, "\\u009b31m"),
            (RIGHT_TO_LEFT, "\\u202e0001\\u202c"),
            (ISOLATES, "\\u2066x\\u2067y\\u2068z\\u2069"),
            ("a\rb\tc\nd", "a\\rb\\tc\\nd"),
            ("zero\u200bwidth", "zero\\u200bwidth"),
            ("tag\U000e0041", "tag\\udb40\\udc41"),
            ("del\x7f", "del\\u007f"),
        ],
    )
    def test_every_control_becomes_a_visible_escape(self, text: str, shown: str) -> None:
        assert terminal_safe(text) == shown

    def test_ordinary_text_is_kept_as_it_is(self) -> None:
        text = "Zoë paid 12,50 € for 東京 🎉 — \u00a0ok"
        assert terminal_safe(text) is text or terminal_safe(text) == text

    def test_multiline_keeps_newlines_but_not_carriage_returns(self) -> None:
        assert terminal_safe("one\ntwo\r", multiline=True) == "one\ntwo\\r"

    def test_json_stays_valid_json_with_the_same_value(self) -> None:
        value = {"note": "".join(HOSTILE) + "tag\U000e0041 é"}
        shown = terminal_safe(json.dumps(value, ensure_ascii=False, indent=2), multiline=True)
        assert_terminal_safe(shown)
        assert json.loads(shown) == value


def hostile_request() -> ApprovalRequest:
    return ApprovalRequest(
        call_id="toolu_" + CSI_C1,
        tool_name="refund_order",
        description="Refund an order." + TITLE,
        arguments={"order_id": "A-1001" + RIGHT_TO_LEFT, "note": OSC8_LINK + CLEAR_SCREEN},
        reason="the policy says " + ISOLATES,
        input_schema={"type": "object", "description": CSI_C1},
    )


class TestConsoleApprover:
    def test_hostile_arguments_are_shown_escaped_and_the_approval_is_for_them(self) -> None:
        request = hostile_request()
        out = io.StringIO()
        approver = ConsoleApprover(
            io.StringIO("d\nn\nno" + CLEAR_SCREEN + "\n"), out, require_tty=False, color=False
        )

        decision = approver.decide(request)

        shown = out.getvalue()
        assert_terminal_safe(shown)
        assert '"order_id": "A-1001\\u202e0001\\u202c"' in shown
        assert "Why asked: the policy says \\u2066x\\u2067y\\u2068z\\u2069" in shown
        assert "Call id:        toolu_\\u009b31m" in shown
        assert isinstance(decision, Deny)
        assert decision.arguments_hash == request.arguments_hash

    def test_with_colors_only_its_own_styles_are_escape_sequences(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("COLUMNS", "200")  # the panel is as wide: no value is folded
        out = io.StringIO()
        approver = ConsoleApprover(io.StringIO("y\n"), out, require_tty=False, color=True)
        assert isinstance(approver.decide(hostile_request()), Approve)
        shown = out.getvalue()
        assert CLEAR_SCREEN not in shown and "\x1b]" not in shown and "\x9b" not in shown
        assert "\\u001b[2J" in shown


class TestSupportConsoleRenderer:
    def test_events_carrying_escape_sequences_print_escaped(self) -> None:
        out = io.StringIO()
        printer = TurnPrinter(out, Style(enabled=False), PriceTable())
        request = hostile_request()
        for event in (
            TextDelta("Done." + CLEAR_SCREEN + TITLE),
            ToolCallStarted("toolu_1", "lookup_order", {"order_id": RIGHT_TO_LEFT}),
            ToolResultEvent("toolu_1", "lookup_order", "row " + OSC8_LINK, False, True, 0.0),
            ApprovalRequested(request),
            ApprovalDecided(request.call_id, request.tool_name, Deny("no" + CSI_C1)),
        ):
            printer(event)
        printer.end_text()

        shown = out.getvalue()
        assert_terminal_safe(shown)
        assert "assistant> Done.\\u001b[2J\\u001b]0;owned\\u0007" in shown
        assert "denied: no\\u009b31m" in shown

    def test_a_model_name_from_the_server_prints_escaped_in_the_cost_footer(self) -> None:
        """Given a reply whose ``model`` field carries escape sequences (a hostile server or
        proxy), the footer's "no price for …" names it escaped."""
        script = ScriptedModel([text_reply("Hi.", model="claude-x" + TITLE + CLEAR_SCREEN)])
        agent = Agent("claude-sonnet-4-6", client=Client(api_key="test", transport=script))
        out = io.StringIO()
        printer = TurnPrinter(out, Style(enabled=False), PriceTable())
        printer.start_turn()
        for event in agent.stream("Hi"):
            printer(event)
        printer.end_text()
        session = Ledger()
        session.add(printer.ledger)
        printer.footer(session)

        shown = out.getvalue()
        assert_terminal_safe(shown)
        assert "no price for claude-x\\u001b]0;owned\\u0007\\u001b[2J)" in " ".join(shown.split())


# --- the agentcore command --------------------------------------------------------------------


@tool(sensitive=True)
def refund_order(order_id: str, amount_cents: int, note: str = "") -> str:
    """Refund part or all of an order.

    Args:
        order_id: Order number.
        amount_cents: Amount in cents.
        note: A note for the ledger.
    """
    return "refunded"


class Store:
    """A store holding one run paused on a refund whose arguments the model filled with
    escape sequences."""

    def __init__(self, tmp_path: Path) -> None:
        self.path = tmp_path / "runs.db"
        arguments = {
            "order_id": "A-1" + RIGHT_TO_LEFT,
            "amount_cents": 5,
            "note": "".join(HOSTILE),
        }
        model = ScriptedModel([tool_reply(("refund_order", arguments, "toolu_hostile"))])
        client = Client(api_key="t", transport=model)
        agent = Agent("claude-sonnet-4-5", tools=[refund_order], client=client)
        with RunStore(self.path) as store:
            result = run_stored(agent, store, "refund")
        assert result.status == "paused"
        self.run_id = result.state.run_id

    def cli(self, *args: str) -> int:
        return main([*args, "--store", str(self.path)])


@pytest.fixture
def hostile_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    monkeypatch.setenv("USER", "ana")
    return Store(tmp_path)


class TestCommandOutput:
    @pytest.mark.parametrize(
        "args",
        [
            ("approvals", "list"),
            ("approvals", "list", "--json"),
            ("approvals", "show", "1"),
            ("approvals", "show", "1", "--json"),
            ("runs", "list"),
        ],
    )
    def test_listing_and_showing_print_no_raw_control_characters(
        self, hostile_store: Store, capsys: pytest.CaptureFixture[str], args: tuple[str, ...]
    ) -> None:
        assert hostile_store.cli(*args) == 0
        captured = capsys.readouterr()
        assert_terminal_safe(captured.out + captured.err)
        if "--json" in args:
            first = json.loads(captured.out.splitlines()[0] if "list" in args else captured.out)
            assert first["arguments"]["order_id"] == "A-1" + RIGHT_TO_LEFT

    def test_a_deny_reason_and_the_audit_log_print_escaped(
        self, hostile_store: Store, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert hostile_store.cli("approvals", "deny", "1", "--reason", "no" + TITLE) == 0
        assert hostile_store.cli("approvals", "show", "1") == 0
        assert hostile_store.cli("runs", "show", hostile_store.run_id) == 0
        captured = capsys.readouterr()
        assert_terminal_safe(captured.out + captured.err)
        assert "(no\\u001b]0;owned\\u0007)" in captured.out


class TestCommandIds:
    @pytest.mark.parametrize(
        ("given", "problem"),
        [
            ("99999999999999999999999", "is too large"),
            ("9223372036854775808", "is too large"),
            ("\u0661", "is neither an approval number"),
            ("\u00b2", "is neither an approval number"),
            ("1\n", "is neither an approval number"),
            (" 1", "is neither an approval number"),
            ("1" + CLEAR_SCREEN, "is neither an approval number"),
        ],
    )
    @pytest.mark.parametrize("command", ["approve", "deny", "show"])
    def test_an_id_that_is_not_ascii_digits_in_range_is_a_usage_error(
        self,
        hostile_store: Store,
        capsys: pytest.CaptureFixture[str],
        given: str,
        problem: str,
        command: str,
    ) -> None:
        extra = ["--reason", "no"] if command == "deny" else []
        with pytest.raises(SystemExit) as exit_info:
            hostile_store.cli("approvals", command, given, *extra)
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
        assert problem in err
        assert_terminal_safe(err)
        with RunStore(hostile_store.path) as store:
            assert store.get_approval(1).status == "pending"

    @pytest.mark.parametrize("run_id", [CLEAR_SCREEN, "a b", "", "x" * 300])
    def test_a_run_id_that_cannot_be_one_is_a_usage_error(
        self, hostile_store: Store, capsys: pytest.CaptureFixture[str], run_id: str
    ) -> None:
        with pytest.raises(SystemExit) as exit_info:
            hostile_store.cli("runs", "show", run_id)
        assert exit_info.value.code == 2
        assert "is not a run id" in capsys.readouterr().err
        with pytest.raises(SystemExit):
            hostile_store.cli("approvals", "list", "--run", run_id)

    def test_the_real_command_prints_no_traceback(self, hostile_store: Store) -> None:
        for given in ("99999999999999999999999", "\u0661"):
            done = subprocess.run(
                [sys.executable, "-m", "agentcore.cli", "approvals", "approve", given,
                 "--store", str(hostile_store.path)],
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
                capture_output=True,
                text=True,
                timeout=60,
            )  # fmt: skip
            assert done.returncode == 2
            assert "Traceback" not in done.stderr
            assert "approval number" in done.stderr
            assert done.stdout == ""

    def test_the_store_reads_only_ascii_digits_as_a_number(self, hostile_store: Store) -> None:
        with RunStore(hostile_store.path) as store:
            assert store.get_approval("1").approval_id == 1
            with pytest.raises(ApprovalError):
                store.get_approval("\u0661")
            with pytest.raises(ApprovalError):
                store.get_approval(10**30)
            with pytest.raises(ApprovalError):
                store.record_decision("\u0661", Approve(), decided_by="eve")
            assert store.get_approval(1).status == "pending"


# --- identifiers checked whole ------------------------------------------------------------------


class TestIdentifiers:
    @pytest.mark.parametrize("name", ["refund\n", "refund\r\n", "\nrefund", "re fund"])
    def test_a_tool_name_with_a_newline_or_space_is_refused(self, name: str) -> None:
        def refund(order_id: str) -> str:
            """Refund.

            Args:
                order_id: The order.
            """
            return order_id

        with pytest.raises(ToolDefinitionError, match="is not allowed"):
            tool(name=name)(refund)

    def test_a_batch_custom_id_with_a_trailing_newline_is_refused(self) -> None:
        params = {"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": []}
        with pytest.raises(ConfigurationError, match="custom_id"):
            batch_body([("req-1\n", params)])

    def test_the_emulator_refuses_a_tool_name_with_a_trailing_newline(self) -> None:
        body: dict[str, Any] = {
            "model": "claude-sonnet-4-5",
            "max_tokens": 10,
            "messages": [{"role": "user", "content": "hi"}],
            "tools": [{"name": "refund\n", "input_schema": {"type": "object"}}],
        }
        with pytest.raises(RequestRejected, match="name"):
            validate_message_request(body, known_models={"claude-sonnet-4-5"})

    def test_a_snapshot_suffix_is_only_stripped_at_the_very_end(self) -> None:
        prices = PriceTable()
        assert prices.lookup("claude-sonnet-4-5-20250929") is not None
        assert prices.lookup("claude-sonnet-4-5-20250929\n") is None


def test_runs_resume_prints_the_final_answer_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("USER", "ana")
    store = Store(tmp_path)
    assert store.cli("approvals", "deny", "1", "--reason", "no") == 0
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    (tmp_path / "hostile_app.py").write_text(
        "from agentcore.agent import Agent\n"
        "from agentcore.client import Client\n"
        "from agentcore.testing import ScriptedModel, text_reply\n"
        "from tests.test_hostile_text import refund_order\n"
        "def build():\n"
        "    model = ScriptedModel([text_reply('Denied.\\x1b[2J\\u202eevil')])\n"
        "    return Agent('claude-sonnet-4-5', tools=[refund_order],\n"
        "                 client=Client(api_key='t', transport=model))\n"
    )
    assert store.cli("runs", "resume", store.run_id, "--agent", "hostile_app:build") == 0
    captured = capsys.readouterr()
    assert_terminal_safe(captured.out + captured.err)
    assert "Denied.\\u001b[2J\\u202eevil" in captured.out


class TestEmulatorNumbers:
    @pytest.mark.parametrize(
        "args",
        [
            ["--port", "\u0668\u0660\u0668\u0660"],
            ["--port", "99999999999999999999999"],
            ["--batch-delay", "inf"],
            ["--batch-delay", "\u0661"],
            ["--fault", "500:\u00b2"],
            ["--fault", "\u00b2"],
            ["--fault", "\uff15\uff10\uff10"],
            ["--fault", "cut-after:\u0663"],
            ["--fault", "slow:inf"],
            ["--fault", "slow:nan"],
        ],
    )
    def test_a_number_that_is_not_plain_ascii_and_finite_is_a_usage_error(
        self, args: list[str], capsys: pytest.CaptureFixture[str]
    ) -> None:
        try:
            status = main(["emulator", *args])
        except SystemExit as exit_info:
            status = exit_info.code  # type: ignore[assignment]
        assert status == 2
        err = capsys.readouterr().err
        assert ("error:" in err or "agentcore emulator: fault" in err) and "Traceback" not in err
