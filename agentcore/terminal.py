"""Text from a model or a store, made safe to show on a terminal.

A terminal obeys what it prints: ``ESC [ 2 J`` clears the screen, ``ESC ] 0 ; … BEL`` sets
the window title, ``ESC ] 8`` makes a link whose target is hidden, ``U+009B`` starts a
control sequence, ``U+202E`` shows the text after it right to left, a carriage return
overwrites the line. Arguments, reasons and answers a model chose can carry any of these, so
a person approving a call could be shown something other than what runs.
:func:`terminal_safe` replaces every such character with a visible escape and keeps
ordinary text (accents, CJK, emoji) as it is.
"""

from __future__ import annotations

import unicodedata

__all__ = ["terminal_safe"]

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
