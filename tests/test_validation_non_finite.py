"""NaN and Infinity are refused wherever they sit in a call's arguments, whichever path checks it.

``json.loads`` reads ``NaN`` and ``Infinity``, but JSON has no such numbers. The fast paths of
``Tool.validate`` (plain types, the compiled checker) never accept one; the arguments they do
not accept are walked to name the bad number, so the model is told where it is.
"""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from pydantic import BaseModel, Field

from agentcore import tool
from agentcore.errors import ToolArgumentsError
from agentcore.tools._check import Unsure, compile_check

NON_FINITE = [float("nan"), float("inf"), float("-inf")]


class Line(BaseModel):
    sku: str
    quantity: int


@tool
def plain(name: str, ratio: float = 1.0) -> None:
    """Plain types only."""


@tool
def bounded(ratio: Annotated[float, Field(ge=0, le=1)]) -> None:
    """A bounded float."""


@tool
def orders(lines: list[Line], notes: dict[str, Any] | None = None, extra: Any = None) -> None:
    """Nested models, a free mapping and an untyped value."""


CASES = [
    (plain, lambda bad: {"name": "a", "ratio": bad}, "ratio"),
    (bounded, lambda bad: {"ratio": bad}, "ratio"),
    # Line's schema allows keys it does not name, with any value.
    (
        orders,
        lambda bad: {"lines": [{"sku": "a", "quantity": 1, "weight": bad}]},
        "lines[0].weight",
    ),
    (orders, lambda bad: {"lines": [], "notes": {"deep": [1, {"x": bad}]}}, "notes.deep[1].x"),
    (orders, lambda bad: {"lines": [], "extra": [bad]}, "extra[0]"),
    (orders, lambda bad: {"lines": [{"sku": "a", "quantity": bad}]}, "lines[0].quantity"),
]


@pytest.mark.parametrize("bad", NON_FINITE, ids=["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize(("tool_", "build", "where"), CASES, ids=[case[2] for case in CASES])
def test_a_non_finite_number_is_refused_and_located(
    tool_: Any, build: Any, where: str, bad: float
) -> None:
    with pytest.raises(ToolArgumentsError) as caught:
        tool_.validate(build(bad))
    assert caught.value.problems == [
        (where, "is not a finite number (NaN and Infinity are not JSON numbers)")
    ]


@pytest.mark.parametrize("bad", NON_FINITE, ids=["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize(("tool_", "build", "where"), CASES, ids=[case[2] for case in CASES])
def test_the_compiled_checker_never_accepts_a_non_finite_number(
    tool_: Any, build: Any, where: str, bad: float
) -> None:
    check = compile_check(tool_.input_schema)
    assert check is not None
    try:
        accepted = check(build(bad))
    except Unsure:
        accepted = False
    assert accepted is False


@pytest.mark.parametrize(("tool_", "build", "where"), CASES, ids=[case[2] for case in CASES])
def test_the_same_arguments_with_a_finite_number_are_accepted(
    tool_: Any, build: Any, where: str
) -> None:
    arguments = build(1)
    assert compile_check(tool_.input_schema) is not None
    assert set(tool_.validate(arguments)) == set(arguments)
