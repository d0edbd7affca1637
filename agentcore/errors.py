"""Every error agentcore raises, in one tree.

::

    AgentcoreError
    ├── ConfigurationError            a usage mistake, raised at definition or construction time
    │   ├── MissingAPIKeyError        no key in the arguments nor in ANTHROPIC_API_KEY
    │   ├── ToolDefinitionError       a function that cannot become a tool
    │   └── UnknownModelError         a model with no known price or context where one is required
    ├── APIError                      the Messages API (or the network to it) failed
    │   ├── SpendBudgetError          the client's spend budget refused a request before sending
    │   ├── APIConnectionError        no response: refused, reset, DNS, TLS
    │   │   └── APITimeoutError       no response in time
    │   ├── MalformedResponseError    a success status with a body that cannot be read
    │   └── APIStatusError            a response with an error status or an error event
    │       ├── InvalidRequestError   400 invalid_request_error
    │       ├── AuthenticationError   401 authentication_error
    │       ├── BillingError          402 billing_error
    │       ├── PermissionDeniedError 403 permission_error
    │       ├── NotFoundError         404 not_found_error
    │       ├── RequestTimeoutError   408
    │       ├── ConflictError         409
    │       ├── RequestTooLargeError  413 request_too_large
    │       ├── RateLimitError        429 rate_limit_error
    │       ├── InternalServerError   500 api_error (and other 5xx)
    │       ├── GatewayTimeoutError   504 timeout_error
    │       └── OverloadedError       529 overloaded_error
    ├── StreamError                   a stream cut or malformed part-way, with the partial message
    │                                 (an API error inside a stream is both its APIError class
    │                                 and a StreamError: see stream_api_error)
    ├── ToolError                     raised inside a tool on purpose
    │   └── ModelRetry                ask the model to try again, with a hint
    ├── ToolArgumentsError            the model's arguments for a tool fail its schema
    ├── RunStateError                 a stored run that is corrupt, tampered or from another version
    ├── BatchNotEndedError            a message batch still running when its results are needed
    ├── AttachmentError               a file, document or image the API would refuse, caught
    │   │                             before sending (missing, unreadable, wrong type)
    │   ├── AttachmentTooLargeError   over one of the API's size limits, named in the message
    │   └── UnsupportedMediaTypeError a type the API does not take there
    └── ApprovalError                 an approval decision that cannot be applied

Whether an error is worth retrying is a property of the error (``is_retryable``), decided
here once and used by the client's retry loop.
"""

from __future__ import annotations

import json
from typing import Any, cast

from agentcore.redaction import excerpt, redact_value

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AgentcoreError",
    "ApprovalError",
    "AttachmentError",
    "AttachmentTooLargeError",
    "AuthenticationError",
    "BatchNotEndedError",
    "BillingError",
    "ConfigurationError",
    "ConflictError",
    "EvalCaseError",
    "GatewayTimeoutError",
    "InternalServerError",
    "InvalidRequestError",
    "MalformedResponseError",
    "MissingAPIKeyError",
    "ModelRetry",
    "NotFoundError",
    "OverloadedError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestTimeoutError",
    "RequestTooLargeError",
    "RunStateError",
    "SpendBudgetError",
    "StreamError",
    "ToolArgumentsError",
    "ToolDefinitionError",
    "ToolError",
    "UnknownModelError",
    "UnsupportedMediaTypeError",
    "make_status_error",
    "stream_api_error",
]

_BODY_EXCERPT_CHARS = 300
_MESSAGE_MAX_CHARS = 2000
_KEPT_BODY_MAX_CHARS = 16_384
# Raw bytes decoded for an excerpt: far more than the excerpt keeps, so the cut in the middle
# of a character or a token here never reaches it.
_BODY_WINDOW_BYTES = 16_384


class AgentcoreError(Exception):
    """Base class of every error raised by agentcore."""


class ConfigurationError(AgentcoreError):
    """The framework was used in a way that cannot work; the message says what to change."""


class MissingAPIKeyError(ConfigurationError):
    """No API key was given and ``ANTHROPIC_API_KEY`` is not set.

    ``server`` says where the client would have sent its requests when that was chosen
    (``"ANTHROPIC_BASE_URL"`` or ``"base_url"``): the key is then the only thing missing, and
    the message says so instead of suggesting a server.
    """

    def __init__(self, server: str | None = None) -> None:
        missing = (
            "no API key: pass Client(api_key=...) or set the ANTHROPIC_API_KEY environment "
            "variable (or ANTHROPIC_AUTH_TOKEN for a bearer token)"
        )
        if server is None:
            super().__init__(
                f"{missing}. To run offline, run `agentcore emulator` and paste the two "
                "`export` lines it prints (ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY)."
            )
        else:
            super().__init__(
                f"{missing}. The server is set ({server}); it needs a key too (the "
                "bundled emulator accepts any non-empty key)."
            )
        self.server = server


