"""SQLite, opened read-only, one query at a time under a time limit.

Three layers, each enough on its own to stop writes: the file is opened with ``mode=ro``,
``PRAGMA query_only`` is on, and the authorizer (``_authorizer.py``) denies every action
except SELECT, reads of allowed tables and calls to an allow-list of pure functions. A
progress handler stops a query at its deadline; output columns that hold nothing but the
NULLs the authorizer substituted for hidden columns are dropped from the result.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import math
import os
import sqlite3
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from agentcore.errors import ConfigurationError, ToolError

from ._authorizer import Authorizer
from ._backend import (
    ONE_STATEMENT_ONLY,
    SerialBackend,
    Table,
    fetch_limited,
    keep_columns,
    quote_identifier,
    time_limit_error,
)
from ._cte_names import defined_names
from ._policy import AccessPolicy
from ._results import ColumnInfo, ForeignKey, QueryResult, TableInfo

__all__ = ["SQLiteBackend", "quote_identifier"]

_PROGRESS_STEPS = 100
"""Virtual-machine steps between two checks of the time limit. One step may handle a value of
up to ``_MAX_VALUE_BYTES`` (sorting it, or writing it to a temporary index on disk), so a
thousand steps could run for many seconds past the limit; a hundred stay within about one."""
_COUNT_BATCH_ROWS = 500
_COUNT_SHARE_OF_TIME_LIMIT = 0.25
_MAX_VALUE_BYTES = 16_000_000
"""Largest string or blob a query may build or read; one call such as ``replace`` on a huge
string would otherwise allocate up to a gigabyte between two checks of the time limit."""


class SQLiteBackend(SerialBackend[sqlite3.Connection]):
    """Runs queries on one read-only SQLite connection, one query at a time."""

    dialect = "SQLite"
    placeholder_help = "write ? for each parameter, bound in order from params"

    def __init__(self, database: str | os.PathLike[str], policy: AccessPolicy, time_limit_s: float):
        super().__init__(policy, time_limit_s)
        self._uri, self._display = _read_only_uri(database)
        self._authorizer = Authorizer(policy)
        self._deadline = math.inf
        self._schema_version: int | None = None

    def table_info(self, name: str) -> TableInfo | None:
        """Visible columns and foreign keys of an allowed table, or None if there is none."""
        with self._lock:
            found = self._allowed_table(name)
            if found is None:
                return None
            self._refresh_schema()
            table, kind = found
            quoted = quote_identifier(table)
            columns = tuple(
                ColumnInfo(
                    name=row[1],
                    type=row[2],
                    nullable=not row[3],
                    primary_key=bool(row[5]),
                    default=row[4],
                )
                for row in self._internal(f"PRAGMA table_xinfo({quoted})")
                if row[6] != 1
                and self._policy.is_column_visible(table, row[1])
                and (table.lower(), row[1].lower()) not in self._authorizer.withheld_generated
            )
            return TableInfo(table, kind, columns, self._foreign_keys(table, quoted))

    def qualified(self, table: str) -> str:
        """``table`` quoted for use in SQL."""
        return quote_identifier(table)

    def verify_role(self) -> None:
        """Nothing to check: the authorizer applies the access policy to every statement."""

    def select(
        self,
        sql: str,
        params: Sequence[Any] | Mapping[str, Any],
        *,
        row_limit: int,
        count_ahead: int,
        trusted: bool = False,
    ) -> QueryResult:
        """Run one read-only query and fetch at most ``row_limit`` rows (plus a bounded count).

        ``trusted`` (SQL written by the developer) changes nothing here: the authorizer
        applies the same policy to every statement.
        """
        if isinstance(params, Mapping):
            params = {name: _bindable(value) for name, value in params.items()}
        else:
            params = [_bindable(value) for value in params]
        with self._lock:
            connection = self._open()
            self._refresh_schema()
            self._refuse_shadowing_names(sql)
            self._authorizer.reset()
            started = time.monotonic()
            self._deadline = started + self._time_limit_s
            cursor = connection.cursor()
            try:
                cursor.execute(sql, params)
                if cursor.description is None:
                    raise ToolError("refused: the statement returns no rows; only SELECT can run")
                rows, more, exact = fetch_limited(
                    cursor, row_limit, lambda: self._count_rest(cursor, count_ahead)
                )
                names = [d[0] for d in cursor.description]
            except sqlite3.Error as exc:
                raise self._explain(exc) from None
            finally:
                self._deadline = math.inf
                cursor.close()
            return _drop_withheld(names, rows, more, exact, tuple(self._authorizer.withheld))

    def _count_rest(self, cursor: sqlite3.Cursor, cap: int) -> tuple[int, bool]:
        count_until = time.monotonic() + self._time_limit_s * _COUNT_SHARE_OF_TIME_LIMIT
        self._deadline = min(self._deadline, count_until)
        return _count_rest(cursor, cap)

    def _explain(self, exc: sqlite3.Error) -> ToolError:
        message = str(exc)
        if self._authorizer.refusal is not None:
            return ToolError(f"refused: {self._authorizer.refusal}")
        if isinstance(exc, sqlite3.OperationalError) and message == "interrupted":
            return time_limit_error(self._time_limit_s)
        if "one statement at a time" in message:
            return ToolError(ONE_STATEMENT_ONLY)
        if "readonly" in message or "read-only" in message:
            return ToolError("refused: the database is read-only; only SELECT can run here")
        if isinstance(exc, sqlite3.ProgrammingError):
            return ToolError(f"bad parameters: {message}")
        return ToolError(f"SQL error: {message}")

    def _open(self) -> sqlite3.Connection:
        if self._connection is not None:
            return self._connection
        try:
            connection = sqlite3.connect(
                self._uri,
                uri=True,
                isolation_level=None,
                check_same_thread=False,
                cached_statements=0,
            )
        except sqlite3.Error as exc:
            raise ConfigurationError(
                f"cannot open SQLite database {self._display!r} read-only: {exc}"
            ) from exc
        try:
            connection.execute("PRAGMA query_only = ON")
            connection.execute("PRAGMA trusted_schema = OFF")
            connection.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, _MAX_VALUE_BYTES)
            connection.set_authorizer(self._authorizer)
            connection.set_progress_handler(self._past_deadline, _PROGRESS_STEPS)
            self._connection = connection
            self._schema_version = None
            names = [t[0] for t in self._all_tables()]
        except sqlite3.DatabaseError as exc:
            connection.close()
            self._connection = None
            raise ConfigurationError(
                f"{self._display!r} is not a readable SQLite database: {exc}"
            ) from exc
        self._require_allow_listed(names, repr(self._display))
        return connection

    def _refresh_schema(self) -> None:
        # Checked before every query: a table created by another process after we connected
        # must not pass for a common table expression, nor a changed view keep old grants.
        (version,) = self._internal("PRAGMA schema_version")[0]
        if version == self._schema_version:
            return
        rows = self._internal(
            "SELECT type, name FROM sqlite_schema WHERE type IN ('table', 'view')"
        )
        tables = frozenset(name.lower() for kind, name in rows if kind == "table")
        traces = {name.lower(): self._view_reads(name) for kind, name in rows if kind == "view"}
        self._authorizer.views_changed(tables, traces)
        self._authorizer.withheld_generated = frozenset(
            column for kind, name in rows if kind == "table" for column in self._generated(name)
        )
        self._schema_version = version

    def _generated(self, table: str) -> list[tuple[str, str]]:
        """The generated columns of ``table`` when it has a column the model may not see:
        their expressions may read it, and SQLite's authorizer is not told when they do."""
        if table.lower().startswith("sqlite_"):
            return []
        columns = self._internal(f"PRAGMA table_xinfo({quote_identifier(table)})")
        generated = [row[1] for row in columns if row[6] in (2, 3)]
        if not generated or all(
            self._policy.is_column_visible(table, row[1]) for row in columns if row[6] != 1
        ):
            return []
        return [(table.lower(), name.lower()) for name in generated]

    def _view_reads(self, view: str) -> list[tuple[str, str, str]]:
        """The reads the definition of ``view`` makes, as the authorizer reports them."""
        connection = self._open()
        recorded: list[tuple[str, str, str]] = []
        self._authorizer.recording = recorded
        try:
            connection.execute(f"EXPLAIN SELECT * FROM main.{quote_identifier(view)}").fetchall()
        except sqlite3.Error:
            return []  # a broken view grants nothing; reading it fails with SQLite's error
        finally:
            self._authorizer.recording = None
        return recorded

    def _refuse_shadowing_names(self, sql: str) -> None:
        if "as" not in sql.lower():
            return  # every definition needs the keyword AS
        for name in defined_names(sql):
            if name.lower() in self._authorizer.reserved_names:
                raise ToolError(
                    f"refused: the common table expression {name} has the name of a table or "
                    "view of the database; give it a name of its own"
                )

    def _past_deadline(self) -> int:
        return 1 if time.monotonic() > self._deadline else 0

    def _all_tables(self) -> list[Table]:
        rows = self._internal(
            "SELECT name, type FROM sqlite_schema WHERE type IN ('table', 'view') "
            "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
        )
        return [(row[0], "view" if row[1] == "view" else "table") for row in rows]

    def _foreign_keys(self, table: str, quoted: str) -> tuple[ForeignKey, ...]:
        grouped: dict[int, list[tuple[Any, ...]]] = {}
        for row in self._internal(f"PRAGMA foreign_key_list({quoted})"):
            grouped.setdefault(row[0], []).append(row)
        keys = []
        for rows in grouped.values():
            rows.sort(key=lambda r: r[1])
            target = rows[0][2]
            columns = tuple(r[3] for r in rows)
            if not self._policy.is_table_allowed(target) or not all(
                self._policy.is_column_visible(table, c) for c in columns
            ):
                continue
            references = tuple(r[4] if r[4] is not None else "(primary key)" for r in rows)
            keys.append(ForeignKey(columns, target, references))
        return tuple(keys)

    def _internal(self, sql: str) -> list[tuple[Any, ...]]:
        connection = self._open()
        self._authorizer.reset()
        self._authorizer.internal = True
        try:
            return connection.execute(sql).fetchall()
        finally:
            self._authorizer.internal = False


