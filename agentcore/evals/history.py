"""Eval runs kept in a SQLite file: the history of each prompt name and version.

:class:`EvalHistory` stores every :class:`~agentcore.evals.EvalRun` with its cases (checks,
tokens, cost, latency, transcript) and reads them back: the latest run of ``name@version``,
or the runs of a prompt newest first. Reading is defensive: a row that is not what this
module wrote raises :class:`~agentcore.errors.ConfigurationError` naming it, and so does a
file that is not SQLite or that another process keeps locked past ``busy_timeout_s``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar

from agentcore.errors import ConfigurationError
from agentcore.evals.expectations import Check
from agentcore.evals.runner import CaseResult, EvalRun

__all__ = ["EvalHistory", "RunSummary", "parse_label"]

_T = TypeVar("_T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS eval_runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL UNIQUE,
    suite TEXT NOT NULL,
    prompt_name TEXT NOT NULL,
    prompt_version TEXT NOT NULL,
    model TEXT,
    path TEXT NOT NULL,
    backend TEXT NOT NULL,
    started_at TEXT NOT NULL,
    duration_s REAL NOT NULL,
    cases INTEGER NOT NULL,
    passed INTEGER NOT NULL,
    cost_usd TEXT,
    batch_ids TEXT NOT NULL,
    gate_passed INTEGER
);
CREATE INDEX IF NOT EXISTS eval_runs_prompt ON eval_runs (prompt_name, prompt_version, seq);
CREATE TABLE IF NOT EXISTS eval_cases (
    run_id TEXT NOT NULL REFERENCES eval_runs (run_id),
    position INTEGER NOT NULL,
    case_id TEXT NOT NULL,
    passed INTEGER NOT NULL,
    status TEXT NOT NULL,
    output TEXT NOT NULL,
    turns INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    total_tokens INTEGER NOT NULL,
    cost_usd TEXT,
    latency_s REAL NOT NULL,
    checks TEXT NOT NULL,
    transcript TEXT NOT NULL,
    approvals TEXT NOT NULL,
    tool_calls TEXT NOT NULL,
    error TEXT,
    tags TEXT NOT NULL,
    PRIMARY KEY (run_id, case_id)
);
"""

_RUN_COLUMNS = ("run_id, suite, prompt_name, prompt_version, model, path, backend, started_at, "
                "duration_s, batch_ids")
_CASE_COLUMNS = ("case_id, passed, status, output, turns, input_tokens, output_tokens, "
                 "total_tokens, cost_usd, latency_s, checks, transcript, approvals, tool_calls, "
                 "error, tags")


def parse_label(label: str) -> tuple[str, str | None]:
    """``"support-agent@4"`` → ``("support-agent", "4")``; no ``@`` → any version (None)."""
    name, at, version = label.rpartition("@")
    if not at:
        return label, None
    if not name or not version:
        raise ConfigurationError(f"{label!r} is not NAME@VERSION")
    return name, version


@dataclass(frozen=True)
class RunSummary:
    """One stored run, without its cases."""

    run_id: str
    suite: str
    prompt_name: str
    prompt_version: str
    model: str | None
    path: str
    started_at: str
    cases: int
    passed: int
    cost_usd: Decimal | None
    gate_passed: bool | None = None
    """Whether the run passed its CI gate (None when it was stored without one)."""


