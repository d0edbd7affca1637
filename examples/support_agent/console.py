"""The support agent's console: a chat where the answer streams and costs show after each turn.

Each message the user sends is one agent run over the whole conversation so far. Sensitive
tool calls are decided in one of three ways:

- ``console``: a person answers at this terminal (:class:`agentcore.ConsoleApprover`); with
  no terminal on standard input, every such call is denied ("no interactive approver");
- ``deferred``: the run pauses and is kept in a :class:`agentcore.RunStore`; the console
  prints the ``agentcore approvals`` and ``agentcore runs resume`` commands that finish it,
  from any shell, later;
- ``auto-deny``: every such call is denied, and the model is told so.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TextIO

from pydantic import BaseModel

from agentcore import (
    Agent,
    RunEvent,
    RunFinished,
    RunResult,
    RunState,
    RunStore,
)
from agentcore.errors import (
    AgentcoreError,
    AuthenticationError,
    BillingError,
    NotFoundError,
    PermissionDeniedError,
)
from agentcore.state import TurnRecord
from agentcore.terminal import terminal_safe, terminal_width, wrap
from agentcore.usage import PriceTable
from examples.support_agent.render import Ledger, Style, TurnPrinter
from examples.support_agent.status import StatusLine

__all__ = [
    "CANNED_CONVERSATION",
    "ApproveMode",
    "ChatConsole",
    "Deferral",
    "agentcore_command",
    "display_path",
]

ApproveMode = Literal["console", "deferred", "auto-deny"]

CANNED_CONVERSATION = (
    "What's the status of order A-1001? My email is ada.lovelace@example.com",
    "Please refund $25 on order A-1001, the keyboard arrived scratched",
    "What is your policy on refunds?",
)
"""What the demo says when nobody is at the keyboard (and what ``make demo`` shows in CI)."""

HELP = """Commands:
  /help     this help
  /new      start a new conversation (the database keeps its changes; tools you
            allowed with [a]lways ask again)
  /usage    tokens and dollars so far
  /pending  deferred mode: the run waiting for approval, and the commands that finish it
  /quit     leave (also Ctrl-D, or Ctrl-C at the prompt)
