"""Reading eval runs: a terminal report, the comparison of two runs and the CI gate.

The report is plain text that fits the given width: one row per case (outcome, status,
turns, tokens, cost, latency), the failed checks under it, and the totals (pass rate, cost,
p50/p95 latency, the path the calls took). :func:`compare` pairs two runs case by case;
:func:`gate` says why a run should fail CI (empty when it passes).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from decimal import Decimal

from agentcore.evals.runner import CaseResult, EvalRun
from agentcore.terminal import terminal_safe

__all__ = ["CaseChange", "Comparison", "compare", "format_comparison", "format_report", "gate"]


def _width(width: int | None) -> int:
    return width if width is not None else max(60, min(160, shutil.get_terminal_size().columns))


def _cut(text: str, size: int) -> str:
    text = terminal_safe(" ".join(text.split()))
    return text if len(text) <= size else text[: max(1, size - 1)] + "…"


def _usd(amount: Decimal | None) -> str:
    return "?" if amount is None else f"${amount:.4f}"


def _signed_usd(amount: Decimal | None) -> str:
    return "?" if amount is None else f"{'+' if amount >= 0 else '-'}${abs(amount):.4f}"


def format_report(run: EvalRun, *, width: int | None = None) -> str:
    """The run as a table of cases with failed checks and totals, at most ``width`` wide."""
    columns = _width(width)
    id_size = max(8, min(40, columns - 55))
    lines = [
        _cut(f"{run.label} on suite {run.suite}: {run.passed}/{len(run.cases)} passed "
             f"({run.pass_rate:.0%})", columns),
        _cut(f"{run.path} path"
             + (f" ({len(run.batch_ids)} batches, 50% price)" if run.path == "batch" else "")
             + (f" · {run.backend}" if run.backend else "")
             + (f" · {run.model}" if run.model else ""), columns),
        f"{'case':<{id_size}} {'result':<6} {'status':<13} {'turns':>5} {'tokens':>7} "
        f"{'cost':>9} {'latency':>8}",
    ]
    for case in run.cases:
        lines.append(
            f"{_cut(case.case_id, id_size):<{id_size}} {'pass' if case.passed else 'FAIL':<6} "
            f"{_cut(case.status, 13):<13} {case.turns:>5} {case.total_tokens:>7} "
            f"{_usd(case.cost_usd):>9} {case.latency_s:>7.2f}s"
        )
        for check in case.failed_checks:
            lines.append("    " + _cut(f"✗ {check.description}: {check.detail}", columns - 4))
    lines.append(_cut(f"pass rate {run.pass_rate:.1%} · cost {_usd(run.cost_usd)} · tokens "
                      f"{run.total_tokens}", columns))
    lines.append(_cut(f"latency p50 {run.latency(0.5):.2f}s p95 {run.latency(0.95):.2f}s · "
                      f"wall {run.duration_s:.1f}s", columns))
    return "\n".join(lines)


@dataclass(frozen=True)
class CaseChange:
    """One case in two runs: ``fixed``, ``regressed``, ``still passing``, ``still failing``,
    ``added`` or ``removed``."""

    case_id: str
    change: str
    old: CaseResult | None
    new: CaseResult | None

    @property
    def cost_delta(self) -> Decimal | None:
        """New cost minus old (None when either is unknown or missing)."""
        if self.old is None or self.new is None or None in (self.old.cost_usd,
                                                             self.new.cost_usd):
            return None
        assert self.old.cost_usd is not None and self.new.cost_usd is not None
        return self.new.cost_usd - self.old.cost_usd

    @property
    def latency_delta(self) -> float | None:
        """New latency minus old, in seconds."""
        if self.old is None or self.new is None:
            return None
        return self.new.latency_s - self.old.latency_s


@dataclass(frozen=True)
class Comparison:
    """Two runs of a suite, case by case."""

    old: EvalRun
    new: EvalRun
    cases: list[CaseChange]

    @property
    def regressions(self) -> list[CaseChange]:
        """Cases that passed before and fail now."""
        return [case for case in self.cases if case.change == "regressed"]

    @property
    def changed(self) -> list[CaseChange]:
        """Cases whose outcome changed, or that one run lacks."""
        return [case for case in self.cases
                if case.change not in ("still passing", "still failing")]


def compare(old: EvalRun, new: EvalRun) -> Comparison:
    """Pair the cases of ``old`` and ``new`` by id (new's order, then old's extras)."""
    before = {case.case_id: case for case in old.cases}
    after = {case.case_id: case for case in new.cases}
    changes = []
    for case in new.cases:
        previous = before.get(case.case_id)
        if previous is None:
            change = "added"
        elif previous.passed and not case.passed:
            change = "regressed"
        elif not previous.passed and case.passed:
            change = "fixed"
        else:
            change = "still passing" if case.passed else "still failing"
        changes.append(CaseChange(case.case_id, change, previous, case))
    changes.extend(CaseChange(case.case_id, "removed", case, None)
                   for case in old.cases if case.case_id not in after)
    return Comparison(old, new, changes)


def gate(run: EvalRun, *, min_pass_rate: float | None = None,
         baseline: Comparison | None = None) -> list[str]:
    """Why ``run`` should fail CI: it has no cases, every case errored (nothing was evaluated),
    its pass rate is under ``min_pass_rate``, or a case that passed in ``baseline.old`` fails
    now or is missing (removed or renamed: a passing case never drops out of the gate
    silently). Empty when it passes."""
    if not run.cases:
        return ["the run has no cases"]
    reasons = []
    if all(case.status == "failed" and not case.passed for case in run.cases):
        first = next((case.error for case in run.cases if case.error), "no error given")
        reasons.append(f"every case errored; the first: {first}")
    if min_pass_rate is not None and run.pass_rate < min_pass_rate:
        reasons.append(f"pass rate {run.pass_rate:.1%} is below {min_pass_rate:.1%}")
    if baseline is not None:
        old, new = baseline.old.label, baseline.new.label
        for case in baseline.cases:
            if case.change == "regressed":
                reasons.append(f"case {case.case_id} passed with {old} and fails with {new}")
            elif case.change == "removed" and case.old is not None and case.old.passed:
                reasons.append(f"case {case.case_id} passed with {old} and is missing from "
                               f"{new}")
    return reasons


def format_comparison(comparison: Comparison, *, width: int | None = None) -> str:
    """The cases whose outcome changed, with cost and latency deltas, and the totals."""
    columns = _width(width)
    old, new = comparison.old, comparison.new
    id_size = max(8, min(40, columns - 50))
    paths = f" ({old.path} → {new.path} path)" if old.path != new.path else ""
    lines = [_cut(f"{old.label} → {new.label} on suite {new.suite}{paths}", columns)]
    changed = comparison.changed
    if changed:
        lines.append(f"{'case':<{id_size}} {'change':<10} {'Δcost':>10} {'Δlatency':>9}")
        for case in changed:
            latency = case.latency_delta
            lines.append(
                f"{_cut(case.case_id, id_size):<{id_size}} {case.change:<10} "
                f"{_signed_usd(case.cost_delta):>10} "
                f"{'?' if latency is None else f'{latency:+.2f}s':>9}"
            )
            if case.change == "regressed" and case.new is not None:
                for check in case.new.failed_checks:
                    lines.append("    " + _cut(f"✗ {check.description}: {check.detail}",
                                              columns - 4))
    else:
        lines.append("no case changed outcome")
    old_cost, new_cost = old.cost_usd, new.cost_usd
    delta = None if old_cost is None or new_cost is None else new_cost - old_cost
    lines.append(_cut(f"pass rate {old.pass_rate:.1%} → {new.pass_rate:.1%} · cost "
                      f"{_usd(old_cost)} → {_usd(new_cost)} ({_signed_usd(delta)})", columns))
    lines.append(_cut(f"latency p50 {old.latency(0.5):.2f}s → {new.latency(0.5):.2f}s · p95 "
                      f"{old.latency(0.95):.2f}s → {new.latency(0.95):.2f}s", columns))
    return "\n".join(lines)