def _bindable(value: Any) -> Any:
    if value is None or isinstance(value, int | float | str | bytes):
        return value
    if isinstance(value, enum.Enum):
        return _bindable(value.value)
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    raise ToolError(f"cannot bind a parameter of type {type(value).__name__}; use a scalar value")


def _count_rest(cursor: sqlite3.Cursor, cap: int) -> tuple[int, bool]:
    # The row past the limit was already fetched; count on from there without keeping rows.
    counted = 1
    try:
        while counted < cap:
            batch = cursor.fetchmany(min(_COUNT_BATCH_ROWS, cap - counted))
            if not batch:
                return counted, True
            counted += len(batch)
        return counted, cursor.fetchone() is None
    except sqlite3.OperationalError:
        return counted, False


def _drop_withheld(
    names: list[str],
    rows: list[tuple[Any, ...]],
    more: int,
    exact: bool,
    withheld: tuple[str, ...],
) -> QueryResult:
    hidden_names = {w.rsplit(".", 1)[1].lower() for w in withheld}
    keep = [
        i
        for i, name in enumerate(names)
        if name.lower() not in hidden_names or any(row[i] is not None for row in rows)
    ]
    return keep_columns(names, rows, keep, more, exact, withheld)


def _read_only_uri(database: str | os.PathLike[str]) -> tuple[str, str]:
    text = os.fspath(database)
    if text.startswith("file:"):
        parts = urlsplit(text)
        query = parse_qsl(parts.query, keep_blank_values=True)
        if ("mode", "memory") in query:
            raise ConfigurationError("a read-only in-memory SQLite database would be empty")
        query = [(k, v) for k, v in query if k != "mode"] + [("mode", "ro")]
        return urlunsplit(parts._replace(query=urlencode(query))), text
    if text in ("", ":memory:"):
        raise ConfigurationError("a read-only in-memory SQLite database would be empty")
    path = Path(text).expanduser().resolve()
    if not path.is_file():
        raise ConfigurationError(f"SQLite database {text!r} not found (looked for {path})")
    return f"{path.as_uri()}?mode=ro", text
