"""The Message Batches API: bulk work at half the price, for whatever need not answer now.

:class:`Batches` (blocking) and :class:`AsyncBatches` (asyncio) wrap a client::

    batches = Batches(client)
    batch = batches.create([("ticket-1", params_1), ("ticket-2", params_2)])
    batch = batches.wait(batch.id)                 # polls with backoff until it has ended
    for result in batches.results(batch.id):       # streamed line by line
        match result:
            case BatchSucceeded(custom_id, message): ...
            case BatchErrored(custom_id, error_type, message): ...

Requests go through the client's own request path (headers, retries with backoff, typed
errors). Each call is a sans-IO flow, as in the client; the two classes only drive it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from agentcore.client._flow import Flow, Send, response_or_error, with_retries
from agentcore.client._http import (
    connection_error,
    encode_body,
    options_for_body,
    request_id_of,
)
from agentcore.client.batch_types import (
    BatchCanceled,
    BatchErrored,
    BatchExpired,
    BatchPage,
    BatchResult,
    BatchSucceeded,
    BatchUnknownResult,
    MessageBatch,
    batch_body,
    parse_result_line,
    results_cost,
)
from agentcore.errors import (
    APIError,
    BatchNotEndedError,
    ConfigurationError,
    MalformedResponseError,
)

if TYPE_CHECKING:
    from agentcore.client._client import AsyncClient, Client
    from agentcore.client._flow import Calls

__all__ = [
    "AsyncBatches",
    "BatchCanceled",
    "BatchErrored",
    "BatchExpired",
    "BatchPage",
    "BatchRequest",
    "BatchResult",
    "BatchSucceeded",
    "BatchUnknownResult",
    "Batches",
    "MessageBatch",
    "PollSchedule",
    "results_cost",
]

T = TypeVar("T")
BatchRequest: TypeAlias = tuple[str, Mapping[str, Any] | BaseModel]
"""A ``(custom_id, params)`` pair; params are a Messages request (dict or wire model)."""
_PATH = "/v1/messages/batches"


class PollSchedule:
    """When to look at a running batch again: exponential backoff with a ceiling and a limit.

    Args:
        initial_s: The first wait.
        max_interval_s: The longest wait between two polls.
        max_wait_s: Give up (``BatchNotEndedError``) once this much time was spent waiting;
            ``None`` waits as long as the batch runs (the API ends every batch within 24 h).
        factor: How much each wait grows.
    """

    __slots__ = ("_next", "factor", "initial_s", "max_interval_s", "max_wait_s", "waited_s")

    def __init__(
        self,
        *,
        initial_s: float = 1.0,
        max_interval_s: float = 60.0,
        max_wait_s: float | None = None,
        factor: float = 2.0,
    ) -> None:
        if initial_s <= 0 or max_interval_s < initial_s or factor < 1:
            raise ConfigurationError(
                "poll schedule needs 0 < initial_s <= max_interval_s and factor >= 1"
            )
        self.initial_s = initial_s
        self.max_interval_s = max_interval_s
        self.max_wait_s = max_wait_s
        self.factor = factor
        self.waited_s = 0.0
        """Time spent waiting so far (the sum of the waits handed out)."""
        self._next = initial_s

    def next_wait(self, batch: MessageBatch) -> float | None:
        """Seconds to wait before polling ``batch`` again, or None once it has ended.

        Raises:
            BatchNotEndedError: the batch is still running and the wait limit is spent.
        """
        if batch.is_ended:
            return None
        delay = self._next
        if self.max_wait_s is not None:
            left = self.max_wait_s - self.waited_s
            if left <= 0:
                counts = batch.request_counts
                raise BatchNotEndedError(
                    f"batch {batch.id} is still {batch.processing_status} after waiting "
                    f"{self.waited_s:g} s ({counts.processing} requests processing); it keeps "
                    "running, wait again later",
                    batch=batch,
                )
            delay = min(delay, left)
        self._next = min(self._next * self.factor, self.max_interval_s)
        self.waited_s += delay
        return delay


def _read_model(model: type[T]) -> Any:
    def read(response: httpx.Response) -> T | APIError:
        try:
            return model.model_validate_json(response.content)  # type: ignore[attr-defined, no-any-return]
        except ValidationError as exc:
            return MalformedResponseError(
                f"the API answered {response.status_code} with a body that is not a "
                f"message batch: {exc.errors()[0]['msg']}",
                request_id=request_id_of(response),
                body=response.content,
            )

    return read


def _read_page(response: httpx.Response) -> BatchPage | APIError:
    try:
        page = response.json()
        batches = [MessageBatch.model_validate(item) for item in page["data"]]
        last_id = page.get("last_id")
        return BatchPage(batches, bool(page.get("has_more")), last_id if last_id else None)
    except (
        ValueError, KeyError, TypeError, AttributeError, ValidationError, RecursionError
    ) as exc:
        return MalformedResponseError(
            f"the API answered {response.status_code} with a body that is not a page of "
            f"batches: {exc!r}"[:400],
            request_id=request_id_of(response),
            body=response.content,
        )


def _read_deleted(response: httpx.Response) -> str | APIError:
    try:
        deleted = response.json()["id"]
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        return MalformedResponseError(f"batch deletion answer without an id: {exc!r}")
    return str(deleted)


def _batch_path(batch_id: str, suffix: str = "") -> str:
    if not batch_id:
        raise ConfigurationError("batch id is empty")
    if batch_id in (".", ".."):
        # httpx reads these as path steps, which would send the call to another endpoint.
        raise ConfigurationError(f"batch id {batch_id!r} is not an id")
    return f"{_PATH}/{quote(batch_id, safe='')}{suffix}"


class _BatchFlows:
    """The flow of each batch call, built on the client's request path."""

    __slots__ = ("_calls",)

    def __init__(self, calls: Calls) -> None:
        self._calls = calls

    def create(self, requests: Iterable[BatchRequest]) -> Flow[MessageBatch]:
        body = batch_body(requests)
        content = encode_body(body)
        # Messages that refer to an uploaded file need the files beta on the batch too.
        options = options_for_body(self._calls.settings, {}, content, body)
        return self._calls._simple("POST", _PATH, _read_model(MessageBatch), content, options)

    def retrieve(self, batch_id: str) -> Flow[MessageBatch]:
        return self._calls._simple("GET", _batch_path(batch_id), _read_model(MessageBatch))

    def list(self, limit: int, after_id: str | None) -> Flow[BatchPage]:
        if not 1 <= limit <= 1000:
            raise ConfigurationError(f"limit must be between 1 and 1000, not {limit}")
        query = {"limit": str(limit)}
        if after_id is not None:
            query["after_id"] = after_id
        return self._calls._simple("GET", _PATH, _read_page, query=query)

    def cancel(self, batch_id: str) -> Flow[MessageBatch]:
        path = _batch_path(batch_id, "/cancel")
        return self._calls._simple("POST", path, _read_model(MessageBatch))

    def delete(self, batch_id: str) -> Flow[str]:
        return self._calls._simple("DELETE", _batch_path(batch_id), _read_deleted)

    def open_results(self, batch_id: str) -> Flow[httpx.Response]:
        """Check that the batch has ended, then open its results with the body unread."""
        batch = yield from self.retrieve(batch_id)
        if not batch.is_ended:
            raise BatchNotEndedError(
                f"batch {batch_id} is {batch.processing_status}: its results exist once it "
                "has ended (see wait())",
                batch=batch,
            )
        settings = self._calls.settings
        path = _batch_path(batch_id, "/results")

        def attempt(_: str, number: int) -> Generator[Send, Any, httpx.Response | APIError]:
            request = settings.build_request("GET", path)
            return response_or_error((yield Send(request, stream=True)))

        return (yield from with_retries(("",), attempt, self._calls.policy, self._calls.rng,
                                        self._calls.log))


