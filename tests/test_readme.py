"""The README is where a newcomer starts: its examples run as written, its layout is complete.

The Python examples run in order in one fresh interpreter (later ones use the tools defined
by earlier ones, as a reader would), against the bundled emulator, with standard input not
a terminal; the example marked ``# myapp/agents.py`` becomes that module, and the shell
commands shown after it finish the paused run.
"""

from __future__ import annotations

import fnmatch
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentcore.emulator import Emulator

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
AGENTS_MODULE_MARK = "# myapp/agents.py\n"
FIRST_AGENT_MARK = "from agentcore import Agent, Limits, tool\n"

RUNNER = """
import sys
from pathlib import Path

namespace = {"__name__": "__main__"}
for number, path in enumerate(sys.argv[1:], 1):
    print(f"--- example {number}", flush=True)
    exec(compile(Path(path).read_text(), path, "exec"), namespace)
"""


def python_examples() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL)


@pytest.fixture
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
    [first_agent] = [block for block in python_examples() if block.startswith(FIRST_AGENT_MARK)]
    tools_source, _, _ = first_agent.partition("\nagent = Agent(")
    package = tmp_path / "myapp"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "tools.py").write_text(tools_source)
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


@pytest.mark.e2e
def test_the_python_examples_run_in_order_against_the_emulator(
    workdir: Path, emulator: Emulator
) -> None:
    scripts: list[str] = []
    for number, block in enumerate(python_examples(), 1):
        if block.startswith(AGENTS_MODULE_MARK):
            (workdir / "myapp" / "agents.py").write_text(block)
            continue
        script = workdir / f"example_{number}.py"
        script.write_text(block)
        scripts.append(str(script))

    finished = run(workdir, emulator, sys.executable, "-c", RUNNER, *scripts)

    assert finished.returncode == 0, finished.stderr
    out = finished.stdout
    assert "Hello, Claude" in out  # the emulator's demo policy echoes the message
    assert "completed [demo policy] Here is what the tools returned:" in out
    assert "- lookup_order returned: order_id: A-1001, status: shipped" in out
    assert re.search(r"^paused [0-9a-f]{32}", out, flags=re.MULTILINE)
    assert "ticket-1 [demo policy]" in out and "ticket-2 [demo policy]" in out
    assert out.rstrip().endswith("You said: Hi")


@pytest.mark.e2e
def test_the_deferred_approval_commands_finish_the_paused_run(
    workdir: Path, emulator: Emulator
) -> None:
    blocks = python_examples()
    [agents_module] = [block for block in blocks if block.startswith(AGENTS_MODULE_MARK)]
    [starter] = [block for block in blocks if "from myapp.agents import build_agent" in block]
    (workdir / "myapp" / "agents.py").write_text(agents_module)
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
    assert [line.split()[:2] for line in runs.stdout.splitlines()] == [[run_id, "completed"]]


def test_the_layout_names_every_module_and_folder() -> None:
    layout = README.split("\n## Layout\n", 1)[1]
    named = re.findall(r"`([^`\s]+)`", layout)
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
