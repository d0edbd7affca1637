"""Cost of validating and running a tool call, against hand-written code in the same run.

For each case the baseline is what a careful developer would write by hand for that one tool:
isinstance checks, a set comparison for unknown keys, and the conversions (``fromisoformat``,
building the pydantic model). ``Tool.validate`` checks against the JSON Schema, explains
failures and converts, so it cannot be free; the targets keep it a small part of a turn.
Also printed: plain jsonschema on the same arguments, the cost the fast paths avoid. Most of
what ``Tool.run`` adds over a bare call is building the immutable ``ToolOutput`` (about a
microsecond), small next to one model call.
Run with ``make bench``; figures are printed (``-s``). Times are the best CPU time of
interleaved repeats, which keeps the ratios steady on a busy machine.
"""

from __future__ import annotations

import datetime
import json
import time
from collections.abc import Callable
from typing import Annotated, Any

from jsonschema import Draft202012Validator
from pydantic import BaseModel, Field

from agentcore import tool

CALLS = 5_000
REPEATS = 5
TARGET_SIMPLE_RATIO = 3.0
TARGET_COMPLEX_RATIO = 6.0
TARGET_RUN_RATIO = 6.0


class LineItem(BaseModel):
    sku: str
    quantity: Annotated[int, Field(ge=1)]


@tool
def lookup_order(order_id: str, limit: int = 10, include_history: bool = False) -> str:
    """Look up an order."""
    return order_id


@tool
def refund_order(
    order_id: str,
    amount_cents: Annotated[int, Field(gt=0)],
    due: datetime.date | None = None,
    items: list[LineItem] | None = None,
) -> str:
    """Refund an order."""
    return order_id


SIMPLE_ARGS = {"order_id": "A-1001", "limit": 3}
COMPLEX_ARGS = {
    "order_id": "A-1001",
    "amount_cents": 1250,
    "due": "2026-05-01",
    "items": [{"sku": "ABC-1", "quantity": 2}, {"sku": "ABC-2", "quantity": 1}],
}


def hand_simple(arguments: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(arguments, dict):
        raise TypeError("arguments must be an object")
    if set(arguments) - {"order_id", "limit", "include_history"}:
        raise ValueError("unknown argument")
    if not isinstance(arguments.get("order_id"), str):
        raise ValueError("order_id must be a string")
    limit = arguments.get("limit", 10)
    if not isinstance(limit, int) or isinstance(limit, bool):
        raise ValueError("limit must be an integer")
    if not isinstance(arguments.get("include_history", False), bool):
        raise ValueError("include_history must be a boolean")
    return dict(arguments)


def hand_complex(arguments: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(arguments, dict):
        raise TypeError("arguments must be an object")
    if set(arguments) - {"order_id", "amount_cents", "due", "items"}:
        raise ValueError("unknown argument")
    if not isinstance(arguments.get("order_id"), str):
        raise ValueError("order_id must be a string")
    amount = arguments.get("amount_cents")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise ValueError("amount_cents must be a positive integer")
    result: dict[str, Any] = {"order_id": arguments["order_id"], "amount_cents": amount}
    if arguments.get("due") is not None:
        result["due"] = datetime.date.fromisoformat(arguments["due"])
    if arguments.get("items") is not None:
        result["items"] = [LineItem(**item) for item in arguments["items"]]
    return result


def hand_run(function: Callable[..., Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    try:
        result = function(**kwargs)
    except Exception as exc:
        return {"content": f"{type(exc).__name__}: {exc}", "is_error": True}
    content = result if isinstance(result, str) else json.dumps(result)
    return {"content": content, "is_error": False}


def best_per_call_us(fn: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        start = time.process_time()
        for _ in range(CALLS):
            fn()
        best = min(best, time.process_time() - start)
    return best / CALLS * 1e6


def compare(label: str, ours: Callable[[], object], baseline: Callable[[], object]) -> float:
    ours_us = min(best_per_call_us(ours), best_per_call_us(ours))
    base_us = min(best_per_call_us(baseline), best_per_call_us(baseline))
    ratio = ours_us / base_us
    print(f"\n{label}: agentcore {ours_us:.2f} us, by hand {base_us:.2f} us, ratio {ratio:.2f}x")
    return ratio


def test_validate_simple_tool() -> None:
    assert lookup_order.validate(SIMPLE_ARGS) == hand_simple(SIMPLE_ARGS)
    ratio = compare(
        "validate, plain str/int/bool tool",
        lambda: lookup_order.validate(SIMPLE_ARGS),
        lambda: hand_simple(SIMPLE_ARGS),
    )
    assert ratio <= TARGET_SIMPLE_RATIO


def test_validate_complex_tool() -> None:
    assert refund_order.validate(COMPLEX_ARGS) == hand_complex(COMPLEX_ARGS)
    ratio = compare(
        "validate + convert, date and nested models",
        lambda: refund_order.validate(COMPLEX_ARGS),
        lambda: hand_complex(COMPLEX_ARGS),
    )
    schema_only = Draft202012Validator(refund_order.input_schema)
    compare(
        "  (for reference) jsonschema alone, no conversion",
        lambda: schema_only.is_valid(COMPLEX_ARGS),
        lambda: hand_complex(COMPLEX_ARGS),
    )
    assert ratio <= TARGET_COMPLEX_RATIO


def test_run_sync_tool() -> None:
    kwargs = lookup_order.validate(SIMPLE_ARGS)
    function = lookup_order.function
    ratio = compare(
        "run (call + output conversion)",
        lambda: lookup_order.run(kwargs),
        lambda: hand_run(function, kwargs),
    )
    assert ratio <= TARGET_RUN_RATIO
