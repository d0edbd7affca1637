"""agentcore_sql on real SQLite files: read-only lookups, limits, access policy and every escape."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import shutil
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import pytest
from agentcore_sql import QueryResult, SQLDatabase
from agentcore_sql._cte_names import defined_names
from agentcore_sql._params import find_placeholders, to_numbered
from pydantic import Field

from agentcore.errors import ConfigurationError, ToolArgumentsError, ToolError
from agentcore.tools import ToolOutput

SCHEMA = """
CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT,
    password_hash TEXT,
    tier TEXT DEFAULT 'basic'
);
CREATE TABLE orders (
    id TEXT PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    status TEXT NOT NULL,
    total_cents INTEGER NOT NULL,
    note TEXT
);
CREATE INDEX orders_by_customer ON orders(customer_id);
CREATE TABLE internal_notes (id INTEGER PRIMARY KEY, customer_id INTEGER, body TEXT);
CREATE VIEW order_totals AS
    SELECT c.name AS customer, count(*) AS orders, sum(o.total_cents) AS total_cents
    FROM orders o JOIN customers c ON c.id = o.customer_id GROUP BY c.id;
CREATE VIEW notes_view AS SELECT id, body FROM internal_notes;
CREATE VIEW password_view AS SELECT id, password_hash AS hash FROM customers;
INSERT INTO customers VALUES
    (1, 'Ada Lovelace', 'ada@example.com', 'pbkdf2$ada', 'gold'),
    (2, 'Bob Stone', 'bob@example.com', 'pbkdf2$bob', 'basic');
INSERT INTO orders VALUES
    ('A-1001', 1, 'shipped', 4200, 'leave at the door'),
    ('A-1002', 1, 'processing', 1999, NULL),
    ('A-1003', 2, 'refunded', 500, NULL);
INSERT INTO internal_notes VALUES (1, 2, 'chargeback risk');
"""

ALLOWED = ["customers", "orders", "order_totals"]


@pytest.fixture(scope="session")
def shop_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "shop.db"
    connection = sqlite3.connect(path)
    connection.executescript("PRAGMA synchronous = OFF;" + SCHEMA)
    connection.close()
    return path


@pytest.fixture
def shop_path(shop_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the shop database for each test, alone in its directory."""
    path = tmp_path / "shop.db"
    shutil.copyfile(shop_template, path)
    return path


@pytest.fixture
def db(shop_path: Path) -> Iterator[SQLDatabase]:
    database = SQLDatabase.sqlite(shop_path, allow_tables=ALLOWED, row_limit=2)
    yield database
    database.close()


def rows_of(text: str) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(text)
    return decoded


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class TestOpening:
    def test_missing_file_is_a_configuration_error(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigurationError, match="not found"):
            SQLDatabase.sqlite(tmp_path / "absent.db")

    def test_in_memory_database_is_refused(self) -> None:
        with pytest.raises(ConfigurationError, match="in-memory"):
            SQLDatabase.sqlite(":memory:")

    def test_file_that_is_not_a_database_is_a_configuration_error(self, tmp_path: Path) -> None:
        path = tmp_path / "notes.txt"
        path.write_text("just some text, long enough to look like a header " * 10)
        db = SQLDatabase.sqlite(path)
        with pytest.raises(ConfigurationError, match="not a readable SQLite database"):
            db.list_tables()

    def test_allow_list_naming_a_missing_table_fails_on_first_use(self, shop_path: Path) -> None:
        db = SQLDatabase.sqlite(shop_path, allow_tables=["customers", "ordres"])
        with pytest.raises(ConfigurationError, match=r"allow-listed tables not found.*ordres"):
            db.list_tables()

    def test_allow_tables_given_as_a_string_is_rejected(self, shop_path: Path) -> None:
        with pytest.raises(ConfigurationError, match="list of table names"):
            SQLDatabase.sqlite(shop_path, allow_tables="customers")

    def test_allow_columns_for_a_table_outside_allow_tables_is_rejected(
        self, shop_path: Path
    ) -> None:
        with pytest.raises(ConfigurationError, match="not in allow_tables"):
            SQLDatabase.sqlite(
                shop_path, allow_tables=["orders"], allow_columns={"customers": ["id"]}
            )

    @pytest.mark.parametrize(
        ("option", "value"),
        [("row_limit", 0), ("time_limit_s", 0), ("max_value_chars", 3), ("output", "csv")],
    )
    def test_bad_limits_are_rejected(self, shop_path: Path, option: str, value: Any) -> None:
        with pytest.raises(ConfigurationError, match=option):
            SQLDatabase.sqlite(shop_path, **{option: value})

    def test_uri_asking_for_read_write_is_still_opened_read_only(self, shop_path: Path) -> None:
        db = SQLDatabase.sqlite(f"file:{shop_path}?mode=rwc")
        before = digest(shop_path)
        with pytest.raises(ToolError, match="refused"):
            db.run_select("DELETE FROM orders")
        db.close()
        assert digest(shop_path) == before


