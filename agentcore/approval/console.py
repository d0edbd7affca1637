"""ConsoleApprover: a person approves tool calls at a terminal.

The approver shows the tool, its description, why approval is needed and the arguments as
pretty JSON (secret fields masked), then asks::

    Approve? [y]es / [n]o / [a]lways / [e]dit / [d]etails:

Anything but an explicit yes, always or a valid edit ends in a denial: Ctrl-C, end of input,
too many unrecognised answers, and a standard input that is not a terminal (so a service
started without one refuses instead of hanging).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, TextIO

import jsonschema

from agentcore.approval.requests import (
    REDACTED,
    AlwaysAllow,
    ApprovalRequest,
    Approve,
    Decision,
    Deny,
    Edit,
    restore_secrets,
)
from agentcore.terminal import terminal_safe

__all__ = ["ConsoleApprover"]

PROMPT = "Approve? [y]es / [n]o / [a]lways / [e]dit / [d]etails: "
_HINT = "Please answer y (yes), n (no), a (always for this tool), e (edit) or d (details)."
_ANSWERS = {
    "y": "yes", "yes": "yes",
    "n": "no", "no": "no",
    "a": "always", "always": "always",
    "e": "edit", "edit": "edit",
    "d": "details", "details": "details", "?": "details",
}  # fmt: skip


class _Stop(Exception):
    """The person left: Ctrl-C or end of input. Carries the denial reason."""


class ConsoleApprover:
    """Asks a person at a terminal to approve each tool call.

    Args:
        input: Where answers are read from (standard input by default).
        output: Where the request and prompts are written (standard output by default).
        editor: Command used to edit arguments, e.g. ``"vim"``; defaults to ``$VISUAL`` or
            ``$EDITOR``. Used only when ``input`` is a terminal; otherwise (or when neither is
            set) the new arguments are pasted as JSON, ending with an empty line.
        require_tty: Refuse (deny with reason ``"no interactive approver"``) without reading
            when ``input`` is not a terminal. Turn off only to drive it from a pipe in tests.
        max_invalid_answers: Unrecognised answers tolerated before the call is denied.
        color: Force colors on or off; by default they are used when ``output`` is a terminal
            and ``NO_COLOR`` is unset.
    """

    def __init__(
        self,
        input: TextIO | None = None,
        output: TextIO | None = None,
        *,
        editor: str | None = None,
        require_tty: bool = True,
        max_invalid_answers: int = 5,
        color: bool | None = None,
    ) -> None:
        self._input = input
        self._output = output
        self._editor = editor
        self._require_tty = require_tty
        self._max_invalid_answers = max_invalid_answers
        self._color = color

    # -- the conversation -----------------------------------------------------------------

    def decide(self, request: ApprovalRequest) -> Decision:
        """Show ``request`` and return the person's decision (a Deny unless they approve)."""
        stdin = self._input if self._input is not None else sys.stdin
        out = self._output if self._output is not None else sys.stdout
        session = _Session(
            request,
            stdin,
            out,
            editor=self._editor,
            max_invalid_answers=self._max_invalid_answers,
            color=self._color,
        )
        if self._require_tty and not _isatty(stdin):
            session.say(
                f"Approval needed for {terminal_safe(request.tool_name)!r}, but standard "
                "input is not a "
                "terminal: denied (no interactive approver).",
                "red",
            )
            return Deny("no interactive approver", arguments_hash=request.arguments_hash)
        try:
            decision = session.run()
        except _Stop as stop:
            decision = Deny(str(stop), arguments_hash=request.arguments_hash)
        session.report(decision)
        return decision


