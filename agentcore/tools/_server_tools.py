"""Server tools: tools the Messages API runs itself (web search, web fetch, code execution).

Declare them beside ``@tool`` functions: ``Agent(model, system, [lookup_order, WebSearch(
max_uses=3)])``. Each one is a frozen, checked description of the API's tool definition: its
versioned ``type``, its fixed ``name`` and its options. The agent sends the definitions, adds
the ``anthropic-beta`` names a version needs, and never runs these tools locally: the API
runs them and puts ``server_tool_use`` and result blocks into the reply, which the agent keeps
in the conversation exactly as received.

Versions and the beta each needs (from the public API reference, late 2026):

=====================================  ==================================
type                                   ``anthropic-beta``
=====================================  ==================================
``web_search_20250305`` (default)      none
``web_search_20260209``                none (dynamic filtering)
``web_fetch_20250910`` (default)       ``web-fetch-2025-09-10``
``web_fetch_20260209``                 none (dynamic filtering)
``code_execution_20250825`` (default)  ``code-execution-2025-08-25`` (bash and file editing)
``code_execution_20250522``            ``code-execution-2025-05-22`` (Python only)
=====================================  ==================================

A newer version can be named with ``version=``; pass ``beta=`` when it needs a header.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar, Protocol

from agentcore.errors import ConfigurationError
from agentcore.types import ContainerUploadBlock

__all__ = [
    "CodeExecution",
    "ServerTool",
    "UserLocation",
    "WebFetch",
    "WebSearch",
    "container_upload",
]

_DOMAIN = re.compile(r"[A-Za-z0-9*](?:[A-Za-z0-9.*-]*[A-Za-z0-9])?(?:/[^\s]*)?")
_BETA = re.compile(r"[a-z0-9][a-z0-9-]*")
_FILE_ID = re.compile(r"[A-Za-z0-9_-]{1,256}")
_COUNTRY = re.compile(r"[A-Z]{2}")


def _positive(owner: str, name: str, value: int | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"{owner}: {name} must be a positive integer, not {value!r}")


def _domains(owner: str, name: str, value: Sequence[str] | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise ConfigurationError(
            f"{owner}: {name} must be a list of domains such as ['example.com'], not {value!r}"
        )
    domains = tuple(value)
    if not domains:
        raise ConfigurationError(f"{owner}: {name} is empty; leave it out instead")
    for domain in domains:
        if not isinstance(domain, str) or "://" in domain or not _DOMAIN.fullmatch(domain):
            raise ConfigurationError(
                f"{owner}: {name} holds {domain!r}, which is not a domain; give bare domains "
                "such as 'example.com' or 'docs.example.com/api' (no http:// or https://)"
            )
    return domains


def _exclusive_domains(owner: str, allowed: Any, blocked: Any) -> None:
    if allowed is not None and blocked is not None:
        raise ConfigurationError(
            f"{owner}: allowed_domains and blocked_domains cannot be used together; give one"
        )


def _checked_domains(tool: Any, owner: str) -> None:
    """Check ``tool``'s ``allowed_domains`` / ``blocked_domains`` and keep them as tuples."""
    _exclusive_domains(owner, tool.allowed_domains, tool.blocked_domains)
    for name in ("allowed_domains", "blocked_domains"):
        object.__setattr__(tool, name, _domains(owner, name, getattr(tool, name)))


def _domain_options(tool: Any, options: dict[str, Any]) -> None:
    """Add ``tool``'s domain lists, where given, to its wire ``options``."""
    for name in ("allowed_domains", "blocked_domains"):
        domains = getattr(tool, name)
        if domains is not None:
            options[name] = list(domains)


