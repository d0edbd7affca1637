"""Turn a Python function's signature and docstring into a tool's JSON Schema.

The parameters become a pydantic model (one field per parameter, named by alias so a
parameter may be called ``model_config`` or ``json``); its JSON Schema is then compacted:
no titles, ``Optional[X]`` as a ``type`` list rather than an ``anyOf``, and ``$defs`` kept
only for definitions that are reused or recursive. The same model later converts validated
arguments to the declared Python types.
"""

from __future__ import annotations

import functools
import inspect
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import docstring_parser
import pydantic_core
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PydanticSchemaGenerationError,
    PydanticUserError,
    TypeAdapter,
    create_model,
)
from pydantic.fields import FieldInfo
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from agentcore.errors import ToolDefinitionError
from agentcore.tools._compact import compact_schema

__all__ = [
    "FunctionSchema",
    "callable_name",
    "function_schema",
    "unwrapped",
    "validate_tool_name",
]

TOOL_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_RECEIVER_NAMES = frozenset({"self", "cls"})
_SIMPLE_TYPES: dict[Any, tuple[type, ...]] = {
    str: (str,),
    int: (int,),
    float: (float, int),
    bool: (bool,),
}
_SUPPORTED_HINT = (
    "use str, int, float, bool, None, list, tuple, set, dict[str, X], Literal, an Enum, "
    "datetime, date, time, UUID, Decimal, a pydantic model, a dataclass or a TypedDict"
)
DECIMAL_PATTERN = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]{1,6})?$"
"""A decimal number written as a string, which ``Decimal`` reads as a finite number (an
exponent of at most 6 digits keeps it in range; a trailing newline, which ``$`` lets
through, is ignored by ``Decimal`` too)."""
INTEGER_KEY_PATTERN = r"^(0|-?[1-9][0-9]*)(?![\s\S])"
"""An object key standing for an integer, written the one way ``str(int)`` writes it."""
# Python-only syntax whose meaning a JSON Schema (ECMA 262) reader does not share.
_PYTHON_ONLY_ESCAPES = frozenset("AZ")
_PYTHON_ONLY_GROUP = re.compile(r"\(\?(P|#|[aiLmsux-]+[:)]|>)")


@dataclass(frozen=True, slots=True)
class FunctionSchema:
    """Everything derived from a function's signature, computed once at decoration time."""

    description: str
    input_schema: dict[str, Any]
    arguments_model: type[BaseModel]
    """Converts validated JSON arguments to the declared Python types (fields by alias)."""
    parameter_names: tuple[str, ...]
    takes_receiver: bool
    """The first parameter is ``self``/``cls``: the function is used as a method."""
    simple_types: dict[str, tuple[type, ...]] | None
    """For tools whose parameters are all plain str/int/float/bool (optionally None): the
    exact Python types each accepts without any conversion, enabling a fast path."""
    required: frozenset[str]


def validate_tool_name(name: str, *, function_name: str) -> None:
    """Raise ToolDefinitionError unless ``name`` is a valid API tool name."""
    if not TOOL_NAME_PATTERN.fullmatch(name):
        raise ToolDefinitionError(
            f"function {function_name!r}: tool name {name!r} is not allowed; a tool name is "
            "1-64 characters of letters, digits, '_' and '-'. Pass a valid one with "
            "@tool(name='...')."
        )


