"""SQLDatabase: a database the model may read, with its access policy and output limits."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, Protocol

from agentcore.errors import ConfigurationError, ToolError
from agentcore.tools import Tool

from ._lookups import Lookup, lookup_tool
from ._policy import DEFAULT_SECRET_COLUMNS, AccessPolicy
from ._results import OutputFormat, QueryResult, TableInfo
from ._sqlite import SQLiteBackend, quote_identifier
from ._tools import database_tools

__all__ = ["SQLDatabase"]

_COUNT_AHEAD_ROWS = 1000
"""How far past the row limit a result is counted before saying "at least N more"."""
_MAX_SQL_CHARS = 20_000


class _Backend(Protocol):
    dialect: str
    placeholder_help: str

    def tables(self) -> list[tuple[str, Literal["table", "view"]]]: ...
    def table_info(self, name: str) -> TableInfo | None: ...
    def qualified(self, table: str) -> str: ...
    def verify_role(self) -> None: ...
    def close(self) -> None: ...
    def select(
        self,
        sql: str,
        params: Sequence[Any] | Mapping[str, Any],
        *,
        row_limit: int,
        count_ahead: int,
        trusted: bool = False,
    ) -> QueryResult: ...


class SQLDatabase:
    """Read-only lookup tools over one SQLite or PostgreSQL database.

    Build one with :meth:`sqlite` or :meth:`postgres`. :meth:`tools` gives the model
    ``list_tables``, ``describe_table`` and ``run_select``; :meth:`lookup` turns a query you
    write into a typed tool, for agents that should not write SQL at all.

    Everything this object runs, lookups included, obeys its access policy: tables outside
    ``allow_tables`` cannot be read, and columns outside ``allow_columns`` or matching
    ``secret_columns`` never reach the model. Read-only access is enforced by the database
    (SQLite's read-only mode and authorizer; PostgreSQL's read-only transactions and the
    role's privileges), not by inspecting the SQL text.
    """

    def __init__(
        self,
        backend: _Backend,
        *,
        row_limit: int,
        max_value_chars: int,
        output: OutputFormat,
        sample_rows: int,
    ) -> None:
        """Prefer :meth:`sqlite` and :meth:`postgres`, which build the backend."""
        if row_limit < 1:
            raise ConfigurationError(f"row_limit must be at least 1, not {row_limit}")
        if max_value_chars < 8:
            raise ConfigurationError(f"max_value_chars must be at least 8, not {max_value_chars}")
        if output not in ("json", "table"):
            raise ConfigurationError(f"output must be 'json' or 'table', not {output!r}")
        if sample_rows < 0:
            raise ConfigurationError(f"sample_rows must be 0 or more, not {sample_rows}")
        self._backend = backend
        self.row_limit = row_limit
        self.max_value_chars = max_value_chars
        self.output: OutputFormat = output
        self.sample_rows = sample_rows
        self._lookups: dict[str, Tool] = {}

    @classmethod
    def sqlite(
        cls,
        database: str | os.PathLike[str],
        *,
        allow_tables: Iterable[str] | None = None,
        allow_columns: Mapping[str, Iterable[str]] | None = None,
        secret_columns: Iterable[str] = DEFAULT_SECRET_COLUMNS,
        row_limit: int = 50,
        time_limit_s: float = 2.0,
        max_value_chars: int = 200,
        output: OutputFormat = "json",
        sample_rows: int = 3,
    ) -> SQLDatabase:
        """A SQLite file (a path or a ``file:`` URI), always opened read-only.

        Args:
            database: path to the file, or a ``file:`` URI (its ``mode`` becomes ``ro``).
            allow_tables: tables and views the model may read; None allows all of them.
            allow_columns: per table, the only columns the model may read.
            secret_columns: column patterns never returned (``"password*"``,
                ``"users.email"``); defaults to common credential names.
            row_limit: rows returned per query; the rest are counted and stated.
            time_limit_s: a query running longer is stopped.
            max_value_chars: longer values are cut and marked.
            output: ``"json"`` (compact columns + rows) or ``"table"`` (aligned text).
            sample_rows: rows shown by ``describe_table``.
        """
        _check_time_limit(time_limit_s)
        policy = AccessPolicy.build(
            allow_tables=allow_tables, allow_columns=allow_columns, secret_columns=secret_columns
        )
        backend = SQLiteBackend(database, policy, time_limit_s)
        return cls(
            backend,
            row_limit=row_limit,
            max_value_chars=max_value_chars,
            output=output,
            sample_rows=sample_rows,
        )

    @classmethod
    def postgres(
        cls,
        dsn: str,
        *,
        schema: str = "public",
        allow_tables: Iterable[str] | None = None,
        allow_columns: Mapping[str, Iterable[str]] | None = None,
        secret_columns: Iterable[str] = DEFAULT_SECRET_COLUMNS,
        row_limit: int = 50,
        time_limit_s: float = 2.0,
        max_value_chars: int = 200,
        output: OutputFormat = "json",
        sample_rows: int = 3,
        connect_timeout_s: float = 5.0,
    ) -> SQLDatabase:
        """A PostgreSQL database (needs the ``postgres`` extra: psycopg 3).

        Takes the same options as :meth:`sqlite`, plus the ``schema`` whose tables are
        listed. Connect with a role that may SELECT only what the model may see:
        ``run_select`` refuses to run for a superuser or a role that can read a hidden
        table or column, execute functions that reach past its privileges, or signal
        other sessions (the README gives the setup).
        """
        from ._postgres import PostgresBackend

        _check_time_limit(time_limit_s)
        policy = AccessPolicy.build(
            allow_tables=allow_tables, allow_columns=allow_columns, secret_columns=secret_columns
        )
        backend = PostgresBackend(
            dsn, policy, time_limit_s, schema=schema, connect_timeout_s=connect_timeout_s
        )
        return cls(
            backend,
            row_limit=row_limit,
            max_value_chars=max_value_chars,
            output=output,
            sample_rows=sample_rows,
        )

    @property
    def dialect(self) -> str:
        """``"SQLite"`` or ``"PostgreSQL"``."""
        return self._backend.dialect

    @property
    def placeholder_help(self) -> str:
        """How the model writes parameters in ``run_select`` for this dialect."""
        return self._backend.placeholder_help

    def tools(self, *, prefix: str = "") -> list[Tool]:
        """``list_tables``, ``describe_table`` and ``run_select`` for the model.

        Args:
            prefix: put before each tool name, to give an agent two databases.

        Raises:
            ConfigurationError: on PostgreSQL, the role could read past the access policy
                (see :meth:`verify_for_model_sql`), or the database cannot be reached.
        """
        self.verify_for_model_sql()
        return database_tools(self, prefix=prefix)

    def lookup(
        self,
        name: str,
        sql: str,
        *,
        description: str,
        params: Mapping[str, Any] | None = None,
        param_descriptions: Mapping[str, str] | None = None,
        row_limit: int | None = None,
    ) -> Tool:
        """Declare a named query as a typed tool; the model supplies only its parameters.

        ``sql`` uses ``:name`` placeholders on every dialect, and each needs a type in
        ``params``, which becomes the tool's JSON Schema (any type ``@tool`` accepts,
        ``Annotated`` constraints included)::

            order_by_id = db.lookup(
                "order_by_id",
                "SELECT id, status, total_cents FROM orders WHERE id = :order_id",
                params={"order_id": str},
                param_descriptions={"order_id": "The order number, like A-1001."},
                description="Find an order by its number.",
            )

        The tool is also kept for :meth:`lookup_tools`.

        Raises:
            ConfigurationError: placeholders and ``params`` disagree, or the name is taken.
        """
        if name in self._lookups:
            raise ConfigurationError(f"a lookup named {name!r} is already declared")
        if row_limit is not None and row_limit < 1:
            raise ConfigurationError(f"lookup {name!r}: row_limit must be at least 1")
        spec = Lookup(
            name,
            sql,
            params or {},
            description,
            row_limit or self.row_limit,
            numbered=self.dialect == "PostgreSQL",
        )
        built = lookup_tool(self, spec, param_descriptions or {})
        self._lookups[name] = built
        return built

    def lookup_tools(self) -> list[Tool]:
        """Every tool declared with :meth:`lookup`, in declaration order."""
        return list(self._lookups.values())

    def close(self) -> None:
        """Close the connection (a later query reconnects)."""
        self._backend.close()

    def __enter__(self) -> SQLDatabase:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def list_tables(self) -> str:
        """The tables and views the model may read, formatted for the model."""
        rows = tuple(self._backend.tables())
        result = QueryResult(("name", "kind"), rows)
        return result.format(self.output, max_value_chars=self.max_value_chars)

    def describe_table(self, table: str) -> str:
        """Columns, types, keys and a few sample rows of ``table``, formatted for the model.

        Raises:
            ToolError: there is no such table the model may read.
        """
        info = self._backend.table_info(table)
        if info is None:
            names = ", ".join(name for name, _ in self._backend.tables()) or "(none)"
            raise ToolError(f"no table named {table!r} is available; available tables: {names}")
        sample = self._sample(info)
        if self.output == "table":
            return _describe_as_text(info, sample, self.max_value_chars)
        body: dict[str, Any] = {
            "table": info.name,
            "kind": info.kind,
            "columns": [c.as_dict() for c in info.columns],
        }
        if info.foreign_keys:
            body["foreign_keys"] = [fk.as_text() for fk in info.foreign_keys]
        if sample is not None:
            body["sample_rows"] = json.loads(sample.to_json(max_value_chars=self.max_value_chars))
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"))

    def select(
        self, sql: str, params: Sequence[Any] = (), *, row_limit: int | None = None
    ) -> QueryResult:
        """Run SQL as the model would through ``run_select``: one read-only query.

        Raises:
            ToolError: the query was refused, failed or ran out of time; the message is
                written for the model.
        """
        if not isinstance(sql, str) or not sql.strip():
            raise ToolError("the SQL is empty; send one SELECT statement")
        if len(sql) > _MAX_SQL_CHARS:
            raise ToolError(f"the SQL is longer than {_MAX_SQL_CHARS} characters; simplify it")
        if isinstance(params, str | bytes) or not isinstance(params, Sequence):
            raise ToolError("params must be a list of values, one per placeholder")
        return self._backend.select(
            sql,
            list(params),
            row_limit=row_limit or self.row_limit,
            count_ahead=_COUNT_AHEAD_ROWS,
        )

    def run_select(self, sql: str, params: Sequence[Any] = ()) -> str:
        """:meth:`select`, formatted for the model."""
        result = self.select(sql, params)
        return result.format(self.output, max_value_chars=self.max_value_chars)

    def run_lookup(self, lookup: Lookup, arguments: Mapping[str, Any]) -> str:
        """Run a declared lookup with validated ``arguments``, formatted for the model."""
        sql, params = lookup.bind(arguments)
        result = self._backend.select(
            sql, params, row_limit=lookup.row_limit, count_ahead=_COUNT_AHEAD_ROWS, trusted=True
        )
        return result.format(self.output, max_value_chars=self.max_value_chars)

    def verify_for_model_sql(self) -> None:
        """Check, now, that SQL written by the model cannot read past the access policy.

        A no-op on SQLite (its authorizer checks every query); on PostgreSQL it checks the
        role's privileges and raises ConfigurationError naming what it could read or
        execute beyond them, with the ``REVOKE`` statements that fix it.
        """
        self._backend.verify_role()

    def _sample(self, info: TableInfo) -> QueryResult | None:
        if not self.sample_rows or not info.columns:
            return None
        columns = ", ".join(quote_identifier(c.name) for c in info.columns)
        sql = f"SELECT {columns} FROM {self._backend.qualified(info.name)} LIMIT {self.sample_rows}"
        return self._backend.select(
            sql, (), row_limit=self.sample_rows, count_ahead=0, trusted=True
        )


def _check_time_limit(time_limit_s: float) -> None:
    if not time_limit_s > 0:
        raise ConfigurationError(f"time_limit_s must be positive, not {time_limit_s}")


def _describe_as_text(info: TableInfo, sample: QueryResult | None, max_value_chars: int) -> str:
    columns = QueryResult(
        ("column", "type", "key", "not null", "default"),
        tuple(
            (
                c.name,
                c.type or "ANY",
                "primary" if c.primary_key else "",
                "yes" if not c.nullable else "",
                "" if c.default is None else c.default,
            )
            for c in info.columns
        ),
    )
    parts = [f"{info.kind} {info.name}", columns.to_table(max_value_chars=max_value_chars)]
    if info.foreign_keys:
        parts.append("foreign keys: " + "; ".join(fk.as_text() for fk in info.foreign_keys))
    if sample is not None:
        parts.append("sample rows:\n" + sample.to_table(max_value_chars=max_value_chars))
    return "\n".join(parts)
