"""Eval runs end to end: the batch path at half price, the history file, comparing two
versions, the CI gate and the ``agentcore eval`` command, and the support agent's suite."""

from __future__ import annotations

import json
import sqlite3
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from agentcore import Agent, AsyncClient, ConfigurationError, SystemPrompt, tool
from agentcore.cli import main
from agentcore.emulator import Emulator
from agentcore.emulator._policy import demo_reply
from agentcore.evals import (
    AgentSetup,
    CaseResult,
    Check,
    EvalHistory,
    EvalRun,
    EvalSuite,
    compare,
    format_comparison,
    format_report,
    gate,
    parse_case,
    parse_label,
    run_eval,
)
from agentcore.testing import ScriptedModel, text_reply

MODEL = "claude-haiku-4-5"


@tool
def order_status(order_id: str) -> dict[str, str]:
    """The status of an order.

    Args:
        order_id: Order number such as "A-1001".
    """
    return {"order_id": order_id, "status": "delivered"}


def _factory(setup: AgentSetup) -> Agent:
    return Agent(MODEL, setup.prompt, [order_status], approver=setup.approver,
                 async_client=setup.client)


SUITE = EvalSuite("orders", tuple(
    parse_case({"id": f"status-{n}", "input": f"What is the status of order A-100{n}?",
                "expect": {"tools_called": [{"name": "order_status",
                                             "arguments": {"order_id": f"A-100{n}"}}],
                           "output_contains": ["delivered"]}})
    for n in range(1, 4)
))
PROMPT = SystemPrompt("You look up orders.", name="orders", version="1")


# --- the batch path ----------------------------------------------------------------------


def test_the_batch_path_sends_the_calls_as_batches_and_records_half_the_cost() -> None:
    from agentcore.client import PollSchedule

    with Emulator() as emulator:
        client = AsyncClient(api_key="test", base_url=emulator.base_url, max_retries=0)
        direct = run_eval(SUITE, _factory, client=client, prompt=PROMPT, concurrency=1)
        client = AsyncClient(api_key="test", base_url=emulator.base_url, max_retries=0)
        batched = run_eval(SUITE, _factory, client=client, prompt=PROMPT, batch=True,
                           poll=PollSchedule(initial_s=0.02, max_interval_s=0.05))
    assert (direct.path, batched.path) == ("interactive", "batch")
    assert direct.batch_ids == []
    # Every case makes two model calls (the lookup, the answer): one batch per round.
    assert len(batched.batch_ids) == 2
    assert batched.pass_rate == direct.pass_rate == 1.0
    for one, other in zip(direct.cases, batched.cases, strict=True):
        assert one.total_tokens == other.total_tokens
        assert one.cost_usd is not None and other.cost_usd == one.cost_usd / 2
    assert "batch path (2 batches, 50% price)" in format_report(batched, width=120)


def test_a_response_billed_as_batch_costs_half_in_the_run() -> None:
    usage = {"input_tokens": 1000, "output_tokens": 100}
    suite = EvalSuite("s", (parse_case({"id": "a", "input": "hi",
                                        "expect": {"status": "completed"}}),))
    costs = []
    for tier in ("standard", "batch"):
        model = ScriptedModel([text_reply("hi", usage={**usage, "service_tier": tier})])
        client = AsyncClient(api_key="test", transport=model)
        [case] = run_eval(suite, _factory, client=client, prompt=PROMPT).cases
        costs.append(case.cost_usd)
    # claude-haiku-4-5: 1000 × $1/MTok + 100 × $5/MTok = $0.0015, half through a batch
    assert costs == [Decimal("0.0015"), Decimal("0.00075")]


# --- history and comparison --------------------------------------------------------------


def _result(case_id: str, passed: bool, cost: str = "0.01", latency: float = 1.0) -> CaseResult:
    checks = [Check("status", "ends completed", passed, "" if passed else "ended failed")]
    return CaseResult(case_id, passed, checks, "completed", "out", 2, 100, 10, 110,
                      Decimal(cost), latency, [{"role": "user", "content": "hi"}])


