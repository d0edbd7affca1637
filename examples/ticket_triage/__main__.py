"""``python -m examples.ticket_triage [--live] [--model M] [--json]``: triage 50 tickets.

Offline (the default) the batch goes to the bundled emulator, whose keyword rules stand in
for the model; ``--live`` sends it to the Messages API. Exits 1 when any ticket failed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import TextIO

from agentcore.client import Client
from agentcore.client.batches import BatchRequest, PollSchedule
from agentcore.emulator import Emulator
from agentcore.errors import AgentcoreError
from agentcore.prompts import SystemPrompt
from examples.ticket_triage import stand_in
from examples.ticket_triage.triage import (
    HERE,
    TriageReport,
    batch_requests,
    load_tickets,
    render,
    summary,
    triage,
)

OFFLINE_SOURCE = "emulator: answers come from keyword rules standing in for the model"


def main(argv: Sequence[str] | None = None, *, out: TextIO = sys.stdout) -> int:
    """Run the example; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m examples.ticket_triage",
        description="Classify 50 support tickets through the Message Batches API and print the "
        "categories and the cost at the batch and the interactive rate. Offline by default: "
        "the bundled emulator's keyword rules stand in for the model.",
    )
    parser.add_argument("--live", action="store_true",
                        help="send the batch to the real API (needs ANTHROPIC_API_KEY)")
    parser.add_argument("--model", default="claude-haiku-4-5",
                        help="the model for every ticket (default: claude-haiku-4-5)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)

    prompt = SystemPrompt.from_file(HERE / "prompt.md")
    requests = batch_requests(load_tickets(), prompt, args.model)
    try:
        if args.live:
            if not os.environ.get("ANTHROPIC_API_KEY"):
                print("--live needs ANTHROPIC_API_KEY in the environment", file=sys.stderr)
                return 2
            with Client() as client:
                # Real batches take minutes to hours: poll gently.
                schedule = PollSchedule(initial_s=10, max_interval_s=120)
                report = triage(client, requests, schedule)
            source = f"live API, {args.model}, prompt {prompt.name} {prompt.version}"
        else:
            report = _offline(requests)
            source = OFFLINE_SOURCE
    except AgentcoreError as error:
        print(f"triage failed: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    print(json.dumps(summary(report), indent=2) if args.json else render(report, source=source),
          file=out)
    if report.failed:
        print(f"{len(report.failed)} of {len(requests)} tickets failed", file=sys.stderr)
        return 1
    return 0


def _offline(requests: list[BatchRequest]) -> TriageReport:
    with (
        Emulator(stand_in.reply, batch_delay_seconds=0.05) as emulator,
        Client(api_key="emulator", base_url=emulator.base_url) as client,
    ):
        schedule = PollSchedule(initial_s=0.02, max_interval_s=0.5, max_wait_s=60)
        return triage(client, requests, schedule)


if __name__ == "__main__":
    raise SystemExit(main())
