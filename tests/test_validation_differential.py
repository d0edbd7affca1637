"""Tool.validate against the reference: a Draft 2020-12 validator and the schema the model sees.

For every family of signatures ``@tool`` supports, generated arguments (valid ones from the
schema itself, arbitrary JSON values, and objects with the right keys and awkward values)
must be accepted by ``tool.validate`` exactly when ``jsonschema.Draft202012Validator``
accepts them, with formats checked by the standard rules written out below; and what the
function receives must mean what was validated. The one allowed exception is a number the
declared ``float`` cannot hold exactly, which is refused with a message saying so.

``AGENTCORE_DIFFERENTIAL_EXAMPLES=2000 pytest tests/test_validation_differential.py`` runs
many more examples than the quick default.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import functools
import os
import re
import uuid
from typing import Annotated, Any, Literal, NotRequired

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from jsonschema import Draft202012Validator, FormatChecker
from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypedDict

from agentcore import Tool, ToolArgumentsError, tool
from agentcore.tools._check import Unsure, compile_check

EXAMPLES = int(os.environ.get("AGENTCORE_DIFFERENTIAL_EXAMPLES", "12"))
QUICK = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=EXAMPLES <= 50,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

# --- the reference: jsonschema, with the standard meaning of each format -----------------

REFERENCE_FORMATS = FormatChecker(formats=())


def _rfc3339_offset_ok(text: str) -> bool:
    if text[-1] in "Zz":
        return True
    hours, minutes = int(text[-5:-3]), int(text[-2:])
    return hours < 24 and minutes < 60


@REFERENCE_FORMATS.checks("date")
def _is_date(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        return False
    try:
        datetime.datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        return False
    return True


_TIME = r"[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?([Zz]|[+-][0-9]{2}:[0-9]{2})"


@REFERENCE_FORMATS.checks("time")
def _is_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not re.fullmatch(_TIME, value) or not _rfc3339_offset_ok(value):
        return False
    hours, minutes, seconds = (int(part) for part in value[:8].split(":"))
    return hours < 24 and minutes < 60 and seconds < 60


@REFERENCE_FORMATS.checks("date-time")
def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if len(value) < 11 or value[10] not in "Tt":
        return False
    return _is_date(value[:10]) and _is_time(value[11:])


@REFERENCE_FORMATS.checks("uuid")
def _is_uuid(value: object) -> bool:
    if not isinstance(value, str):
        return True
    return re.fullmatch(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}", value) is not None


@functools.cache
def reference(tool_: Tool) -> Draft202012Validator:
    return Draft202012Validator(tool_.input_schema, format_checker=REFERENCE_FORMATS)


# --- the signature families ---------------------------------------------------------------


class Colour(enum.Enum):
    RED = "red"
    GREEN = "green"


class Tier(enum.IntEnum):
    BASIC = 1
    GOLD = 2


class Size(enum.Enum):
    SMALL = 1
    LARGE = 3


class Item(BaseModel):
    model_config = ConfigDict(regex_engine="python-re")

    sku: Annotated[str, Field(pattern=r"^[A-Z]{2}-\d+$")]
    quantity: Annotated[int, Field(ge=1, le=99)] = 1


class Account(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    user_id: int = Field(0, alias="userId")
    label: str = ""


@dataclasses.dataclass
class Window:
    start: datetime.date
    end: datetime.date | None = None


class Contact(TypedDict):
    email: str
    phone: NotRequired[str | None]


class Node(BaseModel):
    value: int
    children: list[Node] = []


@tool
def scalars(text: str, count: int, ratio: float, flag: bool = False) -> None:
    """Plain scalars."""


@tool
def optionals(text: str | None = None, count: int | None = None, ratio: float | None = 1.5) -> None:
    """Optional scalars."""


@tool
def literals(
    tier: Literal[1, 2],
    yes: Literal[True],
    word: Literal["a", "b"] = "a",
    mixed: Literal["x", 0] = 0,
) -> None:
    """Literals."""


@tool
def enums(colour: Colour, tier: Tier, size: Size | None = None) -> None:
    """Enums."""


@tool
def unions(key: int | str, amount: float | str = 0.0, either: bool | int = False) -> None:
    """Unions."""


@tool
def containers(
    numbers: list[int],
    point: tuple[float, float] = (0.0, 0.0),
    tags: set[str] = frozenset(),  # type: ignore[assignment]
    counts: dict[str, int] | None = None,
    names: dict[int, str] | None = None,
    grid: list[list[int]] | None = None,
) -> None:
    """Containers."""


@tool
def nested(items: list[Item], account: Account | None = None, window: Window | None = None) -> None:
    """Nested models, dataclasses."""


@tool
def typed_dict(contact: Contact) -> None:
    """A TypedDict."""


@tool
def recursive(tree: Node) -> None:
    """A recursive model."""


@tool
def numbers(
    small: Annotated[int, Field(ge=-5, le=5)],
    positive: Annotated[int, Field(gt=0, lt=1000)] = 1,
    tenth: Annotated[float, Field(multiple_of=0.1)] = 0.0,
    third: Annotated[int, Field(multiple_of=3)] = 0,
    fraction: Annotated[float, Field(gt=0.0, le=1.0)] = 0.5,
) -> None:
    """Numeric bounds."""


@tool
def strings(
    code: Annotated[str, Field(min_length=2, max_length=4)],
    word: Annotated[str, Field(pattern=r"^\w+$")] = "x",
    anything: Annotated[str, Field(pattern=r"\S")] = "x",
    batch: Annotated[list[int], Field(min_length=1, max_length=3)] = [0],  # noqa: B006
) -> None:
    """String and list constraints."""


@tool
def formats(
    day: datetime.date,
    moment: datetime.datetime | None = None,
    clock: datetime.time | None = None,
    ident: uuid.UUID | None = None,
) -> None:
    """Formats."""


@tool
def decimals(price: decimal.Decimal, discount: decimal.Decimal | None = None) -> None:
    """Decimals."""


@tool(secret_fields=["pin"])
def secrets(pin: Annotated[str, Field(pattern=r"^[0-9]{4}$")], password: str = "") -> None:
    """Secret fields."""


FAMILIES = [
    scalars,
    optionals,
    literals,
    enums,
    unions,
    containers,
    nested,
    typed_dict,
    recursive,
    numbers,
    strings,
    formats,
    decimals,
    secrets,
]

# --- what to send -------------------------------------------------------------------------

AWKWARD = [
    True,
    False,
    0,
    1,
    1.0,
    2.5,
    -0.0,
    0.30000000000000004,
    0.3,
    2**53 + 1,
    2**63,
    1e20,
    10**400,
    -(10**30),
    "",
    "0",
    "1",
    "abc",
    " ab ",
    "ab\n",
    "e\u0301",
    "\x1c",
    "\ud800",
    "2024-05-01",
    "2024-02-30",
    "20240501",
    "2024-05-01T14:30:00Z",
    "2024-05-01t14:30:00.1234567+01:00",
    "2024-05-01T14:30:60Z",
    "14:30:00Z",
    "14:30:00",
    "123e4567-e89b-12d3-a456-426614174000",
    "123e4567e89b12d3a456426614174000",
    "1.50",
    "1e3",
    "NaN",
    "-",
    "AB-12",
    "red",
    None,
    [],
    {},
]

json_leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
    | st.sampled_from(AWKWARD)
)


def _json_containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)


json_values = st.recursive(json_leaves, _json_containers, max_leaves=8)


def shaped_like(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects using the schema's own keys (at any depth) with awkward or arbitrary values."""
    names: set[str] = set()

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            names.update(node.get("properties", {}))
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(schema)
    keys = st.sampled_from(sorted(names)) if names else st.text(max_size=4)

    def containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3)

    values = st.recursive(json_leaves, containers, max_leaves=6)
    return st.dictionaries(keys, values, max_size=len(names) + 1)


