"""Requests per second the emulator serves over loopback, against a bare ASGI app on the same
uvicorn returning the same bytes.

Both servers run in their own process: the emulator as ``python -m agentcore.emulator`` (demo
policy: every request is authenticated, validated, answered, billed and logged), the floor as
``tests/benchmarks/_asgi_floor.py``, which answers with the status, headers and body of one
emulator response captured at the start of the run. The load comes from this process:
``CONNECTIONS`` keep-alive connections, each sending the next request as soon as the previous
answer is read, for ``SECONDS`` per measurement. The client is a few lines over asyncio
streams (request bytes prepared once, responses framed by ``content-length`` or chunked
encoding), so it costs less per request than either server. Measurements alternate between
the servers and the best of ``ROUNDS`` counts, so load drift on a shared machine hits both.

Printed: requests/s for JSON replies and for SSE replies on each server, and the emulator's
rate as a fraction of the floor's. Every answer must be a 200: a failure would show.
``AGENTCORE_BENCH_SECONDS`` overrides the duration of one measurement.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

CONNECTIONS = 32
SECONDS = float(os.environ.get("AGENTCORE_BENCH_SECONDS", "3"))
ROUNDS = 2
MODEL = "claude-sonnet-4-6"
REQUEST: dict[str, Any] = {
    "model": MODEL, "max_tokens": 256,
    "messages": [{"role": "user", "content": "Hello, what can you do for me today?"}],
}
HEADERS = {"x-api-key": "bench", "anthropic-version": "2023-06-01",
           "content-type": "application/json"}
_DROPPED = {"content-length", "transfer-encoding", "date", "server", "connection"}


@contextmanager
def serving(*command: str) -> Iterator[str]:
    """Run a server process that prints its URL first; yield the URL, stop it afterwards."""
    process = subprocess.Popen([sys.executable, *command], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), f"{command} printed {url!r}"
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def raw_request(url: str, stream: bool) -> bytes:
    body = json.dumps({**REQUEST, "stream": stream} if stream else REQUEST).encode()
    host = url.removeprefix("http://")
    lines = ["POST /v1/messages HTTP/1.1", f"host: {host}",
             *(f"{name}: {value}" for name, value in HEADERS.items()),
             f"content-length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def capture(url: str) -> dict[str, dict[str, Any]]:
    """One JSON and one SSE response of the emulator: status, headers and body."""
    captured = {}
    with httpx.Client(base_url=url, headers=HEADERS) as client:
        for kind, stream in (("json", False), ("sse", True)):
            response = client.post("/v1/messages",
                                   json={**REQUEST, "stream": True} if stream else REQUEST)
            assert response.status_code == 200, response.text
            captured[kind] = {
                "status": response.status_code,
                "headers": [(name, value) for name, value in response.headers.items()
                            if name not in _DROPPED],
                "body": response.text,
            }
    return captured


async def read_response(reader: asyncio.StreamReader) -> int:
    """Read one response off the connection; return its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lower = head.lower()
    marker = lower.find(b"content-length:")
    if marker >= 0:
        end = lower.index(b"\r\n", marker)
        await reader.readexactly(int(lower[marker + 15:end]))
        return status
    while True:  # chunked
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        await reader.readexactly(size + 2)
        if size == 0:
            return status


async def load(url: str, request: bytes, seconds: float) -> float:
    """Requests per second answered over ``CONNECTIONS`` keep-alive connections."""
    host, port = url.removeprefix("http://").split(":")
    deadline = time.perf_counter() + seconds
    failures: list[int] = []

    async def connection() -> int:
        reader, writer = await asyncio.open_connection(host, int(port))
        answered = 0
        try:
            while time.perf_counter() < deadline:
                writer.write(request)
                status = await read_response(reader)
                if status != 200:
                    failures.append(status)
                answered += 1
        finally:
            writer.close()
        return answered

    started = time.perf_counter()
    counts = await asyncio.gather(*(connection() for _ in range(CONNECTIONS)))
    elapsed = time.perf_counter() - started
    assert not failures, f"{len(failures)} answers were not 200, e.g. {failures[0]}"
    return sum(counts) / elapsed


def test_emulator_requests_per_second_against_a_bare_asgi_floor() -> None:
    with serving("-m", "agentcore.emulator", "--port", "0") as emulator_url:
        replies = capture(emulator_url)
        with tempfile.TemporaryDirectory() as directory:
            path = Path(directory) / "replies.json"
            path.write_text(json.dumps(replies), encoding="utf-8")
            with serving("-m", "tests.benchmarks._asgi_floor", str(path)) as floor_url:
                best: dict[tuple[str, str], float] = {}
                for _ in range(ROUNDS):
                    for kind, stream in (("json", False), ("sse", True)):
                        for name, url in (("emulator", emulator_url), ("floor", floor_url)):
                            rate = asyncio.run(load(url, raw_request(url, stream), SECONDS))
                            best[name, kind] = max(best.get((name, kind), 0.0), rate)
    print(f"\nemulator server, {CONNECTIONS} keep-alive connections, best of {ROUNDS} x "
          f"{SECONDS:g} s:")
    for kind in ("json", "sse"):
        emulator, floor = best["emulator", kind], best["floor", kind]
        print(f"  {kind.upper():>4}: emulator {emulator:8.0f} req/s, bare ASGI floor "
              f"{floor:8.0f} req/s -> {emulator / floor:.2f}x the floor "
              f"({len(replies[kind]['body'])} body bytes)")
        assert emulator > 0 and floor > 0