def function_schema(
    fn: Callable[..., Any], *, tool_name: str, description: str | None = None
) -> FunctionSchema:
    """Build the schema, description and arguments model of ``fn``.

    Raises:
        ToolDefinitionError: the signature cannot be described (``*args``/``**kwargs``,
            positional-only or unannotated parameters, types with no JSON form).
    """
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError) as exc:
        raise ToolDefinitionError(f"tool {tool_name!r}: cannot read the signature: {exc}") from exc
    try:
        hints = typing.get_type_hints(_annotated_function(fn), include_extras=True)
    except (NameError, TypeError, AttributeError, SyntaxError) as exc:
        raise ToolDefinitionError(
            f"tool {tool_name!r}: cannot resolve the type annotations ({exc}); define the "
            "types used in annotations at module level"
        ) from exc

    # A partial is described by its function's docstring, a callable object by its class's.
    doc = docstring_parser.parse(inspect.getdoc(unwrapped(fn)) or "")
    doc_params = {param.arg_name: param.description for param in doc.params if param.description}

    parameters = list(signature.parameters.values())
    takes_receiver = bool(parameters) and parameters[0].name in _RECEIVER_NAMES
    if takes_receiver:
        parameters = parameters[1:]

    fields: dict[str, Any] = {}
    simple_types: dict[str, tuple[type, ...]] | None = {}
    required: set[str] = set()
    for index, parameter in enumerate(parameters):
        annotation = _checked_annotation(parameter, hints, tool_name)
        field_kwargs: dict[str, Any] = {"alias": parameter.name}
        doc_description = doc_params.get(parameter.name)
        if doc_description and not _annotated_description(annotation):
            field_kwargs["description"] = " ".join(doc_description.split())
        if isinstance(parameter.default, FieldInfo):
            raise ToolDefinitionError(
                f"tool {tool_name!r}: parameter {parameter.name!r} has a pydantic Field as its "
                "default; put the Field in the annotation and the default after it, for "
                f"example '{parameter.name}: Annotated[int, Field(gt=0)] = 1'"
            )
        if parameter.default is inspect.Parameter.empty:
            field_info = Field(**field_kwargs)
            required.add(parameter.name)
        else:
            field_info = Field(parameter.default, **field_kwargs)
        fields[f"p{index}"] = (annotation, field_info)
        accepted = _simple_accepted_types(annotation)
        if accepted is None:
            simple_types = None
        elif simple_types is not None:
            simple_types[parameter.name] = accepted

    model = _build_model(tool_name, fields)
    try:
        raw_schema = model.model_json_schema(by_alias=True, schema_generator=_ToolJsonSchema)
    except PydanticUserError as exc:
        raise _unsupported_type_error(tool_name, fields, exc) from exc
    except pydantic_core.SchemaError as exc:
        raise _invalid_constraint_error(tool_name, exc) from exc
    _check_conversion(tool_name, model.__pydantic_core_schema__)
    input_schema = _top_level(compact_schema(raw_schema))
    _check_patterns(tool_name, input_schema)

    return FunctionSchema(
        description=description if description is not None else _describe_function(doc),
        input_schema=input_schema,
        arguments_model=model,
        parameter_names=tuple(parameter.name for parameter in parameters),
        takes_receiver=takes_receiver,
        simple_types=simple_types,
        required=frozenset(required),
    )


def callable_name(fn: Callable[..., Any]) -> str:
    """The name a tool made from ``fn`` gets by default."""
    fn = unwrapped(fn)
    name = getattr(fn, "__name__", None)
    return name if isinstance(name, str) else type(fn).__name__


