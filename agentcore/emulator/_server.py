"""A loopback HTTP server that speaks the Messages API, for offline development and tests.

It serves ``POST /v1/messages`` (JSON and SSE), ``count_tokens``, the models list and the
Message Batches endpoints on 127.0.0.1, checks keys and request shape like the API, bills
usage (with prompt caching) at about four characters per token, enforces an account's rate
limits when given, and injects faults on demand. It is an ASGI application
(:attr:`Emulator.app`) served by uvicorn, or called in-process through
:meth:`Emulator.asgi_transport`. Replies come from a script or from the labelled demo policy
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
import math
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from agentcore.emulator._app import EmulatorApp, ReplyFunction
from agentcore.emulator._asgi import (
    ASGIApp,
    ConnectionDropped,
    EmulatorASGI,
    EmulatorTransport,
    UvicornServer,
    listen_socket,
    serve_config,
)
from agentcore.emulator._faults import Fault, FaultPlan, FaultSpecError
from agentcore.emulator._files import FileStore
from agentcore.emulator._limits import RateLimits, RateLimitSpecError, RateLimitUsage
from agentcore.emulator._script import ScriptFileError, load_script
from agentcore.log import configure
from agentcore.testing._models import DEFAULT_MODELS, ModelEntry
from agentcore.testing._replies import Reply

__all__ = ["ConnectionDropped", "Emulator", "Fault", "FaultPlan", "RateLimitSpecError",
           "RateLimitUsage", "RateLimits", "ScriptFileError", "add_arguments", "load_script",
           "main", "run"]


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
        clock: Monotonic seconds for prompt-cache expiry and rate-limit refill (inject to
            test them).
        limits: The account's rate limits per model id, e.g. ``{"claude-sonnet-4-6":
            RateLimits(requests_per_minute=50, input_tokens_per_minute=30000,
            output_tokens_per_minute=8000)}``: token buckets refilled continuously, a 429
            ``rate_limit_error`` with ``retry-after`` when a request does not fit, and the
            ``anthropic-ratelimit-*`` headers on every answer. Models not named (and all
            models when None) are not limited and announce generous limits.
        files_dir: Where the Files API keeps uploads (read back on start); None keeps them
            in memory.

    Raises:
        RateLimitSpecError: ``limits`` names a model that is not in ``models`` (a typo would
            otherwise leave the intended model unlimited).
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
        files_dir: str | Path | None = None,
        limits: Mapping[str, RateLimits] | None = None,
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
            files=FileStore(Path(files_dir) if files_dir is not None else None),
            limits=dict(limits or {}),
        )
        self._asgi = EmulatorASGI(self._app)
        self._host = host
        self._requested_port = port
        self._port: int | None = None
        self._server: UvicornServer | None = None
        self._serve_task: asyncio.Task[None] | None = None
        self._thread: threading.Thread | None = None
        self._thread_loop: asyncio.AbstractEventLoop | None = None
        self._thread_stop: asyncio.Event | None = None

    @property
    def requests(self) -> list[dict[str, Any]]:
        """The valid ``POST /v1/messages`` bodies received so far, in order."""
        return self._app.requests

    @property
    def files(self) -> FileStore:
        """The Files API's store: inspect uploads, or add a downloadable file
        (:meth:`FileStore.add_generated`) as a server tool would."""
        return self._app.files

    @property
    def app(self) -> ASGIApp:
        """The emulator as an ASGI application (what the server runs), for any ASGI server
        or :class:`httpx.ASGITransport`. A reset fault raises
        :class:`~agentcore.emulator.ConnectionDropped` where there is no socket to reset."""
        return self._asgi

    def asgi_transport(self) -> httpx.AsyncBaseTransport:
        """An httpx transport that calls :attr:`app` in the running event loop, no socket
        needed; a reset fault surfaces as :class:`httpx.ReadError`. For async clients::

            emulator = Emulator([text_reply("Hi!")])
            async with AsyncClient(api_key="test", base_url="http://emulator",
                                   transport=emulator.asgi_transport()) as client:
                ...
        """
        return EmulatorTransport(self._asgi)

    def rate_limit_usage(self, model: str) -> RateLimitUsage:
        """The emulator's own rate-limit accounting for ``model``: admitted and limited
        requests, tokens charged, and the buckets' levels now.

        Raises:
            KeyError: ``model`` has no limits configured.
        """
        return self._app.account.usage(model)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` (an IPv6 host in brackets), once started."""
        if self._port is None:
            raise RuntimeError("the emulator is not running; start() it first")
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._port}"

    # -- running inside the caller's event loop ----------------------------------------

    async def astart(self) -> None:
        """Start listening in the running event loop (uvicorn, on this loop)."""
        if self._server is not None:
            raise RuntimeError("the emulator is already running")
        sock = listen_socket(self._host, self._requested_port)
        server = UvicornServer(serve_config(self._asgi))
        task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
        while not server.started:
            if task.done():
                sock.close()
                task.result()  # raises what stopped the server
                raise RuntimeError("the emulator's server stopped while starting")
            await asyncio.sleep(0.002)
        self._server, self._serve_task = server, task
        self._port = sock.getsockname()[1]

    async def astop(self) -> None:
        """Stop listening, finish or drop open connections and stop batch processing."""
        server, self._server = self._server, None
        task, self._serve_task = self._serve_task, None
        if server is None or task is None:
            return
        server.request_exit()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        self._port = None

    async def serve_forever(self) -> None:
        """Serve until cancelled (Ctrl-C on the command line)."""
        if self._server is None:
            await self.astart()
        assert self._serve_task is not None
        try:
            await asyncio.shield(self._serve_task)
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


def _limits(text: str) -> tuple[str, RateLimits]:
    try:
        return RateLimits.parse(text)
    except RateLimitSpecError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


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
    parser.add_argument("--limits", action="append", default=[], type=_limits,
                        metavar="MODEL=LIMITS",
                        help="enforce an account's rate limits for a model, e.g. "
                             "claude-sonnet-4-6=50rpm,30000itpm,8000otpm (requests, input "
                             "and output tokens per minute; repeatable, one per model)")
    parser.add_argument("--batch-delay", type=_seconds, default=0.05, metavar="SECONDS",
                        help="how long batches stay in progress (default: 0.05)")
    parser.add_argument("--files-dir", metavar="DIR",
                        help="keep Files API uploads in DIR (default: in memory)")
    parser.add_argument("--log", action="store_true",
                        help="log one emulator.request event per request to stderr")


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C with options from :func:`add_arguments`; prints the URL first."""
    models = [model for model, _ in args.limits]
    repeated = sorted({model for model in models if models.count(model) > 1})
    if repeated:
        print(f"agentcore emulator: --limits given more than once for {', '.join(repeated)}; "
              "put all of a model's limits in one spec", file=sys.stderr)
        return 2
    try:
        faults = [Fault.parse(spec) for spec in args.fault]
        emulator = Emulator(args.script, host=args.host, port=args.port,
                            api_keys=args.api_keys, batch_delay_seconds=args.batch_delay,
                            files_dir=args.files_dir, limits=dict(args.limits))
    except (FaultSpecError, ScriptFileError, RateLimitSpecError) as error:
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