def _cache_control(owner: str, value: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ConfigurationError(
            f"{owner}: cache_control must be a mapping such as {{'type': 'ephemeral'}}, "
            f"not {value!r}"
        )
    return MappingProxyType(dict(value))


@dataclass(frozen=True, kw_only=True)
class ServerTool:
    """A tool the API runs itself; see :class:`WebSearch`, :class:`WebFetch` and
    :class:`CodeExecution`."""

    name: ClassVar[str]
    """The tool's name in the request (fixed by the API)."""
    versions: ClassVar[Mapping[str, str | None]]
    """The versions this class knows, each with the beta it needs (None: none)."""
    block_names: ClassVar[frozenset[str]]
    """Names the API uses in ``server_tool_use`` blocks of this tool."""

    version: str = ""
    """The API's versioned ``type`` (empty: this class's default)."""
    beta: str | None = None
    """The ``anthropic-beta`` name to send; None: the one the version is known to need."""
    cache_control: Mapping[str, Any] | None = None
    """A prompt-cache breakpoint to put on the definition."""

    def __post_init__(self) -> None:
        owner = type(self).__name__
        if type(self) is ServerTool:
            raise ConfigurationError(
                "ServerTool is the base of WebSearch, WebFetch and CodeExecution; use one of those"
            )
        version = self.version or next(iter(self.versions))
        prefix = self.name
        if not isinstance(version, str) or not re.fullmatch(rf"{prefix}_\d{{8}}", version):
            known = ", ".join(self.versions)
            raise ConfigurationError(
                f"{owner}: version must be a type such as {known}, not {self.version!r}"
            )
        object.__setattr__(self, "version", version)
        beta = self.beta if self.beta is not None else self.versions.get(version)
        if beta is not None and (not isinstance(beta, str) or not _BETA.fullmatch(beta)):
            raise ConfigurationError(
                f"{owner}: beta must be a beta name such as 'web-fetch-2025-09-10', not {beta!r}"
            )
        object.__setattr__(self, "beta", beta)
        object.__setattr__(self, "cache_control", _cache_control(owner, self.cache_control))

    def definition(self) -> dict[str, Any]:
        """The tool as the API receives it: ``type``, ``name`` and the options that are set."""
        definition: dict[str, Any] = {"type": self.version, "name": self.name}
        definition.update(self._options())
        if self.cache_control is not None:
            definition["cache_control"] = dict(self.cache_control)
        return definition

    def _options(self) -> dict[str, Any]:
        return {}


@dataclass(frozen=True, slots=True)
class UserLocation:
    """Where the user is, roughly, so web search results can be local.

    Every field is optional; ``country`` is a two-letter ISO 3166-1 code (``"GB"``) and
    ``timezone`` an IANA name (``"Europe/London"``).
    """

    city: str | None = None
    region: str | None = None
    country: str | None = None
    timezone: str | None = None

    def __post_init__(self) -> None:
        for name in ("city", "region", "country", "timezone"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ConfigurationError(f"UserLocation: {name} must be non-empty text")
        if self.country is not None and not _COUNTRY.fullmatch(self.country):
            raise ConfigurationError(
                f"UserLocation: country must be a two-letter ISO code such as 'GB', "
                f"not {self.country!r}"
            )

    def to_wire(self) -> dict[str, Any]:
        """The ``user_location`` object of the web search definition."""
        location: dict[str, Any] = {"type": "approximate"}
        for name in ("city", "region", "country", "timezone"):
            value = getattr(self, name)
            if value is not None:
                location[name] = value
        return location


@dataclass(frozen=True, kw_only=True)
class WebSearch(ServerTool):
    """The API's web search: results (and citations to them) come back inside the reply.

    Priced per search ($10 per 1,000) on top of tokens; the run's cost includes it.

    Args:
        max_uses: Searches allowed per request.
        allowed_domains: Only results from these domains (no scheme: ``"example.com"``).
        blocked_domains: Never results from these domains; not with ``allowed_domains``.
        user_location: Where the user is, to localise results.
    """

    name: ClassVar[str] = "web_search"
    versions: ClassVar[Mapping[str, str | None]] = MappingProxyType(
        {"web_search_20250305": None, "web_search_20260209": None}
    )
    block_names: ClassVar[frozenset[str]] = frozenset({"web_search"})

    max_uses: int | None = None
    allowed_domains: Sequence[str] | None = None
    blocked_domains: Sequence[str] | None = None
    user_location: UserLocation | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        owner = "WebSearch"
        _positive(owner, "max_uses", self.max_uses)
        _checked_domains(self, owner)
        if self.user_location is not None and not isinstance(self.user_location, UserLocation):
            raise ConfigurationError(
                f"WebSearch: user_location must be a UserLocation, not {self.user_location!r}"
            )

    def _options(self) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if self.max_uses is not None:
            options["max_uses"] = self.max_uses
        _domain_options(self, options)
        if self.user_location is not None:
            options["user_location"] = self.user_location.to_wire()
        return options


@dataclass(frozen=True, kw_only=True)
class WebFetch(ServerTool):
    """The API's web fetch: the full text of a page or PDF whose URL is already in the
    conversation (the model cannot make up URLs). No charge beyond the tokens it adds.

    Args:
        max_uses: Fetches allowed per request.
        allowed_domains: Only fetch from these domains (no scheme).
        blocked_domains: Never fetch from these domains; not with ``allowed_domains``.
        citations: Let the model cite the fetched content (off unless True).
        max_content_tokens: Cut a fetched document at this many tokens.
    """

    name: ClassVar[str] = "web_fetch"
    versions: ClassVar[Mapping[str, str | None]] = MappingProxyType(
        {"web_fetch_20250910": "web-fetch-2025-09-10", "web_fetch_20260209": None}
    )
    block_names: ClassVar[frozenset[str]] = frozenset({"web_fetch"})

    max_uses: int | None = None
    allowed_domains: Sequence[str] | None = None
    blocked_domains: Sequence[str] | None = None
    citations: bool | None = None
    max_content_tokens: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        owner = "WebFetch"
        _positive(owner, "max_uses", self.max_uses)
        _positive(owner, "max_content_tokens", self.max_content_tokens)
        _checked_domains(self, owner)
        if self.citations is not None and not isinstance(self.citations, bool):
            raise ConfigurationError(f"WebFetch: citations must be True or False, not "
                                     f"{self.citations!r}")

    def _options(self) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if self.max_uses is not None:
            options["max_uses"] = self.max_uses
        _domain_options(self, options)
        if self.citations is not None:
            options["citations"] = {"enabled": self.citations}
        if self.max_content_tokens is not None:
            options["max_content_tokens"] = self.max_content_tokens
        return options


@dataclass(frozen=True, kw_only=True)
class CodeExecution(ServerTool):
    """The API's sandboxed code execution; files uploaded through the Files API reach it
    with :func:`container_upload` blocks in a user message.

    ``code_execution_20250825`` runs bash commands and edits files (its blocks are named
    ``bash_code_execution`` and ``text_editor_code_execution``); ``code_execution_20250522``
    runs Python (blocks named ``code_execution``). The API bills container time, not
    tokens alone; see the README for what the run's cost includes.
    """

    name: ClassVar[str] = "code_execution"
    versions: ClassVar[Mapping[str, str | None]] = MappingProxyType(
        {
            "code_execution_20250825": "code-execution-2025-08-25",
            "code_execution_20250522": "code-execution-2025-05-22",
        }
    )
    block_names: ClassVar[frozenset[str]] = frozenset(
        {"code_execution", "bash_code_execution", "text_editor_code_execution"}
    )


class _HasFileId(Protocol):
    @property
    def id(self) -> str: ...


def container_upload(file: str | _HasFileId) -> ContainerUploadBlock:
    """A ``container_upload`` block: puts an uploaded file into the code execution container.

    Args:
        file: The file id (``"file_011C…"``) the Files API returned, or an object with that
            id as its ``id`` (an uploaded file's metadata).

    Raises:
        ConfigurationError: the id is empty or holds characters no file id has.
    """
    file_id = file if isinstance(file, str) else getattr(file, "id", None)
    if not isinstance(file_id, str) or not _FILE_ID.fullmatch(file_id):
        raise ConfigurationError(
            f"container_upload needs the id of an uploaded file (letters, digits, '_' and "
            f"'-', such as 'file_011CNha8iCJcU1wXNR6q4V8w'), not {file!r}"
        )
    return ContainerUploadBlock(file_id=file_id)

