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
    "datetime, date, UUID, a pydantic model, a dataclass or a TypedDict"
)


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
        raw_schema = model.model_json_schema(by_alias=True)
    except PydanticUserError as exc:
        raise _unsupported_type_error(tool_name, fields, exc) from exc

    return FunctionSchema(
        description=description if description is not None else _describe_function(doc),
        input_schema=_top_level(compact_schema(raw_schema)),
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
    config = ConfigDict(extra="forbid")
    try:
        return create_model(f"{tool_name}_arguments", __config__=config, **fields)
    except PydanticUserError as exc:
        raise _unsupported_type_error(tool_name, fields, exc) from exc


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
