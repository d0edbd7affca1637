"""``agentcore approvals`` and ``agentcore runs``: decide and resume stored runs from a shell.

::

    agentcore approvals list --store runs.db
    agentcore approvals show 3 --store runs.db
    agentcore approvals approve 3 [--edit JSON] [--always] --store runs.db
    agentcore approvals deny 3 --reason "over the refund limit" --store runs.db
    agentcore runs list|show RUN_ID --store runs.db
    agentcore runs resume RUN_ID --agent myapp.agents:build_agent [--app-dir DIR] --store runs.db

``--agent`` names an Agent, a function returning one given the store (``build_agent(store)``),
or one taking no arguments. An agent built with its own store (``Agent(..., store=...)``) is
resumed in that store, which must be the ``--store`` file. The module is imported with the
current directory (or ``--app-dir``) first on ``sys.path``, so an app's modules load from
where the command is run, without installing them.
``--store`` defaults to ``$AGENTCORE_STORE``; who decided comes from ``--by`` or ``$USER``.
The store's key is read from its key file (``runs.db.key`` beside it, or ``--key-file`` /
``$AGENTCORE_STORE_KEY_FILE``), so the decisions recorded here are authenticated with the key
the application resumes with. Secret arguments are shown masked, in text and in JSON.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import re
import sqlite3
import sys
import traceback
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeAlias

import jsonschema

from agentcore.approval.requests import AlwaysAllow, Approve, Decision, Deny, Edit
from agentcore.errors import AgentcoreError, ConfigurationError
from agentcore.redaction import scrub_text
from agentcore.store.durable import resume_stored, same_store
from agentcore.store.runs import ApprovalRecord, RunStore
from agentcore.terminal import cell_width, color_wanted, terminal_safe, terminal_width
from agentcore.tools._tool import non_finite_number

__all__ = ["load_agent", "register_approvals", "register_runs"]

if TYPE_CHECKING:
    _Subparsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]


def _store_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store",
        default=os.environ.get("AGENTCORE_STORE"),
        help="the run store file (default: $AGENTCORE_STORE)",
    )
    parser.add_argument(
        "--key-file",
        default=os.environ.get("AGENTCORE_STORE_KEY_FILE"),
        help="the store's key file (default: $AGENTCORE_STORE_KEY_FILE, else STORE.key)",
    )


def _with_store(
    command: Callable[[argparse.Namespace, RunStore, TextIO], int],
) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        if not args.store:
            message = "error: give the run store with --store PATH (or $AGENTCORE_STORE)"
            print(message, file=sys.stderr)
            return 2
        if not Path(args.store).exists():
            # Opening would create an empty store and report "nothing here" for a mistyped path.
            message = f"error: no run store at {args.store!r} (check --store or $AGENTCORE_STORE)"
            print(message, file=sys.stderr)
            return 1
        try:
            with RunStore(args.store, key_file=args.key_file) as store:
                return command(args, store, sys.stdout)
        except AgentcoreError as exc:
            print(f"error: {terminal_safe(scrub_text(str(exc)), multiline=True)}", file=sys.stderr)
            return 1
        except sqlite3.DatabaseError as exc:
            message = f"error: run store {args.store!r} is damaged or unreadable: {exc}"
            print(terminal_safe(message), file=sys.stderr)
            return 1

    return handler


def register_approvals(subparsers: _Subparsers) -> None:
    """Add ``agentcore approvals list|show|approve|deny``."""
    parser = subparsers.add_parser(
        "approvals", help="list and decide tool calls waiting for approval"
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    listing = actions.add_parser("list", help="list approvals (pending ones by default)")
    listing.add_argument("--all", action="store_true", help="include decided approvals")
    listing.add_argument("--run", type=_run_id, help="only this run's approvals")
    listing.add_argument("--json", action="store_true", help="print JSON lines")
    _store_argument(listing)
    listing.set_defaults(handler=_with_store(_list_approvals))

    show = actions.add_parser("show", help="show one approval in full")
    show.add_argument("id", type=_approval_ref, help="approval number (or call id)")
    show.add_argument("--json", action="store_true", help="print JSON")
    _store_argument(show)
    show.set_defaults(handler=_with_store(_show_approval))

    approve = actions.add_parser("approve", help="approve a call (optionally edited)")
    approve.add_argument("id", type=_approval_ref, help="approval number (or call id)")
    how = approve.add_mutually_exclusive_group()
    how.add_argument("--edit", metavar="JSON", help="run with these arguments instead")
    how.add_argument("--always", action="store_true", help="allow this tool for the whole run")
    approve.add_argument("--by", help="who decides (default: $USER)")
    _store_argument(approve)
    approve.set_defaults(handler=_with_store(_approve))

    deny = actions.add_parser("deny", help="deny a call; the model is told the reason")
    deny.add_argument("id", type=_approval_ref, help="approval number (or call id)")
    deny.add_argument(
        "--reason", required=True, type=_words, help="why, in words the model can pass on"
    )
    deny.add_argument("--by", help="who decides (default: $USER)")
    _store_argument(deny)
    deny.set_defaults(handler=_with_store(_deny))


def register_runs(subparsers: _Subparsers) -> None:
    """Add ``agentcore runs list|show|resume``."""
    parser = subparsers.add_parser("runs", help="list, inspect and resume stored runs")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    listing = actions.add_parser("list", help="list stored runs, newest first")
    listing.add_argument("--status", help="only runs with this status (e.g. paused)")
    _store_argument(listing)
    listing.set_defaults(handler=_with_store(_list_runs))

    show = actions.add_parser("show", help="show a run: approvals and audit trail")
    show.add_argument("run_id", type=_run_id)
    _store_argument(show)
    show.set_defaults(handler=_with_store(_show_run))

    resume = actions.add_parser("resume", help="continue a run with the decisions recorded")
    resume.add_argument("run_id", type=_run_id)
    resume.add_argument(
        "--agent",
        required=True,
        metavar="MODULE:ATTRIBUTE",
        help="your Agent, or a function returning it (called with store=... if it takes it); "
        "an agent with its own store must keep it in the --store file",
    )
    resume.add_argument(
        "--app-dir",
        metavar="DIR",
        help="import the --agent module from this directory first (default: the current one)",
    )
    resume.add_argument("--by", help="audited as the decider for an attached approver")
    _store_argument(resume)
    resume.set_defaults(handler=_with_store(_resume))


_LARGEST_ID = 2**63 - 1
"""SQLite's largest integer."""
_CALL_ID = re.compile(r"[A-Za-z0-9_-]{1,256}")