class TestListAndDescribe:
    def test_list_tables_shows_only_allowed_tables_and_views(self, db: SQLDatabase) -> None:
        assert rows_of(db.list_tables()) == {
            "columns": ["name", "kind"],
            "rows": [["customers", "table"], ["order_totals", "view"], ["orders", "table"]],
        }

    def test_describe_shows_columns_keys_and_samples_without_secrets(
        self, db: SQLDatabase
    ) -> None:
        assert rows_of(db.describe_table("customers")) == {
            "table": "customers",
            "kind": "table",
            "columns": [
                {"name": "id", "type": "INTEGER", "primary_key": True},
                {"name": "name", "type": "TEXT", "not_null": True},
                {"name": "email", "type": "TEXT"},
                {"name": "tier", "type": "TEXT", "default": "'basic'"},
            ],
            "sample_rows": {
                "columns": ["id", "name", "email", "tier"],
                "rows": [
                    [1, "Ada Lovelace", "ada@example.com", "gold"],
                    [2, "Bob Stone", "bob@example.com", "basic"],
                ],
            },
        }

    def test_describe_shows_foreign_keys_and_is_case_insensitive(self, db: SQLDatabase) -> None:
        described = rows_of(db.describe_table("ORDERS"))
        assert described["foreign_keys"] == ["customer_id -> customers(id)"]
        assert described["sample_rows"]["columns"] == [
            "id",
            "customer_id",
            "status",
            "total_cents",
            "note",
        ]

    def test_describing_a_table_that_is_not_allowed_reads_like_a_missing_one(
        self, db: SQLDatabase
    ) -> None:
        with pytest.raises(ToolError) as caught:
            db.describe_table("internal_notes")
        assert str(caught.value) == (
            "no table named 'internal_notes' is available; "
            "available tables: customers, order_totals, orders"
        )

    def test_describe_as_text_table(self, shop_path: Path) -> None:
        db = SQLDatabase.sqlite(shop_path, output="table", sample_rows=1)
        assert db.describe_table("orders").splitlines() == [
            "table orders",
            "column      | type    | key     | not null | default",
            "------------+---------+---------+----------+--------",
            "id          | TEXT    | primary |          |",
            "customer_id | INTEGER |         | yes      |",
            "status      | TEXT    |         | yes      |",
            "total_cents | INTEGER |         | yes      |",
            "note        | TEXT    |         |          |",
            "(5 rows)",
            "foreign keys: customer_id -> customers(id)",
            "sample rows:",
            "id     | customer_id | status  | total_cents | note",
            "-------+-------------+---------+-------------+------------------",
            "A-1001 | 1           | shipped | 4200        | leave at the door",
            "(1 row)",
        ]


class TestSelect:
    def test_rows_beyond_the_limit_are_counted_not_shown(self, db: SQLDatabase) -> None:
        assert rows_of(db.run_select("SELECT id, status FROM orders ORDER BY id")) == {
            "columns": ["id", "status"],
            "rows": [["A-1001", "shipped"], ["A-1002", "processing"]],
            "notes": [
                "1 more rows not shown; narrow the query (WHERE, aggregates) "
                "or page with LIMIT/OFFSET"
            ],
        }

    def test_parameters_are_bound_not_pasted(self, db: SQLDatabase) -> None:
        result = db.select("SELECT id FROM orders WHERE status = ? OR id = ?", ["x' OR '1'='1", 7])
        assert result == QueryResult(("id",), ())

    def test_count_past_the_cap_is_reported_as_a_lower_bound(self, tmp_path: Path) -> None:
        path = tmp_path / "many.db"
        with sqlite3.connect(path) as connection:
            connection.execute("CREATE TABLE events (n INTEGER)")
            connection.execute(
                "INSERT INTO events WITH RECURSIVE c(n) AS "
                "(SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 5000) SELECT n FROM c"
            )
        connection.close()
        db = SQLDatabase.sqlite(path, row_limit=3)
        result = db.select("SELECT n FROM events")
        assert (result.rows, result.more_rows, result.more_rows_exact) == (
            ((1,), (2,), (3,)),
            1000,
            False,
        )
        assert "at least 1000 more rows not shown" in db.run_select("SELECT n FROM events")

    def test_long_values_are_cut_and_marked(self, shop_path: Path) -> None:
        db = SQLDatabase.sqlite(shop_path, max_value_chars=10)
        assert rows_of(db.run_select("SELECT note FROM orders WHERE id = 'A-1001'")) == {
            "columns": ["note"],
            "rows": [["leave at t…[+7 chars]"]],
            "notes": [
                "1 value(s) longer than 10 characters were cut; each cut is marked '…[+N chars]'"
            ],
        }

    def test_blobs_are_described_by_size(self, db: SQLDatabase) -> None:
        assert rows_of(db.run_select("SELECT x'00ff00' AS raw")) == {
            "columns": ["raw"],
            "rows": [["<blob: 3 bytes>"]],
        }

    def test_table_output_is_aligned_and_escapes_newlines(self, shop_path: Path) -> None:
        db = SQLDatabase.sqlite(shop_path, output="table", row_limit=5)
        text = db.run_select("SELECT id, 'a' || char(10) || 'b' AS two_lines, note FROM orders")
        assert text.splitlines() == [
            "id     | two_lines | note",
            "-------+-----------+------------------",
            "A-1001 | a\\nb      | leave at the door",
            "A-1002 | a\\nb      | NULL",
            "A-1003 | a\\nb      | NULL",
            "(3 rows)",
        ]

    def test_allowed_view_may_read_a_table_that_is_not_allowed(self, shop_path: Path) -> None:
        db = SQLDatabase.sqlite(shop_path, allow_tables=["notes_view"])
        assert db.select("SELECT body FROM notes_view").rows == (("chargeback risk",),)
        with pytest.raises(ToolError, match="internal_notes is not available"):
            db.select("SELECT body FROM internal_notes")

    def test_allow_columns_hides_the_other_columns(self, shop_path: Path) -> None:
        db = SQLDatabase.sqlite(
            shop_path, allow_tables=["customers"], allow_columns={"customers": ["id", "name"]}
        )
        result = db.select("SELECT * FROM customers WHERE id = 1")
        assert result == QueryResult(
            ("id", "name"),
            ((1, "Ada Lovelace"),),
            withheld_columns=("customers.email", "customers.password_hash", "customers.tier"),
        )

    def test_common_table_expressions_work(self, db: SQLDatabase) -> None:
        result = db.select(
            "WITH big AS (SELECT * FROM orders WHERE total_cents > 1000) "
            "SELECT count(*) FROM big"
        )
        assert result.rows == ((2,),)

    def test_slow_query_is_stopped_at_the_time_limit_and_the_database_stays_usable(
        self, shop_path: Path
    ) -> None:
        db = SQLDatabase.sqlite(shop_path, time_limit_s=0.2)
        with pytest.raises(ToolError) as caught:
            db.select(
                "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) "
                "SELECT count(*) FROM c"
            )
        assert str(caught.value) == (
            "the query was stopped after the 0.2 s time limit; "
            "filter on indexed columns, aggregate, or add LIMIT"
        )
        assert db.select("SELECT count(*) FROM orders").rows == ((3,),)

    def test_query_over_huge_values_is_stopped_near_the_time_limit(
        self, shop_path: Path
    ) -> None:
        # Each step of this query inserts a 10 MB row into a temporary index: a few thousand
        # steps between two checks of the clock used to let it run many times its limit.
        ten_megabytes = "'x'"
        for _ in range(7):
            ten_megabytes = f"replace({ten_megabytes}, 'x', 'xxxxxxxxxx')"
        db = SQLDatabase.sqlite(shop_path, time_limit_s=0.5)
        started = time.monotonic()
        with pytest.raises(ToolError, match="time limit"):
            db.select(
                f"WITH RECURSIVE c(n, x) AS (SELECT 1, {ten_megabytes} "
                "UNION SELECT n + 1, x FROM c) SELECT count(*) FROM c"
            )
        assert time.monotonic() - started < 3
        db.close()

    def test_concurrent_calls_share_one_connection_safely(self, db: SQLDatabase) -> None:
        run_select = {t.name: t for t in db.tools()}["run_select"]

        async def many() -> list[ToolOutput]:
            calls = [run_select.arun({"sql": "SELECT count(*) FROM orders"}) for _ in range(20)]
            return await asyncio.gather(*calls)

        outputs = asyncio.run(many())
        assert {o.content for o in outputs} == {'{"columns":["count(*)"],"rows":[[3]]}'}


