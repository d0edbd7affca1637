"""The floor for the emulator server benchmark: a bare ASGI app on uvicorn that answers every
request with fixed bytes captured from the emulator.

``python -m tests.benchmarks._asgi_floor REPLIES.json`` serves on a free loopback port and
prints its URL. ``REPLIES.json`` holds ``{"json": {...}, "sse": {...}}``, each with the
``status``, ``headers`` (a list of pairs) and ``body`` (text) of one emulator response; a
request whose body asks for ``"stream": true`` gets the ``sse`` one. The app reads the whole
request body, as the emulator must, and does nothing else.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import uvicorn

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]


def build_app(replies: dict[str, dict[str, Any]]) -> Callable[..., Awaitable[None]]:
    prepared = {
        kind: (
            {"type": "http.response.start", "status": reply["status"],
             "headers": [(name.encode(), value.encode()) for name, value in reply["headers"]]},
            {"type": "http.response.body", "body": reply["body"].encode()},
        )
        for kind, reply in replies.items()
    }

    async def app(scope: Scope, receive: Callable[[], Awaitable[Message]],
                  send: Callable[[Message], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        start, payload = prepared["sse" if b'"stream": true' in body else "json"]
        await send(start)
        await send(payload)

    return app


async def serve(path: str) -> None:
    with open(path, encoding="utf-8") as file:
        replies = json.load(file)
    # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY only on sockets that say they are TCP;
    # without it, the response head and body written separately wait on delayed ACKs.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(build_app(replies), http="httptools", lifespan="off",
                            access_log=False, log_level="warning", backlog=4096)
    server = uvicorn.Server(config)
    print(f"http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    await server.serve(sockets=[sock])


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1]))
