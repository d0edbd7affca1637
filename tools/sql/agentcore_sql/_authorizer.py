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
_INTROSPECTION_PRAGMAS = frozenset({"table_xinfo", "foreign_key_list"})

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
    model's query.
    """

    def __init__(self, policy: AccessPolicy) -> None:
        self._policy = policy
        self.internal = False
        self.refusal: str | None = None
        self.withheld: dict[str, None] = {}
        self.schema_names: frozenset[str] = frozenset()
        """Lower-cased names of the database's tables and views, refreshed before each query."""

    def reset(self) -> None:
        self.refusal = None
        self.withheld = {}

    def __call__(
        self, action: int, arg1: str | None, arg2: str | None, db: str | None, source: str | None
    ) -> int:
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
        if db not in (None, "main"):
            return self._deny(f"only the main database can be read, not {db!r}")
        lowered = table.lower()
        if lowered in SCHEMA_TABLES and self.internal:
            return sqlite3.SQLITE_OK
        if lowered.startswith("sqlite_"):
            return self._deny(
                f"the internal table {table} is not available; use list_tables and describe_table"
            )
        if lowered not in self.schema_names:
            # A common table expression shows up here only as a whole-table read (no column),
            # for count(*); its rows come from reads that were checked already. A column read
            # of a name outside the schema is a built-in virtual table such as dbstat.
            if not column:
                return sqlite3.SQLITE_OK
            return self._deny(f"the table {table} is not available; see list_tables")
        # A column read on behalf of an allowed view is allowed even when the view's base
        # table is not: allowing a view is how a developer exposes part of a table.
        # ``source`` names the view (or common table expression) a read happens for. A read
        # on behalf of an allowed view is allowed even when the view's base table is not:
        # allowing a view is how a developer exposes part of a table.
        view = source if source is not None and source.lower() in self.schema_names else None
        if view is not None and not self._policy.is_table_allowed(view):
            return self._deny(f"the view {view} is not available; see list_tables")
        if view is None and not self._policy.is_table_allowed(table):
            return self._deny(f"the table {table} is not available; see list_tables")
        if column and not self._policy.is_column_visible(table, column):
            self.withheld[f"{table}.{column}"] = None
            return sqlite3.SQLITE_IGNORE
        return sqlite3.SQLITE_OK

    def _deny(self, reason: str) -> int:
        if self.refusal is None:
            self.refusal = reason
        return sqlite3.SQLITE_DENY