class Batches:
    """Message batches through a blocking :class:`~agentcore.client.Client`."""

    __slots__ = ("_client", "_flows")

    def __init__(self, client: Client) -> None:
        self._client = client
        self._flows = _BatchFlows(client._calls)

    def create(
        self, requests: Iterable[BatchRequest]
    ) -> MessageBatch:
        """Submit ``(custom_id, params)`` pairs as one batch; params are a Messages request.

        Raises:
            ConfigurationError: a custom id is invalid or repeated, or params are incomplete.
        """
        return self._client._run(self._flows.create(requests))

    def retrieve(self, batch_id: str) -> MessageBatch:
        """The batch's current state."""
        return self._client._run(self._flows.retrieve(batch_id))

    def list(self, *, limit: int = 20, after_id: str | None = None) -> BatchPage:
        """One page of batches, most recent first."""
        return self._client._run(self._flows.list(limit, after_id))

    def cancel(self, batch_id: str) -> MessageBatch:
        """Ask the API to stop the batch; requests not yet run end as canceled."""
        return self._client._run(self._flows.cancel(batch_id))

    def delete(self, batch_id: str) -> str:
        """Delete an ended batch and its results; returns the deleted id."""
        return self._client._run(self._flows.delete(batch_id))

    def wait(self, batch_id: str, schedule: PollSchedule | None = None) -> MessageBatch:
        """Poll until the batch has ended (waiting with the client's ``sleep``).

        Raises:
            BatchNotEndedError: ``schedule.max_wait_s`` was spent and the batch still runs.
        """
        schedule = schedule or PollSchedule()
        while True:
            batch = self.retrieve(batch_id)
            delay = schedule.next_wait(batch)
            if delay is None:
                return batch
            self._client._sleep(delay)

    def results(self, batch_id: str) -> Iterator[BatchResult]:
        """The results of an ended batch, read and parsed one line at a time.

        Raises:
            BatchNotEndedError: the batch has not ended yet.
            MalformedResponseError: a line is not a result.
        """
        response = self._client._run(self._flows.open_results(batch_id))
        try:
            for line in response.iter_lines():
                if line.strip():
                    yield parse_result_line(line)
        except httpx.RequestError as exc:
            raise connection_error(exc) from exc
        finally:
            response.close()


