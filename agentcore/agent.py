"""The Agent: a model, a system prompt and tools, run by two thin drivers over one loop.

Every decision lives in :mod:`agentcore.loop`; the drivers (:mod:`agentcore.drivers`) only
do the I/O it asks for (model calls, tools, hooks, approval policies and approvers, the
clock, logging). The options that belong together come as frozen objects that check their
values when built: :class:`~agentcore.usage.Limits` and :class:`ModelSettings`. The sync
driver runs tools one after another; the async driver runs a turn's calls concurrently, up
to ``tool_concurrency`` at a time (sync tools in threads). Both exist in a streaming flavour
that yields :mod:`agentcore.events` as the run goes. Given a store, an agent keeps every run
in it, journalled, so a paused run is resumed by its id in any process and no call runs twice
(:mod:`agentcore.store.durable`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import threading
from collections.abc import (
    AsyncIterator,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any, TypeAlias, TypedDict, Unpack

from pydantic import BaseModel

from agentcore.approval.gate import AgentApprovalPolicy
from agentcore.approval.requests import Approver, AsyncApprover, Decision
from agentcore.client._client import AsyncClient, Client
from agentcore.context import ContextSettings, ServerCompaction, TokenEstimator
from agentcore.drivers import DriverSettings, adrive, drive
from agentcore.errors import ConfigurationError
from agentcore.events import (
    RunEvent,
    RunFinished,
)
from agentcore.hooks import AfterToolHook, BeforeToolHook
from agentcore.loop import AgentLoop, LoopConfig, Router
from agentcore.output import OutputSpec
from agentcore.prompts import SystemPrompt
from agentcore.state import RunResult, RunState
from agentcore.store.durable import (
    ExecutionJournal,
    astored_events,
    open_run,
    stored_events,
)
from agentcore.store.runs import RunStore
from agentcore.tools._server_tools import ServerTool
from agentcore.tools._tool import Tool, Toolset
from agentcore.types import to_wire
from agentcore.usage import Limits, ModelPrice, PriceTable

__all__ = ["Agent", "ModelSettings", "Prompt"]

Prompt: TypeAlias = str | Sequence[Mapping[str, Any] | BaseModel]
"""A user prompt, or a whole conversation (messages as dicts or wire models)."""


def _require_positive(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"{name} must be a positive integer, not {value!r}")


@dataclass(frozen=True, slots=True)
class ModelSettings:
    """How the agent calls the model: ``Agent(model, model_settings=ModelSettings(...))``.

    ``temperature``, ``top_p``, ``top_k``, ``stop_sequences``, ``metadata``, ``thinking``,
    ``service_tier`` and ``tool_choice`` are sent with every request as the Messages API
    defines them (None: left out). Bad values raise ConfigurationError here.
    """

    max_tokens: int = 4096
    """Output tokens per model call."""
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    stop_sequences: Sequence[str] | None = None
    metadata: Mapping[str, Any] | None = None
    thinking: Mapping[str, Any] | None = None
    service_tier: str | None = None
    tool_choice: Mapping[str, Any] | None = None
    fallback_models: Sequence[str] = ()
    """Models to try, in order, when the model is overloaded or unavailable."""
    cache: bool = True
    """Place prompt-cache breakpoints on every request."""
    cache_ttl: str | None = None
    """``"5m"`` or ``"1h"``; None keeps the API's default (five minutes)."""
    prices: PriceTable | Mapping[str, ModelPrice | tuple[float, float]] | None = None
    """Extra or replacement prices per model (USD per million tokens)."""
    context: ContextSettings = dataclasses.field(default_factory=ContextSettings)
    """How runs stay inside the context window: its size, when and how to compact."""

    def __post_init__(self) -> None:
        _require_positive("max_tokens", self.max_tokens)
        if not isinstance(self.context, ContextSettings):
            raise ConfigurationError(
                f"context must be a ContextSettings, not {self.context!r}"
            )
        if self.stop_sequences is not None:
            object.__setattr__(self, "stop_sequences", tuple(self.stop_sequences))
        object.__setattr__(self, "fallback_models", tuple(self.fallback_models))
        for name in ("metadata", "thinking", "tool_choice"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, MappingProxyType(dict(value)))
        if not isinstance(self.prices, PriceTable):
            object.__setattr__(self, "prices", PriceTable(self.prices))

    def request_params(self) -> dict[str, Any]:
        """The parameters sent with every request besides model, max_tokens and messages."""
        optional: dict[str, Any] = {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "top_k": self.top_k,
            "stop_sequences": _copy(self.stop_sequences),
            "metadata": _copy(self.metadata),
            "thinking": _copy(self.thinking),
            "service_tier": self.service_tier,
            "fallback_models": list(self.fallback_models) or None,
        }
        return {key: value for key, value in optional.items() if value is not None}


