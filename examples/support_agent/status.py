"""The console's status line: one line at the bottom saying what the agent waits for.

On a colour terminal with ``rich`` installed, the line is a spinner and a text that rich
redraws a few times a second ("thinking… 3 s", "rate limited, retrying in 4 s (1/2)"), so
it counts down while the run is blocked in a model call; it is erased as soon as anything
else is printed. Anywhere else (a pipe, a file, ``NO_COLOR``, no rich) there is no line to
redraw: the status is not shown, and the printer writes the waits as ordinary lines.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TextIO

from agentcore.terminal import color_wanted, terminal_safe, terminal_width

__all__ = ["StatusLine"]

_REFRESH_PER_SECOND = 8


class StatusLine:
    """A status line that shows nothing: the plain fallback (see :meth:`for_stream`)."""

    live = False
    """Whether the line is drawn (and redrawn) on the terminal."""

    @staticmethod
    def for_stream(out: TextIO) -> StatusLine:
        """A live status line when ``out`` is a colour terminal and rich is installed, else
        the plain one."""
        if not color_wanted(out):
            return StatusLine()
        try:
            return LiveStatusLine(out)
        except ImportError:
            return StatusLine()

    def show(self, text: Callable[[], str]) -> None:
        """Show ``text()`` (called at each redraw, so it may count seconds) until cleared."""

    def clear(self) -> None:
        """Erase the line, before anything else is printed."""


class LiveStatusLine(StatusLine):
    """The status line drawn by rich's ``Live`` display, erased when cleared.

    Raises:
        ImportError: rich is not installed.
    """

    live = True

    def __init__(self, out: TextIO) -> None:
        from rich.console import Console
        from rich.spinner import Spinner

        self._out = out
        self._console = Console(
            file=out,
            width=terminal_width(out),
            markup=False,
            emoji=False,
            highlight=False,
            force_terminal=True,
        )
        self._spinner = Spinner("dots", style="cyan")
        self._text: Callable[[], str] = str
        self._live: Any = None

    def show(self, text: Callable[[], str]) -> None:
        from rich.live import Live

        self._text = text
        if self._live is not None:
            self._live.refresh()
            return
        self._console.width = terminal_width(self._out)
        self._live = Live(
            _Redrawn(self),
            console=self._console,
            transient=True,
            auto_refresh=True,
            refresh_per_second=_REFRESH_PER_SECOND,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._live.start()

    def clear(self) -> None:
        live, self._live = self._live, None
        if live is not None:
            live.stop()

    def render(self) -> Any:
        """The spinner with the current text, cut to one line of the terminal."""
        from rich.text import Text

        line = Text(terminal_safe(self._text()), style="dim", no_wrap=True, overflow="ellipsis")
        self._spinner.update(text=line)
        return self._spinner


class _Redrawn:
    """What ``Live`` draws: asks the status line again at every refresh."""

    def __init__(self, status: LiveStatusLine) -> None:
        self._status = status

    def __rich__(self) -> Any:
        return self._status.render()
