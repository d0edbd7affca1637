"""Read-only database lookup tools for agents: SQLite built in, PostgreSQL with psycopg 3.

::

    from agentcore_sql import SQLDatabase

    db = SQLDatabase.sqlite("shop.db", allow_tables=["orders", "customers"])
    order_by_id = db.lookup(
        "order_by_id",
        "SELECT id, status, total_cents FROM orders WHERE id = :order_id",
        params={"order_id": str},
        description="Find an order by its number.",
    )
    agent_tools = [order_by_id]          # the model never writes SQL
    explorer_tools = db.tools()          # list_tables, describe_table, run_select

Read-only is enforced by the database, never by reading the SQL text. On SQLite the file is
opened ``mode=ro`` with ``PRAGMA query_only``, and an authorizer refuses every action but
reads of allowed tables and a list of pure functions; a query that reads a secret or
non-allowed column still runs, with that column read as NULL (and dropped from the output
when it holds nothing else), and the result says which columns were withheld. A view named in
``allow_tables`` may be read even when the tables it reads are not (those stay refused to
direct queries, and secret columns stay withheld through the view); a view it reads must be
allowed too, and the query's own common table expressions may not take the name of a table or
view, so that none can pass for an allowed one. On PostgreSQL
each query is the body of a cursor in a read-only transaction under ``statement_timeout``,
always rolled back (advisory locks it took are released after it); what may be read is the
connected role's privileges, which ``run_select`` checks before it runs model-written SQL,
so there ``SELECT *`` on a table with a withheld column fails with "permission denied" and
the model is told to name columns. The same check refuses a role that can execute functions
reaching past its privileges (``SECURITY DEFINER``, untrusted languages such as C: dblink),
signal other sessions, switch to a broader role, read large objects or use foreign servers.

Results are limited to ``row_limit`` rows (up to 1,000 more are counted, never fetched
into the answer), values are cut at ``max_value_chars``, and every cut is stated.
"""

from ._database import SQLDatabase
from ._lookups import Lookup
from ._policy import DEFAULT_SECRET_COLUMNS
from ._results import QueryResult

__all__ = ["DEFAULT_SECRET_COLUMNS", "Lookup", "QueryResult", "SQLDatabase"]