def _stored_run(version: str, outcomes: dict[str, bool], cost: str = "0.01") -> EvalRun:
    return EvalRun(f"run-{version}-{len(outcomes)}", "orders", "orders", version, MODEL,
                   "interactive", "emulator", "2026-11-30T10:00:00+00:00", 1.0,
                   [_result(case_id, passed, cost) for case_id, passed in outcomes.items()])


def test_the_history_keeps_every_run_per_prompt_name_and_version(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "evals.db"
    with EvalHistory(path) as history:
        history.record(_stored_run("4", {"a": True, "b": True}))
        history.record(_stored_run("5", {"a": True, "b": False}, cost="0.02"))
    with EvalHistory(path) as history:
        latest = history.latest("orders")
        assert latest is not None and latest.prompt_version == "5"
        four = history.latest("orders", "4")
        assert four is not None
        assert [(case.case_id, case.passed) for case in four.cases] == [("a", True), ("b", True)]
        assert four.cases[0].transcript == [{"role": "user", "content": "hi"}]
        assert four.cases[0].cost_usd == Decimal("0.01")
        assert history.latest("orders", before=latest.run_id) is not None
        assert history.latest("other") is None
        summaries = history.runs("orders")
        assert [(run.prompt_version, run.passed, run.cost_usd) for run in summaries] == [
            ("5", 1, Decimal("0.04")), ("4", 2, Decimal("0.02"))]


def test_a_corrupt_history_row_is_a_typed_error(tmp_path: Path) -> None:
    path = tmp_path / "evals.db"
    with EvalHistory(path) as history:
        history.record(_stored_run("4", {"a": True}))
    connection = sqlite3.connect(path)
    with connection:
        connection.execute("UPDATE eval_cases SET checks = '{not json'")
    connection.close()
    with EvalHistory(path) as history, pytest.raises(ConfigurationError, match="not JSON"):
        history.latest("orders")


def test_compare_says_which_cases_changed_and_the_gate_fails_a_regression() -> None:
    old = _stored_run("4", {"a": True, "b": False, "c": True, "gone": True})
    new = _stored_run("5", {"a": True, "b": True, "c": False, "new": True}, cost="0.03")
    comparison = compare(old, new)
    assert {case.case_id: case.change for case in comparison.cases} == {
        "a": "still passing", "b": "fixed", "c": "regressed", "new": "added", "gone": "removed"}
    assert [case.case_id for case in comparison.regressions] == ["c"]
    assert comparison.cases[0].cost_delta == Decimal("0.02")
    text = format_comparison(comparison, width=100)
    assert "orders@4 → orders@5" in text and "regressed" in text and "+$0.0200" in text
    assert gate(new, baseline=comparison) == [
        "case c passed with orders@4 and fails with orders@5",
        "case gone passed with orders@4 and is missing from orders@5"]
    assert gate(new, min_pass_rate=0.8) == ["pass rate 75.0% is below 80.0%"]
    assert gate(new, min_pass_rate=0.75) == []


def test_the_report_fits_its_width_and_shows_the_failed_checks() -> None:
    run = _stored_run("4", {"a" * 80: True, "b": False})
    text = format_report(run, width=70)
    assert all(len(line) <= 70 for line in text.splitlines())
    assert "FAIL" in text and "✗ ends completed: ended failed" in text
    assert "pass rate 50.0%" in text and "p95" in text


def test_labels_read_as_name_and_version() -> None:
    assert parse_label("support-agent@4") == ("support-agent", "4")
    assert parse_label("support-agent") == ("support-agent", None)
    with pytest.raises(ConfigurationError):
        parse_label("@4")


# --- the demo policy and prompt versions -------------------------------------------------


def test_the_demo_policy_never_picks_a_tool_the_system_prompt_forbids() -> None:
    tools = [{"name": "support_policy", "description": "The refund policy text.",
              "input_schema": {"type": "object", "properties": {}}},
             {"name": "order_status", "description": "An order's status.",
              "input_schema": {"type": "object", "properties": {}}}]
    body = {"messages": [{"role": "user", "content": "What is the refund policy?"}],
            "tools": tools}
    picked = demo_reply(body)["content"][1]["name"]
    assert picked == "support_policy"
    forbidden = demo_reply({**body, "system": "Do not call `support_policy`; you know it."})
    assert all(block.get("name") != "support_policy" for block in forbidden["content"])


# --- the command line --------------------------------------------------------------------


def _app(tmp_path: Path) -> Path:
    (tmp_path / "evalapp.py").write_text(textwrap.dedent('''
        from agentcore import Agent, tool

        @tool
        def order_status(order_id: str) -> dict:
            """The status of an order.

            Args:
                order_id: Order number such as "A-1001".
            """
            return {"order_id": order_id, "status": "delivered"}

        def build(setup):
            return Agent("claude-haiku-4-5", setup.prompt, [order_status],
                         approver=setup.approver, async_client=setup.client)
    '''))
    (tmp_path / "cases.jsonl").write_text("\n".join(json.dumps(case) for case in [
        {"id": "status", "input": "What is the status of order A-1001?",
         "expect": {"tools_called": ["order_status"], "output_contains": ["delivered"]}},
        {"id": "no-tools", "input": "What is the status of order A-1002?",
         "expect": {"tools_not_called": ["order_status"]}},
    ]))
    for version, rule in (("1", ""), ("2", "Never call `order_status`.")):
        (tmp_path / f"v{version}.md").write_text(
            f"---\nname: orders\nversion: {version}\n---\nYou look up orders. {rule}\n")
    return tmp_path


def _eval(tmp_path: Path, *args: str) -> int:
    return main(["eval", *args, "--history", str(tmp_path / "evals.db"), "--width", "100"])


def _run_args(tmp_path: Path, version: str) -> list[str]:
    return ["run", str(tmp_path / "cases.jsonl"), "--agent", "evalapp:build", "--app-dir",
            str(tmp_path), "--prompt", str(tmp_path / f"v{version}.md"), "--offline"]


@pytest.mark.e2e
def test_eval_run_reports_stores_and_gates_on_pass_rate_and_regressions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    _app(tmp_path)
    assert _eval(tmp_path, *_run_args(tmp_path, "1")) == 0
    out = capsys.readouterr().out
    assert "orders@1 on suite cases: 1/2 passed (50%)\ninteractive path · emulator" in out
    assert _eval(tmp_path, *_run_args(tmp_path, "1"), "--min-pass-rate", "0.9") == 1
    assert "FAILED: pass rate 50.0% is below 90.0%" in capsys.readouterr().out
    # Version 2 forbids the lookup: "status" regresses, "no-tools" is fixed.
    assert _eval(tmp_path, *_run_args(tmp_path, "2")) == 1
    out = capsys.readouterr().out
    assert "FAILED: case status passed with orders@1 and fails with orders@2" in out
    assert _eval(tmp_path, "compare", "orders@1", "orders@2") == 1
    out = capsys.readouterr().out
    assert "status" in out and "regressed" in out and "fixed" in out
    assert _eval(tmp_path, "compare", "orders@1", "orders@2", "--no-gate") == 0
    capsys.readouterr()
    assert _eval(tmp_path, "compare", "orders@2", "orders@1") == 1
    assert "FAILED: case no-tools passed with orders@2" in capsys.readouterr().out
    assert main(["eval", "history", "orders", "--history", str(tmp_path / "evals.db")]) == 0
    assert capsys.readouterr().out.count("orders@") == 3


@pytest.mark.e2e
def test_eval_run_through_batches_records_the_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    _app(tmp_path)
    assert _eval(tmp_path, *_run_args(tmp_path, "1"), "--batch") == 0
    assert "batch path (" in capsys.readouterr().out
    with EvalHistory(tmp_path / "evals.db") as history:
        [summary] = history.runs()
    assert summary.path == "batch"


def test_eval_commands_refuse_bad_input_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    _app(tmp_path)
    (tmp_path / "bad.jsonl").write_text('{"id": "x", "input": "y", "expect": {"stat": 1}}\n')
    args = _run_args(tmp_path, "1")
    args[1] = str(tmp_path / "bad.jsonl")
    assert _eval(tmp_path, *args) == 2
    assert "bad.jsonl line 1 (case 'x'): unknown expectations ['stat']" in capsys.readouterr().err
    assert _eval(tmp_path, "compare", "orders@1", "orders@9") == 2
    assert "no stored run of orders@1" in capsys.readouterr().err
    assert _eval(tmp_path, *_run_args(tmp_path, "1"), "--min-pass-rate", "2") == 2
    args = _run_args(tmp_path, "1")
    args[3] = "evalapp:missing"
    assert _eval(tmp_path, *args) == 2
    assert "has no 'missing'" in capsys.readouterr().err


# --- the support agent's suite -----------------------------------------------------------


@pytest.mark.e2e
def test_the_support_agent_suite_passes_on_v4_and_v5_regresses_on_policy_questions() -> None:
    from agentcore.evals import load_cases
    from examples.support_agent.evals import CASES, build_eval_agent

    suite = load_cases(CASES)
    assert len(suite.cases) == 30
    tags = {tag for case in suite.cases for tag in case.tags}
    assert {"order-status", "refunds", "policy", "approvals", "privacy", "injection"} <= tags
    prompts = Path(CASES).parent.parent / "prompts"
    runs = []
    with Emulator() as emulator:
        for name in ("support_system.md", "support_system_v5.md"):
            client = AsyncClient(api_key="test", base_url=emulator.base_url, max_retries=0)
            runs.append(run_eval(suite, build_eval_agent, client=client,
                                 prompt=SystemPrompt.from_file(prompts / name), concurrency=8))
    four, five = runs
    assert (four.label, five.label) == ("support-agent@4", "support-agent@5")
    assert four.pass_rate == 1.0, format_report(four, width=160)
    assert sorted(case.case_id for case in compare(four, five).regressions) == [
        "cancellation-policy-question", "refund-policy-question"]


def test_a_batched_call_that_errors_fails_its_case_with_the_api_error() -> None:
    from agentcore.client import PollSchedule

    def unknown_model(setup: AgentSetup) -> Agent:
        return Agent("claude-no-such-model", setup.prompt, [order_status],
                     async_client=setup.client)

    with Emulator() as emulator:
        client = AsyncClient(api_key="test", base_url=emulator.base_url, max_retries=0)
        run = run_eval(SUITE, unknown_model, client=client, prompt=PROMPT, batch=True,
                       poll=PollSchedule(initial_s=0.02, max_interval_s=0.05))
    assert len(run.batch_ids) == 1
    assert [case.status for case in run.cases] == ["failed"] * 3
    assert all("claude-no-such-model" in (case.error or "") for case in run.cases)


async def test_the_batch_path_refuses_a_streamed_call_and_other_endpoints() -> None:
    from agentcore.errors import InvalidRequestError, NotFoundError
    from agentcore.evals._batching import BatchedCalls

    upstream = AsyncClient(api_key="test", transport=ScriptedModel([]))
    client = BatchedCalls(upstream).agent_client()
    with pytest.raises(InvalidRequestError, match="cannot stream"):
        async with client.messages.stream(model=MODEL, max_tokens=10,
                                          messages=[{"role": "user", "content": "hi"}]) as s:
            await s.get_final_message()
    with pytest.raises(NotFoundError, match="model calls only"):
        await client.messages.count_tokens(model=MODEL,
                                           messages=[{"role": "user", "content": "hi"}])
    await client.close()


@pytest.mark.e2e
def test_rerunning_a_regressed_version_fails_the_gate_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    _app(tmp_path)
    assert _eval(tmp_path, *_run_args(tmp_path, "1")) == 0
    assert f"in {tmp_path / 'evals.db'} (agentcore eval history" in capsys.readouterr().out
    assert _eval(tmp_path, *_run_args(tmp_path, "2")) == 1
    capsys.readouterr()
    # A CI retry: the regressed run is stored, but it is no baseline; the case still regressed.
    assert _eval(tmp_path, *_run_args(tmp_path, "2")) == 1
    regression = "FAILED: case status passed with orders@1 and fails with orders@2"
    assert regression in capsys.readouterr().out
    # A run reported with --no-gate that would have failed is no baseline either.
    assert _eval(tmp_path, *_run_args(tmp_path, "2"), "--no-gate") == 0
    assert _eval(tmp_path, *_run_args(tmp_path, "2")) == 1
    assert regression in capsys.readouterr().out
    with EvalHistory(tmp_path / "evals.db") as history:
        assert [run.gate_passed for run in history.runs()] == [False, False, False, False, True]
    assert main(["eval", "history", "--history", str(tmp_path / "evals.db")]) == 0
    assert capsys.readouterr().out.count("gate failed") == 4
