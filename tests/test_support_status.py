"""The support console's status line, driven by the run's events (no terminal needed).

Given the events of a run, the printer tells its status line what the agent waits for
(thinking, a tool, a retry, the rate limit) and clears it before printing anything else;
without a live line the waits are printed as lines of their own.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from types import SimpleNamespace
from typing import cast

import pytest

from agentcore import (
    Agent,
    Client,
    ModelWait,
    ModelWaiting,
    TextDelta,
    ToolCallStarted,
    ToolResultEvent,
    tool,
)
from agentcore.citations import CharLocationCitation
from agentcore.events import RunFinished
from agentcore.state import RunResult
from agentcore.testing import ScriptedModel, text_reply, tool_reply
from agentcore.usage import PriceTable
from examples.support_agent.console import ChatConsole
from examples.support_agent.render import Style, TurnPrinter, wait_text
from examples.support_agent.status import StatusLine


class RecordingStatus(StatusLine):
    """A live status line that keeps what it was asked to show, and when it was cleared."""

    live = True

    def __init__(self, out: io.StringIO) -> None:
        self.out = out
        self.shown: list[str] = []
        self.current: Callable[[], str] | None = None

    def show(self, text: Callable[[], str]) -> None:
        self.current = text
        self.shown.append(text())

    def clear(self) -> None:
        if self.current is not None:
            self.out.write("<cleared>")
        self.current = None


RETRY = ModelWait("retry", 4.0, attempt=1, max_attempts=2, detail="rate_limit_error")


def test_the_waits_read_as_a_person_would_say_them() -> None:
    assert wait_text(RETRY) == "rate limited, retrying in 4 s (1/2)"
    assert wait_text(RETRY, 2.2) == "rate limited, retrying in 3 s (1/2)"
    assert wait_text(RETRY, 0.05) == "rate limited, retrying in under a second (1/2)"
    overloaded = ModelWait("retry", 1.5, attempt=2, max_attempts=2, detail="overloaded_error")
    assert wait_text(overloaded) == "the API is overloaded, retrying in 2 s (2/2)"
    assert wait_text(ModelWait("retry", 1.0, detail="http_502")) == (
        "the server failed, retrying in 1 s"
    )
    limit = ModelWait("rate_limit", 4.0, detail="input tokens per minute")
    assert wait_text(limit) == "waiting 4 s for the rate limit (input tokens per minute)"
    hostile = ModelWait("rate_limit", 1.0, detail="\x1b[2Jowned")
    assert "\x1b" not in wait_text(hostile)


def test_each_wait_is_shown_until_the_next_event_and_cleared_before_text() -> None:
    out = io.StringIO()
    status = RecordingStatus(out)
    printer = TurnPrinter(out, Style(False), PriceTable(), status=status)
    printer.start_turn()
    assert status.shown[-1] == "thinking… 0 s"
    printer(ModelWaiting(RETRY))
    assert status.shown[-1] == "rate limited, retrying in 4 s (1/2)"
    printer(ToolCallStarted("toolu_1", "order_status", {"order_id": "A-1001"}))
    assert status.shown[-1] == "running order_status… 0 s"
    printer(ToolResultEvent("toolu_1", "order_status", "ok", False, True, 0.1))
    assert status.shown[-1] == "thinking… 0 s"
    printer(TextDelta("Your order was delivered."))
    printer.end_text()
    shown = out.getvalue()
    # Cleared before the tool line, before its result, before the answer.
    assert shown.index("<cleared>") < shown.index("→ order_status")
    assert shown.rindex("<cleared>") < shown.index("assistant> Your order was delivered.")
    assert "retrying" not in shown  # a live line is not printed as a line too


def test_without_a_live_line_a_wait_is_a_line_of_its_own() -> None:
    out = io.StringIO()
    printer = TurnPrinter(out, Style(False), PriceTable(), status=StatusLine())
    printer.start_turn()
    printer(ModelWaiting(RETRY))
    printer(TextDelta("Done."))
    printer.end_text()
    assert out.getvalue() == "  … rate limited, retrying in 4 s (1/2)\nassistant> Done.\n"


def test_an_unexpected_error_ending_the_run_clears_the_status_line_first() -> None:
    """Given a run that fails with an error no one handles (a before_tool hook's bug) while
    the status line says "running order_status…", the console erases the line (which gives
    the terminal its cursor back) before the error leaves it."""

    @tool
    def order_status(order_id: str) -> str:
        """The status of an order."""
        return "shipped"

    def broken_hook(call: object) -> None:
        raise RuntimeError("the hook's database went away")

    script = ScriptedModel([tool_reply(("order_status", {"order_id": "A-1001"})), text_reply("-")])
    agent = Agent(
        "claude-sonnet-4-6",
        tools=[order_status],
        client=Client(api_key="test", transport=script),
        before_tool=[broken_hook],
    )
    out = io.StringIO()
    console = ChatConsole(agent, "console", out, Style(False))
    status = RecordingStatus(out)
    console.printer.status = status

    with pytest.raises(RuntimeError, match="database went away"):
        console.send("Where is A-1001?")

    assert status.shown[-1] == "running order_status… 0 s"
    assert status.current is None
    assert out.getvalue().endswith("<cleared>")


def test_a_cited_source_wraps_the_same_with_colours_as_without() -> None:
    """Given an answer citing a long passage, the source line is wrapped to the width by
    its visible text: colour codes take no columns, so the coloured lines, once the codes
    are removed, are exactly the plain ones."""
    citation = CharLocationCitation(
        cited_text="Refunds above twenty dollars need a supervisor's approval before they run",
        document_index=0,
        document_title="Northwind Devices customer policy manual, section 4 (refunds)",
        start_char_index=0,
        end_char_index=10,
    )
    finished = RunFinished(cast(RunResult, SimpleNamespace(citations=[citation])))
    shown = []
    for style in (Style(False), Style(True)):
        out = io.StringIO()
        printer = TurnPrinter(out, style, PriceTable(), status=StatusLine())
        printer.width = 64
        printer(finished)
        shown.append(re.sub(r"\x1b\[[0-9;]*m", "", out.getvalue()))
    plain, coloured = shown
    assert coloured == plain
    assert plain.startswith('  [1] "Refunds above twenty dollars need a supervisor\'s approval\n')
