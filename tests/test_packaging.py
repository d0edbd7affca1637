"""What the distributions install: built offline from a copy of the repository, and opened.

The main wheel installs ``agentcore`` only and the SQL pack's wheel ``agentcore_sql`` only, so
neither puts a top-level ``tools``, ``examples`` or ``tests`` into a user's site-packages.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.e2e

_NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "*.pyc",
    ".*_cache", "*.db", "*.db-*",
)


@pytest.fixture(scope="module")
def source_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository copied without build leftovers, so a stale ``build/`` cannot mislead."""
    tree = tmp_path_factory.mktemp("source") / "repo"
    shutil.copytree(ROOT, tree, ignore=_NOT_SOURCE)
    return tree


def build_wheel(project: Path, into: Path) -> Path:
    """``pip wheel`` of ``project`` with the installed setuptools, never the network."""
    completed = subprocess.run(
        [
            sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
            "--no-index", "--disable-pip-version-check", "--wheel-dir", str(into), str(project),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    (wheel,) = into.glob("*.whl")
    return wheel


def top_level_names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return {name.split("/", 1)[0] for name in archive.namelist()}


def test_the_main_wheel_installs_agentcore_only(source_tree: Path, tmp_path: Path) -> None:
    wheel = build_wheel(source_tree, tmp_path)
    assert wheel.name.startswith("agentcore_claude-")
    assert top_level_names(wheel) == {"agentcore", wheel.name.split("-py")[0] + ".dist-info"}
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert {"agentcore/py.typed", "agentcore/cli/__main__.py", "agentcore/store/_schema.py"} <= (
        names
    )


def test_the_sql_wheel_installs_agentcore_sql_only(source_tree: Path, tmp_path: Path) -> None:
    wheel = build_wheel(source_tree / "tools" / "sql", tmp_path)
    assert wheel.name.startswith("agentcore_sql-")
    assert top_level_names(wheel) == {"agentcore_sql", wheel.name.split("-py")[0] + ".dist-info"}
    with zipfile.ZipFile(wheel) as archive:
        assert "agentcore_sql/py.typed" in archive.namelist()


def test_a_users_own_tools_module_or_package_does_not_shadow_the_sql_pack(
    tmp_path: Path,
) -> None:
    """With the user's project first on ``sys.path``, its ``tools`` and ours coexist."""
    for variant, files in {
        "module": {"tools.py": "MINE = 'module'\n"},
        "package": {"tools/__init__.py": "MINE = 'package'\n", "tools/sql.py": "MINE = 'sql'\n"},
    }.items():
        project = tmp_path / variant
        for name, text in files.items():
            (project / name).parent.mkdir(parents=True, exist_ok=True)
            (project / name).write_text(text, encoding="utf-8")
        database = project / "shop.db"
        script = f"""
import sqlite3, sys
sys.path.insert(0, {str(project)!r})
with sqlite3.connect({str(database)!r}) as setup:
    setup.execute("CREATE TABLE orders (id TEXT PRIMARY KEY, status TEXT)")
    setup.execute("INSERT INTO orders VALUES ('A-1001', 'shipped')")
import tools
import agentcore
from agentcore_sql import SQLDatabase
db = SQLDatabase.sqlite({str(database)!r}, allow_tables=["orders"])
order = db.lookup("order_by_id", "SELECT id, status FROM orders WHERE id = :order_id",
                  params={{"order_id": str}}, description="Find an order.")
print(tools.MINE, agentcore.Agent.__name__, order.name)
print(order.run(order.validate({{"order_id": "A-1001"}})).content)
"""
        completed = subprocess.run(
            [sys.executable, "-c", script],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        assert completed.returncode == 0, completed.stderr
        assert completed.stdout.splitlines() == [
            f"{variant} Agent order_by_id",
            '{"columns":["id","status"],"rows":[["A-1001","shipped"]]}',
        ]


def test_examples_tools_and_tests_are_importable_only_from_the_repository_root(
    tmp_path: Path,
) -> None:
    """The install adds ``agentcore`` and ``agentcore_sql``; other folders run in place."""
    probe = (
        "import importlib.util as u; "
        "print(*[n for n in ('agentcore', 'agentcore_sql', 'examples', 'tools', 'tests') "
        "if u.find_spec(n) is not None])"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    found = {}
    for where in (tmp_path, ROOT):
        completed = subprocess.run(
            [sys.executable, "-c", probe], cwd=where, env=env,
            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
        )
        assert completed.returncode == 0, completed.stderr
        found[where] = completed.stdout.split()
    assert found == {
        tmp_path: ["agentcore", "agentcore_sql"],
        ROOT: ["agentcore", "agentcore_sql", "examples", "tools", "tests"],
    }
