"""What the model may read: allowed tables, allowed columns and secret columns."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from agentcore.errors import ConfigurationError

__all__ = ["DEFAULT_SECRET_COLUMNS", "AccessPolicy"]

DEFAULT_SECRET_COLUMNS: tuple[str, ...] = (
    "*password*",
    "*passwd*",
    "*secret*",
    "*token*",
    "*api_key*",
    "*apikey*",
    "*private_key*",
    "*credit_card*",
    "*card_number*",
    "*cvv*",
    "*ssn*",
)
"""Column-name patterns treated as secret unless ``secret_columns`` says otherwise.

Patterns are shell-style (``fnmatch``) and case-insensitive; a pattern with a dot
(``"users.email"``) matches ``table.column``, one without matches the column in any table.
"""


@dataclass(frozen=True, slots=True)
class AccessPolicy:
    """The tables and columns a database's tools may read.

    Names are compared case-insensitively, as SQL identifiers are. ``allowed_tables`` is
    ``None`` when every table is allowed; ``allowed_columns`` restricts only the tables it
    names; a column matching a secret pattern is never readable, whatever the other lists say.
    """

    allowed_tables: frozenset[str] | None
    allowed_columns: Mapping[str, frozenset[str]]
    secret_patterns: tuple[str, ...]

    @classmethod
    def build(
        cls,
        *,
        allow_tables: Iterable[str] | None,
        allow_columns: Mapping[str, Iterable[str]] | None,
        secret_columns: Iterable[str],
    ) -> AccessPolicy:
        """Normalise the user's lists, rejecting the shapes that are easy to get wrong."""
        if isinstance(allow_tables, str):
            raise ConfigurationError(
                f"allow_tables must be a list of table names, not the string {allow_tables!r}"
            )
        if isinstance(secret_columns, str):
            raise ConfigurationError(
                f"secret_columns must be a list of patterns, not the string {secret_columns!r}"
            )
        tables = None if allow_tables is None else frozenset(t.lower() for t in allow_tables)
        columns: dict[str, frozenset[str]] = {}
        for table, names in (allow_columns or {}).items():
            if isinstance(names, str):
                raise ConfigurationError(
                    f"allow_columns[{table!r}] must be a list of column names, not {names!r}"
                )
            if tables is not None and table.lower() not in tables:
                raise ConfigurationError(
                    f"allow_columns names table {table!r}, which is not in allow_tables"
                )
            columns[table.lower()] = frozenset(c.lower() for c in names)
        return cls(tables, columns, tuple(p.lower() for p in secret_columns))

    def is_table_allowed(self, table: str) -> bool:
        """Whether the model may read ``table`` at all."""
        return self.allowed_tables is None or table.lower() in self.allowed_tables

    def is_secret(self, table: str, column: str) -> bool:
        """Whether ``table.column`` matches a secret pattern."""
        column = column.lower()
        qualified = f"{table.lower()}.{column}"
        for pattern in self.secret_patterns:
            subject = qualified if "." in pattern else column
            if fnmatch.fnmatchcase(subject, pattern):
                return True
        return False

    def is_column_visible(self, table: str, column: str) -> bool:
        """Whether the values of ``table.column`` may reach the model."""
        if self.is_secret(table, column):
            return False
        allowed = self.allowed_columns.get(table.lower())
        return allowed is None or column.lower() in allowed

    def unknown_tables(self, existing: Iterable[str]) -> list[str]:
        """Allow-listed tables (and column-listed tables) that the database does not have."""
        known = {t.lower() for t in existing}
        named = set(self.allowed_tables or ()) | set(self.allowed_columns)
        return sorted(named - known)
