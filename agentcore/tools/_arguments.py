"""Validate a model's tool arguments and explain every problem in words the model can act on.

The rule is the tool's JSON Schema, the one the model was sent: arguments are accepted
exactly when a Draft 2020-12 validator accepts them, with the formats of
:mod:`agentcore.tools._formats` and patterns matched by Python's ``re`` (as jsonschema
matches them). Only then are they converted to the declared Python types by the tool's
pydantic arguments model, and the converted values are compared with what was validated:
a conversion that would change a value (a number too precise for a float, a string a
validator rewrote) is refused with a message, never passed on silently.

Two fast paths give the schema's answer without jsonschema's pure-Python walk, which costs
tens of microseconds per call:

* all parameters plain ``str``/``int``/``float``/``bool``: exact Python types are checked
  directly (an integer for a float must convert exactly);
* otherwise, the schema compiled into closures (:mod:`agentcore.tools._check`), which
  answers yes or no like jsonschema for plain JSON values and steps aside otherwise.

Anything a fast path does not accept goes through jsonschema, so rejections and their
messages always come from the schema. Values of secret fields (declared or named like a
credential) are never quoted in a message.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import functools
import math
import re
import uuid
from collections.abc import Iterator
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError as SchemaError
from pydantic import BaseModel, ValidationError

from agentcore.errors import ToolArgumentsError
from agentcore.redaction import REDACTED, Redactor
from agentcore.tools._check import Unsure, compile_check
from agentcore.tools._describe import (
    KIND_NOUNS,
    counted,
    describe_schema,
    json_type,
    kind_and_value,
    resolve_ref,
    show,
)
from agentcore.tools._formats import FORMATS, parse_format
from agentcore.tools._schema import FunctionSchema

__all__ = ["ArgumentsValidator", "non_finite_number"]

_FORMAT_NAMES = {"uuid": "UUID", "date-time": "date and time"}
_HIDDEN = "the value (not shown: the field is secret)"
_NOT_FINITE = "is not a finite number (NaN and Infinity are not JSON numbers)"
_LARGEST_FLOAT = 1.7976931348623157e308


class ArgumentsValidator:
    """Checks and converts the arguments of one tool; built once per tool."""

    __slots__ = (
        "_aliases",
        "_check",
        "_floats",
        "_model",
        "_redactor",
        "_required",
        "_root",
        "_simple",
        "_tool_name",
        "_validator",
    )

    def __init__(
        self, tool_name: str, schema: FunctionSchema, secret_fields: frozenset[str] = frozenset()
    ) -> None:
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
        self._check = compile_check(schema.input_schema)
        self._redactor = Redactor(secret_fields)

    def validate(self, arguments: Any) -> dict[str, Any]:
        """Return keyword arguments for the function, or raise ToolArgumentsError.

        NaN and Infinity are refused wherever they appear: they are not JSON numbers. The
        fast paths never accept one (they step aside instead), so only arguments they do not
        accept are walked to name it.
        """
        if type(arguments) is dict:
            if self._simple is not None:
                simple = self._validate_simple(arguments)
                if simple is not None:
                    return simple
            if self._check is not None:
                try:
                    accepted = self._check(arguments)
                except (Unsure, RecursionError):
                    accepted = False
                if accepted:
                    return self._convert(arguments)
            where = non_finite_number(arguments)
            if where is not None:
                raise ToolArgumentsError(self._tool_name, [(where, _NOT_FINITE)])
        if not isinstance(arguments, dict):
            raise ToolArgumentsError(
                self._tool_name,
                [
                    (
                        "",
                        "the arguments must be a JSON object whose keys are the parameter "
                        f"names, got {kind_and_value(self._masked(arguments))}",
                    )
                ],
            )
        try:
            errors = list(self._validator.iter_errors(arguments))
        except (ValueError, TypeError, ArithmeticError, RecursionError, re.error) as exc:
            raise ToolArgumentsError(
                self._tool_name,
                [("", f"the arguments are not plain JSON values and cannot be checked ({exc})")],
            ) from None
        if errors:
            raise ToolArgumentsError(self._tool_name, self._explain_all(errors))
        return self._convert(arguments)

    def _convert(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """The validated arguments as the declared Python types, provably the same values."""
        try:
            converted = self._model.model_validate(arguments)
        except ValidationError as exc:
            if not any(item["type"] == "int_parsing_size" for item in exc.errors()):
                raise ToolArgumentsError(self._tool_name, self._pydantic_problems(exc)) from None
            # A whole number written with an exponent (1e20) is an integer to the schema.
            try:
                converted = self._model.model_validate(_whole_floats_as_ints(arguments))
            except ValidationError as retry:
                raise ToolArgumentsError(
                    self._tool_name, self._pydantic_problems(retry)
                ) from None
        provided = converted.model_fields_set
        kwargs: dict[str, Any] = {}
        problems: list[tuple[str, str]] = []
        for field, name in self._aliases.items():
            if field not in provided:
                continue
            value = kwargs[name] = getattr(converted, field)
            given = arguments[name]
            kind = type(value)
            if kind is type(given) and kind in _SAME_WHEN_EQUAL and given == value:
                continue
            difference = _difference(given, value)
            if difference is not None:
                where, given_part, value_part = difference
                where.insert(0, name)
                problems.append(self._changed(where, given_part, value_part))
        if problems:
            raise ToolArgumentsError(self._tool_name, problems)
        return kwargs

    def _changed(self, path: list[Any], given: Any, converted: Any) -> tuple[str, str]:
        where = _format_path(path)
        if self._secret_path(path):
            return where, f"{_HIDDEN} cannot be used exactly as given; send it in plain form"
        shown = self._quote(given, path)
        if isinstance(converted, float) and not isinstance(given, bool):
            return where, (
                f"{shown} cannot be held exactly as a floating-point number (it would become "
                f"{converted!r}); send a number with at most 15 significant digits"
            )
        if isinstance(converted, BaseModel):
            became = show(self._masked(converted.model_dump(mode="json", by_alias=True)))
        else:
            became = _python_show(self._masked(converted))
        return where, (
            f"{shown} would reach the tool changed (as {became}); send the value exactly in "
            "the form it is used"
        )

    def _validate_simple(self, arguments: dict[str, Any]) -> dict[str, Any] | None:
        simple = self._simple
        assert simple is not None
        for key, value in arguments.items():
            accepted = simple.get(key)
            kind = type(value)
            if accepted is None or kind not in accepted:
                return None
            if kind is float and not math.isfinite(value):
                return None
        if not arguments.keys() >= self._required:
            return None
        result = dict(arguments)
        for name in self._floats:
            value = result.get(name)
            if type(value) is int:
                try:
                    exact = float(value)
                except OverflowError:
                    return None
                if exact != value:
                    return None
                result[name] = exact
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
            yield _format_path(path), self._message(keyword, error, schema, value, path)

    def _explain_union(
        self, error: SchemaError, path: list[Any], schema: dict[str, Any], value: Any
    ) -> Iterator[tuple[str, str]]:
        branches = _as_list(error.validator_value)
        context = list(error.context or ())
        if error.validator == "oneOf" and not context:
            yield _format_path(path), (
                f"{self._quote(value, path)} matches more than one of the allowed forms "
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
        yield _format_path(path), f"expected {expected}, got {self._kind_and_quote(value, path)}"

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
                f"{self._quote(value[name], [*path, name])} is not one of the allowed values: "
                f"{allowed}"
            )
        return None

    def _message(
        self, keyword: str, error: SchemaError, schema: dict[str, Any], value: Any, path: list[Any]
    ) -> str:
        expected = describe_schema(schema, self._root)
        limit = error.validator_value
        quoted = self._quote(value, path)
        if keyword == "type":
            return f"expected {expected}, got {self._kind_and_quote(value, path)}"
        if keyword == "enum":
            allowed = ", ".join(show(item) for item in _as_list(limit))
            return f"{quoted} is not one of the allowed values: {allowed}"
        if keyword == "const":
            return f"expected exactly {show(limit)}, got {quoted}"
        if keyword in ("minimum", "exclusiveMinimum"):
            return f"{quoted} is too small (expected {expected})"
        if keyword in ("maximum", "exclusiveMaximum"):
            return f"{quoted} is too large (expected {expected})"
        if keyword == "multipleOf":
            return f"{quoted} is not a multiple of {limit}"
        if keyword == "minLength":
            return f"{quoted} is too short (expected {expected})"
        if keyword == "maxLength":
            return f"{quoted} is too long (expected {expected})"
        if keyword == "pattern":
            return f"{quoted} does not match the required pattern {limit}"
        if keyword == "format":
            name = _FORMAT_NAMES.get(str(limit), str(limit))
            return f"{quoted} is not a valid {name} (expected {expected})"
        if keyword == "minItems":
            return f"has {counted(len(value), 'item')}, expected at least {limit}"
        if keyword == "maxItems":
            return f"has {counted(len(value), 'item')}, expected at most {limit}"
        if keyword == "uniqueItems":
            return "contains duplicate items (every item must be different)"
        if self._secret_path(path):
            return f"{_HIDDEN} does not fit the schema (expected {expected})"
        return f"{error.message} (expected {expected})"

    # --- secrets --------------------------------------------------------------------------

    def _secret_path(self, path: list[Any]) -> bool:
        return any(isinstance(part, str) and self._redactor.is_secret_key(part) for part in path)

    def _masked(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {
                key: REDACTED
                if isinstance(key, str) and self._redactor.is_secret_key(key)
                else self._masked(item)
                for key, item in value.items()
            }
        if isinstance(value, list | tuple):
            return [self._masked(item) for item in value]
        return value

    def _quote(self, value: Any, path: list[Any]) -> str:
        """``value`` as a message may quote it: a secret field's value never is."""
        if self._secret_path(path):
            return _HIDDEN
        return show(self._masked(value))

    def _kind_and_quote(self, value: Any, path: list[Any]) -> str:
        if self._secret_path(path):
            kind = json_type(value)
            noun = KIND_NOUNS.get(kind, kind)
            return "null" if kind == "null" else f"{noun} (not shown: the field is secret)"
        return kind_and_value(self._masked(value))

    def _pydantic_problems(self, exc: ValidationError) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        for item in exc.errors(include_url=False):
            path = list(item["loc"])
            message = str(item["msg"])
            given = item.get("input")
            if item["type"] in ("float_type", "float_parsing") and type(given) is int:
                message = (
                    "is too large for a number (the largest is about 1.8e308)"
                    if abs(given) > _LARGEST_FLOAT
                    else message
                )
            if self._secret_path(path) and isinstance(given, str) and given:
                message = message.replace(given, REDACTED)
            if "input" in item and item["type"] not in ("missing", "extra_forbidden"):
                message += f" (got {self._quote(given, path)})"
            problems.append((_format_path(path), message))
        return problems


