"""A 10-million-row SQLite table queried with no LIMIT: agentcore_sql against raw sqlite3.

The baseline is the least a caller can do: a read-only ``sqlite3`` connection, ``execute``
then ``fetchmany(row_limit)``. agentcore_sql adds the authorizer, the time-limit progress handler,
fetching one row more, counting up to 1,000 further rows, and rendering JSON for the model.
Both must stay flat in time and memory however big the table is (a ``fetchall`` of this table
would take seconds and gigabytes). Also shown: a query that must sort the whole table is
stopped at the time limit instead of running on. Run with ``make bench`` (figures print).
"""

from __future__ import annotations

import sqlite3
import statistics
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from agentcore_sql import SQLDatabase

from agentcore.errors import ToolError

ROWS = 10_000_000
ROW_LIMIT = 50
REPEATS = 15
MAX_SECONDS_PER_QUERY = 0.25
MAX_PEAK_BYTES = 5_000_000


@pytest.fixture(scope="module")
def big_table(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("bench") / "events.db"
    started = time.perf_counter()
    connection = sqlite3.connect(path)
    # A cross join of a 1,000-row table with itself is several times faster to insert than a
    # 10-million-step recursive CTE.
    connection.executescript(
        f"""
        PRAGMA journal_mode = OFF;
        PRAGMA synchronous = OFF;
        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            customer_id INTEGER NOT NULL,
            kind TEXT NOT NULL,
            amount_cents INTEGER NOT NULL
        );
        CREATE TEMP TABLE digits (x INTEGER PRIMARY KEY);
        INSERT INTO digits WITH RECURSIVE n(i) AS
            (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 999) SELECT i FROM n;
        INSERT INTO events (customer_id, kind, amount_cents)
            SELECT b.x * 50 + c.x % 50,
                   CASE c.x % 3 WHEN 0 THEN 'order' WHEN 1 THEN 'refund' ELSE 'ticket' END,
                   a.x * 100 + c.x
            FROM digits a, digits b, digits c LIMIT {ROWS};
        """
    )
    connection.close()
    size_mb = path.stat().st_size / 1e6
    print(f"\n{ROWS:,} rows generated in {time.perf_counter() - started:.1f} s ({size_mb:.0f} MB)")
    yield path


def measure(run: Callable[[], Any]) -> tuple[float, int, Any]:
    """Median seconds over REPEATS runs, then the peak traced allocation of one more run."""
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    tracemalloc.start()
    result = run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return statistics.median(times), peak, result


def test_unlimited_select_on_ten_million_rows_returns_the_limited_rows_quickly(
    big_table: Path,
) -> None:
    sql = "SELECT * FROM events"
    raw = sqlite3.connect(f"{big_table.as_uri()}?mode=ro", uri=True)

    def baseline() -> list[Any]:
        return raw.execute(sql).fetchmany(ROW_LIMIT)

    def same_reads() -> list[Any]:
        # What agentcore_sql reads: the shown rows, one more, and up to 1,000 counted ones.
        return raw.execute(sql).fetchmany(ROW_LIMIT + 1001)[:ROW_LIMIT]

    db = SQLDatabase.sqlite(big_table, row_limit=ROW_LIMIT)
    run_select = {t.name: t for t in db.tools()}["run_select"]
    arguments = run_select.validate({"sql": sql})

    base_s, base_peak, base_rows = measure(baseline)
    reads_s, reads_peak, _ = measure(same_reads)
    select_s, select_peak, result = measure(lambda: db.select(sql))
    tool_s, tool_peak, output = measure(lambda: run_select.run(arguments))

    started = time.perf_counter()
    (total,) = raw.execute("SELECT count(*) FROM events").fetchone()
    count_s = time.perf_counter() - started
    raw.close()

    print(f"\nSELECT * on {ROWS:,} rows, {ROW_LIMIT} shown (median of {REPEATS}):")
    print(f"  raw sqlite3 fetchmany   {base_s * 1e3:8.2f} ms  peak {base_peak / 1e3:8.1f} kB")
    print(
        f"  raw, 1,051 rows read    {reads_s * 1e3:8.2f} ms  peak {reads_peak / 1e3:8.1f} kB"
        "  (the same rows agentcore_sql reads)"
    )
    print(
        f"  SQLDatabase.select      {select_s * 1e3:8.2f} ms  peak {select_peak / 1e3:8.1f} kB"
        f"  ({select_s / base_s:.1f}x the first baseline, {select_s / reads_s:.1f}x the second)"
    )
    print(
        f"  run_select tool (JSON)  {tool_s * 1e3:8.2f} ms  peak {tool_peak / 1e3:8.1f} kB"
        f"  ({tool_s / base_s:.1f}x time)"
    )
    print(f"  for scale: count(*) over the table takes {count_s * 1e3:.0f} ms")

    assert total == ROWS
    assert result.rows == tuple(base_rows)
    assert (result.more_rows, result.more_rows_exact) == (1000, False)
    assert not output.is_error
    assert isinstance(output.content, str)
    assert output.content.endswith(
        '"notes":["at least 1000 more rows not shown; narrow the query (WHERE, aggregates) '
        'or page with LIMIT/OFFSET"]}'
    )
    assert select_s < MAX_SECONDS_PER_QUERY
    assert tool_s < MAX_SECONDS_PER_QUERY
    assert tool_peak < MAX_PEAK_BYTES


def test_query_that_must_sort_ten_million_rows_stops_at_the_time_limit(big_table: Path) -> None:
    db = SQLDatabase.sqlite(big_table, row_limit=ROW_LIMIT, time_limit_s=1.0)
    started = time.perf_counter()
    with pytest.raises(ToolError, match="stopped after the 1 s time limit"):
        db.select("SELECT * FROM events ORDER BY amount_cents DESC, kind")
    elapsed = time.perf_counter() - started
    print(f"\nORDER BY over {ROWS:,} unindexed rows: refused after {elapsed:.2f} s (limit 1 s)")
    assert elapsed < 1.5
