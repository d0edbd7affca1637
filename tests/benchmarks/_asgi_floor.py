"""The floor for the emulator server benchmark: a bare ASGI app that answers every request with
fixed bytes captured from the emulator, on the same uvicorn server and settings as the
emulator (:func:`agentcore.emulator._asgi.serve_config`).

``python -m tests.benchmarks._asgi_floor REPLIES.json`` serves on a free loopback port and
prints its URL. ``REPLIES.json`` holds ``{"json": {...}, "sse": {...}}``, each with the
``status``, ``headers`` (a list of pairs) and ``body`` (text) of one emulator response; a
request whose body asks for ``"stream": true`` gets the ``sse`` one. The app reads the whole
request body, as the emulator must, and does nothing else.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from agentcore.emulator._asgi import UvicornServer, listen_socket, serve_config

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
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
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
    sock = listen_socket("127.0.0.1", 0)
    server = UvicornServer(serve_config(build_app(replies)))
    print(f"http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    await server.serve(sockets=[sock])


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1]))
