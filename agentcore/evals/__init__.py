"""Prompts tested like code: cases, a prompt version's score and cost, and diffs between versions.

Load cases (:func:`load_cases`, JSONL or YAML), run a prompt version or an agent factory over
them (:func:`run_eval` / :func:`arun_eval`: concurrently, or through the Message Batches API
at half price), keep the runs in :class:`EvalHistory` and read them with
:func:`format_report`, :func:`compare` and :func:`gate`. ``agentcore eval`` does the same from
the command line.
"""

from agentcore.evals.cases import (
    ApprovalScript,
    CaseApprover,
    EvalCase,
    EvalSuite,
    load_cases,
    parse_case,
)
from agentcore.evals.expectations import (
    DEFAULT_JUDGE,
    ApprovalAsked,
    ApprovalNotAsked,
    ApprovalSeen,
    AtMost,
    Check,
    Expectation,
    Observation,
    OutputMatches,
    OutputValidates,
    Rubric,
    StatusIs,
    ToolCalled,
    ToolCallSeen,
    ToolNotCalled,
)
from agentcore.evals.history import EvalHistory, RunSummary, parse_label
from agentcore.evals.report import (
    CaseChange,
    Comparison,
    compare,
    format_comparison,
    format_report,
    gate,
)
from agentcore.evals.runner import (
    AgentFactory,
    AgentSetup,
    CaseResult,
    EvalRun,
    Judge,
    arun_eval,
    percentile,
    prompt_agent,
    run_eval,
)

__all__ = [
    "DEFAULT_JUDGE",
    "AgentFactory",
    "AgentSetup",
    "ApprovalAsked",
    "ApprovalNotAsked",
    "ApprovalScript",
    "ApprovalSeen",
    "AtMost",
    "CaseApprover",
    "CaseChange",
    "CaseResult",
    "Check",
    "Comparison",
    "EvalCase",
    "EvalHistory",
    "EvalRun",
    "EvalSuite",
    "Expectation",
    "Judge",
    "Observation",
    "OutputMatches",
    "OutputValidates",
    "Rubric",
    "RunSummary",
    "StatusIs",
    "ToolCallSeen",
    "ToolCalled",
    "ToolNotCalled",
    "arun_eval",
    "compare",
    "format_comparison",
    "format_report",
    "gate",
    "load_cases",
    "parse_case",
    "parse_label",
    "percentile",
    "prompt_agent",
    "run_eval",
]
