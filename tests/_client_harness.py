"""A scripted Messages API at the httpx transport seam, for the client's own tests.

``Script`` answers each request with the next scripted reply (a response, or an exception
the transport raises) and records what it received; ``Harness`` builds a ``Client`` or an
``AsyncClient`` over it with a recording sleep and a fixed jitter, and runs calls of either
kind synchronously so one test body covers both clients.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from agentcore.client import AsyncClient, Client

API_KEY = "sk-ant-test-0123456789"


def message_body(
    text: str = "Hello!", *, model: str = "claude-sonnet-4-6", **overrides: Any
) -> dict[str, Any]:
    """A complete Message as the API sends it."""
    body: dict[str, Any] = {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 3},
    }
    body.update(overrides)
    return body


def error_response(
    status: int, error_type: str, message: str = "nope", **headers: str
) -> httpx.Response:
    """An error response shaped like the API's."""
    body = {"type": "error", "error": {"type": error_type, "message": message}}
    return httpx.Response(status, json=body, headers={"request-id": f"req_{status}", **headers})


def ok(body: dict[str, Any] | None = None, request_id: str = "req_ok") -> httpx.Response:
    """A 200 response carrying ``body`` (a default message when omitted)."""
    return httpx.Response(200, json=body or message_body(), headers={"request-id": request_id})


def fixed_random(value: float) -> random.Random:
    """A Random whose ``random()`` always returns ``value``, for exact backoff delays."""

    class Fixed(random.Random):
        def random(self) -> float:
            return value

    return Fixed()


class ChunkStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body delivered in the given chunks, then optionally failing mid-way."""

    def __init__(self, chunks: list[bytes], error: Exception | None = None) -> None:
        self.chunks = chunks
        self.error = error

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks
        if self.error is not None:
            raise self.error

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk
        if self.error is not None:
            raise self.error


@dataclass
class Seen:
    """One request as the server saw it."""

    method: str
    path: str
    headers: httpx.Headers
    body: Any
    query: dict[str, str]
    timeout: dict[str, float | None]


Reply = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class Script:
    """Answers requests with scripted replies in order and records every request."""

    def __init__(self, replies: Sequence[Reply]) -> None:
        self.replies = list(replies)
        self.seen: list[Seen] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        content = request.read()
        self.seen.append(
            Seen(
                method=request.method,
                path=request.url.raw_path.decode().partition("?")[0],
                headers=request.headers,
                body=json.loads(content) if content else None,
                query=dict(request.url.params),
                timeout=request.extensions.get("timeout", {}),
            )
        )
        if not self.replies:
            raise AssertionError(f"unscripted request: {request.method} {request.url}")
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        if isinstance(reply, httpx.Response):
            return reply
        return reply(request)

    @property
    def models(self) -> list[str]:
        """The ``model`` of each request body, in order."""
        return [seen.body["model"] for seen in self.seen]


class Harness:
    """A client of the chosen kind over a :class:`Script`, recording retry delays."""

    def __init__(self, kind: str, replies: Sequence[Reply], **client_args: Any) -> None:
        self.kind = kind
        self.script = Script(replies)
        self.delays: list[float] = []
        transport = httpx.MockTransport(self.script)
        client_args.setdefault("api_key", API_KEY)
        client_args.setdefault("rng", fixed_random(0.5))
        self.client: Any  # a Client or an AsyncClient, as ``kind`` says
        if kind == "sync":
            self.client = Client(transport=transport, sleep=self.delays.append, **client_args)
        else:

            async def sleep(seconds: float) -> None:
                self.delays.append(seconds)

            self.client = AsyncClient(transport=transport, sleep=sleep, **client_args)

    def run(self, call: Callable[[Any], Any]) -> Any:
        """Run ``call(client)``, awaiting its result for the async client."""
        result = call(self.client)
        if self.kind == "async":
            return asyncio.run(result)
        return result

    def create(self, **params: Any) -> Any:
        """``client.messages.create(**params)`` with the defaults below filled in."""
        params.setdefault("model", "claude-sonnet-4-6")
        params.setdefault("max_tokens", 256)
        params.setdefault("messages", [{"role": "user", "content": "Hi"}])
        return self.run(lambda client: client.messages.create(**params))