# --- what the function must receive -------------------------------------------------------


def same_meaning(given: Any, value: Any) -> bool:
    """Whether a converted Python value stands for the JSON value it was validated as."""
    if isinstance(value, enum.Enum):
        value = value.value
    if value is None or isinstance(value, bool):
        return given is value
    if isinstance(value, int | float):
        return type(given) in (int, float) and given == value
    if isinstance(value, str):
        return type(given) is str and given == value
    if isinstance(value, decimal.Decimal):
        return decimal.Decimal(str(given)) == value
    if isinstance(value, datetime.datetime):
        text = given[:10] + "T" + given[11:].upper().replace("Z", "+00:00")
        expected = datetime.datetime.fromisoformat(text)
        return expected == value and expected.utcoffset() == value.utcoffset()
    if isinstance(value, datetime.date):
        return datetime.date.fromisoformat(given) == value
    if isinstance(value, datetime.time):
        expected = datetime.time.fromisoformat(given.upper().replace("Z", "+00:00"))
        return expected == value and expected.utcoffset() == value.utcoffset()
    if isinstance(value, uuid.UUID):
        return uuid.UUID(given) == value
    if isinstance(value, list | tuple):
        return len(given) == len(value) and all(map(same_meaning, given, value))
    if isinstance(value, set | frozenset):
        return len(given) == len(value) and all(
            any(same_meaning(part, item) for item in value) for part in given
        )
    if isinstance(value, BaseModel):
        # Every field set comes from the key the schema names; keys the schema leaves open
        # are ignored by a model that ignores extra keys (and refused by one that forbids).
        keys = {field: info.alias or field for field, info in type(value).model_fields.items()}
        return all(
            keys[field] in given and same_meaning(given[keys[field]], getattr(value, field))
            for field in value.model_fields_set
        ) and not any(keys[field] in given for field in set(keys) - value.model_fields_set)
    if dataclasses.is_dataclass(value):
        return all(
            same_meaning(given[field.name], getattr(value, field.name))
            for field in dataclasses.fields(value)
            if field.name in given
        )
    if isinstance(value, dict):
        return len(given) == len(value) and all(
            same_meaning(given[str(key)], item) for key, item in value.items()
        )
    return False