_DEFAULT_LIMITS = Limits()
_DEFAULT_MODEL_SETTINGS = ModelSettings()


class Options(TypedDict, total=False):
    """Any field of :class:`~agentcore.usage.Limits` or :class:`ModelSettings`, given on its
    own: ``Agent(model, system, tools, max_turns=5, cache=False)``."""

    max_turns: int | None
    max_total_tokens: int | None
    max_cost_usd: Decimal | float | str | None
    max_tool_retries: int
    max_pause_continuations: int | None
    max_tokens: int
    temperature: float | None
    top_p: float | None
    top_k: int | None
    stop_sequences: Sequence[str] | None
    metadata: Mapping[str, Any] | None
    thinking: Mapping[str, Any] | None
    service_tier: str | None
    tool_choice: Mapping[str, Any] | None
    fallback_models: Sequence[str]
    cache: bool
    cache_ttl: str | None
    prices: PriceTable | Mapping[str, ModelPrice | tuple[float, float]] | None
    context: ContextSettings


_LIMIT_FIELDS = frozenset(field.name for field in dataclasses.fields(Limits))
_MODEL_FIELDS = frozenset(field.name for field in dataclasses.fields(ModelSettings))


def _merged(
    limits: Limits, settings: ModelSettings, options: Mapping[str, Any]
) -> tuple[Limits, ModelSettings]:
    """``limits`` and ``settings`` with the fields given one by one put on top."""
    unknown = sorted(set(options) - _LIMIT_FIELDS - _MODEL_FIELDS)
    if unknown:
        raise ConfigurationError(
            f"Agent() got unexpected keyword argument(s): {', '.join(unknown)}"
        )
    limit_fields = {name: value for name, value in options.items() if name in _LIMIT_FIELDS}
    model_fields = {name: value for name, value in options.items() if name in _MODEL_FIELDS}
    if limit_fields:
        limits = dataclasses.replace(limits, **limit_fields)
    if model_fields:
        settings = dataclasses.replace(settings, **model_fields)
    return limits, settings


