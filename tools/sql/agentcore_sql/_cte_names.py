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

import re

__all__ = ["defined_names"]


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


_TOKEN = re.compile(
    r"""
      (?P<space>[ \t\n\v\f\r]+ | --[^\n]* | /\*.*?(?:\*/|\Z))
    | (?P<quoted>'(?:[^']|'')*'? | "(?:[^"]|"")*"? | `(?:[^`]|``)*`? | \[[^\]]*\]?)
    | (?P<word>[A-Za-z0-9_$\x80-\U0010ffff]+)
    | (?P<punct>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_CLOSING = {"'": "'", '"': '"', "`": "`", "[": "]"}


def _tokens(sql: str) -> list[tuple[str, str]]:
    """``(kind, text)`` pairs: ``word`` (bare), ``quoted`` (unquoted text) or ``punct``."""
    tokens: list[tuple[str, str]] = []
    for match in _TOKEN.finditer(sql):
        kind = match.lastgroup
        if kind == "space" or kind is None:
            continue
        text = match.group()
        if kind == "quoted":
            text = _unquote(text)
        tokens.append((kind, text))
    return tokens


def _unquote(text: str) -> str:
    close = _CLOSING[text[0]]
    body = text[1:-1] if len(text) > 1 and text.endswith(close) else text[1:]
    return body if close == "]" else body.replace(close * 2, close)