class EvalHistory:
    """A SQLite file of eval runs; created on first use.

    Args:
        path: The file, created with its directory when missing (``":memory:"`` for a
            history that lives as long as the object).
        busy_timeout_s: How long a read or write waits while another process writes the
            file (two CI jobs sharing it) before it fails with a ConfigurationError.
    """

    def __init__(self, path: str | Path, *, busy_timeout_s: float = 30.0) -> None:
        self.path = path
        self._busy_timeout_s = busy_timeout_s
        try:
            if str(path) != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), timeout=busy_timeout_s)
        except (OSError, sqlite3.DatabaseError) as exc:
            raise ConfigurationError(f"cannot open eval history {str(path)!r}: {exc}") from exc
        try:
            self._guarded(self._create)
        except ConfigurationError:
            self._db.close()
            raise

    def _guarded(self, action: Callable[[], _T]) -> _T:
        """Run ``action`` on the file, turning SQLite's errors into a ConfigurationError."""
        try:
            return action()
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise ConfigurationError(
                    f"eval history {str(self.path)!r} is busy: another process kept it locked "
                    f"for {self._busy_timeout_s:g}s") from exc
            raise ConfigurationError(f"eval history {str(self.path)!r}: {exc}") from exc
        except sqlite3.DatabaseError as exc:
            raise ConfigurationError(f"cannot open eval history {str(self.path)!r}: it is "
                                     f"damaged or not SQLite ({exc})") from exc

    def close(self) -> None:
        """Close the file."""
        self._db.close()

    def __enter__(self) -> EvalHistory:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _create(self) -> None:
        self._db.executescript(_SCHEMA)
        with closing(self._db.execute("PRAGMA table_info(eval_runs)")) as cursor:
            columns = {row[1] for row in cursor.fetchall()}
        if "gate_passed" not in columns:
            # A file written before runs kept their gate's outcome.
            with self._db:
                self._db.execute("ALTER TABLE eval_runs ADD COLUMN gate_passed INTEGER")

    def record(self, run: EvalRun, *, gate_passed: bool | None = None) -> None:
        """Store ``run`` and its cases, with whether it passed its CI gate (when it had one).

        A run that failed its gate never becomes the baseline of a later one (see
        :meth:`latest`), so rerunning a regressed version fails again.
        """
        self._guarded(lambda: self._record(run, gate_passed))

    def _record(self, run: EvalRun, gate_passed: bool | None) -> None:
        cost = run.cost_usd
        with self._db:
            self._db.execute(
                "INSERT INTO eval_runs (run_id, suite, prompt_name, prompt_version, model, path, "
                "backend, started_at, duration_s, cases, passed, cost_usd, batch_ids, "
                "gate_passed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run.run_id, run.suite, run.prompt_name, run.prompt_version, run.model,
                 run.path, run.backend, run.started_at, run.duration_s, len(run.cases),
                 run.passed, None if cost is None else str(cost), json.dumps(run.batch_ids),
                 None if gate_passed is None else int(gate_passed)),
            )
            self._db.executemany(
                f"INSERT INTO eval_cases (run_id, position, {_CASE_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (run.run_id, position, case.case_id, int(case.passed), case.status,
                     case.output, case.turns, case.input_tokens, case.output_tokens,
                     case.total_tokens, None if case.cost_usd is None else str(case.cost_usd),
                     case.latency_s, json.dumps([check.to_dict() for check in case.checks]),
                     json.dumps(case.transcript, default=str), json.dumps(case.approvals,
                                                                          default=str),
                     json.dumps(case.tool_calls, default=str), case.error,
                     json.dumps(list(case.tags)))
                    for position, case in enumerate(run.cases)
                ],
            )

    def runs(self, prompt_name: str | None = None, *, limit: int = 50) -> list[RunSummary]:
        """Stored runs, newest first (of one prompt name when given)."""
        query = ("SELECT run_id, suite, prompt_name, prompt_version, model, path, started_at, "
                 "cases, passed, cost_usd, gate_passed FROM eval_runs")
        params: tuple[Any, ...] = ()
        if prompt_name is not None:
            query += " WHERE prompt_name = ?"
            params = (prompt_name,)
        query += " ORDER BY seq DESC LIMIT ?"

        def read() -> list[RunSummary]:
            with closing(self._db.execute(query, (*params, limit))) as cursor:
                return [
                    RunSummary(str(row[0]), str(row[1]), str(row[2]), str(row[3]),
                               None if row[4] is None else str(row[4]), str(row[5]),
                               str(row[6]), _int(row[7], f"run {row[0]} cases"),
                               _int(row[8], f"run {row[0]} passed"),
                               _decimal(row[9], "eval_runs.cost_usd"),
                               None if row[10] is None
                               else bool(_int(row[10], f"run {row[0]} gate_passed")))
                    for row in cursor.fetchall()
                ]

        return self._guarded(read)

    def latest(
        self, prompt_name: str, prompt_version: str | None = None, *, suite: str | None = None,
        before: str | None = None, gate_passed: bool | None = None,
    ) -> EvalRun | None:
        """The newest run of ``prompt_name`` (at ``prompt_version`` when given), or None.

        ``suite`` keeps to runs of that suite; ``before`` to runs stored before that run id;
        ``gate_passed=True`` to runs that passed their gate (the baseline of the next run).
        """
        clauses: list[str] = ["prompt_name = ?"]
        params: list[Any] = [prompt_name]
        if prompt_version is not None:
            clauses.append("prompt_version = ?")
            params.append(prompt_version)
        if suite is not None:
            clauses.append("suite = ?")
            params.append(suite)
        if before is not None:
            clauses.append("seq < (SELECT seq FROM eval_runs WHERE run_id = ?)")
            params.append(before)
        if gate_passed is not None:
            clauses.append("gate_passed = ?")
            params.append(int(gate_passed))
        query = (f"SELECT {_RUN_COLUMNS} FROM eval_runs WHERE {' AND '.join(clauses)} "
                 "ORDER BY seq DESC LIMIT 1")

        def read() -> EvalRun | None:
            with closing(self._db.execute(query, params)) as cursor:
                row = cursor.fetchone()
            return None if row is None else self._run(row)

        return self._guarded(read)

    def _run(self, row: tuple[Any, ...]) -> EvalRun:
        run_id = row[0]
        with closing(self._db.execute(
            f"SELECT {_CASE_COLUMNS} FROM eval_cases WHERE run_id = ? ORDER BY position",
            (run_id,),
        )) as cursor:
            cases = [_case(case_row, run_id) for case_row in cursor.fetchall()]
        return EvalRun(
            run_id=run_id, suite=row[1], prompt_name=row[2], prompt_version=row[3],
            model=row[4], path="batch" if row[5] == "batch" else "interactive",
            backend=row[6], started_at=row[7], duration_s=_float(row[8], f"run {run_id} "
                                                                 "duration_s"), cases=cases,
            batch_ids=[str(item) for item in _json(row[9], list, f"run {run_id} batch_ids")],
        )

    def __iter__(self) -> Iterator[RunSummary]:
        return iter(self.runs())


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigurationError(f"eval history: {where} is not a whole number: {value!r}"[:300])
    return value