SECRET_LEAKS = [
    ("SELECT * FROM customers WHERE id = 1", [[1, "Ada Lovelace", "ada@example.com", "gold"]]),
    ("SELECT upper(password_hash) FROM customers WHERE id = 1", [[None]]),
    ("SELECT length(password_hash) AS n FROM customers WHERE id = 1", [[None]]),
    ("SELECT json_object('h', password_hash) FROM customers WHERE id = 1", [['{"h":null}']]),
    ("SELECT group_concat(password_hash) FROM customers", [[None]]),
    ("SELECT id FROM customers WHERE password_hash = 'pbkdf2$ada'", []),
    ("SELECT id FROM customers WHERE password_hash LIKE 'pbkdf2%'", []),
    (
        "SELECT CASE WHEN substr(password_hash, 1, 1) = 'p' THEN 'yes' ELSE 'no' END "
        "FROM customers WHERE id = 1",
        [["no"]],
    ),
    ("SELECT hash FROM password_view WHERE id = 1", [[None]]),
    ("SELECT c.password_hash AS p FROM customers c WHERE c.id = 2", [[None]]),
]


class TestSecretColumns:
    @pytest.mark.parametrize(("sql", "rows"), SECRET_LEAKS)
    def test_secret_values_never_reach_the_model(
        self, shop_path: Path, sql: str, rows: list[list[Any]]
    ) -> None:
        db = SQLDatabase.sqlite(shop_path, allow_tables=["customers", "password_view"])
        answer = rows_of(db.run_select(sql))
        assert answer["rows"] == rows
        assert answer["notes"] == [
            "not available to you, read as NULL or left out: customers.password_hash"
        ]
        assert "pbkdf2" not in db.run_select(sql)

    def test_order_by_a_secret_column_does_not_reveal_its_order(self, shop_path: Path) -> None:
        with sqlite3.connect(shop_path) as connection:
            connection.execute("UPDATE customers SET password_hash = 'a' WHERE id = 2")
        connection.close()
        db = SQLDatabase.sqlite(shop_path)
        ascending = db.select("SELECT id FROM customers ORDER BY password_hash, id").rows
        descending = db.select("SELECT id FROM customers ORDER BY password_hash DESC, id").rows
        assert ascending == descending == ((1,), (2,))

    def test_secret_patterns_may_name_table_and_column(self, shop_path: Path) -> None:
        db = SQLDatabase.sqlite(shop_path, secret_columns=["customers.email"])
        result = db.select("SELECT name, email, password_hash FROM customers WHERE id = 2")
        assert result == QueryResult(
            ("name", "password_hash"),
            (("Bob Stone", "pbkdf2$bob"),),
            withheld_columns=("customers.email",),
        )