class Agent:
    """A Claude agent: runs the model, its tools and approvals until a final answer.

    Args:
        model: A model id, or a router ``(state) -> model | (model, reason)`` called before
            every model call.
        system: The system prompt, as text or a versioned :class:`SystemPrompt`.
        tools: The tools the model may call: a list of ``@tool`` functions, and server tools
            the API runs itself (:class:`~agentcore.tools.WebSearch`,
            :class:`~agentcore.tools.WebFetch`, :class:`~agentcore.tools.CodeExecution`),
            whose ``anthropic-beta`` names are sent for you.
        approver: Decides calls that need approval. Without one, such a run pauses: the
            result holds the pending calls and a state for :meth:`resume`.
        approval_policy: An agent-level ``(tool, arguments) -> bool | str | None`` consulted
            before each tool's own ``sensitive`` / ``requires_approval`` settings; a text asks
            and is the reason shown to the person.
        approval_timeout_s: Deny a call when the approver takes longer than this.
        limits: The run's budgets (:class:`Limits`: max_turns, max_total_tokens,
            max_cost_usd, max_tool_retries, max_pause_continuations); a run that reaches
            one ends as ``limit_reached``.
        model_settings: How the model is called (:class:`ModelSettings`: max_tokens,
            sampling, thinking, tool_choice, fallback models, prompt caching, prices).
        output_type: A pydantic model: the run ends with a validated instance in
            ``RunResult.output_object`` (the model answers through a ``final_result`` tool).
        output_retries: Invalid or missing structured answers tolerated before failing.
        before_tool: Hooks run before each call; may veto it or rewrite its arguments.
        after_tool: Hooks run after each call; may replace (redact) its output.
        tool_concurrency: Calls of one turn run at once by the async driver.
        client: The blocking client for :meth:`run` and :meth:`stream`; built from the
            environment (``ANTHROPIC_API_KEY``, ``ANTHROPIC_BASE_URL``) on first use if None.
        async_client: The asyncio client for :meth:`arun` and :meth:`astream`. If None, one is
            built from the environment for each event loop the agent runs on, since its
            connections belong to that loop (``asyncio.run`` twice gives two loops).
        store: A :class:`~agentcore.store.RunStore` (or the path of one, which the agent
            opens and :meth:`close` closes) to keep every run in: its state, the calls
            waiting for approval and an audit trail. Each tool call is journalled there
            (claimed after the ``before_tool`` hooks, recorded before the ``after_tool``
            ones), so it runs at most once, even across crashes; a paused run is resumed by
            its id (:meth:`resume`), in any process, with the decisions recorded in the store.
        **options: Any field of :class:`Limits` or :class:`ModelSettings` on its own
            (``max_turns=5``, ``cache=False``), applied on top of ``limits`` and
            ``model_settings``.
    """

    def __init__(
        self,
        model: str | Router,
        system: str | SystemPrompt | None = None,
        tools: Iterable[Tool | ServerTool | Callable[..., Any]] | Toolset = (),
        *,
        approver: Approver | AsyncApprover | None = None,
        approval_policy: AgentApprovalPolicy | None = None,
        approval_timeout_s: float | None = None,
        limits: Limits = _DEFAULT_LIMITS,
        model_settings: ModelSettings = _DEFAULT_MODEL_SETTINGS,
        output_type: type[BaseModel] | None = None,
        output_retries: int = 3,
        before_tool: Sequence[BeforeToolHook] = (),
        after_tool: Sequence[AfterToolHook] = (),
        tool_concurrency: int = 8,
        client: Client | None = None,
        async_client: AsyncClient | None = None,
        store: RunStore | str | os.PathLike[str] | None = None,
        **options: Unpack[Options],
    ) -> None:
        if not isinstance(model, str) and not callable(model):
            raise ConfigurationError(f"model must be a model id or a router, not {model!r}")
        if isinstance(model, str) and not model:
            raise ConfigurationError("model must be a non-empty model id")
        if not isinstance(limits, Limits):
            raise ConfigurationError(f"limits must be a Limits, not {limits!r}")
        if not isinstance(model_settings, ModelSettings):
            raise ConfigurationError(
                f"model_settings must be a ModelSettings, not {model_settings!r}"
            )
        if options:
            limits, model_settings = _merged(limits, model_settings, options)
        _require_positive("tool_concurrency", tool_concurrency)
        if isinstance(output_retries, bool) or not isinstance(output_retries, int) or (
            output_retries < 0
        ):
            raise ConfigurationError(f"output_retries must be 0 or more, not {output_retries!r}")
        settings = model_settings
        toolset = tools if isinstance(tools, Toolset) else Toolset(tools)
        output = (
            OutputSpec.for_type(output_type, max_retries=output_retries)
            if output_type is not None
            else None
        )
        if output is not None and toolset.get(output.tool_name) is not None:
            raise ConfigurationError(
                f"a tool is named {output.tool_name!r}, the name of the structured-output tool; "
                "rename the tool"
            )
        definitions = toolset.definitions()
        if output is not None:
            definitions.append(output.definition)
        request_params: dict[str, Any] = {}
        if definitions:
            request_params["tools"] = definitions
        if toolset.betas:
            request_params["betas"] = toolset.betas
        prompt_name = prompt_version = None
        if isinstance(system, SystemPrompt):
            request_params["system"] = system.text
            prompt_name, prompt_version = system.name, system.version
        elif system:
            request_params["system"] = system
        if settings.tool_choice is not None:
            request_params["tool_choice"] = dict(settings.tool_choice)
        elif output is not None and not _thinking_enabled(settings.thinking):
            # The run must end in a final_result call; "any" makes the model call some tool
            # every turn (thinking allows only "auto", where a reminder does the job).
            request_params["tool_choice"] = {"type": "any"}
        request_params.update(settings.request_params())
        if isinstance(settings.context.compaction, ServerCompaction):
            request_params = settings.context.compaction.request_params(request_params)
        prices = settings.prices
        if not isinstance(prices, PriceTable):
            prices = PriceTable(prices)
        self._config = LoopConfig(
            model=model,
            tools={tool.name: tool for tool in toolset},
            server_tools=toolset.server_tools,
            request_params=request_params,
            max_tokens=settings.max_tokens,
            limits=limits,
            prices=prices,
            output=output,
            approval_policy=approval_policy,
            pause_for_approval=approver is None,
            cache=settings.cache,
            cache_ttl=settings.cache_ttl,
            prompt_name=prompt_name,
            prompt_version=prompt_version,
            context=settings.context,
            request_chars=TokenEstimator().fixed_chars(request_params),
        )
        self._secret_fields = {
            tool.name: sorted(tool.secret_fields) for tool in toolset if tool.secret_fields
        }
        self._drivers = DriverSettings(
            tuple(before_tool),
            tuple(after_tool),
            approver,
            approval_timeout_s,
            tool_concurrency,
        )
        self._store_path: str | os.PathLike[str] | None = None
        self._store: RunStore | None = None
        if store is not None:
            _refuse_journal_hooks(self._drivers)
            if isinstance(store, RunStore):
                self._store = store
            elif isinstance(store, str | os.PathLike):
                self._store_path = store
                self._store = RunStore(store)
            else:
                raise ConfigurationError(
                    f"store must be a RunStore or the path of one, not {store!r}"
                )
        self._client = client
        self._owns_client = client is None
        self._async_client = async_client
        self._default_async_clients: dict[asyncio.AbstractEventLoop, AsyncClient] = {}
        self._clients_lock = threading.Lock()

    @property
    def model(self) -> str | Router:
        """The model id or router."""
        return self._config.model

    @property
    def tools(self) -> Mapping[str, Tool]:
        """The client tools by name."""
        return self._config.tools

    @property
    def server_tools(self) -> tuple[ServerTool, ...]:
        """The server tools the API runs for this agent."""
        return tuple(self._config.server_tools)

    @property
    def store(self) -> RunStore | None:
        """The store the agent keeps its runs in, if any."""
        if self._store is None and self._store_path is not None:
            self._store = RunStore(self._store_path)
        return self._store

    # --- clients -----------------------------------------------------------------------------

    def _sync_client(self) -> Client:
        if self._client is None:
            self._client = Client()
        return self._client

    def _aclient(self) -> AsyncClient:
        if self._async_client is not None:
            return self._async_client
        loop = asyncio.get_running_loop()
        client = self._default_async_clients.get(loop)
        if client is None:
            with self._clients_lock:
                self._forget_clients_of_closed_loops()
                client = self._default_async_clients.setdefault(loop, AsyncClient())
        return client

    def _forget_clients_of_closed_loops(self) -> None:
        # Their connections belong to a loop that is gone, so closing them would touch that
        # closed loop; dropping them lets the sockets be closed when they are collected.
        for loop in [loop for loop in self._default_async_clients if loop.is_closed()]:
            del self._default_async_clients[loop]

    def close(self) -> None:
        """Close the blocking client and the store the agent opened for itself (those passed
        in stay open); a later run opens them again."""
        if self._owns_client and self._client is not None:
            client, self._client = self._client, None
            client.close()
        if self._store_path is not None and self._store is not None:
            store, self._store = self._store, None
            store.close()

    async def aclose(self) -> None:
        """Close the clients the agent built for itself (clients passed in stay open).

        That is the blocking client, the store opened from a path, and the asyncio client of
        the running event loop; those of event loops that have closed since are let go, their
        connections already lost.
        """
        self.close()
        with self._clients_lock:
            client = self._default_async_clients.pop(asyncio.get_running_loop(), None)
            self._forget_clients_of_closed_loops()
        if client is not None:
            await client.close()

    # --- starting and resuming ---------------------------------------------------------------

    def new_state(self, prompt: Prompt) -> RunState:
        """The state of a run that has not started: the conversation and the prompt version."""
        config = self._config
        model = config.model if isinstance(config.model, str) else ""
        return RunState(
            model=model,
            messages=_conversation(prompt),
            prompt_name=config.prompt_name,
            prompt_version=config.prompt_version,
            secret_fields_by_tool=dict(self._secret_fields),
        )

    def _journalled(self, store: RunStore, run_id: str) -> DriverSettings:
        """The driver settings of one stored run: the journal's claim after the user's
        before-hooks (so none of them can veto a claimed call) and its record before the
        user's after-hooks (so it records what the tool returned)."""
        journal = ExecutionJournal(store, run_id)
        settings = self._drivers
        return dataclasses.replace(
            settings,
            before_tool=(*settings.before_tool, journal.before_tool),
            after_tool=(journal.after_tool, *settings.after_tool),
        )

    def _stored_events(
        self,
        state: RunState,
        decisions: Mapping[str, Decision] | None,
        decided_by: str,
        *,
        resumed: bool,
        streaming: bool = True,
    ) -> Iterator[RunEvent]:
        store = self._required_store()
        loop = AgentLoop(self._config, state)
        settings = self._journalled(store, state.run_id)
        events = drive(loop, settings, self._sync_client, decisions, streaming=streaming)
        return stored_events(store, state, events, decided_by=decided_by, resumed=resumed)

    def _astored_events(
        self,
        state: RunState,
        decisions: Mapping[str, Decision] | None,
        decided_by: str,
        *,
        resumed: bool,
        streaming: bool = True,
    ) -> AsyncIterator[RunEvent]:
        store = self._required_store()
        loop = AgentLoop(self._config, state)
        settings = self._journalled(store, state.run_id)
        events = adrive(loop, settings, self._aclient, decisions, streaming=streaming)
        return astored_events(store, state, events, decided_by=decided_by, resumed=resumed)

    def _required_store(self) -> RunStore:
        store = self.store
        if store is None:
            raise ConfigurationError("this agent has no store: build it with Agent(store=...)")
        return store

    def _resumed(
        self, run: RunState | str, decisions: Mapping[str, Decision] | None
    ) -> tuple[RunState, Mapping[str, Decision] | None, bool]:
        """The state to resume and its decisions: from the store when the agent has one."""
        store = self.store
        if store is not None:
            state, stored = open_run(store, run, decisions)
            return state, stored, True
        if isinstance(run, str):
            raise ConfigurationError(
                f"cannot resume run {run!r} by its id: this agent has no store "
                "(build it with Agent(store=...), or pass the RunState)"
            )
        if not isinstance(run, RunState):
            raise ConfigurationError(f"resume takes a RunState, not {run!r}")
        return run, decisions, False

    def _events(
        self,
        state: RunState,
        decisions: Mapping[str, Decision] | None,
        *,
        resumed: bool,
        streaming: bool,
    ) -> Iterator[RunEvent]:
        if self.store is not None:
            return self._stored_events(
                state, decisions, "approver", resumed=resumed, streaming=streaming
            )
        loop = AgentLoop(self._config, state)
        return drive(loop, self._drivers, self._sync_client, decisions, streaming=streaming)

    def _aevents(
        self,
        state: RunState,
        decisions: Mapping[str, Decision] | None,
        *,
        resumed: bool,
        streaming: bool,
    ) -> AsyncIterator[RunEvent]:
        if self.store is not None:
            return self._astored_events(
                state, decisions, "approver", resumed=resumed, streaming=streaming
            )
        loop = AgentLoop(self._config, state)
        return adrive(loop, self._drivers, self._aclient, decisions, streaming=streaming)

    def run(self, prompt: Prompt) -> RunResult:
        """Run to a final answer (or a pause, or a limit), blocking.

        With a store, the run is kept there from its start to where it ends.
        """
        state = self.new_state(prompt)
        return _last(self._events(state, None, resumed=False, streaming=False))

    def resume(
        self, state: RunState | str, decisions: Mapping[str, Decision] | None = None
    ) -> RunResult:
        """Continue a paused (or limit-stopped, or failed) run, blocking.

        ``decisions`` map call ids to decisions for the calls waiting for approval; calls
        already executed are never run again.

        With a store, ``state`` is a run id, or a :class:`RunState` standing for its run id:
        the run continues from the state kept in the store (checked against its MAC), never
        from the object passed, with the decisions recorded in the store. ``decisions`` are
        recorded there first (audited as decided by ``application``), so nobody decides those
        calls again. Without a store,
        ``state`` must be the :class:`RunState` itself.

        Raises:
            RunStateError: with a store, the run is not in it, or its stored state or a
                stored decision is corrupt or was tampered with.
            ApprovalError: with a store, a decision names a call not waiting for approval
                or one already decided there.
            ConfigurationError: a run id given to an agent without a store.
        """
        run, decided, resumed = self._resumed(state, decisions)
        return _last(self._events(run, decided, resumed=resumed, streaming=False))

    def stream(self, prompt: Prompt) -> Iterator[RunEvent]:
        """Run, yielding events as they happen; the last one is :class:`RunFinished`.

        With a store, the run is stored before :class:`RunFinished` is yielded.
        """
        state = self.new_state(prompt)
        return self._events(state, None, resumed=False, streaming=True)

    def resume_stream(
        self, state: RunState | str, decisions: Mapping[str, Decision] | None = None
    ) -> Iterator[RunEvent]:
        """:meth:`resume`, yielding events as they happen."""
        run, decided, resumed = self._resumed(state, decisions)
        return self._events(run, decided, resumed=resumed, streaming=True)

    async def arun(self, prompt: Prompt) -> RunResult:
        """Async :meth:`run`; a turn's tool calls run concurrently."""
        state = self.new_state(prompt)
        return await _alast(self._aevents(state, None, resumed=False, streaming=False))

    async def aresume(
        self, state: RunState | str, decisions: Mapping[str, Decision] | None = None
    ) -> RunResult:
        """Async :meth:`resume`."""
        run, decided, resumed = self._resumed(state, decisions)
        return await _alast(self._aevents(run, decided, resumed=resumed, streaming=False))

    def astream(self, prompt: Prompt) -> AsyncIterator[RunEvent]:
        """Async :meth:`stream`."""
        state = self.new_state(prompt)
        return self._aevents(state, None, resumed=False, streaming=True)

    def aresume_stream(
        self, state: RunState | str, decisions: Mapping[str, Decision] | None = None
    ) -> AsyncIterator[RunEvent]:
        """Async :meth:`resume_stream`."""
        run, decided, resumed = self._resumed(state, decisions)
        return self._aevents(run, decided, resumed=resumed, streaming=True)


