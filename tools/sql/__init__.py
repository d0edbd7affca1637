"""Read-only database lookup tools for agents: SQLite built in, PostgreSQL with psycopg 3."""

from ._database import Lookup, SQLDatabase
from ._policy import DEFAULT_SECRET_COLUMNS
from ._results import QueryResult

__all__ = ["DEFAULT_SECRET_COLUMNS", "Lookup", "QueryResult", "SQLDatabase"]