REFUSED = [
    # writes of every kind
    ("INSERT INTO orders VALUES ('X', 1, 'new', 1, NULL)", "tries to insert rows"),
    ("UPDATE orders SET status = 'refunded'", "tries to update rows"),
    ("DELETE FROM orders", "tries to delete rows"),
    ("REPLACE INTO orders VALUES ('A-1001', 1, 'x', 0, NULL)", "tries to insert rows"),
    ("INSERT OR REPLACE INTO customers (id, name) VALUES (1, 'x')", "tries to insert rows"),
    (
        "INSERT INTO customers (id, name) VALUES (1, 'x') "
        "ON CONFLICT(id) DO UPDATE SET name = 'x'",
        "tries to insert rows",
    ),
    ("DROP TABLE orders", "tries to drop a table, view, index or trigger"),
    ("DROP VIEW order_totals", "tries to drop a table, view, index or trigger"),
    ("DROP INDEX orders_by_customer", "tries to drop a table, view, index or trigger"),
    ("CREATE TABLE t (x)", "tries to create a table, view, index or trigger"),
    ("CREATE INDEX i ON orders(status)", "tries to create a table, view, index or trigger"),
    ("CREATE VIEW v AS SELECT 1", "tries to create a table, view, index or trigger"),
    ("CREATE TRIGGER t AFTER INSERT ON orders BEGIN SELECT 1; END", "tries to create a trigger"),
    ("ALTER TABLE orders ADD COLUMN x", "tries to alter a table"),
    ("ALTER TABLE orders RENAME TO o", "tries to alter a table"),
    ("CREATE TEMP TABLE t (x)", "tries to create a table, view, index or trigger"),
    ("CREATE TEMP VIEW v AS SELECT * FROM orders", "tries to create a table, view, index"),
    ("CREATE VIRTUAL TABLE v USING fts4(x)", "refused"),
    # other databases and files
    ("ATTACH DATABASE '/tmp/agentcore-sql-attack.db' AS other", "attach"),
    ("DETACH DATABASE main", "refused"),
    ("VACUUM", "attach or write another database file"),
    ("VACUUM INTO '/tmp/agentcore-sql-vacuum-copy.db'", "attach or write another database file"),
    # pragmas, including reads that leak schema or settings
    ("PRAGMA query_only = 0", "tries to run a PRAGMA (query_only)"),
    ("PRAGMA writable_schema = ON", "tries to run a PRAGMA (writable_schema)"),
    ("PRAGMA journal_mode = DELETE", "tries to run a PRAGMA (journal_mode)"),
    ("PRAGMA user_version = 7", "tries to run a PRAGMA (user_version)"),
    ("PRAGMA table_info(internal_notes)", "tries to run a PRAGMA (table_info)"),
    ("PRAGMA database_list", "tries to run a PRAGMA"),
    ("SELECT * FROM pragma_table_info('internal_notes')", "tries to use a virtual table"),
    # transactions
    ("BEGIN IMMEDIATE", "tries to control a transaction"),
    ("SAVEPOINT s", "tries to use a savepoint"),
    ("ANALYZE", "refused"),
    # several statements, comments and case
    ("SELECT 1; DROP TABLE orders", "exactly one SELECT statement"),
    ("SELECT 1;DELETE FROM orders;", "exactly one SELECT statement"),
    ("SELECT 1 /* harmless */; /* */ DELETE FROM orders", "exactly one SELECT statement"),
    ("-- read something\nDELETE FROM orders", "tries to delete rows"),
    ("/* SELECT */ DeLeTe FrOm OrDeRs", "tries to delete rows"),
    ("WITH gone AS (SELECT id FROM orders) DELETE FROM orders WHERE id IN gone", "delete rows"),
    ("WITH x AS (SELECT 1) UPDATE orders SET status = 'x'", "tries to update rows"),
    # unicode look-alikes are not keywords, and hidden characters do not help
    ("ＤＥＬＥＴＥ FROM orders", "SQL error"),
    ("DELETE\u200b FROM orders", "SQL error"),
    ("SELECT 1\u037e DELETE FROM orders", "SQL error"),
    # dangerous or unknown functions
    ("SELECT load_extension('/tmp/evil.so')", "load_extension() is not available"),
    ("SELECT readfile('/etc/passwd')", "no such function: readfile"),
    ("SELECT writefile('/tmp/x', 'data')", "no such function: writefile"),
    ("SELECT fts3_tokenizer('simple')", "fts3_tokenizer() is not available"),
    ("SELECT zeroblob(1000000000)", "zeroblob() is not available"),
    ("SELECT length(randomblob(1000000000))", "randomblob() is not available"),
    ("SELECT sqlite_compileoption_get(0)", "sqlite_compileoption_get() is not available"),
    # tables that are not allowed, however they are reached
    ("SELECT * FROM internal_notes", "internal_notes is not available"),
    ("SELECT count(*) FROM internal_notes", "internal_notes is not available"),
    ("SELECT 1 WHERE EXISTS (SELECT 1 FROM internal_notes)", "internal_notes is not available"),
    (
        "SELECT c.name FROM customers c JOIN internal_notes n ON n.customer_id = c.id",
        "internal_notes is not available",
    ),
    (
        "SELECT name FROM customers WHERE id IN (SELECT customer_id FROM internal_notes)",
        "internal_notes is not available",
    ),
    ("SELECT * FROM orders ORDER BY (SELECT body FROM internal_notes)", "not available"),
    ("WITH n AS (SELECT * FROM internal_notes) SELECT * FROM n", "not available"),
    ("SELECT * FROM notes_view", "notes_view is not available"),
    ('SELECT * FROM "INTERNAL_NOTES"', "internal_notes is not available"),
    ("SELECT * FROM [internal_notes]", "internal_notes is not available"),
    ("SELECT * FROM main.internal_notes", "internal_notes is not available"),
    ("SELECT sql FROM sqlite_master", "internal table sqlite_master is not available"),
    ("SELECT * FROM sqlite_schema", "not available"),
    ("SELECT * FROM temp.sqlite_master", "only the main database can be read"),
    ("SELECT * FROM json_each('[1]')", "tries to use a virtual table"),
    ("SELECT name, payload FROM dbstat", "tries to use a virtual table"),
    ("SELECT sql FROM sqlite_stmt", "tries to use a virtual table"),
    ("SELECT count(*) FROM dbstat", "tries to use a virtual table"),
    # one call that runs for seconds, or builds a value of hundreds of megabytes
    ("SELECT length(printf('%.*c', 1000000000, 'x'))", "printf() is not available"),
    ("SELECT length(format('%.*c', 1000000000, 'x'))", "format() is not available"),
    (
        "SELECT length(replace(replace(replace(replace(replace(replace(replace(replace("
        "'xxxxxxxxxx', 'x', 'xxxxxxxxxx'), 'x', 'xxxxxxxxxx'), 'x', 'xxxxxxxxxx'), "
        "'x', 'xxxxxxxxxx'), 'x', 'xxxxxxxxxx'), 'x', 'xxxxxxxxxx'), 'x', 'xxxxxxxxxx'), "
        "'x', 'xxxxxxxxxx'))",
        "SQL error: string or blob too big",
    ),
    # not a query at all
    ("", "the SQL is empty"),
    ("   ", "the SQL is empty"),
    ("SELEC 1", "SQL error"),
    ("-- only a comment", "refused: the statement returns no rows"),
]