class EvalCaseError(ConfigurationError):
    """An evaluation case file cannot be read: the message names the file, the line or case
    and what is wrong."""


class ToolDefinitionError(ConfigurationError):
    """A Python function cannot be turned into a tool definition."""


class UnknownModelError(ConfigurationError):
    """A model id is not in the price table where a price is required."""


class APIError(AgentcoreError):
    """The Messages API, or the connection to it, failed."""

    is_retryable: bool = False

    def __init__(self, message: str, *, request_id: str | None = None) -> None:
        # Error text ends up in logs and tracebacks; a proxy may echo the key back.
        message = excerpt(message, _MESSAGE_MAX_CHARS)
        super().__init__(message)
        self.message = message
        self.request_id = request_id

    def __str__(self) -> str:
        if self.request_id:
            return f"{self.message} (request-id: {self.request_id})"
        return self.message


class SpendBudgetError(APIError):
    """The client's spend budget (``RateLimit(spend_usd_per_minute=...)``) will not let this
    request go: it alone may cost more than the budget holds, or its model has no price.

    Raised before anything is sent, and never retried: waiting would not help.
    """


class APIConnectionError(APIError):
    """No response arrived: the connection was refused, reset or could not be made."""

    is_retryable = True


class APITimeoutError(APIConnectionError):
    """No response arrived within the configured timeout."""


class MalformedResponseError(APIError):
    """The API answered with a success status but a body that is not what it should be.

    A body cut short or garbled on the way (a proxy, a broken connection) is worth another
    try, so this error is retryable; ``body`` holds a short excerpt of what arrived (at most
    300 characters, credentials replaced): pass the whole body, it is cut here.
    """

    is_retryable = True

    def __init__(
        self, message: str, *, request_id: str | None = None, body: str | bytes = ""
    ) -> None:
        super().__init__(message, request_id=request_id)
        self.body = _body_excerpt(body)


class APIStatusError(APIError):
    """The API answered with an error status (or sent an ``error`` event in a stream)."""

    status_code: int = 0
    default_retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        error_type: str | None = None,
        request_id: str | None = None,
        body: Any = None,
        should_retry: bool | None = None,
        retry_after_seconds: float | None = None,
    ) -> None:
        super().__init__(message, request_id=request_id)
        self.status_code = status_code
        self.error_type = error_type
        self.body = _kept_body(body)
        """The error body as parsed JSON with credentials replaced (a text excerpt when the
        body is not JSON or is over 16 KiB)."""
        self.retry_after_seconds = retry_after_seconds
        """The server's hint from ``retry-after-ms`` / ``retry-after``, when it gave one."""
        self.is_retryable = self.default_retryable if should_retry is None else should_retry

    def __str__(self) -> str:
        kind = f" {self.error_type}" if self.error_type else ""
        text = f"{self.status_code}{kind}: {self.message}"
        if self.request_id:
            text += f" (request-id: {self.request_id})"
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status_code={self.status_code}, "
            f"error_type={self.error_type!r}, message={self.message!r}, "
            f"request_id={self.request_id!r})"
        )


class InvalidRequestError(APIStatusError):
    """400: the request is malformed or breaks a rule of the API."""

    status_code = 400


class AuthenticationError(APIStatusError):
    """401: the API key is missing, wrong or revoked."""

    status_code = 401


class BillingError(APIStatusError):
    """402: the account cannot be billed."""

    status_code = 402


class PermissionDeniedError(APIStatusError):
    """403: the key may not use this resource or model."""

    status_code = 403


class NotFoundError(APIStatusError):
    """404: the resource or model does not exist."""

    status_code = 404


class RequestTimeoutError(APIStatusError):
    """408: the server timed out waiting for the request."""

    status_code = 408
    default_retryable = True


class ConflictError(APIStatusError):
    """409: a conflicting request was in progress."""

    status_code = 409
    default_retryable = True


class RequestTooLargeError(APIStatusError):
    """413: the request exceeds the size limit."""

    status_code = 413


class RateLimitError(APIStatusError):
    """429: too many requests or tokens; retry after the server's hint."""

    status_code = 429
    default_retryable = True


class InternalServerError(APIStatusError):
    """500 (or another 5xx): the API failed."""

    status_code = 500
    default_retryable = True


class GatewayTimeoutError(APIStatusError):
    """504: the API timed out producing a response."""

    status_code = 504
    default_retryable = True


class OverloadedError(APIStatusError):
    """529: the API is overloaded; retry later or fall back to another model."""

    status_code = 529
    default_retryable = True


