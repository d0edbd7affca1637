"""Message Batches for the emulator: create, process in the background, cancel, results.

A batch is processed by one background task after ``delay_seconds``; each request goes
through the same answer function as ``POST /v1/messages`` and ends ``succeeded`` (with its
message) or ``errored`` (with the error body). Requests still waiting when the batch is
canceled end ``canceled``; those reached after ``expires_at`` end ``expired``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from agentcore.emulator._validation import RequestRejected
from agentcore.testing._replies import error_body, new_id

__all__ = ["BatchStore"]

AnswerFunction = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
"""Answers one MessageCreate body with a Message dict; raises RequestRejected on errors."""

_MAX_REQUESTS = 100_000


def _timestamp(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


@dataclass(slots=True)
class _Batch:
    id: str
    requests: list[dict[str, Any]]
    created_at: datetime
    expires_at: datetime
    status: str = "in_progress"
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    ended_at: datetime | None = None
    cancel_initiated_at: datetime | None = None
    task: asyncio.Task[None] | None = None

    def counts(self) -> dict[str, int]:
        counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        for request in self.requests:
            result = self.results.get(request["custom_id"])
            counts[result["type"] if result else "processing"] += 1
        return counts

    def to_wire(self, base_url: str) -> dict[str, Any]:
        ended = self.status == "ended"
        return {
            "id": self.id,
            "type": "message_batch",
            "processing_status": self.status,
            "request_counts": self.counts(),
            "created_at": _timestamp(self.created_at),
            "expires_at": _timestamp(self.expires_at),
            "ended_at": _timestamp(self.ended_at),
            "cancel_initiated_at": _timestamp(self.cancel_initiated_at),
            "archived_at": None,
            "results_url": f"{base_url}/v1/messages/batches/{self.id}/results" if ended else None,
        }


def _invalid(message: str) -> RequestRejected:
    return RequestRejected(400, "invalid_request_error", message)


class BatchStore:
    """Batches of one emulator, processed on its event loop.

    Args:
        answer: Produces the message for one request's params.
        delay_seconds: Wait before processing a batch (lets tests observe ``in_progress``).
        expiry: How long a batch may take before unprocessed requests expire.
    """

    def __init__(
        self, answer: AnswerFunction, *, delay_seconds: float, expiry: timedelta
    ) -> None:
        self._answer = answer
        self._delay_seconds = delay_seconds
        self._expiry = expiry
        self._batches: dict[str, _Batch] = {}

    def create(self, body: Any, base_url: str) -> dict[str, Any]:
        """Accept a batch and start processing it in the background."""
        requests = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(requests, list) or not requests:
            raise _invalid("requests: at least one request is required")
        if len(requests) > _MAX_REQUESTS:
            raise _invalid(f"requests: a batch holds at most {_MAX_REQUESTS} requests")
        seen: set[str] = set()
        for index, request in enumerate(requests):
            if not isinstance(request, dict) or not isinstance(request.get("params"), dict):
                raise _invalid(f"requests.{index}.params: Field required")
            custom_id = request.get("custom_id")
            if not isinstance(custom_id, str) or not 1 <= len(custom_id) <= 64:
                raise _invalid(f"requests.{index}.custom_id: String should have 1 to 64 "
                               "characters")
            if custom_id in seen:
                raise _invalid(f"requests: custom_id {custom_id!r} is used more than once")
            seen.add(custom_id)
        now = datetime.now(UTC)
        batch = _Batch(new_id("msgbatch"), requests, now, now + self._expiry)
        self._batches[batch.id] = batch
        batch.task = asyncio.get_running_loop().create_task(self._process(batch))
        return batch.to_wire(base_url)

    async def _process(self, batch: _Batch) -> None:
        await asyncio.sleep(self._delay_seconds)
        for request in batch.requests:
            custom_id = request["custom_id"]
            if batch.status == "canceling":
                batch.results[custom_id] = {"type": "canceled"}
                continue
            if datetime.now(UTC) >= batch.expires_at:
                batch.results[custom_id] = {"type": "expired"}
                continue
            params = {key: value for key, value in request["params"].items() if key != "stream"}
            try:
                message = await self._answer(params)
            except RequestRejected as rejected:
                batch.results[custom_id] = {
                    "type": "errored",
                    "error": error_body(rejected.error_type, rejected.message, new_id("req")),
                }
            else:
                batch.results[custom_id] = {"type": "succeeded", "message": message}
            await asyncio.sleep(0)
        batch.status = "ended"
        batch.ended_at = datetime.now(UTC)

    def _get(self, batch_id: str) -> _Batch:
        batch = self._batches.get(batch_id)
        if batch is None:
            raise RequestRejected(404, "not_found_error", f"message_batch: {batch_id}")
        return batch

    def retrieve(self, batch_id: str, base_url: str) -> dict[str, Any]:
        """The batch's current state."""
        return self._get(batch_id).to_wire(base_url)

    def list_page(self, query: dict[str, str], base_url: str) -> dict[str, Any]:
        """A page of batches, newest first, in the API's paging envelope."""
        batches = sorted(self._batches.values(), key=lambda b: b.created_at, reverse=True)
        ids = [batch.id for batch in batches]
        limit = max(1, min(int(query.get("limit", "20") or 20), 1000))
        start, stop = 0, len(batches)
        if query.get("after_id") in ids:
            start = ids.index(query["after_id"]) + 1
        if query.get("before_id") in ids:
            stop = ids.index(query["before_id"])
            start = max(start, stop - limit)
        window = batches[start:stop][:limit]
        data = [batch.to_wire(base_url) for batch in window]
        return {
            "data": data,
            "has_more": start + len(window) < stop,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
        }

    def cancel(self, batch_id: str, base_url: str) -> dict[str, Any]:
        """Start canceling: requests not yet processed will end ``canceled``."""
        batch = self._get(batch_id)
        if batch.status == "in_progress":
            batch.status = "canceling"
            batch.cancel_initiated_at = datetime.now(UTC)
        return batch.to_wire(base_url)

    def results(self, batch_id: str) -> bytes:
        """The JSONL results, one ``{"custom_id", "result"}`` per line, in request order."""
        batch = self._get(batch_id)
        if batch.status != "ended":
            raise _invalid(f"Message batch {batch_id} is still {batch.status}; results are "
                           "available once its processing_status is 'ended'.")
        lines = [
            json.dumps({"custom_id": request["custom_id"],
                        "result": batch.results[request["custom_id"]]})
            for request in batch.requests
        ]
        return ("\n".join(lines) + "\n").encode()

    def delete(self, batch_id: str) -> dict[str, Any]:
        """Forget an ended batch."""
        batch = self._get(batch_id)
        if batch.status != "ended":
            raise _invalid(f"Message batch {batch_id} cannot be deleted while it is "
                           f"{batch.status}; cancel it and wait until it has ended.")
        del self._batches[batch_id]
        return {"id": batch_id, "type": "message_batch_deleted"}

    async def close(self) -> None:
        """Stop background processing (on emulator shutdown)."""
        tasks = [batch.task for batch in self._batches.values() if batch.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
