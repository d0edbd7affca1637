"""agentcore.evals: each expectation kind passes the runs it should and fails the others, case
files are read or refused with the line and case named, approvals are answered as the case
says, and rubrics are graded by a versioned judge prompt."""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from agentcore import Agent, AsyncClient, EvalCaseError, SystemPrompt, tool
from agentcore.evals import (
    DEFAULT_JUDGE,
    AgentSetup,
    ApprovalScript,
    AtMost,
    CaseResult,
    EvalCase,
    EvalRun,
    EvalSuite,
    Judge,
    Rubric,
    ToolCalled,
    load_cases,
    parse_case,
    percentile,
    prompt_agent,
    run_eval,
)
from agentcore.testing import ScriptedModel, text_reply, tool_reply

MODEL = "claude-haiku-4-5"
PROMPT = SystemPrompt("You help with orders.", name="orders", version="1")

refunds_made: list[dict[str, Any]] = []


@tool
def lookup_order(order_id: str) -> dict[str, Any]:
    """Look up an order.

    Args:
        order_id: Order number such as "A-1001".
    """
    return {"order_id": order_id, "status": "delivered"}


@tool(sensitive=True)
def refund_order(order_id: str, amount_cents: int) -> str:
    """Refund an order.

    Args:
        order_id: Order number.
        amount_cents: Amount in cents.
    """
    refunds_made.append({"order_id": order_id, "amount_cents": amount_cents})
    return f"refunded {amount_cents} on {order_id}"


TOOLS = [lookup_order, refund_order]


def _case(expect: dict[str, Any], *, approvals: Any = "deny", text: str = "Hi") -> EvalCase:
    return parse_case({"id": "case-1", "input": text, "expect": expect, "approvals": approvals})


def _run(
    replies: Sequence[dict[str, Any]], case: EvalCase, *, judge: Judge | None = None,
    **agent_options: Any,
) -> tuple[CaseResult, ScriptedModel]:
    model = ScriptedModel(list(replies))
    client = AsyncClient(api_key="test", transport=model, max_retries=0)
    run = run_eval(EvalSuite("unit", (case,)), prompt_agent(MODEL, TOOLS, **agent_options),
                   client=client, prompt=PROMPT, judge=judge)
    [result] = run.cases
    return result, model


LOOKUP_THEN_ANSWER = [
    tool_reply(("lookup_order", {"order_id": "A-1001"})),
    text_reply("Order A-1001 was Delivered on Monday."),
]
REFUND_THEN_ANSWER = [
    tool_reply(("refund_order", {"order_id": "A-1001", "amount_cents": 2500})),
    text_reply("Done."),
]


def _failed(result: CaseResult) -> list[str]:
    return [check.kind for check in result.failed_checks]


# --- tools called ------------------------------------------------------------------------


def test_a_tool_called_with_a_subset_of_its_arguments_passes() -> None:
    case = _case({"tools_called": [{"name": "lookup_order", "arguments": {"order_id": "A-1001"}}]})
    result, _ = _run(LOOKUP_THEN_ANSWER, case)
    assert result.passed, result.checks
    assert result.tool_calls == [{"name": "lookup_order", "arguments": {"order_id": "A-1001"}}]


def test_a_tool_called_with_other_arguments_fails_and_says_what_was_called() -> None:
    case = _case({"tools_called": [{"name": "lookup_order", "arguments": {"order_id": "A-2"}}]})
    result, _ = _run(LOOKUP_THEN_ANSWER, case)
    assert not result.passed
    [check] = result.failed_checks
    assert check.kind == "tool_called"
    assert "arguments differ" in check.detail and "A-1001" in check.detail


def test_exact_arguments_fail_when_the_call_has_more_keys_than_expected() -> None:
    replies = [tool_reply(("refund_order", {"order_id": "A-1001", "amount_cents": 2500})),
               text_reply("Done.")]
    subset = _case({"tools_called": [{"name": "refund_order",
                                      "arguments": {"order_id": "A-1001"}}]})
    exact = _case({"tools_called": [{"name": "refund_order", "arguments": {"order_id": "A-1001"},
                                     "match": "exact"}]})
    assert _run(replies, subset)[0].passed
    assert _failed(_run(replies, exact)[0]) == ["tool_called"]


