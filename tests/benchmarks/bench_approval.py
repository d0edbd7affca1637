"""Cost of the approval machinery, against baselines measured in the same run.

- Exactly-once journal: ``begin_execution`` + ``finish_execution`` (two committed ``BEGIN
  IMMEDIATE`` transactions with their audit rows) against the floor of two bare autocommit
  SQLite writes on an identically configured WAL database. Target: at most 4x the floor.
- Binding and applying a decision (``arguments_hash`` + ``apply_decision`` with schema
  validation of an edit) against one ``json.dumps`` + ``jsonschema`` validation of the same
  arguments. Target: at most 3x.

Wall-clock time is used for the store (its cost is mostly fsync, not CPU); best of
interleaved repeats keeps the ratios steady on a busy machine. Run with ``make bench``.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import jsonschema
from pydantic import Field

from agentcore.approval import ApprovalRequest, Edit, apply_decision, arguments_hash
from agentcore.store import RunStore
from agentcore.tools import tool

CALLS = 200


@tool(sensitive=True)
def refund_order(order_id: str, amount_cents: Annotated[int, Field(gt=0)]) -> str:
    """Refund an order.

    Args:
        order_id: Order number.
        amount_cents: Amount in cents.
    """
    return "ok"


def best_seconds(*runs: Callable[[int], object], repeat: int = 5) -> list[float]:
    best = [float("inf")] * len(runs)
    for attempt in range(repeat):
        for position, run in enumerate(runs):
            start = time.perf_counter()
            run(attempt)
            best[position] = min(best[position], time.perf_counter() - start)
    return best


def test_exactly_once_journal_costs_a_small_multiple_of_raw_sqlite_writes(
    tmp_path: Path,
) -> None:
    store = RunStore(tmp_path / "runs.db")
    raw = sqlite3.connect(tmp_path / "raw.db", isolation_level=None)
    raw.execute("PRAGMA journal_mode = WAL")
    raw.execute("CREATE TABLE executions (call_id TEXT PRIMARY KEY, status TEXT, result TEXT)")

    def journal(attempt: int) -> None:
        for i in range(CALLS):
            call_id = f"toolu_{attempt}_{i}"
            assert store.begin_execution("run", call_id, tool="refund_order")
            store.finish_execution("run", call_id, is_error=False, result="ok")

    def floor(attempt: int) -> None:
        for i in range(CALLS):
            call_id = f"toolu_{attempt}_{i}"
            raw.execute("INSERT INTO executions VALUES (?, 'started', NULL)", (call_id,))
            raw.execute(
                "UPDATE executions SET status = 'ok', result = 'ok' WHERE call_id = ?", (call_id,)
            )

    ours, baseline = best_seconds(journal, floor)
    ratio = ours / baseline
    print(
        f"\njournal: {ours / CALLS * 1e6:.0f} us/call, raw SQLite floor: "
        f"{baseline / CALLS * 1e6:.0f} us/call, ratio {ratio:.2f}x (target <= 4x)"
    )
    store.close()
    raw.close()
    assert ratio <= 4


def test_binding_and_applying_an_edit_costs_little_over_validating_it() -> None:
    original = {"order_id": "A-1001", "amount_cents": 5000}
    request = ApprovalRequest.for_call(refund_order, "toolu_1", original, "sensitive")
    edit = Edit({"order_id": "A-1001", "amount_cents": 2500}, arguments_hash=request.arguments_hash)
    validator = jsonschema.Draft202012Validator(refund_order.input_schema)

    def ours(_: int) -> None:
        for _i in range(CALLS * 10):
            arguments_hash(edit.arguments)
            apply_decision(refund_order, request, edit)

    def floor(_: int) -> None:
        for _i in range(CALLS * 10):
            json.dumps(edit.arguments, sort_keys=True)
            validator.validate(edit.arguments)

    mine, baseline = best_seconds(ours, floor)
    ratio = mine / baseline
    print(
        f"\napply_decision(edit): {mine / (CALLS * 10) * 1e6:.1f} us, json.dumps + jsonschema: "
        f"{baseline / (CALLS * 10) * 1e6:.1f} us, ratio {ratio:.2f}x (target <= 3x)"
    )
    assert ratio <= 3