class AsyncBatches:
    """Message batches through an :class:`~agentcore.client.AsyncClient`."""

    __slots__ = ("_client", "_flows")

    def __init__(self, client: AsyncClient) -> None:
        self._client = client
        self._flows = _BatchFlows(client._calls)

    async def create(
        self, requests: Iterable[BatchRequest]
    ) -> MessageBatch:
        """Submit ``(custom_id, params)`` pairs as one batch (see :meth:`Batches.create`)."""
        return await self._client._run(self._flows.create(requests))

    async def retrieve(self, batch_id: str) -> MessageBatch:
        """The batch's current state."""
        return await self._client._run(self._flows.retrieve(batch_id))

    async def list(self, *, limit: int = 20, after_id: str | None = None) -> BatchPage:
        """One page of batches, most recent first."""
        return await self._client._run(self._flows.list(limit, after_id))

    async def cancel(self, batch_id: str) -> MessageBatch:
        """Ask the API to stop the batch; requests not yet run end as canceled."""
        return await self._client._run(self._flows.cancel(batch_id))

    async def delete(self, batch_id: str) -> str:
        """Delete an ended batch and its results; returns the deleted id."""
        return await self._client._run(self._flows.delete(batch_id))

    async def wait(self, batch_id: str, schedule: PollSchedule | None = None) -> MessageBatch:
        """Poll until the batch has ended (see :meth:`Batches.wait`)."""
        schedule = schedule or PollSchedule()
        while True:
            batch = await self.retrieve(batch_id)
            delay = schedule.next_wait(batch)
            if delay is None:
                return batch
            await self._client._sleep(delay)

    async def results(self, batch_id: str) -> AsyncIterator[BatchResult]:
        """The results of an ended batch, one line at a time (see :meth:`Batches.results`)."""
        response = await self._client._run(self._flows.open_results(batch_id))
        try:
            async for line in response.aiter_lines():
                if line.strip():
                    yield parse_result_line(line)
        except httpx.RequestError as exc:
            raise connection_error(exc) from exc
        finally:
            await response.aclose()
