"""Build the batch, run it, and sum up the categories and what they cost."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from agentcore.client import Client
from agentcore.client.batches import (
    BatchErrored,
    Batches,
    BatchRequest,
    BatchResult,
    BatchSucceeded,
    PollSchedule,
    results_cost,
)
from agentcore.prompts import SystemPrompt

HERE = Path(__file__).parent
CATEGORIES = ("billing", "shipping", "account", "bug", "feature_request", "other")


def load_tickets(path: Path = HERE / "tickets.json") -> list[dict[str, str]]:
    """The backlog: ``{"id": "T-001", "text": "..."}`` items."""
    tickets: list[dict[str, str]] = json.loads(path.read_text(encoding="utf-8"))
    return tickets


def batch_requests(
    tickets: list[dict[str, str]], prompt: SystemPrompt, model: str
) -> list[BatchRequest]:
    """One Messages request per ticket, keyed by the ticket id."""
    return [
        (
            ticket["id"],
            {
                "model": model,
                "max_tokens": 8,
                "system": str(prompt),
                "messages": [{"role": "user", "content": ticket["text"]}],
            },
        )
        for ticket in tickets
    ]


@dataclass
class TriageReport:
    """What came back from the batch."""

    batch_id: str
    categories: dict[str, str] = field(default_factory=dict)
    """Ticket id to category; answers outside the list count as ``unparsed``."""
    failed: dict[str, str] = field(default_factory=dict)
    """Ticket id to why it has no category (errored, canceled or expired)."""
    cost_at_batch_rate: Decimal | None = None
    cost_at_interactive_rate: Decimal | None = None

    @property
    def counts(self) -> Counter[str]:
        """Tickets per category."""
        return Counter(self.categories.values())


def _category(answer: str) -> str:
    word = answer.strip().lower().rstrip(".")
    return word if word in CATEGORIES else "unparsed"


def triage(client: Client, requests: list[BatchRequest], schedule: PollSchedule) -> TriageReport:
    """Submit the batch, wait for it, and read its results as they stream in."""
    batches = Batches(client)
    batch = batches.create(requests)
    batches.wait(batch.id, schedule)
    report = TriageReport(batch.id)
    results: list[BatchResult] = []
    for result in batches.results(batch.id):
        results.append(result)
        if isinstance(result, BatchSucceeded):
            report.categories[result.custom_id] = _category(result.message.text)
        elif isinstance(result, BatchErrored):
            report.failed[result.custom_id] = f"{result.error_type}: {result.message}"
        else:
            report.failed[result.custom_id] = result.kind
    report.cost_at_batch_rate = results_cost(results)
    report.cost_at_interactive_rate = results_cost(results, batch=False)
    return report


def render(report: TriageReport, *, source: str) -> str:
    """The report as text for the terminal."""
    lines = [
        f"Ticket triage through the Message Batches API ({source})",
        f"batch {report.batch_id}: {len(report.categories)} classified, "
        f"{len(report.failed)} failed",
        "",
        f"{'category':<18}{'tickets':>7}",
    ]
    counts = report.counts
    for category in (*CATEGORIES, "unparsed"):
        if counts[category] or category != "unparsed":
            lines.append(f"{category:<18}{counts[category]:>7}")
    for ticket_id, reason in sorted(report.failed.items()):
        lines.append(f"  {ticket_id} failed: {reason}")
    lines.append("")
    lines.extend(_costs(report))
    return "\n".join(lines)


def _costs(report: TriageReport) -> list[str]:
    batch, interactive = report.cost_at_batch_rate, report.cost_at_interactive_rate
    if batch is None or interactive is None:
        return ["cost: unknown (the model has no price in the table)"]
    saving = f" (the batch saves {1 - batch / interactive:.0%})" if interactive else ""
    return [
        f"cost at the batch rate:       ${batch:.6f}",
        f"cost at the interactive rate: ${interactive:.6f}{saving}",
    ]


def summary(report: TriageReport) -> dict[str, Any]:
    """The report as plain data (for ``--json``)."""
    return {
        "batch_id": report.batch_id,
        "counts": {category: report.counts[category] for category in sorted(report.counts)},
        "failed": report.failed,
        "cost_at_batch_rate": str(report.cost_at_batch_rate),
        "cost_at_interactive_rate": str(report.cost_at_interactive_rate),
    }