Anything else is sent to the agent. Try: What's the status of order A-1001? My email is
ada.lovelace@example.com"""

_AGENT_FACTORY = "examples.support_agent.app:build_agent"

_REPEATING_ERRORS = (AuthenticationError, PermissionDeniedError, BillingError, NotFoundError)
"""Errors every later message would meet too (a wrong key, no access, an unknown model)."""


def agentcore_command() -> str:
    """How to run the ``agentcore`` command from this shell (the venv may not be active)."""
    local = Path(sys.executable).parent / "agentcore"
    found = shutil.which("agentcore")
    if local.exists():
        if found and Path(found).resolve() == local.resolve():
            return "agentcore"
        return shlex.quote(display_path(local))
    if found:
        return "agentcore"
    return f"{shlex.quote(sys.executable)} -m agentcore.cli"


def display_path(path: Path) -> str:
    """``path`` relative to the working directory when it is below it, else absolute."""
    absolute = Path(os.path.abspath(path))
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:
        return str(absolute)


@dataclass(frozen=True)
class Deferral:
    """Where deferred runs are kept, and what the resume command needs to rebuild the agent."""

    store: RunStore
    environment: dict[str, str]
    """Variables ``agentcore runs resume`` needs to build the same agent (printed inline)."""


class ChatConsole:
    """A conversation with the support agent on a terminal (or a script of messages).

    Args:
        agent: The support agent; it has an approver unless ``mode`` is ``deferred``, where
            it keeps its runs in the deferral's store instead.
        mode: How sensitive calls are decided (see the module docstring).
        out: Where everything is written.
        style: Colors or none.
        deferral: The run store and resume settings; required in ``deferred`` mode.
        prices: Prices for the cache-savings figure.
        opening: Content blocks put before the first message of each conversation (the
            policy manual as a cited document).
        new_conversation: Called on ``/new``, e.g. so that the console approver forgets the
            tools answered ``[a]lways`` in the conversation that ends.
    """

    def __init__(
        self,
        agent: Agent,
        mode: ApproveMode,
        out: TextIO,
        style: Style,
        *,
        deferral: Deferral | None = None,
        prices: PriceTable | None = None,
        opening: Sequence[Mapping[str, Any] | BaseModel] = (),
        new_conversation: Callable[[], None] | None = None,
    ) -> None:
        if mode == "deferred" and (deferral is None or agent.store is None):
            raise ValueError("deferred mode needs an agent with a run store")
        self.agent = agent
        self.opening = list(opening)
        self.mode = mode
        self.out = out
        self.style = style
        self.deferral = deferral
        self.printer = TurnPrinter(
            out,
            style,
            prices or PriceTable(),
            show_approvals=mode != "console",
            status=StatusLine.for_stream(out) if style.enabled else StatusLine(),
        )
        self.new_conversation = new_conversation
        self.session = Ledger()
        self.messages: list[dict[str, Any]] = []
        self.turns = 0
        self.failures = 0
        self.paused_run: str | None = None
        self.blocked_by: BaseException | None = None
        """The last reply's error when every later message would fail the same way."""
        self._counted_turns: dict[str, int] = {}

    def say(self, text: str = "", *styles: str) -> None:
        """Write a line (already terminal-safe), wrapped to the terminal's width."""
        width = terminal_width(self.out)
        for paragraph in text.split("\n"):
            lead = paragraph[: len(paragraph) - len(paragraph.lstrip(" "))]
            body = paragraph[len(lead) :]
            indent = lead + "  " if lead else ""
            for line in wrap(body, width, first=lead, indent=indent):
                self.out.write(self.style(line, *styles) + "\n")
        self.out.flush()

    def say_command(self, words: list[str], *styles: str) -> None:
        """Write a shell command, indented; when it is wider than the terminal it goes on
        over several lines ending in `` \\``, broken only between ``words``, so that it can
        still be pasted into a shell."""
        width = terminal_width(self.out) - 2
        lines: list[str] = []
        line = "   "
        for word in words:
            if len(line) + 1 + len(word) > width and line.strip():
                lines.append(line + " \\")
                line = "       "
            line += " " + word
        lines.append(line)
        for text in lines:
            self.out.write(self.style(text, *styles) + "\n")
        self.out.flush()

    # -- the two ways to talk ------------------------------------------------------------

    def interact(self, read_line: Callable[[str], str]) -> int:
        """Chat until /quit, end of input or Ctrl-C at the prompt; returns the exit status.

        ``read_line(prompt)`` returns the next line (like :func:`input`), raising EOFError at
        the end of input.
        """
        while True:
            try:
                line = read_line(self.style("you> ", "bold")).strip()
            except (EOFError, KeyboardInterrupt):
                self.say()
                break
            if not line:
                continue
            if line.startswith("/"):
                if not self.command(line):
                    break
                continue
            self.send(line)
        self.goodbye()
        return 0

    def run_script(self, lines: Iterable[str]) -> int:
        """Send each line in turn, as if typed; returns 0 when every turn ended normally."""
        remaining = [line.strip() for line in lines]
        remaining = [line for line in remaining if line and not line.startswith("#")]
        while remaining:
            line = remaining.pop(0)
            self.say(self.style("you> ", "bold") + terminal_safe(line))
            if line.startswith("/"):
                if not self.command(line):
                    break
                continue
            self.send(line)
            if self.blocked_by is not None and remaining:
                count = len(remaining)
                self.say(
                    f"The remaining {count} scripted message{'' if count == 1 else 's'} "
                    f"{'is' if count == 1 else 'are'} not sent: they would fail the same way.",
                    "yellow",
                )
                break
            if self.paused_run is not None and remaining:
                count = len(remaining)
                self.say(
                    f"The conversation waits for that decision; the remaining {count} scripted "
                    f"message{'' if count == 1 else 's'} {'is' if count == 1 else 'are'} "
                    "not sent.",
                    "yellow",
                )
                break
        self.goodbye()
        return 1 if self.failures else 0

    # -- commands ------------------------------------------------------------------------

    def command(self, line: str) -> bool:
        """Run a /command; returns False when the conversation should end."""
        name = line.split()[0].lower()
        if name in ("/quit", "/exit", "/q"):
            return False
        if name in ("/help", "/?"):
            self.say(HELP)
        elif name == "/new":
            self.messages = []
            self.paused_run = None
            if self.new_conversation is not None:
                self.new_conversation()
            self.say("New conversation.", "dim")
        elif name == "/usage":
            self.say(f"  ── session: {self.session.summary()}", "dim")
        elif name == "/pending":
            if self.paused_run is None:
                self.say("No run is waiting for approval.", "dim")
            elif self._settle_paused_run():
                self.say("The paused run is settled; carry on.", "dim")
        else:
            self.say(f"Unknown command {name}; /help lists them.", "yellow")
        return True

    # -- one turn ------------------------------------------------------------------------

    def send(self, text: str) -> None:
        """Send one user message and show the reply as it streams."""
        if self.paused_run is not None and not self._settle_paused_run():
            return
        content: str | list[Any] = text
        if self.opening and not self.messages:
            content = [*self.opening, {"type": "text", "text": text}]
        conversation: list[Any] = [*self.messages, {"role": "user", "content": content}]
        self.printer.start_turn()
        try:
            result = self._run(conversation)
        except KeyboardInterrupt:
            self.printer.end_text()
            self.say("(interrupted: this message was not answered and is forgotten)", "yellow")
            return
        except AgentcoreError as error:
            self.printer.end_text()
            self.failures += 1
            self.say(f"The agent could not run: {terminal_safe(str(error))}", "red")
            return
        except BaseException:
            # Any other error leaves the console: the live status line is erased first, so
            # the terminal gets its cursor back and the traceback starts on a line of its own.
            self.printer.end_text()
            raise
        self._finish(result)

    def _run(self, conversation: list[Any]) -> RunResult:
        # In deferred mode the agent has a store: the run is kept there as it goes.
        return self._show(self.agent.stream(conversation))

    def _show(self, events: Iterable[RunEvent]) -> RunResult:
        result: RunResult | None = None
        for event in events:
            self.printer(event)
            if isinstance(event, RunFinished):
                result = event.result
        assert result is not None, "a run ends with RunFinished"
        return result

    def _finish(self, result: RunResult) -> None:
        self.printer.end_text()
        self._counted_turns[result.state.run_id] = len(result.turns)
        self.session.add(self.printer.ledger)
        if result.status == "paused":
            self.paused_run = result.state.run_id
            self.messages = result.messages
            self._show_deferred(result.state.run_id)
        else:
            self.paused_run = None
            self._keep_history(result.messages, result.status)
            self._report_status(result.status, result.error)
            repeating = isinstance(result.exception, _REPEATING_ERRORS)
            self.blocked_by = result.exception if repeating else None
            if isinstance(result.exception, AuthenticationError):
                self.say(
                    "  Check ANTHROPIC_API_KEY (and ANTHROPIC_BASE_URL), or run with --offline.",
                    "yellow",
                )
        self.printer.footer(self.session)

    def _keep_history(self, messages: list[dict[str, Any]], status: str) -> None:
        """Keep an answered exchange; a reply that failed part-way is left out of the history
        (it may end in a tool call without its result), so the next message starts clean."""
        if status in ("completed", "truncated", "refused"):
            self.turns += 1
            self.messages = messages

    def _report_status(self, status: str, error: str | None) -> None:
        if status == "completed":
            return
        if status in ("failed", "limit_reached", "context_exceeded", "refused"):
            self.failures += 1
        because = f" — {terminal_safe(error)}" if error else ""
        self.say(f"  (the reply ended: {status}{because})", "yellow")

    # -- deferred approvals --------------------------------------------------------------

    def _show_deferred(self, run_id: str) -> None:
        assert self.deferral is not None
        store = self.deferral.store
        waiting = store.list_approvals(run_id=run_id)
        command = agentcore_command()
        where = shlex.quote(display_path(store.path))
        env_words = [f"{k}={shlex.quote(v)}" for k, v in self.deferral.environment.items()]
        self.say(f"  The run is paused and stored in {display_path(store.path)}.", "yellow")
        self.say("  Decide from any shell (approve, or deny with a reason):", "yellow")
        for approval in waiting:
            number = str(approval.approval_id)
            self.say_command([command, "approvals", "approve", number, "--store", where])
            self.say_command(
                [command, "approvals", "deny", number, "--reason", "'over the limit'",
                 "--store", where],
                "dim",
            )
        self.say("  then resume it:", "yellow")
        resume = [command, "runs", "resume", terminal_safe(run_id)]
        self.say_command([*env_words, *resume, "--agent", _AGENT_FACTORY, "--store", where])
        self.say(
            "  (or, once decided, type /pending here to resume it in this console)", "dim"
        )

    def _settle_paused_run(self) -> bool:
        """Pick up the paused run: resumed elsewhere, decided but not resumed, or waiting.

        Returns True when the conversation can go on.
        """
        try:
            return self._settle()
        except KeyboardInterrupt:
            self.printer.end_text()
            self.say("(interrupted: the paused run stays as it is)", "yellow")
        except AgentcoreError as error:
            self.printer.end_text()
            problem = terminal_safe(str(error))
            self.say(f"The paused run cannot be continued: {problem}; /new starts over.", "red")
        except BaseException:
            self.printer.end_text()
            raise
        return False

    def _settle(self) -> bool:
        assert self.deferral is not None and self.paused_run is not None
        store = self.deferral.store
        run_id = self.paused_run
        record = store.load_run(run_id)
        if record.status == "paused":
            if store.list_approvals(run_id=run_id):
                self.say(
                    "The last reply still waits for approval; decide it first (the commands "
                    "are below), or /new to start over.",
                    "yellow",
                )
                self._show_deferred(run_id)
                return False
            self.say("The approval was decided; resuming the run here.", "dim")
            self.printer.start_turn()
            result = self._show(self.agent.resume_stream(run_id))
            self._count_new_turns(run_id, result.turns, already_printed=True)
            self._finish_resumed(result.messages, result.status, result.error)
            return result.status != "paused"
        state = RunState.from_json(record.state_json)
        ended = terminal_safe(state.status)
        self.say(f"The paused run was resumed elsewhere and ended {ended}; its reply:")
        if state.output:
            answer = terminal_safe(state.output.strip(), multiline=True)
            self.say(self.style("assistant> ", "bold", "green") + answer)
        self.printer.start_turn()
        self._count_new_turns(run_id, state.turns, already_printed=False)
        self._finish_resumed(state.messages, state.status, state.error)
        return state.status != "paused"

    def _count_new_turns(
        self, run_id: str, turns: list[TurnRecord], *, already_printed: bool
    ) -> None:
        seen = self._counted_turns.get(run_id, 0)
        if not already_printed:
            for turn in turns[seen:]:
                self.printer.ledger.add_turn(turn, self.printer.prices)
        self._counted_turns[run_id] = len(turns)

    def _finish_resumed(
        self, messages: list[dict[str, Any]], status: str, error: str | None
    ) -> None:
        self.printer.end_text()
        self.session.add(self.printer.ledger)
        if status == "paused":
            assert self.paused_run is not None
            self.messages = messages
            self._show_deferred(self.paused_run)
        else:
            self.paused_run = None
            self._keep_history(messages, status)
            self._report_status(status, error)
        self.printer.footer(self.session)

    # -- leaving -------------------------------------------------------------------------

    def goodbye(self) -> None:
        """The session's totals, on the way out."""
        turns = f"{self.turns} message{'' if self.turns == 1 else 's'} answered"
        self.say(f"Goodbye. {turns} · {self.session.summary()}", "dim")
