"""Redaction: API keys, credentials and secret tool fields never leave the process in clear.

The one place secrets are masked. Everything written outside the process goes through
:meth:`Redactor.redact`, a single walker over JSON-like values: log events (as a structlog
processor and inside :class:`agentcore.log.EventLogger` before a record exists), the
serialized run state, the run store, the audit log, the text and body of errors, and what
the command line prints. A secret is always replaced with :data:`REDACTED`.

The walker replaces:

* the value under a key that names a credential (``api_key``, ``x-api-key``,
  ``authorization``, ``auth_token``, ``password``, ``secret``, ``token``, ``cookie``, and
  names ending in ``_api_key``, ``_password``, ``_secret`` or ``_token``), or under a key a
  tool declared secret, whole, at any depth;
* known secret values wherever they appear inside a string: the values of a call's secret
  arguments, and the credentials a :class:`~agentcore.Client` sends (its API key, bearer
  token and auth headers, whatever their shape);
* in any text, key-shaped tokens (Anthropic ``sk-ant-…`` keys and other well-known key
  formats, JSON web tokens, PEM private keys), bearer tokens, and ``name: value`` /
  ``name=value`` pairs whose name is a credential (as in a header dump or a URL query).

Excerpts (:meth:`Redactor.excerpt`) never end inside a token, so a secret is either whole in
an excerpt, where any later redaction finds it, or not there at all.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from pydantic import BaseModel

__all__ = [
    "MIN_CREDENTIAL_CHARS",
    "REDACTED",
    "Redactor",
    "credentials_sent",
    "excerpt",
    "is_credential_header",
    "mask_fields",
    "redact",
    "redact_content",
    "redact_value",
    "scrub_text",
    "secret_values_in",
]

REDACTED = "[REDACTED]"
"""What a secret is replaced with, everywhere (logs, stored runs, approvals, errors)."""

MIN_CREDENTIAL_CHARS = 8
"""Credentials shorter than this are not looked for in text: they would match ordinary words."""

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
# of tool_use and tool_result, and image data, a thinking signature or the encrypted content
# of a server tool's result and of the citations to it are checked by the API (and, being
# encrypted, hold nothing readable to redact).
_STRUCTURAL_BLOCK_KEYS = frozenset(
    {"type", "id", "tool_use_id", "name", "signature", "source", "cache_control", "is_error",
     "encrypted_content", "encrypted_index"}
)  # fmt: skip

# Case-insensitive patterns with word boundaries cost ~100 µs on a kilobyte of prose, and
# tool results and log fields are scrubbed on every call: each pattern runs only when the
# text holds a literal it cannot match without.
_NAMED_CREDENTIAL = re.compile(
    r"(?i)\b(x-api-key|api[_-]?key|authorization|auth[_-]?token|access[_-]?token"
    r"|refresh[_-]?token|password|passwd|client[_-]?secret|secret[_-]?(?:access[_-]?)?key"
    r"|private[_-]?key)"
    r"(\\?[\"']?\s*[:=]\s*\\?[\"']?)"
    r"(?!\[REDACTED\])((?:bearer\s+)?[^\s\"'\\,;&}\]]+)"
)
_NAMED_CREDENTIAL_HINTS = ("key", "auth", "token", "pass", "secret")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=\-]{8,}")
_KEY_SHAPED = re.compile(
    r"sk-ant-[A-Za-z0-9_\-]{8,}"
    r"|(?<![A-Za-z0-9])sk-(?:proj-|svcacct-|admin-)?(?=[A-Za-z_\-]*[0-9])[A-Za-z0-9_\-]{20,}"
    r"|(?<![A-Za-z0-9])[rsp]k_(?:live|test)_[A-Za-z0-9]{10,}"
    r"|(?<![A-Za-z0-9])gh[pousr]_[A-Za-z0-9]{30,}"
    r"|(?<![A-Za-z0-9])github_pat_[A-Za-z0-9_]{30,}"
    r"|(?<![A-Za-z0-9])glpat-[A-Za-z0-9_\-]{20,}"
    r"|(?<![A-Za-z0-9])xox[abposr]-[A-Za-z0-9\-]{10,}"
    r"|(?<![A-Za-z0-9])A(?:KIA|SIA)[0-9A-Z]{16}(?![A-Za-z0-9])"
    r"|(?<![A-Za-z0-9])AIza[0-9A-Za-z_\-]{35}"
    r"|(?<![A-Za-z0-9])eyJ[A-Za-z0-9_\-]{4,}\.eyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]*"
    r"|-----BEGIN[A-Z ]*PRIVATE KEY-----(?:[\s\S]*?-----END[A-Z ]*PRIVATE KEY-----|[\s\S]*)"
)
_SHORTEST_KEY_SHAPE = 15
"""No key-shaped token is shorter (``sk-ant-`` and 8 characters)."""
# A literal every key shape holds, grouped under a character the group's shapes all hold.
_DASHED_KEY_HINTS = ("sk-", "glpat-", "xox", "-----BEGIN")
_UNDERSCORED_KEY_HINTS = ("k_live_", "k_test_", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_")
_OTHER_KEY_HINTS = ("AKIA", "ASIA", "AIza", "eyJ")

_CREDENTIAL_HEADER_WORDS = (
    "auth", "key", "token", "secret", "password", "cookie", "session", "signature", "credential",
)  # fmt: skip
# Where an excerpt may end: between tokens, never inside one.
_TOKEN_BREAKS = frozenset(" \t\r\n\f\v\"'<>,;{}[]()|")


def scrub_text(text: str) -> str:
    """``text`` with key-shaped tokens, bearer tokens and ``credential: value`` pairs replaced."""
    lowered = text.lower()
    if any(hint in lowered for hint in _NAMED_CREDENTIAL_HINTS):
        text = _NAMED_CREDENTIAL.sub(_keep_name, text)
    if _may_hold_key_shape(text):
        text = _KEY_SHAPED.sub(REDACTED, text)
    if "bearer" in lowered:
        text = _BEARER.sub(_keep_scheme, text)
    return text


def _may_hold_key_shape(text: str) -> bool:
    return (
        ("-" in text and any(hint in text for hint in _DASHED_KEY_HINTS))
        or ("_" in text and any(hint in text for hint in _UNDERSCORED_KEY_HINTS))
        or any(hint in text for hint in _OTHER_KEY_HINTS)
    )


def _quoted_forms(value: str) -> tuple[str, ...]:
    """``value`` and the forms it takes inside a JSON string or a Python ``repr`` (a tool's
    JSON result, a traceback quoting it), when escaping changes it."""
    if value.isascii() and value.isprintable() and "\\" not in value and '"' not in value:
        return (value,)
    return (value, json.dumps(value, ensure_ascii=False)[1:-1], repr(value)[1:-1])


def _keep_name(match: re.Match[str]) -> str:
    return f"{match.group(1)}{match.group(2)}{REDACTED}"


def _keep_scheme(match: re.Match[str]) -> str:
    return f"{match.group(1)} {REDACTED}"


def _normalized(key: str) -> str:
    return key.lower().replace("-", "_")


class Redactor:
    """Replaces credentials, declared secret fields and known secret values with
    :data:`REDACTED`; also a structlog processor.

    It works on copies: the values it is given are never changed (except by
    :meth:`redact_error`, which scrubs an error in place before it is raised).

    Args:
        secret_fields: Names whose values are always replaced, at any depth, on top of
            the built-in credential names: typically the ``secret_fields`` of the tools
            an agent uses (``card_number``, ``ssn``).
        secret_values: Values to replace wherever they appear in text, such as the
            arguments a call passed in secret fields, which an exception message may quote,
            or the credentials a client sends (values shorter than four characters are
            ignored: they would match anywhere).
        credentials: Also apply the built-in rules (credential names, key-shaped tokens,
            ``credential: value`` pairs). Without them only ``secret_fields`` and
            ``secret_values`` are replaced, which is what a person approving a call is
            shown: every other argument as it is, so an edit of that view runs as typed.

    As a processor, put it after processors that turn exceptions into text
    (``format_exc_info``) and before the renderer, so tracebacks are scrubbed too.
    """

    __slots__ = ("_credentials", "_secret_fields", "_secret_values")

    def __init__(
        self,
        secret_fields: Iterable[str] = (),
        *,
        secret_values: Iterable[str] = (),
        credentials: bool = True,
    ) -> None:
        if isinstance(secret_fields, str):
            secret_fields = (secret_fields,)
        self._secret_fields = frozenset(_normalized(name) for name in secret_fields)
        # Longest first, so a value that contains another is replaced whole.
        self._secret_values = tuple(
            sorted(
                {
                    form
                    for value in secret_values
                    if isinstance(value, str) and len(value) >= _MIN_SECRET_VALUE_CHARS
                    for form in _quoted_forms(value)
                },
                key=len,
                reverse=True,
            )
        )
        self._credentials = credentials

    @property
    def secret_fields(self) -> frozenset[str]:
        """The extra field names this redactor replaces (normalized to lower snake case)."""
        return self._secret_fields

    @property
    def secret_values(self) -> tuple[str, ...]:
        """The texts this redactor replaces wherever they appear, longest first."""
        return self._secret_values

    def with_secret_fields(self, names: Iterable[str]) -> Redactor:
        """A redactor that also replaces the fields ``names``."""
        if isinstance(names, str):
            names = (names,)
        extra = frozenset(_normalized(name) for name in names)
        if extra <= self._secret_fields:
            return self
        return Redactor(
            self._secret_fields | extra,
            secret_values=self._secret_values,
            credentials=self._credentials,
        )

    def with_secret_values(self, values: Iterable[str]) -> Redactor:
        """A redactor that also replaces the texts ``values`` wherever they appear."""
        extra = [
            value
            for value in values
            if isinstance(value, str)
            and len(value) >= _MIN_SECRET_VALUE_CHARS
            and value not in self._secret_values
        ]
        if not extra:
            return self
        redactor = Redactor(self._secret_fields, secret_values=extra, credentials=self._credentials)
        redactor._secret_values = tuple(
            sorted({*self._secret_values, *redactor._secret_values}, key=len, reverse=True)
        )
        return redactor

    def is_secret_key(self, key: str) -> bool:
        """Whether a value stored under ``key`` is replaced whole."""
        name = _normalized(key)
        if name in self._secret_fields:
            return True
        return self._credentials and (name in _SECRET_KEYS or name.endswith(_SECRET_SUFFIXES))

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
        """A copy of ``value`` safe to write down.

        Mappings, lists and tuples are copied recursively (a secret key's value replaced
        whole), strings are scrubbed, pydantic models become their JSON dicts and exceptions
        their scrubbed ``"Type: message"`` text; other values are returned as they are.
        """
        return self._walk(value, False)

    def redact_content(self, content: Any) -> Any:
        """A copy of message content (text, or a list of content blocks) safe to store and to
        send: as :meth:`redact`, but the fields that make a block valid (``type``, ids, tool
        name, signature, image source) are kept as they are."""
        return self._walk(content, True)

    def redact_text(self, text: str) -> str:
        """``text`` with the known secret values and (unless disabled) credentials replaced."""
        for secret in self._secret_values:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return scrub_text(text) if self._credentials else text

    def excerpt(self, text: str, max_chars: int) -> str:
        """The start of ``text``, redacted, at most ``max_chars`` long plus an ellipsis.

        The cut never falls inside a token: a secret this redactor does not know (a
        credential another redactor adds later) is then either whole or absent, never left
        half shown.
        """
        text = self.redact_text(text)
        if len(text) <= max_chars:
            return text
        end = max_chars
        if text[end] not in _TOKEN_BREAKS:
            while end > 0 and text[end - 1] not in _TOKEN_BREAKS:
                end -= 1
        return text[:end] + "…"

    def redact_error(self, error: BaseException) -> BaseException:
        """Scrub ``error`` in place and return it: its arguments, its text and data
        attributes (``message``, ``body``…), and the errors it carries or was raised from.

        Use it on an error about to be raised or logged; attributes holding other objects
        (a partial message, a response) are left alone.
        """
        self._redact_error(error, set())
        return error

    def _redact_error(self, error: BaseException, seen: set[int]) -> None:
        if id(error) in seen:
            return
        seen.add(id(error))
        error.args = tuple(self._walk(arg, False) for arg in error.args)
        for name, value in list(vars(error).items()):
            if isinstance(value, BaseException):
                self._redact_error(value, seen)
            elif isinstance(value, str | Mapping | list | tuple):
                setattr(error, name, self._walk(value, False))
        # The traceback of a chained error prints its text: scrub it when that text comes
        # from its arguments (a foreign error that formats itself is not ours to rewrite).
        for linked in (error.__cause__, error.__context__):
            if linked is not None and type(linked).__str__ is BaseException.__str__:
                self._redact_error(linked, seen)

    def _walk(self, value: Any, content: bool) -> Any:
        """The walker: one copy of ``value`` with every secret replaced.

        ``content`` says that ``value`` is message content, whose blocks keep their
        structural fields (see :meth:`redact_content`).
        """
        if isinstance(value, str):
            return self.redact_text(value)
        if isinstance(value, Mapping):
            if content:
                if value.get("type") == "redacted_thinking":
                    # Its ``data`` is the encrypted thinking the API checks: nothing readable.
                    return {key: item if key == "data" else self._block_field(key, item)
                            for key, item in value.items()}
                return {key: self._block_field(key, item) for key, item in value.items()}
            return {
                self._key(key): self._field(key, item)
                if isinstance(key, str)
                else self._walk(item, False)
                for key, item in value.items()
            }
        if isinstance(value, list):
            return [self._walk(item, content) for item in value]
        if isinstance(value, tuple):
            return tuple(self._walk(item, content) for item in value)
        if isinstance(value, BaseModel):
            dumped = value.model_dump(mode="json", exclude_unset=True, by_alias=True)
            return self._walk(dumped, content)
        if isinstance(value, BaseException):
            return self.redact_text(f"{type(value).__name__}: {value}")
        return value

    def _key(self, key: Any) -> Any:
        """A mapping's key with the known secret values and key-shaped tokens in it replaced
        (a server may echo a credential as a field name)."""
        if not isinstance(key, str):
            return key
        for secret in self._secret_values:
            if secret in key:
                key = key.replace(secret, REDACTED)
        if len(key) >= _SHORTEST_KEY_SHAPE and self._credentials and _may_hold_key_shape(key):
            key = _KEY_SHAPED.sub(REDACTED, key)
        return key

    def _field(self, key: str, value: Any) -> Any:
        if value is not None and self.is_secret_key(key):
            return REDACTED
        return self._walk(value, False)

    def _block_field(self, key: Any, value: Any) -> Any:
        if key in _STRUCTURAL_BLOCK_KEYS:
            return value
        if key in ("content", "citations"):  # a result's own text or blocks; a text's citations
            return self._walk(value, True)
        return self._field(key, value) if isinstance(key, str) else self._walk(value, False)


_DEFAULT = Redactor()


def redact(
    logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: remove credentials from an event (see :class:`Redactor`)."""
    return _DEFAULT(logger, method_name, event_dict)


