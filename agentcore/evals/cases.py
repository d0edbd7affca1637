"""Evaluation cases: an input, how approvals are answered, and what the run must show.

Cases live in a JSONL file (one case per line; blank lines and lines starting with ``//``
are skipped) or a YAML file (a list of cases, or a mapping
with ``suite:`` and ``cases:``); YAML needs PyYAML (``pip install 'agentcore-claude[evals]'``).
One case::

    id: refund-small
    input: Please refund $15 on order A-1001, my email is ada.lovelace@example.com
    tags: [refunds]
    approvals: deny            # approve | deny | {tool: approve|deny|{deny: reason}} | [in order]
    expect:
      status: completed
      tools_called:
        - name: refund_order
          arguments: {order_id: A-1001, amount_cents: 1500}
          match: subset        # or exact
          where: small_refund  # a predicate registered with load_cases(predicates=...)
      tools_not_called: [send_email]
      approvals_asked: [cancel_order]
      approvals_not_asked: [refund_order]     # or `true` for none at all
      output_contains: ["A-1001", {regex: "\\$15\\.00"}]
      output_excludes: ["card"]
      output_schema: {type: object, required: [answer]}
      max_turns: 4
      max_tokens: 6000
      max_cost_usd: 0.05
      rubric: The reply apologises and says when the money arrives.

A file that cannot be read as cases raises :class:`~agentcore.errors.EvalCaseError` naming
the file, the line and the case.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from agentcore.approval import ApprovalRequest, Approve, Decision, Deny
from agentcore.errors import ConfigurationError, EvalCaseError
from agentcore.evals.expectations import (
    DEFAULT_JUDGE,
    ApprovalAsked,
    ApprovalNotAsked,
    ApprovalSeen,
    AtMost,
    Expectation,
    OutputMatches,
    OutputValidates,
    Rubric,
    StatusIs,
    ToolCalled,
    ToolNotCalled,
    _schema_errors,
    _schema_validator,
)
from agentcore.prompts import SystemPrompt

__all__ = ["ApprovalScript", "CaseApprover", "EvalCase", "EvalSuite", "load_cases", "parse_case"]

_MAX_CASE_FILE_BYTES = 16 * 1024 * 1024
_MAX_YAML_NODES = 1_000_000
"""The most values a YAML case file may hold once its aliases are expanded."""
_CASE_KEYS = frozenset({"id", "input", "tags", "approvals", "expect", "metadata"})
_EXPECT_KEYS = frozenset({
    "status", "tools_called", "tools_not_called", "approvals_asked", "approvals_not_asked",
    "output_contains", "output_excludes", "output_schema", "max_turns", "max_tokens",
    "max_cost_usd", "rubric",
})
_STATUSES = frozenset({"completed", "truncated", "refused", "paused", "limit_reached",
                       "context_exceeded", "failed"})


@dataclass(frozen=True)
class ApprovalScript:
    """How a case answers approval requests.

    ``default`` answers every tool not in ``by_tool``; ``sequence``, when given, answers the
    requests in order instead (requests beyond it get ``default``). Each answer is
    ``"approve"`` or ``"deny"``; ``deny_reason`` is what a denial tells the model.
    """

    default: str = "deny"
    by_tool: Mapping[str, str] = field(default_factory=dict)
    sequence: tuple[str, ...] | None = None
    deny_reason: str = "denied by the evaluation case"

    def approver(self) -> CaseApprover:
        """A fresh approver answering this script and recording what it was asked."""
        return CaseApprover(self)


class CaseApprover:
    """Answers approval requests from a case's :class:`ApprovalScript` and records them."""

    def __init__(self, script: ApprovalScript) -> None:
        self._script = script
        self._answered = 0
        self.seen: list[ApprovalSeen] = []
        """Every request, with the answer given."""

    def decide(self, request: ApprovalRequest) -> Decision:
        """The scripted answer for ``request``; bound to the arguments it was asked about."""
        script = self._script
        answer = script.by_tool.get(request.tool_name, script.default)
        if script.sequence is not None and self._answered < len(script.sequence):
            answer = script.sequence[self._answered]
        self._answered += 1
        self.seen.append(ApprovalSeen(request.tool_name, dict(request.arguments),
                                      request.reason, answer))
        if answer == "approve":
            return Approve(arguments_hash=request.arguments_hash)
        return Deny(script.deny_reason)


@dataclass(frozen=True)
class EvalCase:
    """One case: the user's input, the approval script and the expectations."""

    id: str
    input: str
    expectations: tuple[Expectation, ...]
    approvals: ApprovalScript = field(default_factory=ApprovalScript)
    tags: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.id or not isinstance(self.id, str):
            raise ConfigurationError("a case needs an id")
        if not isinstance(self.input, str) or not self.input.strip():
            raise ConfigurationError(f"case {self.id!r} needs a non-empty input")