def test_argument_values_compare_with_their_json_type() -> None:
    as_float = _case({"tools_called": [{"name": "refund_order",
                                        "arguments": {"amount_cents": 2500.0}}]})
    as_int = _case({"tools_called": [{"name": "refund_order",
                                      "arguments": {"amount_cents": 2500}}]})
    assert _failed(_run(REFUND_THEN_ANSWER, as_float)[0]) == ["tool_called"]
    assert _run(REFUND_THEN_ANSWER, as_int)[0].passed


def test_a_registered_predicate_and_a_schema_predicate_judge_the_arguments(tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    lines = [
        {"id": "small", "input": "refund", "approvals": "approve",
         "expect": {"tools_called": [{"name": "refund_order", "where": "under_20"}]}},
        {"id": "schema", "input": "refund", "approvals": "approve",
         "expect": {"tools_called": [{"name": "refund_order", "where": {
             "schema": {"properties": {"amount_cents": {"maximum": 3000}}}}}]}},
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines))
    suite = load_cases(path, predicates={"under_20": lambda args: args["amount_cents"] <= 2000})
    small, schema = suite.cases
    assert _failed(_run(REFUND_THEN_ANSWER, small)[0]) == ["tool_called"]
    assert _run(REFUND_THEN_ANSWER, schema)[0].passed


def test_a_tool_that_must_not_be_called_fails_when_it_is() -> None:
    case = _case({"tools_not_called": ["refund_order"]}, approvals="approve")
    assert _run(LOOKUP_THEN_ANSWER, case)[0].passed
    result, _ = _run(REFUND_THEN_ANSWER, case)
    assert _failed(result) == ["tool_not_called"]
    assert "refund_order" in result.failed_checks[0].detail


# --- approvals ---------------------------------------------------------------------------


def test_an_approved_call_runs_and_is_recorded_as_asked() -> None:
    refunds_made.clear()
    case = _case({"approvals_asked": ["refund_order"], "status": "completed"},
                 approvals={"refund_order": "approve"})
    result, _ = _run(REFUND_THEN_ANSWER, case)
    assert result.passed, result.checks
    assert refunds_made == [{"order_id": "A-1001", "amount_cents": 2500}]
    assert [item["decision"] for item in result.approvals] == ["approve"]


def test_a_denied_call_does_not_run_and_the_reason_reaches_the_model() -> None:
    refunds_made.clear()
    case = _case({"approvals_asked": ["refund_order"]},
                 approvals={"deny": "a supervisor must see the receipt"})
    result, model = _run(REFUND_THEN_ANSWER, case)
    assert result.passed
    assert refunds_made == []
    sent = json.dumps(model.requests[1]["messages"][-1])
    assert "a supervisor must see the receipt" in sent


def test_approvals_are_denied_when_the_case_does_not_say() -> None:
    refunds_made.clear()
    result, _ = _run(REFUND_THEN_ANSWER, _case({"status": "completed"}))
    assert refunds_made == [] and result.approvals[0]["decision"] == "deny"


def test_a_scripted_sequence_answers_the_requests_in_order() -> None:
    refunds_made.clear()
    replies = [
        tool_reply(("refund_order", {"order_id": "A-1", "amount_cents": 100}),
                   ("refund_order", {"order_id": "A-2", "amount_cents": 200})),
        text_reply("One of two."),
    ]
    result, _ = _run(replies, _case({"status": "completed"}, approvals=["deny", "approve"]))
    assert [item["decision"] for item in result.approvals] == ["deny", "approve"]
    assert refunds_made == [{"order_id": "A-2", "amount_cents": 200}]


def test_an_approval_that_should_not_be_asked_fails_when_it_is() -> None:
    case = _case({"approvals_not_asked": True})
    assert _run(LOOKUP_THEN_ANSWER, case)[0].passed
    result, _ = _run(REFUND_THEN_ANSWER, case)
    assert _failed(result) == ["approval_not_asked"]
    missing = _case({"approvals_asked": ["refund_order"]})
    assert _failed(_run(LOOKUP_THEN_ANSWER, missing)[0]) == ["approval_asked"]


# --- status, text, structured output -----------------------------------------------------


