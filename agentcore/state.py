"""The state of one agent run, and what a finished run returns.

A :class:`RunState` is plain data: the conversation as wire dicts, per-turn usage, the tool
calls of the turn in progress and the loop's retry budgets. The loop in :mod:`agentcore.loop`
decides everything from it, so a paused run is just this object, and
:meth:`RunState.to_json` / :meth:`RunState.from_json` carry it to another process.

The JSON form is versioned: a document from another version, or one that does not hold a
valid state, raises :class:`~agentcore.errors.RunStateError` instead of resuming a run nobody
wrote (:mod:`agentcore.store.sealing` adds a checksum or signature around it). Arguments a tool
marks as secret are masked in the JSON form unless the caller asks to keep them (see
:meth:`RunState.to_json`).

Plain JSON carries no authority: anyone holding the text can edit it. A state rebuilt by
:meth:`RunState.from_json` is therefore *unauthenticated* unless the caller vouches for it:
no tool counts as always allowed, no call counts as cleared to run, and a call runs only on a
decision bound to its arguments hash (``Approve(arguments_hash=...)``), given to that resume.
"""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import AliasChoices, Field, TypeAdapter, ValidationError

from agentcore.approval.requests import arguments_hash
from agentcore.citations import Citation, parse_citation
from agentcore.errors import RunStateError
from agentcore.redaction import REDACTED, Redactor, mask_fields, secret_values_in
from agentcore.types import Usage
from agentcore.usage import UsageTotals

__all__ = [
    "STATE_VERSION",
    "CallStatus",
    "PendingApproval",
    "PendingCall",
    "RunPhase",
    "RunResult",
    "RunState",
    "RunStatus",
    "TurnRecord",
    "has_masked_secrets",
]

STATE_VERSION = 1
"""Version of the :meth:`RunState.to_json` document; other versions are refused."""

_FORMAT = "agentcore.run_state"

RunStatus: TypeAlias = Literal[
    "running",
    "completed",
    "truncated",
    "refused",
    "paused",
    "limit_reached",
    "context_exceeded",
    "failed",
]
"""Where a run stands. Every status but ``running`` and ``paused`` is final."""

RunPhase: TypeAlias = Literal["model", "tools", "finished"]
"""What the loop does next: call the model, finish the tool calls of this turn, or nothing."""

CallStatus: TypeAlias = Literal["check", "ready", "approval", "done"]
"""A tool call of the current turn: its approval policy must be asked (``check``), it may run
(``ready``), it waits for a decision (``approval``), or its result is recorded (``done``)."""


@dataclass(slots=True)
class TurnRecord:
    """One model call: which model answered, what it used and cost, how long it took."""

    model: str
    """The model that answered (after any fallback)."""
    stop_reason: str | None
    usage: Usage
    cost_usd: Decimal | None
    """Exact cost of this call; None when the model has no known price."""
    request_id: str | None = None
    latency_s: float = 0.0
    """Wall time of the call, including the client's retries."""


@dataclass(slots=True)
class PendingCall:
    """A tool call of the turn in progress."""

    call_id: str
    tool_name: str
    arguments: dict[str, Any]
    """The validated JSON arguments, as the call will run with them."""
    status: CallStatus
    reason: str | None = None
    """Why approval is needed (for ``approval``)."""
    arguments_hash: str | None = None
    """Hash of ``arguments`` when approval was asked; a decision binds to it."""
    result: dict[str, Any] | None = None
    """The ``tool_result`` block, once ``done``."""
    executed: bool = False
    """The tool function ran (a denied or vetoed call is done without running)."""
    retry: bool = False
    """The model must correct this call (invalid arguments, unknown tool, ModelRetry)."""
    secret_fields: list[str] = field(default_factory=list)
    arguments_masked: bool = False
    """Secrets in ``arguments`` were masked when the state was serialized: the call cannot
    run with what was stored (see :meth:`RunState.to_json`)."""


@dataclass(frozen=True, slots=True)
class PendingApproval:
    """A call waiting for a human decision when a run pauses."""

    call_id: str
    tool_name: str
    arguments: dict[str, Any]
    reason: str
    arguments_hash: str


