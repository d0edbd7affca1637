"""Text from a model or a store, made safe to show on a terminal.

A terminal obeys what it prints: ``ESC [ 2 J`` clears the screen, ``ESC ] 0 ; … BEL`` sets
the window title, ``ESC ] 8`` makes a link whose target is hidden, ``U+009B`` starts a
control sequence, ``U+202E`` shows the text after it right to left, a carriage return
overwrites the line. Arguments, reasons and answers a model chose can carry any of these, so
a person approving a call could be shown something other than what runs.
:func:`terminal_safe` replaces every such character with a visible escape and keeps
ordinary text (accents, CJK, emoji) as it is.

The rest fits text to a terminal: :func:`terminal_width`, :func:`color_wanted` (a terminal
without ``NO_COLOR``), :func:`wrap` and :class:`StreamWrapper`, which break lines between
words, never inside one unless it is wider than the line.
"""

from __future__ import annotations

import os
import unicodedata

__all__ = [
    "StreamWrapper",
    "cell_width",
    "color_wanted",
    "is_terminal",
    "terminal_safe",
    "terminal_width",
    "wrap",
]

# Controls (C0, DEL, C1), format characters (bidi overrides and isolates, zero-width
# characters, soft hyphen, tags), line and paragraph separators, and lone surrogates.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(char: str) -> str:
    # JSON's own string escapes, so a JSON document stays valid and means the same value.
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def terminal_safe(text: str, *, multiline: bool = False) -> str:
    """Return ``text`` with every character a terminal would act on shown as an escape.

    The escapes are JSON's: ``ESC`` becomes ``\\u001b``, ``U+202E`` ``\\u202e``, a tab
    ``\\t``, so JSON text stays valid JSON with the same meaning. Every other character is
    kept. With ``multiline``, newlines are kept (for values shown over several lines); a
    carriage return is always escaped, since it rewrites the line.
    """
    if text.isprintable():
        return text
    kept = "\n" if multiline else ""
    parts: list[str] = []
    for char in text:
        if char != kept and unicodedata.category(char) in _UNSAFE_CATEGORIES:
            parts.append(_escape(char))
        else:
            parts.append(char)
    return "".join(parts)


# --- width, colour and wrapping -------------------------------------------------------------

_DEFAULT_WIDTH = 80
_MIN_WIDTH = 20


def is_terminal(stream: object) -> bool:
    """Whether ``stream`` is an interactive terminal (False for pipes, files, closed streams)."""
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError, OSError):
        return False


def color_wanted(stream: object) -> bool:
    """Whether to colour what goes to ``stream``: a terminal, ``NO_COLOR`` unset and ``TERM``
    not ``dumb`` (https://no-color.org)."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return is_terminal(stream)


def terminal_width(stream: object) -> int:
    """The columns ``stream`` shows: the terminal's width, else ``$COLUMNS``, else 80.

    A width of 0 (a terminal that does not know its size, ``COLUMNS=0``) counts as none.
    Never less than 20, so a wrapped line always has room for a few words.
    """
    width = 0
    if is_terminal(stream):
        try:
            width = os.get_terminal_size(stream.fileno()).columns  # type: ignore[attr-defined]
        except (AttributeError, ValueError, OSError):
            width = 0
    if width <= 0:
        columns = os.environ.get("COLUMNS", "")
        width = int(columns) if columns.isascii() and columns.isdigit() else 0
    if width <= 0:
        width = _DEFAULT_WIDTH
    return max(width, _MIN_WIDTH)


def cell_width(text: str) -> int:
    """How many terminal columns ``text`` takes: wide (CJK, most emoji) characters take two,
    combining marks none."""
    if text.isascii():
        return len(text)
    total = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        total += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return total


def _split_to_fit(word: str, room: int) -> tuple[str, str]:
    """The longest head of ``word`` that fits in ``room`` columns (empty when not even its
    first character does), and the rest."""
    used = 0
    for index, char in enumerate(word):
        used += cell_width(char)
        if used > room:
            return word[:index], word[index:]
    return word, ""


def wrap(text: str, width: int, *, indent: str = "", first: str | None = None) -> list[str]:
    """``text`` as lines of at most ``width`` columns, broken between words.

    ``first`` starts the first line (default ``indent``) and ``indent`` every line the
    wrapping adds. A word is cut only when it is wider than a whole line on its own. Spaces
    are kept except where a line is broken; a newline in ``text`` starts a line of its own.
    """
    lead = indent if first is None else first
    wrapper = StreamWrapper(width, indent=indent, column=cell_width(lead))
    body = wrapper.feed(text) + wrapper.end()
    return [line.rstrip(" ") for line in (lead + body).split("\n")]


class StreamWrapper:
    """Wraps text that arrives in pieces (a streamed answer) to ``width`` columns.

    :meth:`feed` returns what can be printed now: a word is held back until the space or
    newline after it arrives, since only then is it known whether it fits on the line; a word
    already wider than a line (a paragraph in a script written without spaces, a long URL)
    is cut anyway, so each of its lines is printed as soon as it is full.
    :meth:`end` returns the held word. Lines the wrapping adds start with ``indent`` (and
    drop the spaces at the break); ``column`` is where the cursor stands when the first piece
    arrives (after an ``assistant>`` prompt, say).
    """

    def __init__(self, width: int, *, indent: str = "", column: int = 0) -> None:
        self.width = max(width, _MIN_WIDTH)
        self.indent = indent
        self.column = column
        self._word: list[str] = []
        self._word_width = 0
        self._continues = False
        """The held characters continue a word whose start is printed: no break before them."""
        self._spaces = 0
        self._broken = False
        """The line was just broken by the wrapping: its leading spaces are dropped."""

    def feed(self, text: str) -> str:
        """Take more text; return what to print now."""
        out: list[str] = []
        for char in text:
            if char == "\n":
                out.append(self._flush())
                out.append("\n")
                self.column, self._spaces, self._broken = 0, 0, False
            elif char == " ":
                out.append(self._flush())
                if not self._broken:
                    self._spaces += 1
            else:
                self._word.append(char)
                self._word_width += cell_width(char)
                if self._word_width > self.width - cell_width(self.indent):
                    out.append(self._flush())
                    self._continues = True
        return "".join(out)

    def end(self) -> str:
        """The word held back, to print when the text is complete."""
        return self._flush()

    def _flush(self) -> str:
        if not self._word:
            return ""
        word = "".join(self._word)
        self._word, self._word_width = [], 0
        continues, self._continues = self._continues, False
        out: list[str] = []
        margin = cell_width(self.indent)
        size = cell_width(word)
        fits = self.column + self._spaces + size <= self.width
        if not fits and not continues and self.column > margin:
            out.append("\n" + self.indent)
            self.column, self._spaces = margin, 0
        out.append(" " * self._spaces)
        self.column += self._spaces
        self._spaces, self._broken = 0, False
        while self.column + size > self.width:
            head, word = _split_to_fit(word, self.width - self.column)
            if not head and self.column <= margin:
                # Not one character fits even a fresh line: it goes on one of its own.
                head, word = word[:1], word[1:]
            out.append(head + "\n" + self.indent)
            self.column = margin
            size = cell_width(word)
        out.append(word)
        self.column += size
        return "".join(out)