def _approval_ref(text: str) -> int | str:
    """An approval number (ASCII digits, within SQLite's integers) or a tool_use call id."""
    if text.isascii() and text.isdigit():
        number = int(text)
        if number > _LARGEST_ID:
            raise argparse.ArgumentTypeError(
                f"approval number {text} is too large (at most {_LARGEST_ID})"
            )
        return number
    if _CALL_ID.fullmatch(text):
        return text
    raise argparse.ArgumentTypeError(
        f"'{terminal_safe(text)}' is neither an approval number (digits 0-9) nor a call id "
        "(letters, digits, '_' and '-')"
    )


def _run_id(text: str) -> str:
    """A run id: up to 256 printable characters without spaces."""
    if 0 < len(text) <= 256 and text.isprintable() and not any(c.isspace() for c in text):
        return text
    shown = terminal_safe(text[:80]) + ("..." if len(text) > 80 else "")
    raise argparse.ArgumentTypeError(
        f"'{shown}' is not a run id (up to 256 printable characters, no spaces)"
    )


def _words(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("give a reason the model can pass on to the user")
    return text.strip()


def _decided_by(args: argparse.Namespace) -> str:
    return str(args.by or os.environ.get("USER") or os.environ.get("USERNAME") or "unknown")


# -- approvals ------------------------------------------------------------------------------


def _approval_json(approval: ApprovalRecord) -> dict[str, Any]:
    return {
        "id": approval.approval_id,
        "run_id": approval.run_id,
        "call_id": approval.call_id,
        "tool": approval.tool_name,
        "arguments": approval.arguments,
        "arguments_hash": approval.arguments_hash,
        "reason": approval.reason,
        "status": approval.status,
        "created_at": approval.created_at,
        "decided_at": approval.decided_at,
        "decided_by": approval.decided_by,
        "decision": None if approval.decision is None else approval.decision.to_dict(),
    }


def _list_approvals(args: argparse.Namespace, store: RunStore, out: TextIO) -> int:
    approvals = store.list_approvals(status=None if args.all else "pending", run_id=args.run)
    if args.json:
        for approval in approvals:
            line = json.dumps(_approval_json(approval), ensure_ascii=False)
            out.write(terminal_safe(line) + "\n")
        return 0
    if not approvals:
        out.write("No approvals waiting.\n" if not args.all else "No approvals.\n")
        return 0
    rows = []
    for approval in approvals:
        arguments = terminal_safe(json.dumps(approval.arguments, ensure_ascii=False))
        rows.append(
            [
                str(approval.approval_id),
                terminal_safe(approval.status),
                terminal_safe(approval.tool_name),
                arguments if len(arguments) <= 48 else arguments[:45] + "...",
                terminal_safe(approval.run_id),
                _when(approval.created_at),
            ]
        )
    _table(out, ["ID", "STATUS", "TOOL", "ARGUMENTS", "RUN", "SINCE"], rows, squeeze=3)
    return 0


def _when(timestamp: str) -> str:
    """A stored ISO timestamp as every listing shows it: ``2026-10-19 14:03:59`` (UTC)."""
    return terminal_safe(timestamp[:19].replace("T", " "))


def _table(out: TextIO, header: list[str], rows: list[list[str]], *, squeeze: int) -> None:
    """Print ``rows`` under ``header`` (cells already terminal-safe).

    On a colour terminal with rich installed it is a rich table that fits the terminal's
    width (cutting column ``squeeze``, folding the others). Otherwise it is aligned plain
    columns two spaces apart, without trailing spaces, fitted to the width by cutting column
    ``squeeze`` down to its header's width (its cells end in ``...``): ids and times are
    never cut, so with long ones a line may stay wider.
    """
    width = terminal_width(out)
    if color_wanted(out) and _rich_table(out, width, header, rows, squeeze):
        return
    table = [header, *rows]
    widths = [max(cell_width(row[i]) for row in table) for i in range(len(header))]
    spare = width - (sum(widths) + 2 * (len(widths) - 1))
    if spare < 0:
        widths[squeeze] = max(len(header[squeeze]), widths[squeeze] + spare)
    for row in table:
        padded = (_fit(cell, size) for cell, size in zip(row, widths, strict=True))
        out.write("  ".join(padded).rstrip() + "\n")


def _fit(cell: str, size: int) -> str:
    """``cell`` padded to ``size`` columns, or cut to them with ``...`` (wide characters,
    such as CJK, take two columns)."""
    used = cell_width(cell)
    if used > size:
        kept: list[str] = []
        used = 0
        for char in cell:
            if used + cell_width(char) > max(size - 3, 1):
                break
            kept.append(char)
            used += cell_width(char)
        cell, used = "".join(kept) + "...", used + 3
    return cell + " " * (size - used)


def _rich_table(
    out: TextIO, width: int, header: list[str], rows: list[list[str]], squeeze: int
) -> bool:
    """Print the table with rich; False when rich is not installed. Cells are ``Text``,
    never markup."""
    try:
        from rich import box
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text
    except ImportError:
        return False
    table = Table(box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False)
    for index, name in enumerate(header):
        table.add_column(name, no_wrap=True, overflow="ellipsis" if index == squeeze else "fold")
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    console = Console(file=out, width=width, markup=False, emoji=False, highlight=False)
    console.print(table)
    return True


def _show_approval(args: argparse.Namespace, store: RunStore, out: TextIO) -> int:
    approval = store.get_approval(args.id)
    if args.json:
        document = json.dumps(_approval_json(approval), indent=2, ensure_ascii=False)
        out.write(terminal_safe(document, multiline=True) + "\n")
        return 0
    safe = terminal_safe
    out.write(f"Approval {approval.approval_id}: {safe(approval.status)}\n")
    out.write(f"  Tool:       {safe(approval.tool_name)}\n")
    if approval.description.strip():
        out.write(f"  Purpose:    {safe(approval.description.strip().split(chr(10))[0])}\n")
    out.write(f"  Why asked:  {safe(approval.reason)}\n")
    out.write(f"  Run:        {safe(approval.run_id)}\n  Call:       {safe(approval.call_id)}\n")
    out.write(f"  Asked at:   {safe(approval.created_at)}\n")
    out.write("  Arguments:\n")
    for line in json.dumps(approval.arguments, indent=2, ensure_ascii=False).split("\n"):
        out.write(f"    {safe(line)}\n")
    if approval.decision is not None:
        decided_by = safe(approval.decided_by or "")
        out.write(f"  Decision:   {safe(approval.decision.kind)} by {decided_by}")
        reason = getattr(approval.decision, "reason", "")
        out.write(f" ({safe(reason)})\n" if reason else "\n")
    return 0


def _parse_edit(text: str, approval: ApprovalRecord) -> dict[str, Any]:
    try:
        arguments = json.loads(text)
    except json.JSONDecodeError as exc:
        problem = f"{exc.msg} (column {exc.colno})"
        raise ConfigurationError(f"--edit is not valid JSON: {problem}") from exc
    except RecursionError:
        raise ConfigurationError("--edit is not valid JSON: it is nested too deeply") from None
    if not isinstance(arguments, dict):
        raise ConfigurationError("--edit must be a JSON object of arguments")
    non_finite = non_finite_number(arguments)
    if non_finite is not None:
        raise ConfigurationError(
            f"--edit has NaN or Infinity at {non_finite}, which no tool argument can hold"
        )
    if approval.input_schema:
        # Masked secret values stay masked here and are restored on resume, so a secret
        # field holding the mask is checked as if it held its real value.
        checked = {k: v for k, v in arguments.items() if k not in approval.secret_fields}
        schema = dict(approval.input_schema)
        schema["required"] = [
            name for name in schema.get("required", []) if name not in approval.secret_fields
        ]
        validator = jsonschema.Draft202012Validator(schema)
        problems = [
            f"{'/'.join(map(str, error.absolute_path)) or 'arguments'}: {error.message}"
            for error in validator.iter_errors(checked)
        ]
        if problems:
            raise ConfigurationError(
                f"--edit does not fit tool {approval.tool_name!r}: " + "; ".join(problems)
            )
    return arguments


def _record(store: RunStore, args: argparse.Namespace, decision: Decision, out: TextIO) -> int:
    approval = store.record_decision(args.id, decision, decided_by=_decided_by(args))
    safe = terminal_safe
    out.write(
        f"Approval {approval.approval_id} ({safe(approval.tool_name)}, run "
        f"{safe(approval.run_id)}): {safe(approval.status)} by {safe(approval.decided_by or '')}.\n"
    )
    pending = store.list_approvals(run_id=approval.run_id)
    if pending:
        out.write(f"{len(pending)} more approval(s) pending for this run.\n")
    else:
        out.write(
            f"Resume it with: agentcore runs resume {safe(approval.run_id)} --agent MODULE:ATTR\n"
        )
    return 0


def _approve(args: argparse.Namespace, store: RunStore, out: TextIO) -> int:
    approval = store.get_approval(args.id)
    decision: Decision
    if args.edit is not None:
        decision = Edit(_parse_edit(args.edit, approval))
    elif args.always:
        decision = AlwaysAllow()
    else:
        decision = Approve()
    return _record(store, args, decision, out)


def _deny(args: argparse.Namespace, store: RunStore, out: TextIO) -> int:
    return _record(store, args, Deny(args.reason), out)


# -- runs -----------------------------------------------------------------------------------


def _list_runs(args: argparse.Namespace, store: RunStore, out: TextIO) -> int:
    runs = store.list_runs(status=args.status)
    if not runs:
        out.write("No runs.\n")
        return 0
    waiting_by_run = Counter(approval.run_id for approval in store.list_approvals())
    rows = []
    for run in runs:
        waiting = waiting_by_run[run.run_id]
        rows.append(
            [
                terminal_safe(run.run_id),
                terminal_safe(run.status),
                _when(run.updated_at),
                f"{waiting} pending" if waiting else "",
            ]
        )
    _table(out, ["RUN", "STATUS", "UPDATED", "APPROVALS"], rows, squeeze=3)
    return 0


def _show_run(args: argparse.Namespace, store: RunStore, out: TextIO) -> int:
    run = store.load_run(args.run_id)
    safe = terminal_safe
    out.write(f"Run {safe(run.run_id)}: {safe(run.status)}\n")
    out.write(f"  Created:  {_when(run.created_at)}\n  Updated:  {_when(run.updated_at)}\n")
    approvals = store.list_approvals(status=None, run_id=run.run_id)
    if approvals:
        out.write("  Approvals:\n")
        for approval in approvals:
            tool_name, status = safe(approval.tool_name), safe(approval.status)
            out.write(f"    {approval.approval_id}  {tool_name}  {status}\n")
    out.write("  Audit log:\n")
    for entry in store.audit_log(run_id=run.run_id):
        parts = [_when(entry.at), entry.event]
        parts += [p for p in (entry.tool, entry.call_id, entry.decision) if p]
        if entry.decided_by:
            parts.append(f"by {entry.decided_by}")
        if entry.outcome:
            parts.append(f"-> {entry.outcome}")
        if entry.reason:
            parts.append(f"({entry.reason})")
        out.write("    " + safe("  ".join(parts)) + "\n")
    return 0


def load_agent(spec: str, store: RunStore, app_dir: str | os.PathLike[str] | None = None) -> Any:
    """Import ``module:attribute``: an Agent, or a function returning one.

    The module is looked for in ``app_dir`` (default: the current directory) before anywhere
    else on ``sys.path``, so an application run from its own directory needs no install.
    A function is called with ``store=store`` when it has a ``store`` parameter (so the app
    can build ``Agent(..., store=store)``), else with no arguments. An agent that keeps its
    runs in a store of its own is resumed there, so that store must be the file ``store`` is.

    Raises:
        ConfigurationError: the spec is malformed, ``app_dir`` is not a directory, the
            module or attribute is missing, or the agent keeps its runs in another store.
    """
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ConfigurationError(f"--agent {spec!r}: expected MODULE:ATTRIBUTE")
    directory = _put_first_on_path(app_dir)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        missing = isinstance(exc, ModuleNotFoundError) and f"{module_name}.".startswith(
            f"{exc.name}."
        )
        where = f" (looked in {directory} first; --app-dir names another directory)"
        raise ConfigurationError(
            f"--agent {spec!r}: cannot import {module_name!r}: {exc}{where if missing else ''}"
        ) from exc
    except Exception as exc:
        raise ConfigurationError(
            f"--agent {spec!r}: importing {module_name!r} failed: {_describe_failure(exc)}"
        ) from exc
    target = module
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise ConfigurationError(f"--agent {spec!r}: {module_name!r} has no {attribute!r}")
        target = getattr(target, part)
    if callable(target) and not hasattr(target, "resume"):
        parameters = inspect.signature(target).parameters
        try:
            target = target(store=store) if "store" in parameters else target()
        except Exception as exc:
            raise ConfigurationError(
                f"--agent {spec!r}: building the agent failed: {_describe_failure(exc)}"
            ) from exc
    if not hasattr(target, "resume_stream"):
        raise ConfigurationError(f"--agent {spec!r} is {type(target).__name__}, not an Agent")
    own = getattr(target, "store", None)
    if isinstance(own, RunStore) and own is not store and not same_store(own, store.path):
        raise ConfigurationError(
            f"--agent {spec!r} keeps its runs in {str(own.path)!r}, but --store is "
            f"{str(store.path)!r}; give the agent's store with --store (or build the agent "
            "with the store it is given)"
        )
    return target


def _put_first_on_path(app_dir: str | os.PathLike[str] | None) -> str:
    """Put ``app_dir`` (or the current directory) at the front of ``sys.path``; return it."""
    directory = os.path.abspath(os.getcwd() if app_dir is None else os.fspath(app_dir))
    if not os.path.isdir(directory):
        raise ConfigurationError(f"--app-dir {os.fspath(app_dir or '')!r} is not a directory")
    if sys.path[:1] != [directory]:
        if directory in sys.path:
            sys.path.remove(directory)
        sys.path.insert(0, directory)
        importlib.invalidate_caches()
    return directory


def _describe_failure(exc: BaseException) -> str:
    """``Type: message (file:line)``, the line being where the exception was raised."""
    where = ""
    if isinstance(exc, SyntaxError) and exc.filename:
        where = f" ({exc.filename}:{exc.lineno})"
    elif exc.__traceback__ is not None:
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        where = f" ({frame.filename}:{frame.lineno})"
    return f"{type(exc).__name__}: {exc}{where}"


def _resume(args: argparse.Namespace, store: RunStore, out: TextIO) -> int:
    agent = load_agent(args.agent, store, args.app_dir)
    result = resume_stored(agent, store, args.run_id, decided_by=_decided_by(args))
    out.write(f"Run {args.run_id}: {result.status}\n")
    if result.status == "paused":
        waiting = store.list_approvals(run_id=args.run_id)
        out.write(f"{len(waiting)} approval(s) pending; see: agentcore approvals list\n")
    elif result.output:
        out.write(terminal_safe(result.output.rstrip(), multiline=True) + "\n")
    if result.status in ("completed", "paused"):
        return 0
    because = f": {terminal_safe(scrub_text(result.error), multiline=True)}" if result.error else ""
    print(f"error: the run ended {result.status}{because}", file=sys.stderr)
    if result.status == "failed":
        print("The run is kept: fix the cause, then resume it again.", file=sys.stderr)
    return 1
