"""The three general tools of a :class:`~agentcore_sql.SQLDatabase`: list, describe, select."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentcore.tools import Tool

if TYPE_CHECKING:
    from ._database import SQLDatabase

__all__ = ["database_tools"]

Scalar = str | int | float | bool | None


def database_tools(db: SQLDatabase, *, prefix: str) -> list[Tool]:
    """``list_tables``, ``describe_table`` and ``run_select`` over ``db``."""

    def list_tables() -> str:
        return db.list_tables()

    def describe_table(table: str) -> str:
        """Describe a table.

        Args:
            table: A table or view name from list_tables.
        """
        return db.describe_table(table)

    def run_select(sql: str, params: list[Scalar] | None = None) -> str:
        """Run a query.

        Args:
            sql: Exactly one SELECT statement (WITH … SELECT is fine); no other statements.
            params: Values for the query's placeholders, in order; pass values this way
                rather than pasting them into the SQL.
        """
        return db.run_select(sql, params or ())

    output = "compact JSON (columns, rows, notes)" if db.output == "json" else "a text table"
    return [
        Tool(
            list_tables,
            name=f"{prefix}list_tables",
            description=f"List the tables and views of the {db.dialect} database you may read.",
        ),
        Tool(
            describe_table,
            name=f"{prefix}describe_table",
            description=(
                "Show a table's columns, types, primary and foreign keys, and "
                f"{db.sample_rows} sample rows. Call this before writing a query on a table."
            ),
        ),
        Tool(
            run_select,
            name=f"{prefix}run_select",
            description=(
                f"Run one read-only {db.dialect} SELECT query and get at most {db.row_limit} "
                f"rows as {output}; further rows are counted, not shown. Parameters: "
                f"{db.placeholder_help}. Only tables from list_tables can be read, some "
                "columns are withheld, long values are cut, and slow queries are stopped."
            ),
        ),
    ]