def float_cannot_hold(value: Any) -> bool:
    if isinstance(value, dict):
        return any(float_cannot_hold(item) for item in value.values())
    if isinstance(value, list):
        return any(float_cannot_hold(item) for item in value)
    if type(value) is int:
        try:
            return float(value) != value
        except OverflowError:
            return True
    return False


def assert_agrees(tool_: Tool, arguments: Any) -> None:
    expected = reference(tool_).is_valid(arguments)
    try:
        kwargs = tool_.validate(arguments)
    except ToolArgumentsError as exc:
        if expected:
            # Valid for the schema, but a float parameter cannot hold the number exactly.
            assert float_cannot_hold(arguments), (arguments, exc.model_message)
            assert "floating-point" in exc.model_message or "too large" in exc.model_message
        return
    assert expected, f"{tool_.name} accepted {arguments!r}, which the schema refuses"
    assert set(kwargs) == set(arguments)
    for name, value in kwargs.items():
        assert same_meaning(arguments[name], value), (name, arguments[name], value)


def assert_checker_agrees(tool_: Tool, value: Any) -> None:
    check = compiled(tool_)
    assert check is not None, f"{tool_.name}: no compiled checker"
    try:
        fast = check(value)
    except Unsure:
        return
    assert fast == reference(tool_).is_valid(value), value


def valid_instances(tool_: Tool) -> st.SearchStrategy[dict[str, Any]]:
    if tool_ is recursive:
        # hypothesis-jsonschema does not follow recursive references: build trees directly.

        def parents(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
            return st.fixed_dictionaries(
                {"value": st.integers(), "children": st.lists(inner, max_size=3)}
            )

        trees = st.recursive(
            st.fixed_dictionaries({"value": st.integers()}), parents, max_leaves=6
        )
        return st.fixed_dictionaries({"tree": trees})
    return from_schema(tool_.input_schema)


@functools.cache
def compiled(tool_: Tool) -> Any:
    return compile_check(tool_.input_schema)


# --- the properties -----------------------------------------------------------------------


@pytest.mark.parametrize("tool_", FAMILIES, ids=lambda item: item.name)
class TestValidateAgreesWithTheSchema:
    def test_on_instances_generated_from_the_schema(self, tool_: Tool) -> None:
        @QUICK
        @given(valid_instances(tool_))
        def run(arguments: dict[str, Any]) -> None:
            assert_agrees(tool_, arguments)
            assert_checker_agrees(tool_, arguments)

        run()

    def test_on_objects_with_the_schema_keys_and_awkward_values(self, tool_: Tool) -> None:
        @QUICK
        @given(shaped_like(tool_.input_schema))
        def run(arguments: dict[str, Any]) -> None:
            assert_agrees(tool_, arguments)
            assert_checker_agrees(tool_, arguments)

        run()

    def test_on_arbitrary_json(self, tool_: Tool) -> None:
        @QUICK
        @given(json_values)
        def run(arguments: Any) -> None:
            assert_agrees(tool_, arguments)
            assert_checker_agrees(tool_, arguments)

        run()


@pytest.mark.parametrize("tool_", FAMILIES, ids=lambda item: item.name)
def test_every_family_gets_the_compiled_checker(tool_: Tool) -> None:
    assert compile_check(tool_.input_schema) is not None
