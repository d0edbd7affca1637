"""Words for schemas and values, used to explain invalid tool arguments to a model.

:func:`describe_schema` says what a schema accepts ("an integer > 0", "a list of strings",
"one of "red", "green""); :func:`show` and :func:`kind_and_value` quote what was given.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

__all__ = [
    "KIND_NOUNS",
    "counted",
    "describe_schema",
    "json_type",
    "kind_and_value",
    "resolve_ref",
    "show",
]

_SHOW_CHARS = 60
_FORMAT_EXAMPLES = {
    "date-time": "a date-time such as 2024-05-01T14:30:00Z",
    "date": "a date such as 2024-05-01",
    "time": "a time with its UTC offset such as 14:30:00Z",
    "uuid": "a UUID such as 123e4567-e89b-12d3-a456-426614174000",
    "duration": "an ISO 8601 duration such as P1DT2H",
    "email": "an email address",
}
_PLURALS = {
    "string": "strings",
    "integer": "integers",
    "number": "numbers",
    "boolean": "booleans (true or false)",
    "object": "objects",
    "array": "lists",
}

KIND_NOUNS = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "array": "a list",
    "object": "an object",
}
"""A JSON Schema type as a noun with its article ("an integer")."""


def json_type(value: Any) -> str:
    """The JSON Schema type of a parsed JSON value (``1.0`` is an integer, as in the spec)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def resolve_ref(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with a local ``$ref`` replaced by the definition it names."""
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        target = root.get("$defs", {}).get(ref[len("#/$defs/") :], {})
        siblings = {key: value for key, value in schema.items() if key != "$ref"}
        return {**target, **siblings}
    return schema


def describe_schema(schema: Any, root: dict[str, Any], depth: int = 0) -> str:
    """Describe in words the values ``schema`` accepts ("an integer > 0", "one of "a", "b"")."""
    if not isinstance(schema, dict) or depth > 4:
        return "a value"
    schema = resolve_ref(schema, root)
    if "enum" in schema:
        return "one of " + ", ".join(show(item) for item in schema["enum"])
    if "const" in schema:
        return f"exactly {show(schema['const'])}"
    for keyword in ("anyOf", "oneOf"):
        if isinstance(schema.get(keyword), list):
            return " or ".join(
                _unique(describe_schema(branch, root, depth + 1) for branch in schema[keyword])
            )
    kind = schema.get("type")
    if isinstance(kind, list):
        return " or ".join(
            _unique(describe_schema({**schema, "type": item}, root, depth + 1) for item in kind)
        )
    if kind == "string":
        return _describe_string(schema)
    if kind in ("integer", "number"):
        bounds = _bounds(schema)
        noun = "an integer" if kind == "integer" else "a number"
        return f"{noun} {bounds}" if bounds else noun
    if kind == "boolean":
        return "true or false"
    if kind == "null":
        return "null"
    if kind == "array":
        return _describe_array(schema, root, depth)
    if kind == "object":
        return _describe_object(schema, root, depth)
    return "any value"


def _describe_string(schema: dict[str, Any]) -> str:
    fmt = schema.get("format")
    if isinstance(fmt, str):
        return _FORMAT_EXAMPLES.get(fmt, f"a string in {fmt} format")
    text = "a string"
    low, high = schema.get("minLength"), schema.get("maxLength")
    if low is not None and high is not None:
        text += f" of {low} to {high} characters" if low != high else f" of {low} characters"
    elif low is not None:
        text += f" of at least {counted(low, 'character')}"
    elif high is not None:
        text += f" of at most {counted(high, 'character')}"
    if "pattern" in schema:
        text += f" matching the pattern {schema['pattern']}"
    return text


def _bounds(schema: dict[str, Any]) -> str:
    parts = []
    for keyword, symbol in (
        ("exclusiveMinimum", ">"),
        ("minimum", ">="),
        ("exclusiveMaximum", "<"),
        ("maximum", "<="),
    ):
        if keyword in schema:
            parts.append(f"{symbol} {schema[keyword]}")
    if "multipleOf" in schema:
        parts.append(f"that is a multiple of {schema['multipleOf']}")
    return " and ".join(parts)


def _describe_array(schema: dict[str, Any], root: dict[str, Any], depth: int) -> str:
    prefix = schema.get("prefixItems")
    if isinstance(prefix, list):
        parts = ", ".join(describe_schema(item, root, depth + 1) for item in prefix)
        return f"a list of exactly {counted(len(prefix), 'item')} ({parts})"
    items = schema.get("items")
    text = "a list"
    if isinstance(items, dict) and items:
        plain = resolve_ref(items, root)
        if set(plain) <= {"type", "description"} and plain.get("type") in _PLURALS:
            text += f" of {_PLURALS[plain['type']]}"
        else:
            text += f" whose items are each {describe_schema(items, root, depth + 1)}"
    low, high = schema.get("minItems"), schema.get("maxItems")
    if low is not None:
        text += f" with at least {counted(low, 'item')}"
    if high is not None:
        text += f"{' and' if low is not None else ' with'} at most {counted(high, 'item')}"
    if schema.get("uniqueItems"):
        text += ", all different"
    return text


def _describe_object(schema: dict[str, Any], root: dict[str, Any], depth: int) -> str:
    properties = schema.get("properties")
    if isinstance(properties, dict) and properties:
        noun = "field" if len(properties) == 1 else "fields"
        names = [
            f"{name}={show(field['const'])}"
            if isinstance(field, dict) and "const" in field
            else name
            for name, field in properties.items()
        ]
        text = f"an object with {noun} {', '.join(names)}"
        required = [name for name in schema.get("required", []) if name in properties]
        if required and len(required) != len(properties):
            text += f" (required: {', '.join(required)})"
        return text
    values = schema.get("additionalProperties")
    if isinstance(values, dict) and values:
        return f"an object whose values are each {describe_schema(values, root, depth + 1)}"
    return "an object"


def _unique(items: Iterator[str]) -> list[str]:
    return list(dict.fromkeys(items))


def counted(number: int, noun: str) -> str:
    """``1 item``, ``2 items``."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def show(value: Any) -> str:
    """``value`` as JSON, shortened to fit in one line of an error message."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    if len(text) > _SHOW_CHARS:
        text = text[: _SHOW_CHARS - 1] + "…"
    return text


def kind_and_value(value: Any) -> str:
    """Name a JSON value's kind and quote it: ``a string "5"``, ``a list [1, 2]``, ``null``."""
    kind = json_type(value)
    if kind == "null":
        return "null"
    noun = KIND_NOUNS.get(kind)
    if noun is None:
        return f"a {kind}"
    return f"{noun} {show(value)}"
