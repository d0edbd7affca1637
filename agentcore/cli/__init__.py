"""The ``agentcore`` command: stored runs and their approvals, from any shell.
"""

from agentcore.cli._main import (
    SUBCOMMANDS,
    build_parser,
    main,
)

__all__ = [
    "SUBCOMMANDS",
    "build_parser",
    "main",
]
