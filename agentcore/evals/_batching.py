"""Model calls of many concurrent runs sent together through the Message Batches API.

:class:`BatchedCalls` is an httpx transport for the agents' client: each ``POST
/v1/messages`` waits until every active run has a call waiting (or ``window_s`` has passed
since the first), then all of them go out as one batch through the real client; each run
gets its message back as if it had been answered directly, with ``usage.service_tier`` set
to ``"batch"`` (whether or not the result said so), so the agent bills it at half price.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import httpx

from agentcore.client import AsyncBatches, AsyncClient, BatchErrored, BatchSucceeded, PollSchedule
from agentcore.errors import AgentcoreError

__all__ = ["BatchedCalls"]

_STATUS_OF_ERROR = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "overloaded_error": 529,
}


def _error(status: int, error_type: str, message: str) -> httpx.Response:
    return httpx.Response(
        status, json={"type": "error", "error": {"type": error_type, "message": message}}
    )


@dataclass
class _Waiting:
    params: dict[str, Any]
    future: asyncio.Future[httpx.Response]


class BatchedCalls(httpx.AsyncBaseTransport):
    """Collects the model calls of concurrent runs and sends them as Message Batches.

    Args:
        client: The client the batches go through (its key, base URL, retries, limiter).
        schedule: How often a running batch is polled.
        window_s: The longest a call waits for the other runs before its batch is sent.
    """

    def __init__(
        self, client: AsyncClient, *, schedule: PollSchedule | None = None, window_s: float = 2.0
    ) -> None:
        self._batches = AsyncBatches(client)
        self._schedule = schedule
        self._window_s = window_s
        self._waiting: list[_Waiting] = []
        self._active = 0
        self._timer: asyncio.TimerHandle | None = None
        self._sending: set[asyncio.Task[None]] = set()
        self.batch_ids: list[str] = []
        """The id of every batch sent, in order."""
        self.requests = 0
        """How many model calls went through a batch."""

    def agent_client(self) -> AsyncClient:
        """A client whose message calls go through this transport (give it to the agents)."""
        return AsyncClient(api_key="batched-calls", base_url="http://batched.invalid",
                           transport=self, max_retries=0)

    def enter(self) -> None:
        """A run starts: its calls are waited for before a batch goes out."""
        self._active += 1

    def leave(self) -> None:
        """A run ended: batches no longer wait for it."""
        self._active = max(0, self._active - 1)
        self._maybe_send()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Queue a ``POST /v1/messages`` for the next batch; refuse anything else."""
        if request.method != "POST" or not request.url.path.endswith("/v1/messages"):
            return _error(404, "not_found_error",
                          f"the batch path serves model calls only, not {request.url.path}")
        try:
            params = json.loads(await request.aread())
        except ValueError:
            return _error(400, "invalid_request_error", "the request body is not JSON")
        if not isinstance(params, dict):
            return _error(400, "invalid_request_error", "the request body is not an object")
        if params.pop("stream", False):
            return _error(400, "invalid_request_error",
                          "a batched call cannot stream; run the agent without streaming")
        future: asyncio.Future[httpx.Response] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Waiting(params, future))
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._window_s, self._send_now)
        self._maybe_send()
        return await future

    def _maybe_send(self) -> None:
        if self._waiting and len(self._waiting) >= self._active:
            self._send_now()

    def _send_now(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._waiting:
            return
        waiting, self._waiting = self._waiting, []
        task = asyncio.get_running_loop().create_task(self._send(waiting))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, waiting: list[_Waiting]) -> None:
        by_id = {f"call-{self.requests + index}": item for index, item in enumerate(waiting)}
        self.requests += len(waiting)
        answered: set[str] = set()
        try:
            batch = await self._batches.create(
                [(custom_id, item.params) for custom_id, item in by_id.items()]
            )
            self.batch_ids.append(batch.id)
            await self._batches.wait(batch.id, self._schedule)
            async for result in self._batches.results(batch.id):
                item = by_id.get(result.custom_id)
                if item is None or item.future.done():
                    continue
                answered.add(result.custom_id)
                item.future.set_result(self._response(result))
        except (AgentcoreError, httpx.HTTPError) as exc:
            for custom_id, item in by_id.items():
                if custom_id not in answered and not item.future.done():
                    item.future.set_result(_error(500, "api_error", f"batch failed: {exc}"))
        for custom_id, item in by_id.items():
            if not item.future.done():
                item.future.set_result(
                    _error(500, "api_error", f"the batch returned no result for {custom_id}"))

    @staticmethod
    def _response(result: Any) -> httpx.Response:
        if isinstance(result, BatchSucceeded):
            body = result.message.model_dump(mode="json", exclude_none=True)
            # Whatever the result says, a message answered through a batch is billed at the
            # batch rate; the agent prices it by this field.
            usage = body.get("usage")
            if isinstance(usage, dict):
                usage["service_tier"] = "batch"
            return httpx.Response(200, json=body)
        if isinstance(result, BatchErrored):
            error_type = result.error_type or "api_error"
            return _error(_STATUS_OF_ERROR.get(error_type, 500), error_type, result.message)
        return _error(500, "api_error", f"the batched call ended {result.kind}")