_BY_STATUS: dict[int, type[APIStatusError]] = {
    cls.status_code: cls
    for cls in (
        InvalidRequestError,
        AuthenticationError,
        BillingError,
        PermissionDeniedError,
        NotFoundError,
        RequestTimeoutError,
        ConflictError,
        RequestTooLargeError,
        RateLimitError,
        InternalServerError,
        GatewayTimeoutError,
        OverloadedError,
    )
}

_BY_ERROR_TYPE: dict[str, type[APIStatusError]] = {
    "invalid_request_error": InvalidRequestError,
    "authentication_error": AuthenticationError,
    "billing_error": BillingError,
    "permission_error": PermissionDeniedError,
    "not_found_error": NotFoundError,
    "request_too_large": RequestTooLargeError,
    "rate_limit_error": RateLimitError,
    "api_error": InternalServerError,
    "timeout_error": GatewayTimeoutError,
    "overloaded_error": OverloadedError,
}


def make_status_error(
    status_code: int,
    body: bytes | str | Any,
    *,
    request_id: str | None = None,
    should_retry: bool | None = None,
    retry_after_seconds: float | None = None,
) -> APIStatusError:
    """Build the typed error for an error response or an ``error`` stream event.

    ``body`` may be the raw bytes of the response (JSON or not: an HTML page from a proxy
    still becomes the error for its status, with a short excerpt) or an already-parsed
    error body. The error class is chosen by status, then by ``error.type`` for statuses
    without a class of their own (a 200 stream's ``error`` event, a 5xx other than 500).
    """
    text: str | None = None
    parsed: Any = body
    if isinstance(body, bytes | str):
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        try:
            parsed = json.loads(text)
        except (ValueError, RecursionError):
            parsed = text
    try:
        return _status_error(
            status_code, parsed, request_id, should_retry, retry_after_seconds
        )
    except RecursionError:
        # A body nested deeper than the interpreter can walk: keep it as text, not structure.
        if text is None:
            text = repr(body)[: _BODY_EXCERPT_CHARS * 4]
        return _status_error(status_code, text, request_id, should_retry, retry_after_seconds)


def _status_error(
    status_code: int,
    parsed: Any,
    request_id: str | None,
    should_retry: bool | None,
    retry_after_seconds: float | None,
) -> APIStatusError:
    error_type: str | None = None
    message: str
    if isinstance(parsed, dict):
        error = parsed.get("error")
        if isinstance(error, dict):
            raw_type = error.get("type")
            error_type = raw_type if isinstance(raw_type, str) else None
            raw_message = error.get("message")
            message = raw_message if isinstance(raw_message, str) else json.dumps(error)
        else:
            message = excerpt(json.dumps(parsed), _BODY_EXCERPT_CHARS)
        if request_id is None and isinstance(parsed.get("request_id"), str):
            request_id = parsed["request_id"]
    else:
        collapsed = " ".join(str(parsed)[:_BODY_WINDOW_BYTES].split())
        quoted = excerpt(collapsed, _BODY_EXCERPT_CHARS)
        message = f"non-JSON error body: {quoted!r}" if quoted else "empty error body"
    cls = _BY_STATUS.get(status_code)
    if cls is None:
        cls = _BY_ERROR_TYPE.get(error_type or "")
    if cls is None:
        cls = InternalServerError if status_code >= 500 else APIStatusError
    return cls(
        message,
        status_code=status_code,
        error_type=error_type,
        request_id=request_id,
        body=parsed,
        should_retry=should_retry,
        retry_after_seconds=retry_after_seconds,
    )


def _body_excerpt(body: str | bytes) -> str:
    if isinstance(body, bytes):
        body = body[:_BODY_WINDOW_BYTES].decode("utf-8", "replace")
    return excerpt(body, _BODY_EXCERPT_CHARS)


def _kept_body(body: Any) -> Any:
    if isinstance(body, str | bytes):
        return _body_excerpt(body)
    kept = redact_value(body)
    if isinstance(kept, dict | list):
        text = json.dumps(kept, default=str, ensure_ascii=False)
        if len(text) > _KEPT_BODY_MAX_CHARS:
            return excerpt(text, _BODY_EXCERPT_CHARS)
    return kept


class StreamError(AgentcoreError):
    """A stream failed part-way: cut before ``message_stop``, malformed, or an ``error`` event.

    ``partial`` holds what was accumulated before the failure (text so far, complete
    blocks so far) so nothing already received is lost. ``cause`` is the underlying API
    error when the stream carried one (an ``error`` event such as ``overloaded_error``).

    An API error met inside a stream (an ``error`` event, a malformed message) is raised as
    an instance of both its own class and this one (see :func:`stream_api_error`), so
    ``except OverloadedError`` and ``except StreamError`` both catch it.
    """

    def __init__(
        self,
        message: str,
        *,
        partial: Any = None,
        cause: APIError | None = None,
        request_id: str | None = None,
        output_started: bool | None = None,
    ) -> None:
        message = excerpt(message, _MESSAGE_MAX_CHARS)
        super().__init__(message)
        self.message = message
        self.partial = partial
        self.cause = cause
        self.request_id = request_id
        self.output_started = (
            bool(getattr(partial, "content", None)) if output_started is None else output_started
        )
        """Whether any content (even an unfinished block left out of ``partial``) arrived."""

    @property
    def is_retryable(self) -> bool:
        """Only a stream that failed before any output began may be sent again."""
        return not self.output_started and (self.cause is None or self.cause.is_retryable)