class _Session:
    def __init__(
        self,
        request: ApprovalRequest,
        stdin: TextIO,
        out: TextIO,
        *,
        editor: str | None,
        max_invalid_answers: int,
        color: bool | None,
    ) -> None:
        self.editor = editor
        self.max_invalid_answers = max_invalid_answers
        self.request = request
        self.stdin = stdin
        self.out = out
        if color is not None:
            self.color = color
        else:
            self.color = _isatty(out) and not os.environ.get("NO_COLOR")

    def style(self, text: str, *styles: str) -> str:
        if not self.color:
            return text
        codes = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "cyan": "36"}
        return "".join(f"\033[{codes[s]}m" for s in styles) + text + "\033[0m"

    def say(self, text: str = "", *styles: str) -> None:
        self.out.write(self.style(text, *styles) + "\n")
        self.out.flush()

    def ask(self, prompt: str) -> str:
        try:
            self.out.write(self.style(prompt, "bold"))
            self.out.flush()
            line = self.stdin.readline()
        except KeyboardInterrupt:
            self.out.write("\n")
            raise _Stop("interrupted at the approval prompt (Ctrl-C)") from None
        if not line:
            self.out.write("\n")
            raise _Stop("input ended before a decision was made")
        return line.rstrip("\r\n")

    def run(self) -> Decision:
        self.show_summary()
        digest = self.request.arguments_hash
        invalid = 0
        while True:
            raw = self.ask(PROMPT)
            answer = _ANSWERS.get(raw.strip().lower())
            if answer == "yes":
                return Approve(arguments_hash=digest)
            if answer == "always":
                return AlwaysAllow(arguments_hash=digest)
            if answer == "no":
                return Deny(self.ask_reason(), arguments_hash=digest)
            if answer == "details":
                self.show_details()
                continue
            if answer == "edit":
                edited = self.edit()
                if edited is not None:
                    return Edit(edited, arguments_hash=digest)
                continue
            invalid += 1
            if invalid >= self.max_invalid_answers:
                self.say(f"{invalid} unrecognised answers.", "red")
                return Deny("no valid answer was given", arguments_hash=digest)
            shown = raw.strip() or "an empty answer"
            self.say(f"Not understood: {shown!r}. {_HINT}", "yellow")

    def ask_reason(self) -> str:
        try:
            return self.ask("Reason, passed on to the model (optional, Enter to skip): ").strip()
        except _Stop:
            return ""

    def report(self, decision: Decision) -> None:
        if isinstance(decision, Deny):
            because = f": {terminal_safe(decision.reason)}" if decision.reason else ""
            self.say(f"Denied{because}.", "red", "bold")
        elif isinstance(decision, Edit):
            self.say("Approved with edited arguments.", "green", "bold")
        elif isinstance(decision, AlwaysAllow):
            tool_name = terminal_safe(self.request.tool_name)
            self.say(f"Approved; {tool_name} is allowed for this run.", "green")
        else:
            self.say("Approved.", "green", "bold")

    # -- what is shown --------------------------------------------------------------------

    def show_summary(self) -> None:
        request = self.request
        self.say()
        self.say("Approval needed", "yellow", "bold")
        self.say(f"  Tool:      {self.style(terminal_safe(request.tool_name), 'bold')}")
        summary = request.description.strip().split("\n\n", 1)[0].replace("\n", " ")
        if summary:
            self.say(f"  Purpose:   {terminal_safe(summary)}")
        self.say(f"  Why asked: {terminal_safe(request.reason)}")
        self.say("  Arguments:")
        for line in _pretty(request.display_arguments()).split("\n"):
            self.say(f"    {self.style(terminal_safe(line), 'cyan')}")

    def show_details(self) -> None:
        request = self.request
        self.say("Details", "bold")
        self.say(f"  Call id:        {terminal_safe(request.call_id)}")
        self.say(f"  Arguments hash: {terminal_safe(request.arguments_hash)}")
        self.say("  Description:")
        for line in (request.description.strip() or "(none)").split("\n"):
            self.say(f"    {terminal_safe(line)}")
        self.say("  Input schema:")
        for line in _pretty(request.input_schema or {}).split("\n"):
            self.say(f"    {terminal_safe(line)}", "dim")
        if request.secret_fields:
            fields = ", ".join(terminal_safe(name) for name in sorted(request.secret_fields))
            self.say(f"  Secret fields (masked): {fields}")

    # -- editing --------------------------------------------------------------------------

    def edit(self) -> dict[str, Any] | None:
        """Return valid edited arguments, or None to go back to the main prompt."""
        editor = self.editor or os.environ.get("VISUAL") or os.environ.get("EDITOR")
        if not _isatty(self.stdin):
            editor = None  # an editor needs the terminal; the arguments are pasted instead
        for _attempt in range(self.max_invalid_answers):
            if editor:
                text = self.run_editor(editor)
                if text is None:
                    return None
            else:
                text = self.read_pasted()
                if text is None:
                    self.say("Edit cancelled.")
                    return None
            arguments, problem = self.parse_edit(text)
            if arguments is not None:
                return arguments
            self.say(terminal_safe(problem, multiline=True), "red")
            if editor:
                again = self.ask("Edit again? [y/n]: ").strip().lower()
                if again not in ("y", "yes"):
                    return None
        self.say("Too many invalid edits; back to the question.", "yellow")
        return None

    def read_pasted(self) -> str | None:
        """The pasted JSON, or None when the first line is empty (back to the question)."""
        self.say(
            "Enter the new arguments as JSON, then an empty line (an empty line alone goes "
            f"back). Leave {REDACTED} values as they are to keep them.",
            "dim",
        )
        lines: list[str] = []
        while True:
            line = self.ask("... " if lines else ">>> ")
            if not line.strip():
                return "\n".join(lines) if lines else None
            lines.append(line)

    def run_editor(self, editor: str) -> str | None:
        document = _pretty(self.request.display_arguments()) + "\n"
        with tempfile.TemporaryDirectory(prefix="agentcore-edit-") as folder:
            path = Path(folder) / f"{self.request.tool_name}-arguments.json"
            path.write_text(document, encoding="utf-8")
            try:
                finished = subprocess.run([*shlex.split(editor), str(path)], check=False)
            except OSError as exc:
                self.say(f"Could not start the editor {editor!r}: {exc}", "red")
                return None
            if finished.returncode != 0:
                self.say(f"The editor exited with status {finished.returncode}; edit cancelled.")
                return None
            return path.read_text(encoding="utf-8")

    def parse_edit(self, text: str) -> tuple[dict[str, Any] | None, str]:
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            return None, f"Invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
        except RecursionError:
            return None, "Invalid JSON: nested too deeply."
        if not isinstance(value, dict):
            return None, f"The arguments must be a JSON object, not {type(value).__name__}."
        arguments = restore_secrets(value, self.request.arguments, self.request.secret_fields)
        if self.request.input_schema:
            validator = jsonschema.Draft202012Validator(self.request.input_schema)
            problems = sorted(
                validator.iter_errors(arguments), key=lambda error: list(error.absolute_path)
            )
            if problems:
                listed = "; ".join(_describe(problem) for problem in problems)
                return None, f"The edited arguments do not fit the tool: {listed}."
        return arguments, ""


def _describe(error: jsonschema.ValidationError) -> str:
    where = "/".join(str(part) for part in error.absolute_path)
    return f"{where or 'arguments'}: {error.message}"


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False, default=str)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False
