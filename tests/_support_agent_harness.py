"""Shared by the support agent's tests: run the example as a user would, read its database."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TIMEOUT_S = 60

STATUS_QUESTION = "What's the status of order A-1001? My email is ada.lovelace@example.com"
REFUND_REQUEST = "Please refund $25 on order A-1001, the keyboard arrived scratched"


def offline_env() -> dict[str, str]:
    """The environment of a user without an API key, and without colors to match on.

    ``PYTHONPATH`` is dropped too: the example runs from the repository root, never installed.
    """
    env = {
        k: v for k, v in os.environ.items()
        if k not in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "ANTHROPIC_AUTH_TOKEN")
        and k != "PYTHONPATH"
        and not k.startswith("SUPPORT_AGENT_")
    }
    env["NO_COLOR"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def flat(text: str) -> str:
    """``text`` with its lines joined and runs of spaces made one: what a person reads, however
    the console wrapped it to the terminal's width."""
    return " ".join(text.split())


def run_example(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m examples.support_agent ARGS`` from the repository root, offline."""
    return subprocess.run(
        [sys.executable, "-m", "examples.support_agent", *args],
        cwd=REPO,
        env=offline_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )


def run_command(command: list[str]) -> subprocess.CompletedProcess[str]:
    """A command exactly as the console printed it, run from the repository root, offline."""
    return subprocess.run(
        command,
        cwd=REPO,
        env=offline_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )


def refunds(database: Path, order_id: str = "A-1001") -> list[tuple[int, str]]:
    """(amount_cents, reason) of every refund on ``order_id``, oldest first."""
    connection = sqlite3.connect(database)
    try:
        rows = connection.execute(
            "SELECT amount_cents, reason FROM refunds WHERE order_id = ? ORDER BY id", (order_id,)
        ).fetchall()
    finally:
        connection.close()
    return [(int(amount), str(reason)) for amount, reason in rows]
