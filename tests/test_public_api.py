"""The public surface: one flat, sorted ``__all__`` that names everything users import."""

import importlib
import inspect
import os
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

import agentcore

PUBLIC_MODULES = sorted(
    module.name
    for module in pkgutil.iter_modules(agentcore.__path__, "agentcore.")
    if not module.name.rsplit(".", 1)[1].startswith("_")
)


def test_all_is_sorted_and_unique() -> None:
    names = [name for name in agentcore.__all__ if name != "__version__"]
    assert names == sorted(set(names))


def test_every_name_in_all_exists() -> None:
    missing = [name for name in agentcore.__all__ if not hasattr(agentcore, name)]
    assert missing == []


def test_every_public_class_and_function_imported_into_the_package_is_listed() -> None:
    unlisted = [
        name
        for name, value in vars(agentcore).items()
        if not name.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and getattr(value, "__module__", "").startswith("agentcore")
        and name not in agentcore.__all__
    ]
    assert unlisted == []


def test_every_public_module_lists_only_names_it_has() -> None:
    problems = []
    for name in PUBLIC_MODULES:
        module = importlib.import_module(name)
        for exported in getattr(module, "__all__", ()):
            if not hasattr(module, exported):
                problems.append(f"{name}.{exported}")
    assert problems == []


@pytest.mark.e2e
def test_importing_the_package_prints_nothing_and_writes_nothing(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANTHROPIC")}
    env["HOME"] = str(tmp_path)
    code = "import agentcore, " + ", ".join(PUBLIC_MODULES)
    completed = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (completed.returncode, completed.stdout, completed.stderr) == (0, "", "")
    assert list(tmp_path.iterdir()) == []


README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_every_error_agentcore_raises_can_be_caught_through_the_package() -> None:
    from agentcore import errors

    classes = [name for name in errors.__all__ if inspect.isclass(getattr(errors, name))]
    assert classes, "agentcore.errors lists no error classes"
    missing = [
        name
        for name in classes
        if name not in agentcore.__all__ or getattr(agentcore, name) is not getattr(errors, name)
    ]
    assert missing == []


@pytest.mark.parametrize(
    ("name", "home"),
    [
        ("Limits", "agentcore.usage"),
        ("ModelSettings", "agentcore.agent"),
        ("current_tool_call", "agentcore.tools"),
        ("ToolCallInfo", "agentcore.tools"),
        ("terminal_safe", "agentcore.terminal"),
        ("APITimeoutError", "agentcore.errors"),
    ],
)
def test_the_run_options_the_tool_call_context_and_terminal_safety_are_public(
    name: str, home: str
) -> None:
    assert name in agentcore.__all__
    assert getattr(agentcore, name) is getattr(importlib.import_module(home), name)


def test_every_name_the_readme_imports_exists_where_it_says() -> None:
    statements = re.findall(
        r"^from (agentcore[\w.]*) import (\([^)]*\)|[^\n]+)", README, flags=re.MULTILINE
    )
    assert len(statements) >= 10, "the README's imports were not found"
    missing = []
    for module_name, names in statements:
        module = importlib.import_module(module_name)
        for name in re.findall(r"\w+", names.split("#")[0]):
            if not hasattr(module, name):
                missing.append(f"{module_name}.{name}")
    assert missing == []


def test_every_error_and_approver_the_readme_names_is_in_the_package() -> None:
    named = set(re.findall(r"`(\w+(?:Error|Approver))\b", README))
    assert "MalformedResponseError" in named
    assert sorted(name for name in named if name not in agentcore.__all__) == []
