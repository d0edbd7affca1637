"""Starting child processes in tests so that Ctrl-C reaches them whoever started the runner."""

from __future__ import annotations

import signal


def restore_default_sigint() -> None:
    """``preexec_fn`` for a child: SIGINT back to its default action.

    A runner started in the background (``cmd &``, some CI job runners) ignores SIGINT, and an
    ignored signal stays ignored across ``exec``: a child that should stop on Ctrl-C would
    then wait forever. With the default action the child's Python raises KeyboardInterrupt.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