@dataclass(frozen=True)
class EvalSuite:
    """The cases of one file (or built in code), under a name stored with every run."""

    name: str
    cases: tuple[EvalCase, ...]

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for case in self.cases:
            if case.id in seen:
                raise ConfigurationError(f"suite {self.name!r}: case id {case.id!r} repeats")
            seen.add(case.id)


Predicate = Callable[[dict[str, Any]], bool]


def load_cases(
    path: str | Path, *, predicates: Mapping[str, Predicate] | None = None,
    name: str | None = None, judge: SystemPrompt | None = None,
) -> EvalSuite:
    """Read a JSONL (``.jsonl``) or YAML (``.yaml``/``.yml``) case file.

    Args:
        path: The file.
        predicates: Named argument predicates a case may use (``where: NAME``); a case file
            names them, it never carries code.
        name: The suite's name; the YAML file's ``suite:``, else the file's stem.
        judge: The judge prompt of the file's rubrics (:data:`DEFAULT_JUDGE` when None).

    Raises:
        EvalCaseError: the file cannot be read, is not JSONL/YAML, or a case is malformed.
    """
    location = Path(path)
    try:
        # Read one byte past the limit rather than trust stat(): a device or a pipe says 0.
        with location.open("rb") as stream:
            raw = stream.read(_MAX_CASE_FILE_BYTES + 1)
        if len(raw) > _MAX_CASE_FILE_BYTES:
            raise EvalCaseError(f"{location}: a case file holds at most 16 MiB")
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalCaseError(f"cannot read case file {str(location)!r}: {exc}") from exc
    named = dict(predicates or {})
    suffix = location.suffix.lower()
    if suffix == ".jsonl":
        entries = list(_jsonl_entries(text, location))
        suite_name = name or location.stem
    elif suffix in (".yaml", ".yml"):
        file_name, entries = _yaml_entries(text, location)
        suite_name = name or file_name or location.stem
    else:
        raise EvalCaseError(f"{location}: case files end in .jsonl, .yaml or .yml")
    cases = []
    ids: dict[str, int] = {}
    for line, data in entries:
        case = parse_case(data, predicates=named, where=f"{location} line {line}", judge=judge)
        if case.id in ids:
            raise EvalCaseError(f"{location} line {line}: case id {case.id!r} repeats the "
                                f"case on line {ids[case.id]}")
        ids[case.id] = line
        cases.append(case)
    if not cases:
        raise EvalCaseError(f"{location}: no cases")
    return EvalSuite(suite_name, tuple(cases))


def _jsonl_entries(text: str, location: Path) -> Iterable[tuple[int, Any]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("//"):
            continue
        try:
            yield number, json.loads(line)
        except (ValueError, RecursionError) as exc:
            raise EvalCaseError(f"{location} line {number}: not a JSON object: {exc}") from exc


def _yaml_entries(text: str, location: Path) -> tuple[str | None, list[tuple[int, Any]]]:
    try:
        import yaml
    except ImportError as exc:
        raise EvalCaseError(
            f"{location}: reading YAML case files needs PyYAML "
            "(pip install 'agentcore-claude[evals]'), or write the cases as JSONL"
        ) from exc
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        _check_expansion(root, location)
        data = yaml.load(text, Loader=yaml.SafeLoader)
    except RecursionError as exc:
        raise EvalCaseError(f"{location}: nested too deeply to be a case file") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise EvalCaseError(f"{location}{where}: not valid YAML: {problem}") from exc
    suite_name: str | None = None
    node = root
    if isinstance(data, dict):
        unknown = set(data) - {"suite", "cases"}
        if unknown or "cases" not in data:
            raise EvalCaseError(f"{location}: a YAML case file is a list of cases or a mapping "
                                "of 'suite' and 'cases'")
        if data.get("suite") is not None:
            suite_name = str(data["suite"])
        node = next((value for key, value in getattr(root, "value", [])
                     if getattr(key, "value", None) == "cases"), None)
        data = data["cases"]
    if not isinstance(data, list) or not isinstance(node, yaml.SequenceNode):
        raise EvalCaseError(f"{location}: expected a list of cases")
    lines = [item.start_mark.line + 1 for item in node.value]
    return suite_name, list(zip(lines, data, strict=True))


def _check_expansion(root: Any, location: Path) -> None:
    """Refuse a YAML document whose aliases expand past :data:`_MAX_YAML_NODES` values or
    make a value contain itself: either would blow up whatever reads the cases later (a
    report, a comparison, the history file)."""
    budget = _MAX_YAML_NODES
    open_nodes: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)] if root is not None else []
    while stack:
        node, leaving = stack.pop()
        if leaving:
            open_nodes.discard(id(node))
            continue
        if id(node) in open_nodes:
            line = node.start_mark.line + 1
            raise EvalCaseError(f"{location} line {line}: a YAML alias contains itself")
        budget -= 1
        if budget < 0:
            raise EvalCaseError(f"{location}: the YAML aliases expand to more than "
                                f"{_MAX_YAML_NODES} values")
        children = node.value if isinstance(node.value, list) else []
        if children:
            open_nodes.add(id(node))
            stack.append((node, True))
            for child in reversed(children):
                if isinstance(child, tuple):
                    stack.extend(((child[1], False), (child[0], False)))
                else:
                    stack.append((child, False))


