"""agentcore_sql on a real PostgreSQL server: read-only transactions, timeouts, role checks.

The server is the one named by ``AGENTCORE_TEST_POSTGRES_DSN`` (``.ci/postgres.sh`` sets it
in CI), or else a throwaway cluster started here with the local PostgreSQL binaries. The
tests are skipped, with the reason, only when neither is possible.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from agentcore_sql import QueryResult, SQLDatabase

from agentcore.errors import ConfigurationError, ToolError

psycopg = pytest.importorskip("psycopg", reason="psycopg (the 'postgres' extra) is not installed")
from psycopg import conninfo  # noqa: E402

SERVER_START_TIMEOUT_S = 60
CLUSTER_PREFIX = "agentcore-pg-"
OWNER_FILE = "owner.pid"
"""The pytest process that started the cluster; a cluster whose owner is gone is stopped."""

SCHEMA = """
CREATE TABLE customers (
    id integer PRIMARY KEY,
    name text NOT NULL,
    email text,
    password_hash text,
    tier text DEFAULT 'basic'
);
CREATE TABLE orders (
    id text PRIMARY KEY,
    customer_id integer NOT NULL REFERENCES customers(id),
    status text NOT NULL,
    total_cents integer NOT NULL,
    placed_on date NOT NULL
);
CREATE TABLE internal_notes (id integer PRIMARY KEY, body text);
CREATE SEQUENCE ticket_numbers;
CREATE VIEW order_totals AS
    SELECT c.name AS customer, count(*) AS orders, sum(o.total_cents) AS total_cents
    FROM orders o JOIN customers c ON c.id = o.customer_id GROUP BY c.name;
INSERT INTO customers VALUES
    (1, 'Ada Lovelace', 'ada@example.com', 'pbkdf2$ada', 'gold'),
    (2, 'Bob Stone', 'bob@example.com', 'pbkdf2$bob', 'basic');
INSERT INTO orders VALUES
    ('A-1001', 1, 'shipped', 4200, '2024-05-01'),
    ('A-1002', 1, 'processing', 1999, '2024-05-03'),
    ('A-1003', 2, 'refunded', 500, '2024-05-04');
INSERT INTO internal_notes VALUES (1, 'chargeback risk');
"""


def grants(role: str) -> str:
    return f"""
    GRANT USAGE ON SCHEMA public TO {role};
    GRANT SELECT ON orders, order_totals TO {role};
    GRANT SELECT (id, name, email, tier) ON customers TO {role};
    """


SIGNALLING_REVOKED = """
REVOKE EXECUTE ON FUNCTION pg_catalog.pg_terminate_backend(integer, bigint),
    pg_catalog.pg_cancel_backend(integer),
    pg_catalog.pg_logical_emit_message(boolean, text, text),
    pg_catalog.pg_logical_emit_message(boolean, text, bytea) FROM PUBLIC;
