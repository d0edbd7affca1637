"""``python -m examples.support_agent``: chat with the support agent (``make demo``).

Offline by default: without ``ANTHROPIC_API_KEY`` the replies come from the bundled emulator's
demo policy, and the screen says so. With standard input not a terminal and no script, the
built-in conversation runs, so the demo never waits for a keyboard that is not there.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TextIO

from agentcore import (
    ApprovalRequest,
    Approver,
    CallbackApprover,
    ConsoleApprover,
    Deny,
    RunStore,
)
from agentcore.emulator import Fault
from agentcore.emulator._faults import FaultSpecError
from agentcore.errors import AgentcoreError, ConfigurationError
from agentcore.log import configure
from agentcore.terminal import color_wanted, terminal_safe, terminal_width, wrap
from examples.support_agent.app import (
    DEFAULT_DATABASE,
    DEFAULT_MODEL,
    ENV_MODEL,
    ENV_OFFLINE,
    Backend,
    connect,
    create_support_agent,
    files_dir_for,
    load_prompt,
    manual_document,
    store_for_database,
    upload_manual,
)
from examples.support_agent.console import (
    CANNED_CONVERSATION,
    ApproveMode,
    ChatConsole,
    Deferral,
    display_path,
)
from examples.support_agent.data import REFUND_APPROVAL_ABOVE_CENTS
from examples.support_agent.render import Style


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m examples.support_agent",
        description="Chat with a customer-support agent over a real SQLite database. Runs "
        "offline against the bundled emulator unless ANTHROPIC_API_KEY is set.",
    )
    parser.add_argument(
        "--approve",
        choices=("console", "deferred", "auto-deny"),
        default="console",
        help="how sensitive actions are decided: at this console (default), later from the "
        "agentcore command line (deferred), or always denied",
    )
    parser.add_argument("--model", default=DEFAULT_MODEL, help="model id (default: %(default)s)")
    parser.add_argument(
        "--fallback",
        action="append",
        default=[],
        metavar="MODEL",
        help="model to try when the model is overloaded or unavailable (repeatable)",
    )
    parser.add_argument(
        "--db",
        type=Path,
        default=DEFAULT_DATABASE,
        help="company database, created with demo data on first run "
        "(default: examples/support_agent/data/company.db)",
    )
    parser.add_argument(
        "--reset", action="store_true", help="recreate the database and forget stored runs"
    )
    parser.add_argument(
        "--script", type=Path, metavar="FILE", help="send each line of FILE, then exit"
    )
    parser.add_argument(
        "--say", action="append", default=[], metavar="TEXT", help="send TEXT (repeatable)"
    )
    parser.add_argument(
        "--offline", action="store_true", help="use the emulator even with ANTHROPIC_API_KEY set"
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SPEC",
        help="offline: make the emulator misbehave, as `agentcore emulator --fault` does "
        "(429, 529, slow:2, reset…; repeatable), to watch the status line and the retries",
    )
    parser.add_argument("--log", type=Path, metavar="FILE", help="append JSON event logs to FILE")
    parser.add_argument("--no-color", action="store_true", help="plain output")
    return parser


def _reset(database: Path) -> None:
    for base in (database, store_for_database(database)):
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{base}{suffix}").unlink(missing_ok=True)


def _approver(mode: ApproveMode) -> Approver | None:
    if mode == "console":
        # The chat is one conversation of many runs: [a]lways lasts until /new.
        return ConsoleApprover(always_scope="conversation")
    if mode == "auto-deny":

        def deny(request: ApprovalRequest) -> Deny:
            return Deny(
                "this session denies every action that needs approval (--approve auto-deny)",
                arguments_hash=request.arguments_hash,
                automatic=True,
            )

        return CallbackApprover(deny)
    return None


def _inject_faults(backend: Backend, specs: list[str]) -> None:
    """Arm the offline emulator with the ``--fault`` specs.

    Raises:
        ConfigurationError: a spec is malformed, or the replies do not come from the emulator.
    """
    if not specs:
        return
    if backend.emulator is None:
        raise ConfigurationError("--fault works offline only (the emulator), not with the API")
    for spec in specs:
        try:
            fault, times = Fault.parse(spec)
        except FaultSpecError as error:
            raise ConfigurationError(str(error)) from None
        backend.emulator.faults.add(fault, times=times)


def _database_facts(database: Path) -> str:
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        (customers,) = connection.execute("SELECT count(*) FROM customers").fetchone()
        (orders,) = connection.execute("SELECT count(*) FROM orders").fetchone()
        (refunds,) = connection.execute("SELECT count(*) FROM refunds").fetchone()
    finally:
        connection.close()
    return f"{customers} customers, {orders} orders, {refunds} refunds"


def _banner(
    out: TextIO,
    style: Style,
    backend: Backend,
    database: Path,
    mode: ApproveMode,
    args: argparse.Namespace,
    *,
    interactive: bool,
) -> None:
    prompt = load_prompt()
    width = terminal_width(out)
    rule = style("─" * min(78, width), "dim") + "\n"

    def say(text: str, *styles: str, label: int = 0) -> None:
        """One banner entry, wrapped under its label (``label`` columns wide)."""
        indent = " " * (2 + label)
        for line in wrap(text, width, first="  ", indent=indent):
            out.write(style(line, *styles) + "\n")

    out.write(style("Northwind Devices support agent", "bold") + "  (an agentcore example)\n")
    out.write(rule)
    if backend.offline:
        say(f"{backend.description}.", "yellow", "bold")
        say(
            f"Tokens and dollars are the emulator's estimates at {args.model} prices. "
            "Set ANTHROPIC_API_KEY for real answers.",
            "yellow",
        )
    else:
        fallback = f" (fallback: {', '.join(args.fallback)})" if args.fallback else ""
        say(f"Model:     {backend.description}{fallback}", label=11)
    say(f"Database:  {display_path(database)} ({_database_facts(database)})", label=11)
    say(f"Prompt:    {prompt.name} version {prompt.version}", label=11)
    threshold = f"${REFUND_APPROVAL_ABOVE_CENTS / 100:.2f}"
    how = {
        "console": "asked here, at this console"
        if interactive
        else "denied: no one is at a terminal to answer (--approve deferred keeps them)",
        "deferred": "the run pauses; decide with the agentcore command line",
        "auto-deny": "always denied",
    }[mode]
    say(
        f"Approvals: refunds above {threshold}, cancellations of orders not yet shipped, "
        f"address changes and emails — {how}",
        label=11,
    )
    say("Try: What's the status of order A-1001? My email is ada.lovelace@example.com", label=5)
    out.write(rule)
    out.flush()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the support agent console; returns the exit status."""
    args = _parser().parse_args(argv)
    mode: ApproveMode = args.approve
    out = sys.stdout
    style = Style(not args.no_color and color_wanted(out))
    scripted = [*_script_lines(args.script), *args.say] if args.script or args.say else None
    interactive = scripted is None and sys.stdin.isatty()
    database = args.db
    if args.reset:
        _reset(database)
    with ExitStack() as cleanup:
        try:
            if args.log:
                log_file = cleanup.enter_context(args.log.open("a", encoding="utf-8"))
                configure(renderer="json", stream=log_file, force=True)
            backend = connect(offline=True if args.offline else None, model=args.model,
                              files_dir=files_dir_for(database))
            cleanup.callback(backend.close)
            _inject_faults(backend, args.fault)
            store = None
            if mode == "deferred":
                store_path = store_for_database(database)
                # The store sits beside the database, whose directory may not exist yet.
                store_path.parent.mkdir(parents=True, exist_ok=True)
                store = cleanup.enter_context(RunStore(store_path))
            approver = _approver(mode)
            support = create_support_agent(
                database,
                backend.client,
                approver=approver,
                store=store,
                model=args.model,
                fallback_models=args.fallback,
            )
            cleanup.callback(support.close)
        except AgentcoreError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        except OSError as error:
            where = f" {error.filename}" if error.filename else ""
            print(f"error: cannot open{where}: {error.strerror or error}", file=sys.stderr)
            return 2
        try:
            manual = manual_document(upload_manual(backend.client).id)
        except AgentcoreError as error:
            manual = None
            out.write(style(f"  The policy manual could not be uploaded "
                            f"({terminal_safe(str(error))}); the agent "
                            "reads policies through its lookup only.", "yellow") + "\n")
        _banner(out, style, backend, support.database, mode, args, interactive=interactive)
        deferral = None
        if store is not None:
            environment = {}
            if backend.offline and os.environ.get("ANTHROPIC_API_KEY"):
                environment[ENV_OFFLINE] = "1"
            if args.model != DEFAULT_MODEL:
                environment[ENV_MODEL] = args.model
            deferral = Deferral(store, environment)
        console = ChatConsole(
            support.agent,
            mode,
            out,
            style,
            deferral=deferral,
            opening=() if manual is None else (manual,),
            new_conversation=(
                approver.new_conversation if isinstance(approver, ConsoleApprover) else None
            ),
        )
        try:
            if interactive:
                out.write("Type /help for commands, /quit to leave.\n")
                return console.interact(input)
            if scripted is None:
                console.say(
                    "Standard input is not a terminal: running the built-in conversation. "
                    + (
                        "Actions that need approval are denied (no interactive approver). "
                        if mode == "console"
                        else ""
                    )
                    + "Run it in a terminal to chat.",
                    "dim",
                )
                scripted = list(CANNED_CONVERSATION)
            return console.run_script(scripted)
        except KeyboardInterrupt:
            out.write("\nInterrupted.\n")
            return 130


def _script_lines(path: Path | None) -> list[str]:
    if path is None:
        return []
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        print(f"error: cannot read script {path}: {error}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    sys.exit(main())
