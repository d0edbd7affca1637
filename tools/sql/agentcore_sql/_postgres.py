"""PostgreSQL through psycopg 3: read-only transactions, a statement timeout, one query.

Every query runs in a ``READ ONLY`` transaction (the session also defaults to read-only)
that is always rolled back, under ``statement_timeout``. The model's SQL becomes the body
of ``DECLARE … CURSOR FOR``, sent with the extended protocol: PostgreSQL itself refuses a
second statement, anything but a query, and data-modifying ``WITH``; rows are then fetched
in a bounded batch, so a huge result is never transferred.

Which tables and columns the model may read is enforced by the role's privileges: before
the model's own SQL runs (once per connection), the role is checked to be unable to read
anything the access policy hides, not to be a superuser or hold file-reading roles, and
unable to reach past its privileges through functions (``SECURITY DEFINER`` or untrusted
languages, signalling other sessions, server files), roles it may switch to, large objects
or foreign servers. Columns of a result that come straight from a hidden column are also
dropped, using the table and column each output column was read from. Session-level
advisory locks, the one thing a query can leave behind a rollback, are released after it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from agentcore.errors import ConfigurationError, ToolError

from ._backend import (
    ONE_STATEMENT_ONLY,
    SerialBackend,
    Table,
    fetch_limited,
    keep_columns,
    quote_identifier,
    time_limit_error,
)
from ._policy import AccessPolicy
from ._results import ColumnInfo, ForeignKey, QueryResult, TableInfo

if TYPE_CHECKING:
    import psycopg

__all__ = ["PostgresBackend"]

_CURSOR_NAME = "agentcore_select"
_COUNT_SHARE_OF_TIME_LIMIT = 0.25
_PRIVILEGED_ROLES = ("pg_read_server_files", "pg_write_server_files", "pg_execute_server_program")
_MAX_PROBLEMS_SHOWN = 10
_FUNCTIONS_LISTED_PER_SCHEMA = 3
"""More unsafe functions than this in one schema are fixed with one REVOKE for the schema."""
_FIRST_USER_OID = 16384
"""Objects with a lower OID are built into PostgreSQL (made by initdb); extensions and
everything users create get higher ones, whatever schema they live in."""
_SENSITIVE_ROLES = (
    "pg_signal_backend",
    "pg_read_all_data",
    "pg_write_all_data",
    "pg_read_all_stats",
    "pg_read_all_settings",
)
"""Predefined roles whose rights reach past the tables: signalling other roles' sessions,
reading every table, or other sessions' query texts and server settings."""
_FORBIDDEN_BUILTINS = (
    "pg_terminate_backend",
    "pg_cancel_backend",
    "pg_read_file",
    "pg_read_binary_file",
    "pg_stat_file",
    "pg_ls_dir",
    "pg_ls_logdir",
    "pg_ls_waldir",
    "pg_ls_tmpdir",
    "pg_ls_archive_statusdir",
    "pg_ls_logicalsnapdir",
    "pg_ls_logicalmapdir",
    "pg_ls_replslotdir",
    "lo_import",
    "lo_export",
    "pg_reload_conf",
    "pg_rotate_logfile",
    "pg_promote",
    "pg_switch_wal",
    "pg_create_restore_point",
    "pg_log_backend_memory_contexts",
    "pg_current_logfile",
    "pg_logical_emit_message",
)
"""Built-in functions the role must not be able to execute. ``pg_terminate_backend`` and
``pg_cancel_backend`` signal other sessions of the same role, and ``pg_logical_emit_message``
writes to the write-ahead log for logical decoding consumers whatever the rollback: PUBLIC may
execute these three unless revoked (the setup the README gives). The others read server files
or act on the server, and are revoked by default."""