"""
"""The database setup the README asks for: other sessions of the role cannot be signalled,
nor anything written to the write-ahead log past the rollback."""


# --- the server -----------------------------------------------------------------------------


def _can_connect(dsn: str) -> str | None:
    try:
        psycopg.connect(dsn, connect_timeout=5).close()
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0]
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _postgres_bin_dir() -> Path | None:
    pg_config = shutil.which("pg_config")
    candidates = []
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10)
        candidates.append(Path(out.stdout.strip()))
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    for directory in candidates:
        if (directory / "initdb").is_file() and (directory / "pg_ctl").is_file():
            return directory
    return None


@dataclass
class _Cluster:
    directory: Path
    bin_dir: Path
    as_user: list[str]

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            subprocess.run(
                [*self.as_user, str(self.bin_dir / "pg_ctl"), "-D", str(self.directory / "data"),
                 "-m", "immediate", "-w", "-t", "20", "stop"],
                capture_output=True, timeout=30, check=False,
            )  # fmt: skip
        shutil.rmtree(self.directory, ignore_errors=True)


def _stop_orphaned_clusters(bin_dir: Path, as_user: list[str]) -> None:
    """Stop clusters left running by a test session that was killed before its teardown."""
    for directory in Path(tempfile.gettempdir()).glob(f"{CLUSTER_PREFIX}*"):
        try:
            owner = int((directory / OWNER_FILE).read_text())
            os.kill(owner, 0)
        except (OSError, ValueError) as exc:
            if isinstance(exc, ProcessLookupError):
                _Cluster(directory, bin_dir, as_user).stop()


def _start_cluster() -> tuple[str, _Cluster]:
    """initdb and start a cluster in a temporary directory on a free 127.0.0.1 port."""
    bin_dir = _postgres_bin_dir()
    if bin_dir is None:
        raise RuntimeError("no PostgreSQL server binaries (initdb, pg_ctl) on this machine")
    as_user: list[str] = []
    owner_ids: tuple[int, int] | None = None
    if os.geteuid() == 0:
        # initdb refuses to run as root; the Debian packages create a 'postgres' user.
        try:
            account = pwd.getpwnam("postgres")
        except KeyError as exc:
            raise RuntimeError("running as root and there is no 'postgres' user") from exc
        owner_ids = (account.pw_uid, account.pw_gid)
        runuser = shutil.which("runuser")
        if not runuser:
            raise RuntimeError("running as root and 'runuser' is not available")
        as_user = [runuser, "-u", "postgres", "--"]
    _stop_orphaned_clusters(bin_dir, as_user)
    directory = Path(tempfile.mkdtemp(prefix=CLUSTER_PREFIX))
    (directory / OWNER_FILE).write_text(str(os.getpid()))
    if owner_ids is not None:
        os.chown(directory, *owner_ids)
    cluster = _Cluster(directory, bin_dir, as_user)
    port = _free_port()
    data = directory / "data"
    try:
        subprocess.run(
            [*as_user, str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres",
             "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"],
            capture_output=True, timeout=SERVER_START_TIMEOUT_S, check=True,
        )  # fmt: skip
        options = (
            f"-c listen_addresses=127.0.0.1 -p {port} -k {directory} "
            "-c fsync=off -c full_page_writes=off"
        )
        subprocess.run(
            [*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(directory / "log"),
             "-o", options, "-w", "-t", str(SERVER_START_TIMEOUT_S), "start"],
            capture_output=True, timeout=SERVER_START_TIMEOUT_S + 10, check=True,
        )  # fmt: skip
    except (subprocess.SubprocessError, OSError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        cluster.stop()
        reason = f"could not start a PostgreSQL cluster: {exc} {detail[-300:]!r}"
        raise RuntimeError(reason) from exc
    return f"host=127.0.0.1 port={port} user=postgres dbname=postgres", cluster


@pytest.fixture(scope="session")
def admin_dsn() -> Iterator[str]:
    """A superuser DSN: the CI server if configured, else a throwaway local cluster."""
    reasons = []
    configured = os.environ.get("AGENTCORE_TEST_POSTGRES_DSN")
    if configured:
        problem = _can_connect(configured)
        if problem is None:
            yield configured
            return
        reasons.append(f"AGENTCORE_TEST_POSTGRES_DSN does not connect ({problem})")
    try:
        dsn, cluster = _start_cluster()
    except RuntimeError as exc:
        reasons.append(str(exc))
        pytest.skip("no PostgreSQL server available: " + "; ".join(reasons))
    try:
        yield dsn
    finally:
        cluster.stop()


@dataclass(frozen=True)
class Shop:
    admin_dsn: str
    """Superuser (or database owner) on the test database."""
    reader_dsn: str
    """A role with SELECT on orders, order_totals and customers minus password_hash."""
    broad_reader_dsn: str
    """A role that may also read internal_notes and every column of customers."""
    password: str
    broad_role: str


@pytest.fixture(scope="session")
def shop(admin_dsn: str) -> Iterator[Shop]:
    suffix = secrets.token_hex(4)
    database = f"agentcore_shop_{suffix}"
    reader, broad = f"shop_reader_{suffix}", f"shop_broad_{suffix}"
    password = secrets.token_hex(8)
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {database}")
        admin.execute(f"CREATE ROLE {reader} LOGIN PASSWORD '{password}'")
        admin.execute(f"CREATE ROLE {broad} LOGIN PASSWORD '{password}'")
    shop_admin = conninfo.make_conninfo(admin_dsn, dbname=database)
    with psycopg.connect(shop_admin, autocommit=True) as connection:
        connection.execute(SCHEMA)
        connection.execute(SIGNALLING_REVOKED)
        connection.execute(grants(reader))
        connection.execute(grants(broad))
        connection.execute(f"GRANT SELECT ON customers, internal_notes TO {broad}")
    try:
        yield Shop(
            shop_admin,
            conninfo.make_conninfo(shop_admin, user=reader, password=password),
            conninfo.make_conninfo(shop_admin, user=broad, password=password),
            password,
            broad,
        )
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
            admin.execute(f"DROP ROLE IF EXISTS {reader}")
            admin.execute(f"DROP ROLE IF EXISTS {broad}")


@pytest.fixture
def db(shop: Shop) -> Iterator[SQLDatabase]:
    database = SQLDatabase.postgres(
        shop.reader_dsn, allow_tables=["customers", "orders", "order_totals"], row_limit=2
    )
    yield database
    database.close()


def orders_unchanged(shop: Shop) -> list[tuple[Any, ...]]:
    with psycopg.connect(shop.admin_dsn) as connection:
        rows: list[tuple[Any, ...]] = connection.execute(
            "SELECT id, status FROM orders ORDER BY id"
        ).fetchall()
        return rows


ORDERS = [("A-1001", "shipped"), ("A-1002", "processing"), ("A-1003", "refunded")]


# --- behaviour ------------------------------------------------------------------------------


class TestReading:
    def test_list_tables_shows_allowed_tables_and_views(self, db: SQLDatabase) -> None:
        assert db.list_tables() == (
            '{"columns":["name","kind"],"rows":[["customers","table"],'
            '["order_totals","view"],["orders","table"]]}'
        )

    def test_describe_shows_types_keys_and_samples_without_secrets(self, db: SQLDatabase) -> None:
        assert db.describe_table("orders") == (
            '{"table":"orders","kind":"table","columns":['
            '{"name":"id","type":"text","primary_key":true,"not_null":true},'
            '{"name":"customer_id","type":"integer","not_null":true},'
            '{"name":"status","type":"text","not_null":true},'
            '{"name":"total_cents","type":"integer","not_null":true},'
            '{"name":"placed_on","type":"date","not_null":true}],'
            '"foreign_keys":["customer_id -> customers(id)"],'
            '"sample_rows":{"columns":["id","customer_id","status","total_cents","placed_on"],'
            '"rows":[["A-1001",1,"shipped",4200,"2024-05-01"],'
            '["A-1002",1,"processing",1999,"2024-05-03"],'
            '["A-1003",2,"refunded",500,"2024-05-04"]]}}'
        )
        customers = db.describe_table("customers")
        assert "password_hash" not in customers
        assert "pbkdf2" not in customers

    def test_only_what_the_role_may_read_is_listed_and_described(self, shop: Shop) -> None:
        db = SQLDatabase.postgres(shop.reader_dsn, secret_columns=[])
        assert db.list_tables() == (
            '{"columns":["name","kind"],"rows":[["customers","table"],'
            '["order_totals","view"],["orders","table"]]}'
        )
        described = json.loads(db.describe_table("customers"))
        assert [c["name"] for c in described["columns"]] == ["id", "name", "email", "tier"]
        assert described["sample_rows"]["columns"] == ["id", "name", "email", "tier"]
        db.close()

    def test_select_binds_dollar_parameters_and_counts_the_rest(self, db: SQLDatabase) -> None:
        result = db.select("SELECT id FROM orders WHERE total_cents > $1 ORDER BY id", [100])
        assert result == QueryResult(("id",), (("A-1001",), ("A-1002",)), more_rows=1)

    def test_slow_query_is_cancelled_and_the_connection_recovers(self, shop: Shop) -> None:
        db = SQLDatabase.postgres(shop.reader_dsn, time_limit_s=0.3)
        with pytest.raises(ToolError) as caught:
            db.select("SELECT pg_sleep(5)")
        assert str(caught.value) == (
            "the query was stopped after the 0.3 s time limit; "
            "filter on indexed columns, aggregate, or add LIMIT"
        )
        assert db.select("SELECT count(*) FROM orders").rows == ((3,),)
        db.close()

    def test_lookup_uses_named_placeholders_and_drops_secret_output_columns(
        self, shop: Shop
    ) -> None:
        db = SQLDatabase.postgres(shop.reader_dsn, secret_columns=["customers.email"])
        lookup = db.lookup(
            "customer_orders",
            "SELECT c.name, c.email AS contact, o.id FROM customers c "
            "JOIN orders o ON o.customer_id = c.id "
            "WHERE c.id = :customer AND o.total_cents >= :min_cents::integer ORDER BY o.id",
            params={"customer": int, "min_cents": int},
            description="Orders of a customer.",
        )
        output = lookup.run(lookup.validate({"customer": 1, "min_cents": 2000}))
        assert output.content == (
            '{"columns":["name","id"],"rows":[["Ada Lovelace","A-1001"]],'
            '"notes":["not available to you, read as NULL or left out: customers.email"]}'
        )
        db.close()


class TestConnection:
    def test_unreachable_server_is_a_configuration_error(self) -> None:
        dsn = f"host=127.0.0.1 port={_free_port()} user=nobody dbname=nothing"
        db = SQLDatabase.postgres(dsn, connect_timeout_s=2)
        with pytest.raises(ConfigurationError, match="cannot connect to PostgreSQL"):
            db.list_tables()

    def test_allow_listed_table_the_role_cannot_read_is_a_configuration_error(
        self, shop: Shop
    ) -> None:
        db = SQLDatabase.postgres(shop.reader_dsn, allow_tables=["orders", "internal_notes"])
        with pytest.raises(ConfigurationError, match="not readable by the role: internal_notes"):
            db.list_tables()

    def test_lost_connection_is_reported_once_then_reopened(self, shop: Shop) -> None:
        db = SQLDatabase.postgres(shop.reader_dsn)
        assert db.select("SELECT 1").rows == ((1,),)
        reader = conninfo.conninfo_to_dict(shop.reader_dsn)["user"]
        with psycopg.connect(shop.admin_dsn, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
                (reader,),
            )
        with pytest.raises(ToolError, match="the database connection failed"):
            db.select("SELECT 1")
        assert db.select("SELECT 2").rows == ((2,),)
        db.close()


class TestRoleChecks:
    def test_superuser_is_refused_for_model_written_sql(self, shop: Shop) -> None:
        db = SQLDatabase.postgres(shop.admin_dsn)
        with pytest.raises(ConfigurationError, match="is a superuser or may read server files"):
            db.tools()
        db.close()

    def test_role_that_can_read_hidden_data_is_refused_with_the_list(self, shop: Shop) -> None:
        db = SQLDatabase.postgres(shop.broad_reader_dsn, allow_tables=["orders", "customers"])
        with pytest.raises(ConfigurationError) as caught:
            db.tools()
        message = str(caught.value)
        assert "column public.customers.password_hash" in message
        assert "table public.internal_notes" in message
        with pytest.raises(ConfigurationError):
            db.select("SELECT 1")
        db.close()

    def test_least_privilege_role_passes(self, db: SQLDatabase) -> None:
        assert [t.name for t in db.tools()] == ["list_tables", "describe_table", "run_select"]


REFUSED = [
    ("INSERT INTO orders VALUES ('X', 1, 'new', 1, now())", "SQL error: syntax error"),
    ("UPDATE orders SET status = 'refunded'", "SQL error: syntax error"),
    ("DELETE FROM orders", "SQL error: syntax error"),
    ("DROP TABLE orders", "SQL error: syntax error"),
    ("TRUNCATE orders", "SQL error: syntax error"),
    ("CREATE TABLE t (x int)", "SQL error: syntax error"),
    ("ALTER TABLE orders ADD COLUMN x int", "SQL error: syntax error"),
    ("SELECT 1; DROP TABLE orders", "refused: send exactly one SELECT statement"),
    ("COMMIT; DROP TABLE orders", "SQL error: syntax error"),
    ("SELECT 1; COMMIT; SET default_transaction_read_only = off", "refused: send exactly one"),
    ("SET TRANSACTION READ WRITE", "SQL error: syntax error"),
    ("DO $$ BEGIN DELETE FROM orders; END $$", "SQL error: syntax error"),
    ("COPY orders TO '/tmp/agentcore-orders.csv'", "SQL error: syntax error"),
    ("COPY (SELECT 1) TO PROGRAM 'touch /tmp/agentcore-pwned'", "SQL error: syntax error"),
    ("EXPLAIN ANALYZE DELETE FROM orders", "SQL error: syntax error"),
    ("CALL some_procedure()", "SQL error: syntax error"),
    ("WITH gone AS (DELETE FROM orders RETURNING *) SELECT * FROM gone", "refused"),
    ("SELECT * FROM orders FOR UPDATE", "refused"),
    ("SELECT nextval('ticket_numbers')", "refused"),
    ("SELECT set_config('transaction_read_only', 'off', true)", "SQL error"),
    ("SELECT pg_read_file('/etc/passwd')", "refused: permission denied for function"),
    ("SELECT pg_ls_dir('.')", "refused: permission denied for function"),
    ("SELECT lo_import('/etc/passwd')", "refused"),
    ("SELECT * FROM internal_notes", "refused: permission denied for table internal_notes"),
    ("SELECT password_hash FROM customers", "refused: permission denied for table customers"),
    ("SELECT * FROM customers", "refused: permission denied for table customers"),
    ("SELECT upper(password_hash) FROM customers", "refused: permission denied"),
    (
        "SELECT query_to_xml('SELECT * FROM internal_notes', true, false, '')",
        "refused: permission denied for table internal_notes",
    ),
    ("SELECT id FROM orders ORDER BY (SELECT body FROM internal_notes)", "refused"),
    ("/* comment */ DeLeTe FrOm orders", "SQL error: syntax error"),
    ("SELECT * FROM orders FOR SHARE", "refused"),
    ("SELECT * FROM orders FOR NO KEY UPDATE", "refused"),
    ("SELECT * FROM orders FOR KEY SHARE", "refused"),
    ("SELECT * INTO TEMP stolen FROM orders", "SQL error"),
    ("CREATE TEMP TABLE stolen AS SELECT * FROM orders", "SQL error: syntax error"),
    ("SET ROLE postgres", "SQL error: syntax error"),
    ("RESET SESSION AUTHORIZATION", "SQL error: syntax error"),
    ("SET SESSION AUTHORIZATION postgres", "SQL error: syntax error"),
    ("LISTEN agentcore_channel", "SQL error: syntax error"),
    ("NOTIFY agentcore_channel", "SQL error: syntax error"),
    ("PREPARE kept AS SELECT 1", "SQL error: syntax error"),
    ("DISCARD ALL", "SQL error: syntax error"),
    ("SELECT 1; PREPARE kept AS SELECT 1", "refused: send exactly one"),
    ("SELECT lo_export(0, '/tmp/agentcore-lo')", "refused"),
    ("SELECT dblink_connect('dbname=postgres')", "SQL error: function dblink_connect"),
    ("SELECT 1 -- trailing comment; DROP TABLE orders", ""),
]


class TestRefusals:
    @pytest.mark.parametrize(("sql", "message"), REFUSED)
    def test_statement_is_refused_and_nothing_changes(
        self, db: SQLDatabase, shop: Shop, sql: str, message: str
    ) -> None:
        if message:
            with pytest.raises(ToolError) as caught:
                db.select(sql)
            assert str(caught.value).startswith(message)
        else:
            assert db.select(sql).rows == ((1,),)
        assert orders_unchanged(shop) == ORDERS
        assert db.select("SELECT count(*) FROM orders").rows == ((3,),)

    def test_settings_changed_by_a_query_do_not_outlive_it(self, db: SQLDatabase) -> None:
        db.select("SELECT set_config('default_transaction_read_only', 'off', false)")
        db.select("SELECT set_config('statement_timeout', '0', false)")
        after = db.select(
            "SELECT current_setting('default_transaction_read_only'), "
            "current_setting('transaction_read_only'), current_setting('statement_timeout')"
        )
        assert after.rows == (("on", "on", "2s"),)

    def test_no_file_was_written_by_copy_or_program(self) -> None:
        assert not Path("/tmp/agentcore-orders.csv").exists()
        assert not Path("/tmp/agentcore-pwned").exists()


# --- what a hostile model tries beyond tables -------------------------------------------------


@contextlib.contextmanager
def installed(shop: Shop, setup: str, teardown: str) -> Iterator[None]:
    """Run ``setup`` as the database owner for the duration of the block, then ``teardown``."""
    with psycopg.connect(shop.admin_dsn, autocommit=True) as admin:
        admin.execute(setup)
    try:
        yield
    finally:
        with psycopg.connect(shop.admin_dsn, autocommit=True) as admin:
            admin.execute(teardown)


ALLOWED = ["customers", "orders", "order_totals"]


def reader_db(shop: Shop, **options: Any) -> SQLDatabase:
    return SQLDatabase.postgres(shop.reader_dsn, allow_tables=ALLOWED, **options)


class TestFunctionChecks:
    def test_security_definer_function_that_returns_hidden_rows_is_refused(
        self, shop: Shop
    ) -> None:
        # EXECUTE on a new function is granted to PUBLIC by default, and a SECURITY DEFINER
        # function reads with its owner's privileges.
        with installed(
            shop,
            "CREATE FUNCTION public.all_notes() RETURNS SETOF internal_notes "
            "LANGUAGE sql SECURITY DEFINER AS 'SELECT * FROM internal_notes'",
            "DROP FUNCTION public.all_notes()",
        ):
            db = reader_db(shop)
            with pytest.raises(ConfigurationError) as caught:
                db.tools()
            message = str(caught.value)
            assert "public.all_notes() (SECURITY DEFINER)" in message
            assert "REVOKE EXECUTE ON FUNCTION public.all_notes() FROM PUBLIC" in message
            with pytest.raises(ConfigurationError):
                db.select("SELECT body FROM public.all_notes()")
            db.close()

    def test_role_is_checked_again_after_a_reconnect(self, shop: Shop) -> None:
        db = reader_db(shop)
        db.tools()
        reader = conninfo.conninfo_to_dict(shop.reader_dsn)["user"]
        with installed(
            shop,
            "CREATE FUNCTION public.all_notes() RETURNS SETOF internal_notes "
            "LANGUAGE sql SECURITY DEFINER AS 'SELECT * FROM internal_notes';"
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{reader}'",
            "DROP FUNCTION public.all_notes()",
        ):
            with pytest.raises(ToolError, match="the database connection failed"):
                db.select("SELECT 1")
            with pytest.raises(ConfigurationError, match=r"public\.all_notes\(\)"):
                db.select("SELECT body FROM public.all_notes()")
        db.close()

    def test_function_in_an_untrusted_language_is_refused(self, shop: Shop) -> None:
        with installed(
            shop,
            "CREATE FUNCTION public.text_length(text) RETURNS integer "
            "LANGUAGE internal IMMUTABLE AS 'textlen'",
            "DROP FUNCTION public.text_length(text)",
        ):
            db = reader_db(shop)
            with pytest.raises(
                ConfigurationError, match=r"public\.text_length\(text\) \(language internal\)"
            ):
                db.tools()
            db.close()

    def test_revoking_the_function_lets_the_role_pass(self, shop: Shop) -> None:
        with installed(
            shop,
            "CREATE FUNCTION public.all_notes() RETURNS SETOF internal_notes "
            "LANGUAGE sql SECURITY DEFINER AS 'SELECT * FROM internal_notes';"
            "REVOKE EXECUTE ON FUNCTION public.all_notes() FROM PUBLIC",
            "DROP FUNCTION public.all_notes()",
        ):
            db = reader_db(shop)
            assert [t.name for t in db.tools()] == ["list_tables", "describe_table", "run_select"]
            with pytest.raises(ToolError, match="permission denied for function all_notes"):
                db.select("SELECT body FROM public.all_notes()")
            db.close()

    def test_trusted_invoker_functions_are_fine(self, shop: Shop) -> None:
        with installed(
            shop,
            "CREATE FUNCTION public.cents_to_euros(integer) RETURNS numeric "
            "LANGUAGE sql IMMUTABLE AS 'SELECT $1 / 100.0'",
            "DROP FUNCTION public.cents_to_euros(integer)",
        ):
            db = reader_db(shop)
            db.tools()
            assert db.select(
                "SELECT public.cents_to_euros(total_cents)::text FROM orders WHERE id = 'A-1003'"
            ).rows == (("5.0000000000000000",),)
            db.close()

    def test_dblink_is_refused_before_it_can_commit_a_write(self, shop: Shop) -> None:
        with psycopg.connect(shop.admin_dsn) as admin:
            available = admin.execute(
                "SELECT 1 FROM pg_available_extensions WHERE name = 'dblink'"
            ).fetchone()
        if available is None:
            pytest.skip("the dblink extension is not installed on this server")
        with installed(shop, "CREATE EXTENSION dblink", "DROP EXTENSION dblink"):
            db = reader_db(shop)
            with pytest.raises(ConfigurationError) as caught:
                db.tools()
            assert "public.dblink(text) (language c)" in str(caught.value)
            params = conninfo.conninfo_to_dict(shop.broad_reader_dsn)
            other = " ".join(f"{k}={v}" for k, v in params.items())
            with pytest.raises(ConfigurationError):
                db.select(
                    "SELECT dblink_exec($1, 'UPDATE orders SET status = ''pwned''')", [other]
                )
            db.close()
        assert orders_unchanged(shop) == ORDERS

    def test_foreign_server_the_role_may_use_is_refused(self, shop: Shop) -> None:
        with psycopg.connect(shop.admin_dsn) as admin:
            available = admin.execute(
                "SELECT 1 FROM pg_available_extensions WHERE name = 'postgres_fdw'"
            ).fetchone()
        if available is None:
            pytest.skip("the postgres_fdw extension is not installed on this server")
        reader = conninfo.conninfo_to_dict(shop.reader_dsn)["user"]
        with installed(
            shop,
            "CREATE EXTENSION postgres_fdw;"
            "REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA public FROM PUBLIC;"
            "CREATE SERVER elsewhere FOREIGN DATA WRAPPER postgres_fdw;"
            f"GRANT USAGE ON FOREIGN SERVER elsewhere TO {reader}",
            "DROP EXTENSION postgres_fdw CASCADE",
        ):
            db = reader_db(shop)
            with pytest.raises(ConfigurationError, match="foreign server elsewhere"):
                db.tools()
            db.close()

    @pytest.mark.parametrize(
        "signature",
        [
            "pg_terminate_backend(integer,bigint)",
            "pg_cancel_backend(integer)",
            "pg_logical_emit_message(boolean,text,text)",
        ],
    )
    def test_signalling_and_wal_writing_functions_must_be_revoked(
        self, shop: Shop, signature: str
    ) -> None:
        with installed(
            shop,
            f"GRANT EXECUTE ON FUNCTION pg_catalog.{signature} TO PUBLIC",
            SIGNALLING_REVOKED,
        ):
            db = reader_db(shop)
            with pytest.raises(ConfigurationError) as caught:
                db.tools()
            assert f"REVOKE EXECUTE ON FUNCTION pg_catalog.{signature} FROM PUBLIC" in str(
                caught.value
            )
            db.close()

    def test_wal_message_that_would_outlive_the_rollback_is_refused(self, db: SQLDatabase) -> None:
        with pytest.raises(ToolError, match="permission denied for function pg_logical_emit"):
            db.select("SELECT pg_logical_emit_message(false, 'cdc', 'forged event')::text")

    def test_replication_role_is_refused(self, shop: Shop) -> None:
        reader = conninfo.conninfo_to_dict(shop.reader_dsn)["user"]
        with installed(
            shop, f"ALTER ROLE {reader} REPLICATION", f"ALTER ROLE {reader} NOREPLICATION"
        ):
            db = reader_db(shop)
            with pytest.raises(ConfigurationError, match="has the REPLICATION attribute"):
                db.tools()
            db.close()

    def test_role_that_owns_a_table_is_refused(self, shop: Shop) -> None:
        reader = conninfo.conninfo_to_dict(shop.reader_dsn)["user"]
        with installed(
            shop,
            f"CREATE TABLE scratch (id integer); ALTER TABLE scratch OWNER TO {reader}",
            "DROP TABLE scratch",
        ):
            db = SQLDatabase.postgres(shop.reader_dsn, allow_tables=[*ALLOWED, "scratch"])
            with pytest.raises(ConfigurationError, match=r"owns public\.scratch"):
                db.tools()
            db.close()

    def test_another_session_of_the_role_cannot_be_terminated(self, shop: Shop) -> None:
        bystander = reader_db(shop)
        attacker = reader_db(shop)
        assert bystander.select("SELECT 1").rows == ((1,),)
        with pytest.raises(ToolError, match="permission denied for function pg_terminate_backend"):
            attacker.select(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE usename = current_user AND pid <> pg_backend_pid()"
            )
        with pytest.raises(ToolError, match="permission denied for function pg_cancel_backend"):
            attacker.select("SELECT pg_cancel_backend(pg_backend_pid())")
        assert bystander.select("SELECT 2").rows == ((2,),)
        bystander.close()
        attacker.close()

    def test_role_that_can_switch_to_a_broader_role_is_refused(self, shop: Shop) -> None:
        suffix = secrets.token_hex(4)
        switcher = f"shop_switcher_{suffix}"
        with installed(
            shop,
            f"CREATE ROLE {switcher} LOGIN NOINHERIT PASSWORD '{shop.password}';"
            + grants(switcher)
            + f"GRANT {shop.broad_role} TO {switcher}",
            f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {switcher};"
            f"REVOKE USAGE ON SCHEMA public FROM {switcher}; DROP ROLE {switcher}",
        ):
            dsn = conninfo.make_conninfo(shop.reader_dsn, user=switcher)
            db = SQLDatabase.postgres(dsn, allow_tables=["customers", "orders", "order_totals"])
            with pytest.raises(ConfigurationError, match=f"may switch to role {shop.broad_role}"):
                db.tools()
            db.close()

    def test_readable_large_object_is_refused(self, shop: Shop) -> None:
        with psycopg.connect(shop.admin_dsn, autocommit=True) as admin:
            row = admin.execute("SELECT lo_from_bytea(0, 'the launch codes')").fetchone()
            assert row is not None
            oid = row[0]
            admin.execute(f"GRANT SELECT ON LARGE OBJECT {oid} TO PUBLIC")
        try:
            db = reader_db(shop)
            with pytest.raises(ConfigurationError, match=f"large object {oid}"):
                db.tools()
            db.close()
        finally:
            with psycopg.connect(shop.admin_dsn, autocommit=True) as admin:
                admin.execute("SELECT lo_unlink(%s)", (oid,))


class TestSessionState:
    def test_advisory_lock_does_not_outlive_the_query(self, db: SQLDatabase, shop: Shop) -> None:
        db.select("SELECT pg_advisory_lock(4242), pg_advisory_lock_shared(4243)")
        db.select("SELECT pg_try_advisory_lock(4244)")
        with psycopg.connect(shop.admin_dsn, autocommit=True) as admin:
            taken = admin.execute(
                "SELECT pg_try_advisory_lock(4242), pg_try_advisory_lock(4243), "
                "pg_try_advisory_lock(4244)"
            ).fetchone()
            assert taken == (True, True, True)
            admin.execute("SELECT pg_advisory_unlock_all()")

    def test_advisory_lock_taken_by_a_failing_query_is_released_too(
        self, db: SQLDatabase, shop: Shop
    ) -> None:
        with pytest.raises(ToolError):
            db.select("SELECT pg_advisory_lock(4245), 1 / (x - 1) FROM generate_series(1, 1) x")
        with psycopg.connect(shop.admin_dsn, autocommit=True) as admin:
            taken = admin.execute("SELECT pg_try_advisory_lock(4245)").fetchone()
            assert taken == (True,)
            admin.execute("SELECT pg_advisory_unlock_all()")

    def test_sleep_with_the_timeout_switched_off_is_still_stopped(self, shop: Shop) -> None:
        db = reader_db(shop, time_limit_s=0.3)
        started = time.monotonic()
        with pytest.raises(ToolError, match="time limit"):
            db.select("SELECT set_config('statement_timeout', '0', true), pg_sleep(5)")
        with pytest.raises(ToolError, match="time limit"):
            db.select(
                "SELECT x, pg_sleep(CASE WHEN x = 1 THEN 0 ELSE 5 END) FROM "
                "(SELECT x, set_config('statement_timeout', '0', true) "
                "FROM generate_series(1, 2) x) s"
            )
        assert time.monotonic() - started < 4
        db.close()

    def test_notification_is_never_delivered(self, db: SQLDatabase, shop: Shop) -> None:
        with psycopg.connect(shop.admin_dsn, autocommit=True) as listener:
            listener.execute("LISTEN agentcore_channel")
            db.select("SELECT pg_notify('agentcore_channel', 'from the model')")
            assert list(listener.notifies(timeout=0.5)) == []

    def test_large_object_created_by_a_query_is_rolled_back(
        self, db: SQLDatabase, shop: Shop
    ) -> None:
        created = db.select("SELECT lo_create(0)").rows[0][0]
        with psycopg.connect(shop.admin_dsn) as admin:
            found = admin.execute(
                "SELECT count(*) FROM pg_largeobject_metadata WHERE oid = %s", (created,)
            ).fetchone()
        assert found == (0,)

    def test_role_cannot_be_switched_from_inside_a_query(self, db: SQLDatabase) -> None:
        with pytest.raises(ToolError, match="permission denied to set"):
            db.select("SELECT set_config('role', 'postgres', true)")
        with pytest.raises(ToolError, match="permission denied to set"):
            db.select("SELECT set_config('session_authorization', 'postgres', true)")
        assert db.select("SELECT current_user = session_user").rows == ((True,),)
