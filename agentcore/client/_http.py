"""What the clients send and how they read the answer, shared by the sync and async clients.

Nothing here does I/O: settings are resolved once when a client is built, request bodies are
encoded to bytes in one ``json.dumps`` pass (plain dicts go out as they are; pydantic wire
models are converted as the encoder meets them), and responses are turned into results or
typed errors.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Required, TypedDict

import httpx
from pydantic import BaseModel, ValidationError

from agentcore._version import __version__
from agentcore.client._retry import parse_retry_after, parse_should_retry
from agentcore.errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    ConfigurationError,
    MalformedResponseError,
    MissingAPIKeyError,
    make_status_error,
)
from agentcore.redaction import credentials_sent
from agentcore.types import Message, ModelInfo, parse_message, to_wire
from agentcore.usage import PriceTable

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_TIMEOUT",
    "DEFAULT_VERSION",
    "FILES_BETA",
    "CountTokensParams",
    "MessageCreateParams",
    "Settings",
    "connection_error",
    "encode_body",
    "options_for_body",
    "refers_to_file",
    "split_params",
    "status_error",
]

DEFAULT_BASE_URL = "https://api.anthropic.com"
DEFAULT_VERSION = "2023-06-01"
DEFAULT_CONNECT_TIMEOUT_SECONDS = 5.0
DEFAULT_TIMEOUT = httpx.Timeout(600.0, connect=DEFAULT_CONNECT_TIMEOUT_SECONDS)
"""Five seconds to connect; ten minutes to read, as a long generation may take that long."""

_MAX_CACHED_URLS = 32

MAX_BODY_BYTES = 64 * 1024 * 1024
"""The largest successful response body read (a message is a few MB at most)."""
MAX_ERROR_BODY_BYTES = 64 * 1024
"""How much of an error response's body is read; the error quotes only an excerpt."""
FILES_BETA = "files-api-2025-04-14"
"""The beta name the Files API, and a message that refers to an uploaded file, need."""
_FILE_REFERENCE = b'"file_id"'
_FILE_REFERENCE_TYPES = ("file", "container_upload")
_USER_AGENT = f"agentcore/{__version__} python/{sys.version_info.major}.{sys.version_info.minor}"


class _CommonParams(TypedDict, total=False):
    model: Required[str]
    messages: Required[Sequence[Mapping[str, Any] | BaseModel]]
    system: str | Sequence[Mapping[str, Any] | BaseModel] | None
    tools: Sequence[Mapping[str, Any] | BaseModel] | None
    tool_choice: Mapping[str, Any] | None
    thinking: Mapping[str, Any] | None
    output_config: Mapping[str, Any] | None
    cache_control: Mapping[str, Any] | None
    extra_body: Mapping[str, Any] | None
    """Keys merged into the JSON body as they are (parameters this version does not name)."""
    extra_headers: Mapping[str, str] | None
    betas: Sequence[str] | None
    """Beta names for ``anthropic-beta``, added to the client's."""
    max_retries: int | None
    timeout: float | httpx.Timeout | None


class CountTokensParams(_CommonParams, total=False):
    """Keyword parameters of ``messages.count_tokens``."""


class MessageCreateParams(_CommonParams, total=False):
    """Keyword parameters of ``messages.create`` and ``messages.stream``.

    Messages, tools and system blocks may be pydantic wire models or plain dicts. A parameter
    given as None is left out of the request.
    """

    max_tokens: Required[int]
    temperature: float | None
    top_p: float | None
    top_k: int | None
    stop_sequences: Sequence[str] | None
    metadata: Mapping[str, Any] | None
    service_tier: str | None
    fallback_models: Sequence[str] | None
    """Models to try in order when ``model`` is not found, not permitted or overloaded."""
    log_fields: Mapping[str, Any] | None
    """Fields added to every event the client logs for this call (``model.call``,
    ``model.retry``, ``model.fallback``), such as the caller's run id (not sent)."""
    prices: PriceTable | None
    """The prices the logged ``cost_usd`` is computed with; None uses the default price
    table (not sent)."""


_OPTION_KEYS = frozenset(
    {
        "extra_body",
        "extra_headers",
        "betas",
        "max_retries",
        "timeout",
        "fallback_models",
        "log_fields",
        "prices",
    }
)
_CREATE_KEYS = frozenset(MessageCreateParams.__annotations__) | _OPTION_KEYS
_COUNT_KEYS = frozenset(CountTokensParams.__annotations__) | _OPTION_KEYS - {
    "fallback_models",
    "log_fields",
    "prices",
}
_CREATE_REQUIRED = frozenset({"model", "max_tokens", "messages"})
_COUNT_REQUIRED = frozenset({"model", "messages"})


