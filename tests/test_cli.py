"""The ``agentcore`` command line as a user meets it: help, and clear errors instead of tracebacks.

Deciding and resuming runs is specified in test_cli_approvals.py; this file covers what
every command shares: help for each command, the version, a store that is missing or
damaged, an ``--agent`` that fails to load, a resume whose model call fails, the
emulator's option checks, and Ctrl-C.
"""

from __future__ import annotations

import contextlib
import os
import pty
import re
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentcore.agent import Agent
from agentcore.cli import main
from agentcore.client import Client
from agentcore.store import RunStore
from agentcore.store.durable import run_stored
from agentcore.terminal import cell_width
from agentcore.testing import ScriptedModel, tool_reply
from tests.approval_flow_app import refund_order

MODEL = "claude-sonnet-4-5"

AGENT_MODULE = '''
from agentcore.agent import Agent
from agentcore.client import Client
from agentcore.testing import ScriptedModel, error_reply
from tests.approval_flow_app import refund_order

def rejected_key():
    """An agent whose every model call is refused with 401, like a wrong API key."""
    model = ScriptedModel(lambda body: error_reply(401, "authentication_error",
                                                   "invalid x-api-key"))
    return Agent("claude-sonnet-4-5", tools=[refund_order],
                 client=Client(api_key="wrong", transport=model, max_retries=0))

def broken_factory(store):
    raise RuntimeError("no database configured")
'''


@pytest.fixture
def paused_run(tmp_path: Path) -> tuple[Path, str]:
    """A store holding one run paused on a refund: (store path, run id)."""
    store_path = tmp_path / "runs.db"
    refund = ("refund_order", {"order_id": "A-1001", "amount_cents": 2500})
    model = ScriptedModel([tool_reply(refund)])
    agent = Agent(MODEL, tools=[refund_order], client=Client(api_key="test", transport=model))
    with RunStore(store_path) as store:
        result = run_stored(agent, store, "Refund A-1001")
    assert result.status == "paused"
    return store_path, result.state.run_id


