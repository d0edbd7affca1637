"""The README is where a newcomer starts: its examples run as written, its layout is complete.

Every fenced ``python`` block runs on its own in a fresh interpreter, offline, and fails the
test if it raises. What each one gets first is what a reader has at that point:

- the environment ``Client()`` reads: a dummy ``ANTHROPIC_API_KEY`` and ``ANTHROPIC_BASE_URL``
  pointing at the bundled emulator (:class:`agentcore.emulator.Emulator`), with standard
  input not a terminal;
- a working directory holding ``shop.db`` (for the SQL example) and a ``myapp`` package whose
  ``tools.py`` is the tools of "Your first agent";
- a block that refers to code "above" or in "Your first agent" runs after that block;
- the ones in :data:`PRELUDES`, for names a snippet leaves to the reader (keep it short).

The block marked ``# myapp/agents.py`` becomes that module and is run by importing it, and the
shell commands shown after it finish the paused run.
"""

from __future__ import annotations

import fnmatch
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from agentcore import Agent, Approve, Client, ScriptedApprover
from agentcore.emulator import Emulator
from agentcore.testing import ScriptedModel, text_reply, tool_reply

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
AGENTS_MODULE_MARK = "# myapp/agents.py\n"
FIRST_AGENT_MARK = "from agentcore import Agent, Limits, tool\n"
IDEMPOTENCY_MARK = "current_tool_call().idempotency_key"

# Names a snippet leaves to the reader, keyed by a text that identifies the snippet.
PRELUDES = {
    # The reader's own payment service, which the tool passes the idempotency key to.
    IDEMPOTENCY_MARK: "class payments:\n    refund = staticmethod(lambda *args, **kwargs: 'ok')\n",
}

# What a snippet prints, as the README's comments say, on the emulator's demo policy.
EXPECTED_OUTPUT = {
    "client = Client()  # reads ANTHROPIC_API_KEY": [r"You said: Hello, Claude"],
    FIRST_AGENT_MARK: [
        r"^completed \[demo policy\] Here is what the tools returned:$",
        r"^- lookup_order returned: order_id: A-1001, status: shipped$",
    ],
    "agent.resume(RunState.from_json(text)": [
        r"^completed \[demo policy\] Here is what the tools returned:\n"
        r"- refund_order returned: refunded 4999 cents on A-1001\n\Z"
    ],
    "agent = build_agent(RunStore(\"runs.db\"))": [r"^paused [0-9a-f]{32}$"],
    "batches.results(batch.id)": [r"^ticket-1 \[demo policy\]", r"^ticket-2 \[demo policy\]"],
    "with Emulator() as emulator:": [r"You said: Hi\n\Z"],
    "WebSearch(max_uses=3": [r"^completed \{'web_search_requests': 1\}\n0\.01\d*\n\Z"],
    "print(citation.cited_text)": [r"\AGift cards are never refunded\.\n\Z"],
    "with Emulator(model, models=small) as emulator:": [
        r"^completed \d+ cleared \d+ tool results \(fetch_page\)$"
    ],
    "agent.arun(question) for question in questions": [r"^20 runs completed$"],
}

RUNNER = """
import sys
from pathlib import Path

namespace = {"__name__": "__main__"}
for path in sys.argv[1:]:
    exec(compile(Path(path).read_text(), path, "exec"), namespace)
"""


@dataclass(frozen=True)
class Example:
    """One fenced python block of the README."""

    line: int
    source: str

    def __str__(self) -> str:
        return f"README.md line {self.line}"


def python_examples() -> list[Example]:
    return [
        Example(README.count("\n", 0, match.start()) + 1, match.group(1))
        for match in re.finditer(r"^```python\n(.*?)^```", README, flags=re.DOTALL | re.MULTILINE)
    ]


