"""Fixtures every test shares, and the checks that keep tests from leaking into each other."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

_SET_BY_PYTEST = frozenset({"PYTEST_CURRENT_TEST"})


@pytest.fixture(autouse=True)
def _environment_is_left_as_found() -> Iterator[None]:
    """Fail a test that changes ``os.environ`` without undoing it (use ``monkeypatch``)."""
    before = dict(os.environ)
    yield
    after = dict(os.environ)
    changed = sorted(
        name
        for name in before.keys() | after.keys()
        if before.get(name) != after.get(name) and name not in _SET_BY_PYTEST
    )
    if changed:
        os.environ.clear()
        os.environ.update(before)
        pytest.fail(
            "the test left environment variables changed: " + ", ".join(changed)
            + " (set them with monkeypatch.setenv/delenv, which undoes them)",
            pytrace=False,
        )


@pytest.fixture
def ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty file, ``$LEDGER``, where the shop tools of ``tests.approval_flow_app`` write each
    execution (``lookup A-1001``, ``refund A-1001 2500``), in this process or any child."""
    path = tmp_path / "ledger.txt"
    path.touch()
    monkeypatch.setenv("LEDGER", str(path))
    return path