class TestRefusals:
    @pytest.mark.parametrize(("sql", "message"), REFUSED)
    def test_statement_is_refused_with_a_clear_message_and_nothing_changes(
        self, db: SQLDatabase, shop_path: Path, sql: str, message: str
    ) -> None:
        before = digest(shop_path)
        with pytest.raises(ToolError, match=re.escape(message)):
            db.run_select(sql)
        assert db.select("SELECT count(*) FROM orders").rows == ((3,),)
        assert digest(shop_path) == before
        assert sorted(p.name for p in shop_path.parent.iterdir()) == ["shop.db"]

    def test_vacuum_into_creates_no_file(self, db: SQLDatabase, tmp_path: Path) -> None:
        target = tmp_path / "copy.db"
        with pytest.raises(ToolError):
            db.run_select(f"VACUUM INTO '{target}'")
        assert not target.exists()

    def test_refusal_becomes_an_error_result_for_the_model(self, db: SQLDatabase) -> None:
        run_select = {t.name: t for t in db.tools()}["run_select"]
        output = run_select.run(run_select.validate({"sql": "DROP TABLE orders"}))
        assert output.content == (
            "refused: the statement tries to drop a table, view, index or trigger; "
            "only SELECT can run here"
        )
        assert output.is_error

    def test_non_list_params_are_refused(self, db: SQLDatabase) -> None:
        with pytest.raises(ToolError, match="params must be a list"):
            db.select("SELECT ?", "abc")

    def test_wrong_number_of_params_is_explained(self, db: SQLDatabase) -> None:
        with pytest.raises(ToolError, match="bad parameters: Incorrect number of bindings"):
            db.select("SELECT ? + ?", [1])


ATTACK_SCHEMA = """
CREATE TABLE admin_secrets (id INTEGER PRIMARY KEY, value TEXT, public INTEGER);
INSERT INTO admin_secrets VALUES (1, 'root-pw-xyz', 0), (2, 'harmless', 1);
CREATE VIEW public_secrets AS SELECT id, value FROM admin_secrets WHERE public = 1;
CREATE VIEW cte_notes AS
    WITH recent AS (SELECT id, body FROM internal_notes WHERE id > 0) SELECT id, body FROM recent;
CREATE VIEW note_count AS SELECT count(*) AS n FROM internal_notes;
CREATE VIEW notes_of_notes AS SELECT id, body FROM notes_view;
CREATE VIEW token_view AS SELECT id, value AS api_token, value FROM admin_secrets;
"""

ATTACK_ALLOWED = [*ALLOWED, "public_secrets", "cte_notes", "note_count", "notes_of_notes"]


@pytest.fixture
def attacked(shop_path: Path) -> Iterator[SQLDatabase]:
    """The shop with a forbidden table and views over it, only some of them allowed."""
    with sqlite3.connect(shop_path) as connection:
        connection.executescript(ATTACK_SCHEMA)
    connection.close()
    database = SQLDatabase.sqlite(shop_path, allow_tables=ATTACK_ALLOWED)
    yield database
    database.close()