def redact_value(
    value: Any, *, secret_fields: Iterable[str] = (), secret_values: Iterable[str] = ()
) -> Any:
    """A copy of ``value`` with credentials and secrets replaced by :data:`REDACTED`.

    Use it on anything written outside the process: stored runs, audit records, error
    reports. See :meth:`Redactor.redact`; ``secret_fields`` and ``secret_values`` are as in
    :class:`Redactor`.
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
    redactor = _DEFAULT
    if secret_fields:
        redactor = redactor.with_secret_fields(secret_fields)
    if secret_values:
        redactor = redactor.with_secret_values(secret_values)
    return redactor.redact_content(content)


def mask_fields(value: Any, secret_fields: Iterable[str]) -> Any:
    """A copy of ``value`` with the value under each name in ``secret_fields`` replaced, at
    any depth, and nothing else changed (no credential rules, no text scrubbing).

    This is the view of a tool call's arguments a person approves: secret fields masked,
    every other argument exactly as it will run.
    """
    return Redactor(secret_fields, credentials=False).redact(value)


def excerpt(text: str, max_chars: int) -> str:
    """The start of ``text`` with credentials replaced, cut between tokens (see
    :meth:`Redactor.excerpt`)."""
    return _DEFAULT.excerpt(text, max_chars)


def is_credential_header(name: str) -> bool:
    """Whether an HTTP header (or query parameter) named ``name`` carries a credential:
    ``x-api-key``, ``authorization``, and any name mentioning a key, token, secret, password,
    cookie, session or signature (a gateway's ``x-gateway-key``)."""
    lowered = name.lower()
    return any(word in lowered for word in _CREDENTIAL_HEADER_WORDS)


def credentials_sent(
    headers: Mapping[str, str] | Iterable[tuple[str, str]], url: str | None = None
) -> tuple[str, ...]:
    """The credential values in request ``headers`` and in ``url`` (its password and
    credential-named query parameters), to register with a :class:`Redactor`.

    A header value with an auth scheme (``Bearer …``, ``Basic …``) counts whole and without
    its scheme. Values shorter than :data:`MIN_CREDENTIAL_CHARS` are left out.
    """
    items = headers.items() if isinstance(headers, Mapping) else headers
    found: list[str] = []
    for name, value in items:
        if is_credential_header(name):
            _add_credential(found, value)
    if url:
        parts = urlsplit(url)
        if parts.password:
            _add_credential(found, parts.password)
        for name, value in parse_qsl(parts.query):
            if is_credential_header(name):
                _add_credential(found, value)
    return tuple(dict.fromkeys(found))


def _add_credential(found: list[str], value: str) -> None:
    value = value.strip()
    candidates = [value, *value.split()[1:]] if " " in value else [value]
    found.extend(item for item in candidates if len(item) >= MIN_CREDENTIAL_CHARS)


def secret_values_in(
    arguments: Any, secret_fields: Iterable[str], *, credentials: bool = False
) -> list[str]:
    """The values held under the names ``secret_fields`` in ``arguments``, at any depth, as
    text (every string and number inside a secret object or list counts).

    Pass them as ``secret_values`` so that an error message or a tool result quoting a
    secret argument is redacted too. With ``credentials``, the values under credential
    names (``reset_token``, ``password``…) count as well, declared or not.
    """
    names = frozenset(secret_fields)
    found: list[str] = []
    if names or credentials:
        _collect_secret_values(arguments, names, found, inside=False, credentials=credentials)
    return found


def _collect_secret_values(
    value: Any, names: frozenset[str], found: list[str], *, inside: bool, credentials: bool
) -> None:
    kind = type(value)
    if kind is str:
        if inside:
            found.append(value)
        return
    if kind is not dict and isinstance(value, BaseModel):
        value = value.model_dump(mode="json", by_alias=True)
    if kind is dict or isinstance(value, Mapping):
        for key, item in value.items():
            secret = (
                inside
                or key in names
                or (credentials and isinstance(key, str) and _DEFAULT.is_secret_key(key))
            )
            _collect_secret_values(item, names, found, inside=secret, credentials=credentials)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            _collect_secret_values(item, names, found, inside=inside, credentials=credentials)
    elif inside and isinstance(value, str):
        found.append(value)
    elif inside and isinstance(value, int | float) and not isinstance(value, bool):
        found.append(str(value))
        if isinstance(value, float) and value.is_integer():
            # JSON's 48213.0 is the integer 48213 a tool receives for an int argument.
            found.append(str(int(value)))