_TABLES_SQL = """
SELECT c.relname, c.relkind IN ('v', 'm')
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND has_any_column_privilege(c.oid, 'SELECT')
ORDER BY c.relname
"""
_COLUMNS_SQL = """
SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
       COALESCE(a.attnum = ANY(i.indkey), false), pg_catalog.pg_get_expr(d.adbin, d.adrelid),
       has_column_privilege(a.attrelid, a.attnum, 'SELECT')
FROM pg_catalog.pg_attribute a
LEFT JOIN pg_catalog.pg_index i ON i.indrelid = a.attrelid AND i.indisprimary
LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""
_FOREIGN_KEYS_SQL = """
SELECT (SELECT array_agg(a.attname ORDER BY k.i) FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
        JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n),
       ref.relname, refns.nspname,
       (SELECT array_agg(a.attname ORDER BY k.i) FROM unnest(con.confkey) WITH ORDINALITY k(n, i)
        JOIN pg_catalog.pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n)
FROM pg_catalog.pg_constraint con
JOIN pg_catalog.pg_class ref ON ref.oid = con.confrelid
JOIN pg_catalog.pg_namespace refns ON refns.oid = ref.relnamespace
WHERE con.conrelid = %s::regclass AND con.contype = 'f'
ORDER BY con.conname
"""
_READABLE_SQL = """
SELECT n.nspname, c.relname, a.attname,
       has_table_privilege(c.oid, 'SELECT'),
       a.attname IS NOT NULL AND has_column_privilege(c.oid, a.attnum, 'SELECT')
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%%' AND n.nspname NOT LIKE 'pg\\_temp\\_%%'
"""
_UNSAFE_FUNCTIONS_SQL = """
WITH routine AS (
    SELECT p.oid, p.prosecdef AND NOT pg_catalog.pg_has_role(p.proowner, 'USAGE') AS definer,
           CASE WHEN l.lanpltrusted THEN NULL ELSE l.lanname END AS untrusted_language
    FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_language l ON l.oid = p.prolang
)
SELECT pg_catalog.format('%%I.%%I(%%s)', n.nspname, p.proname,
                         pg_catalog.replace(pg_catalog.oidvectortypes(p.proargtypes), ', ', ',')),
       r.definer, r.untrusted_language, p.prokind = 'a',
       pg_catalog.has_function_privilege('public', p.oid, 'EXECUTE'), n.nspname
FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
JOIN routine r ON r.oid = p.oid
LEFT JOIN pg_catalog.pg_aggregate a ON a.aggfnoid = p.oid
WHERE p.oid >= %(first_user_oid)s AND p.prokind <> 'p'
  AND pg_catalog.has_function_privilege(p.oid, 'EXECUTE')
  AND CASE WHEN p.prokind = 'a' THEN EXISTS (
          SELECT 1 FROM routine c
          WHERE c.oid >= %(first_user_oid)s
            AND c.oid = ANY(ARRAY[a.aggtransfn, a.aggfinalfn, a.aggcombinefn, a.aggserialfn,
                                  a.aggdeserialfn, a.aggmtransfn, a.aggminvtransfn,
                                  a.aggmfinalfn]::oid[])
            AND (c.definer OR c.untrusted_language IS NOT NULL))
      ELSE r.definer OR r.untrusted_language IS NOT NULL END
ORDER BY 1
"""
_FORBIDDEN_BUILTINS_SQL = """
SELECT pg_catalog.format('pg_catalog.%%I(%%s)', p.proname,
                         pg_catalog.replace(pg_catalog.oidvectortypes(p.proargtypes), ', ', ','))
FROM pg_catalog.pg_proc p
WHERE p.pronamespace = 'pg_catalog'::pg_catalog.regnamespace AND p.proname = ANY(%(names)s)
  AND pg_catalog.has_function_privilege(p.oid, 'EXECUTE')
ORDER BY 1
"""
_SWITCHABLE_ROLES_SQL = """
SELECT r.rolname, r.rolsuper, r.rolbypassrls, pg_catalog.pg_has_role(r.oid, 'USAGE'),
       r.rolname = ANY(%(sensitive)s)
FROM pg_catalog.pg_roles r
WHERE r.rolname <> current_user AND pg_catalog.pg_has_role(r.oid, 'MEMBER')
ORDER BY r.rolname
"""
_READABLE_LARGE_OBJECTS_SQL = """
SELECT m.oid FROM pg_catalog.pg_largeobject_metadata m
WHERE pg_catalog.current_setting('lo_compat_privileges')::boolean
   OR pg_catalog.pg_has_role(m.lomowner, 'USAGE')
   OR EXISTS (SELECT 1 FROM pg_catalog.aclexplode(m.lomacl) acl
              WHERE acl.privilege_type = 'SELECT'
                AND (acl.grantee = 0 OR pg_catalog.pg_has_role(acl.grantee, 'USAGE')))
