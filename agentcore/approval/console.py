"""ConsoleApprover: a person approves tool calls at a terminal.

The approver shows the tool, its description, why approval is needed and the arguments as
pretty JSON (secret fields masked; a string over 300 characters or an array or object past
20 items is shortened, in a form no JSON value takes, and ``[d]etails`` shows them in full),
then asks::

    Approve? [y]es / [n]o / [a]lways for this run / [e]dit / [d]etails:

On a colour terminal with ``rich`` installed (``pip install agentcore-claude[console]``) the
request is a panel with the arguments as highlighted JSON; otherwise it is plain text. Both
are wrapped to the terminal's width, between words, and every text from the model or the
tool goes through :func:`~agentcore.terminal.terminal_safe` first (and never through rich
markup), so none of it can drive the terminal.

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
from typing import Any, Literal, TextIO

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
from agentcore.terminal import color_wanted, is_terminal, terminal_safe, terminal_width, wrap

__all__ = ["ConsoleApprover"]

AlwaysScope = Literal["run", "conversation"]

_SCOPE_WORDS = {"run": "for this run", "conversation": "in this conversation"}
_LABEL_WIDTH = 11
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
        always_scope: What ``[a]lways`` covers, as the prompt says: ``"run"`` (the default:
            the run stops asking about that tool) or ``"conversation"``: this approver also
            remembers the tool and allows it in every later run without asking, until
            :meth:`new_conversation`. For a chat that starts one run per message.
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
        always_scope: AlwaysScope = "run",
    ) -> None:
        if always_scope not in _SCOPE_WORDS:
            raise ValueError(f"always_scope must be 'run' or 'conversation', not {always_scope!r}")
        self._input = input
        self._output = output
        self._editor = editor
        self._require_tty = require_tty
        self._max_invalid_answers = max_invalid_answers
        self._color = color
        self.always_scope: AlwaysScope = always_scope
        self._always: set[str] = set()

    @property
    def prompt(self) -> str:
        """The question asked after each request."""
        scope = _SCOPE_WORDS[self.always_scope]
        return f"Approve? [y]es / [n]o / [a]lways {scope} / [e]dit / [d]etails: "

    @property
    def allowed_tools(self) -> frozenset[str]:
        """Tools answered ``[a]lways`` in this conversation (empty for the ``"run"`` scope)."""
        return frozenset(self._always)

    def new_conversation(self) -> None:
        """Forget the tools allowed with ``[a]lways``: the next call of each asks again."""
        self._always.clear()

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
            prompt=self.prompt,
            scope=_SCOPE_WORDS[self.always_scope],
        )
        if request.tool_name in self._always:
            session.say(
                f"{terminal_safe(request.tool_name)}: allowed {session.scope} "
                "(you answered always).",
                "green",
            )
            return AlwaysAllow(arguments_hash=request.arguments_hash)
        if self._require_tty and not is_terminal(stdin):
            session.say(
                f"Approval needed for {terminal_safe(request.tool_name)!r}, but standard "
                "input is not a terminal: denied (no interactive approver).",
                "red",
            )
            return Deny(
                "no interactive approver",
                arguments_hash=request.arguments_hash,
                automatic=True,
            )
        try:
            decision = session.run()
        except _Stop as stop:
            decision = Deny(str(stop), arguments_hash=request.arguments_hash)
        if isinstance(decision, AlwaysAllow) and self.always_scope == "conversation":
            self._always.add(request.tool_name)
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
        prompt: str,
        scope: str,
    ) -> None:
        self.editor = editor
        self.max_invalid_answers = max_invalid_answers
        self.request = request
        self.stdin = stdin
        self.out = out
        self.prompt = prompt
        self.scope = scope
        self.color = color_wanted(out) if color is None else color
        self.width = terminal_width(out)

    def style(self, text: str, *styles: str) -> str:
        if not self.color:
            return text
        codes = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "cyan": "36"}
        return "".join(f"\033[{codes[s]}m" for s in styles) + text + "\033[0m"

    def say(self, text: str = "", *styles: str, indent: str | None = None) -> None:
        """Write ``text`` (already terminal-safe) wrapped to the width, in ``styles``; the
        lines the wrapping adds start with ``indent`` (default: the text's own)."""
        lead = text[: len(text) - len(text.lstrip(" "))]
        lines = wrap(text[len(lead) :], self.width, first=lead, indent=indent or lead)
        self.out.write("".join(self.style(line, *styles) + "\n" for line in lines))
        self.out.flush()

    def field(self, label: str, value: str, *styles: str) -> None:
        """``  Label:     value``, the value wrapped under itself."""
        lead = f"  {label + ':':<{_LABEL_WIDTH}}"
        lines = wrap(value, self.width, first=lead, indent=" " * len(lead))
        head = lines[0][len(lead):]
        self.out.write(lead + self.style(head, *styles) + "\n")
        for line in lines[1:]:
            self.out.write(self.style(line, *styles) + "\n")
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
            raw = self.ask(self.prompt)
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
            shown = terminal_safe(raw.strip()) or "an empty answer"
            hint = (
                f"Please answer y (yes), n (no), a (always: this tool {self.scope}), "
                "e (edit) or d (details)."
            )
            self.say(f"Not understood: {shown!r}. {hint}", "yellow")

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
            self.say(f"Approved; {tool_name} is allowed {self.scope}.", "green")
        else:
            self.say("Approved.", "green", "bold")

    # -- what is shown --------------------------------------------------------------------

    def show_summary(self) -> None:
        request = self.request
        summary = request.description.strip().split("\n\n", 1)[0].replace("\n", " ")
        rows = [("Tool", terminal_safe(request.tool_name))]
        if summary:
            rows.append(("Purpose", terminal_safe(summary)))
        rows.append(("Why asked", terminal_safe(request.reason)))
        shown, shortened = _abridged(request.display_arguments())
        arguments = terminal_safe(shown, multiline=True)
        note = "Long values are shortened (<…>): answer d to see them in full."
        self.say()
        if self.color and _show_panel(
            self.out, self.width, rows, arguments, note if shortened else None
        ):
            return
        self.say("Approval needed", "yellow", "bold")
        for label, value in rows:
            self.field(label, value, *(("bold",) if label == "Tool" else ()))
        self.say("  Arguments:")
        for line in arguments.split("\n"):
            self.say("    " + line, "cyan", indent="    " + line[: len(line) - len(line.lstrip())])
        if shortened:
            self.say("  " + note, "yellow", indent="  ")

    def show_details(self) -> None:
        request = self.request
        self.say("Details", "bold")
        self.say(f"  Call id:        {terminal_safe(request.call_id)}", indent="    ")
        self.say(f"  Arguments hash: {terminal_safe(request.arguments_hash)}", indent="    ")
        if _abridged(request.display_arguments())[1]:
            self.say("  Arguments (in full):")
            for line in _pretty(request.display_arguments()).split("\n"):
                self.say(f"    {terminal_safe(line)}", "cyan", indent="      ")
        self.say("  Description:")
        for line in (request.description.strip() or "(none)").split("\n"):
            self.say(f"    {terminal_safe(line)}", indent="    ")
        self.say("  Input schema:")
        for line in _pretty(request.input_schema or {}).split("\n"):
            self.say(f"    {terminal_safe(line)}", "dim", indent="      ")
        if request.secret_fields:
            fields = ", ".join(terminal_safe(name) for name in sorted(request.secret_fields))
            self.say(f"  Secret fields (masked): {fields}", indent="    ")

    # -- editing --------------------------------------------------------------------------

    def edit(self) -> dict[str, Any] | None:
        """Return valid edited arguments, or None to go back to the main prompt."""
        editor = self.editor or os.environ.get("VISUAL") or os.environ.get("EDITOR")
        if not is_terminal(self.stdin):
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


_LONG_TEXT = 300
"""Characters of a string (a key or a value) shown before it is shortened."""
_MANY_ITEMS = 20
"""Items of an array or members of an object shown before the rest are counted instead."""


def _abridged(value: Any) -> tuple[str, bool]:
    """``value`` as :func:`_pretty` shows it, with what would not fit on a screen shortened;
    and whether anything was.

    A long string becomes ``<text of 1,000,000 characters: "its start…">`` and items past
    the 20th of an array or object become ``<480 more items>``: angle brackets start no JSON
    value, so no argument can pass for a shortened one. Every key up to the 20th is shown,
    whatever comes before it, so a long first value cannot push the amount off the screen.
    """
    shortened: list[bool] = []

    def text(item: str) -> str:
        if len(item) <= _LONG_TEXT:
            return json.dumps(item, ensure_ascii=False)
        shortened.append(True)
        start = json.dumps(item[:_LONG_TEXT], ensure_ascii=False)[:-1]
        return f'<text of {len(item):,} characters: {start}…">'

    def render(item: Any, depth: int) -> str:
        pad, end = "  " * (depth + 1), "  " * depth
        if isinstance(item, str):
            return text(item)
        if isinstance(item, dict) and item:
            entries = list(item.items())
            lines = [
                f"{pad}{text(str(key))}: {render(member, depth + 1)}"
                for key, member in entries[:_MANY_ITEMS]
            ]
            more = len(entries) - _MANY_ITEMS
        elif isinstance(item, (list, tuple)) and item:
            lines = [f"{pad}{render(member, depth + 1)}" for member in item[:_MANY_ITEMS]]
            more = len(item) - _MANY_ITEMS
        else:
            return json.dumps(item, ensure_ascii=False, default=str)
        if more > 0:
            shortened.append(True)
            lines.append(f"{pad}<{more:,} more items>")
        opening, closing = ("{", "}") if isinstance(item, dict) else ("[", "]")
        return opening + "\n" + ",\n".join(lines) + "\n" + end + closing

    return render(value, 0), bool(shortened)


def _show_panel(
    out: TextIO, width: int, rows: list[tuple[str, str]], arguments: str, note: str | None
) -> bool:
    """Show the request as a rich panel, ``note`` under the arguments; False when rich is
    not installed.

    Every value is a ``rich.text.Text`` built from terminal-safe text: rich draws it, wraps
    it between words and highlights the JSON, but never reads it as markup.
    """
    try:
        from rich.console import Console
        from rich.highlighter import JSONHighlighter
        from rich.panel import Panel
        from rich.table import Table
        from rich.text import Text
    except ImportError:
        return False
    console = Console(
        file=out, width=width, markup=False, emoji=False, highlight=False, force_terminal=True
    )
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    for label, value in rows:
        grid.add_row(label, Text(value, style="bold" if label == "Tool" else ""))
    grid.add_row("Arguments", JSONHighlighter()(Text(arguments)))
    if note is not None:
        grid.add_row("", Text(note, style="yellow"))
    title = Text("Approval needed", style="bold yellow")
    console.print(Panel(grid, title=title, title_align="left", border_style="yellow"))
    return True
