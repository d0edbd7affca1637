"""Redaction: API keys, credentials and secret tool fields never leave the process in clear.

One set of rules, used everywhere something is written down: log events (as a structlog
processor and inside :class:`agentcore.log.EventLogger` before a record exists), stored
runs, the audit log and the text of errors.

* A value under a key that names a credential (``api_key``, ``x-api-key``,
  ``authorization``, ``auth_token``, ``password``, ``secret``, ``token``, ``cookie``, and
  names ending in ``_api_key``, ``_password``, ``_secret`` or ``_token``), or under a key a
  tool declared secret, is replaced whole, at any depth.
* In any text: Anthropic keys (``sk-ant-…``), bearer tokens, and ``name: value`` /
  ``name=value`` pairs whose name is a credential (as in a header dump or a URL query).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any

from pydantic import BaseModel

__all__ = [
    "REDACTED",
    "Redactor",
    "redact",
    "redact_content",
    "redact_value",
    "scrub_text",
    "secret_values_in",
]

REDACTED = "[REDACTED]"
"""What a secret is replaced with."""

_SECRET_KEYS = frozenset(
    {
        "api_key",
        "apikey",
        "x_api_key",
        "auth_token",
        "authorization",
        "proxy_authorization",
        "password",
        "passwd",
        "secret",
        "client_secret",
        "token",
        "access_token",
        "refresh_token",
        "cookie",
        "set_cookie",
    }
)
_SECRET_SUFFIXES = ("_api_key", "_password", "_secret", "_token")
_MIN_SECRET_VALUE_CHARS = 4
# What makes a content block valid rather than what it says: changing an id breaks the pairing
# of tool_use and tool_result, and image data or a thinking signature is checked by the API.
_STRUCTURAL_BLOCK_KEYS = frozenset(
    {"type", "id", "tool_use_id", "name", "signature", "source", "cache_control", "is_error"}
)

_ANTHROPIC_KEY = re.compile(r"sk-ant-[A-Za-z0-9_\-]{8,}")
_NAMED_CREDENTIAL = re.compile(
    r"(?i)\b(x-api-key|api[_-]?key|authorization|auth[_-]?token|access[_-]?token|password"
    r"|client[_-]?secret)"
    r"(\\?[\"']?\s*[:=]\s*\\?[\"']?)"
    r"(?!\[REDACTED\])((?:bearer\s+)?[^\s\"'\\,;&}\]]+)"
)
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=\-]{8,}")


def scrub_text(text: str) -> str:
    """``text`` with keys, bearer tokens and ``credential: value`` pairs replaced."""
    text = _NAMED_CREDENTIAL.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    text = _ANTHROPIC_KEY.sub(REDACTED, text)
    return _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)


def _normalized(key: str) -> str:
    return key.lower().replace("-", "_")


class Redactor:
    """A structlog processor that removes credentials and declared secret fields.

    It works on a copy: the event dict it receives and the objects in it are not changed.

    Args:
        secret_fields: Names whose values are always replaced, at any depth, on top of
            the built-in credential names: typically the ``secret_fields`` of the tools
            an agent uses (``card_number``, ``ssn``).
        secret_values: Values to replace wherever they appear in text, such as the
            arguments a call passed in secret fields, which an exception message may quote
            (values shorter than four characters are ignored: they would match anywhere).

    Put it after processors that turn exceptions into text (``format_exc_info``) and
    before the renderer, so tracebacks are scrubbed too.
    """

    __slots__ = ("_secret_fields", "_secret_values")

    def __init__(
        self, secret_fields: Iterable[str] = (), *, secret_values: Iterable[str] = ()
    ) -> None:
        self._secret_fields = frozenset(_normalized(name) for name in secret_fields)
        # Longest first, so a value that contains another is replaced whole.
        self._secret_values = tuple(
            sorted(
                {value for value in secret_values if len(value) >= _MIN_SECRET_VALUE_CHARS},
                key=len,
                reverse=True,
            )
        )

    @property
    def secret_fields(self) -> frozenset[str]:
        """The extra field names this redactor replaces (normalized to lower snake case)."""
        return self._secret_fields

    def with_secret_fields(self, names: Iterable[str]) -> Redactor:
        """A redactor that also replaces the fields ``names``."""
        extra = frozenset(_normalized(name) for name in names)
        if extra <= self._secret_fields:
            return self
        return Redactor(self._secret_fields | extra, secret_values=self._secret_values)

    def with_secret_values(self, values: Iterable[str]) -> Redactor:
        """A redactor that also replaces the texts ``values`` wherever they appear."""
        extra = [value for value in values if isinstance(value, str)]
        if not extra:
            return self
        return Redactor(self._secret_fields, secret_values=(*self._secret_values, *extra))

    def is_secret_key(self, key: str) -> bool:
        """Whether a value stored under ``key`` is replaced whole."""
        name = _normalized(key)
        return (
            name in _SECRET_KEYS or name in self._secret_fields or name.endswith(_SECRET_SUFFIXES)
        )

    def __call__(
        self, logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        return {
            key: value if key.startswith("_") else self._field(key, value)
            for key, value in event_dict.items()
        }

    def redact_fields(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of the event fields ``fields`` with every secret replaced."""
        return {key: self._field(key, value) for key, value in fields.items()}

    def redact(self, value: Any) -> Any:
        """A copy of ``value`` safe to write down; see :func:`redact_value`."""
        if isinstance(value, str):
            return self._scrub(value)
        if isinstance(value, Mapping):
            return {
                key: self._field(key, item) if isinstance(key, str) else self.redact(item)
                for key, item in value.items()
            }
        if isinstance(value, list):
            return [self.redact(item) for item in value]
        if isinstance(value, tuple):
            return tuple(self.redact(item) for item in value)
        if isinstance(value, BaseModel):
            return self.redact(value.model_dump(mode="json", exclude_unset=True, by_alias=True))
        if isinstance(value, BaseException):
            return self._scrub(f"{type(value).__name__}: {value}")
        return value

    def redact_content(self, content: Any) -> Any:
        """A copy of message content (text, or a list of content blocks) safe to store and to
        send: as :meth:`redact`, but the fields that make a block valid (``type``, ids, tool
        name, signature, image source) are kept as they are."""
        if isinstance(content, str):
            return self._scrub(content)
        if isinstance(content, list):
            return [self._block(block) for block in content]
        return self.redact(content)

    def _block(self, block: Any) -> Any:
        if not isinstance(block, Mapping):
            return self.redact(block)
        redacted: dict[str, Any] = {}
        for key, value in block.items():
            if key in _STRUCTURAL_BLOCK_KEYS:
                redacted[key] = value
            elif key == "content":  # a tool_result's own text or blocks
                redacted[key] = self.redact_content(value)
            else:
                redacted[key] = self._field(key, value)
        return redacted

    def _scrub(self, text: str) -> str:
        for secret in self._secret_values:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return scrub_text(text)

    def _field(self, key: str, value: Any) -> Any:
        if value is not None and self.is_secret_key(key):
            return REDACTED
        return self.redact(value)