def unwrapped(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The function a (possibly nested) ``functools.partial`` calls, or ``fn`` itself."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    return fn


def _annotated_function(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The function whose annotations describe the parameters of ``fn``."""
    fn = unwrapped(fn)
    if inspect.isfunction(fn) or inspect.ismethod(fn) or inspect.isbuiltin(fn):
        return fn
    # A callable object: its class's __call__ carries the annotations.
    call: Callable[..., Any] = type(fn).__call__
    return call


def _checked_annotation(
    parameter: inspect.Parameter, hints: dict[str, Any], tool_name: str
) -> Any:
    name = parameter.name
    if parameter.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
        stars = "*" if parameter.kind is inspect.Parameter.VAR_POSITIONAL else "**"
        raise ToolDefinitionError(
            f"tool {tool_name!r}: {stars}{name} is not supported; declare every argument the "
            "model may pass as a named, annotated parameter"
        )
    if parameter.kind is inspect.Parameter.POSITIONAL_ONLY:
        raise ToolDefinitionError(
            f"tool {tool_name!r}: parameter {name!r} is positional-only; tools are called "
            "with keyword arguments, so remove the '/' from the signature"
        )
    if name not in hints:
        raise ToolDefinitionError(
            f"tool {tool_name!r}: parameter {name!r} has no type annotation; annotate it "
            f"(for example '{name}: str') so its JSON Schema can be generated"
        )
    return hints[name]


def _annotated_description(annotation: Any) -> bool:
    if typing.get_origin(annotation) is not Annotated:
        return False
    return any(
        isinstance(item, FieldInfo) and item.description for item in annotation.__metadata__
    )


def _simple_accepted_types(annotation: Any) -> tuple[type, ...] | None:
    if annotation in _SIMPLE_TYPES:
        return _SIMPLE_TYPES[annotation]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = typing.get_args(annotation)
        if len(members) == 2 and type(None) in members:
            other = members[0] if members[1] is type(None) else members[1]
            if other in _SIMPLE_TYPES:
                return (*_SIMPLE_TYPES[other], type(None))
    return None


def _build_model(tool_name: str, fields: dict[str, Any]) -> type[BaseModel]:
    # Patterns are checked by Python's re, as the JSON Schema validator checks them.
    config = ConfigDict(extra="forbid", regex_engine="python-re")
    try:
        return create_model(f"{tool_name}_arguments", __config__=config, **fields)
    except PydanticUserError as exc:
        raise _unsupported_type_error(tool_name, fields, exc) from exc
    except pydantic_core.SchemaError as exc:
        # A pattern Python's re cannot compile fails here: say so in the pattern's terms.
        for annotation, _ in fields.values():
            try:
                _check_patterns(tool_name, TypeAdapter(annotation).json_schema())
            except (PydanticUserError, pydantic_core.SchemaError):
                continue
        raise _invalid_constraint_error(tool_name, exc) from exc


class _ToolJsonSchema(GenerateJsonSchema):
    """pydantic's JSON Schema, made to say everything the conversion will insist on."""

    def decimal_schema(self, schema: core_schema.DecimalSchema) -> JsonSchemaValue:
        result = super().decimal_schema(schema)
        for branch in result.get("anyOf", ()):
            if branch.get("type") == "string":
                branch["pattern"] = DECIMAL_PATTERN
        return result

    def dict_schema(self, schema: core_schema.DictSchema) -> JsonSchemaValue:
        result = super().dict_schema(schema)
        keys = schema.get("keys_schema")
        if isinstance(keys, dict) and keys.get("type") == "int":
            names = dict(result.get("propertyNames", {}))
            names.pop("type", None)
            names["pattern"] = INTEGER_KEY_PATTERN
            result["propertyNames"] = names
        return result


def _invalid_constraint_error(
    tool_name: str, cause: pydantic_core.SchemaError
) -> ToolDefinitionError:
    detail = " ".join(str(cause).split())
    return ToolDefinitionError(
        f"tool {tool_name!r}: a constraint does not fit its type ({detail}); give bounds of "
        "the parameter's own type, for example Field(lt=3) rather than Field(lt=2.5) on an int"
    )


_TRANSFORMS = ("strip_whitespace", "to_lower", "to_upper")
_CONFIG_TRANSFORMS = ("str_strip_whitespace", "str_to_lower", "str_to_upper")


def _check_conversion(
    tool_name: str, node: Any, engine: str = "python-re", owner: str = "a parameter"
) -> None:
    """Refuse conversions that would check or change strings differently from the schema.

    Every ``pattern`` must be checked by Python's ``re`` (the regular expressions of the
    JSON Schema validator), so a nested model, dataclass or TypedDict with a pattern must
    set ``regex_engine="python-re"``; and a string must reach the function as it was
    validated, so ``strip_whitespace``/``to_lower``/``to_upper`` are refused.
    """
    if isinstance(node, list | tuple):
        for item in node:
            _check_conversion(tool_name, item, engine, owner)
        return
    if not isinstance(node, dict):
        return
    config = node.get("config")
    if isinstance(config, dict):
        engine = str(config.get("regex_engine", "rust-regex"))
        owner = str(getattr(node.get("cls"), "__name__", config.get("title", "a nested type")))
        for option in _CONFIG_TRANSFORMS:
            if config.get(option):
                raise ToolDefinitionError(
                    f"tool {tool_name!r}: {owner} sets {option}, which would change a "
                    "string after it was validated against the schema; do that inside the "
                    "function instead"
                )
    if node.get("type") == "str":
        for option in _TRANSFORMS:
            if node.get(option):
                raise ToolDefinitionError(
                    f"tool {tool_name!r}: {option} would change a string after it was "
                    "validated against the schema; do that inside the function instead"
                )
        if "pattern" in node and engine != "python-re":
            raise ToolDefinitionError(
                f"tool {tool_name!r}: the pattern {node['pattern']!r} in {owner} would be "
                "checked by pydantic's Rust regex engine, whose meaning differs from the "
                "schema's (Python re, as JSON Schema validators use); set "
                'model_config = ConfigDict(regex_engine="python-re") on that model '
                '(__pydantic_config__ for a dataclass or TypedDict)'
            )
    for key, value in node.items():
        if key not in ("cls", "metadata", "config"):
            _check_conversion(tool_name, value, engine, owner)


def _check_patterns(tool_name: str, node: Any) -> None:
    """Every ``pattern`` in the schema compiles with Python's ``re`` and means the same to a
    JSON Schema reader, or the tool is refused."""
    if isinstance(node, list):
        for item in node:
            _check_patterns(tool_name, item)
        return
    if not isinstance(node, dict):
        return
    pattern = node.get("pattern")
    if isinstance(pattern, str):
        _check_pattern(tool_name, pattern)
    for key, value in node.items():
        if key in ("properties", "$defs"):
            if isinstance(value, dict):
                for item in value.values():
                    _check_patterns(tool_name, item)
        elif key not in ("enum", "const", "default", "examples", "pattern"):
            _check_patterns(tool_name, value)


def _check_pattern(tool_name: str, pattern: str) -> None:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ToolDefinitionError(
            f"tool {tool_name!r}: the pattern {pattern!r} is not a regular expression Python's "
            f"re can compile ({exc}); arguments are checked with re, as JSON Schema "
            "validators check them, so write it in the syntax JSON Schema and re share "
            r"(no \p{...}, \z or possessive forms)"
        ) from None
    index, in_class = 0, False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            if not in_class and pattern[index + 1] in _PYTHON_ONLY_ESCAPES:
                raise _python_only(tool_name, pattern, "\\" + pattern[index + 1])
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            # A ']' right after '[' or '[^' is a literal member of the class.
            if pattern.startswith("]", index + 1):
                index += 1
            elif pattern.startswith("^]", index + 1):
                index += 2
        elif char == "(" and (found := _PYTHON_ONLY_GROUP.match(pattern, index)):
            raise _python_only(tool_name, pattern, found.group())
        elif char in "*+?}" and pattern.startswith("+", index + 1):
            raise _python_only(tool_name, pattern, pattern[index : index + 2])
        index += 1


def _python_only(tool_name: str, pattern: str, construct: str) -> ToolDefinitionError:
    return ToolDefinitionError(
        f"tool {tool_name!r}: the pattern {pattern!r} uses {construct!r}, which only Python's "
        "re understands; the model reads patterns as JSON Schema (ECMA 262) regular "
        "expressions, so use ^ and $ anchors, (?:...) groups and no inline flags"
    )


def _unsupported_type_error(
    tool_name: str, fields: dict[str, Any], cause: PydanticUserError
) -> ToolDefinitionError:
    for annotation, field_info in fields.values():
        try:
            TypeAdapter(annotation).json_schema()
        except PydanticSchemaGenerationError:
            return ToolDefinitionError(
                f"tool {tool_name!r}: parameter {field_info.alias!r} has type "
                f"{_type_name(annotation)}, which cannot be described in JSON Schema; "
                f"{_SUPPORTED_HINT}"
            )
        except PydanticUserError as exc:
            return ToolDefinitionError(
                f"tool {tool_name!r}: parameter {field_info.alias!r} has type "
                f"{_type_name(annotation)}: {_first_line(exc)}"
            )
    return ToolDefinitionError(f"tool {tool_name!r}: {_first_line(cause)}; {_SUPPORTED_HINT}")


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, type):
        return annotation.__name__
    return repr(annotation).replace("typing.", "")


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0].rstrip(".")


def _describe_function(doc: docstring_parser.Docstring) -> str:
    parts = [part.strip() for part in (doc.short_description, doc.long_description) if part]
    return "\n\n".join(part for part in parts if part)


def _top_level(schema: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "type": "object",
        "properties": schema.get("properties", {}),
        "required": schema.get("required", []),
        "additionalProperties": False,
    }
    if "$defs" in schema:
        result["$defs"] = schema["$defs"]
    return result