def _fail(where: str, case_id: str | None, problem: str) -> EvalCaseError:
    label = f" (case {case_id!r})" if case_id else ""
    return EvalCaseError(f"{where}{label}: {problem}")


def parse_case(
    data: Any, *, predicates: Mapping[str, Predicate] | None = None, where: str = "case",
    judge: SystemPrompt | None = None,
) -> EvalCase:
    """Build a case from its JSON/YAML form (see the module docstring).

    Raises:
        EvalCaseError: naming ``where`` and the case's id, with what is wrong.
    """
    if not isinstance(data, dict):
        raise _fail(where, None, f"a case is an object, not {type(data).__name__}")
    raw_id = data.get("id")
    case_id = raw_id if isinstance(raw_id, str) and raw_id.strip() else None
    if case_id is None:
        raise _fail(where, None, "a case needs a non-empty string 'id'")
    try:
        unknown = sorted(set(map(str, data)) - _CASE_KEYS)
        if unknown:
            raise ValueError(f"unknown keys {unknown}; a case takes {sorted(_CASE_KEYS)}")
        text = data.get("input")
        if not isinstance(text, str) or not text.strip():
            raise ValueError("'input' must be a non-empty string")
        tags = data.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
            raise ValueError("'tags' must be a list of strings")
        metadata = data.get("metadata", {})
        if not isinstance(metadata, dict):
            raise ValueError("'metadata' must be an object")
        expect = data.get("expect", {})
        if not isinstance(expect, dict) or not expect:
            raise ValueError("'expect' must be an object with at least one expectation")
        expectations = _expectations(expect, dict(predicates or {}), judge or DEFAULT_JUDGE)
        approvals = _approvals(data.get("approvals", "deny"))
        return EvalCase(case_id, text, tuple(expectations), approvals, tuple(tags),
                        dict(metadata))
    except (ValueError, TypeError, ConfigurationError) as exc:
        raise _fail(where, case_id, str(exc)) from exc


def _answer(value: Any, what: str) -> tuple[str, str | None]:
    if value in ("approve", "deny"):
        return str(value), None
    if isinstance(value, dict) and set(value) == {"deny"} and isinstance(value["deny"], str):
        return "deny", value["deny"]
    raise ValueError(f"{what}: an approval answer is 'approve', 'deny' or {{deny: reason}}, "
                     f"not {value!r}")


def _approvals(value: Any) -> ApprovalScript:
    """``approve``/``deny`` for every call, a mapping by tool, or a list answered in order;
    the first ``{deny: reason}`` gives the reason every denial of the case tells the model."""
    reasons: list[str] = []

    def answer(item: Any, what: str) -> str:
        kind, reason = _answer(item, what)
        if reason:
            reasons.append(reason)
        return kind

    default, by_tool, sequence = "deny", {}, None
    if isinstance(value, list):
        sequence = tuple(answer(item, f"approvals[{index}]") for index, item in enumerate(value))
    elif isinstance(value, dict) and set(value) != {"deny"}:
        by_tool = {str(tool): answer(item, f"approvals.{tool}") for tool, item in value.items()}
    else:
        default = answer(value, "approvals")
    if reasons:
        return ApprovalScript(default, by_tool, sequence, reasons[0])
    return ApprovalScript(default, by_tool, sequence)


def _names(value: Any, key: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise ValueError(f"expect.{key} must be a tool name or a list of them")
    return list(value)


def _integer(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"expect.{key} must be a whole number of 0 or more, not {value!r}")
    return value


def _dollars(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"expect.max_cost_usd must be a number, not {value!r}")
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"expect.max_cost_usd must be a number, not {value!r}") from exc
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"expect.max_cost_usd must be 0 or more, not {value!r}")
    return amount


