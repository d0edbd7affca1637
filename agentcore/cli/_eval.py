"""``agentcore eval``: run a suite of cases against a prompt version, and compare versions.

::

    agentcore eval run CASES --agent MODULE:FACTORY --prompt PROMPT.md [--batch] [--offline]
    agentcore eval compare support-agent@4 support-agent@5
    agentcore eval history [PROMPT]

``run`` prints the report, stores the run in the history file (``--history``, ``evals.db``
by default) and exits 1 when the pass rate is under ``--min-pass-rate`` or a case that passed
in the baseline fails now or is missing: the newest run of the same prompt name on the suite
that passed its own gate (or ``--baseline NAME@VERSION``).
``compare`` prints which cases changed outcome with cost and latency deltas, and exits 1 on
a regression or a pass rate under the threshold. ``--no-gate`` reports without failing.
Without ``ANTHROPIC_API_KEY`` (or with ``--offline``) the calls go to the loopback emulator.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import sys
from typing import TYPE_CHECKING, Any, TextIO

from agentcore.client import AsyncClient
from agentcore.errors import AgentcoreError, ConfigurationError
from agentcore.evals import (
    EvalHistory,
    EvalRun,
    Judge,
    arun_eval,
    compare,
    format_comparison,
    format_report,
    gate,
    load_cases,
    parse_label,
    prompt_agent,
)
from agentcore.evals.runner import AgentFactory
from agentcore.prompts import SystemPrompt
from agentcore.terminal import terminal_safe

if TYPE_CHECKING:
    _Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]

__all__ = ["register_eval"]

DEFAULT_HISTORY = "evals.db"


def register_eval(subparsers: _Subparsers) -> None:
    """Add ``agentcore eval`` with its ``run``, ``compare`` and ``history`` commands."""
    parser = subparsers.add_parser(
        "eval", help="run evaluation cases against a prompt version; compare versions",
        description="Test prompts like code: run a case file against a prompt version, keep "
        "the score and cost in a history file, and compare two versions.",
    )
    commands = parser.add_subparsers(dest="eval_command", metavar="COMMAND", required=True)

    run = commands.add_parser("run", help="run a case file and report",
                              description="Run every case of CASES and print the report.")
    run.add_argument("cases", help="the case file (.jsonl, .yaml or .yml)")
    run.add_argument("--agent", metavar="MODULE:FACTORY",
                     help="a function building the agent of a case from an AgentSetup")
    run.add_argument("--prompt", metavar="FILE",
                     help="the prompt version to evaluate (a SystemPrompt file)")
    run.add_argument("--model", help="the model, when no --agent is given (a plain prompt)")
    run.add_argument("--app-dir", help="import the --agent module from this directory first")
    run.add_argument("--offline", action="store_true",
                     help="use the loopback emulator even when ANTHROPIC_API_KEY is set")
    run.add_argument("--batch", action="store_true",
                     help="send the model calls through the Message Batches API (half price)")
    run.add_argument("--concurrency", type=int, default=4, help="cases at once (default 4)")
    run.add_argument("--judge-model", default="claude-haiku-4-5",
                     help="the model grading rubrics (not offline)")
    run.add_argument("--judge-prompt", metavar="FILE",
                     help="the judge's versioned prompt for rubrics (a SystemPrompt file)")
    run.add_argument("--baseline", metavar="NAME@VERSION",
                     help="the run whose passing cases must still pass (default: the newest run "
                     "of the same prompt name on this suite that passed its gate)")
    _gate_arguments(run)
    run.set_defaults(handler=_run)

    diff = commands.add_parser("compare", help="compare two prompt versions' latest runs",
                               description="Which cases changed outcome between OLD and NEW "
                               "(NAME@VERSION each), with cost and latency deltas.")
    diff.add_argument("old", metavar="OLD", help="NAME@VERSION")
    diff.add_argument("new", metavar="NEW", help="NAME@VERSION")
    diff.add_argument("--suite", help="compare runs of this suite only")
    _gate_arguments(diff)
    diff.set_defaults(handler=_compare)

    history = commands.add_parser("history", help="list stored runs, newest first")
    history.add_argument("prompt", nargs="?", help="a prompt name")
    history.add_argument("--history", default=DEFAULT_HISTORY, help="the history file")
    history.set_defaults(handler=_history)


def _gate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--history", default=DEFAULT_HISTORY,
                        help=f"the SQLite history file (default {DEFAULT_HISTORY})")
    parser.add_argument("--min-pass-rate", type=float, metavar="RATE",
                        help="fail when the pass rate is below this (0 to 1)")
    parser.add_argument("--no-gate", action="store_true",
                        help="report only: exit 0 whatever the outcome")
    parser.add_argument("--width", type=int, help="report width (default: the terminal's)")


def _import_factory(spec: str, app_dir: str | None) -> AgentFactory:
    from agentcore.cli._approvals import _describe_failure, _put_first_on_path

    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ConfigurationError(f"--agent {spec!r}: expected MODULE:FACTORY")
    _put_first_on_path(app_dir)
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise ConfigurationError(
            f"--agent {spec!r}: importing {module_name!r} failed: {_describe_failure(exc)}"
        ) from exc
    target: Any = module
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise ConfigurationError(f"--agent {spec!r}: {module_name!r} has no {attribute!r}")
        target = getattr(target, part)
    if not callable(target):
        raise ConfigurationError(f"--agent {spec!r} is not a function")
    factory: AgentFactory = target
    return factory


def _check_rate(rate: float | None) -> None:
    if rate is not None and not 0 <= rate <= 1:
        raise ConfigurationError(f"--min-pass-rate must be between 0 and 1, not {rate}")


def _run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    try:
        return _run_checked(args, out)
    except AgentcoreError as exc:
        print(f"error: {terminal_safe(str(exc))}", file=sys.stderr)
        return 2


def _run_checked(args: argparse.Namespace, out: TextIO) -> int:
    _check_rate(args.min_pass_rate)
    if args.concurrency < 1:
        raise ConfigurationError("--concurrency must be 1 or more")
    judge_prompt = SystemPrompt.from_file(args.judge_prompt) if args.judge_prompt else None
    suite = load_cases(args.cases, judge=judge_prompt)
    prompt = SystemPrompt.from_file(args.prompt) if args.prompt else None
    if args.agent:
        factory = _import_factory(args.agent, args.app_dir)
    elif args.model and prompt is not None:
        factory = prompt_agent(args.model)
    else:
        raise ConfigurationError("give --agent MODULE:FACTORY, or --prompt FILE and --model")
    key = os.environ.get("ANTHROPIC_API_KEY", "").strip()
    offline = args.offline or not key
    with EvalHistory(args.history) as history:
        if offline:
            from agentcore.emulator import Emulator

            print("OFFLINE: calls go to the agentcore emulator's demo policy (keyword rules, "
                  "not a model)", file=sys.stderr)
            with Emulator() as emulator:
                run = _evaluate(args, suite, factory, prompt, emulator.base_url, "test",
                                "emulator", judged=False)
        else:
            base_url = os.environ.get("ANTHROPIC_BASE_URL", "").strip() or None
            run = _evaluate(args, suite, factory, prompt, base_url, key,
                            base_url or "api.anthropic.com", judged=True)
        if args.baseline:
            name, version = parse_label(args.baseline)
            previous = history.latest(name, version, suite=suite.name)
            if previous is None:
                raise ConfigurationError(f"no stored run of {args.baseline} on suite "
                                         f"{suite.name!r} in {args.history}")
        else:
            # The newest run that passed its gate: a stored regression is never the baseline,
            # so rerunning a regressed version fails again.
            previous = history.latest(run.prompt_name, suite=suite.name, gate_passed=True)
            if previous is None:
                previous = history.latest(run.prompt_name, suite=suite.name)
        baseline = compare(previous, run) if previous is not None else None
        reasons = gate(run, min_pass_rate=args.min_pass_rate, baseline=baseline)
        history.record(run, gate_passed=not reasons)
    print(format_report(run, width=args.width), file=out)
    print(terminal_safe(f"stored as run {run.run_id} in {args.history} (agentcore eval history "
                        f"--history {args.history})"), file=out)
    if baseline is not None:
        print(file=out)
        print(format_comparison(baseline, width=args.width), file=out)
    return _verdict(reasons, args.no_gate, out)


def _evaluate(args: argparse.Namespace, suite: Any, factory: AgentFactory,
              prompt: SystemPrompt | None, base_url: str | None, key: str, backend: str,
              *, judged: bool) -> EvalRun:
    async def go() -> EvalRun:
        client = AsyncClient(api_key=key, base_url=base_url)
        try:
            judge = Judge(client, args.judge_model) if judged else None
            return await arun_eval(suite, factory, client=client, prompt=prompt,
                                   model=args.model, batch=args.batch,
                                   concurrency=args.concurrency, judge=judge, backend=backend)
        finally:
            await client.close()

    return asyncio.run(go())


def _verdict(reasons: list[str], no_gate: bool, out: TextIO) -> int:
    if not reasons:
        return 0
    print(file=out)
    label = "would fail (--no-gate)" if no_gate else "FAILED"
    for reason in reasons:
        print(f"{label}: {terminal_safe(reason)}", file=out)
    return 0 if no_gate else 1


def _compare(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    try:
        _check_rate(args.min_pass_rate)
        with EvalHistory(args.history) as history:
            runs = []
            for label in (args.old, args.new):
                name, version = parse_label(label)
                found = history.latest(name, version, suite=args.suite)
                if found is None:
                    raise ConfigurationError(f"no stored run of {label} in {args.history}")
                runs.append(found)
    except AgentcoreError as exc:
        print(f"error: {terminal_safe(str(exc))}", file=sys.stderr)
        return 2
    comparison = compare(runs[0], runs[1])
    print(format_comparison(comparison, width=args.width), file=out)
    return _verdict(gate(runs[1], min_pass_rate=args.min_pass_rate, baseline=comparison),
                    args.no_gate, out)


def _history(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    try:
        with EvalHistory(args.history) as history:
            runs = history.runs(args.prompt)
    except AgentcoreError as exc:
        print(f"error: {terminal_safe(str(exc))}", file=sys.stderr)
        return 2
    if not runs:
        print("no runs stored", file=out)
    for run in runs:
        cost = "?" if run.cost_usd is None else f"${run.cost_usd:.4f}"
        print(terminal_safe(f"{run.started_at}  {run.prompt_name}@{run.prompt_version}  "
                            f"{run.suite}  {run.passed}/{run.cases} passed  {cost}  {run.path}"
                            f"  {run.run_id}"
                            + ("  (gate failed)" if run.gate_passed is False else "")), file=out)
    return 0
