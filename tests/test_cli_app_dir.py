"""``agentcore runs resume --agent`` finds an application that was never installed.

As with uvicorn's ``--app-dir``, the ``--agent`` module is imported with the current directory
first on ``sys.path``, or the directory ``--app-dir`` names. Each test runs the installed
``agentcore`` command (whose own ``sys.path`` holds neither) in a fresh process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentcore.agent import Agent
from agentcore.approval import Approve
from agentcore.client import Client
from agentcore.state import RunState
from agentcore.store import RunStore
from agentcore.store.durable import run_stored
from agentcore.testing import ScriptedModel, tool_reply
from tests.approval_flow_app import refund_order

pytestmark = pytest.mark.e2e

AGENTCORE = Path(sys.executable).with_name("agentcore")

APP_MODULE = '''
from agentcore.agent import Agent
from agentcore.client import Client
from agentcore.store import ExecutionJournal
from agentcore.testing import ScriptedModel, text_reply
from agentcore.tools import tool


@tool(sensitive=True)
def refund_order(order_id: str, amount_cents: int) -> str:
    """Refund an order: the application's own tool, found where the command runs."""
    return f"refunded {amount_cents} cents on {order_id} by the app in this directory"


def build_agent(store):
    journal = ExecutionJournal(store)
    return Agent("claude-sonnet-4-5", tools=[refund_order],
                 client=Client(api_key="test", transport=ScriptedModel([text_reply("Done.")])),
                 before_tool=[journal.before_tool], after_tool=[journal.after_tool])
'''


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A user's project directory: ``myapp/agents.py`` and a store with one approved refund."""
    root = tmp_path / "project"
    (root / "myapp").mkdir(parents=True)
    (root / "myapp" / "__init__.py").write_text("")
    (root / "myapp" / "agents.py").write_text(APP_MODULE)
    refund = ("refund_order", {"order_id": "A-1001", "amount_cents": 2500}, "toolu_refund")
    agent = Agent(
        "claude-sonnet-4-5",
        tools=[refund_order],
        client=Client(api_key="test", transport=ScriptedModel([tool_reply(refund)])),
    )
    with RunStore(root / "runs.db") as store:
        result = run_stored(agent, store, "Refund A-1001")
        assert result.status == "paused"
        store.record_decision(1, Approve(), decided_by="ana")
        (root / "run_id").write_text(result.state.run_id)
    return root


def resume(cwd: Path, store: Path, *options: str) -> subprocess.CompletedProcess[str]:
    run_id = (store.parent / "run_id").read_text()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "AGENTCORE_STORE")}
    return subprocess.run(
        [str(AGENTCORE), "runs", "resume", run_id, "--agent", "myapp.agents:build_agent",
         *options, "--store", str(store)],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


def tool_results(project: Path) -> list[object]:
    """The content of every tool_result the stored run sent to the model."""
    with RunStore(project / "runs.db") as store:
        record = store.load_run((project / "run_id").read_text())
    return [
        block["content"]
        for message in RunState.from_json(record.state_json).messages
        if message["role"] == "user" and isinstance(message["content"], list)
        for block in message["content"]
        if block.get("type") == "tool_result"
    ]


def test_the_agent_module_is_found_in_the_current_directory(project: Path) -> None:
    resumed = resume(project, project / "runs.db")
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.endswith("Done.\n")
    assert tool_results(project) == [
        "refunded 2500 cents on A-1001 by the app in this directory"
    ]


def test_app_dir_names_the_directory_to_import_from(project: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    resumed = resume(elsewhere, project / "runs.db", "--app-dir", "../project")
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.endswith("Done.\n")


def test_from_another_directory_without_app_dir_the_error_says_where_it_looked(
    project: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    failed = resume(elsewhere, project / "runs.db")
    assert failed.returncode == 1
    assert failed.stderr == (
        "error: --agent 'myapp.agents:build_agent': cannot import 'myapp.agents': "
        f"No module named 'myapp' (looked in {elsewhere} first; "
        "--app-dir names another directory)\n"
    )
    with RunStore(project / "runs.db") as store:
        assert store.load_run((project / "run_id").read_text()).status == "paused"


def test_an_app_dir_that_is_not_a_directory_is_a_clear_error(project: Path) -> None:
    failed = resume(project, project / "runs.db", "--app-dir", "no/such/dir")
    assert failed.returncode == 1
    assert failed.stderr == "error: --app-dir 'no/such/dir' is not a directory\n"
