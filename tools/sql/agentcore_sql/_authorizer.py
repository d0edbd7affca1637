"""The SQLite authorizer: every action a statement may take is decided here, at prepare time.

It allows SELECT, reads of allowed tables and calls to an allow-list of pure functions, and
denies everything else. Reading a table that is not allowed is denied (the query fails with
the reason); reading a hidden column (secret, or outside the table's allowed columns) is
*ignored*: SQLite substitutes NULL, so ``SELECT *`` still works, while ``WHERE``,
``ORDER BY``, ``upper()`` or ``json_object()`` on the column see only NULL.
"""

from __future__ import annotations

import sqlite3

from ._policy import AccessPolicy

__all__ = ["SCHEMA_TABLES", "Authorizer"]

_SAFE_FUNCTIONS = frozenset(
    {
        "abs", "char", "coalesce", "concat", "concat_ws", "glob", "hex", "ifnull",
        "iif", "instr", "length", "like", "likelihood", "likely", "lower", "ltrim", "max",
        "min", "nullif", "octet_length", "quote", "random", "replace", "round",
        "rtrim", "sign", "soundex", "substr", "substring", "trim", "typeof", "unhex",
        "unicode", "unlikely", "upper", "avg", "count", "group_concat", "string_agg", "sum",
        "total", "date", "time", "datetime", "julianday", "unixepoch", "strftime", "timediff",
        "acos", "acosh", "asin", "asinh", "atan", "atan2", "atanh", "ceil", "ceiling", "cos",
        "cosh", "degrees", "exp", "floor", "ln", "log", "log10", "log2", "mod", "pi", "pow",
        "power", "radians", "sin", "sinh", "sqrt", "tan", "tanh", "trunc", "row_number",
        "rank", "dense_rank", "percent_rank", "cume_dist", "ntile", "lag", "lead",
        "first_value", "last_value", "nth_value", "json", "json_array", "json_array_length",
        "json_extract", "json_insert", "json_object", "json_patch", "json_remove",
        "json_replace", "json_set", "json_type", "json_valid", "json_quote",
        "json_group_array", "json_group_object", "->", "->>",
    }
)
"""Pure functions the model may call. Everything else is refused: ``load_extension``,
file access added by extensions (``readfile``, ``writefile``, ``edit``), ``fts3_tokenizer``,
``zeroblob``/``randomblob`` (which can allocate a gigabyte) and ``printf``/``format`` (a
padding width of a billion runs for many seconds inside one call, where the time limit
cannot interrupt it)."""

SCHEMA_TABLES = frozenset({"sqlite_master", "sqlite_schema"})
_INTROSPECTION_PRAGMAS = frozenset({"table_xinfo", "foreign_key_list", "schema_version"})

_ACTIONS: dict[int, str] = {
    sqlite3.SQLITE_CREATE_INDEX: "create an index",
    sqlite3.SQLITE_CREATE_TABLE: "create a table",
    sqlite3.SQLITE_CREATE_TEMP_INDEX: "create a temporary index",
    sqlite3.SQLITE_CREATE_TEMP_TABLE: "create a temporary table",
    sqlite3.SQLITE_CREATE_TEMP_TRIGGER: "create a temporary trigger",
    sqlite3.SQLITE_CREATE_TEMP_VIEW: "create a temporary view",
    sqlite3.SQLITE_CREATE_TRIGGER: "create a trigger",
    sqlite3.SQLITE_CREATE_VIEW: "create a view",
    sqlite3.SQLITE_DELETE: "delete rows",
    sqlite3.SQLITE_DROP_INDEX: "drop an index",
    sqlite3.SQLITE_DROP_TABLE: "drop a table",
    sqlite3.SQLITE_DROP_TEMP_INDEX: "drop a temporary index",
    sqlite3.SQLITE_DROP_TEMP_TABLE: "drop a temporary table",
    sqlite3.SQLITE_DROP_TEMP_TRIGGER: "drop a temporary trigger",
    sqlite3.SQLITE_DROP_TEMP_VIEW: "drop a temporary view",
    sqlite3.SQLITE_DROP_TRIGGER: "drop a trigger",
    sqlite3.SQLITE_DROP_VIEW: "drop a view",
    sqlite3.SQLITE_INSERT: "insert rows",
    sqlite3.SQLITE_PRAGMA: "run a PRAGMA",
    sqlite3.SQLITE_TRANSACTION: "control a transaction",
    sqlite3.SQLITE_UPDATE: "update rows",
    sqlite3.SQLITE_ATTACH: "attach or write another database file (ATTACH, VACUUM)",
    sqlite3.SQLITE_DETACH: "detach a database",
    sqlite3.SQLITE_ALTER_TABLE: "alter a table",
    sqlite3.SQLITE_REINDEX: "rebuild an index",
    sqlite3.SQLITE_ANALYZE: "analyze tables",
    sqlite3.SQLITE_CREATE_VTABLE: "create a virtual table",
    sqlite3.SQLITE_DROP_VTABLE: "drop a virtual table",
    sqlite3.SQLITE_SAVEPOINT: "use a savepoint",
}


