"""The emulator's API surface: authentication, routing, validation and answers.

Transport-free: :meth:`EmulatorApp.handle` takes a parsed request and returns an
:class:`Outcome` (a JSON response, an SSE stream, or a connection reset) for the server
in :mod:`agentcore.emulator` to write.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
import traceback
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx

from agentcore.emulator._batches import BatchStore
from agentcore.emulator._cache import (
    PromptBlock,
    PromptCache,
    count_input_tokens,
    prompt_blocks,
    prompt_tokens,
)
from agentcore.emulator._faults import Fault, FaultPlan
from agentcore.emulator._files import FileStore, SourceDocument
from agentcore.emulator._http import HTTPRequest
from agentcore.emulator._limits import AccountLimits, Admission, RateLimits, RateLimitSpecError
from agentcore.emulator._policy import (
    add_thinking,
    apply_stop_sequences,
    cite_documents,
    demo_reply,
    limit_output,
)
from agentcore.emulator._server_tools import add_server_tool_usage, check_server_tool_betas
from agentcore.emulator._validation import RequestRejected, validate_message_request
from agentcore.log import get_logger
from agentcore.testing._models import ModelEntry, model_page
from agentcore.testing._replies import (
    ErrorReply,
    Reply,
    error_body,
    estimate_tokens,
    new_id,
    sse_events,
)

__all__ = ["EmulatorApp", "Outcome", "ReplyFunction"]

ReplyFunction = Callable[[dict[str, Any]], "Reply | Awaitable[Reply]"]
"""Answers one valid MessageCreate body; may be a coroutine function."""

_JSON = "application/json"
_log = get_logger("agentcore.emulator")


@dataclass(slots=True)
class Outcome:
    """What to send back for one request."""

    status: int
    headers: dict[str, str]
    body: bytes = b""
    events: list[str] | None = None
    """SSE events to stream instead of ``body``."""
    fault: Fault | None = None
    """A stream or body fault the server applies while writing."""
    reset: bool = False
    """Drop the connection with a reset instead of answering."""
    injected: str | None = None
    """The injected fault behind this answer, as the command line spells it (``429``,
    ``slow:2``), for the request log."""


class _ConnectionDrop(Exception):
    """A scripted exception reply: the server resets the connection."""


@dataclass(slots=True)
class _Script:
    replies: list[Reply]
    used: int = 0

    def next(self, body: dict[str, Any]) -> Reply:
        if self.used >= len(self.replies):
            raise RequestRejected(
                500, "api_error",
                f"emulator script exhausted: {len(self.replies)} replies were scripted and "
                f"request #{self.used + 1} asked for another",
                headers={"x-should-retry": "false"},
            )
        self.used += 1
        return self.replies[self.used - 1]


@dataclass(slots=True)
class EmulatorApp:
    """Serves the Messages API from a reply source (a script, a function, or the demo policy).

    Args:
        replies: A list of replies used in order, a function of the request body, or None
            for the demo policy.
        api_keys: Keys accepted in ``x-api-key`` or ``Authorization: Bearer``; None accepts
            any non-empty key.
        models: The catalog; requests for other models get 404.
        limits: Per-model account limits enforced on ``POST /v1/messages`` (see
            :mod:`agentcore.emulator._limits`); models not named are never limited.

    Raises:
        RateLimitSpecError: ``limits`` names a model that is not in ``models``.
    """

    replies: Sequence[Reply] | ReplyFunction | None = None
    api_keys: frozenset[str] | None = None
    models: tuple[ModelEntry, ...] = ()
    faults: FaultPlan = field(default_factory=FaultPlan)
    batch_delay_seconds: float = 0.05
    batch_expiry: timedelta = timedelta(hours=24)
    clock: Callable[[], float] = time.monotonic
    limits: Mapping[str, RateLimits] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    """Valid ``POST /v1/messages`` bodies received, in order."""
    files: FileStore = field(default_factory=FileStore)
    """The Files API's store (in memory unless built with a directory)."""
    account: AccountLimits = field(init=False)
    """The rate-limit buckets and their counters."""
    _script: _Script | None = field(init=False, default=None)
    _models_by_id: dict[str, ModelEntry] = field(init=False, default_factory=dict)
    _cache: PromptCache | None = field(init=False, default=None)
    _batches: BatchStore | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        if self.replies is not None and not callable(self.replies):
            self._script = _Script(list(self.replies))
        self._models_by_id = {model.id: model for model in self.models}
        unknown = sorted(set(self.limits) - set(self._models_by_id))
        if unknown:
            raise RateLimitSpecError(
                f"limits for {', '.join(repr(model) for model in unknown)}: "
                f"{'it is' if len(unknown) == 1 else 'they are'} not a model the emulator "
                f"serves (its models: {', '.join(sorted(self._models_by_id))})")
        self._cache = PromptCache(clock=self.clock)
        self.account = AccountLimits(dict(self.limits), self.clock)
        self._batches = BatchStore(self._batch_answer, delay_seconds=self.batch_delay_seconds,
                                   expiry=self.batch_expiry)

    async def close(self) -> None:
        """Stop background work (batch processing)."""
        if self._batches is not None:
            await self._batches.close()

    # -- request handling -------------------------------------------------------------

    async def handle(self, request: HTTPRequest) -> Outcome:
        """Answer one request. An exception from the reply source (or the emulator itself)
        is answered 500 ``api_error`` naming it, with ``x-should-retry: false``, and logged
        as ``emulator.failed`` with its traceback."""
        try:
            key = self._authenticate(request)
            return await self._route(request, key)
        except RequestRejected as rejected:
            return self._error(rejected)
        except Exception as error:
            _log.error("emulator.failed", method=request.method, path=request.path,
                       error=f"{type(error).__name__}: {error}",
                       traceback=traceback.format_exc())
            return self._error(RequestRejected(
                500, "api_error",
                f"The emulator could not answer: {type(error).__name__}: {error}",
                {"x-should-retry": "false"}))

    def _authenticate(self, request: HTTPRequest) -> str:
        key = request.headers.get("x-api-key", "")
        authorization = request.headers.get("authorization", "")
        if not key and authorization.lower().startswith("bearer "):
            key = authorization[7:].strip()
        if not key:
            raise RequestRejected(401, "authentication_error", "x-api-key header is required")
        if self.api_keys is not None and key not in self.api_keys:
            raise RequestRejected(401, "authentication_error", "invalid x-api-key")
        if not request.headers.get("anthropic-version"):
            raise RequestRejected(400, "invalid_request_error",
                                  "anthropic-version: header is required")
        return key

    async def _route(self, request: HTTPRequest, key: str) -> Outcome:
        method, path = request.method, request.path.rstrip("/")
        base_url = f"http://{request.headers.get('host', '127.0.0.1')}"
        batches = self._batches
        assert batches is not None
        if path == "/v1/messages" and method == "POST":
            return await self._messages(request, key)
        if path == "/v1/messages/count_tokens" and method == "POST":
            return await self._count_tokens(request)
        if path == "/v1/models" and method == "GET":
            limit = _limit(request.query)
            page = model_page(self.models, limit=limit, after_id=request.query.get("after_id"),
                              before_id=request.query.get("before_id"))
            return self._json(page)
        if path.startswith("/v1/models/") and method == "GET":
            model_id = path.removeprefix("/v1/models/")
            entry = self._models_by_id.get(model_id)
            if entry is None:
                raise RequestRejected(404, "not_found_error", f"model: {model_id}")
            return self._json(entry.to_wire())
        if path == "/v1/files" or path.startswith("/v1/files/"):
            return self._files(request, method, path)
        if path == "/v1/messages/batches" and method == "POST":
            await self._apply_fault(request.path, is_stream=False)
            return self._json(batches.create(_parse_json(request.body), base_url))
        if path == "/v1/messages/batches" and method == "GET":
            return self._json(batches.list_page(request.query, base_url))
        if path.startswith("/v1/messages/batches/"):
            parts = path.removeprefix("/v1/messages/batches/").split("/")
            batch_id, action = parts[0], "/".join(parts[1:])
            if action == "" and method == "GET":
                return self._json(batches.retrieve(batch_id, base_url))
            if action == "" and method == "DELETE":
                return self._json(batches.delete(batch_id))
            if action == "cancel" and method == "POST":
                return self._json(batches.cancel(batch_id, base_url))
            if action == "results" and method == "GET":
                return Outcome(200, {**self._headers(), "content-type": "application/x-jsonl"},
                               batches.results(batch_id))
        raise RequestRejected(404, "not_found_error", f"Not found: {method} {request.path}")

    def _files(self, request: HTTPRequest, method: str, path: str) -> Outcome:
        files = self.files
        if path == "/v1/files":
            if method == "POST":
                return self._json(files.upload(request))
            if method == "GET":
                return self._json(files.list_page(request.query))
        else:
            file_id, _, action = path.removeprefix("/v1/files/").partition("/")
            if action == "" and method == "GET":
                return self._json(files.retrieve(file_id))
            if action == "" and method == "DELETE":
                return self._json(files.delete(file_id))
            if action == "content" and method == "GET":
                content = files.content(file_id)
                mime_type = str(files.retrieve(file_id)["mime_type"])
                return Outcome(200, {**self._headers(), "content-type": mime_type}, content)
        raise RequestRejected(404, "not_found_error", f"Not found: {method} {request.path}")

    async def _apply_fault(self, path: str, *, is_stream: bool) -> Fault | None:
        fault = self.faults.take(path, is_stream=is_stream)
        if fault is None:
            return None
        if fault.kind == "slow":
            await asyncio.sleep(fault.delay_seconds)
            return fault
        if fault.kind == "status":
            raise RequestRejected(fault.status, fault.error_type, fault.message,
                                  dict(fault.headers), injected=fault.label)
        return fault

    async def _messages(self, request: HTTPRequest, key: str) -> Outcome:
        body = _parse_json(request.body)
        is_stream = isinstance(body, dict) and body.get("stream") is True
        fault = await self._apply_fault("/v1/messages", is_stream=is_stream)
        injected = None if fault is None else fault.label
        if fault is not None and fault.kind == "slow":
            fault = None  # already applied: the answer was held back
        if fault is not None and fault.kind == "reset":
            return Outcome(0, {}, reset=True, injected=injected)
        model = validate_message_request(body, known_models=set(self._models_by_id))
        check_server_tool_betas(body, request.headers)
        documents = self.files.resolve_sources(body)
        sources = self.files.inline_sources(body)
        blocks = prompt_blocks(sources, self._models_by_id[model].tokenizer)
        admission = self._admit(body, sources, blocks, key, model)
        self.requests.append(body)
        try:
            message = await self._answer(body, key, model, documents, (sources, blocks))
        except _ConnectionDrop:
            self._settle(admission, None)
            return Outcome(0, {}, reset=True)
        except BaseException:
            self._settle(admission, None)
            raise
        self._settle(admission, message.get("usage"))
        headers = self._headers(model)
        if is_stream:
            headers["content-type"] = "text/event-stream"
            headers["cache-control"] = "no-cache"
            return Outcome(200, headers, events=sse_events(message), fault=fault,
                           injected=injected)
        headers["content-type"] = _JSON
        return Outcome(200, headers, json.dumps(message).encode(), fault=fault,
                       injected=injected)

    def _admit(self, body: dict[str, Any], sources: Mapping[str, Any],
               blocks: list[PromptBlock], key: str, model: str) -> Admission | None:
        """Charge a request to its model's rate limits, if it has any (429 when over).
        ``sources`` is ``body`` with its files inline, ``blocks`` their prompt blocks."""
        if not self.account.limits_model(model):
            return None
        assert self._cache is not None
        entry = self._models_by_id[model]
        estimate = self._cache.account(sources, key=key, model=model,
                                       min_tokens=entry.min_cacheable_tokens,
                                       tokenizer=entry.tokenizer, commit=False, blocks=blocks)
        charged = estimate.input_tokens + estimate.cache_creation_input_tokens
        try:
            return self.account.admit(model, input_tokens=charged,
                                      max_tokens=int(body["max_tokens"]))
        except RequestRejected as rejected:
            rejected.headers = {**self.account.headers(model), **rejected.headers}
            raise

    def _settle(self, admission: Admission | None, usage: Any) -> None:
        """Correct an admitted request's charges to the usage it reported (none: no output)."""
        if admission is None:
            return
        input_tokens, output_tokens = admission.input_tokens, 0
        if isinstance(usage, dict):
            input_tokens = _count(usage.get("input_tokens")) + _count(
                usage.get("cache_creation_input_tokens"))
            output_tokens = _count(usage.get("output_tokens"))
        self.account.settle(admission, input_tokens=input_tokens, output_tokens=output_tokens)

    async def _count_tokens(self, request: HTTPRequest) -> Outcome:
        body = _parse_json(request.body)
        await self._apply_fault("/v1/messages/count_tokens", is_stream=False)
        if isinstance(body, dict) and ("stream" in body):
            raise RequestRejected(400, "invalid_request_error", "stream: Extra inputs are not "
                                  "permitted")
        model = validate_message_request(body, known_models=set(self._models_by_id),
                                         for_count=True)
        self.files.resolve_sources(body)
        tokenizer = self._models_by_id[model].tokenizer
        return self._json({"input_tokens": count_input_tokens(self.files.inline_sources(body),
                                                              tokenizer)})

    async def _produce(self, body: dict[str, Any], documents: list[SourceDocument]) -> Reply:
        if self._script is not None:
            return self._script.next(body)
        if self.replies is None:
            answer = add_thinking(cite_documents(demo_reply(body), body, documents), body)
            answer = apply_stop_sequences(answer, body.get("stop_sequences"))
            return limit_output(answer, body["max_tokens"])
        function: Any = self.replies
        produced = function(body)
        if inspect.isawaitable(produced):
            produced = await produced
        return produced  # type: ignore[no-any-return]

    async def _answer(
        self, body: dict[str, Any], key: str, model: str, documents: list[SourceDocument],
        prompt: tuple[Mapping[str, Any], list[PromptBlock]] | None = None,
    ) -> dict[str, Any]:
        """The message answering ``body``; ``prompt`` is its files-inline form and prompt
        blocks when the caller has them already."""
        entry = self._models_by_id[model]
        window = entry.window
        if prompt is None:
            sources = self.files.inline_sources(body)
            prompt = sources, prompt_blocks(sources, entry.tokenizer)
        sources, blocks = prompt
        prompt_size = prompt_tokens(blocks)
        if prompt_size > window:
            raise RequestRejected(400, "invalid_request_error",
                                  f"prompt is too long: {prompt_size} tokens > {window} maximum")
        compaction = _server_compaction(body, prompt_size)
        if compaction is not None and compaction[1]:
            return {"id": new_id("msg"), "type": "message", "role": "assistant", "model": model,
                    "content": [compaction[0]], "stop_reason": "compaction",
                    "stop_sequence": None,
                    "usage": {"input_tokens": prompt_size, "output_tokens": 1}}
        produced = await self._produce(body, documents)
        if isinstance(produced, ErrorReply):
            raise RequestRejected(produced.status, produced.error_type, produced.message,
                                  produced.headers)
        if isinstance(produced, httpx.Response):
            if produced.status_code >= 400:
                raise _response_rejection(produced)
            produced = produced.json()
        if isinstance(produced, BaseException):
            raise _ConnectionDrop() from produced
        message = dict(produced)
        if compaction is not None:
            message["content"] = [compaction[0], *(message.get("content") or [])]
        message.setdefault("id", new_id("msg"))
        message.setdefault("model", model)
        if "usage" not in message:
            assert self._cache is not None
            usage = self._cache.account(sources, key=key, model=model,
                                        min_tokens=entry.min_cacheable_tokens,
                                        tokenizer=entry.tokenizer, blocks=blocks).to_wire()
            output_tokens = max(1, estimate_tokens(message.get("content") or []))
            if prompt_size + output_tokens > window:
                # The answer ran into the end of the window: cut there, as the API does.
                output_tokens = max(1, window - prompt_size)
                message["stop_reason"] = "model_context_window_exceeded"
            usage["output_tokens"] = output_tokens
            add_server_tool_usage(usage, message.get("content"))
            usage["service_tier"] = "standard"
            message["usage"] = usage
        return message

    async def _batch_answer(self, params: dict[str, Any]) -> dict[str, Any]:
        model = validate_message_request(params, known_models=set(self._models_by_id))
        documents = self.files.resolve_sources(params)
        try:
            message = await self._answer(params, "batch", model, documents)
        except _ConnectionDrop:
            raise RequestRejected(500, "api_error", "Internal server error") from None
        usage = message.get("usage")
        if isinstance(usage, dict):
            usage["service_tier"] = "batch"
        return message

    # -- responses --------------------------------------------------------------------

    def _headers(self, model: str | None = None) -> dict[str, str]:
        headers = {"request-id": new_id("req"), "x-emulator": "agentcore"}
        headers.update(self.account.headers(model))
        return headers

    def _json(self, data: Any, status: int = 200) -> Outcome:
        headers = self._headers()
        headers["content-type"] = _JSON
        return Outcome(status, headers, json.dumps(data).encode())

    def _error(self, rejected: RequestRejected) -> Outcome:
        headers = self._headers()
        headers["content-type"] = _JSON
        headers.update(rejected.headers)
        body = error_body(rejected.error_type, rejected.message, headers["request-id"])
        return Outcome(rejected.status, headers, json.dumps(body).encode(),
                       injected=rejected.injected)


