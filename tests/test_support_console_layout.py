"""The support console as a person sees it, at 80 and 120 columns, in a real pseudo-terminal.

Given a colour terminal of a given width, no line the console draws is wider, no word is
broken across lines, and the approval panel shows the call whole. While the agent waits
(the model thinks, a ``slow`` fault holds the reply, a 429 is retried) a status line says so,
and it is erased before the answer streams. Under ``NO_COLOR``, and through a pipe, the
output holds no escape sequence at all. Every wait is bounded.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from agentcore.terminal import cell_width
from tests._processes import restore_default_sigint
from tests._support_agent_harness import (
    REFUND_REQUEST,
    REPO,
    STATUS_QUESTION,
    flat,
    offline_env,
    run_example,
)

pytestmark = pytest.mark.e2e

WAIT_S = 60
PROMPT = "you> "
APPROVE = "Approve? [y]es / [n]o / [a]lways in this conversation / [e]dit / [d]etails: "
CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
ERASE_LINE = "\x1b[2K"


def colour_env() -> dict[str, str]:
    env = offline_env()
    del env["NO_COLOR"]
    env["TERM"] = "xterm-256color"
    return env


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[object]:
    children: list[pexpect.spawn] = []

    def start(columns: int, *args: str, env: dict[str, str] | None = None) -> pexpect.spawn:
        child = pexpect.spawn(
            sys.executable,
            ["-m", "examples.support_agent", "--db", str(tmp_path / "company.db"), *args],
            cwd=str(REPO),
            env=env if env is not None else colour_env(),
            encoding="utf-8",
            timeout=WAIT_S,
            dimensions=(40, columns),
            preexec_fn=restore_default_sigint,
        )
        children.append(child)
        return child

    try:
        yield start
    finally:
        for child in children:
            child.close(force=True)


def screen_lines(raw: str) -> list[str]:
    """What was drawn, line by line: escape sequences removed, a carriage return starting a
    line of its own (the status line redraws itself that way)."""
    return re.split(r"\r\n|\r|\n", CONTROL.sub("", raw))


def panel_words(raw: str) -> str:
    """The drawn text flattened, with the panel's borders taken away."""
    return flat(re.sub(r"[│╭╮╰╯─]", " ", "\n".join(screen_lines(raw))))


def leave(child: pexpect.spawn) -> str:
    child.sendline("/quit")
    child.expect(pexpect.EOF)
    return str(child.before)


@pytest.mark.parametrize("columns", [80, 120])
def test_no_line_is_wider_than_the_terminal_and_no_word_is_broken(
    spawn: object, columns: int
) -> None:
    child = spawn(columns)  # type: ignore[operator]
    child.expect_exact(PROMPT)
    drawn = child.before
    child.sendline(STATUS_QUESTION)
    child.expect_exact(PROMPT)
    drawn += child.before
    child.sendline(REFUND_REQUEST)
    child.expect_exact(APPROVE)
    panel = child.before
    child.sendline("y")
    child.expect_exact(PROMPT)
    drawn += panel + child.before + leave(child)

    too_wide = [line for line in screen_lines(drawn) if cell_width(line) > columns]
    assert too_wide == []
    # Each of these was broken mid-word before the console knew its width.
    words = panel_words(drawn)
    assert re.search(r"demo policy at http://127\.0\.0\.1:\d+ \(keyword rules", words)
    assert "Purpose Refund part or all of an order to the customer's original payment method." in (
        words
    )
    assert "read from the prompt cache" in words
    assert "ada.lovelace@example.com" in words
    # The panel: title, every field once, the arguments as JSON.
    shown = panel_words(panel)
    assert shown.count("Approval needed") == 1
    assert shown.count("Why asked refunds above $20.00 need a supervisor's approval") == 1
    assert '"order_id": "A-1001", "amount_cents": 2500,' in shown
    assert "needs approval" not in shown  # the reason is not printed a second time


def test_the_status_line_shows_a_slow_reply_and_a_retried_429_then_goes(spawn: object) -> None:
    child = spawn(80, "--fault", "slow:2", "--fault", "429")  # type: ignore[operator]
    child.expect_exact(PROMPT)
    child.sendline("What is your policy on refunds?")
    child.expect_exact("thinking… 1 s")  # the slow reply: still drawn a second later
    child.expect_exact("assistant> ")
    first_reply = child.before
    child.expect_exact("rate limited, retrying in under a second (1/2)")
    child.expect_exact("assistant> ")
    after_retry = child.before
    child.expect_exact(PROMPT)
    leave(child)
    # Erased before the answer streams, each time.
    assert first_reply.rindex(ERASE_LINE) > first_reply.rindex("thinking…")
    assert ERASE_LINE in after_retry and "thinking…" not in after_retry.split(ERASE_LINE)[-1]


def test_no_color_in_a_terminal_means_no_escape_sequence(spawn: object) -> None:
    env = offline_env()  # NO_COLOR=1
    env["TERM"] = "xterm-256color"
    child = spawn(80, "--fault", "429", env=env)  # type: ignore[operator]
    child.expect_exact(PROMPT)
    drawn = child.before
    child.sendline(REFUND_REQUEST)
    child.expect_exact(APPROVE)
    drawn += child.before
    child.sendline("n")
    child.expect_exact("Reason, passed on to the model (optional, Enter to skip): ")
    child.sendline("")
    child.expect_exact(PROMPT)
    drawn += child.before + leave(child)
    assert "\x1b" not in drawn
    # Without a line to redraw, a retry is one line of its own.
    assert "  … rate limited, retrying in under a second (1/2)" in drawn
    assert all(cell_width(line) <= 80 for line in drawn.splitlines())


def test_piped_output_has_no_escape_sequence_and_fits_80_columns(tmp_path: Path) -> None:
    finished = run_example("--db", str(tmp_path / "c.db"), "--fault", "529")
    assert finished.returncode == 0, finished.stderr
    assert "\x1b" not in finished.stdout
    assert all(cell_width(line) <= 80 for line in finished.stdout.splitlines())
    assert "… the API is overloaded, retrying in" in finished.stdout