# --- helpers ---------------------------------------------------------------------------------


def _copy(value: Any) -> Any:
    if value is None:
        return None
    return dict(value) if isinstance(value, Mapping) else list(value)


def _thinking_enabled(thinking: Mapping[str, Any] | None) -> bool:
    return thinking is not None and thinking.get("type") not in (None, "disabled")


def _conversation(prompt: Prompt) -> list[dict[str, Any]]:
    if isinstance(prompt, str):
        if not prompt.strip():
            raise ConfigurationError("the prompt is empty")
        return [{"role": "user", "content": prompt}]
    messages = [to_wire(message) for message in prompt]
    if not messages:
        raise ConfigurationError("the conversation is empty: give a prompt or messages")
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            raise ConfigurationError(
                f"message {index} must be a dict with role 'user' or 'assistant', not {message!r}"
            )
    return messages


def _refuse_journal_hooks(settings: DriverSettings) -> None:
    hooks = (*settings.before_tool, *settings.after_tool)
    if any(isinstance(getattr(hook, "__self__", None), ExecutionJournal) for hook in hooks):
        raise ConfigurationError(
            "an agent with a store journals its tool calls itself: remove the ExecutionJournal "
            "hooks from before_tool / after_tool"
        )


def _last(events: Iterator[RunEvent]) -> RunResult:
    for event in events:
        if type(event) is RunFinished:
            return event.result
    raise AssertionError("a run ended without a RunFinished event")


async def _alast(events: AsyncIterator[RunEvent]) -> RunResult:
    async for event in events:
        if type(event) is RunFinished:
            return event.result
    raise AssertionError("a run ended without a RunFinished event")
