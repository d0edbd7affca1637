"""Running a prompt version (or any agent factory) over a suite of cases.

Each case gets a fresh agent from the factory, with the case's scripted approver and the
run's client, and runs once; its expectations are checked against what the run did. Cases run
concurrently (at most ``concurrency`` at once, through the client you give, so its retries
and rate limiting apply), or with ``batch=True`` through the Message Batches API: every
model call of the cases goes out in a shared batch, billed at half price. Either way the
:class:`EvalRun` says which path was used and records, per case, each check, the tokens, the
cost, the latency and the transcript.
"""

from __future__ import annotations

import asyncio
import html
import math
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from agentcore.agent import Agent
from agentcore.approval import Approver
from agentcore.client import AsyncClient, PollSchedule
from agentcore.errors import ConfigurationError
from agentcore.evals._batching import BatchedCalls
from agentcore.evals.cases import EvalCase, EvalSuite
from agentcore.evals.expectations import (
    ApprovalAsked,
    ApprovalNotAsked,
    Check,
    Expectation,
    Observation,
    Rubric,
    ToolCalled,
    ToolNotCalled,
)
from agentcore.prompts import SystemPrompt
from agentcore.state import RunResult
from agentcore.tools import Tool

__all__ = [
    "AgentFactory",
    "AgentSetup",
    "CaseResult",
    "EvalRun",
    "Judge",
    "arun_eval",
    "percentile",
    "prompt_agent",
    "run_eval",
]

RunPath = Literal["interactive", "batch"]


@dataclass
class AgentSetup:
    """What a factory gets to build the agent of one case."""

    case: EvalCase
    prompt: SystemPrompt | None
    """The prompt version under evaluation (None when the factory brings its own)."""
    client: AsyncClient
    """The client the agent must use (``Agent(..., async_client=setup.client)``)."""
    approver: Approver
    """The case's scripted approver (``Agent(..., approver=setup.approver)``)."""
    _cleanups: list[Callable[[], None]] = field(default_factory=list, repr=False)

    def on_close(self, cleanup: Callable[[], None]) -> None:
        """Call ``cleanup`` once the case has run (close a database, delete a copy)."""
        self._cleanups.append(cleanup)


AgentFactory = Callable[[AgentSetup], Agent]
"""Builds the agent for one case."""


def prompt_agent(model: str, tools: Sequence[Tool] = (), **agent_options: Any) -> AgentFactory:
    """A factory for the plainest target: ``Agent(model, prompt, tools)`` per case.

    ``agent_options`` go to :class:`~agentcore.Agent` (``limits=``, ``output_type=``…).
    """

    def build(setup: AgentSetup) -> Agent:
        return Agent(model, setup.prompt, list(tools), approver=setup.approver,
                     async_client=setup.client, **agent_options)

    return build


@dataclass
class Judge:
    """The model that grades :class:`~agentcore.evals.Rubric` expectations.

    Args:
        client: Where the judge's calls go (never through the batch path).
        model: The judge model, unless a rubric names its own.
    """

    client: AsyncClient
    model: str = "claude-haiku-4-5"


class _Verdict(BaseModel):
    """The judge's answer, read strictly: ``passed`` a JSON boolean (not ``"yes"`` or
    ``1``), a reason, and nothing else."""

    model_config = ConfigDict(strict=True, extra="forbid")

    passed: bool
    reason: str


@dataclass
class CaseResult:
    """One case's run: each check, what it used and cost, how long it took, the transcript."""

    case_id: str
    passed: bool
    checks: list[Check]
    status: str
    output: str
    turns: int
    input_tokens: int
    output_tokens: int
    total_tokens: int
    cost_usd: Decimal | None
    latency_s: float
    transcript: list[dict[str, Any]]
    approvals: list[dict[str, Any]] = field(default_factory=list)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    tags: tuple[str, ...] = ()

    @property
    def failed_checks(self) -> list[Check]:
        """The checks that failed."""
        return [check for check in self.checks if not check.passed]


@dataclass
class EvalRun:
    """A suite run by one prompt version: every case's result and where the calls went."""

    run_id: str
    suite: str
    prompt_name: str
    prompt_version: str
    model: str | None
    path: RunPath
    """``interactive`` (one request per call) or ``batch`` (Message Batches, half price)."""
    backend: str
    started_at: str
    duration_s: float
    cases: list[CaseResult]
    batch_ids: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        """``name@version`` of the prompt."""
        return f"{self.prompt_name}@{self.prompt_version}"

    @property
    def passed(self) -> int:
        """How many cases passed."""
        return sum(case.passed for case in self.cases)

    @property
    def pass_rate(self) -> float:
        """The share of cases that passed (0 for no cases)."""
        return self.passed / len(self.cases) if self.cases else 0.0

    @property
    def cost_usd(self) -> Decimal | None:
        """The cost of every case's run (judges excluded); None when any is unknown."""
        costs = [case.cost_usd for case in self.cases]
        if any(cost is None for cost in costs):
            return None
        return sum((cost for cost in costs if cost is not None), Decimal(0))

    @property
    def total_tokens(self) -> int:
        """Tokens over every case."""
        return sum(case.total_tokens for case in self.cases)

    def latency(self, fraction: float) -> float:
        """A percentile of the cases' latencies (``0.5`` the median, ``0.95`` p95)."""
        return percentile([case.latency_s for case in self.cases], fraction)