SHADOWING = [
    # a common table expression named like an allowed table or view, over a forbidden table
    "WITH orders AS (SELECT * FROM admin_secrets) SELECT * FROM orders",
    "WITH customers AS (SELECT value AS name FROM admin_secrets) SELECT name FROM customers",
    "WITH ORDERS AS (SELECT * FROM admin_secrets) SELECT * FROM orders",
    'WITH "orders" AS (SELECT * FROM admin_secrets) SELECT * FROM orders',
    "WITH 'orders' AS (SELECT * FROM admin_secrets) SELECT * FROM orders",
    "WITH [orders] AS (SELECT * FROM admin_secrets) SELECT * FROM orders",
    "WITH `orders` AS (SELECT * FROM admin_secrets) SELECT * FROM orders",
    "WITH orders(a, b) AS (SELECT id, value FROM admin_secrets) SELECT * FROM orders",
    "WITH orders AS MATERIALIZED (SELECT * FROM admin_secrets) SELECT * FROM orders",
    "WITH orders AS NOT MATERIALIZED (SELECT * FROM admin_secrets) SELECT * FROM orders",
    "WITH x AS (SELECT 1), orders /* c */ AS (SELECT * FROM admin_secrets) SELECT * FROM orders",
    "WITH RECURSIVE orders(a, b) AS (SELECT id, value FROM admin_secrets "
    "UNION ALL SELECT a, b FROM orders WHERE 0) SELECT * FROM orders",
    "WITH order_totals AS (SELECT * FROM admin_secrets) SELECT * FROM order_totals",
    "WITH public_secrets AS (SELECT id, value FROM admin_secrets) SELECT * FROM public_secrets",
    "WITH public_secrets AS (SELECT id, value FROM admin_secrets WHERE public = 0) "
    "SELECT * FROM public_secrets",
    "WITH recent AS (SELECT id, body FROM internal_notes) SELECT * FROM recent",
    "SELECT * FROM (WITH orders AS (SELECT * FROM admin_secrets) SELECT * FROM orders)",
    "SELECT (WITH orders AS (SELECT value FROM admin_secrets) SELECT value FROM orders)",
    # aliases and subqueries named like allowed tables
    "SELECT value FROM admin_secrets AS orders",
    "SELECT * FROM (SELECT * FROM admin_secrets) AS orders",
    "SELECT customers.value FROM orders JOIN admin_secrets AS customers ON 1",
    # views that are not allowed, however they are reached
    "SELECT * FROM token_view",
    "SELECT count(*) FROM token_view",
    "SELECT 1 WHERE EXISTS (SELECT 1 FROM token_view WHERE value LIKE 'root%')",
    "SELECT count(*) FROM notes_view",
    # the schema tables and pragma functions
    "SELECT * FROM sqlite_temp_master",
    "SELECT * FROM temp.sqlite_schema",
    "SELECT * FROM main.sqlite_master",
    "SELECT name FROM sqlite_schema WHERE type = 'table'",
    "SELECT * FROM pragma_table_list",
    "SELECT * FROM pragma_table_info('admin_secrets')",
    "SELECT * FROM pragma_database_list",
    "SELECT * FROM orders, pragma_index_list('admin_secrets')",
]


class TestShadowing:
    @pytest.mark.parametrize("sql", SHADOWING)
    def test_forbidden_rows_are_not_read_under_an_allowed_name(
        self, attacked: SQLDatabase, sql: str
    ) -> None:
        with pytest.raises(ToolError, match=r"^refused: ") as caught:
            attacked.run_select(sql)
        assert "root-pw-xyz" not in str(caught.value)

    @pytest.mark.parametrize("sql", SHADOWING)
    def test_a_lookup_with_the_same_sql_is_refused_too(
        self, attacked: SQLDatabase, sql: str
    ) -> None:
        leak = attacked.lookup("leak", sql, description="A developer's mistake.")
        output = leak.run({})
        assert output.is_error
        assert "root-pw-xyz" not in str(output.content)

    def test_the_refusal_names_the_shadowing_common_table_expression(
        self, attacked: SQLDatabase
    ) -> None:
        with pytest.raises(ToolError) as caught:
            attacked.run_select("WITH orders AS (SELECT 1 AS id) SELECT id FROM orders")
        assert str(caught.value) == (
            "refused: the common table expression orders has the name of a table or view of "
            "the database; give it a name of its own"
        )

    def test_common_table_expressions_with_names_of_their_own_still_work(
        self, attacked: SQLDatabase
    ) -> None:
        result = attacked.select(
            "WITH big(id) AS (SELECT id FROM orders WHERE total_cents > 1000), "
            "ids AS MATERIALIZED (SELECT id FROM big) SELECT count(*) FROM ids"
        )
        assert result.rows == ((2,),)
        assert attacked.select(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3) "
            "SELECT sum(i) FROM n"
        ).rows == ((6,),)

    def test_an_alias_of_an_allowed_view_over_a_forbidden_name_reads_the_view(
        self, attacked: SQLDatabase
    ) -> None:
        result = attacked.select("SELECT value FROM public_secrets AS admin_secrets")
        assert result.rows == (("harmless",),)


    def test_schema_changed_by_another_process_is_seen_by_the_next_query(
        self, shop_path: Path
    ) -> None:
        db = SQLDatabase.sqlite(shop_path, allow_tables=[*ALLOWED, "notes_view"])
        assert db.select("WITH late AS (SELECT 1 AS n) SELECT n FROM late").rows == ((1,),)
        assert db.select("SELECT body FROM notes_view").rows == (("chargeback risk",),)
        with sqlite3.connect(shop_path) as connection:
            connection.executescript(
                "CREATE TABLE late (body TEXT); INSERT INTO late VALUES ('new notes');"
                "DROP VIEW notes_view; CREATE VIEW notes_view AS SELECT body FROM late;"
            )
        connection.close()
        with pytest.raises(ToolError, match="common table expression late has the name"):
            db.select("WITH late AS (SELECT body FROM internal_notes) SELECT body FROM late")
        assert db.select("SELECT body FROM notes_view").rows == (("new notes",),)
        with pytest.raises(ToolError, match="internal_notes is not available"):
            db.select("SELECT body FROM internal_notes")
        db.close()