def first_agent() -> str:
    [block] = [e.source for e in python_examples() if e.source.startswith(FIRST_AGENT_MARK)]
    return block


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator() as server:
        yield server


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A project directory as the examples assume: ``shop.db`` and a ``myapp`` package."""
    with sqlite3.connect(tmp_path / "shop.db") as db:
        db.executescript(
            "CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, password_hash TEXT);"
            "CREATE TABLE orders (id TEXT PRIMARY KEY, customer_id INTEGER, status TEXT,"
            " total_cents INTEGER);"
            "INSERT INTO customers VALUES (1, 'ada@example.com', 'x');"
            "INSERT INTO orders VALUES ('A-1001', 1, 'shipped', 10400);"
        )
    db.close()
    tools_source, _, _ = first_agent().partition("\nagent = Agent(")
    package = tmp_path / "myapp"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "tools.py").write_text(tools_source)
    [agents_module] = [
        e.source for e in python_examples() if e.source.startswith(AGENTS_MODULE_MARK)
    ]
    (package / "agents.py").write_text(agents_module)
    return tmp_path


def run(workdir: Path, emulator: Emulator, *command: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "ANTHROPIC_API_KEY": "sk-ant-readme",
        "ANTHROPIC_BASE_URL": emulator.base_url,
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.run(
        command,
        cwd=workdir,
        env=environment,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_every_expected_output_and_prelude_still_matches_a_readme_example() -> None:
    """A mark that no longer matches would silently check nothing."""
    sources = [example.source for example in python_examples()]
    assert len(sources) >= 10
    unmatched = [mark for mark in EXPECTED_OUTPUT if not any(mark in s for s in sources)]
    unmatched += [mark for mark in PRELUDES if not any(mark in s for s in sources)]
    assert unmatched == []


@pytest.mark.e2e
@pytest.mark.parametrize("example", python_examples(), ids=str)
def test_each_python_example_runs_on_its_own_against_the_emulator(
    example: Example, workdir: Path, emulator: Emulator
) -> None:
    if example.source.startswith(AGENTS_MODULE_MARK):
        # A module the CLI imports: importing it must work and start nothing.
        finished = run(workdir, emulator, sys.executable, "-c", "import myapp.agents")
        assert (finished.returncode, finished.stdout) == (0, ""), finished.stderr
        return
    files: list[str] = []
    if re.search(r"\babove\b|Your first agent", example.source):
        files.append("first_agent.py")
        (workdir / "first_agent.py").write_text(first_agent())
    for mark, prelude in PRELUDES.items():
        if mark in example.source:
            files.append("prelude.py")
            (workdir / "prelude.py").write_text(prelude)
    (workdir / "example.py").write_text(example.source)
    files.append("example.py")

    finished = run(workdir, emulator, sys.executable, "-c", RUNNER, *files)

    assert finished.returncode == 0, f"{example} raised:\n{finished.stderr}"
    for mark, patterns in EXPECTED_OUTPUT.items():
        if mark in example.source:
            for pattern in patterns:
                assert re.search(pattern, finished.stdout, flags=re.MULTILINE), (
                    f"{example} printed {finished.stdout!r}, expected /{pattern}/"
                )


def test_the_idempotency_example_gives_the_payment_service_the_call_id() -> None:
    [example] = [e.source for e in python_examples() if IDEMPOTENCY_MARK in e.source]
    refunds: list[dict[str, Any]] = []

    class Payments:
        @staticmethod
        def refund(order_id: str, amount_cents: int, *, idempotency_key: str) -> str:
            refunds.append({"order": order_id, "cents": amount_cents, "key": idempotency_key})
            return "refunded"

    namespace: dict[str, Any] = {"payments": Payments}
    exec(compile(example, "README.md", "exec"), namespace)
    model = ScriptedModel([
        tool_reply(("refund_order", {"order_id": "A-1001", "amount_cents": 4999}, "toolu_r1")),
        text_reply("Refunded."),
    ])  # fmt: skip
    agent = Agent("claude-sonnet-4-6", tools=[namespace["refund_order"]],
                  approver=ScriptedApprover([Approve()]),
                  client=Client(api_key="test", transport=model))  # fmt: skip

    result = agent.run("Refund $49.99 on A-1001")

    assert result.status == "completed"
    assert refunds == [{"order": "A-1001", "cents": 4999, "key": "toolu_r1"}]


@pytest.mark.e2e
def test_the_deferred_approval_commands_finish_the_paused_run(
    workdir: Path, emulator: Emulator
) -> None:
    [starter] = [e.source for e in python_examples() if "from myapp.agents import" in e.source]
    started = run(workdir, emulator, sys.executable, "-c", starter)
    assert started.returncode == 0, started.stderr
    status, run_id = started.stdout.split()
    assert status == "paused"

    agentcore = [sys.executable, "-m", "agentcore.cli"]
    listed = run(workdir, emulator, *agentcore, "approvals", "list", "--store", "runs.db")
    assert listed.stdout.splitlines()[1].split()[:3] == ["1", "pending", "refund_order"]
    approved = run(workdir, emulator, *agentcore, "approvals", "approve", "1", "--store", "runs.db")
    assert approved.returncode == 0, approved.stderr
    resumed = run(
        workdir, emulator, *agentcore,
        "runs", "resume", run_id, "--agent", "myapp.agents:build_agent", "--store", "runs.db",
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.startswith(f"Run {run_id}: completed\n")
    assert "- refund_order returned: refunded 4999 cents on A-1001" in resumed.stdout
    # Importing myapp.agents to resume started no second run.
    runs = run(workdir, emulator, *agentcore, "runs", "list", "--store", "runs.db")
    header, *rows = runs.stdout.splitlines()
    assert header.split()[:2] == ["RUN", "STATUS"]
    assert [line.split()[:2] for line in rows] == [[run_id, "completed"]]


def layout_names() -> list[str]:
    layout = README.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"`([^`\s]+)`", layout)


def test_the_layout_names_every_module_and_folder() -> None:
    named = layout_names()
    modules = sorted(path.name for path in (ROOT / "agentcore").glob("*.py"))
    missing = [
        module
        for module in modules
        if module != "__init__.py" and not any(fnmatch.fnmatch(module, n) for n in named)
    ]
    assert missing == []
    subpackages = sorted(
        f"{path.parent.name}/" for path in (ROOT / "agentcore").glob("*/__init__.py")
    )
    assert [package for package in subpackages if package not in named] == []
    folders = ["tools/sql/", "examples/support_agent/", "examples/ticket_triage/", "tests/",
               "tests/benchmarks/"]  # fmt: skip
    assert [folder for folder in folders if folder not in named] == []
    assert all((ROOT / folder).is_dir() for folder in folders)


def test_the_layout_names_nothing_that_is_not_there() -> None:
    package = ROOT / "agentcore"
    files = {path.name for path in package.rglob("*.py")}
    stale = [
        name
        for name in layout_names()
        if (name.endswith(".py") and name not in files and not (ROOT / name).is_file())
        or (name.endswith("/") and not (package / name).is_dir() and not (ROOT / name).is_dir())
    ]
    assert stale == []
