"""Validate a model's tool arguments and explain every problem in words the model can act on.

Arguments are checked against the tool's JSON Schema (Draft 2020-12, with ``date``,
``date-time``, ``time`` and ``uuid`` formats), then converted to the declared Python types by
the tool's pydantic arguments model. Tools whose parameters are all plain ``str``/``int``/
``float``/``bool`` take a fast path that checks exact types and skips both steps when the
arguments are already right; anything unusual falls through to the full check, so the
results (and the error messages) are the same either way.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError as SchemaError
from pydantic import ValidationError

from agentcore._schema import FunctionSchema
from agentcore.errors import ToolArgumentsError

__all__ = ["ArgumentsValidator", "describe_schema"]

_SHOW_CHARS = 60
_DATE_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?([Zz]|[+-]\d{2}:\d{2})?$"
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?([Zz]|[+-]\d{2}:\d{2})?$")
_FORMAT_EXAMPLES = {
    "date-time": "a date-time such as 2024-05-01T14:30:00Z",
    "date": "a date such as 2024-05-01",
    "time": "a time such as 14:30:00",
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


class ArgumentsValidator:
    """Checks and converts the arguments of one tool; built once per tool."""

    __slots__ = ("_aliases", "_floats", "_model", "_required", "_root", "_simple", "_tool_name",
                 "_validator")

    def __init__(self, tool_name: str, schema: FunctionSchema) -> None:
        self._tool_name = tool_name
        self._root = schema.input_schema
        self._validator = Draft202012Validator(schema.input_schema, format_checker=_formats())
        self._model = schema.arguments_model
        self._aliases = {
            field: info.alias or field for field, info in self._model.model_fields.items()
        }
        self._simple = schema.simple_types
        self._required = schema.required
        self._floats = frozenset(
            name for name, accepted in (schema.simple_types or {}).items() if float in accepted
        )

    def validate(self, arguments: Any) -> dict[str, Any]:
        """Return keyword arguments for the function, or raise ToolArgumentsError."""
        if self._simple is not None and type(arguments) is dict:
            fast = self._validate_simple(arguments)
            if fast is not None:
                return fast
        if not isinstance(arguments, dict):
            raise ToolArgumentsError(
                self._tool_name,
                [("", "the arguments must be a JSON object whose keys are the parameter names, "
                      f"got {_kind_and_value(arguments)}")],
            )
        errors = list(self._validator.iter_errors(arguments))
        if errors:
            raise ToolArgumentsError(self._tool_name, self._explain_all(errors))
        try:
            converted = self._model.model_validate(arguments)
        except ValidationError as exc:
            raise ToolArgumentsError(self._tool_name, _pydantic_problems(exc)) from None
        return {
            self._aliases[field]: getattr(converted, field)
            for field in self._aliases
            if field in converted.model_fields_set
        }

    def _validate_simple(self, arguments: dict[str, Any]) -> dict[str, Any] | None:
        simple = self._simple
        assert simple is not None
        for key, value in arguments.items():
            accepted = simple.get(key)
            if accepted is None or type(value) not in accepted:
                return None
        if not arguments.keys() >= self._required:
            return None
        result = dict(arguments)
        for name in self._floats:
            value = result.get(name)
            if type(value) is int:
                result[name] = float(value)
        return result

    def _explain_all(self, errors: list[SchemaError]) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        for error in errors:
            for problem in self._explain(error):
                if problem not in problems:
                    problems.append(problem)
        # Report in the order of the parameters, whatever order the checks ran in.
        order = {name: index for index, name in enumerate(self._root["properties"])}
        return sorted(problems, key=lambda problem: order.get(_head(problem[0]), len(order)))

    def _explain(self, error: SchemaError) -> Iterator[tuple[str, str]]:
        path = list(error.absolute_path)
        keyword = str(error.validator)
        schema = error.schema if isinstance(error.schema, dict) else {}
        value = error.instance
        noun = "argument" if not path else "field"
        if keyword == "required" and isinstance(value, dict):
            properties = schema.get("properties", {})
            for name in _as_list(error.validator_value):
                if name not in value:
                    expected = describe_schema(properties.get(name, {}), self._root)
                    yield (
                        _format_path([*path, name]),
                        f"required {noun} is missing (expected {expected})",
                    )
        elif keyword == "additionalProperties" and isinstance(value, dict):
            allowed = list(schema.get("properties", {}))
            listed = f"allowed: {', '.join(allowed)}" if allowed else f"no {noun}s are accepted"
            for name in value:
                if name not in allowed:
                    yield _format_path([*path, name]), f"unknown {noun} ({listed})"
        elif keyword in ("anyOf", "oneOf"):
            yield from self._explain_union(error, path, schema, value)
        else:
            yield _format_path(path), self._message(keyword, error, schema, value)

    def _explain_union(
        self, error: SchemaError, path: list[Any], schema: dict[str, Any], value: Any
    ) -> Iterator[tuple[str, str]]:
        branches = _as_list(error.validator_value)
        fitting = [
            index for index, branch in enumerate(branches) if _type_fits(branch, value, self._root)
        ]
        if error.validator == "anyOf" and len(fitting) == 1:
            inner = [
                sub for sub in error.context or () if sub.relative_schema_path[0] == fitting[0]
            ]
            if inner:
                for sub in inner:
                    yield from self._explain(sub)
                return
        if error.validator == "oneOf" and not error.context:
            yield _format_path(path), (
                f"{_show(value)} matches more than one of the allowed forms "
                f"(expected exactly one of: {describe_schema(schema, self._root)})"
            )
            return
        expected = describe_schema(schema, self._root)
        yield _format_path(path), f"expected {expected}, got {_kind_and_value(value)}"

    def _message(self, keyword: str, error: SchemaError, schema: dict[str, Any], value: Any) -> str:
        expected = describe_schema(schema, self._root)
        limit = error.validator_value
        if keyword == "type":
            return f"expected {expected}, got {_kind_and_value(value)}"
        if keyword == "enum":
            allowed = ", ".join(_show(item) for item in _as_list(limit))
            return f"{_show(value)} is not one of the allowed values: {allowed}"
        if keyword == "const":
            return f"expected exactly {_show(limit)}, got {_show(value)}"
        if keyword in ("minimum", "exclusiveMinimum"):
            return f"{_show(value)} is too small (expected {expected})"
        if keyword in ("maximum", "exclusiveMaximum"):
            return f"{_show(value)} is too large (expected {expected})"
        if keyword == "multipleOf":
            return f"{_show(value)} is not a multiple of {limit}"
        if keyword == "minLength":
            return f"{_show(value)} is too short (expected {expected})"
        if keyword == "maxLength":
            return f"{_show(value)} is too long (expected {expected})"
        if keyword == "pattern":
            return f"{_show(value)} does not match the required pattern {limit}"
        if keyword == "format":
            return f"{_show(value)} is not a valid {limit} (expected {expected})"
        if keyword == "minItems":
            return f"has {_count(len(value), 'item')}, expected at least {limit}"
        if keyword == "maxItems":
            return f"has {_count(len(value), 'item')}, expected at most {limit}"
        if keyword == "uniqueItems":
            return "contains duplicate items (every item must be different)"
        return f"{error.message} (expected {expected})"


def _head(path: str) -> str:
    return re.split(r"[.\[]", path, maxsplit=1)[0]


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def _formats() -> FormatChecker:
    checker = FormatChecker(formats=())
    checker.checks("date-time", raises=ValueError)(_check_date_time)
    checker.checks("date", raises=ValueError)(_check_date)
    checker.checks("time", raises=ValueError)(_check_time)
    checker.checks("uuid", raises=ValueError)(_check_uuid)
    return checker


def _check_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    return bool(_DATE_TIME.match(value)) and bool(dt.datetime.fromisoformat(value))


def _check_date(value: object) -> bool:
    if not isinstance(value, str):
        return True
    return bool(_DATE.match(value)) and bool(dt.date.fromisoformat(value))


def _check_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    return bool(_TIME.match(value)) and bool(dt.time.fromisoformat(value))


def _check_uuid(value: object) -> bool:
    if not isinstance(value, str):
        return True
    uuid.UUID(value)
    return True


def _pydantic_problems(exc: ValidationError) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    for item in exc.errors(include_url=False):
        message = str(item["msg"])
        if "input" in item and item["type"] not in ("missing", "extra_forbidden"):
            message += f" (got {_show(item['input'])})"
        problems.append((_format_path(list(item["loc"])), message))
    return problems


def _type_fits(branch: Any, value: Any, root: dict[str, Any]) -> bool:
    if not isinstance(branch, dict):
        return True
    branch = _resolve(branch, root)
    expected = branch.get("type")
    if expected is None:
        return True
    kinds = expected if isinstance(expected, list) else [expected]
    return _json_type(value) in kinds or (
        _json_type(value) == "integer" and "number" in kinds
    )


def _json_type(value: Any) -> str:
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


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
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
    schema = _resolve(schema, root)
    if "enum" in schema:
        return "one of " + ", ".join(_show(item) for item in schema["enum"])
    if "const" in schema:
        return f"exactly {_show(schema['const'])}"
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
        text += f" of at least {_count(low, 'character')}"
    elif high is not None:
        text += f" of at most {_count(high, 'character')}"
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
        return f"a list of exactly {_count(len(prefix), 'item')} ({parts})"
    items = schema.get("items")
    text = "a list"
    if isinstance(items, dict) and items:
        plain = _resolve(items, root)
        if set(plain) <= {"type", "description"} and plain.get("type") in _PLURALS:
            text += f" of {_PLURALS[plain['type']]}"
        else:
            text += f" whose items are each {describe_schema(items, root, depth + 1)}"
    low, high = schema.get("minItems"), schema.get("maxItems")
    if low is not None:
        text += f" with at least {_count(low, 'item')}"
    if high is not None:
        text += f"{' and' if low is not None else ' with'} at most {_count(high, 'item')}"
    if schema.get("uniqueItems"):
        text += ", all different"
    return text


def _describe_object(schema: dict[str, Any], root: dict[str, Any], depth: int) -> str:
    properties = schema.get("properties")
    if isinstance(properties, dict) and properties:
        noun = "field" if len(properties) == 1 else "fields"
        text = f"an object with {noun} {', '.join(properties)}"
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


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _format_path(path: list[Any]) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _show(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    if len(text) > _SHOW_CHARS:
        text = text[: _SHOW_CHARS - 1] + "…"
    return text


def _kind_and_value(value: Any) -> str:
    kind = _json_type(value)
    if kind == "null":
        return "null"
    article = {"integer": "an", "array": "a list", "object": "an object"}
    if kind == "array":
        return f"a list {_show(value)}"
    if kind == "object":
        return f"an object {_show(value)}"
    if kind == "boolean":
        return f"a boolean {_show(value)}"
    if kind in ("string", "integer", "number"):
        return f"{article.get(kind, 'a')} {kind} {_show(value)}"
    return f"a {kind}"