def percentile(values: Sequence[float], fraction: float) -> float:
    """The ``fraction`` percentile of ``values`` by the nearest-rank method (0 when empty)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = min(len(ordered), max(1, math.ceil(fraction * len(ordered))))
    return ordered[rank - 1]


def run_eval(
    suite: EvalSuite,
    factory: AgentFactory,
    *,
    client: AsyncClient,
    prompt: SystemPrompt | None = None,
    model: str | None = None,
    batch: bool = False,
    concurrency: int = 4,
    judge: Judge | None = None,
    backend: str = "",
    poll: PollSchedule | None = None,
) -> EvalRun:
    """Run ``suite`` (see :func:`arun_eval`) from code that is not async."""
    return asyncio.run(arun_eval(
        suite, factory, client=client, prompt=prompt, model=model, batch=batch,
        concurrency=concurrency, judge=judge, backend=backend, poll=poll,
    ))


async def arun_eval(
    suite: EvalSuite,
    factory: AgentFactory,
    *,
    client: AsyncClient,
    prompt: SystemPrompt | None = None,
    model: str | None = None,
    batch: bool = False,
    concurrency: int = 4,
    judge: Judge | None = None,
    backend: str = "",
    poll: PollSchedule | None = None,
) -> EvalRun:
    """Run every case of ``suite`` with an agent from ``factory``.

    Args:
        suite: The cases.
        factory: Builds each case's agent from an :class:`AgentSetup` (see
            :func:`prompt_agent` for a prompt and tools alone).
        client: The client model calls go through: the API, the emulator, or a scripted
            transport; pass one with a rate limiter to keep within your account's limits.
        prompt: The prompt version under evaluation, stored with the run; when None, the
            name and version of the prompt the factory's agents use are stored.
        model: The model, for the record.
        batch: Send every model call through the Message Batches API (half price, slower).
        concurrency: Cases run at once on the interactive path (the batch path runs every
            case at once, so each round of calls is one batch).
        judge: Grades rubric expectations; a rubric without a judge fails.
        backend: Where the calls went, for the record (``emulator``, the API's URL…).
        poll: How often a running batch is polled.
    """
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ConfigurationError(f"concurrency must be 1 or more, not {concurrency!r}")
    started = datetime.now(UTC).isoformat(timespec="seconds")
    clock = time.perf_counter()
    batched = BatchedCalls(client, schedule=poll) if batch else None
    agent_client = batched.agent_client() if batched is not None else client
    limit = asyncio.Semaphore(len(suite.cases) if batched is not None else concurrency)

    versions: list[tuple[str | None, str | None]] = []
    if batched is not None:
        # Every case is waited for from the start, so the first round is a single batch.
        for _ in suite.cases:
            batched.enter()

    def ran() -> None:
        # A case whose agent has finished is no longer waited for by the next batch (its
        # rubrics, if any, are graded outside the batch path).
        if batched is not None:
            batched.leave()

    async def one(case: EvalCase) -> CaseResult:
        async with limit:
            return await _run_case(case, factory, prompt, agent_client, judge, versions, ran)

    try:
        results = await asyncio.gather(*(one(case) for case in suite.cases))
    finally:
        if batched is not None:
            await agent_client.close()
    name, version = (prompt.name, prompt.version) if prompt is not None else next(
        (seen for seen in versions if seen[1]), (None, None))
    return EvalRun(
        run_id=uuid.uuid4().hex,
        suite=suite.name,
        prompt_name=name or "unnamed",
        prompt_version=version or "unversioned",
        model=model,
        path="batch" if batched is not None else "interactive",
        backend=backend,
        started_at=started,
        duration_s=time.perf_counter() - clock,
        cases=list(results),
        batch_ids=list(batched.batch_ids) if batched is not None else [],
    )


async def _run_case(
    case: EvalCase,
    factory: AgentFactory,
    prompt: SystemPrompt | None,
    client: AsyncClient,
    judge: Judge | None,
    versions: list[tuple[str | None, str | None]],
    ran: Callable[[], None],
) -> CaseResult:
    approver = case.approvals.approver()
    setup = AgentSetup(case, prompt, client, approver)
    clock = time.perf_counter()
    unknown: list[str] = []
    try:
        agent = factory(setup)
        unknown = _unknown_tools(case, agent)
        state = agent.new_state(case.input)
        versions.append((state.prompt_name, state.prompt_version))
        try:
            result = await agent.arun(case.input)
        finally:
            await agent.aclose()
    except Exception as exc:
        # One case whose agent cannot be built or run fails alone, saying why.
        return _broken(case, f"{type(exc).__name__}: {exc}", time.perf_counter() - clock)
    finally:
        ran()
        for cleanup in setup._cleanups:
            cleanup()
    latency = time.perf_counter() - clock
    seen = Observation.of(result, approver.seen)
    checks = [await _check(expectation, seen, judge) for expectation in case.expectations]
    if unknown:
        # A typo in a tool's name would make "never calls" or "asks no approval" pass forever.
        checks.insert(0, Check("tools_known", "the case names only the agent's tools", False,
                               f"unknown: {', '.join(unknown)}; the agent has: "
                               f"{', '.join(sorted(agent.tools)) or 'no tools'}"))
    return CaseResult(
        case_id=case.id,
        passed=all(check.passed for check in checks),
        checks=checks,
        status=result.status,
        output=result.output,
        turns=len(result.turns),
        input_tokens=result.usage.input_tokens + result.usage.cache_creation_input_tokens
        + result.usage.cache_read_input_tokens,
        output_tokens=result.usage.output_tokens,
        total_tokens=result.usage.total_tokens,
        cost_usd=result.cost_usd,
        latency_s=latency,
        transcript=result.messages,
        approvals=[{"tool_name": item.tool_name, "arguments": item.arguments,
                    "reason": item.reason, "decision": item.decision} for item in approver.seen],
        tool_calls=[{"name": call.name, "arguments": call.arguments} for call in seen.tool_calls],
        error=result.error,
        tags=case.tags,
    )


def _unknown_tools(case: EvalCase, agent: Agent) -> list[str]:
    """The tool names ``case`` expects or answers approvals for that ``agent`` lacks."""
    named: list[str] = list(case.approvals.by_tool)
    for expectation in case.expectations:
        if isinstance(expectation, ToolCalled | ToolNotCalled):
            named.append(expectation.name)
        elif isinstance(expectation, ApprovalAsked | ApprovalNotAsked) and expectation.tool_name:
            named.append(expectation.tool_name)
    known = set(agent.tools)
    output = agent._config.output
    if output is not None:
        known.add(output.tool_name)
    return sorted({name for name in named if name not in known})


async def _check(expectation: Expectation, seen: Observation, judge: Judge | None) -> Check:
    """One expectation's verdict; one that raises fails alone, saying what it raised."""
    try:
        if isinstance(expectation, Rubric):
            return await _grade(expectation, seen, judge)
        return expectation.check(seen)
    except Exception as exc:
        try:
            description = expectation.describe()
        except Exception:
            description = expectation.kind
        return Check(expectation.kind, description, False,
                     f"the check raised {type(exc).__name__}: {exc}"[:240])


def _broken(case: EvalCase, error: str, latency: float) -> CaseResult:
    check = Check("run", "the case runs", False, error)
    return CaseResult(case.id, False, [check], "failed", "", 0, 0, 0, 0, None, latency, [],
                      error=error, tags=case.tags)


def _transcript_text(result: RunResult) -> str:
    """The run as lines the judge reads, every piece of it escaped (``<`` as ``&lt;``…): a
    tool result or a reply cannot close the ``<conversation>`` block or open a criterion."""
    lines = []
    for message in result.messages:
        content = message.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        for block in blocks if isinstance(blocks, list) else []:
            kind = block.get("type") if isinstance(block, dict) else None
            if kind == "text":
                lines.append(f"{message.get('role')}: {block.get('text')}")
            elif kind == "tool_use":
                lines.append(f"tool call {block.get('name')}: {block.get('input')}")
            elif kind == "tool_result":
                lines.append(f"tool result: {block.get('content')}")
    return html.escape("\n".join(lines), quote=False)


async def _grade(rubric: Rubric, seen: Observation, judge: Judge | None) -> Check:
    if judge is None:
        return rubric.check(seen)
    grader = Agent(rubric.model or judge.model, rubric.judge, output_type=_Verdict,
                   async_client=judge.client, max_turns=3)
    question = (f"<conversation>\n{_transcript_text(seen.result)}\n</conversation>\n\n"
                f"<criterion>{rubric.criteria}</criterion>")
    try:
        graded = await grader.arun(question)
    finally:
        await grader.aclose()
    verdict = graded.output_object
    if not isinstance(verdict, _Verdict):
        return rubric.verdict(False, f"the judge gave no verdict ({graded.status}: "
                              f"{graded.error or graded.output})")
    return rubric.verdict(verdict.passed, verdict.reason)