_DEFAULT = Redactor()


def redact(
    logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: remove credentials from an event (see :class:`Redactor`)."""
    return _DEFAULT(logger, method_name, event_dict)


def redact_value(
    value: Any, *, secret_fields: Iterable[str] = (), secret_values: Iterable[str] = ()
) -> Any:
    """A copy of ``value`` with credentials and secrets replaced by ``[REDACTED]``.

    Use it on anything written outside the process: stored runs, audit records, error
    reports. Mappings, lists and tuples are copied recursively, strings are scrubbed,
    pydantic models become their JSON dicts, and exceptions become their scrubbed
    ``"Type: message"`` text; other values are returned as they are. ``secret_fields`` and
    ``secret_values`` are as in :class:`Redactor`.
    """
    redactor = _DEFAULT.with_secret_fields(secret_fields).with_secret_values(secret_values)
    return redactor.redact(value)


def redact_content(
    content: Any, *, secret_fields: Iterable[str] = (), secret_values: Iterable[str] = ()
) -> Any:
    """A copy of message content (text or content blocks) with credentials and secrets
    replaced, the blocks' ids and types kept (see :meth:`Redactor.redact_content`).

    Use it on what a tool returned before the model, the stored run or a log sees it.
    """
    redactor = _DEFAULT.with_secret_fields(secret_fields).with_secret_values(secret_values)
    return redactor.redact_content(content)


def secret_values_in(arguments: Any, secret_fields: Iterable[str]) -> list[str]:
    """The values held under the names ``secret_fields`` in ``arguments``, at any depth, as
    text (every string and number inside a secret object or list counts).

    Pass them as ``secret_values`` so that an error message or a tool result quoting a
    secret argument is redacted too.
    """
    names = frozenset(secret_fields)
    found: list[str] = []
    if names:
        _collect_secret_values(arguments, names, found, inside=False)
    return found


def _collect_secret_values(
    value: Any, names: frozenset[str], found: list[str], *, inside: bool
) -> None:
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json", by_alias=True)
    if isinstance(value, Mapping):
        for key, item in value.items():
            _collect_secret_values(item, names, found, inside=inside or key in names)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            _collect_secret_values(item, names, found, inside=inside)
    elif inside and isinstance(value, str):
        found.append(value)
    elif inside and isinstance(value, int | float) and not isinstance(value, bool):
        found.append(str(value))
