"""Named lookups: a query the developer writes once, offered to the model as a typed tool."""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from agentcore.errors import ConfigurationError
from agentcore.tools import Tool

from ._params import find_placeholders, to_numbered

if TYPE_CHECKING:
    from ._database import SQLDatabase

__all__ = ["Lookup", "lookup_tool"]


class Lookup:
    """A named, parameterised query written by the developer (see :meth:`SQLDatabase.lookup`)."""

    __slots__ = (
        "_bound_sql",
        "_numbered",
        "_order",
        "description",
        "name",
        "parameters",
        "row_limit",
        "sql",
    )

    def __init__(
        self,
        name: str,
        sql: str,
        parameters: Mapping[str, Any],
        description: str,
        row_limit: int,
        *,
        numbered: bool,
    ) -> None:
        placeholders = find_placeholders(sql)
        used = list(dict.fromkeys(p.name for p in placeholders))
        missing = [p for p in used if p not in parameters]
        unused = [p for p in parameters if p not in used]
        if missing or unused:
            problems = []
            if missing:
                problems.append("undeclared placeholders " + ", ".join(f":{p}" for p in missing))
            if unused:
                problems.append("parameters never used in the SQL: " + ", ".join(unused))
            raise ConfigurationError(
                f"lookup {name!r}: {'; '.join(problems)}; every :name in the SQL needs an "
                "entry in params={...} and every entry needs its :name"
            )
        self.name = name
        self.sql = sql
        self.parameters = dict(parameters)
        self.description = description
        self.row_limit = row_limit
        self._order = used
        self._numbered = numbered
        self._bound_sql = to_numbered(sql, placeholders, used) if numbered else sql

    def bind(self, arguments: Mapping[str, Any]) -> tuple[str, Sequence[Any] | Mapping[str, Any]]:
        """The SQL to send and its parameters, in the backend's placeholder style."""
        if not self._numbered:
            return self.sql, {name: arguments[name] for name in self._order}
        return self._bound_sql, [arguments[name] for name in self._order]


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
