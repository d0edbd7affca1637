"""The names a SQLite statement gives its common table expressions, found the way SQLite reads them.

The authorizer learns on whose behalf a table is read only by name: SQLite reports the name
of the view or common table expression being expanded. A common table expression named like
a table or view of the database could therefore pass for it, so such statements are refused
before they run. The scan follows SQLite's tokenizer (comments, the four quoting styles,
identifier characters) and reports every ``name [(columns)] AS [[NOT] MATERIALIZED] (``;
window definitions (``WINDOW w AS (``) match the same shape and are reported too, which can
only refuse more, never less.
"""

from __future__ import annotations

__all__ = ["defined_names"]

_SPACE = " \t\n\v\f\r"


def defined_names(sql: str) -> list[str]:
    """Every name defined with ``AS (`` in ``sql``, unquoted, in the order written."""
    tokens = _tokens(sql)
    names: list[str] = []
    for index, (kind, text) in enumerate(tokens):
        if kind != "word" or text.lower() != "as":
            continue
        after = index + 1
        if after < len(tokens) and _is_word(tokens[after], "not"):
            after += 1
        if after < len(tokens) and _is_word(tokens[after], "materialized"):
            after += 1
        if after >= len(tokens) or tokens[after] != ("punct", "("):
            continue
        before = index - 1
        if before >= 0 and tokens[before] == ("punct", ")"):
            before = _matching_open(tokens, before) - 1
        if before >= 0 and tokens[before][0] in ("word", "quoted"):
            names.append(tokens[before][1])
    return names


def _is_word(token: tuple[str, str], word: str) -> bool:
    return token[0] == "word" and token[1].lower() == word


def _matching_open(tokens: list[tuple[str, str]], close: int) -> int:
    depth = 0
    for index in range(close, -1, -1):
        if tokens[index] == ("punct", ")"):
            depth += 1
        elif tokens[index] == ("punct", "("):
            depth -= 1
            if depth == 0:
                return index
    return 0


def _is_identifier_char(ch: str) -> bool:
    return not ch.isascii() or ch.isalnum() or ch in "_$"


def _tokens(sql: str) -> list[tuple[str, str]]:
    """``(kind, text)`` pairs: ``word`` (bare), ``quoted`` (unquoted text) or ``punct``."""
    tokens: list[tuple[str, str]] = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in _SPACE:
            i += 1
        elif sql.startswith("--", i):
            newline = sql.find("\n", i)
            i = n if newline < 0 else newline + 1
        elif sql.startswith("/*", i):
            close = sql.find("*/", i + 2)
            i = n if close < 0 else close + 2
        elif ch in "'\"`":
            text, i = _quoted(sql, i, ch, ch)
            tokens.append(("quoted", text))
        elif ch == "[":
            text, i = _quoted(sql, i, "[", "]")
            tokens.append(("quoted", text))
        elif _is_identifier_char(ch):
            start = i
            while i < n and _is_identifier_char(sql[i]):
                i += 1
            tokens.append(("word", sql[start:i]))
        else:
            tokens.append(("punct", ch))
            i += 1
    return tokens


def _quoted(sql: str, start: int, open_quote: str, close_quote: str) -> tuple[str, int]:
    parts: list[str] = []
    i = start + 1
    while True:
        close = sql.find(close_quote, i)
        if close < 0:
            parts.append(sql[i:])
            return "".join(parts), len(sql)
        parts.append(sql[i:close])
        if open_quote != "[" and sql.startswith(close_quote * 2, close):
            parts.append(close_quote)
            i = close + 2
            continue
        return "".join(parts), close + 1