@dataclass(slots=True)
class RunState:
    """Everything the loop needs to decide the next step of a run; serializable and resumable."""

    model: str
    """The model of the latest call (the configured one before the first)."""
    messages: list[dict[str, Any]] = field(default_factory=list)
    """The conversation as wire dicts, as sent: tool results carry no credentials or secret
    argument values, and secret tool arguments are masked in the model's tool calls."""
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    phase: RunPhase = "model"
    status: RunStatus = "running"
    turns: list[TurnRecord] = field(default_factory=list)
    usage: UsageTotals = field(default_factory=UsageTotals)
    cost_usd: Decimal = Decimal(0)
    """Sum of the known costs; see :attr:`unpriced_models`."""
    unpriced_models: list[str] = field(default_factory=list)
    """Models that answered but have no known price: the run's cost is then unknown."""
    models_used: list[str] = field(default_factory=list)
    pending: list[PendingCall] = field(default_factory=list)
    always_allowed: list[str] = field(default_factory=list)
    """Tools the approver allowed for the rest of this run."""
    invalid_rounds: int = 0
    """Consecutive model turns with at least one invalid or retried tool call."""
    output_retries: int = 0
    """Structured-output answers that failed validation so far."""
    max_tokens_override: int | None = None
    """A raised max_tokens for retrying a tool call cut off at the limit."""
    stop_reason: str | None = None
    output: str = ""
    output_data: Annotated[
        Any, Field(validation_alias=AliasChoices("output_data", "output_object"))
    ] = None
    """The structured output as the JSON data the model gave (the validated instance is
    ``RunResult.output_object``); documents that name it ``output_object`` still load."""
    error: str | None = None
    limit: str | None = None
    prompt_name: str | None = None
    prompt_version: str | None = None
    secret_fields_by_tool: dict[str, list[str]] = field(default_factory=dict)
    """Argument names each tool marks secret; masked when the state is serialized."""
    duration_s: float = 0.0
    """Wall time spent running, summed over every resume."""
    authenticated: Annotated[bool, Field(exclude=True)] = field(default=True, compare=False)
    """Whether this state's authority can be trusted: true for a state made in this process
    (or loaded from a :class:`~agentcore.store.RunStore`, which checks its MAC), false for one
    rebuilt from plain JSON. Never serialized; see :meth:`from_json`."""

    @property
    def total_cost_usd(self) -> Decimal | None:
        """The run's cost so far, or None when any answering model has no known price."""
        return None if self.unpriced_models else self.cost_usd

    def pending_approvals(self) -> list[PendingApproval]:
        """The calls waiting for a decision."""
        return [
            PendingApproval(
                call.call_id,
                call.tool_name,
                call.arguments,
                call.reason or "",
                call.arguments_hash or "",
            )
            for call in self.pending
            if call.status == "approval"
        ]

    def to_json(self, *, include_secrets: bool = False) -> str:
        """Serialize to a versioned JSON document (seal it with :mod:`agentcore.store.sealing`).

        API keys, bearer tokens and ``credential=value`` pairs are replaced with
        :data:`~agentcore.redaction.REDACTED` in every message, result, output and error,
        whatever ``include_secrets`` says; only the arguments of calls still waiting to run
        are kept as they are when secrets are included, since the call needs them.

        Args:
            include_secrets: Keep the values of tool arguments marked secret. By default they
                are replaced with :data:`~agentcore.redaction.REDACTED`, there and wherever a
                text quotes them; a paused call whose arguments were masked is then denied on
                resume (it cannot run with a mask), so keep them only when the document goes
                to storage you trust. A :class:`~agentcore.store.RunStore` keeps the masked
                document and the real values of waiting calls encrypted beside it.
        """
        body = _ADAPTER.dump_python(self, mode="json")
        _redact_body(body, include_secrets=include_secrets)
        return json.dumps(
            {"format": _FORMAT, "version": STATE_VERSION, "state": body}, ensure_ascii=False
        )

    @classmethod
    def from_json(cls, text: str | bytes, *, trusted: bool = False) -> RunState:
        """Rebuild a state written by :meth:`to_json`.

        The text is taken as unauthenticated, since whoever held it may have edited it: the
        state's ``always_allowed`` tools are dropped, each call not yet done waits for a
        decision again, and :attr:`authenticated` is false, so resuming runs a call only on a
        decision carrying the call's ``arguments_hash`` (a bare ``Approve()`` is a denial).

        Args:
            trusted: The caller vouches for the text: it checked its integrity itself (with
                :func:`agentcore.store.unseal` and a key, say) or it never left storage that
                only the application can write. The state is then resumed as it says.

        Raises:
            RunStateError: the document is not JSON, not a run state, from another version,
                or does not hold a valid state.
        """
        try:
            document = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite)
        except _NonFinite as exc:
            raise RunStateError(
                f"run state holds {exc}: NaN or Infinity, which no run state can have"
            ) from None
        except (ValueError, RecursionError) as exc:
            raise RunStateError(f"run state is not valid JSON: {exc}") from exc
        try:
            json.dumps(document, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise RunStateError(
                "run state holds a lone surrogate (half of a character escaped as \\uD800-"
                "\\uDFFF), which no run state can have"
            ) from None
        if not isinstance(document, dict) or document.get("format") != _FORMAT:
            raise RunStateError("not an agentcore run state document")
        version = document.get("version")
        if version != STATE_VERSION:
            raise RunStateError(
                f"run state version {version!r} is not supported (this agentcore reads "
                f"version {STATE_VERSION})"
            )
        try:
            state = _ADAPTER.validate_python(document.get("state"))
        except ValidationError as exc:
            raise RunStateError(f"run state holds invalid data: {exc}") from exc
        state.authenticated = trusted
        if not trusted:
            _withdraw_authority(state)
        return state


class _NonFinite(ValueError):
    """A number JSON cannot hold (``NaN``, ``Infinity``, or one too large for a float)."""


def _refuse_constant(name: str) -> Any:
    raise _NonFinite(name)


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise _NonFinite(text)
    return value


def _withdraw_authority(state: RunState) -> None:
    """Take from an unauthenticated state all it could say to let a call run unasked."""
    state.always_allowed = []
    for call in state.pending:
        if call.status in ("check", "ready"):
            call.status = "approval"
            call.reason = "the run was resumed from a state that is not authenticated"
            call.arguments_hash = arguments_hash(call.arguments)


def _redact_body(body: dict[str, Any], *, include_secrets: bool) -> None:
    """Redact a dumped state in place (the dump is a fresh copy)."""
    secret_values: list[str] = []
    original_arguments = [call["arguments"] for call in body["pending"]]
    if not include_secrets:
        secret_values = _mask_secrets(body)
    redactor = Redactor(secret_values=secret_values)
    for message in body["messages"]:
        if "content" in message:
            message["content"] = redactor.redact_content(message["content"])
    for call, original in zip(body["pending"], original_arguments, strict=True):
        if not include_secrets:
            call["arguments"] = redactor.redact(call["arguments"])
            call["arguments_masked"] = call["arguments_masked"] or call["arguments"] != original
        if call["result"] is not None:
            call["result"] = redactor.redact_content([call["result"]])[0]
        call["reason"] = redactor.redact(call["reason"])
    for key in ("output", "output_data", "error"):
        body[key] = redactor.redact(body[key])


def _mask_secrets(body: dict[str, Any]) -> list[str]:
    """Mask secret arguments in a dumped state, in place (the dump is a fresh copy), in the
    pending calls and in the model's tool calls; return the values masked, so that any text
    quoting them can be masked too."""
    fields_by_tool: dict[str, set[str]] = {
        name: set(fields) for name, fields in (body.get("secret_fields_by_tool") or {}).items()
    }
    values: list[str] = []
    for call in body["pending"]:
        fields = call["secret_fields"]
        if fields:
            fields_by_tool.setdefault(call["tool_name"], set()).update(fields)
            values.extend(secret_values_in(call["arguments"], fields))
            call["arguments"] = mask_fields(call["arguments"], fields)
    if not fields_by_tool:
        return values
    for message in body["messages"]:
        content = message.get("content")
        if not isinstance(content, list):
            continue
        for block in content:
            if not isinstance(block, dict) or block.get("type") != "tool_use":
                continue
            fields = fields_by_tool.get(block.get("name", ""))
            if fields:
                arguments = block.get("input")
                values.extend(secret_values_in(arguments, fields))
                if isinstance(arguments, dict):
                    block["input"] = mask_fields(arguments, fields)
    return values


def has_masked_secrets(call: PendingCall) -> bool:
    """Whether a call's secret arguments were masked when its state was serialized."""
    return call.arguments_masked or any(
        call.arguments.get(name) == REDACTED for name in call.secret_fields
    )


@dataclass(slots=True)
class RunResult:
    """What a run returns: the answer, how it ended, what it used and cost."""

    output: str
    """The text of the final assistant message (what there is of it when truncated)."""
    status: RunStatus
    stop_reason: str | None
    """The last response's raw stop reason (an unknown one is kept as received)."""
    messages: list[dict[str, Any]]
    turns: list[TurnRecord]
    usage: UsageTotals
    cost_usd: Decimal | None
    """Exact cost in USD; None when any model that answered has no known price."""
    duration_s: float
    models_used: list[str]
    state: RunState
    """The run's state: serialize it, or pass it to ``Agent.resume`` when paused."""
    limit: str | None = None
    """The limit that stopped the run (``max_turns``, ``max_total_tokens``, ``max_cost_usd``)."""
    pending: list[PendingApproval] = field(default_factory=list)
    """Calls waiting for a decision when ``status == "paused"``."""
    error: str | None = None
    """What went wrong when ``status`` is ``failed`` (or the limit or stop explained)."""
    exception: BaseException | None = None
    """The exception behind a failure, when there was one (an API error after retries)."""
    output_object: Any = None
    """The validated structured output when the agent has an ``output_type``."""

    @property
    def is_final(self) -> bool:
        """Whether the run ended (anything but paused)."""
        return self.status != "paused"

    @property
    def citations(self) -> list[Citation]:
        """The citations of the final assistant message's text, typed and in order (empty
        when the model cited nothing, or the run ended without an answer)."""
        if not self.messages or self.messages[-1].get("role") != "assistant":
            return []
        content = self.messages[-1].get("content")
        blocks = content if isinstance(content, list) else []
        return [
            parse_citation(citation)
            for block in blocks
            if isinstance(block, dict) and block.get("type") == "text"
            for citation in block.get("citations") or ()
        ]


_ADAPTER: TypeAdapter[RunState] = TypeAdapter(RunState)
