"""Named ``:placeholders`` in developer-written SQL, found without touching literals or comments."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Placeholder", "find_placeholders", "to_numbered"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DOLLAR_TAG = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")


@dataclass(frozen=True, slots=True)
class Placeholder:
    """A ``:name`` in the SQL text, at ``start`` (the colon) up to ``end``."""

    name: str
    start: int
    end: int


def find_placeholders(sql: str) -> list[Placeholder]:
    """Every ``:name`` outside string literals, quoted identifiers, comments and ``::`` casts."""
    found: list[Placeholder] = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in "'\"`":
            i = _skip_quoted(sql, i, ch)
        elif sql.startswith("--", i):
            newline = sql.find("\n", i)
            i = n if newline < 0 else newline + 1
        elif sql.startswith("/*", i):
            close = sql.find("*/", i + 2)
            i = n if close < 0 else close + 2
        elif ch == "$" and (tag := _DOLLAR_TAG.match(sql, i)) and not _follows_word(sql, i):
            close = sql.find(tag.group(0), tag.end())
            i = n if close < 0 else close + len(tag.group(0))
        elif sql.startswith("::", i):
            i += 2
        elif ch == ":" and (name := _NAME.match(sql, i + 1)):
            found.append(Placeholder(name.group(0), i, name.end()))
            i = name.end()
        else:
            i += 1
    return found


def to_numbered(sql: str, placeholders: list[Placeholder], order: list[str]) -> str:
    """Rewrite ``:name`` as PostgreSQL's ``$n``, numbering names by their place in ``order``."""
    numbers = {name: index + 1 for index, name in enumerate(order)}
    parts: list[str] = []
    last = 0
    for ph in placeholders:
        parts.append(sql[last : ph.start])
        parts.append(f"${numbers[ph.name]}")
        last = ph.end
    parts.append(sql[last:])
    return "".join(parts)


def _skip_quoted(sql: str, start: int, quote: str) -> int:
    i = start + 1
    while True:
        close = sql.find(quote, i)
        if close < 0:
            return len(sql)
        if sql.startswith(quote * 2, close):
            i = close + 2  # a doubled quote is an escaped quote
            continue
        return close + 1


def _follows_word(sql: str, i: int) -> bool:
    return i > 0 and (sql[i - 1].isalnum() or sql[i - 1] == "_")