_SCHEMA_WRITES: dict[int, str] = {
    sqlite3.SQLITE_INSERT: "create a table, view, index or trigger",
    sqlite3.SQLITE_DELETE: "drop a table, view, index or trigger",
    sqlite3.SQLITE_UPDATE: "use a virtual table (json_each, dbstat, pragma functions)",
}


class Authorizer:
    """The connection's authorizer: decides every action while a statement is prepared.

    ``internal`` is set only while our own introspection statements are prepared; the
    connection has no statement cache, so a statement prepared then is never reused for a
    model's query. ``recording``, when set, collects the reads a view's definition makes
    (see :meth:`views_changed`) and allows everything, for ``EXPLAIN`` only.

    A view listed in the access policy may read tables that are not: SQLite names the view
    (or common table expression) a read is made for, and a read is granted when that name
    is an allowed view and the view's own definition makes that very read. Common table
    expressions inside an allowed view are granted the same way, unless a view that is not
    allowed uses the same name. A view read through another view must itself be allowed.
    The model's own common table expressions may not take any of these names
    (:attr:`reserved_names`), so they cannot pass for a view.
    """

    def __init__(self, policy: AccessPolicy) -> None:
        self._policy = policy
        self.internal = False
        self.recording: list[tuple[str, str, str]] | None = None
        self.refusal: str | None = None
        self.withheld: dict[str, None] = {}
        self.schema_names: frozenset[str] = frozenset()
        """Lower-cased names of the database's tables and views, refreshed before each query."""
        self.view_names: frozenset[str] = frozenset()
        self.reserved_names: frozenset[str] = frozenset()
        """Names the statement's common table expressions may not take."""
        self._grants: dict[str, frozenset[tuple[str, str]]] = {}
        self._reached_through_views: frozenset[str] = frozenset()
        self.withheld_generated: frozenset[tuple[str, str]] = frozenset()
        """``(table, column)``, lower-cased: generated columns of tables with a column the
        model may not see. SQLite reports no read of the columns their expression uses, so
        they are withheld as if they were that column."""

    def reset(self) -> None:
        self.refusal = None
        self.withheld = {}

    def views_changed(
        self,
        tables: frozenset[str],
        traces: dict[str, list[tuple[str, str, str]]],
    ) -> None:
        """Take a new schema: table names, and for each view the reads its definition makes.

        Each trace holds ``(table, column, context)`` triples, lower-cased, where context is
        the view or common table expression SQLite reported the read for.
        """
        views = frozenset(traces)
        owners: dict[str, set[str]] = {}
        for view, trace in traces.items():
            for _, _, context in trace:
                owners.setdefault(context, set()).add(view)
        grants: dict[str, set[tuple[str, str]]] = {}
        for view, trace in traces.items():
            if not self._policy.is_table_allowed(view):
                continue
            for table, column, context in trace:
                if context in views:
                    if context != view:
                        continue  # a nested view grants only if it is allowed itself
                elif not all(self._policy.is_table_allowed(v) for v in owners[context]):
                    continue
                grants.setdefault(context, set()).add((table, column))
        self.schema_names = tables | views
        self.view_names = views
        self.reserved_names = self.schema_names | frozenset(owners)
        self._grants = {context: frozenset(reads) for context, reads in grants.items()}
        self._reached_through_views = frozenset(
            table for reads in grants.values() for table, _ in reads
        )

    def __call__(
        self, action: int, arg1: str | None, arg2: str | None, db: str | None, source: str | None
    ) -> int:
        if self.recording is not None:
            if action == sqlite3.SQLITE_READ and source:
                self.recording.append(((arg1 or "").lower(), (arg2 or "").lower(), source.lower()))
            return sqlite3.SQLITE_OK
        if action in (sqlite3.SQLITE_SELECT, sqlite3.SQLITE_RECURSIVE):
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_READ:
            return self._read(arg1 or "", arg2 or "", db, source)
        if action == sqlite3.SQLITE_FUNCTION:
            name = (arg2 or "").lower()
            if name in _SAFE_FUNCTIONS:
                return sqlite3.SQLITE_OK
            return self._deny(f"the function {name}() is not available")
        if self.internal and action == sqlite3.SQLITE_PRAGMA and arg1 in _INTROSPECTION_PRAGMAS:
            return sqlite3.SQLITE_OK
        what = _ACTIONS.get(action, f"perform action {action}")
        target = f" ({arg1})" if arg1 and action != sqlite3.SQLITE_TRANSACTION else ""
        if (arg1 or "").lower() in SCHEMA_TABLES | {"sqlite_temp_master"}:
            # CREATE and DROP are first seen as a write to the schema table, and so is the
            # first use of a built-in virtual table.
            what, target = _SCHEMA_WRITES.get(action, "change the database schema"), ""
        return self._deny(f"the statement tries to {what}{target}; only SELECT can run here")

    def _read(self, table: str, column: str, db: str | None, source: str | None) -> int:
        if db is not None and db.lower() != "main":
            return self._deny(f"only the main database can be read, not {db!r}")
        lowered = table.lower()
        if lowered in SCHEMA_TABLES and self.internal:
            return sqlite3.SQLITE_OK
        if lowered.startswith("sqlite_"):
            return self._deny(
                f"the internal table {table} is not available; use list_tables and describe_table"
            )
        if lowered not in self.schema_names:
            # A common table expression or subquery shows up here only as a whole-table read
            # (no column), for count(*); its rows come from reads that were checked already.
            # A column read of a name outside the schema is a built-in virtual table.
            if not column:
                return sqlite3.SQLITE_OK
            return self._deny(f"the table {table} is not available; see list_tables")
        if not self._policy.is_table_allowed(table) and not self._granted(
            lowered, column.lower(), source
        ):
            return self._deny(self._why_not(table, column, source))
        if column and (
            not self._policy.is_column_visible(table, column)
            or (lowered, column.lower()) in self.withheld_generated
        ):
            self.withheld[f"{table}.{column}"] = None
            return sqlite3.SQLITE_IGNORE
        return sqlite3.SQLITE_OK

    def _granted(self, table: str, column: str, source: str | None) -> bool:
        if source is None:
            return False
        return (table, column) in self._grants.get(source.lower(), ())

    def _why_not(self, table: str, column: str, source: str | None) -> str:
        if (
            source is not None
            and source.lower() in self.view_names
            and not self._policy.is_table_allowed(source)
        ):
            return f"the view {source} is not available; see list_tables"
        if not column and source is None and table.lower() in self._reached_through_views:
            return (
                f"the table {table} is not available; to read a view over it, use one of "
                "the view's columns other than the row id (count(column), not count(*))"
            )
        kind = "view" if table.lower() in self.view_names else "table"
        return f"the {kind} {table} is not available; see list_tables"

    def _deny(self, reason: str) -> int:
        if self.refusal is None:
            self.refusal = reason
        return sqlite3.SQLITE_DENY
