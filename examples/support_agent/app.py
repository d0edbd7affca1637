"""The support agent itself: its database, tools, prompt and where its replies come from.

:func:`build_agent` is also the factory ``agentcore runs resume`` imports to continue a run
that paused for approval, in a new process::

    agentcore runs resume RUN_ID --agent examples.support_agent.app:build_agent \\
        --store examples/support_agent/data/company.runs.db

Called that way it finds the company database next to the run store, talks to the same kind
of backend the console used (the offline emulator without ``ANTHROPIC_API_KEY``, the API
with it), and records every tool execution in the store so nothing runs twice.
"""

from __future__ import annotations

import atexit
import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from agentcore_sql import SQLDatabase

from agentcore import (
    Agent,
    Approver,
    AsyncApprover,
    Client,
    FileMetadata,
    Limits,
    ModelSettings,
    RunStore,
    SystemPrompt,
)
from agentcore.emulator import Emulator
from agentcore.errors import ConfigurationError
from agentcore.inputs import document
from agentcore.types import DocumentBlock
from agentcore.usage import PriceTable
from examples.support_agent.data import (
    POLICY_MANUAL_TITLE,
    check_database,
    create_database,
    policy_manual,
)
from examples.support_agent.domain import domain_tools
from examples.support_agent.lookups import open_lookups

__all__ = [
    "DEFAULT_DATABASE",
    "DEFAULT_MODEL",
    "ENV_DATABASE",
    "ENV_MODEL",
    "ENV_OFFLINE",
    "PROMPT_FILE",
    "Backend",
    "SupportAgent",
    "build_agent",
    "connect",
    "create_support_agent",
    "database_for_store",
    "files_dir_for",
    "load_prompt",
    "manual_document",
    "store_for_database",
    "upload_manual",
]

HERE = Path(__file__).resolve().parent
DEFAULT_DATABASE = HERE / "data" / "company.db"
"""Where the company database is created on first run (the directory is not versioned)."""
PROMPT_FILE = HERE / "prompts" / "support_system.md"
DEFAULT_MODEL = "claude-sonnet-4-6"

ENV_DATABASE = "SUPPORT_AGENT_DB"
"""Overrides the company database :func:`build_agent` uses when called with only a store."""
ENV_MODEL = "SUPPORT_AGENT_MODEL"
"""Overrides the model :func:`build_agent` uses when called with only a store."""
ENV_OFFLINE = "SUPPORT_AGENT_OFFLINE"
"""Set to 1 to use the offline emulator even when ``ANTHROPIC_API_KEY`` is set."""

_STORE_SUFFIX = ".runs.db"
_EMULATOR_KEY = "offline-demo"


def store_for_database(database: str | Path) -> Path:
    """The run store kept next to a company database (``company.db`` → ``company.runs.db``)."""
    path = Path(database)
    return path.with_name(path.stem + _STORE_SUFFIX)


def database_for_store(store: str | Path) -> Path:
    """The company database a run store belongs to: the inverse of :func:`store_for_database`."""
    path = Path(store)
    if not path.name.endswith(_STORE_SUFFIX):
        raise ConfigurationError(
            f"run store {str(path)!r} is not named like <database>{_STORE_SUFFIX}; "
            f"set {ENV_DATABASE} to the company database it belongs to"
        )
    return path.with_name(path.name[: -len(_STORE_SUFFIX)] + ".db")


def load_prompt() -> SystemPrompt:
    """The versioned system prompt (name and version come from the file's front matter)."""
    return SystemPrompt.from_file(PROMPT_FILE)


@dataclass
class Backend:
    """Where the agent's replies come from: the real API, or the emulator's demo policy."""

    client: Client
    offline: bool
    description: str
    """One line for the screen saying what answers."""
    emulator: Emulator | None = None
    _closed: bool = field(default=False, repr=False)

    def close(self) -> None:
        """Close the client and stop the emulator, if one was started."""
        if self._closed:
            return
        self._closed = True
        self.client.close()
        if self.emulator is not None:
            self.emulator.stop()


def files_dir_for(database: str | Path) -> Path:
    """Where the offline emulator keeps uploaded files for a company database
    (``company.db`` → ``company.files/``), so a run resumed in another process still finds
    the manual it refers to."""
    path = Path(database)
    return path.with_name(path.stem + ".files")


