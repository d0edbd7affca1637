"""The vocabulary of the agent loop: the actions it returns, the outcomes it takes back.

:class:`~agentcore.loop.AgentLoop` answers every step with one of the actions below; a
driver performs it and reports back. :class:`LoopConfig` is what stays the same across the
turns of an agent's runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

from agentcore.approval.gate import AgentApprovalPolicy
from agentcore.approval.requests import ApprovalRequest
from agentcore.context import CompactionPolicy, CompactionRequest, ContextSettings
from agentcore.state import RunResult, RunState
from agentcore.usage import Limits, PriceTable

if TYPE_CHECKING:
    from agentcore.output import OutputSpec
    from agentcore.tools._server_tools import ServerTool
    from agentcore.tools._tool import Tool, ToolOutput

__all__ = [
    "Action",
    "AskApproval",
    "CallModel",
    "CheckApproval",
    "CompactContext",
    "CountTokens",
    "Finish",
    "LoopConfig",
    "Router",
    "RunTools",
    "ToolCall",
    "ToolOutcome",
]

Router: TypeAlias = Callable[[RunState], "str | tuple[str, str]"]
"""Chooses the model for the next call from the run so far: a model id, or (model, reason)."""


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A tool call whose arguments passed validation, ready to run."""

    id: str
    """The ``tool_use`` block's id."""
    name: str
    tool: Tool
    arguments: dict[str, Any]
    """The JSON arguments (after any approved edit)."""
    kwargs: dict[str, Any]
    """``tool.validate(arguments)``: what the function is called with."""


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    """What running one call produced."""

    call_id: str
    output: ToolOutput
    executed: bool = True
    """False when a hook vetoed the call or rewritten arguments were invalid."""


# --- actions ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallModel:
    """Send ``params`` to ``client.messages.create`` (or ``.stream``)."""

    params: dict[str, Any]
    model: str
    route_reason: str | None = None
    """Why a router chose ``model``, when one did."""


@dataclass(frozen=True, slots=True)
class CheckApproval:
    """Ask the approval policies of these calls whether a person must decide: run
    :func:`~agentcore.approval.approval_reason` for each call with ``policy`` and
    ``always_allowed`` and report the reasons."""

    calls: tuple[ToolCall, ...]
    policy: AgentApprovalPolicy | None = None
    """The agent-level approval policy."""
    always_allowed: tuple[str, ...] = ()
    """Tools the approver allowed for the rest of the run."""


@dataclass(frozen=True, slots=True)
class RunTools:
    """Run these calls (concurrently or in order) and report every outcome."""

    calls: tuple[ToolCall, ...]


@dataclass(frozen=True, slots=True)
class AskApproval:
    """Get a decision for each request from the approver."""

    requests: tuple[ApprovalRequest, ...]


@dataclass(frozen=True, slots=True)
class CompactContext:
    """Shorten the conversation: call ``policy.compact(request)`` (awaiting it when it is a
    coroutine) and report the :class:`~agentcore.context.CompactionResult`, None, or the
    exception it raised."""

    policy: CompactionPolicy
    request: CompactionRequest


@dataclass(frozen=True, slots=True)
class CountTokens:
    """Count the input tokens of ``params`` with ``client.messages.count_tokens`` and report
    the count, or the error the call raised."""

    params: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Finish:
    """The run is over (or paused); ``result`` says how."""

    result: RunResult
    awaiting: tuple[ApprovalRequest, ...] = ()
    """When the run pauses, the calls it waits on, as the approver would have been asked."""


Action: TypeAlias = (
    CallModel | CheckApproval | RunTools | AskApproval | CompactContext | CountTokens | Finish
)


# --- configuration ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LoopConfig:
    """What stays the same for every turn of an agent's runs; built once by the Agent."""

    model: str | Router
    tools: Mapping[str, Tool]
    request_params: Mapping[str, Any]
    """Everything of a request but model, max_tokens and messages (tools, system…)."""
    max_tokens: int
    limits: Limits = field(default_factory=Limits)
    prices: PriceTable | None = None
    output: OutputSpec | None = None
    approval_policy: AgentApprovalPolicy | None = None
    """The agent-level approval policy; the loop hands it on in :class:`CheckApproval`."""
    pause_for_approval: bool = False
    """No approver is attached: a call that needs a decision pauses the run (the loop returns
    :class:`Finish` with the calls it waits on, never :class:`AskApproval`)."""
    cache: bool = False
    cache_ttl: str | None = None
    prompt_name: str | None = None
    prompt_version: str | None = None
    server_tools: Sequence[ServerTool] = ()
    """The tools the API runs itself; their blocks are kept, never run here."""
    context: ContextSettings = field(default_factory=ContextSettings)
    """How the run stays inside the model's context window."""
    request_chars: int | None = None
    """The size of ``request_params`` as JSON, measured once for every run (None: each run
    measures it when it first needs it)."""
