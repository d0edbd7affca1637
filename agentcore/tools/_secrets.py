"""Secret tool arguments: checked at definition time, masked wherever a call is shown."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from agentcore.errors import ToolDefinitionError
from agentcore.redaction import REDACTED, mask_fields

__all__ = ["REDACTED", "checked_secret_fields", "redact_secrets"]


def redact_secrets(arguments: Mapping[str, Any], secret_fields: frozenset[str]) -> dict[str, Any]:
    """A copy of ``arguments`` with the value under every secret name, at any depth, masked
    (see :func:`agentcore.redaction.mask_fields`)."""
    masked: dict[str, Any] = mask_fields(dict(arguments), secret_fields)
    return masked


def checked_secret_fields(
    tool_name: str, names: Iterable[str], schema: dict[str, Any]
) -> frozenset[str]:
    """The secret names of a tool, each the name of an argument or of a field inside one.

    Names match keys at any depth, the same rule the approval display, the run store and
    the log redaction apply, so a name is all it takes to keep a nested value secret.

    Raises:
        ToolDefinitionError: a name is not in the schema, or is a dotted path.
    """
    if isinstance(names, str):
        names = (names,)
    known: set[str] = set()
    _collect_property_names(schema, known)
    result = frozenset(names)
    for name in sorted(result):
        if "." in name and name.rsplit(".", 1)[-1] in known:
            field = name.rsplit(".", 1)[-1]
            raise ToolDefinitionError(
                f"tool {tool_name!r}: secret field {name!r} is a path; give the field name "
                f"{field!r} instead (secret names are masked at any depth)"
            )
        if name not in known:
            raise ToolDefinitionError(
                f"tool {tool_name!r}: secret field {name!r} is not an argument of the tool "
                f"nor a field inside one (arguments: {', '.join(schema['properties']) or 'none'})"
            )
    return result


def _collect_property_names(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        properties = node.get("properties")
        if isinstance(properties, dict):
            found.update(properties)
        for value in node.values():
            _collect_property_names(value, found)
    elif isinstance(node, list):
        for item in node:
            _collect_property_names(item, found)