def _patterns(value: Any, key: str, present: bool) -> list[Expectation]:
    items = value if isinstance(value, list) else [value]
    found: list[Expectation] = []
    for item in items:
        if isinstance(item, str) and item:
            found.append(OutputMatches(item, present=present))
        elif isinstance(item, dict) and set(item) == {"regex"} and isinstance(item["regex"], str):
            found.append(OutputMatches(item["regex"], regex=True, present=present))
        else:
            raise ValueError(f"expect.{key}: each entry is text or {{regex: ...}}, not {item!r}")
    return found


def _tool_called(item: Any, predicates: Mapping[str, Predicate]) -> ToolCalled:
    if isinstance(item, str) and item:
        return ToolCalled(item)
    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        raise ValueError(f"expect.tools_called: each entry is a tool name or an object with "
                         f"'name', not {item!r}")
    unknown = sorted(set(item) - {"name", "arguments", "match", "where"})
    if unknown:
        raise ValueError(f"expect.tools_called: unknown keys {unknown}")
    arguments = item.get("arguments")
    if arguments is not None and not isinstance(arguments, dict):
        raise ValueError("expect.tools_called: 'arguments' must be an object")
    match = item.get("match", "subset")
    where_name = item.get("where")
    where = None
    label = ""
    if where_name is not None:
        if isinstance(where_name, dict) and set(where_name) == {"schema"}:
            schema = OutputValidates(where_name["schema"]).schema
            where = _schema_predicate(schema)
            label = "arguments validate against the schema"
        elif isinstance(where_name, str) and where_name in predicates:
            where, label = predicates[where_name], where_name
        else:
            known = ", ".join(sorted(predicates)) or "none registered"
            raise ValueError(f"expect.tools_called: 'where' is a registered predicate name "
                             f"({known}) or {{schema: ...}}, not {where_name!r}")
    return ToolCalled(item["name"], arguments, match, where, label)


def _schema_predicate(schema: Mapping[str, Any]) -> Predicate:
    validator = _schema_validator(schema)

    def valid(arguments: dict[str, Any]) -> bool:
        return _schema_errors(validator, arguments) is None

    return valid


def _expectations(expect: Mapping[str, Any], predicates: Mapping[str, Predicate],
                  judge: SystemPrompt) -> list[Expectation]:
    unknown = sorted(set(map(str, expect)) - _EXPECT_KEYS)
    if unknown:
        raise ValueError(f"unknown expectations {unknown}; known: {sorted(_EXPECT_KEYS)}")
    found: list[Expectation] = []
    if "status" in expect:
        if expect["status"] not in _STATUSES:
            raise ValueError(f"expect.status must be one of {sorted(_STATUSES)}, "
                             f"not {expect['status']!r}")
        found.append(StatusIs(expect["status"]))
    called = expect.get("tools_called", [])
    for item in called if isinstance(called, list) else [called]:
        found.append(_tool_called(item, predicates))
    for name in _names(expect.get("tools_not_called", []), "tools_not_called"):
        found.append(ToolNotCalled(name))
    for name in _names(expect.get("approvals_asked", []), "approvals_asked"):
        found.append(ApprovalAsked(name))
    not_asked = expect.get("approvals_not_asked", [])
    if not_asked is True:
        found.append(ApprovalNotAsked())
    elif not_asked is not False:
        found.extend(ApprovalNotAsked(name) for name in _names(not_asked, "approvals_not_asked"))
    if "output_contains" in expect:
        found.extend(_patterns(expect["output_contains"], "output_contains", True))
    if "output_excludes" in expect:
        found.extend(_patterns(expect["output_excludes"], "output_excludes", False))
    if "output_schema" in expect:
        if not isinstance(expect["output_schema"], dict):
            raise ValueError("expect.output_schema must be a JSON Schema object")
        found.append(OutputValidates(expect["output_schema"]))
    if "max_turns" in expect:
        found.append(AtMost("turns", _integer(expect["max_turns"], "max_turns")))
    if "max_tokens" in expect:
        found.append(AtMost("tokens", _integer(expect["max_tokens"], "max_tokens")))
    if "max_cost_usd" in expect:
        found.append(AtMost("cost_usd", _dollars(expect["max_cost_usd"])))
    if "rubric" in expect:
        rubric = expect["rubric"]
        criteria = rubric.get("criteria") if isinstance(rubric, dict) else rubric
        model = rubric.get("model") if isinstance(rubric, dict) else None
        if not isinstance(criteria, str) or (model is not None and not isinstance(model, str)):
            raise ValueError("expect.rubric is the criteria text, or {criteria, model}")
        found.append(Rubric(criteria, judge=judge, model=model))
    if not found:
        raise ValueError("'expect' holds no expectation")
    return found