def _float(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigurationError(f"eval history: {where} is not a number: {value!r}"[:300])
    return float(value)


def _decimal(value: Any, where: str) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise ConfigurationError(f"eval history: {where} is not a number: {value!r}") from exc
    if not amount.is_finite():
        raise ConfigurationError(f"eval history: {where} is not a finite number")
    return amount


def _json(text: Any, kind: type, where: str) -> Any:
    try:
        value = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"eval history: {where} is not JSON") from exc
    if not isinstance(value, kind):
        raise ConfigurationError(f"eval history: {where} is not a {kind.__name__}")
    return value


def _case(row: tuple[Any, ...], run_id: str) -> CaseResult:
    where = f"run {run_id} case {row[0]!r}"
    checks = []
    for item in _json(row[10], list, f"{where} checks"):
        if not isinstance(item, dict):
            raise ConfigurationError(f"eval history: {where} has a malformed check")
        checks.append(Check(str(item.get("kind", "")), str(item.get("description", "")),
                            bool(item.get("passed")), str(item.get("detail", ""))))
    return CaseResult(
        case_id=str(row[0]), passed=bool(_int(row[1], f"{where} passed")), checks=checks,
        status=str(row[2]), output=str(row[3]), turns=_int(row[4], f"{where} turns"),
        input_tokens=_int(row[5], f"{where} input_tokens"),
        output_tokens=_int(row[6], f"{where} output_tokens"),
        total_tokens=_int(row[7], f"{where} total_tokens"),
        cost_usd=_decimal(row[8], f"{where} cost_usd"),
        latency_s=_float(row[9], f"{where} latency_s"),
        transcript=_json(row[11], list, f"{where} transcript"),
        approvals=_json(row[12], list, f"{where} approvals"),
        tool_calls=_json(row[13], list, f"{where} tool_calls"),
        error=None if row[14] is None else str(row[14]),
        tags=tuple(str(tag) for tag in _json(row[15], list, f"{where} tags")),
    )
