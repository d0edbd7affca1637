"""What the SQLite and PostgreSQL backends share: one connection used by one query at a time,
the access policy's view of the catalog, bounded fetching and dropping withheld columns."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Generic, Literal, Protocol, TypeAlias, TypeVar

from agentcore.errors import ConfigurationError, ToolError

from ._policy import AccessPolicy
from ._results import QueryResult

__all__ = [
    "ONE_STATEMENT_ONLY",
    "SerialBackend",
    "Table",
    "fetch_limited",
    "keep_columns",
    "quote_identifier",
    "time_limit_error",
]

Table: TypeAlias = tuple[str, Literal["table", "view"]]
"""A table or view of the database: its name and which of the two it is."""

ONE_STATEMENT_ONLY = "refused: send exactly one SELECT statement per call (no ';' chains)"


class _Closable(Protocol):
    def close(self) -> None: ...


C = TypeVar("C", bound=_Closable)


class SerialBackend(ABC, Generic[C]):
    """One connection, opened on first use, that runs one query at a time under a lock.

    A backend lists its tables with :meth:`_all_tables`; what the model may see of them is
    the access policy's to say, here, for both databases.
    """

    def __init__(self, policy: AccessPolicy, time_limit_s: float) -> None:
        self._policy = policy
        self._time_limit_s = time_limit_s
        self._lock = threading.Lock()
        self._connection: C | None = None

    def close(self) -> None:
        """Close the connection; a later call opens a new one."""
        with self._lock:
            self._drop_connection()

    def tables(self) -> list[Table]:
        """Allowed tables and views, by name (of those the connection can see)."""
        with self._lock:
            return [t for t in self._all_tables() if self._policy.is_table_allowed(t[0])]

    @abstractmethod
    def _all_tables(self) -> list[Table]:
        """Every table and view the connection can see, by name."""

    def _allowed_table(self, name: str) -> Table | None:
        """The table called ``name`` (in any case) if the policy allows it, else None."""
        found = [t for t in self._all_tables() if t[0].lower() == name.lower()]
        if not found or not self._policy.is_table_allowed(found[0][0]):
            return None
        return found[0]

    def _require_allow_listed(self, names: Iterable[str], where: str) -> None:
        """Close the connection and raise if an allow-listed table is not among ``names``."""
        unknown = self._policy.unknown_tables(names)
        if unknown:
            self._drop_connection()
            raise ConfigurationError(
                f"allow-listed tables not found in {where}: {', '.join(unknown)}"
            )

    def _drop_connection(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class _Cursor(Protocol):
    def fetchmany(self, size: int, /) -> Sequence[Any]: ...


def fetch_limited(
    cursor: _Cursor, row_limit: int, count_rest: Callable[[], tuple[int, bool]]
) -> tuple[list[tuple[Any, ...]], int, bool]:
    """At most ``row_limit`` rows, and how many more there are: ``(rows, more, exact)``.

    One row past the limit is fetched to learn whether there are more; only then is
    ``count_rest`` called, to count them from there (``exact`` False: at least ``more``).
    """
    rows = list(cursor.fetchmany(row_limit + 1))
    if len(rows) <= row_limit:
        return rows, 0, True
    more, exact = count_rest()
    return rows[:row_limit], more, exact


def keep_columns(
    names: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    keep: Sequence[int],
    more: int,
    exact: bool,
    withheld: tuple[str, ...],
) -> QueryResult:
    """The result with only the output columns at the ``keep`` indexes, in order."""
    if len(keep) == len(names):
        return QueryResult(tuple(names), tuple(rows), more, exact, withheld)
    return QueryResult(
        tuple(names[i] for i in keep),
        tuple(tuple(row[i] for i in keep) for row in rows),
        more,
        exact,
        withheld,
    )


def time_limit_error(time_limit_s: float) -> ToolError:
    """The error for a query stopped at its time limit, with what to try instead."""
    return ToolError(
        f"the query was stopped after the {time_limit_s:g} s time limit; "
        "filter on indexed columns, aggregate, or add LIMIT"
    )


def quote_identifier(name: str) -> str:
    """``name`` as a double-quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'
