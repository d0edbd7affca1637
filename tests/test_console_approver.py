"""ConsoleApprover end to end: a person types answers into a real pseudo-terminal."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pexpect
import pytest

from agentcore.approval import AlwaysAllow, ApprovalRequest, Approve, Deny
from agentcore.approval.console import ConsoleApprover
from tests._processes import restore_default_sigint
from tests.console_approver_app import refund_order

ROOT = Path(__file__).resolve().parent.parent
APP = Path(__file__).with_name("console_approver_app.py")
PROMPT = re.escape("Approve? [y]es / [n]o / [a]lways for this run / [e]dit / [d]etails: ")
TIMEOUT_S = 60
SECRET = "sk-live-secret"


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("EDITOR", "VISUAL", "NO_COLOR")}
    env.update(PYTHONPATH=str(ROOT), NO_COLOR="1", TERM="dumb", **extra)
    return env


@pytest.fixture
def spawn(ledger: Path) -> Iterator[Any]:
    children: list[pexpect.spawn] = []

    def start(mode: str = "request", **env: str) -> pexpect.spawn:
        child = pexpect.spawn(
            sys.executable,
            [str(APP), mode],
            cwd=str(ROOT),
            env=environment(LEDGER=str(ledger), **env),
            encoding="utf-8",
            timeout=TIMEOUT_S,
            dimensions=(50, 200),
            preexec_fn=restore_default_sigint,
        )
        children.append(child)
        return child

    try:
        yield start
    finally:
        for child in children:
            child.close(force=True)


def decision_of(child: pexpect.spawn) -> dict[str, Any]:
    child.expect(r"DECISION: (\{.*\})\r?\n")
    decision: dict[str, Any] = json.loads(child.match.group(1))
    child.expect(pexpect.EOF)
    return decision


def hash_of(child: pexpect.spawn) -> str:
    """The arguments hash the approver showed under details (any answer binds to it)."""
    child.expect(PROMPT)
    child.sendline("d")
    child.expect(r"Arguments hash: ([0-9a-f]{64})")
    digest: str = child.match.group(1)
    return digest


@pytest.mark.e2e
class TestAnswers:
    def test_shows_the_call_with_secrets_masked_then_yes_approves(self, spawn: Any) -> None:
        child = spawn()
        child.expect(PROMPT)
        shown = child.before
        assert "Tool:      refund_order" in shown
        assert "Purpose:   Refund part or all of an order." in shown
        assert "Why asked: tool 'refund_order' is marked sensitive" in shown
        assert '"order_id": "A-1001"' in shown
        assert '"api_key": "[REDACTED]"' in shown
        assert SECRET not in shown
        child.sendline("y")
        child.expect("Approved.")
        assert decision_of(child)["kind"] == "approve"

    def test_the_decision_is_bound_to_the_arguments_shown(self, spawn: Any) -> None:
        child = spawn()
        digest = hash_of(child)
        child.expect(PROMPT)
        child.sendline("yes")
        assert decision_of(child) == {"kind": "approve", "arguments_hash": digest}

    def test_nonsense_gets_a_hint_and_the_question_again(self, spawn: Any) -> None:
        child = spawn()
        child.expect(PROMPT)
        child.sendline("maybe")
        child.expect(re.escape("Not understood: 'maybe'. Please answer y (yes), n (no), "))
        child.expect(PROMPT)
        child.sendline("")
        child.expect("Not understood: 'an empty answer'")
        child.expect(PROMPT)
        child.sendline("A")
        child.expect("Approved; refund_order is allowed for this run.")
        assert decision_of(child)["kind"] == "always_allow"

    def test_five_nonsense_answers_deny(self, spawn: Any) -> None:
        child = spawn()
        for answer in ["maybe", "ok", "sure", "yess", "1"]:
            child.expect(PROMPT)
            child.sendline(answer)
        child.expect("Denied: no valid answer was given.")
        assert decision_of(child)["reason"] == "no valid answer was given"

    def test_no_asks_for_a_reason_and_denies_with_it(self, spawn: Any) -> None:
        child = spawn()
        child.expect(PROMPT)
        child.sendline("n")
        child.expect(re.escape("Reason, passed on to the model (optional, Enter to skip): "))
        child.sendline("refunds above $40 need a manager")
        child.expect("Denied: refunds above \\$40 need a manager.")
        decision = decision_of(child)
        assert (decision["kind"], decision["reason"]) == (
            "deny",
            "refunds above $40 need a manager",
        )

    def test_no_with_an_empty_reason_still_denies(self, spawn: Any) -> None:
        child = spawn()
        child.expect(PROMPT)
        child.sendline("no")
        child.expect("Reason")
        child.sendline("")
        decision = decision_of(child)
        assert (decision["kind"], decision["reason"]) == ("deny", "")

    def test_details_show_the_full_schema_then_ask_again(self, spawn: Any) -> None:
        child = spawn()
        child.expect(PROMPT)
        child.sendline("d")
        child.expect("Input schema:")
        child.expect(PROMPT)
        details = child.before
        assert '"exclusiveMinimum": 0' in details
        assert "Amount to refund, in cents." in details
        assert "Secret fields (masked): api_key" in details
        child.sendline("n")
        child.expect("Reason")
        child.sendline("checking first")
        assert decision_of(child)["kind"] == "deny"


@pytest.mark.e2e
class TestEdit:
    def test_inline_json_edit_with_mistakes_then_a_valid_one(self, spawn: Any) -> None:
        child = spawn()
        child.expect(PROMPT)
        child.sendline("e")
        child.expect_exact("Enter the new arguments as JSON, then an empty line (an empty")
        child.expect(">>> ")
        child.sendline('{"order_id": "A-1001", "amount_cents": ')
        child.expect(re.escape("... "))
        child.sendline("")
        child.expect(re.escape("Invalid JSON: Expecting value (line 1, column 40)."))
        child.expect(">>> ")
        child.sendline('{"order_id": "A-1001", "amount_cents": -5}')
        child.expect(re.escape("... "))
        child.sendline("")
        child.expect("The edited arguments do not fit the tool: amount_cents: -5 is less than")
        child.expect(">>> ")
        child.sendline('{"order_id": "A-1001",')
        child.sendline(' "amount_cents": 2500, "api_key": "[REDACTED]"}')
        child.sendline("")
        child.expect("Approved with edited arguments.")
        decision = decision_of(child)
        assert (decision["kind"], decision["arguments"]) == (
            "edit",
            {"order_id": "A-1001", "amount_cents": 2500, "api_key": "sk-live-secret"},
        )

    def test_edit_opens_the_editor_on_the_masked_arguments(
        self, spawn: Any, tmp_path: Path
    ) -> None:
        seen = tmp_path / "seen.json"
        editor = tmp_path / "editor.py"
        editor.write_text(
            "import json, sys\n"
            "path = sys.argv[1]\n"
            f"open({str(seen)!r}, 'w').write(open(path).read())\n"
            "args = json.load(open(path))\n"
            "args['amount_cents'] = 1200\n"
            "json.dump(args, open(path, 'w'))\n"
        )
        child = spawn(EDITOR=f"{sys.executable} {editor}")
        child.expect(PROMPT)
        child.sendline("e")
        child.expect("Approved with edited arguments.")
        decision = decision_of(child)
        assert json.loads(seen.read_text()) == {
            "order_id": "A-1001",
            "amount_cents": 5000,
            "api_key": "[REDACTED]",
        }
        assert decision["arguments"] == {
            "order_id": "A-1001",
            "amount_cents": 1200,
            "api_key": "sk-live-secret",
        }

    def test_an_editor_that_fails_cancels_the_edit_and_asks_again(
        self, spawn: Any, tmp_path: Path
    ) -> None:
        child = spawn(EDITOR=f"{sys.executable} -c 'raise SystemExit(3)'")
        child.expect(PROMPT)
        child.sendline("e")
        child.expect("The editor exited with status 3; edit cancelled.")
        child.expect(PROMPT)
        child.sendline("n")
        child.expect("Reason")
        child.sendline("")
        assert decision_of(child)["kind"] == "deny"


class TestLeaving:
    @pytest.mark.e2e
    def test_ctrl_c_at_the_prompt_denies(self, spawn: Any) -> None:
        child = spawn()
        child.expect(PROMPT)
        child.sendintr()
        child.expect("Denied: interrupted at the approval prompt \\(Ctrl-C\\).")
        decision = decision_of(child)
        assert (decision["kind"], decision["reason"]) == (
            "deny",
            "interrupted at the approval prompt (Ctrl-C)",
        )
        assert re.fullmatch("[0-9a-f]{64}", decision["arguments_hash"])

    @pytest.mark.e2e
    def test_ctrl_c_while_pasting_an_edit_denies(self, spawn: Any) -> None:
        child = spawn()
        child.expect(PROMPT)
        child.sendline("e")
        child.expect(">>> ")
        child.sendintr()
        assert decision_of(child)["reason"] == "interrupted at the approval prompt (Ctrl-C)"

    @pytest.mark.e2e
    def test_end_of_input_denies(self, spawn: Any) -> None:
        child = spawn()
        child.expect(PROMPT)
        child.sendeof()
        child.expect("Denied: input ended before a decision was made.")
        assert decision_of(child)["kind"] == "deny"

    @pytest.mark.e2e
    def test_without_a_terminal_it_denies_at_once_without_reading(self) -> None:
        finished = subprocess.run(
            [sys.executable, str(APP)],
            cwd=ROOT,
            env=environment(),
            input="y\n",
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
        )
        assert "denied (no interactive approver)" in " ".join(finished.stdout.split())
        assert all(len(line) <= 80 for line in finished.stdout.splitlines()[:-1])
        decision = json.loads(finished.stdout.split("DECISION: ")[1])
        assert (decision["kind"], decision["reason"]) == ("deny", "no interactive approver")
        assert decision["automatic"] is True  # the model hears that no person denied it


@pytest.mark.e2e
class TestColors:
    def test_colors_only_on_a_terminal_without_no_color(self, spawn: Any) -> None:
        child = spawn()
        child.expect(PROMPT)
        assert "\x1b[" not in child.before
        child.sendline("y")
        decision_of(child)

        colored = pexpect.spawn(
            sys.executable,
            [str(APP)],
            cwd=str(ROOT),
            env={**environment(), "NO_COLOR": "", "TERM": "xterm-256color"},
            encoding="utf-8",
            timeout=TIMEOUT_S,
            dimensions=(50, 100),
            preexec_fn=restore_default_sigint,
        )
        try:
            colored.expect("Approve\\?")
            # A colour terminal gets the panel, with the title and the JSON highlighted.
            assert "\x1b[" in colored.before
            assert "Approval needed" in colored.before
            assert "╭" in colored.before
            colored.sendline("y")
            colored.expect(pexpect.EOF)
        finally:
            colored.close(force=True)


@pytest.mark.e2e
class TestInsideAnAgentRun:
    def run_output(self, child: pexpect.spawn) -> tuple[list[Any], dict[str, Any]]:
        child.expect(r"REFUNDS: (\[.*\])\r?\n")
        refunds: list[Any] = json.loads(child.match.group(1))
        child.expect(r"RESULT: (\{.*\})\r?\n")
        result: dict[str, Any] = json.loads(child.match.group(1))
        child.expect(pexpect.EOF)
        return refunds, result

    def test_approving_at_the_prompt_runs_the_refund(self, spawn: Any) -> None:
        child = spawn("agent")
        child.expect(PROMPT)
        child.sendline("y")
        refunds, result = self.run_output(child)
        assert refunds == ["refund A-1001 5000"]
        assert result == {
            "status": "completed",
            "tool_results": [
                {"type": "tool_result", "tool_use_id": "toolu_1",
                 "content": "refunded 5000 cents on A-1001"}
            ],
        }  # fmt: skip

    def test_denying_with_a_reason_tells_the_model_and_refunds_nothing(self, spawn: Any) -> None:
        child = spawn("agent")
        child.expect(PROMPT)
        child.sendline("huh")
        child.expect(PROMPT)
        child.sendline("n")
        child.expect("Reason")
        child.sendline("customer already got a voucher")
        refunds, result = self.run_output(child)
        assert refunds == []
        assert result["tool_results"] == [
            {
                "type": "tool_result",
                "tool_use_id": "toolu_1",
                "content": "The user denied this action: customer already got a voucher",
                "is_error": True,
            }
        ]

    def test_ctrl_c_during_the_run_denies_and_refunds_nothing(self, spawn: Any) -> None:
        child = spawn("agent")
        child.expect(PROMPT)
        child.sendintr()
        refunds, result = self.run_output(child)
        assert refunds == []
        assert result["tool_results"][0]["content"] == (
            "The user denied this action: interrupted at the approval prompt (Ctrl-C)"
        )


class TestInProcess:
    """The same approver over plain streams (no terminal), as apps embed it."""

    def request(self) -> ApprovalRequest:
        return ApprovalRequest.for_call(
            refund_order, "toolu_1", {"order_id": "A-1", "amount_cents": 5}, "sensitive"
        )

    def test_refuses_without_reading_when_input_is_not_a_terminal(self) -> None:
        answers, shown = io.StringIO("y\n"), io.StringIO()
        request = self.request()
        decision = ConsoleApprover(answers, shown).decide(request)
        assert decision == Deny(
            "no interactive approver", arguments_hash=request.arguments_hash, automatic=True
        )
        assert answers.tell() == 0
        assert shown.getvalue() == (  # wrapped to 80 columns, between words
            "Approval needed for 'refund_order', but standard input is not a terminal: denied\n"
            "(no interactive approver).\n"
        )

    def test_an_edit_that_is_not_an_object_is_refused_then_the_question_comes_back(
        self,
    ) -> None:
        answers = io.StringIO('e\n[1, 2]\n\n{"order_id": "A-1"}\n\na\n')
        shown = io.StringIO()
        request = self.request()
        approver = ConsoleApprover(answers, shown, require_tty=False, max_invalid_answers=2)
        assert approver.decide(request) == AlwaysAllow(arguments_hash=request.arguments_hash)
        out = shown.getvalue()
        assert "The arguments must be a JSON object, not list." in out
        words = " ".join(out.split())
        assert "The edited arguments do not fit the tool: arguments: 'amount_cents' is a " in words
        assert "Too many invalid edits; back to the question." in out

    def test_an_empty_line_instead_of_an_edit_goes_back_to_the_question(self) -> None:
        answers = io.StringIO("e\n\ny\n")
        shown = io.StringIO()
        request = self.request()
        approver = ConsoleApprover(answers, shown, require_tty=False)
        assert approver.decide(request) == Approve(arguments_hash=request.arguments_hash)
        out = shown.getvalue()
        assert "Edit cancelled.\n" in out
        assert out.count(PROMPT.replace("\\", "")) == 2

    @pytest.mark.parametrize("color", [False, True], ids=["plain", "panel"])
    def test_a_megabyte_argument_is_shortened_but_every_key_stays_on_screen(
        self, color: bool
    ) -> None:
        """Given arguments whose first value is 1 MB of text and whose amount comes last,
        the request fits on a screen: the long value is shown as its length and its start
        (in a form no JSON value takes, so a model cannot fake it), the amount is shown, and
        [d]etails shows the arguments in full."""
        padding = "word " * 200_000
        arguments = {"note": padding, "order_id": "A-1", "amount_cents": 999_999}
        request = ApprovalRequest.for_call(refund_order, "toolu_1", arguments, "sensitive")
        shown = io.StringIO()
        approver = ConsoleApprover(io.StringIO("y\n"), shown, require_tty=False, color=color)
        assert approver.decide(request) == Approve(arguments_hash=request.arguments_hash)
        out = re.sub(r"\x1b\[[0-9;]*m", "", shown.getvalue())
        assert len(out.splitlines()) < 40
        assert '<text of 1,000,000 characters: "word word word' in out
        assert '"amount_cents": 999999' in out
        assert "answer d to see them in full" in " ".join(out.split())

        shown = io.StringIO()
        approver = ConsoleApprover(io.StringIO("d\ny\n"), shown, require_tty=False)
        approver.decide(request)
        assert padding.strip() in " ".join(shown.getvalue().split())

    def test_many_items_are_shortened_with_their_count(self) -> None:
        arguments = {"order_id": "A-1", "amount_cents": 5, "note": "x", "lines": list(range(500))}
        request = ApprovalRequest.for_call(refund_order, "toolu_1", arguments, "sensitive")
        shown = io.StringIO()
        ConsoleApprover(io.StringIO("n\n\n"), shown, require_tty=False).decide(request)
        out = shown.getvalue()
        assert len(out.splitlines()) < 80
        assert "<480 more items>" in out

    def test_short_arguments_are_shown_as_plain_pretty_json(self) -> None:
        request = self.request()
        shown = io.StringIO()
        ConsoleApprover(io.StringIO("y\n"), shown, require_tty=False).decide(request)
        out = shown.getvalue()
        pretty = json.dumps(request.arguments, indent=2)
        assert "\n".join("    " + line for line in pretty.split("\n")) in out
        assert "in full" not in out

    def test_always_for_the_conversation_covers_that_tool_only_until_a_new_one(self) -> None:
        """[a]lways with the conversation scope allows later calls of the same tool without
        asking, whatever their arguments (as the gate treats a tool allowed for a run); a
        different tool still asks, and new_conversation() forgets."""
        first = self.request()
        later = ApprovalRequest.for_call(
            refund_order, "toolu_2", {"order_id": "A-2", "amount_cents": 90_000}, "sensitive"
        )
        other = ApprovalRequest(
            "toolu_3", "send_email", "Send an email.", {"to": "x@example.com"}, "sensitive"
        )
        answers, shown = io.StringIO("a\nn\n\nn\n\n"), io.StringIO()
        approver = ConsoleApprover(answers, shown, require_tty=False, always_scope="conversation")
        assert "[a]lways in this conversation" in approver.prompt

        assert approver.decide(first) == AlwaysAllow(arguments_hash=first.arguments_hash)
        assert approver.allowed_tools == {"refund_order"}
        before = answers.tell()
        assert approver.decide(later) == AlwaysAllow(arguments_hash=later.arguments_hash)
        assert answers.tell() == before  # not asked
        assert "refund_order: allowed in this conversation (you answered always)." in (
            shown.getvalue()
        )
        assert isinstance(approver.decide(other), Deny)  # asked, and answered no

        approver.new_conversation()
        assert approver.allowed_tools == frozenset()
        assert isinstance(approver.decide(later), Deny)  # asked again
        assert answers.read() == ""

    def test_always_for_the_run_is_not_remembered_by_the_approver(self) -> None:
        request = self.request()
        approver = ConsoleApprover(io.StringIO("a\nn\n\n"), io.StringIO(), require_tty=False)
        assert approver.decide(request) == AlwaysAllow(arguments_hash=request.arguments_hash)
        assert approver.allowed_tools == frozenset()
        assert isinstance(approver.decide(request), Deny)  # the next run asks again