def test_the_final_status_is_checked() -> None:
    case = _case({"status": "completed"})
    assert _run(LOOKUP_THEN_ANSWER, case)[0].passed
    looping = [tool_reply(("lookup_order", {"order_id": "A-1"})) for _ in range(3)]
    result, _ = _run(looping, case, max_turns=2)
    assert result.status == "limit_reached"
    assert _failed(result) == ["status"]
    assert "limit_reached" in result.failed_checks[0].detail


def test_text_must_appear_plain_ignoring_case_or_as_a_regex() -> None:
    case = _case({"output_contains": ["delivered", {"regex": r"A-\d{4}"}]})
    assert _run(LOOKUP_THEN_ANSWER, case)[0].passed
    missing = _case({"output_contains": ["shipped", {"regex": r"B-\d+"}]})
    assert _failed(_run(LOOKUP_THEN_ANSWER, missing)[0]) == ["output_text", "output_text"]


def test_text_that_must_not_appear_fails_when_it_does() -> None:
    case = _case({"output_excludes": [{"regex": r"\bDelivered\b"}]})
    result, _ = _run(LOOKUP_THEN_ANSWER, case)
    assert _failed(result) == ["output_text"]
    assert "'Delivered'" in result.failed_checks[0].detail
    assert _run(LOOKUP_THEN_ANSWER, _case({"output_excludes": ["cancelled"]}))[0].passed


class Answer(BaseModel):
    order_id: str
    refundable: bool


def test_a_structured_output_validates_against_the_schema() -> None:
    schema = {"type": "object", "required": ["order_id", "refundable"],
              "properties": {"order_id": {"pattern": "^A-"}}}
    replies = [tool_reply(("final_result", {"order_id": "A-1001", "refundable": True}))]
    result, _ = _run(replies, _case({"output_schema": schema}), output_type=Answer)
    assert result.passed, result.checks
    wrong = [tool_reply(("final_result", {"order_id": "B-1", "refundable": True}))]
    result, _ = _run(wrong, _case({"output_schema": schema}), output_type=Answer)
    assert _failed(result) == ["output_schema"]
    assert result.failed_checks[0].detail.startswith("order_id:")


def test_a_text_answer_is_read_as_json_for_the_schema_and_plain_text_fails() -> None:
    schema = {"type": "object", "required": ["ok"]}
    assert _run([text_reply('{"ok": 1}')], _case({"output_schema": schema}))[0].passed
    result, _ = _run([text_reply("fine")], _case({"output_schema": schema}))
    assert _failed(result) == ["output_schema"]
    assert "not JSON" in result.failed_checks[0].detail


# --- ceilings ----------------------------------------------------------------------------


def test_ceilings_on_turns_tokens_and_dollars() -> None:
    usage = {"input_tokens": 1000, "output_tokens": 100}
    replies = [tool_reply(("lookup_order", {"order_id": "A-1"}), usage=usage),
               text_reply("Delivered.", usage=usage)]
    within = _case({"max_turns": 2, "max_tokens": 2200, "max_cost_usd": "0.01"})
    result, _ = _run(replies, within)
    assert result.passed, result.checks
    assert (result.turns, result.total_tokens) == (2, 2200)
    # claude-haiku-4-5: $1/MTok in, $5/MTok out → 2 × (0.001 + 0.0005)
    assert result.cost_usd == Decimal("0.003")
    over = _case({"max_turns": 1, "max_tokens": 2199, "max_cost_usd": 0.0029})
    result, _ = _run(replies, over)
    assert _failed(result) == ["ceiling", "ceiling", "ceiling"]
    assert [check.detail for check in result.failed_checks] == [
        "used 2", "used 2200", "used $0.0030"]


def test_a_dollar_ceiling_fails_when_the_cost_is_unknown() -> None:
    check = AtMost("cost_usd", Decimal("1"))
    model = ScriptedModel([text_reply("hi")])
    client = AsyncClient(api_key="test", transport=model)

    def build(setup: AgentSetup) -> Agent:
        return Agent("unpriced-model", setup.prompt, approver=setup.approver,
                     async_client=setup.client)

    case = EvalCase("c", "hi", (check,))
    [result] = run_eval(EvalSuite("s", (case,)), build, client=client, prompt=PROMPT).cases
    assert result.cost_usd is None
    assert "cost unknown" in result.failed_checks[0].detail


# --- rubric ------------------------------------------------------------------------------


