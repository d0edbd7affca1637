"""The shared checks in ``tests/conftest.py`` catch a test that leaks into the next one."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

CONFTEST = Path(__file__).with_name("conftest.py")


def test_a_test_that_leaves_a_variable_changed_fails_and_names_it(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALREADY_SET", "before")
    pytester.makeconftest(CONFTEST.read_text(encoding="utf-8"))
    pytester.makepyfile(
        test_environment="""
        import os

        def test_sets_one_and_removes_another():
            os.environ["LEAKED_BY_TEST"] = "1"
            del os.environ["ALREADY_SET"]

        def test_sets_one_through_monkeypatch(monkeypatch):
            monkeypatch.setenv("UNDONE_BY_MONKEYPATCH", "1")

        def test_the_next_test_sees_the_environment_as_it_was():
            assert "LEAKED_BY_TEST" not in os.environ
            assert os.environ["ALREADY_SET"] == "before"
        """
    )
    result = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", "-o", "asyncio_default_fixture_loop_scope=function"
    )
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(
        ["*the test left environment variables changed: ALREADY_SET, LEAKED_BY_TEST (set them*"]
    )
