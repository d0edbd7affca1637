"""Validate a model's tool arguments and explain every problem in words the model can act on.

The rule is the tool's JSON Schema (Draft 2020-12, with ``date``, ``date-time``, ``time`` and
``uuid`` formats), and valid arguments are converted to the declared Python types by the
tool's pydantic arguments model. Two fast paths accept arguments without running jsonschema,
whose pure-Python walk costs tens of microseconds per call:

* all parameters plain ``str``/``int``/``float``/``bool``: exact Python types are checked
  directly and nothing needs converting;
* otherwise, pydantic's strict JSON validation, which accepts a subset of what the schema
  accepts (the formats are checked by the same pydantic parsers, and schemas with
  ``uniqueItems``, which pydantic would satisfy by dropping duplicates, skip this path).

Anything a fast path does not accept goes through jsonschema, so rejections and their
messages always come from the schema.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pydantic_core
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError as SchemaError
from pydantic import BaseModel, TypeAdapter, ValidationError

from agentcore.errors import ToolArgumentsError
from agentcore.tools._describe import (
    counted,
    describe_schema,
    json_type,
    kind_and_value,
    resolve_ref,
    show,
)
from agentcore.tools._schema import FunctionSchema

__all__ = ["ArgumentsValidator"]

_FORMAT_TYPES: dict[str, type] = {
    "date-time": dt.datetime,
    "date": dt.date,
    "time": dt.time,
    "uuid": uuid.UUID,
}
_FORMAT_NAMES = {"uuid": "UUID", "date-time": "date and time"}


class ArgumentsValidator:
    """Checks and converts the arguments of one tool; built once per tool."""

    __slots__ = (
        "_aliases",
        "_floats",
        "_model",
        "_required",
        "_root",
        "_simple",
        "_strict_json",
        "_tool_name",
        "_validator",
    )

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
        self._strict_json = not _has_keyword(schema.input_schema, "uniqueItems")

    def validate(self, arguments: Any) -> dict[str, Any]:
        """Return keyword arguments for the function, or raise ToolArgumentsError."""
        if type(arguments) is dict:
            if self._simple is not None:
                simple = self._validate_simple(arguments)
                if simple is not None:
                    return simple
            if self._strict_json:
                try:
                    converted = self._model.model_validate_json(
                        pydantic_core.to_json(arguments), strict=True
                    )
                except (ValidationError, pydantic_core.PydanticSerializationError):
                    pass
                else:
                    return self._keyword_arguments(converted)
        if not isinstance(arguments, dict):
            raise ToolArgumentsError(
                self._tool_name,
                [
                    (
                        "",
                        "the arguments must be a JSON object whose keys are the parameter "
                        f"names, got {kind_and_value(arguments)}",
                    )
                ],
            )
        errors = list(self._validator.iter_errors(arguments))
        if errors:
            raise ToolArgumentsError(self._tool_name, self._explain_all(errors))
        try:
            converted = self._model.model_validate(arguments)
        except ValidationError as exc:
            raise ToolArgumentsError(self._tool_name, _pydantic_problems(exc)) from None
        return self._keyword_arguments(converted)

    def _keyword_arguments(self, converted: BaseModel) -> dict[str, Any]:
        provided = converted.model_fields_set
        return {
            alias: getattr(converted, field)
            for field, alias in self._aliases.items()
            if field in provided
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
        # A wrong type says it all; an enum or length complaint about the same value is noise.
        mistyped = {tuple(error.absolute_path) for error in errors if error.validator == "type"}
        for error in errors:
            if error.validator != "type" and tuple(error.absolute_path) in mistyped:
                continue
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
        context = list(error.context or ())
        if error.validator == "oneOf" and not context:
            yield _format_path(path), (
                f"{show(value)} matches more than one of the allowed forms "
                f"(expected exactly one of: {describe_schema(schema, self._root)})"
            )
            return
        chosen = self._tagged_branch(branches, value, path)
        if isinstance(chosen, tuple):
            yield chosen
            return
        if chosen is None:
            fitting = [
                index
                for index, branch in enumerate(branches)
                if _type_fits(branch, value, self._root)
            ]
            chosen = fitting[0] if len(fitting) == 1 else None
        if chosen is not None:
            inner = [sub for sub in context if sub.relative_schema_path[0] == chosen]
            if inner:
                for sub in inner:
                    yield from self._explain(sub)
                return
        expected = describe_schema(schema, self._root)
        yield _format_path(path), f"expected {expected}, got {kind_and_value(value)}"

    def _tagged_branch(
        self, branches: list[Any], value: Any, path: list[Any]
    ) -> int | tuple[str, str] | None:
        """Pick the branch of a union of objects by a tag field such as ``"kind": "card"``.

        Returns the branch index, a problem with the tag itself, or None when the union has
        no tag field.
        """
        if not isinstance(value, dict):
            return None
        objects = [
            (index, resolved)
            for index, branch in enumerate(branches)
            if isinstance(branch, dict)
            and (resolved := resolve_ref(branch, self._root)).get("type") == "object"
        ]
        if len(objects) < 2:
            return None
        shared = set.intersection(*(set(branch.get("properties", {})) for _, branch in objects))
        for name in sorted(shared):
            tags = [_const_of(branch["properties"][name]) for _, branch in objects]
            if any(tag is _NO_CONST for tag in tags):
                continue
            allowed = ", ".join(show(tag) for tag in tags)
            if name not in value:
                return _format_path([*path, name]), (
                    f"required field is missing (expected one of {allowed})"
                )
            for (index, _), tag in zip(objects, tags, strict=True):
                if value[name] == tag:
                    return index
            return _format_path([*path, name]), (
                f"{show(value[name])} is not one of the allowed values: {allowed}"
            )
        return None

    def _message(self, keyword: str, error: SchemaError, schema: dict[str, Any], value: Any) -> str:
        expected = describe_schema(schema, self._root)
        limit = error.validator_value
        if keyword == "type":
            return f"expected {expected}, got {kind_and_value(value)}"
        if keyword == "enum":
            allowed = ", ".join(show(item) for item in _as_list(limit))
            return f"{show(value)} is not one of the allowed values: {allowed}"
        if keyword == "const":
            return f"expected exactly {show(limit)}, got {show(value)}"
        if keyword in ("minimum", "exclusiveMinimum"):
            return f"{show(value)} is too small (expected {expected})"
        if keyword in ("maximum", "exclusiveMaximum"):
            return f"{show(value)} is too large (expected {expected})"
        if keyword == "multipleOf":
            return f"{show(value)} is not a multiple of {limit}"
        if keyword == "minLength":
            return f"{show(value)} is too short (expected {expected})"
        if keyword == "maxLength":
            return f"{show(value)} is too long (expected {expected})"
        if keyword == "pattern":
            return f"{show(value)} does not match the required pattern {limit}"
        if keyword == "format":
            name = _FORMAT_NAMES.get(str(limit), str(limit))
            return f"{show(value)} is not a valid {name} (expected {expected})"
        if keyword == "minItems":
            return f"has {counted(len(value), 'item')}, expected at least {limit}"
        if keyword == "maxItems":
            return f"has {counted(len(value), 'item')}, expected at most {limit}"
        if keyword == "uniqueItems":
            return "contains duplicate items (every item must be different)"
        return f"{error.message} (expected {expected})"


def _head(path: str) -> str:
    return re.split(r"[.\[]", path, maxsplit=1)[0]


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


@functools.cache
def _formats() -> FormatChecker:
    # One checker serves every tool: it holds only the four parsers, and building their
    # TypeAdapters was a seventh of the cost of making a tool.
    checker = FormatChecker(formats=())
    for name, python_type in _FORMAT_TYPES.items():
        checker.checks(name, raises=ValidationError)(_parses_as(TypeAdapter(python_type)))
    return checker


def _parses_as(adapter: TypeAdapter[Any]) -> Callable[[object], bool]:
    # The conversion's own parser is the format's definition, so whatever passes the schema
    # also converts, and the strict fast path never accepts what the schema refuses.
    def check(value: object) -> bool:
        if isinstance(value, str):
            adapter.validate_json(pydantic_core.to_json(value), strict=True)
        return True

    return check


_NO_CONST = object()


def _const_of(schema: Any) -> Any:
    if isinstance(schema, dict):
        if "const" in schema:
            return schema["const"]
        enum = schema.get("enum")
        if isinstance(enum, list) and len(enum) == 1:
            return enum[0]
    return _NO_CONST


def _has_keyword(node: Any, keyword: str) -> bool:
    if isinstance(node, dict):
        return keyword in node or any(_has_keyword(value, keyword) for value in node.values())
    if isinstance(node, list):
        return any(_has_keyword(item, keyword) for item in node)
    return False


def _pydantic_problems(exc: ValidationError) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    for item in exc.errors(include_url=False):
        message = str(item["msg"])
        if "input" in item and item["type"] not in ("missing", "extra_forbidden"):
            message += f" (got {show(item['input'])})"
        problems.append((_format_path(list(item["loc"])), message))
    return problems


def _type_fits(branch: Any, value: Any, root: dict[str, Any]) -> bool:
    if not isinstance(branch, dict):
        return True
    branch = resolve_ref(branch, root)
    expected = branch.get("type")
    if expected is None:
        return True
    kinds = expected if isinstance(expected, list) else [expected]
    kind = json_type(value)
    return kind in kinds or (kind == "integer" and "number" in kinds)


def _format_path(path: list[Any]) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text
