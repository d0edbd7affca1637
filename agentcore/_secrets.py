"""Secret tool arguments: checked at definition time, masked wherever a call is shown."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from agentcore.errors import ToolDefinitionError

__all__ = ["REDACTED", "checked_secret_fields", "redact_secrets"]

REDACTED = "[REDACTED]"
"""What a secret argument's value is replaced with."""


def redact_secrets(arguments: Mapping[str, Any], secret_fields: frozenset[str]) -> dict[str, Any]:
    """A copy of ``arguments`` with secret values replaced by :data:`REDACTED`.

    A plain name masks that key at any depth; a dotted name (``card.number``) masks only
    that path.
    """
    redacted: dict[str, Any] = _redact(arguments, secret_fields, "")
    return redacted


def _redact(value: Any, secrets: frozenset[str], prefix: str) -> Any:
    if isinstance(value, Mapping):
        result: dict[str, Any] = {}
        for key, item in value.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if key in secrets or path in secrets:
                result[key] = REDACTED
            else:
                result[key] = _redact(item, secrets, path)
        return result
    if isinstance(value, list | tuple):
        return [_redact(item, secrets, prefix) for item in value]
    return value


def checked_secret_fields(
    tool_name: str, names: Iterable[str], schema: dict[str, Any]
) -> frozenset[str]:
    if isinstance(names, str):
        names = (names,)
    known: set[str] = set()
    _collect_property_names(schema, known)
    result = frozenset(names)
    for name in sorted(result):
        if name.split(".")[-1] not in known:
            raise ToolDefinitionError(
                f"tool {tool_name!r}: secret field {name!r} is not an argument of the tool "
                f"(arguments: {', '.join(schema['properties']) or 'none'})"
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