@pytest.fixture
def agent_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The name of an importable module of agents that fail in different ways."""
    package = tmp_path / "cli_agents"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "agents.py").write_text(AGENT_MODULE)
    (package / "explodes.py").write_text('raise RuntimeError("settings file missing")\n')
    (package / "typo.py").write_text("def build_agent(:\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "cli_agents"


def _free_port_in_use() -> socket.socket:
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    return busy


class TestHelp:
    @pytest.mark.parametrize(
        "command",
        [
            [],
            ["emulator"],
            ["approvals"],
            ["approvals", "list"],
            ["approvals", "show"],
            ["approvals", "approve"],
            ["approvals", "deny"],
            ["runs"],
            ["runs", "list"],
            ["runs", "show"],
            ["runs", "resume"],
        ],
    )
    def test_every_command_has_help(
        self, command: list[str], capsys: pytest.CaptureFixture[str]
    ) -> None:
        with pytest.raises(SystemExit) as exit_info:
            main([*command, "--help"])
        assert exit_info.value.code == 0
        assert capsys.readouterr().out.startswith(f"usage: agentcore {' '.join(command)}".strip())

    def test_no_command_prints_the_help_and_is_a_usage_error(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main([]) == 2
        assert "Run 'agentcore COMMAND --help'" in capsys.readouterr().err

    def test_version(self, capsys: pytest.CaptureFixture[str]) -> None:
        with pytest.raises(SystemExit) as exit_info:
            main(["--version"])
        assert (exit_info.value.code, capsys.readouterr().out) == (0, "agentcore 0.1.0\n")


class TestListing:
    def test_a_table_wider_than_the_terminal_cuts_the_arguments_not_the_run_id(
        self,
        paused_run: tuple[Path, str],
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setenv("COLUMNS", "100")
        store_path, run_id = paused_run
        assert main(["approvals", "list", "--store", str(store_path)]) == 0
        header, row = capsys.readouterr().out.splitlines()
        assert max(len(header), len(row)) <= 100
        assert row.startswith('1   pending  refund_order  {"order_id": "A...')
        assert "...  " + run_id in row
        assert header.index("RUN") == row.index(run_id)

    def test_a_colour_terminal_gets_a_rich_table_whose_cells_are_never_markup(
        self,
        paused_run: tuple[Path, str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.delenv("NO_COLOR", raising=False)
        monkeypatch.setenv("TERM", "xterm-256color")
        monkeypatch.setenv("COLUMNS", "100")
        store_path, run_id = paused_run
        leader, follower = pty.openpty()
        try:
            with open(follower, "w", encoding="utf-8", closefd=False) as tty:
                monkeypatch.setattr(sys, "stdout", tty)
                assert main(["runs", "list", "--store", str(store_path)]) == 0
                tty.flush()
            shown = os.read(leader, 65536).decode()
        finally:
            os.close(leader)
            os.close(follower)
        assert "\x1b[1m" in shown  # the bold header
        plain = re.sub(r"\x1b\[[0-9;]*m", "", shown)
        assert run_id in plain and "1 pending" in plain
        assert all(len(line) <= 100 for line in plain.splitlines())

    def test_approvals_are_an_aligned_table_without_trailing_spaces(
        self,
        paused_run: tuple[Path, str],
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setenv("COLUMNS", "160")
        store_path, run_id = paused_run
        assert main(["approvals", "list", "--store", str(store_path)]) == 0
        header, row = capsys.readouterr().out.splitlines()
        assert header.startswith("ID  STATUS   TOOL          ARGUMENTS")
        assert header.endswith("  SINCE")
        assert row.startswith(
            '1   pending  refund_order  {"order_id": "A-1001", "amount_cents": 2500}  ' + run_id
        )
        assert header.index("RUN") == row.index(run_id)

    @pytest.mark.parametrize(
        "order_id", ["注文の商品", "注文の商品は発送済みです注文の商品は発送済みです"]
    )
    def test_wide_characters_are_measured_in_columns(
        self,
        order_id: str,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """Given arguments in Japanese (two columns a character), the plain table stays
        aligned and within the terminal's width: cells are measured in columns, not
        characters."""
        monkeypatch.setenv("COLUMNS", "100")
        store_path = tmp_path / "runs.db"
        model = ScriptedModel(
            [tool_reply(("refund_order", {"order_id": order_id, "amount_cents": 1}))]
        )
        agent = Agent(MODEL, tools=[refund_order], client=Client(api_key="test", transport=model))
        with RunStore(store_path) as store:
            run_id = run_stored(agent, store, "Refund it").state.run_id
        assert main(["approvals", "list", "--store", str(store_path)]) == 0
        header, row = capsys.readouterr().out.splitlines()
        assert max(cell_width(header), cell_width(row)) <= 100
        assert cell_width(header[: header.index("RUN")]) == cell_width(row[: row.index(run_id)])


class TestDecisions:
    def test_a_denial_needs_a_reason_in_words(
        self, paused_run: tuple[Path, str], capsys: pytest.CaptureFixture[str]
    ) -> None:
        store_path, _ = paused_run
        with pytest.raises(SystemExit) as exit_info:
            main(["approvals", "deny", "1", "--reason", "  ", "--store", str(store_path)])
        assert exit_info.value.code == 2
        assert capsys.readouterr().err.splitlines()[-1] == (
            "agentcore approvals deny: error: argument --reason: "
            "give a reason the model can pass on to the user"
        )
        with RunStore(store_path) as store:
            assert store.get_approval(1).status == "pending"


class TestStoreErrors:
    @pytest.mark.parametrize(
        "command", [["approvals", "list"], ["runs", "list"], ["approvals", "approve", "1"]]
    )
    def test_a_missing_store_is_an_error_and_is_not_created(
        self, tmp_path: Path, command: list[str], capsys: pytest.CaptureFixture[str]
    ) -> None:
        missing = tmp_path / "typo.db"
        assert main([*command, "--store", str(missing)]) == 1
        assert capsys.readouterr().err == (
            f"error: no run store at {str(missing)!r} (check --store or $AGENTCORE_STORE)\n"
        )
        assert not missing.exists()

    def test_a_damaged_store_is_reported_without_a_traceback(
        self, paused_run: tuple[Path, str], capsys: pytest.CaptureFixture[str]
    ) -> None:
        store_path, _ = paused_run
        with contextlib.closing(sqlite3.connect(store_path)) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            page_size = db.execute("PRAGMA page_size").fetchone()[0]
            [root_page] = db.execute(
                "SELECT rootpage FROM sqlite_master WHERE name = 'pending_approvals'"
            ).fetchone()
        # Only the approvals table is damaged: the store opens, and the damage shows on a query.
        data = bytearray(store_path.read_bytes())
        start = (root_page - 1) * page_size
        data[start : start + page_size] = b"\x13" * page_size
        store_path.write_bytes(bytes(data))

        assert main(["approvals", "list", "--store", str(store_path)]) == 1
        assert capsys.readouterr().err == (
            f"error: run store {str(store_path)!r} is damaged or unreadable: "
            "database disk image is malformed\n"
        )


class TestResumeErrors:
    def test_an_agent_module_that_raises_on_import_names_the_error_and_its_line(
        self, paused_run: tuple[Path, str], agent_module: str,
        capsys: pytest.CaptureFixture[str],
    ) -> None:  # fmt: skip
        store_path, run_id = paused_run
        spec = f"{agent_module}.explodes:build_agent"
        assert main(["runs", "resume", run_id, "--agent", spec, "--store", str(store_path)]) == 1
        err = capsys.readouterr().err
        assert err.startswith(
            f"error: --agent {spec!r}: importing '{agent_module}.explodes' failed: "
            "RuntimeError: settings file missing ("
        )
        assert err.endswith("explodes.py:1)\n")

    def test_an_agent_module_with_a_syntax_error_names_the_line(
        self, paused_run: tuple[Path, str], agent_module: str,
        capsys: pytest.CaptureFixture[str],
    ) -> None:  # fmt: skip
        store_path, run_id = paused_run
        spec = f"{agent_module}.typo:build_agent"
        assert main(["runs", "resume", run_id, "--agent", spec, "--store", str(store_path)]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"error: --agent {spec!r}: importing '{agent_module}.typo' failed: ")
        assert "SyntaxError" in err and err.endswith("typo.py:1)\n")

    def test_a_factory_that_raises_is_reported_and_the_run_stays_paused(
        self, paused_run: tuple[Path, str], agent_module: str,
        capsys: pytest.CaptureFixture[str],
    ) -> None:  # fmt: skip
        store_path, run_id = paused_run
        spec = f"{agent_module}.agents:broken_factory"
        assert main(["approvals", "approve", "1", "--store", str(store_path)]) == 0
        capsys.readouterr()
        assert main(["runs", "resume", run_id, "--agent", spec, "--store", str(store_path)]) == 1
        err = capsys.readouterr().err
        assert err.startswith(
            f"error: --agent {spec!r}: building the agent failed: "
            "RuntimeError: no database configured ("
        )
        with RunStore(store_path) as store:
            assert store.load_run(run_id).status == "paused"

    def test_a_resume_whose_model_call_fails_says_why_and_can_be_resumed_again(
        self, paused_run: tuple[Path, str], agent_module: str,
        capsys: pytest.CaptureFixture[str],
    ) -> None:  # fmt: skip
        store_path, run_id = paused_run
        spec = f"{agent_module}.agents:rejected_key"
        assert main(["approvals", "approve", "1", "--store", str(store_path)]) == 0
        capsys.readouterr()
        assert main(["runs", "resume", run_id, "--agent", spec, "--store", str(store_path)]) == 1
        captured = capsys.readouterr()
        assert captured.out == f"Run {run_id}: failed\n"
        assert captured.err.startswith(
            "error: the run ended failed: 401 authentication_error: invalid x-api-key"
        )
        assert captured.err.endswith(
            "The run is kept: fix the cause, then resume it again.\n"
        )

    def test_ctrl_c_during_a_command_exits_130_without_a_traceback(
        self, paused_run: tuple[Path, str], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:  # fmt: skip
        store_path, _ = paused_run

        def interrupted(*args: object, **kwargs: object) -> None:
            raise KeyboardInterrupt

        monkeypatch.setattr(RunStore, "list_runs", interrupted)
        assert main(["runs", "list", "--store", str(store_path)]) == 130
        assert capsys.readouterr().err == "interrupted\n"


class TestEmulatorOptions:
    @pytest.mark.e2e
    def test_it_prints_its_url_then_the_two_export_lines_to_paste(self) -> None:
        child = subprocess.Popen(
            [sys.executable, "-m", "agentcore.cli", "emulator", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert child.stdout is not None and child.stderr is not None
            url = child.stdout.readline().strip()
            lines = [child.stderr.readline() for _ in range(3)]
        finally:
            child.terminate()
            child.wait(timeout=30)
        assert url.startswith("http://127.0.0.1:")
        assert lines[1:] == [
            f"  export ANTHROPIC_BASE_URL={url}\n",
            "  export ANTHROPIC_API_KEY=emulator-any-key\n",
        ]

    @pytest.mark.parametrize(
        ("option", "message"),
        [
            (["--port", "99999"],
             "argument --port: 99999 is not a port (0-65535; 0 picks a free one)"),
            (["--port", "-1"], "argument --port: -1 is not a port (0-65535; 0 picks a free one)"),
            (["--port", "http"], "argument --port: 'http' is not a port number"),
            (["--batch-delay", "-1"],
             "argument --batch-delay: '-1' is not a duration (0 or more seconds)"),
            (["--api-key", " "], "argument --api-key: an API key cannot be empty"),
        ],
    )  # fmt: skip
    def test_bad_options_are_usage_errors(
        self, option: list[str], message: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        with pytest.raises(SystemExit) as exit_info:
            main(["emulator", *option])
        assert exit_info.value.code == 2
        assert capsys.readouterr().err.splitlines()[-1] == f"agentcore emulator: error: {message}"

    def test_a_busy_port_is_a_clear_failure_with_the_way_out(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        with _free_port_in_use() as busy:
            port = busy.getsockname()[1]
            assert main(["emulator", "--port", str(port)]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"agentcore emulator: cannot listen on 127.0.0.1:{port}: ")
        assert err.endswith("; --port 0 picks a free port\n")
