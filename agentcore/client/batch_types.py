"""Message Batches without I/O: the wire models, request validation, result parsing, cost.

The Batch API runs many Messages requests asynchronously at half the price. Everything
here is pure, so :mod:`agentcore.client.batches` (the blocking and the asyncio drivers) shares it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, TypeAlias

from pydantic import BaseModel, Field, ValidationError

from agentcore.errors import ConfigurationError, MalformedResponseError
from agentcore.types import Message, WireModel, parse_message, to_wire
from agentcore.usage import PriceTable, cost_of

__all__ = [
    "CUSTOM_ID_PATTERN",
    "MAX_BATCH_REQUESTS",
    "BatchCanceled",
    "BatchErrored",
    "BatchExpired",
    "BatchPage",
    "BatchRequestCounts",
    "BatchResult",
    "BatchSucceeded",
    "BatchUnknownResult",
    "MessageBatch",
    "batch_body",
    "parse_result_line",
    "results_cost",
]

CUSTOM_ID_PATTERN = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
"""What the API accepts as a request's ``custom_id``."""
MAX_BATCH_REQUESTS = 100_000
"""The most requests one batch may hold."""

_REQUIRED_PARAMS = ("model", "max_tokens", "messages")


class BatchRequestCounts(WireModel):
    """How many requests of a batch are in each state."""

    processing: int = 0
    succeeded: int = 0
    errored: int = 0
    canceled: int = 0
    expired: int = 0


class MessageBatch(WireModel):
    """A message batch as the API reports it."""

    id: str
    type: Literal["message_batch"] = "message_batch"
    processing_status: str
    """``in_progress``, ``canceling`` or ``ended`` (kept as text: the API may add states)."""
    request_counts: BatchRequestCounts = Field(default_factory=BatchRequestCounts)
    created_at: str | None = None
    expires_at: str | None = None
    ended_at: str | None = None
    cancel_initiated_at: str | None = None
    archived_at: str | None = None
    results_url: str | None = None
    """Where the results are, once the batch has ended."""

    @property
    def is_ended(self) -> bool:
        """Whether processing is over and the results can be read."""
        return self.processing_status == "ended"


@dataclass(frozen=True, slots=True)
class BatchPage:
    """One page of ``GET /v1/messages/batches``, most recent first."""

    batches: list[MessageBatch]
    has_more: bool
    last_id: str | None
    """Pass as ``after_id`` to get the next page."""


@dataclass(frozen=True, slots=True)
class BatchSucceeded:
    """The request ran; ``message`` is the model's reply."""

    custom_id: str
    message: Message
    kind: Literal["succeeded"] = "succeeded"


@dataclass(frozen=True, slots=True)
class BatchErrored:
    """The request failed: invalid (fix it) or a server error (send it again)."""

    custom_id: str
    error_type: str | None
    """The API's error type, such as ``invalid_request_error`` or ``api_error``."""
    message: str
    body: Any = None
    """The error body as received."""
    kind: Literal["errored"] = "errored"


@dataclass(frozen=True, slots=True)
class BatchCanceled:
    """The batch was canceled before this request ran."""

    custom_id: str
    kind: Literal["canceled"] = "canceled"


@dataclass(frozen=True, slots=True)
class BatchExpired:
    """The batch reached its 24-hour limit before this request ran."""

    custom_id: str
    kind: Literal["expired"] = "expired"


@dataclass(frozen=True, slots=True)
class BatchUnknownResult:
    """A result type this version does not know; ``raw`` keeps what the API sent."""

    custom_id: str
    result_type: str
    raw: dict[str, Any]
    kind: Literal["unknown"] = "unknown"


BatchResult: TypeAlias = (
    BatchSucceeded | BatchErrored | BatchCanceled | BatchExpired | BatchUnknownResult
)


def batch_body(requests: Iterable[tuple[str, Mapping[str, Any] | BaseModel]]) -> dict[str, Any]:
    """The body of ``POST /v1/messages/batches`` for ``(custom_id, params)`` pairs.

    Raises:
        ConfigurationError: no requests, too many, a ``custom_id`` the API would refuse or
            used twice, or params that are not a Messages request.
    """
    items: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for index, pair in enumerate(requests):
        custom_id, params = pair
        where = f"batch request {index}"
        if not isinstance(custom_id, str) or not CUSTOM_ID_PATTERN.fullmatch(custom_id):
            raise ConfigurationError(
                f"{where}: custom_id {custom_id!r} must be 1 to 64 letters, digits, '_' or '-'"
            )
        if custom_id in seen:
            raise ConfigurationError(
                f"{where}: custom_id {custom_id!r} is already used by request {seen[custom_id]}; "
                "custom ids must be unique within a batch"
            )
        seen[custom_id] = index
        wire = to_wire(params)
        if not isinstance(wire, dict):
            raise ConfigurationError(f"{where} ({custom_id}): params must be a mapping")
        missing = [name for name in _REQUIRED_PARAMS if name not in wire]
        if missing:
            raise ConfigurationError(
                f"{where} ({custom_id}): params lack {', '.join(missing)}"
            )
        if wire.get("stream"):
            raise ConfigurationError(f"{where} ({custom_id}): batch requests cannot stream")
        items.append({"custom_id": custom_id, "params": wire})
    if not items:
        raise ConfigurationError("a batch needs at least one request")
    if len(items) > MAX_BATCH_REQUESTS:
        raise ConfigurationError(
            f"a batch holds at most {MAX_BATCH_REQUESTS} requests, not {len(items)}; split it"
        )
    return {"requests": items}


def _malformed_line(line: str, detail: str) -> MalformedResponseError:
    return MalformedResponseError(
        f"a batch result line is not a valid result: {detail}", body=line
    )


def parse_result_line(line: str | bytes) -> BatchResult:
    """One line of the results JSONL as a typed result.

    Raises:
        MalformedResponseError: the line is not a result object.
    """
    text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise _malformed_line(text, f"not JSON ({exc})") from None
    custom_id = data.get("custom_id") if isinstance(data, dict) else None
    result = data.get("result") if isinstance(data, dict) else None
    if not isinstance(custom_id, str) or not isinstance(result, dict):
        raise _malformed_line(text, "expected {\"custom_id\": ..., \"result\": {...}}")
    kind = result.get("type")
    if kind == "succeeded":
        try:
            return BatchSucceeded(custom_id, parse_message(result.get("message")))
        except RecursionError:
            raise _malformed_line(text[:200], "the message is nested too deeply") from None
        except ValidationError as exc:
            problem = exc.errors()[0]["msg"]
            raise _malformed_line(text, f"message of {custom_id}: {problem}") from None
    if kind == "errored":
        body = result.get("error")
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            error = body if isinstance(body, dict) else {}
        error_type = error.get("type")
        message = error.get("message")
        return BatchErrored(
            custom_id,
            error_type if isinstance(error_type, str) else None,
            message if isinstance(message, str) else json.dumps(body),
            body,
        )
    if kind == "canceled":
        return BatchCanceled(custom_id)
    if kind == "expired":
        return BatchExpired(custom_id)
    return BatchUnknownResult(custom_id, str(kind), result)


def results_cost(
    results: Iterable[BatchResult], prices: PriceTable | None = None, *, batch: bool = True
) -> Decimal | None:
    """What the succeeded results cost, at the batch rate (or at the interactive rate).

    Returns None when any reply's model has no known price: a partial sum would be wrong.
    """
    total = Decimal(0)
    for result in results:
        if isinstance(result, BatchSucceeded):
            cost = cost_of(result.message.usage, result.message.model, prices, batch=batch)
            if cost is None:
                return None
            total += cost
    return total
