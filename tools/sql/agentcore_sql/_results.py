"""Query results sized for a model: limited rows, cut values, compact JSON or a text table."""

from __future__ import annotations

import datetime
import decimal
import json
import math
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["ColumnInfo", "ForeignKey", "OutputFormat", "QueryResult", "TableInfo", "render_value"]

OutputFormat = Literal["json", "table"]


@dataclass(frozen=True, slots=True)
class QueryResult:
    """The rows a query returned, limited, with what was left out stated."""

    columns: tuple[str, ...]
    """Output column names, in order, without the withheld columns that were dropped."""
    rows: tuple[tuple[Any, ...], ...]
    """At most the row limit of rows, values as the driver returned them."""
    more_rows: int = 0
    """Rows after the shown ones that were counted (0 when the result is complete)."""
    more_rows_exact: bool = True
    """False when counting stopped early (a cap or the time limit): there are at least
    ``more_rows`` more rows."""
    withheld_columns: tuple[str, ...] = ()
    """``table.column`` names the query referred to but may not read; their values read as
    NULL, and output columns holding nothing else are dropped."""

    def format(self, output: OutputFormat, *, max_value_chars: int) -> str:
        """Render for the model as compact JSON or an aligned text table."""
        if output == "table":
            return self.to_table(max_value_chars=max_value_chars)
        return self.to_json(max_value_chars=max_value_chars)

    def to_json(self, *, max_value_chars: int) -> str:
        """``{"columns": [...], "rows": [[...], ...], "notes": [...]}``, compact."""
        cuts = _Cuts()
        rows = [[_json_value(v, max_value_chars, cuts) for v in row] for row in self.rows]
        body: dict[str, Any] = {"columns": list(self.columns), "rows": rows}
        notes = self._notes(max_value_chars, cuts.count)
        if notes:
            body["notes"] = notes
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"))

    def to_table(self, *, max_value_chars: int) -> str:
        """Columns padded to a common width, a rule under the header, notes at the end."""
        cuts = _Cuts()
        cells = [
            [_table_cell(v, max_value_chars, cuts) for v in row] for row in self.rows
        ]
        header = [_escape_layout(c) for c in self.columns]
        widths = [len(h) for h in header]
        for row in cells:
            for i, cell in enumerate(row):
                widths[i] = max(widths[i], len(cell))
        lines = [" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
        lines.append("-+-".join("-" * w for w in widths))
        lines.extend(
            " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
            for row in cells
        )
        count = f"({len(self.rows)} row{'' if len(self.rows) == 1 else 's'})"
        lines.append(count)
        lines.extend(self._notes(max_value_chars, cuts.count))
        return "\n".join(lines)

    def _notes(self, max_value_chars: int, cut_values: int) -> list[str]:
        notes = []
        if self.more_rows:
            amount = str(self.more_rows) if self.more_rows_exact else f"at least {self.more_rows}"
            notes.append(
                f"{amount} more rows not shown; narrow the query (WHERE, aggregates) "
                "or page with LIMIT/OFFSET"
            )
        if cut_values:
            notes.append(
                f"{cut_values} value(s) longer than {max_value_chars} characters were cut; "
                "each cut is marked '…[+N chars]'"
            )
        if self.withheld_columns:
            notes.append(
                "not available to you, read as NULL or left out: "
                + ", ".join(self.withheld_columns)
            )
        return notes


@dataclass(frozen=True, slots=True)
class ColumnInfo:
    """One column of a table as described to the model."""

    name: str
    type: str
    nullable: bool
    primary_key: bool
    default: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The compact form used in ``describe_table`` output."""
        out: dict[str, Any] = {"name": self.name, "type": self.type or "ANY"}
        if self.primary_key:
            out["primary_key"] = True
        if not self.nullable:
            out["not_null"] = True
        if self.default is not None:
            out["default"] = self.default
        return out


@dataclass(frozen=True, slots=True)
class ForeignKey:
    """A reference from some columns of a table to another table's columns."""

    columns: tuple[str, ...]
    table: str
    references: tuple[str, ...]

    def as_text(self) -> str:
        """``"customer_id -> customers(id)"``."""
        return f"{', '.join(self.columns)} -> {self.table}({', '.join(self.references)})"


@dataclass(frozen=True, slots=True)
class TableInfo:
    """A table or view as the model may see it: visible columns only."""

    name: str
    kind: Literal["table", "view"]
    columns: tuple[ColumnInfo, ...]
    foreign_keys: tuple[ForeignKey, ...] = field(default=())


class _Cuts:
    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0


def _cut(text: str, max_chars: int, cuts: _Cuts) -> str:
    if len(text) <= max_chars:
        return text
    cuts.count += 1
    return f"{text[:max_chars]}…[+{len(text) - max_chars} chars]"


def render_value(value: Any) -> str | int | float | bool | None:
    """A driver value as JSON-safe data: exact decimals and dates as text, blobs by size."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<blob: {len(bytes(value))} bytes>"
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID | datetime.timedelta):
        return str(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return str(value)


def _json_value(value: Any, max_chars: int, cuts: _Cuts) -> Any:
    rendered = render_value(value)
    return _cut(rendered, max_chars, cuts) if isinstance(rendered, str) else rendered


def _table_cell(value: Any, max_chars: int, cuts: _Cuts) -> str:
    rendered = render_value(value)
    if rendered is None:
        return "NULL"
    if isinstance(rendered, str):
        return _escape_layout(_cut(rendered, max_chars, cuts))
    return str(rendered).lower() if isinstance(rendered, bool) else str(rendered)


def _escape_layout(text: str) -> str:
    # A newline or tab inside a cell would break the table's alignment for the reader.
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