def _judge(passed: bool, reason: str) -> tuple[Judge, ScriptedModel]:
    model = ScriptedModel([tool_reply(("final_result", {"passed": passed, "reason": reason}))])
    return Judge(AsyncClient(api_key="test", transport=model), MODEL), model


def test_a_rubric_is_graded_by_the_judge_with_its_versioned_prompt() -> None:
    judge, judge_model = _judge(True, "It states the delivery.")
    case = _case({"rubric": "The reply says when the order was delivered."})
    result, _ = _run(LOOKUP_THEN_ANSWER, case, judge=judge)
    assert result.passed
    assert result.checks[0].detail == "It states the delivery."
    [request] = judge_model.requests
    system = request["system"]
    system_text = system if isinstance(system, str) else system[0]["text"]
    assert system_text == DEFAULT_JUDGE.text
    question = request["messages"][0]["content"]
    question_text = question if isinstance(question, str) else question[0]["text"]
    assert "Order A-1001 was Delivered on Monday." in question_text
    assert "The reply says when the order was delivered." in question_text


def test_a_rubric_fails_when_the_judge_says_so_or_there_is_no_judge() -> None:
    judge, _ = _judge(False, "No date is given.")
    case = _case({"rubric": "The reply gives a date."})
    result, _ = _run(LOOKUP_THEN_ANSWER, case, judge=judge)
    assert _failed(result) == ["rubric"] and result.failed_checks[0].detail == "No date is given."
    result, _ = _run(LOOKUP_THEN_ANSWER, case)
    assert _failed(result) == ["rubric"]
    assert "judge" in result.failed_checks[0].detail
    rubric = Rubric("x", judge=SystemPrompt("Grade.", name="strict-judge", version="7"))
    assert "strict-judge@7" in rubric.describe()


# --- case files --------------------------------------------------------------------------


