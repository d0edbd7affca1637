"""The agent tools of a :class:`~tools.sql.SQLDatabase`: three general ones and named lookups."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from agentcore.errors import ConfigurationError
from agentcore.tools import Tool

if TYPE_CHECKING:
    from ._database import Lookup, SQLDatabase

__all__ = ["database_tools", "lookup_tool"]

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


def lookup_tool(
    db: SQLDatabase, lookup: Lookup, param_descriptions: Mapping[str, str]
) -> Tool:
    """A tool whose parameters are the lookup's declared parameters and types."""

    def run(**arguments: Any) -> str:
        return db.run_lookup(lookup, arguments)

    try:
        parameters = [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation)
            for name, annotation in lookup.parameters.items()
        ]
    except ValueError as exc:
        raise ConfigurationError(f"lookup {lookup.name!r}: {exc}") from exc
    run.__name__ = run.__qualname__ = lookup.name
    run.__signature__ = inspect.Signature(parameters, return_annotation=str)  # type: ignore[attr-defined]
    run.__annotations__ = {**lookup.parameters, "return": str}
    unknown = sorted(set(param_descriptions) - set(lookup.parameters))
    if unknown:
        raise ConfigurationError(
            f"lookup {lookup.name!r}: param_descriptions names unknown parameters: "
            + ", ".join(unknown)
        )
    if param_descriptions:
        lines = [
            f"    {name}: {' '.join(text.split())}" for name, text in param_descriptions.items()
        ]
        run.__doc__ = "Run the lookup.\n\nArgs:\n" + "\n".join(lines)
    return Tool(run, name=lookup.name, description=lookup.description)
