"""Typed events of a run, as ``Agent.stream`` and ``Agent.astream`` yield them.

A run yields, in order: text (and thinking) deltas while the model writes, then per tool
call a :class:`ToolCallStarted` and a :class:`ToolResultEvent`, a :class:`ContextCompacted`
when the conversation was shortened to fit the context window, an
:class:`ApprovalRequested` for each call waiting for a person, a
:class:`ModelTurnCompleted` per model call, and a single :class:`RunFinished` last.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, TypeAlias

from agentcore.approval.requests import ApprovalRequest, Decision
from agentcore.context import Compaction
from agentcore.state import RunResult, TurnRecord
from agentcore.types import ModelWait

__all__ = [
    "ApprovalDecided",
    "ApprovalRequested",
    "ContextCompacted",
    "ModelTurnCompleted",
    "ModelWaiting",
    "RunEvent",
    "RunFinished",
    "TextDelta",
    "ThinkingDelta",
    "ToolCallStarted",
    "ToolResultEvent",
]


@dataclass(frozen=True, slots=True)
class TextDelta:
    """More text of the model's answer, as it streams."""

    kind: ClassVar[str] = "text_delta"
    text: str


@dataclass(frozen=True, slots=True)
class ThinkingDelta:
    """More of the model's extended thinking, as it streams."""

    kind: ClassVar[str] = "thinking_delta"
    thinking: str


@dataclass(frozen=True, slots=True)
class ModelTurnCompleted:
    """A model call finished: which model, why it stopped, tokens, cost and latency."""

    kind: ClassVar[str] = "model_turn_completed"
    turn: TurnRecord


@dataclass(frozen=True, slots=True)
class ToolCallStarted:
    """A tool call is about to run, with its validated arguments."""

    kind: ClassVar[str] = "tool_call_started"
    call_id: str
    tool_name: str
    arguments: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ToolResultEvent:
    """A tool call ended; ``content`` is what the model receives."""

    kind: ClassVar[str] = "tool_result"
    call_id: str
    tool_name: str
    content: str | list[dict[str, Any]]
    is_error: bool
    executed: bool
    """False when a hook vetoed the call (the function did not run)."""
    duration_s: float


@dataclass(frozen=True, slots=True)
class ApprovalRequested:
    """A call waits for a person's decision (the run pauses when there is no approver)."""

    kind: ClassVar[str] = "approval_requested"
    request: ApprovalRequest


@dataclass(frozen=True, slots=True)
class ApprovalDecided:
    """The approver decided about a call."""

    kind: ClassVar[str] = "approval_decided"
    call_id: str
    tool_name: str
    decision: Decision


@dataclass(frozen=True, slots=True)
class ModelWaiting:
    """The model call waits before its next request: a retry's backoff or the rate limit.

    Yielded before the wait starts, so a console can say "rate limited, retrying in 4 s".
    """

    kind: ClassVar[str] = "model_waiting"
    wait: ModelWait


@dataclass(frozen=True, slots=True)
class ContextCompacted:
    """The conversation neared (or passed) the context window and was compacted before the
    next model call: why, by which policy, the estimated tokens before and after."""

    kind: ClassVar[str] = "context_compacted"
    compaction: Compaction


@dataclass(frozen=True, slots=True)
class RunFinished:
    """The run ended or paused; always the last event."""

    kind: ClassVar[str] = "run_finished"
    result: RunResult


RunEvent: TypeAlias = (
    TextDelta
    | ThinkingDelta
    | ModelTurnCompleted
    | ModelWaiting
    | ToolCallStarted
    | ToolResultEvent
    | ApprovalRequested
    | ApprovalDecided
    | ContextCompacted
    | RunFinished
)
"""Anything ``Agent.stream`` yields."""