class TestAllowedViews:
    def test_allowed_view_reads_a_forbidden_table_while_the_table_stays_refused(
        self, attacked: SQLDatabase
    ) -> None:
        assert attacked.select("SELECT id, value FROM public_secrets").rows == ((2, "harmless"),)
        with pytest.raises(ToolError, match="admin_secrets is not available"):
            attacked.select("SELECT value FROM admin_secrets")
        with pytest.raises(ToolError, match="admin_secrets is not available"):
            attacked.select("SELECT count(*) FROM admin_secrets")

    def test_view_with_a_common_table_expression_inside_is_readable(
        self, attacked: SQLDatabase
    ) -> None:
        assert attacked.select("SELECT body FROM cte_notes").rows == (("chargeback risk",),)
        assert attacked.select("SELECT count(body) FROM cte_notes").rows == ((1,),)

    def test_view_that_aggregates_a_forbidden_table_is_readable(
        self, attacked: SQLDatabase
    ) -> None:
        assert attacked.select("SELECT n FROM note_count").rows == ((1,),)
        assert attacked.select("SELECT count(*) FROM note_count").rows == ((1,),)

    def test_allowed_view_can_be_used_from_the_models_own_cte_and_subquery(
        self, attacked: SQLDatabase
    ) -> None:
        assert attacked.select(
            "WITH p AS (SELECT value FROM public_secrets) SELECT value FROM p"
        ).rows == (("harmless",),)
        assert attacked.select(
            "SELECT (SELECT value FROM public_secrets WHERE id = o.customer_id) "
            "FROM orders o WHERE o.id = 'A-1003'"
        ).rows == (("harmless",),)

    def test_allowed_view_over_a_view_that_is_not_allowed_is_refused(
        self, attacked: SQLDatabase
    ) -> None:
        with pytest.raises(ToolError) as caught:
            attacked.select("SELECT body FROM notes_of_notes")
        assert str(caught.value) == "refused: the view notes_view is not available; see list_tables"

    def test_secret_column_through_an_allowed_view_stays_withheld(self, shop_path: Path) -> None:
        with sqlite3.connect(shop_path) as connection:
            connection.executescript(ATTACK_SCHEMA)
        connection.close()
        db = SQLDatabase.sqlite(shop_path, allow_tables=["token_view"])
        result = db.select("SELECT id, api_token, value FROM token_view WHERE id = 2")
        assert result == QueryResult(
            ("id", "value"), ((2, "harmless"),), withheld_columns=("token_view.api_token",)
        )

    @pytest.mark.parametrize(
        "sql", ["SELECT count(*) FROM cte_notes", "SELECT id FROM cte_notes"]
    )
    def test_a_view_query_that_uses_no_column_of_a_hidden_table_says_what_to_name(
        self, attacked: SQLDatabase, sql: str
    ) -> None:
        # SQLite merges the view into the query; a table of which no column is then used
        # (count(*), or only its row id) is reported as a bare read of that table, which
        # cannot be told apart from the model naming the table itself.
        with pytest.raises(ToolError) as caught:
            attacked.select(sql)
        assert str(caught.value) == (
            "refused: the table internal_notes is not available; to read a view over it, "
            "use one of the view's columns other than the row id (count(column), not count(*))"
        )

    def test_describe_and_sample_an_allowed_view_over_a_forbidden_table(
        self, attacked: SQLDatabase
    ) -> None:
        described = rows_of(attacked.describe_table("public_secrets"))
        assert described["sample_rows"] == {"columns": ["id", "value"], "rows": [[2, "harmless"]]}


class TestTools:
    def test_tools_have_model_facing_definitions(self, db: SQLDatabase) -> None:
        definitions = [t.definition() for t in db.tools(prefix="shop_")]
        assert [d["name"] for d in definitions] == [
            "shop_list_tables",
            "shop_describe_table",
            "shop_run_select",
        ]
        assert definitions[0]["input_schema"] == {
            "type": "object",
            "properties": {},
            "required": [],
            "additionalProperties": False,
        }
        assert definitions[1]["input_schema"]["required"] == ["table"]
        run_select = definitions[2]
        assert run_select["description"] == (
            "Run one read-only SQLite SELECT query and get at most 2 rows as compact JSON "
            "(columns, rows, notes); further rows are counted, not shown. Parameters: write ? "
            "for each parameter, bound in order from params. Only tables from list_tables can "
            "be read, some columns are withheld, long values are cut, and slow queries are "
            "stopped."
        )
        assert run_select["input_schema"] == {
            "type": "object",
            "properties": {
                "sql": {
                    "description": "Exactly one SELECT statement (WITH … SELECT is fine); "
                    "no other statements.",
                    "type": "string",
                },
                "params": {
                    "items": {"type": ["string", "integer", "number", "boolean", "null"]},
                    "type": ["array", "null"],
                    "default": None,
                    "description": "Values for the query's placeholders, in order; pass values "
                    "this way rather than pasting them into the SQL.",
                },
            },
            "required": ["sql"],
            "additionalProperties": False,
        }

    def test_run_select_tool_binds_params(self, db: SQLDatabase) -> None:
        run_select = {t.name: t for t in db.tools()}["run_select"]
        arguments = run_select.validate(
            {"sql": "SELECT status FROM orders WHERE id = ?", "params": ["A-1003"]}
        )
        assert run_select.run(arguments) == ToolOutput(
            content='{"columns":["status"],"rows":[["refunded"]]}'
        )

    def test_describe_tool_error_for_unknown_table(self, db: SQLDatabase) -> None:
        describe = {t.name: t for t in db.tools()}["describe_table"]
        output = describe.run({"table": "payments"})
        assert (output.is_error, output.content) == (
            True,
            "no table named 'payments' is available; "
            "available tables: customers, order_totals, orders",
        )


