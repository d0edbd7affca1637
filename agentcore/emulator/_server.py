"""A loopback HTTP server that speaks the Messages API, for offline development and tests.

It serves ``POST /v1/messages`` (JSON and SSE), ``count_tokens``, the models list and the
Message Batches endpoints on 127.0.0.1, checks keys and request shape like the API, bills
usage (with prompt caching) at about four characters per token, and injects faults on
demand. Replies come from a script or from the labelled demo policy
(:mod:`agentcore.emulator._policy`)::

    with Emulator([text_reply("Hi!")]) as emulator:
        client = Client(api_key="test", base_url=emulator.base_url)
        emulator.faults.add(Fault.rate_limit(retry_after=0.01), times=2)
        ...

Also ``async with Emulator() as emulator:`` inside a running event loop, and on the
command line ``agentcore emulator --port 0`` or ``python -m agentcore.emulator``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import math
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from agentcore.emulator._app import EmulatorApp, Outcome, ReplyFunction
from agentcore.emulator._faults import Fault, FaultPlan, FaultSpecError
from agentcore.emulator._http import (
    ProtocolViolation,
    abort_connection,
    read_request,
    start_chunked,
    write_chunk,
    write_response,
)
from agentcore.emulator._script import ScriptFileError, load_script
from agentcore.log import configure, get_logger
from agentcore.testing._models import DEFAULT_MODELS, ModelEntry
from agentcore.testing._replies import Reply, error_body, new_id

__all__ = ["Emulator", "Fault", "FaultPlan", "ScriptFileError", "add_arguments", "load_script",
           "main", "run"]

_log = get_logger("agentcore.emulator")
_STREAM_LIMIT = 64 * 1024
_BACKLOG = 4096


class Emulator:
    """The Messages API on loopback.

    Args:
        replies: A list of replies (see :mod:`agentcore.testing`) used in order, a function
            (sync or async) of the request body returning a reply, a path to a JSON/JSONL
            reply file, or None for the demo policy.
        host: Interface to bind; loopback unless you mean otherwise.
        port: TCP port; 0 picks a free one (read it from :attr:`base_url`).
        api_keys: Accepted keys; None accepts any non-empty key.
        models: The model catalog requests are checked against.
        batch_delay_seconds: How long a batch stays ``in_progress`` before processing.
        batch_expiry: How long a batch may take before its remaining requests expire.
        clock: Monotonic seconds for prompt-cache expiry (inject to test TTLs).
    """

    def __init__(
        self,
        replies: Sequence[Reply] | ReplyFunction | str | Path | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_keys: Sequence[str] | None = None,
        models: Sequence[ModelEntry] = DEFAULT_MODELS,
        batch_delay_seconds: float = 0.05,
        batch_expiry: timedelta = timedelta(hours=24),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if isinstance(replies, str | Path):
            replies = load_script(replies)
        self.faults = FaultPlan()
        """Faults to inject; add to it at any time, from any thread."""
        self._app = EmulatorApp(
            replies=replies,
            api_keys=frozenset(api_keys) if api_keys is not None else None,
            models=tuple(models),
            faults=self.faults,
            batch_delay_seconds=batch_delay_seconds,
            batch_expiry=batch_expiry,
            clock=clock,
        )
        self._host = host
        self._requested_port = port
        self._port: int | None = None
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.StreamWriter] = set()
        self._thread: threading.Thread | None = None
        self._thread_loop: asyncio.AbstractEventLoop | None = None
        self._thread_stop: asyncio.Event | None = None

    @property
    def requests(self) -> list[dict[str, Any]]:
        """The valid ``POST /v1/messages`` bodies received so far, in order."""
        return self._app.requests

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``, once started."""
        if self._port is None:
            raise RuntimeError("the emulator is not running; start() it first")
        return f"http://{self._host}:{self._port}"

    # -- running inside the caller's event loop ----------------------------------------

    async def astart(self) -> None:
        """Start listening in the running event loop."""
        if self._server is not None:
            raise RuntimeError("the emulator is already running")
        self._server = await asyncio.start_server(
            self._serve_connection, self._host, self._requested_port,
            limit=_STREAM_LIMIT, backlog=_BACKLOG,
        )
        self._port = self._server.sockets[0].getsockname()[1]

    async def astop(self) -> None:
        """Stop listening, close open connections and stop batch processing."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for writer in list(self._connections):
            writer.close()
        await self._app.close()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(server.wait_closed(), timeout=2)
        self._port = None

    async def serve_forever(self) -> None:
        """Serve until cancelled (Ctrl-C on the command line)."""
        if self._server is None:
            await self.astart()
        assert self._server is not None
        try:
            await self._server.serve_forever()
        finally:
            await self.astop()

    async def __aenter__(self) -> Emulator:
        await self.astart()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.astop()

    # -- running in a background thread ------------------------------------------------

    def start(self) -> Emulator:
        """Start serving from a background thread with its own event loop."""
        if self._thread is not None:
            raise RuntimeError("the emulator is already running")
        ready = threading.Event()
        failure: list[BaseException] = []

        async def main() -> None:
            self._thread_loop = asyncio.get_running_loop()
            self._thread_stop = asyncio.Event()
            try:
                await self.astart()
            except Exception as error:  # re-raised by start() in the caller's thread
                failure.append(error)
                ready.set()
                return
            ready.set()
            try:
                await self._thread_stop.wait()
            finally:
                await self.astop()

        self._thread = threading.Thread(target=asyncio.run, args=(main(),),
                                        name="agentcore-emulator", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            self._thread = None
            raise failure[0]
        return self

    def stop(self) -> None:
        """Stop the background thread started by :meth:`start`."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        if self._thread_loop is not None and self._thread_stop is not None:
            self._thread_loop.call_soon_threadsafe(self._thread_stop.set)
        thread.join(timeout=10)

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- the connection loop -----------------------------------------------------------

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._connections.add(writer)
        try:
            while True:
                try:
                    request = await read_request(reader)
                except ProtocolViolation as violation:
                    body = error_body("invalid_request_error", str(violation), new_id("req"))
                    write_response(writer, violation.status, {"content-type": "application/json"},
                                   json.dumps(body).encode(), keep_alive=False)
                    await writer.drain()
                    return
                if request is None:
                    return
                started = time.perf_counter()
                outcome = await self._app.handle(request)
                if _log.is_enabled_for(logging.INFO):
                    _log.info("emulator.request", method=request.method, path=request.path,
                              status=outcome.status if not outcome.reset else None,
                              request_id=outcome.headers.get("request-id"),
                              fault=outcome.injected,
                              reset=outcome.reset,
                              duration_ms=round((time.perf_counter() - started) * 1000, 3))
                if outcome.reset:
                    abort_connection(writer)
                    return
                keep_going = await self._write(writer, outcome, keep_alive=request.keep_alive)
                if not keep_going or not request.keep_alive:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        except asyncio.CancelledError:
            # Shutdown cancels connections mid-request (e.g. during a slow fault); the
            # connection task ends here rather than reporting the cancellation as a failure.
            return
        finally:
            self._connections.discard(writer)
            if not writer.transport.is_closing():
                writer.close()

    async def _write(self, writer: asyncio.StreamWriter, outcome: Outcome, *,
                     keep_alive: bool) -> bool:
        fault = outcome.fault
        if outcome.events is None:
            body = outcome.body
            if fault is not None and fault.kind == "malformed":
                body = body[: max(1, len(body) // 2)]
            write_response(writer, outcome.status, outcome.headers, body, keep_alive=keep_alive)
            await writer.drain()
            return True
        start_chunked(writer, outcome.status, outcome.headers, keep_alive=keep_alive)
        for index, event in enumerate(outcome.events):
            if fault is not None and index == fault.after_events:
                return await self._stream_fault(writer, fault)
            write_chunk(writer, event.encode())
        write_chunk(writer, b"")
        await writer.drain()
        return True

    @staticmethod
    async def _stream_fault(writer: asyncio.StreamWriter, fault: Fault) -> bool:
        if fault.kind == "cut" and not fault.clean_end:
            await writer.drain()
            abort_connection(writer)
            return False
        if fault.kind == "error_event":
            data = {"type": "error", "error": {"type": fault.error_type, "message": fault.message},
                    "request_id": new_id("req")}
            write_chunk(writer, f"event: error\ndata: {json.dumps(data)}\n\n".encode())
        elif fault.kind == "malformed":
            write_chunk(writer, b'event: content_block_delta\ndata: {"type": "content_block_d\n\n')
        write_chunk(writer, b"")
        await writer.drain()
        return True


def _port(text: str) -> int:
    try:
        if not text.isascii():
            raise ValueError(text)
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port (0-65535; 0 picks a free one)")
    return port


def _seconds(text: str) -> float:
    try:
        seconds = float(text) if text.isascii() else math.nan
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 <= seconds < math.inf:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration (0 or more seconds)")
    return seconds


def _api_key(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("an API key cannot be empty")
    return text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the emulator's command-line options to ``parser``."""
    parser.add_argument("--host", default="127.0.0.1",
                        help="interface to bind (default: 127.0.0.1, loopback only)")
    parser.add_argument("--port", type=_port, default=8765,
                        help="TCP port; 0 picks a free one (default: 8765)")
    parser.add_argument("--script", metavar="FILE",
                        help="answer from this JSON/JSONL file of replies instead of the "
                             "demo policy")
    parser.add_argument("--api-key", action="append", dest="api_keys", metavar="KEY",
                        type=_api_key,
                        help="accept only this key (repeatable; default: any non-empty key)")
    parser.add_argument("--fault", action="append", default=[], metavar="SPEC",
                        help="inject a fault: 429[:TIMES], 529, 500, reset, malformed, "
                             "cut-after:N, error-event:N, slow:SECONDS; TIMES is a count "
                             "or '*' (repeatable)")
    parser.add_argument("--batch-delay", type=_seconds, default=0.05, metavar="SECONDS",
                        help="how long batches stay in progress (default: 0.05)")
    parser.add_argument("--log", action="store_true",
                        help="log one emulator.request event per request to stderr")


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C with options from :func:`add_arguments`; prints the URL first."""
    try:
        faults = [Fault.parse(spec) for spec in args.fault]
        emulator = Emulator(args.script, host=args.host, port=args.port,
                            api_keys=args.api_keys, batch_delay_seconds=args.batch_delay)
    except (FaultSpecError, ScriptFileError) as error:
        print(f"agentcore emulator: {error}", file=sys.stderr)
        return 2
    for fault, times in faults:
        emulator.faults.add(fault, times=times)
    if args.log:
        configure(level="INFO")

    async def serve() -> None:
        await emulator.astart()
        print(emulator.base_url, flush=True)
        source = f"script {args.script}" if args.script else "the demo policy (not a model)"
        print(f"agentcore emulator answering from {source}. To use it from another shell, "
              f"paste:\n  export ANTHROPIC_BASE_URL={emulator.base_url}\n"
              "  export ANTHROPIC_API_KEY=emulator-any-key\nCtrl-C stops it.",
              file=sys.stderr, flush=True)
        await emulator.serve_forever()

    try:
        asyncio.run(serve())
    except OSError as error:
        hint = "; --port 0 picks a free port" if args.port else ""
        print(f"agentcore emulator: cannot listen on {args.host}:{args.port}: "
              f"{error.strerror or error}{hint}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m agentcore.emulator``: serve the Messages API on loopback."""
    parser = argparse.ArgumentParser(prog="python -m agentcore.emulator",
                                     description="Serve the Messages API on loopback.")
    add_arguments(parser)
    return run(parser.parse_args(argv))