def stream_api_error(cause: APIError, *, partial: Any, output_started: bool) -> StreamError:
    """The error to raise for ``cause`` met part-way through a stream.

    The result is an instance of ``cause``'s own class *and* of :class:`StreamError`: an
    ``overloaded_error`` event is caught by ``except OverloadedError`` and by
    ``except StreamError`` alike. It carries ``cause``'s fields (``status_code``,
    ``error_type``, ``request_id``…) plus ``partial`` (the message so far), ``cause`` and
    ``output_started``; it is retryable only when ``cause`` is and no output had begun.
    """
    variant = _stream_variant(type(cause))
    error = cast(StreamError, variant.__new__(variant, *cause.args))
    fields = vars(error)
    fields.update(vars(cause))
    fields["partial"] = partial
    fields["cause"] = cause
    fields["output_started"] = output_started
    fields["is_retryable"] = cause.is_retryable and not output_started
    return error


_STREAM_VARIANTS: dict[type[APIError], type[APIError]] = {}


def _stream_variant(cls: type[APIError]) -> type[APIError]:
    """``cls`` joined with :class:`StreamError` (one class per API error class)."""
    variant = _STREAM_VARIANTS.get(cls)
    if variant is None:
        namespace = {
            "__module__": cls.__module__,
            "__qualname__": cls.__qualname__,
            "__doc__": cls.__doc__,
        }
        variant = _STREAM_VARIANTS[cls] = type(cls.__name__, (cls, StreamError), namespace)
    return variant


class ToolError(AgentcoreError):
    """Raise inside a tool to return an error result to the model with this message."""


class ModelRetry(ToolError):
    """Raise inside a tool to ask the model to call it again; the message is the hint."""


class ToolArgumentsError(AgentcoreError):
    """The arguments a model gave for a tool do not fit the tool's schema.

    Not meant for the user: the agent loop sends :attr:`model_message` back to the model in
    an ``is_error`` tool_result so it can correct the call.
    """

    def __init__(self, tool_name: str, problems: list[tuple[str, str]]) -> None:
        self.tool_name = tool_name
        self.problems = list(problems)
        """One ``(path, message)`` per problem; ``path`` is like ``items[0].sku`` or empty."""
        super().__init__(self.model_message)

    @property
    def model_message(self) -> str:
        """The whole explanation, phrased for the model to fix its call."""
        lines = [f"Invalid arguments for tool {self.tool_name!r}:"]
        for path, message in self.problems:
            lines.append(f"- {path}: {message}" if path else f"- {message}")
        lines.append("Call the tool again with corrected arguments.")
        return "\n".join(lines)


class RunStateError(AgentcoreError):
    """A stored or serialized run is corrupt, was tampered with, or has an unknown version."""


class BatchNotEndedError(AgentcoreError):
    """A message batch has not ended: its results cannot be read yet, or a wait gave up.

    The batch keeps running on the server; ``batch`` is its last known state.
    """

    def __init__(self, message: str, *, batch: Any = None) -> None:
        super().__init__(message)
        self.batch = batch


class ApprovalError(AgentcoreError):
    """An approval decision refers to an unknown call or cannot be applied."""


class AttachmentError(AgentcoreError):
    """A file, document or image cannot be sent as given: the path does not exist or is not
    a readable file, the content is not what it claims to be, or a server sent back a file
    that cannot be read. Raised before anything is sent."""


class AttachmentTooLargeError(AttachmentError):
    """An attachment (or the whole request) is over one of the API's documented limits.

    ``limit`` names the limit (``"image"``, ``"image dimensions"``, ``"request"``,
    ``"file upload"``); ``size`` and ``maximum`` give the numbers in ``unit`` (``"bytes"``,
    or ``"pixels"`` for an image's longer side), so a caller can shrink or split.
    """

    def __init__(
        self, message: str, *, limit: str, size: int, maximum: int, unit: str = "bytes"
    ) -> None:
        super().__init__(message)
        self.limit = limit
        self.size = size
        self.maximum = maximum
        self.unit = unit


class UnsupportedMediaTypeError(AttachmentError):
    """An attachment's type is not one the API takes in that place (``media_type``), or its
    content does not match the type it was given."""

    def __init__(self, message: str, *, media_type: str | None) -> None:
        super().__init__(message)
        self.media_type = media_type
