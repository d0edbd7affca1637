"""The ``agentcore`` command line.

Each subcommand is registered by one small function that adds its parser and sets
``handler`` (a function of the parsed arguments returning the exit status); add a new
subcommand by writing such a function and listing it in :data:`SUBCOMMANDS`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from agentcore._version import __version__
from agentcore.cli._approvals import register_approvals, register_runs
from agentcore.cli._eval import register_eval

__all__ = ["SUBCOMMANDS", "build_parser", "main"]


def _register_emulator(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from agentcore.emulator import _server as emulator


    parser = subparsers.add_parser(
        "emulator",
        help="serve the Messages API on loopback (demo policy or a reply script)",
        description="Serve the Messages API on 127.0.0.1 for offline development and tests. "
        "The first line printed is the base URL.",
    )
    emulator.add_arguments(parser)
    parser.set_defaults(handler=emulator.run)


SUBCOMMANDS: tuple[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None], ...] = (
    _register_emulator,
    register_approvals,
    register_runs,
    register_eval,
)
"""Functions that each register one subcommand."""


def build_parser() -> argparse.ArgumentParser:
    """The ``agentcore`` argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="agentcore",
        description="Serve the offline Messages API emulator, decide and resume runs "
        "paused for approval, and evaluate prompt versions.",
        epilog="Run 'agentcore COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"agentcore {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in SUBCOMMANDS:
        register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``agentcore`` command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130