ORDER BY m.oid LIMIT %(limit)s
"""
_OWNED_RELATIONS_SQL = """
SELECT pg_catalog.format('%%I.%%I', n.nspname, c.relname)
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid >= 16384 AND pg_catalog.pg_has_role(c.relowner, 'USAGE')
  AND n.nspname NOT LIKE 'pg\\_temp\\_%%' AND n.nspname NOT LIKE 'pg\\_toast%%'
ORDER BY 1 LIMIT %(limit)s
"""
_USABLE_SERVERS_SQL = """
SELECT s.srvname FROM pg_catalog.pg_foreign_server s
WHERE pg_catalog.has_server_privilege(s.oid, 'USAGE')
ORDER BY s.srvname
"""
_SOURCE_COLUMNS_SQL = """
SELECT c.oid, n.nspname, c.relname, a.attnum, a.attname
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
WHERE c.oid = ANY(%s)
"""


class PostgresBackend(SerialBackend["psycopg.Connection[Any]"]):
    """Runs queries on one PostgreSQL connection, one query at a time.

    Its tables are those of the configured schema that the role can read.
    """

    dialect = "PostgreSQL"
    placeholder_help = "write $1, $2, … for parameters, bound in order from params"

    def __init__(
        self,
        dsn: str,
        policy: AccessPolicy,
        time_limit_s: float,
        *,
        schema: str,
        connect_timeout_s: float,
    ) -> None:
        try:
            import psycopg  # noqa: F401
        except ImportError as exc:
            raise ConfigurationError(
                "PostgreSQL support needs psycopg 3: pip install 'agentcore-claude[postgres]'"
            ) from exc
        super().__init__(policy, time_limit_s)
        self._dsn = dsn
        self._schema = schema
        self._connect_timeout_s = connect_timeout_s
        self._verified = False
        self._sources: dict[int, tuple[str, dict[int, str]]] = {}

    def table_info(self, name: str) -> TableInfo | None:
        """Visible columns and foreign keys of an allowed table, or None if there is none."""
        with self._lock:
            found = self._allowed_table(name)
            if found is None:
                return None
            table, kind = found
            qualified = self.qualified(table)
            rows = self._catalog(_COLUMNS_SQL, (qualified,))
            columns = tuple(
                ColumnInfo(name=r[0], type=r[1], nullable=r[2], primary_key=r[3], default=r[4])
                for r in rows
                if r[5] and self._policy.is_column_visible(table, r[0])
            )
            keys = []
            for own, target, target_schema, references in self._catalog(
                _FOREIGN_KEYS_SQL, (qualified,)
            ):
                if target_schema != self._schema or not self._policy.is_table_allowed(target):
                    continue
                if all(self._policy.is_column_visible(table, c) for c in own):
                    keys.append(ForeignKey(tuple(own), target, tuple(references)))
            return TableInfo(table, kind, columns, tuple(keys))

    def qualified(self, table: str) -> str:
        """``schema.table`` with both parts quoted."""
        return f"{quote_identifier(self._schema)}.{quote_identifier(table)}"

    def verify_role(self) -> None:
        """Check that the role cannot read what the policy hides; raise ConfigurationError if so."""
        with self._lock:
            self._verify_role()

    def select(
        self,
        sql: str,
        params: Sequence[Any] | Mapping[str, Any],
        *,
        row_limit: int,
        count_ahead: int,
        trusted: bool = False,
    ) -> QueryResult:
        """Run one query in a read-only transaction and fetch at most ``row_limit`` rows.

        ``trusted`` marks SQL written by the developer; the model's SQL first requires the
        role check of :meth:`verify_role` to pass.
        """
        import psycopg

        with self._lock:
            if not trusted:
                self._verify_role()
            connection = self._open()
            cursor = psycopg.RawServerCursor(connection, _CURSOR_NAME, scrollable=False)
            try:
                values = list(params.values()) if isinstance(params, Mapping) else params
                cursor.execute(sql, values)
                rows, more, exact = fetch_limited(
                    cursor, row_limit, lambda: self._count_rest(connection, count_ahead)
                )
                result = cursor.pgresult
                names = [c.name for c in cursor.description or ()]
                sources = (
                    [(result.ftable(i), result.ftablecol(i)) for i in range(len(names))]
                    if result is not None
                    else []
                )
                hidden = self._hidden_outputs(connection, sources)
            except psycopg.Error as exc:
                if connection.broken:
                    self._drop_connection()
                    raise ToolError(f"the database connection failed: {_primary(exc)}") from None
                raise _explain(exc, self._time_limit_s) from None
            finally:
                self._end_transaction(connection)
                self._release_session_locks(connection)
            keep = [i for i in range(len(names)) if i not in hidden]
            withheld = tuple(dict.fromkeys(hidden.values()))
            return keep_columns(names, rows, keep, more, exact, withheld)

    def _count_rest(self, connection: psycopg.Connection[Any], cap: int) -> tuple[int, bool]:
        import psycopg

        budget_ms = max(1, int(self._time_limit_s * _COUNT_SHARE_OF_TIME_LIMIT * 1000))
        try:
            connection.execute(
                "SELECT pg_catalog.set_config('statement_timeout', %s, true)", (f"{budget_ms}",)
            )
            moved = connection.execute(f'MOVE FORWARD {int(cap)} FROM "{_CURSOR_NAME}"').rowcount
        except psycopg.errors.QueryCanceled:
            return 1, False
        return 1 + moved, moved < cap

    def _hidden_outputs(
        self, connection: psycopg.Connection[Any], sources: list[tuple[int, int]]
    ) -> dict[int, str]:
        unknown = sorted({oid for oid, _ in sources if oid and oid not in self._sources})
        if unknown:
            for oid, schema, table, attnum, column in connection.execute(
                _SOURCE_COLUMNS_SQL, (unknown,)
            ):
                name = table if schema == self._schema else f"{schema}.{table}"
                self._sources.setdefault(oid, (name, {}))[1][attnum] = column
        hidden: dict[int, str] = {}
        for index, (oid, attnum) in enumerate(sources):
            if not oid or oid not in self._sources:
                continue
            table, columns = self._sources[oid]
            column = columns.get(attnum)
            if column is not None and not self._policy.is_column_visible(table, column):
                hidden[index] = f"{table}.{column}"
        return hidden

    def _verify_role(self) -> None:
        self._open()  # a new connection is checked afresh: privileges may have changed
        if self._verified:
            return
        rows = self._catalog(
            "SELECT r.rolname, r.rolreplication, r.rolsuper, "
            + ", ".join(f"pg_has_role(current_user, '{r}', 'MEMBER')" for r in _PRIVILEGED_ROLES)
            + " FROM pg_catalog.pg_roles r WHERE r.rolname = current_user",
            (),
        )
        role, replication, is_superuser, *file_roles = rows[0]
        if is_superuser or any(file_roles):
            raise ConfigurationError(
                f"PostgreSQL role {role!r} is a superuser or may read server files, so SQL "
                "written by the model could read anything; connect run_select with a role "
                "that has SELECT only on what the model may see"
            )
        if replication:
            raise ConfigurationError(
                f"PostgreSQL role {role!r} has the REPLICATION attribute, so SQL written by "
                "the model could read every change to the database through logical decoding "
                "and create replication slots that outlive it; ALTER ROLE "
                f"{quote_identifier(role)} NOREPLICATION, or connect with another role"
            )
        problems: list[str] = []
        for schema, table, column, table_grant, column_grant in self._catalog(_READABLE_SQL, ()):
            name = table if schema == self._schema else f"{schema}.{table}"
            if not self._policy.is_table_allowed(name) or schema != self._schema:
                if table_grant or column_grant:
                    problems.append(f"table {schema}.{table}")
            elif column is not None and column_grant and not self._policy.is_column_visible(
                name, column
            ):
                problems.append(f"column {schema}.{table}.{column}")
        if problems:
            unique = list(dict.fromkeys(problems))
            shown = ", ".join(unique[:_MAX_PROBLEMS_SHOWN])
            extra = len(unique) - _MAX_PROBLEMS_SHOWN
            raise ConfigurationError(
                f"PostgreSQL role {role!r} can read what the model must not see: {shown}"
                + (f" and {extra} more" if extra > 0 else "")
                + "; REVOKE SELECT on those and GRANT SELECT (column, …) on the allowed "
                "columns only, because run_select relies on the role's privileges"
            )
        self._verify_reach(role)
        self._verified = True

    def _verify_reach(self, role: str) -> None:
        """Refuse a role whose rights reach past its table privileges.

        SQL from the model may call any function the role can execute: one that runs as
        its owner (SECURITY DEFINER) or in an untrusted language (C, internal, plpython3u…:
        dblink, file access) could read or write past the access policy, and built-in
        functions that signal other sessions or reach the server's files must be revoked.
        A role it may switch to (``set_config('role', …)``), a large object it may read, a
        table it owns (an owner may rewrite index summaries, outside any transaction) and a
        foreign server it may use (whose user mapping holds a password) are refused too.
        """
        problems: list[str] = []
        fixes: list[str] = []
        grantee = quote_identifier(role)
        functions = self._catalog(_UNSAFE_FUNCTIONS_SQL, {"first_user_oid": _FIRST_USER_OID})
        per_schema: dict[str, int] = {}
        for *_, schema in functions:
            per_schema[schema] = per_schema.get(schema, 0) + 1
        for signature, definer, language, aggregate, public, schema in functions:
            if aggregate:
                why = "an aggregate over such functions"
            elif definer:
                why = "SECURITY DEFINER"
            else:
                why = f"language {language}"
            problems.append(f"{signature} ({why})")
            target = f"FUNCTION {signature}"
            if per_schema[schema] > _FUNCTIONS_LISTED_PER_SCHEMA:
                target = f"ALL FUNCTIONS IN SCHEMA {quote_identifier(schema)}"
            fixes.append(f"REVOKE EXECUTE ON {target} FROM {'PUBLIC' if public else grantee}")
        names = {"names": list(_FORBIDDEN_BUILTINS)}
        forbidden = [row[0] for row in self._catalog(_FORBIDDEN_BUILTINS_SQL, names)]
        if forbidden:
            problems.extend(forbidden)
            fixes.append(
                f"REVOKE EXECUTE ON FUNCTION {', '.join(forbidden)} FROM PUBLIC, {grantee}"
            )
        for name, superuser, bypass_rls, inherited, sensitive in self._catalog(
            _SWITCHABLE_ROLES_SQL, {"sensitive": list(_SENSITIVE_ROLES)}
        ):
            if superuser or bypass_rls or sensitive or not inherited:
                problems.append(f"may switch to role {name}")
                fixes.append(f"REVOKE {quote_identifier(name)} FROM {grantee}")
        objects = [
            row[0]
            for row in self._catalog(
                _READABLE_LARGE_OBJECTS_SQL, {"limit": _MAX_PROBLEMS_SHOWN + 1}
            )
        ]
        if objects:
            problems.extend(f"large object {oid}" for oid in objects)
            fixes.append(
                "REVOKE SELECT ON LARGE OBJECT … FROM PUBLIC (and the role; it must not own "
                "any), with lo_compat_privileges off"
            )
        for (relation,) in self._catalog(_OWNED_RELATIONS_SQL, {"limit": _MAX_PROBLEMS_SHOWN}):
            problems.append(f"owns {relation}")
            fixes.append(f"ALTER … {relation} OWNER TO another role")
        for (server,) in self._catalog(_USABLE_SERVERS_SQL, ()):
            problems.append(f"foreign server {server}")
            fixes.append(
                f"REVOKE USAGE ON FOREIGN SERVER {quote_identifier(server)} FROM PUBLIC, {grantee}"
            )
        if not problems:
            return
        shown = ", ".join(problems[:_MAX_PROBLEMS_SHOWN])
        extra = len(problems) - _MAX_PROBLEMS_SHOWN
        raise ConfigurationError(
            f"PostgreSQL role {role!r} can do more than read its tables, so SQL written by "
            f"the model could escape the access policy: {shown}"
            + (f" and {extra} more" if extra > 0 else "")
            + ". Fix it as a superuser in this database (and GRANT back to the application "
            "roles that need them): "
            + "; ".join(dict.fromkeys(fixes))
        )

    def _all_tables(self) -> list[Table]:
        return [
            (name, "view" if is_view else "table")
            for name, is_view in self._catalog(_TABLES_SQL, (self._schema,))
        ]

    def _catalog(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any]
    ) -> list[tuple[Any, ...]]:
        import psycopg

        connection = self._open()
        try:
            return connection.execute(sql, params).fetchall()
        except psycopg.Error as exc:
            if not connection.broken:
                raise
            self._drop_connection()
            raise ToolError(f"the database connection failed: {_primary(exc)}") from None
        finally:
            self._end_transaction(connection)

    def _end_transaction(self, connection: psycopg.Connection[Any]) -> None:
        import psycopg

        if connection.closed:
            return
        try:
            connection.rollback()
        except psycopg.Error:
            self._drop_connection()

    def _release_session_locks(self, connection: psycopg.Connection[Any]) -> None:
        """Release advisory locks the query took at session level, which outlive a rollback."""
        import psycopg

        if connection.closed:
            return
        try:
            connection.autocommit = True
            connection.execute("SELECT pg_catalog.pg_advisory_unlock_all()")
            connection.autocommit = False
        except psycopg.Error:
            self._drop_connection()  # ending the session releases them

    def _open(self) -> psycopg.Connection[Any]:
        import psycopg

        if self._connection is not None and not self._connection.closed:
            return self._connection
        try:
            connection = psycopg.connect(
                self._dsn, autocommit=True, connect_timeout=max(1, round(self._connect_timeout_s))
            )
        except psycopg.Error as exc:
            raise ConfigurationError(f"cannot connect to PostgreSQL: {_primary(exc)}") from exc
        timeout_ms = max(1, int(self._time_limit_s * 1000))
        try:
            # Session defaults; anything the model's SQL changes is undone by the rollback
            # that ends every query, since settings made inside a transaction revert with it.
            connection.execute("SET default_transaction_read_only = on")
            connection.execute(f"SET statement_timeout = {timeout_ms}")
            connection.execute(f"SET idle_in_transaction_session_timeout = {timeout_ms * 5}")
            connection.autocommit = False
            connection.read_only = True
        except psycopg.Error as exc:
            connection.close()
            raise ConfigurationError(f"cannot configure the PostgreSQL session: {exc}") from exc
        self._connection = connection
        self._verified = False
        self._require_allow_listed(
            (name for name, _ in self._all_tables()),
            f"schema {self._schema!r}, or not readable by the role",
        )
        return connection


def _primary(exc: Exception) -> str:
    diag = getattr(exc, "diag", None)
    message = getattr(diag, "message_primary", None)
    return message if isinstance(message, str) and message else str(exc).strip()


def _explain(exc: Exception, time_limit_s: float) -> ToolError:
    import psycopg.errors as pg

    message = _primary(exc)
    if isinstance(exc, pg.QueryCanceled):
        return time_limit_error(time_limit_s)
    if isinstance(exc, pg.ReadOnlySqlTransaction):
        return ToolError(f"refused: the database is read-only, only SELECT can run ({message})")
    if isinstance(exc, pg.InsufficientPrivilege):
        return ToolError(
            f"refused: {message}; read only the tables list_tables shows and name only the "
            "columns describe_table shows (SELECT * fails where a column is withheld)"
        )
    if "multiple commands" in message:
        return ToolError(ONE_STATEMENT_ONLY)
    if isinstance(exc, pg.FeatureNotSupported):
        return ToolError(f"refused: {message} (only a single SELECT query can run here)")
    if isinstance(exc, pg.SyntaxError):
        return ToolError(f"SQL error: {message} (only a single SELECT query can run here)")
    if getattr(exc, "sqlstate", None) is None:
        return ToolError(f"bad parameters: {message}")
    return ToolError(f"SQL error: {message}")