def connect(
    *,
    offline: bool | None = None,
    model: str = DEFAULT_MODEL,
    environ: Mapping[str, str] | None = None,
    files_dir: Path | None = None,
) -> Backend:
    """Open the backend: the API when a key is configured, else the emulator on 127.0.0.1.

    Args:
        offline: Force the emulator (True) or the API (False); None decides from
            ``ANTHROPIC_API_KEY`` and :data:`ENV_OFFLINE`.
        model: Named in the description of the backend.
        environ: The environment to read (``os.environ`` by default).
        files_dir: Where the emulator keeps uploaded files (in memory when None).

    Raises:
        ConfigurationError: the API was asked for but no key is configured.
    """
    env = os.environ if environ is None else environ
    key = env.get("ANTHROPIC_API_KEY", "").strip()
    if offline is None:
        offline = not key or env.get(ENV_OFFLINE, "") not in ("", "0")
    if not offline:
        if not key:
            raise ConfigurationError("ANTHROPIC_API_KEY is not set; export it or run offline")
        base_url = env.get("ANTHROPIC_BASE_URL", "").strip() or None
        where = f" at {base_url}" if base_url else ""
        return Backend(Client(api_key=key, base_url=base_url), False, f"{model}{where}")
    emulator = Emulator(host="127.0.0.1", port=0, files_dir=files_dir).start()
    client = Client(api_key=_EMULATOR_KEY, base_url=emulator.base_url)
    description = (
        f"OFFLINE: replies come from the agentcore emulator's demo policy at "
        f"{emulator.base_url} (keyword rules, not a model)"
    )
    return Backend(client, True, description, emulator)


def upload_manual(client: Client) -> FileMetadata:
    """The support policy manual in the Files API: uploaded once, then found again.

    Its file name carries a hash of its text, so an unchanged manual is found by name among
    the files already uploaded, and an edited one is uploaded afresh.
    """
    text = policy_manual().encode("utf-8")
    filename = f"support-policy-manual-{hashlib.sha256(text).hexdigest()[:12]}.txt"
    for file in client.files.iterate():
        if file.filename == filename and file.size_bytes == len(text):
            return file
    return client.files.upload(text, filename=filename, mime_type="text/plain")


def manual_document(file_id: str) -> DocumentBlock:
    """The manual as the first block of a conversation: by file id, citable, and cached (the
    breakpoint after it keeps the manual in the prompt cache for every later turn)."""
    return document(file_id=file_id, title=POLICY_MANUAL_TITLE, citations=True,
                    cache_control=True)


@dataclass
class SupportAgent:
    """The agent and the read-only database connection its lookups hold."""

    agent: Agent
    database: Path
    lookups: SQLDatabase

    def close(self) -> None:
        """Close the lookups' connection (the agent's client belongs to the caller)."""
        self.lookups.close()


def create_support_agent(
    database: str | Path,
    client: Client,
    *,
    approver: Approver | AsyncApprover | None = None,
    store: RunStore | None = None,
    model: str = DEFAULT_MODEL,
    fallback_models: Sequence[str] = (),
    max_cost_usd: float | None = 1.0,
) -> SupportAgent:
    """The support agent over the company database, with lookups and sensitive tools.

    Args:
        database: The company database (created with its demo data when missing).
        client: The client to talk through (see :func:`connect`).
        approver: Decides sensitive calls; None pauses the run for a deferred decision.
        store: A run store to keep every run in: a paused run waits there for a decision,
            and every tool execution is journaled in it, so a resumed run never repeats one.
        model: The model to ask.
        fallback_models: Models to try, in order, when the model is overloaded or unavailable.
        max_cost_usd: Dollar budget of one run (one reply to the customer); ignored for a
            model without a known price, whose cost cannot be checked.
    """
    path = create_database(database)
    check_database(path)
    lookups_db, lookups = open_lookups(path)
    priced = PriceTable().lookup(model) is not None
    agent = Agent(
        model,
        load_prompt(),
        [*lookups, *domain_tools(path)],
        client=client,
        approver=approver,
        limits=Limits(max_turns=12, max_cost_usd=max_cost_usd if priced else None),
        model_settings=ModelSettings(max_tokens=1024, fallback_models=fallback_models),
        store=store,
    )
    return SupportAgent(agent, path, lookups_db)


def build_agent(store: RunStore | None = None) -> Agent:
    """The agent for ``agentcore runs resume --agent examples.support_agent.app:build_agent``.

    The company database is ``$SUPPORT_AGENT_DB``, else the one next to ``store`` (else the
    default); the model is ``$SUPPORT_AGENT_MODEL`` or claude-sonnet-4-6; replies come from
    the API when ``ANTHROPIC_API_KEY`` is set (and ``$SUPPORT_AGENT_OFFLINE`` is not), else
    from an emulator started for this process. Everything it opens is closed at exit.
    """
    model = os.environ.get(ENV_MODEL) or DEFAULT_MODEL
    if os.environ.get(ENV_DATABASE):
        database = Path(os.environ[ENV_DATABASE])
    elif store is not None:
        database = database_for_store(store.path)
    else:
        database = DEFAULT_DATABASE
    backend = connect(model=model, files_dir=files_dir_for(database))
    atexit.register(backend.close)
    support = create_support_agent(database, backend.client, store=store, model=model)
    atexit.register(support.close)
    return support.agent