def split_params(
    params: Mapping[str, Any], *, counting: bool = False
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split call keywords into the JSON body (without ``model``) and the client options.

    Raises:
        TypeError: for a misspelled or missing keyword, naming it, as Python does for a
            plain function call.
    """
    allowed, required = (
        (_COUNT_KEYS, _COUNT_REQUIRED) if counting else (_CREATE_KEYS, _CREATE_REQUIRED)
    )
    if not params.keys() <= allowed:
        if "stream" in params:
            raise TypeError("to stream a reply, call messages.stream(...) instead of stream=True")
        unknown = ", ".join(sorted(params.keys() - allowed))
        raise TypeError(
            f"unexpected keyword argument(s): {unknown} (pass API parameters this version "
            "does not name in extra_body)"
        )
    if not required <= params.keys():
        missing = ", ".join(sorted(required - params.keys()))
        raise TypeError(f"missing required keyword argument(s): {missing}")
    body: dict[str, Any] = {}
    options: dict[str, Any] = {}
    for key, value in params.items():
        if value is None or key == "model":
            continue
        if key in _OPTION_KEYS:
            options[key] = value
        else:
            body[key] = value
    extra_body = options.get("extra_body")
    if extra_body:
        body.update(extra_body)
    return body, options


def _to_json(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return to_wire(value)
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, tuple | frozenset | set):
        return list(value)
    raise TypeError(f"a request value of type {type(value).__name__} cannot be sent as JSON")


def encode_body(body: Mapping[str, Any]) -> bytes:
    """The request body as compact UTF-8 JSON."""
    return json.dumps(body, default=_to_json, ensure_ascii=False, separators=(",", ":")).encode()


def refers_to_file(body: Any) -> bool:
    """Whether a request body refers to an uploaded file: somewhere in it a ``{"type":
    "file", "file_id": …}`` source or a ``{"type": "container_upload", "file_id": …}``
    block. Text that mentions ``file_id``, a tool's ``file_id`` argument or property, is not
    a reference."""
    pending = [body]
    while pending:
        value = pending.pop()
        if isinstance(value, Mapping):
            if value.get("type") in _FILE_REFERENCE_TYPES and isinstance(value.get("file_id"),
                                                                         str):
                return True
            pending.extend(value.values())
        elif isinstance(value, list | tuple | set | frozenset):
            pending.extend(value)
        elif isinstance(value, BaseModel):
            pending.append(to_wire(value))
    return False


def options_for_body(
    settings: Settings, options: dict[str, Any], content: bytes, body: Any
) -> dict[str, Any]:
    """``options``, with the files beta added when ``body`` (encoded as ``content``) refers
    to an uploaded file (:func:`refers_to_file`) and the client does not send the beta
    already. The body is searched only when its encoding holds ``"file_id"`` at all."""
    if _FILE_REFERENCE not in content or settings.sends_beta(FILES_BETA):
        return options
    if not refers_to_file(body):
        return options
    betas = options.get("betas") or ()
    if FILES_BETA in betas:
        return options
    return {**options, "betas": [*betas, FILES_BETA]}


def as_timeout(value: float | httpx.Timeout) -> httpx.Timeout:
    """A timeout given as seconds keeps the short connect timeout unless it is shorter."""
    if isinstance(value, httpx.Timeout):
        return value
    return httpx.Timeout(value, connect=min(value, DEFAULT_CONNECT_TIMEOUT_SECONDS))


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a client resolved at construction: where to send, and the fixed headers."""

    base_url: str
    version: str
    headers: dict[str, str] = field(repr=False)
    """Sent with every request; holds the credential, so never log or repr it."""
    timeout: httpx.Timeout
    """The timeout of the client's own connection pool."""
    timeout_extension: dict[str, float | None] | None
    """The timeout given explicitly, set on each request (it then also governs an httpx
    client passed in)."""
    credentials: tuple[str, ...] = field(default=(), repr=False)
    """The secrets sent with every request (key, token, auth headers, a password in the
    URL), whatever their shape: replaced in every error and event the client emits."""
    # Built once: httpx copies a ready Headers object and a parsed URL far faster than it
    # normalizes a dict and parses a string, and this runs on every call.
    _body_headers: httpx.Headers = field(init=False, repr=False)
    _bare_headers: httpx.Headers = field(init=False, repr=False)
    _urls: dict[str, httpx.URL] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        bare = {key: value for key, value in self.headers.items() if key != "content-type"}
        object.__setattr__(self, "_body_headers", httpx.Headers(self.headers))
        object.__setattr__(self, "_bare_headers", httpx.Headers(bare))

    @classmethod
    def resolve(
        cls,
        *,
        api_key: str | None,
        auth_token: str | None,
        base_url: str | None,
        version: str | None,
        betas: Sequence[str],
        timeout: float | httpx.Timeout | None,
    ) -> Settings:
        """Combine arguments with the ``ANTHROPIC_*`` environment (arguments win).

        Raises:
            MissingAPIKeyError: neither a key nor a token was given or found.
            ConfigurationError: both a key and a token were passed, or the base URL is not
                an http(s) URL.
        """
        if api_key and auth_token:
            raise ConfigurationError(
                "pass either api_key (sent as x-api-key) or auth_token (sent as "
                "Authorization: Bearer), not both"
            )
        api_key, auth_token = _credential(api_key), _credential(auth_token)
        if not api_key and not auth_token:
            api_key = _credential(os.environ.get("ANTHROPIC_API_KEY"))
            if not api_key:
                auth_token = _credential(os.environ.get("ANTHROPIC_AUTH_TOKEN"))
        headers = {
            "anthropic-version": version or os.environ.get("ANTHROPIC_VERSION") or DEFAULT_VERSION,
            "content-type": "application/json",
            "accept": "application/json",
            "user-agent": _USER_AGENT,
        }
        if api_key:
            headers["x-api-key"] = api_key
        elif auth_token:
            headers["authorization"] = f"Bearer {auth_token}"
        else:
            server = "base_url" if base_url else None
            if server is None and os.environ.get("ANTHROPIC_BASE_URL"):
                server = "ANTHROPIC_BASE_URL"
            raise MissingAPIKeyError(server)
        if betas:
            headers["anthropic-beta"] = ",".join(betas)
        url = (base_url or os.environ.get("ANTHROPIC_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        try:
            scheme = httpx.URL(url).scheme
        except httpx.InvalidURL as exc:
            raise ConfigurationError(f"base_url {url!r} is not a valid URL: {exc}") from None
        if scheme not in ("http", "https"):
            raise ConfigurationError(
                f"base_url {url!r} must start with https:// (or http:// for a local server)"
            )
        given_timeout = None if timeout is None else as_timeout(timeout)
        return cls(
            base_url=url,
            version=headers["anthropic-version"],
            headers=headers,
            timeout=DEFAULT_TIMEOUT if given_timeout is None else given_timeout,
            timeout_extension=None if given_timeout is None else given_timeout.as_dict(),
            credentials=credentials_sent(headers, url),
        )

    def sends_beta(self, name: str) -> bool:
        """Whether every request of the client carries the beta ``name``."""
        sent = self.headers.get("anthropic-beta", "")
        return name in (part.strip() for part in sent.split(","))

    def build_request(
        self,
        method: str,
        path: str,
        *,
        content: bytes | None = None,
        options: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> httpx.Request:
        """An ``httpx.Request`` with the client's headers plus any per-call headers/betas."""
        headers = self._bare_headers if content is None else self._body_headers
        extensions: dict[str, Any] = (
            {} if self.timeout_extension is None else {"timeout": self.timeout_extension}
        )
        if options:
            betas = options.get("betas")
            extra_headers = options.get("extra_headers")
            if betas or extra_headers:
                headers = headers.copy()
                if betas:
                    known = headers.get("anthropic-beta")
                    joined = ",".join(betas)
                    headers["anthropic-beta"] = f"{known},{joined}" if known else joined
                if extra_headers:
                    headers.update(extra_headers)
            timeout = options.get("timeout")
            if timeout is not None:
                extensions["timeout"] = as_timeout(timeout).as_dict()
        url = self._urls.get(path)
        if url is None:
            url = httpx.URL(self.base_url + path)
            if len(self._urls) < _MAX_CACHED_URLS:
                self._urls[path] = url
        return httpx.Request(
            method,
            url,
            headers=headers,
            content=content,
            params=params,
            extensions=extensions,
        )


def attempt_timeout(request: httpx.Request, default: httpx.Timeout) -> float | None:
    """Seconds one attempt of ``request`` may take in all: its read timeout, else ``default``'s
    (the http client's). None means no deadline."""
    timeouts = request.extensions.get("timeout")
    seconds = timeouts.get("read") if timeouts else default.read
    return None if seconds is None else float(seconds)


def body_limit(response: httpx.Response) -> int:
    """How many bytes of ``response``'s body to read at most."""
    return MAX_BODY_BYTES if response.is_success else MAX_ERROR_BODY_BYTES


def deadline_passed(request: httpx.Request, seconds: float | None) -> httpx.ReadTimeout:
    """The transport error for an attempt that outlived its deadline."""
    return httpx.ReadTimeout(
        f"the response did not arrive within the {seconds:g} s timeout", request=request
    )


def request_id_of(response: httpx.Response) -> str | None:
    """The ``request-id`` header of a response."""
    request_id: str | None = response.headers.get("request-id")
    return request_id


def status_error(response: httpx.Response) -> APIStatusError:
    """The typed error for an error response (its body must have been read)."""
    headers = response.headers
    return make_status_error(
        response.status_code,
        response.content,
        request_id=headers.get("request-id"),
        should_retry=parse_should_retry(headers),
        retry_after_seconds=parse_retry_after(headers),
    )


def connection_error(
    exc: httpx.RequestError, *, request_id: str | None = None
) -> APIConnectionError:
    """The typed error for a request that got no response, or whose body was cut off
    (then ``request_id`` is the response's)."""
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(
            f"request timed out ({type(exc).__name__}): {exc}", request_id=request_id
        )
    return APIConnectionError(
        f"connection failed ({type(exc).__name__}): {exc}", request_id=request_id
    )


def _malformed(response: httpx.Response, what: str, detail: str) -> MalformedResponseError:
    return MalformedResponseError(
        f"the API answered {response.status_code} with a body that is not {what}: {detail}",
        request_id=request_id_of(response),
        body=response.content,
    )


def read_message(response: httpx.Response) -> Message | APIError:
    """The :class:`Message` in a successful response, or the error explaining why not."""
    if len(response.content) > MAX_BODY_BYTES:
        return _malformed(response, "a message", f"it is larger than {MAX_BODY_BYTES} bytes")
    try:
        return parse_message(response.content, request_id=request_id_of(response))
    except ValidationError as exc:
        return _malformed(response, "a message", _first_problem(exc))
    except RecursionError:
        return _malformed(response, "a message", "it is nested too deeply")


def read_token_count(response: httpx.Response) -> int | APIError:
    """``input_tokens`` of a ``count_tokens`` response, or the error explaining why not."""
    try:
        count = json.loads(response.content)["input_tokens"]
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        return _malformed(response, "a token count", repr(exc))
    if type(count) is not int:
        return _malformed(response, "a token count", f"input_tokens is {count!r}")
    return count


def read_model(response: httpx.Response) -> ModelInfo | APIError:
    """The :class:`ModelInfo` of a ``GET /v1/models/{id}`` response."""
    try:
        return ModelInfo.model_validate_json(response.content)
    except ValidationError as exc:
        return _malformed(response, "a model", _first_problem(exc))
    except RecursionError:
        return _malformed(response, "a model", "it is nested too deeply")


def read_model_page(response: httpx.Response) -> tuple[list[ModelInfo], str | None] | APIError:
    """One page of ``GET /v1/models``: the models and the id to continue after, if any."""
    try:
        page = json.loads(response.content)
        models = [ModelInfo.model_validate(item) for item in page["data"]]
        after = page.get("last_id") if page.get("has_more") else None
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        return _malformed(response, "a page of models", repr(exc))
    if after is not None and not isinstance(after, str):
        return _malformed(response, "a page of models", f"last_id is {after!r}")
    return models, after


def _first_problem(exc: ValidationError) -> str:
    problem = exc.errors()[0]
    where = ".".join(str(part) for part in problem["loc"]) or "body"
    return f"{where}: {problem['msg']} ({exc.error_count()} problem(s))"


def _credential(value: str | None) -> str | None:
    """A key or token as it will be sent: surrounding whitespace (a key pasted or read from a
    file with its newline) dropped, a blank one counted as none.

    Raises:
        ConfigurationError: whitespace, control or non-ASCII characters inside it, which no
            key holds and a header cannot carry (the value is not quoted: it may be a real key).
    """
    if value is None:
        return None
    value = value.strip()
    if not value.isascii() or any(
        character.isspace() or not character.isprintable() for character in value
    ):
        raise ConfigurationError(
            "the API key or auth token holds whitespace, control or non-ASCII characters "
            "inside it; check how it was copied or read (two keys on one line, a typographic "
            "quote, a NUL)"
        )
    return value or None