def non_finite_number(value: Any, path: str = "") -> str | None:
    """The path (``items[2].price``) of the first NaN or infinite float in ``value``, or None.

    ``json.loads`` accepts ``NaN`` and ``Infinity``, so arguments parsed from a model's reply
    may hold them although JSON has no such numbers.
    """
    kind = type(value)
    if kind is float:
        return None if math.isfinite(value) else (path or "arguments")
    if kind is dict:
        for key, item in value.items():
            kind = type(item)
            if kind is float or kind is dict or kind is list:
                found = non_finite_number(item, f"{path}.{key}" if path else str(key))
                if found is not None:
                    return found
    elif kind is list:
        for index, item in enumerate(value):
            found = non_finite_number(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def _head(path: str) -> str:
    return re.split(r"[.\[]", path, maxsplit=1)[0]


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


@functools.cache
def _formats() -> FormatChecker:
    """The formats the schemas name, with the meaning :mod:`agentcore.tools._formats` gives."""
    checker = FormatChecker(formats=())
    for name, conforms in FORMATS.items():
        checker.checks(name)(conforms)
    return checker


_NO_CONST = object()


def _const_of(schema: Any) -> Any:
    if isinstance(schema, dict):
        if "const" in schema:
            return schema["const"]
        enum = schema.get("enum")
        if isinstance(enum, list) and len(enum) == 1:
            return enum[0]
    return _NO_CONST


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


def _whole_floats_as_ints(value: Any) -> Any:
    if type(value) is float and value.is_integer():
        return int(value)
    if type(value) is dict:
        return {key: _whole_floats_as_ints(item) for key, item in value.items()}
    if type(value) is list:
        return [_whole_floats_as_ints(item) for item in value]
    return value


def _python_show(value: Any) -> str:
    if isinstance(value, str | int | float | bool | list | dict) or value is None:
        return show(value)
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"


_NUMBERS = (int, float)
# Converted values of these types mean the given value when it has the same type and is equal.
_SAME_WHEN_EQUAL = frozenset({str, int, bool})
_LEAF_TYPES = frozenset(
    {bool, float, type(None), dt.date, dt.datetime, dt.time, uuid.UUID, decimal.Decimal}
)


def _difference(given: Any, value: Any) -> tuple[list[Any], Any, Any] | None:
    """Where the converted ``value`` stops meaning the validated JSON ``given``, if anywhere.

    Returns ``(path, given part, converted part)`` of the first difference, the path
    relative to ``value`` (each enclosing level inserts its key), or None.
    """
    kind = type(value)
    if kind is str:
        same = type(given) is str and given == value
    elif kind is int:
        same = type(given) in _NUMBERS and given == value
    elif kind is list or kind is tuple:
        return _sequence_difference(given, value)
    elif kind is dict:
        return _mapping_difference(given, value)
    elif kind in _LEAF_TYPES or isinstance(value, enum.Enum):
        same = _same_leaf(given, value)
    elif isinstance(value, BaseModel):
        return _model_difference(given, value)
    elif isinstance(value, set | frozenset):
        return _set_difference(given, value)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _dataclass_difference(given, value)
    else:
        same = _same_leaf(given, value)
    return None if same else ([], given, value)


def _sequence_difference(
    given: Any, value: list[Any] | tuple[Any, ...]
) -> tuple[list[Any], Any, Any] | None:
    if type(given) is not list or len(value) != len(given):
        return [], given, value
    for index, item in enumerate(value):
        found = _difference(given[index], item)
        if found is not None:
            found[0].insert(0, index)
            return found
    return None


def _set_difference(
    given: Any, value: set[Any] | frozenset[Any]
) -> tuple[list[Any], Any, Any] | None:
    if type(given) is not list or len(value) != len(given):
        return [], given, value
    members = list(value)
    for index, part in enumerate(given):
        if not any(_difference(part, item) is None for item in members):
            return [index], part, value
    return None


def _mapping_difference(
    given: Any, value: dict[Any, Any]
) -> tuple[list[Any], Any, Any] | None:
    if type(given) is not dict or len(value) != len(given):
        return [], given, value
    for key, item in value.items():
        name = _json_key(key)
        if name is None or name not in given:
            return [], given, value
        found = _difference(given[name], item)
        if found is not None:
            found[0].insert(0, name)
            return found
    return None


def _dataclass_difference(given: Any, value: Any) -> tuple[list[Any], Any, Any] | None:
    if type(given) is not dict:
        return [], given, value
    for field in dataclasses.fields(value):
        name = field.name
        if name in given:
            found = _difference(given[name], getattr(value, name))
            if found is not None:
                found[0].insert(0, name)
                return found
    return None


@functools.cache
def _model_keys(model: type[BaseModel]) -> tuple[tuple[str, str], ...]:
    """Each field of ``model`` with the key that carries it in JSON."""
    keys = []
    for field, info in model.model_fields.items():
        alias = info.validation_alias if isinstance(info.validation_alias, str) else info.alias
        keys.append((field, alias or field))
    return tuple(keys)


def _model_difference(given: Any, value: BaseModel) -> tuple[list[Any], Any, Any] | None:
    if type(given) is not dict:
        return [], given, value
    provided = value.model_fields_set
    for field, name in _model_keys(type(value)):
        if field in provided:
            if name not in given:
                # Filled from a key the schema does not name (populate_by_name).
                return [], given, value
            item = getattr(value, field)
            part = given[name]
            kind = type(item)
            if kind is type(part) and kind in _SAME_WHEN_EQUAL and part == item:
                continue
            found = _difference(part, item)
            if found is not None:
                found[0].insert(0, name)
                return found
        elif name in given:
            return [name], given[name], getattr(value, field)
    return None


def _json_key(key: Any) -> str | None:
    if isinstance(key, enum.Enum):
        key = key.value
    if type(key) is str:
        return key
    if type(key) is int:
        return str(key)
    return None


def _same_leaf(given: Any, value: Any) -> bool:
    """Whether a converted scalar means exactly the JSON scalar it came from."""
    if isinstance(value, enum.Enum):
        value = value.value
    kind = type(value)
    given_kind = type(given)
    if kind is str:
        return given_kind is str and given == value
    if kind is bool or value is None:
        return given is value
    if kind is int:
        return given_kind in _NUMBERS and given == value
    if kind is float:
        return given_kind in _NUMBERS and (given == value or (given != given and value != value))
    if kind is decimal.Decimal:
        return _same_decimal(given, value)
    if given_kind is not str:
        return False
    if kind is dt.datetime:
        parsed = parse_format("date-time", given)
        return parsed is not None and _same_moment(parsed, value)
    if kind is dt.date:
        # The only text that reads as this date in the strict YYYY-MM-DD form.
        return bool(given == value.isoformat())
    if kind is dt.time:
        parsed = parse_format("time", given)
        return parsed is not None and _same_moment(parsed, value)
    if kind is uuid.UUID:
        return bool(parse_format("uuid", given) == value)
    return False


def _same_moment(parsed: dt.datetime | dt.time, value: dt.datetime | dt.time) -> bool:
    return (
        parsed.replace(tzinfo=None) == value.replace(tzinfo=None)
        and parsed.utcoffset() == value.utcoffset()
    )


def _same_decimal(given: Any, value: decimal.Decimal) -> bool:
    try:
        if type(given) is str:
            return decimal.Decimal(given) == value
        if type(given) is int:
            return decimal.Decimal(given) == value
        if type(given) is float:
            return decimal.Decimal(repr(given)) == value
    except (decimal.InvalidOperation, ValueError):
        return False
    return False