class TestLookups:
    def test_lookup_becomes_a_typed_tool(self, db: SQLDatabase) -> None:
        order_by_id = db.lookup(
            "order_by_id",
            "SELECT id, status, total_cents FROM orders WHERE id = :order_id",
            params={"order_id": str},
            param_descriptions={"order_id": "The order number, like A-1001."},
            description="Find an order by its number.",
        )
        assert order_by_id.definition() == {
            "name": "order_by_id",
            "description": "Find an order by its number.",
            "input_schema": {
                "type": "object",
                "properties": {
                    "order_id": {"type": "string", "description": "The order number, like A-1001."}
                },
                "required": ["order_id"],
                "additionalProperties": False,
            },
        }
        output = order_by_id.run(order_by_id.validate({"order_id": "A-1001"}))
        assert output.content == (
            '{"columns":["id","status","total_cents"],"rows":[["A-1001","shipped",4200]]}'
        )
        assert db.lookup_tools() == [order_by_id]

    def test_lookup_arguments_are_validated_against_their_types(self, db: SQLDatabase) -> None:
        orders_over = db.lookup(
            "orders_over",
            "SELECT id FROM orders WHERE total_cents > :cents AND customer_id = :customer",
            params={"cents": Annotated[int, Field(ge=0)], "customer": int},
            description="Orders of a customer above an amount.",
        )
        assert orders_over.run(orders_over.validate({"cents": 1000, "customer": 1})) == ToolOutput(
            content='{"columns":["id"],"rows":[["A-1001"],["A-1002"]]}'
        )
        with pytest.raises(ToolArgumentsError) as caught:
            orders_over.validate({"cents": -5, "customer": 1})
        assert "cents" in caught.value.model_message

    def test_lookup_values_cannot_inject_sql(self, db: SQLDatabase) -> None:
        find = db.lookup(
            "find_order",
            "SELECT id FROM orders WHERE id = :order_id",
            params={"order_id": str},
            description="Find an order.",
        )
        output = find.run({"order_id": "A-1001' OR '1'='1"})
        assert output.content == '{"columns":["id"],"rows":[]}'

    def test_lookup_obeys_the_secret_policy(self, db: SQLDatabase) -> None:
        customer = db.lookup(
            "customer",
            "SELECT name, password_hash FROM customers WHERE id = :id",
            params={"id": int},
            description="A customer.",
        )
        assert rows_of(customer.run({"id": 1}).content) == {  # type: ignore[arg-type]
            "columns": ["name"],
            "rows": [["Ada Lovelace"]],
            "notes": ["not available to you, read as NULL or left out: customers.password_hash"],
        }

    def test_placeholders_and_params_must_match(self, db: SQLDatabase) -> None:
        with pytest.raises(ConfigurationError) as caught:
            db.lookup(
                "bad",
                "SELECT * FROM orders WHERE id = :order_id AND status = ':not_a_param'",
                params={"id": str},
                description="Broken.",
            )
        assert str(caught.value) == (
            "lookup 'bad': undeclared placeholders :order_id; parameters never used in the "
            "SQL: id; every :name in the SQL needs an entry in params={...} and every entry "
            "needs its :name"
        )

    def test_lookup_names_are_unique(self, db: SQLDatabase) -> None:
        db.lookup("all_orders", "SELECT id FROM orders", description="All orders.")
        with pytest.raises(ConfigurationError, match="already declared"):
            db.lookup("all_orders", "SELECT id FROM orders", description="Again.")

    def test_lookup_with_a_write_is_refused_when_run(self, db: SQLDatabase) -> None:
        wipe = db.lookup("wipe", "DELETE FROM orders", description="Not allowed.")
        output = wipe.run({})
        assert (output.is_error, output.content) == (
            True,
            "refused: the statement tries to delete rows (orders); only SELECT can run here",
        )


class TestPlaceholders:
    def test_placeholders_skip_literals_comments_and_casts(self) -> None:
        sql = (
            "SELECT ':a', \"col:b\", x::text, $$ :c $$ -- :d\n"
            "FROM t /* :e */ WHERE y = :f AND z = :g OR w = :f"
        )
        assert [p.name for p in find_placeholders(sql)] == ["f", "g", "f"]

    def test_numbered_form_reuses_numbers_for_repeated_names(self) -> None:
        sql = "SELECT * FROM t WHERE a = :x OR b = :y OR c = :x"
        assert to_numbered(sql, find_placeholders(sql), ["x", "y"]) == (
            "SELECT * FROM t WHERE a = $1 OR b = $2 OR c = $1"
        )


class TestDefinedNames:
    @pytest.mark.parametrize(
        ("sql", "names"),
        [
            ("WITH a AS (SELECT 1), b(x, y) AS (SELECT 1, 2) SELECT 1", ["a", "b"]),
            ("WITH RECURSIVE r AS MATERIALIZED (SELECT 1) SELECT 1", ["r"]),
            ("WITH r AS NOT MATERIALIZED(SELECT 1) SELECT 1", ["r"]),
            ('WITH "or""ders" AS (SELECT 1) SELECT 1', ['or"ders']),
            ("WITH 'it''s' AS (SELECT 1) SELECT 1", ["it's"]),
            ("WITH [a b] AS (SELECT 1) SELECT 1", ["a b"]),
            ("WITH `a``b` AS (SELECT 1) SELECT 1", ["a`b"]),
            ("WITH/**/o/* AS (x) */AS--c\n(SELECT 1) SELECT 1", ["o"]),
            ("SELECT (WITH inner_one AS (SELECT 1) SELECT 1)", ["inner_one"]),
            ("SELECT 1 WINDOW w AS (ORDER BY 1)", ["w"]),
            ("SELECT 'x AS (' AS label, \"y AS (\" FROM t AS alias", []),
            ("SELECT -- WITH a AS (\n 1", []),
            ("SELECT CAST(1 AS integer)", []),
        ],
    )
    def test_every_name_given_with_as_parenthesis_is_found(
        self, sql: str, names: list[str]
    ) -> None:
        assert defined_names(sql) == names
