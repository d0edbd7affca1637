"""A person at the support agent's console, driven through a real pseudo-terminal.

Each test starts ``python -m examples.support_agent`` offline (the emulator on 127.0.0.1),
types as a person would, answers the approval prompt, and checks the company database.
Every wait is bounded.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from tests._processes import restore_default_sigint
from tests._support_agent_harness import (
    REFUND_REQUEST,
    REPO,
    STATUS_QUESTION,
    offline_env,
    refunds,
)

pytestmark = pytest.mark.e2e

WAIT_S = 60
PROMPT = "you> "
APPROVE = "Approve? [y]es / [n]o / [a]lways in this conversation / [e]dit / [d]etails: "


@pytest.fixture
def console(tmp_path: Path) -> Iterator[pexpect.spawn]:
    child = pexpect.spawn(
        sys.executable,
        ["-m", "examples.support_agent", "--db", str(tmp_path / "company.db")],
        cwd=str(REPO),
        env=offline_env(),
        encoding="utf-8",
        timeout=WAIT_S,
        dimensions=(50, 200),
        preexec_fn=restore_default_sigint,
    )
    try:
        yield child
    finally:
        child.close(force=True)


def database_of(child: pexpect.spawn) -> Path:
    return Path(child.args[child.args.index(b"--db") + 1].decode())


def ask_about_a1001(child: pexpect.spawn) -> str:
    child.expect_exact("OFFLINE: replies come from the agentcore emulator's demo policy")
    child.expect_exact(PROMPT)
    child.sendline(STATUS_QUESTION)
    child.expect_exact(PROMPT)
    return str(child.before)


def leave(child: pexpect.spawn) -> str:
    child.sendline("/quit")
    child.expect(pexpect.EOF)
    child.close()
    return str(child.before)


def test_asking_about_an_order_answers_from_the_database(console: pexpect.spawn) -> None:
    answer = ask_about_a1001(console)
    assert '→ order_status(order_id="A-1001", customer_email="ada.lovelace@example.com")' in answer
    assert "order_id: A-1001, status: delivered, placed_on: 2026-10-19, total: $104.00" in answer
    assert "1 x Mechanical keyboard ($89.00 each)" in answer
    assert "── session: 2 model calls" in answer
    farewell = leave(console)
    assert farewell.startswith("/quit\r\nGoodbye. 1 message answered · 2 model calls · ")
    assert console.exitstatus == 0


def test_refund_approved_at_the_prompt_is_recorded(console: pexpect.spawn) -> None:
    ask_about_a1001(console)
    console.sendline(REFUND_REQUEST)
    console.expect_exact(APPROVE)
    shown = str(console.before)
    assert "Why asked: refunds above $20.00 need a supervisor's approval (this one is $25.00)" in (
        shown
    )
    assert '"amount_cents": 2500' in shown
    assert '"order_id": "A-1001"' in shown
    console.sendline("y")
    console.expect_exact("Approved.")
    console.expect_exact(PROMPT)
    answer = str(console.before)
    assert "→ refund_order(order_id=\"A-1001\", amount_cents=2500," in answer
    assert "- refund_order returned: refund_id: 63, order_id: A-1001, amount_cents: 2500" in answer
    leave(console)
    assert console.exitstatus == 0
    assert refunds(database_of(console)) == [(2500, REFUND_REQUEST)]


def test_refund_denied_at_the_prompt_changes_nothing_and_the_model_is_told(
    console: pexpect.spawn,
) -> None:
    ask_about_a1001(console)
    console.sendline(REFUND_REQUEST)
    console.expect_exact(APPROVE)
    console.sendline("n")
    console.expect_exact("Reason, passed on to the model (optional, Enter to skip): ")
    console.sendline("scratches are not covered")
    console.expect_exact("Denied: scratches are not covered.")
    console.expect_exact(PROMPT)
    answer = str(console.before)
    assert (
        "- refund_order failed: The user denied this action: scratches are not covered" in answer
    )
    leave(console)
    assert console.exitstatus == 0
    assert refunds(database_of(console)) == []


def test_ctrl_c_at_the_prompt_leaves_cleanly(console: pexpect.spawn) -> None:
    console.expect_exact(PROMPT)
    console.sendintr()
    console.expect(pexpect.EOF)
    console.close()
    assert "Goodbye. 0 messages answered" in str(console.before)
    assert "Traceback" not in str(console.before)
    assert console.exitstatus == 0


def test_end_of_input_leaves_cleanly(console: pexpect.spawn) -> None:
    console.expect_exact(PROMPT)
    console.sendline("/help")
    console.expect_exact("/pending  deferred mode")
    console.expect_exact(PROMPT)
    console.sendeof()
    console.expect(pexpect.EOF)
    console.close()
    assert "Traceback" not in str(console.before)
    assert console.exitstatus == 0


def test_always_lasts_the_conversation_until_new(console: pexpect.spawn) -> None:
    """Each message is a new run; [a]lways is meant for the whole chat, and says so."""
    ask_about_a1001(console)
    console.sendline(REFUND_REQUEST)
    console.expect_exact(APPROVE)
    console.sendline("a")
    console.expect_exact("Approved; refund_order is allowed in this conversation.")
    console.expect_exact(PROMPT)
    console.sendline("Please refund $21 on order A-1001, the cable arrived scratched")
    console.expect_exact("refund_order: allowed in this conversation (you answered always).")
    console.expect_exact(PROMPT)
    assert "Approval needed" not in str(console.before)
    console.sendline("/new")
    console.expect_exact("New conversation.")
    console.sendline("Please refund $22 on order A-1001, the box arrived scratched")
    console.expect_exact(APPROVE)  # forgotten with the conversation
    console.sendline("n")
    console.expect_exact("Reason, passed on to the model (optional, Enter to skip): ")
    console.sendline("")
    console.expect_exact(PROMPT)
    leave(console)
    assert [amount for amount, _ in refunds(database_of(console))] == [2500, 2100]