_COMPACTION_EDIT = "compact_20260112"
_DEFAULT_COMPACTION_TRIGGER = 150_000


def _server_compaction(
    body: dict[str, Any], prompt_tokens: int
) -> tuple[dict[str, Any], bool] | None:
    """The ``compaction`` block to answer with when the request asks for server-side
    compaction and its prompt passed the trigger, and whether to pause after it; else None.

    The summary is labelled as the emulator's: it names what it stands for, not its content.
    A ``context_management`` of the wrong shape is a 400 naming the field, as on the API.
    """
    if "context_management" not in body:
        return None
    management = body["context_management"]
    if not isinstance(management, dict):
        raise _invalid("context_management: Input should be an object")
    edits = management.get("edits", [])
    if not isinstance(edits, list):
        raise _invalid("context_management.edits: Input should be a list")
    edit = None
    for position, item in enumerate(edits):
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            raise _invalid(f"context_management.edits.{position}: Input should be an object "
                           "with a type")
        if item["type"] == _COMPACTION_EDIT and edit is None:
            edit = item
            trigger = item.get("trigger")
            if trigger is None:
                continue
            value = trigger.get("value") if isinstance(trigger, dict) else None
            if isinstance(value, bool) or not isinstance(value, int) or value < 50_000:
                raise _invalid(f"context_management.edits.{position}.trigger.value: Input "
                               "should be a whole number of input tokens of at least 50000")
    if edit is None:
        return None
    trigger = edit.get("trigger")
    threshold = trigger["value"] if isinstance(trigger, dict) else _DEFAULT_COMPACTION_TRIGGER
    if prompt_tokens <= threshold:
        return None
    messages = body.get("messages") or []
    summary = (f"[emulator compaction] {len(messages)} earlier messages ({prompt_tokens} "
               "tokens) summarised; the emulator keeps no content of them.")
    block = {"type": "compaction", "content": summary,
             "encrypted_content": new_id("enc")}
    return block, edit.get("pause_after_compaction") is True


def _count(value: Any) -> int:
    """A token count from a reply's usage; anything but a non-negative integer counts 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _invalid(message: str) -> RequestRejected:
    return RequestRejected(400, "invalid_request_error", message)


def _limit(query: dict[str, str]) -> int:
    try:
        return max(1, min(int(query.get("limit", "20")), 1000))
    except ValueError:
        raise RequestRejected(400, "invalid_request_error",
                              "limit: Input should be a valid integer") from None


def _parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError as error:
        raise RequestRejected(400, "invalid_request_error",
                              f"The request body is not valid JSON: {error}") from None


def _response_rejection(response: httpx.Response) -> RequestRejected:
    try:
        error = response.json().get("error", {})
    except ValueError:
        error = {}
    return RequestRejected(
        response.status_code,
        str(error.get("type", "api_error")),
        str(error.get("message", response.text[:200])),
        {name: value for name, value in response.headers.items()
         if name.lower() in ("retry-after", "retry-after-ms", "x-should-retry")},
    )
