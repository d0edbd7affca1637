"""Tool input schemas generated from signatures, compared whole with hand-written schemas."""

import dataclasses
import datetime
import enum
import uuid
from decimal import Decimal
from typing import Annotated, Any, Literal, Optional

import pytest
from jsonschema import Draft202012Validator
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from agentcore import tool
from agentcore.errors import ToolDefinitionError
from agentcore.tools._compact import compact_schema
from agentcore.tools._schema import DECIMAL_PATTERN


def schema_of(fn: Any) -> dict[str, Any]:
    return tool(fn).input_schema


def obj(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


class Color(enum.Enum):
    """A paint color."""

    RED = "red"
    GREEN = "green"


class Priority(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Address(BaseModel):
    """A postal address."""

    street: str
    city: str = Field(description="City name.")


@dataclasses.dataclass
class Point:
    x: int
    y: int = 0


class LineItem(TypedDict):
    sku: str
    quantity: int


class TreeNode(BaseModel):
    value: int
    children: list["TreeNode"] = []


ADDRESS = {
    "description": "A postal address.",
    "properties": {
        "street": {"type": "string"},
        "city": {"description": "City name.", "type": "string"},
    },
    "required": ["street", "city"],
    "type": "object",
}


def f_str(text: str) -> None: ...
def f_int(count: int) -> None: ...
def f_float(ratio: float) -> None: ...
def f_bool(flag: bool) -> None: ...
def f_optional(note: Optional[str] = None) -> None: ...  # noqa: UP045 - the old spelling on purpose
def f_union_none(limit: int | None) -> None: ...
def f_defaults(limit: int = 10, order: str = "asc") -> None: ...
def f_list(tags: list[str]) -> None: ...
def f_tuple(pair: tuple[int, str]) -> None: ...
def f_var_tuple(numbers: tuple[float, ...]) -> None: ...
def f_set(labels: set[str]) -> None: ...
def f_dict(scores: dict[str, int]) -> None: ...
def f_literal(mode: Literal["fast", "safe"]) -> None: ...
def f_literal_int(level: Literal[1, 2, 3] = 1) -> None: ...
def f_optional_literal(mode: Literal["a", "b"] | None = None) -> None: ...
def f_enum(color: Color) -> None: ...
def f_int_enum(priority: Priority = Priority.LOW) -> None: ...
def f_optional_enum(color: Color | None = None) -> None: ...
def f_datetime(at: datetime.datetime) -> None: ...
def f_date(day: datetime.date, time: datetime.time) -> None: ...
def f_uuid(request_id: uuid.UUID) -> None: ...
def f_constraints(
    amount_cents: Annotated[int, Field(gt=0, le=100_000)],
    code: Annotated[str, Field(min_length=3, max_length=8, pattern=r"^[A-Z]+$")],
    ratio: Annotated[float, Field(ge=0, lt=1, description="Share between 0 and 1.")],
) -> None: ...
def f_model(address: Address) -> None: ...
def f_optional_model(address: Address | None = None) -> None: ...
def f_dataclass(point: Point) -> None: ...
def f_typeddict(items: list[LineItem]) -> None: ...
def f_reused(home: Address, work: Address) -> None: ...
def f_recursive(tree: TreeNode) -> None: ...
def f_union(key: int | str) -> None: ...
def f_any(payload: Any) -> None: ...
def f_decimal(price: Decimal) -> None: ...
def f_nested(matrix: list[list[int]], index: dict[str, list[Point]]) -> None: ...
def f_none() -> None: ...
def f_keyword_only(*, query: str, limit: int = 5) -> None: ...


CASES: list[tuple[Any, dict[str, Any]]] = [
    (f_str, obj({"text": {"type": "string"}}, ["text"])),
    (f_int, obj({"count": {"type": "integer"}}, ["count"])),
    (f_float, obj({"ratio": {"type": "number"}}, ["ratio"])),
    (f_bool, obj({"flag": {"type": "boolean"}}, ["flag"])),
    (f_optional, obj({"note": {"type": ["string", "null"], "default": None}}, [])),
    (f_union_none, obj({"limit": {"type": ["integer", "null"]}}, ["limit"])),
    (
        f_defaults,
        obj(
            {
                "limit": {"default": 10, "type": "integer"},
                "order": {"default": "asc", "type": "string"},
            },
            [],
        ),
    ),
    (f_list, obj({"tags": {"items": {"type": "string"}, "type": "array"}}, ["tags"])),
    (
        f_tuple,
        obj(
            {
                "pair": {
                    "maxItems": 2,
                    "minItems": 2,
                    "prefixItems": [{"type": "integer"}, {"type": "string"}],
                    "type": "array",
                }
            },
            ["pair"],
        ),
    ),
    (f_var_tuple, obj({"numbers": {"items": {"type": "number"}, "type": "array"}}, ["numbers"])),
    (
        f_set,
        obj(
            {"labels": {"items": {"type": "string"}, "type": "array", "uniqueItems": True}},
            ["labels"],
        ),
    ),
    (
        f_dict,
        obj(
            {"scores": {"additionalProperties": {"type": "integer"}, "type": "object"}},
            ["scores"],
        ),
    ),
    (f_literal, obj({"mode": {"enum": ["fast", "safe"], "type": "string"}}, ["mode"])),
    (
        f_literal_int,
        obj({"level": {"default": 1, "enum": [1, 2, 3], "type": "integer"}}, []),
    ),
    (
        f_optional_literal,
        obj(
            {"mode": {"enum": ["a", "b", None], "type": ["string", "null"], "default": None}},
            [],
        ),
    ),
    (
        f_enum,
        obj(
            {
                "color": {
                    "description": "A paint color.",
                    "enum": ["red", "green"],
                    "type": "string",
                }
            },
            ["color"],
        ),
    ),
    (
        f_int_enum,
        obj({"priority": {"enum": [1, 2], "type": "integer", "default": 1}}, []),
    ),
    (
        f_optional_enum,
        obj(
            {
                "color": {
                    "description": "A paint color.",
                    "enum": ["red", "green", None],
                    "type": ["string", "null"],
                    "default": None,
                }
            },
            [],
        ),
    ),
    (f_datetime, obj({"at": {"format": "date-time", "type": "string"}}, ["at"])),
    (
        f_date,
        obj(
            {
                "day": {"format": "date", "type": "string"},
                "time": {"format": "time", "type": "string"},
            },
            ["day", "time"],
        ),
    ),
    (f_uuid, obj({"request_id": {"format": "uuid", "type": "string"}}, ["request_id"])),
    (
        f_constraints,
        obj(
            {
                "amount_cents": {"exclusiveMinimum": 0, "maximum": 100000, "type": "integer"},
                "code": {
                    "maxLength": 8,
                    "minLength": 3,
                    "pattern": "^[A-Z]+$",
                    "type": "string",
                },
                "ratio": {
                    "description": "Share between 0 and 1.",
                    "exclusiveMaximum": 1,
                    "minimum": 0,
                    "type": "number",
                },
            },
            ["amount_cents", "code", "ratio"],
        ),
    ),
    (f_model, obj({"address": ADDRESS}, ["address"])),
    (
        f_optional_model,
        obj({"address": {**ADDRESS, "type": ["object", "null"], "default": None}}, []),
    ),
    (
        f_dataclass,
        obj(
            {
                "point": {
                    "additionalProperties": False,
                    "properties": {
                        "x": {"type": "integer"},
                        "y": {"default": 0, "type": "integer"},
                    },
                    "required": ["x"],
                    "type": "object",
                }
            },
            ["point"],
        ),
    ),
    (
        f_typeddict,
        obj(
            {
                "items": {
                    "items": {
                        "additionalProperties": False,
                        "properties": {
                            "sku": {"type": "string"},
                            "quantity": {"type": "integer"},
                        },
                        "required": ["sku", "quantity"],
                        "type": "object",
                    },
                    "type": "array",
                }
            },
            ["items"],
        ),
    ),
    (
        f_reused,
        {
            **obj(
                {"home": {"$ref": "#/$defs/Address"}, "work": {"$ref": "#/$defs/Address"}},
                ["home", "work"],
            ),
            "$defs": {"Address": ADDRESS},
        },
    ),
    (
        f_recursive,
        {
            **obj({"tree": {"$ref": "#/$defs/TreeNode"}}, ["tree"]),
            "$defs": {
                "TreeNode": {
                    "properties": {
                        "value": {"type": "integer"},
                        "children": {
                            "default": [],
                            "items": {"$ref": "#/$defs/TreeNode"},
                            "type": "array",
                        },
                    },
                    "required": ["value"],
                    "type": "object",
                }
            },
        },
    ),
    (f_union, obj({"key": {"type": ["integer", "string"]}}, ["key"])),
    (f_any, obj({"payload": {}}, ["payload"])),
    (
        f_decimal,
        obj(
            {
                "price": {
                    "anyOf": [
                        {"type": "number"},
                        {"type": "string", "pattern": DECIMAL_PATTERN},
                    ]
                }
            },
            ["price"],
        ),
    ),
    (
        f_nested,
        obj(
            {
                "matrix": {
                    "items": {"items": {"type": "integer"}, "type": "array"},
                    "type": "array",
                },
                "index": {
                    "additionalProperties": {
                        "items": {
                            "additionalProperties": False,
                            "properties": {
                                "x": {"type": "integer"},
                                "y": {"default": 0, "type": "integer"},
                            },
                            "required": ["x"],
                            "type": "object",
                        },
                        "type": "array",
                    },
                    "type": "object",
                },
            },
            ["matrix", "index"],
        ),
    ),
    (f_none, obj({}, [])),
    (
        f_keyword_only,
        obj(
            {"query": {"type": "string"}, "limit": {"default": 5, "type": "integer"}},
            ["query"],
        ),
    ),
]


@pytest.mark.parametrize(("fn", "expected"), CASES, ids=[fn.__name__ for fn, _ in CASES])
def test_signature_becomes_the_expected_schema(fn: Any, expected: dict[str, Any]) -> None:
    assert schema_of(fn) == expected


@pytest.mark.parametrize(("fn", "expected"), CASES, ids=[fn.__name__ for fn, _ in CASES])
def test_every_generated_schema_is_valid_draft_2020_12(fn: Any, expected: dict[str, Any]) -> None:
    Draft202012Validator.check_schema(schema_of(fn))


def test_there_are_at_least_25_signature_cases() -> None:
    assert len(CASES) >= 25


def test_schema_is_identical_when_generated_twice() -> None:
    first = tool(f_constraints).definition()
    second = tool(f_constraints).definition()
    assert first == second
    assert list(first["input_schema"]["properties"]) == ["amount_cents", "code", "ratio"]


def test_property_called_title_is_kept_while_title_keywords_are_dropped() -> None:
    def rename(title: str, properties: dict[str, str]) -> None: ...

    assert schema_of(rename) == obj(
        {
            "title": {"type": "string"},
            "properties": {"additionalProperties": {"type": "string"}, "type": "object"},
        },
        ["title", "properties"],
    )


def test_parameter_names_that_clash_with_pydantic_names_are_fine() -> None:
    def configure(model_config: str, json: bool = False, schema: int = 1) -> None: ...

    assert schema_of(configure) == obj(
        {
            "model_config": {"type": "string"},
            "json": {"default": False, "type": "boolean"},
            "schema": {"default": 1, "type": "integer"},
        },
        ["model_config"],
    )


class TestDocstrings:
    def test_google_style_gives_summary_and_parameter_descriptions(self) -> None:
        @tool
        def lookup_order(order_id: str, verbose: bool = False) -> None:
            """Look up an order.

            Returns the order with its lines and shipping status.

            Args:
                order_id: Order number such as "A-1001".
                verbose: Include the full history,
                    with one entry per event.

            Returns:
                The order.
            """

        assert lookup_order.description == (
            "Look up an order.\n\nReturns the order with its lines and shipping status."
        )
        assert lookup_order.input_schema == obj(
            {
                "order_id": {"description": 'Order number such as "A-1001".', "type": "string"},
                "verbose": {
                    "default": False,
                    "description": "Include the full history, with one entry per event.",
                    "type": "boolean",
                },
            },
            ["order_id"],
        )

    def test_numpy_style(self) -> None:
        @tool
        def convert(amount: float, currency: str) -> None:
            """Convert an amount to euros.

            Parameters
            ----------
            amount : float
                The amount to convert.
            currency : str
                ISO 4217 code of the amount.
            """

        assert convert.description == "Convert an amount to euros."
        assert convert.input_schema == obj(
            {
                "amount": {"description": "The amount to convert.", "type": "number"},
                "currency": {"description": "ISO 4217 code of the amount.", "type": "string"},
            },
            ["amount", "currency"],
        )

    def test_sphinx_style(self) -> None:
        @tool
        def cancel(order_id: str, reason: str = "customer") -> None:
            """Cancel an order.

            :param order_id: The order to cancel.
            :param reason: Why it is cancelled.
            :returns: nothing
            """

        assert cancel.description == "Cancel an order."
        assert cancel.input_schema == obj(
            {
                "order_id": {"description": "The order to cancel.", "type": "string"},
                "reason": {
                    "default": "customer",
                    "description": "Why it is cancelled.",
                    "type": "string",
                },
            },
            ["order_id"],
        )

    def test_field_description_wins_over_the_docstring(self) -> None:
        @tool
        def charge(amount: Annotated[int, Field(description="From Field.")]) -> None:
            """Charge.

            Args:
                amount: From the docstring.
            """

        assert charge.input_schema["properties"] == {
            "amount": {"description": "From Field.", "type": "integer"}
        }

    def test_description_argument_replaces_the_docstring(self) -> None:
        @tool(description="Ping the server.")
        def ping() -> str:
            """Internal docstring."""
            return "pong"

        assert ping.definition() == {
            "name": "ping",
            "description": "Ping the server.",
            "input_schema": obj({}, []),
        }

    def test_function_without_docstring_has_no_description_in_definition(self) -> None:
        @tool
        def ping() -> str:
            return "pong"

        assert ping.definition() == {"name": "ping", "input_schema": obj({}, [])}


class TestDefinitionErrors:
    def test_var_args_are_rejected(self) -> None:
        def search(*terms: str) -> None: ...

        with pytest.raises(ToolDefinitionError) as caught:
            tool(search)
        assert str(caught.value) == (
            "tool 'search': *terms is not supported; declare every argument the model may pass "
            "as a named, annotated parameter"
        )

    def test_var_kwargs_are_rejected(self) -> None:
        def search(query: str, **options: Any) -> None: ...

        with pytest.raises(ToolDefinitionError) as caught:
            tool(search)
        assert str(caught.value) == (
            "tool 'search': **options is not supported; declare every argument the model may "
            "pass as a named, annotated parameter"
        )

    def test_missing_annotation_is_rejected(self) -> None:
        def refund(order_id: str, amount_cents) -> None:  # type: ignore[no-untyped-def]
            ...

        with pytest.raises(ToolDefinitionError) as caught:
            tool(refund)
        assert str(caught.value) == (
            "tool 'refund': parameter 'amount_cents' has no type annotation; annotate it "
            "(for example 'amount_cents: str') so its JSON Schema can be generated"
        )

    def test_positional_only_parameter_is_rejected(self) -> None:
        def echo(text: str, /) -> None: ...

        with pytest.raises(ToolDefinitionError) as caught:
            tool(echo)
        assert str(caught.value) == (
            "tool 'echo': parameter 'text' is positional-only; tools are called with keyword "
            "arguments, so remove the '/' from the signature"
        )

    def test_type_without_json_form_is_rejected_naming_the_parameter(self) -> None:
        class Connection:
            pass

        def query(sql: str, connection: Connection) -> None: ...

        with pytest.raises(ToolDefinitionError) as caught:
            tool(query)
        assert str(caught.value) == (
            "tool 'query': parameter 'connection' has type Connection, which cannot be "
            "described in JSON Schema; use str, int, float, bool, None, list, tuple, set, "
            "dict[str, X], Literal, an Enum, datetime, date, time, UUID, Decimal, a pydantic "
            "model, a dataclass or a TypedDict"
        )

    def test_typing_typeddict_on_python_3_11_is_rejected_with_pydantics_fix(self) -> None:
        import typing

        class Line(typing.TypedDict):
            sku: str

        def order(line: Line) -> None: ...

        with pytest.raises(ToolDefinitionError) as caught:
            tool(order)
        assert str(caught.value) == (
            "tool 'order': parameter 'line' has type Line: Please use "
            "`typing_extensions.TypedDict` instead of `typing.TypedDict` on Python < 3.12"
        )

    @pytest.mark.parametrize("name", ["", "has space", "dot.ted", "x" * 65, "émoji"])
    def test_invalid_tool_names_are_rejected(self, name: str) -> None:
        def lookup(order_id: str) -> None: ...

        with pytest.raises(ToolDefinitionError) as caught:
            tool(name=name)(lookup)
        assert str(caught.value) == (
            f"function 'lookup': tool name {name!r} is not allowed; a tool name is 1-64 "
            "characters of letters, digits, '_' and '-'. Pass a valid one with "
            "@tool(name='...')."
        )

    def test_lambda_needs_an_explicit_name(self) -> None:
        with pytest.raises(ToolDefinitionError, match="tool name '<lambda>' is not allowed"):
            tool(lambda: None)

    def test_valid_name_of_64_characters_is_accepted(self) -> None:
        def lookup() -> None: ...

        assert tool(name="a-B_9" * 12 + "abcd")(lookup).name == "a-B_9" * 12 + "abcd"


class TestCompaction:
    def test_definition_used_once_is_inlined_with_its_siblings(self) -> None:
        raw = {
            "$defs": {"A": {"title": "A", "type": "object", "properties": {}}},
            "properties": {"a": {"$ref": "#/$defs/A", "description": "The A."}},
            "title": "Args",
            "type": "object",
        }
        assert compact_schema(raw) == {
            "properties": {"a": {"type": "object", "properties": {}, "description": "The A."}},
            "type": "object",
        }

    def test_mutually_recursive_definitions_are_kept(self) -> None:
        raw = {
            "$defs": {
                "A": {"properties": {"b": {"$ref": "#/$defs/B"}}, "type": "object"},
                "B": {"properties": {"a": {"$ref": "#/$defs/A"}}, "type": "object"},
            },
            "properties": {"a": {"$ref": "#/$defs/A"}},
            "type": "object",
        }
        assert compact_schema(raw) == raw

    def test_union_with_a_reference_keeps_any_of(self) -> None:
        raw = {"anyOf": [{"$ref": "#/$defs/A"}, {"type": "null"}]}
        assert compact_schema(raw) == raw