def test_a_yaml_case_file_reads_with_its_suite_name(tmp_path: Path) -> None:
    path = tmp_path / "cases.yaml"
    path.write_text(
        "suite: orders\n"
        "cases:\n"
        "  - id: one\n"
        "    input: Where is A-1001?\n"
        "    approvals: {refund_order: approve}\n"
        "    expect:\n"
        "      status: completed\n"
        "      tools_called: [lookup_order]\n"
        "      max_cost_usd: 0.05\n"
    )
    suite = load_cases(path)
    assert suite.name == "orders"
    [case] = suite.cases
    assert case.approvals == ApprovalScript(by_tool={"refund_order": "approve"})
    assert [type(item).__name__ for item in case.expectations] == [
        "StatusIs", "ToolCalled", "AtMost"]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("c.jsonl", '{"id": "a", "input": "x", "expect": {"status": "completed"}}\n{oops\n',
         "c.jsonl line 2: not a JSON object"),
        ("c.jsonl", '{"id": "a", "input": "x", "expect": {"statuss": "completed"}}\n',
         "line 1 (case 'a'): unknown expectations ['statuss']"),
        ("c.jsonl", '{"id": "a", "input": "x", "expect": {"status": "done"}}\n',
         "(case 'a'): expect.status must be one of"),
        ("c.jsonl", '{"id": "a", "input": "", "expect": {"status": "completed"}}\n',
         "(case 'a'): 'input' must be a non-empty string"),
        ("c.jsonl", '{"input": "x", "expect": {"status": "completed"}}\n',
         "line 1: a case needs a non-empty string 'id'"),
        ("c.jsonl", '{"id": "a", "input": "x", "approvals": "maybe", "expect": {"max_turns": 1}}',
         "approvals: an approval answer is 'approve', 'deny' or {deny: reason}"),
        ("c.jsonl", '{"id": "a", "input": "x", "expect": {"max_turns": -1}}',
         "expect.max_turns must be a whole number of 0 or more"),
        ("c.jsonl", '{"id": "a", "input": "x", "expect": {"max_cost_usd": "NaN"}}',
         "expect.max_cost_usd must be 0 or more"),
        ("c.jsonl", '{"id": "a", "input": "x", "expect": {"output_contains": [{"regex": "("}]}}',
         "bad regex '('"),
        ("c.jsonl", '{"id": "a", "input": "x", "expect": {"tools_called": '
         '[{"name": "t", "where": "mystery"}]}}', "'where' is a registered predicate name"),
        ("c.jsonl", '{"id": "a", "input": "x", "expect": {"status": "completed"}}\n'
         '{"id": "a", "input": "y", "expect": {"status": "completed"}}',
         "line 2: case id 'a' repeats the case on line 1"),
        ("c.yaml", "- id: a\n  input: x\n  expect: {status: completed}\n"
         "- id: b\n  input: y\n  expect: {sttus: completed}\n",
         "c.yaml line 4 (case 'b'): unknown expectations ['sttus']"),
        ("c.yaml", "- id: a\n  input: [unclosed\n", "c.yaml line 3: not valid YAML"),
        ("c.txt", "whatever", "case files end in .jsonl, .yaml or .yml"),
        ("c.jsonl", "\n\n", "no cases"),
    ],
)
def test_a_malformed_case_file_is_refused_naming_the_line_and_case(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(EvalCaseError) as caught:
        load_cases(path)
    assert message in str(caught.value)


def test_a_missing_case_file_is_a_typed_error(tmp_path: Path) -> None:
    with pytest.raises(EvalCaseError, match="cannot read case file"):
        load_cases(tmp_path / "nope.yaml")


def test_an_agent_factory_that_fails_fails_its_case_only() -> None:
    cases = (EvalCase("bad", "x", (ToolCalled("lookup_order"),)),
             EvalCase("good", "x", (ToolCalled("lookup_order"),)))

    def build(setup: AgentSetup) -> Agent:
        if setup.case.id == "bad":
            raise EvalCaseError("no fixture for this case")
        return Agent(MODEL, setup.prompt, TOOLS, approver=setup.approver,
                     async_client=setup.client)

    model = ScriptedModel(LOOKUP_THEN_ANSWER)
    client = AsyncClient(api_key="test", transport=model)
    run = run_eval(EvalSuite("s", cases), build, client=client, prompt=PROMPT, concurrency=1)
    bad, good = run.cases
    assert (bad.passed, good.passed) == (False, True)
    assert bad.error == "EvalCaseError: no fixture for this case"
    assert run.pass_rate == 0.5


def test_percentiles_use_the_nearest_rank() -> None:
    values = [0.1 * n for n in range(1, 21)]
    assert percentile(values, 0.5) == pytest.approx(1.0)
    assert percentile(values, 0.95) == pytest.approx(1.9)
    assert percentile([], 0.5) == 0.0
    assert percentile([3.0], 0.95) == 3.0


def test_a_run_records_the_prompt_version_and_path() -> None:
    result, _ = _run(LOOKUP_THEN_ANSWER, _case({"status": "completed"}))
    assert result.transcript[0]["role"] == "user"
    run = EvalRun("id", "s", "orders", "1", MODEL, "interactive", "", "", 0.0, [result])
    assert run.label == "orders@1" and run.cost_usd == result.cost_usd


def test_without_a_prompt_the_run_records_the_version_the_factory_uses() -> None:
    own = SystemPrompt("You answer.", name="house-prompt", version="3")

    def build(setup: AgentSetup) -> Agent:
        return Agent(MODEL, own, async_client=setup.client)

    client = AsyncClient(api_key="test", transport=ScriptedModel([text_reply("ok")]))
    run = run_eval(EvalSuite("s", (_case({"status": "completed"}),)), build, client=client)
    assert run.label == "house-prompt@3"


def test_a_case_file_s_rubrics_use_the_judge_prompt_given(tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text(json.dumps({"id": "a", "input": "x", "expect": {"rubric": "Polite."}}))
    judge_prompt = SystemPrompt("Grade politeness.", name="polite-judge", version="2")
    [case] = load_cases(path, judge=judge_prompt).cases
    [rubric] = case.expectations
    assert isinstance(rubric, Rubric) and rubric.judge is judge_prompt
    judge, judge_model = _judge(True, "Polite enough.")
    result, _ = _run(LOOKUP_THEN_ANSWER, case, judge=judge)
    assert result.passed
    system = judge_model.requests[0]["system"]
    assert "Grade politeness." in (system if isinstance(system, str) else system[0]["text"])


@pytest.mark.parametrize("name", ["deep.jsonl", "deep.yaml"])
def test_a_case_file_nested_too_deeply_is_refused(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(EvalCaseError):
        load_cases(path)
