"""Faults the emulator can inject, from Python or from the command line.

::

    emulator.faults.add(Fault.rate_limit(retry_after=0.01), times=2)
    emulator.faults.add(Fault.stream_cut(after_events=5))

On the command line a fault is ``KIND[:ARG][:TIMES]`` (``429:2``, ``cut-after:5``,
``slow:0.5:3``, ``500:*`` for every request); see :meth:`Fault.parse`.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["Fault", "FaultPlan", "FaultSpecError"]

FaultKind = Literal["status", "reset", "cut", "error_event", "malformed", "slow"]

_STREAM_ONLY: frozenset[str] = frozenset({"cut", "error_event"})


class FaultSpecError(ValueError):
    """A command-line fault spec that cannot be understood."""


@dataclass(frozen=True, slots=True)
class Fault:
    """One misbehaviour of the server. Build it with the class methods."""

    kind: FaultKind
    status: int = 0
    error_type: str = ""
    message: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    after_events: int = 0
    """For stream faults and malformed streams: how many good events come first."""
    clean_end: bool = False
    """For a stream cut: end the body properly (no ``message_stop``) instead of a reset."""
    delay_seconds: float = 0.0

    @property
    def label(self) -> str:
        """The fault as the command line spells it (``429``, ``slow:2``, ``cut-after:5``)."""
        if self.kind == "status":
            return str(self.status)
        if self.kind == "slow":
            return f"slow:{self.delay_seconds:g}"
        if self.kind == "cut":
            return f"cut-after:{self.after_events}"
        if self.kind == "error_event":
            return f"error-event:{self.after_events}"
        return self.kind

    @property
    def streams_only(self) -> bool:
        """Whether the fault only applies to ``"stream": true`` requests."""
        return self.kind in _STREAM_ONLY

    @classmethod
    def error(
        cls,
        status: int,
        error_type: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
    ) -> Fault:
        """An error response with this status and ``error.type``."""
        return cls("status", status=status, error_type=error_type, message=message,
                   headers=tuple((headers or {}).items()))

    @classmethod
    def rate_limit(cls, retry_after: float = 1.0) -> Fault:
        """429 ``rate_limit_error`` with ``retry-after`` (seconds) and ``retry-after-ms``."""
        return cls.error(
            429, "rate_limit_error",
            "Number of request tokens has exceeded your per-minute rate limit",
            headers={"retry-after": f"{retry_after:g}",
                     "retry-after-ms": f"{retry_after * 1000:g}",
                     "x-should-retry": "true"},
        )

    @classmethod
    def overloaded(cls) -> Fault:
        """529 ``overloaded_error``."""
        return cls.error(529, "overloaded_error", "Overloaded",
                         headers={"x-should-retry": "true"})

    @classmethod
    def server_error(cls) -> Fault:
        """500 ``api_error``."""
        return cls.error(500, "api_error", "Internal server error",
                         headers={"x-should-retry": "true"})

    @classmethod
    def connection_reset(cls) -> Fault:
        """Read the request, then drop the connection with a TCP reset and no response."""
        return cls("reset")

    @classmethod
    def stream_cut(cls, after_events: int, *, clean_end: bool = False) -> Fault:
        """Send ``after_events`` SSE events, then reset the connection (or end the body
        without ``message_stop`` when ``clean_end``)."""
        return cls("cut", after_events=after_events, clean_end=clean_end)

    @classmethod
    def error_event(
        cls, after_events: int, *, error_type: str = "overloaded_error",
        message: str = "Overloaded",
    ) -> Fault:
        """Send ``after_events`` SSE events, then an ``error`` event, then end the stream."""
        return cls("error_event", error_type=error_type, message=message,
                   after_events=after_events)

    @classmethod
    def malformed_json(cls, after_events: int = 2) -> Fault:
        """A 200 whose JSON body is cut off; in a stream, an event whose data is not JSON
        after ``after_events`` good ones."""
        return cls("malformed", after_events=after_events)

    @classmethod
    def slow(cls, delay_seconds: float) -> Fault:
        """Wait ``delay_seconds`` before answering (then answer normally)."""
        return cls("slow", delay_seconds=delay_seconds)

    @classmethod
    def parse(cls, spec: str) -> tuple[Fault, int | None]:
        """Parse a command-line spec into a fault and how many times it fires (None: always).

        Forms: ``429[:TIMES]`` (also ``529``, ``500`` and other 4xx/5xx codes),
        ``reset[:TIMES]``, ``malformed[:TIMES]``, ``cut-after:N[:TIMES]``,
        ``error-event:N[:TIMES]``, ``slow:SECONDS[:TIMES]``. TIMES is a count or ``*``.
        """
        parts = spec.strip().lower().split(":")
        kind, args = parts[0], parts[1:]
        takes_argument = kind in ("cut-after", "error-event", "slow")
        if takes_argument and not args:
            raise FaultSpecError(f"fault {spec!r}: {kind} needs an argument, e.g. {kind}:3")
        argument = args[0] if takes_argument else None
        rest = args[1:] if takes_argument else args
        if len(rest) > 1:
            raise FaultSpecError(f"fault {spec!r}: expected KIND[:ARG][:TIMES]")
        times = _parse_times(spec, rest[0] if rest else "1")
        if kind.isascii() and kind.isdigit():
            return _status_fault(spec, int(kind)), times
        try:
            if argument is not None and not argument.isascii():
                raise ValueError(argument)
            if kind == "reset":
                return cls.connection_reset(), times
            if kind == "malformed":
                return cls.malformed_json(), times
            if kind == "cut-after":
                return cls.stream_cut(int(argument or "")), times
            if kind == "error-event":
                return cls.error_event(int(argument or "")), times
            if kind == "slow":
                delay_seconds = float(argument or "")
                if not 0 <= delay_seconds < math.inf:
                    raise ValueError(argument)
                return cls.slow(delay_seconds), times
        except ValueError:
            raise FaultSpecError(f"fault {spec!r}: {argument!r} is not a number") from None
        raise FaultSpecError(
            f"fault {spec!r}: unknown kind {kind!r}; use a status code (429, 529, 500…), "
            "reset, malformed, cut-after:N, error-event:N or slow:SECONDS"
        )


_ERROR_TYPES = {
    400: "invalid_request_error", 401: "authentication_error", 402: "billing_error",
    403: "permission_error", 404: "not_found_error", 413: "request_too_large",
    429: "rate_limit_error", 500: "api_error", 504: "timeout_error", 529: "overloaded_error",
}


def _status_fault(spec: str, status: int) -> Fault:
    if status == 429:
        return Fault.rate_limit(retry_after=0.05)
    if status == 529:
        return Fault.overloaded()
    if status == 500:
        return Fault.server_error()
    if not 400 <= status <= 599:
        raise FaultSpecError(f"fault {spec!r}: {status} is not an error status (400-599)")
    error_type = _ERROR_TYPES.get(status, "api_error")
    return Fault.error(status, error_type, f"Injected {status} {error_type}")


def _parse_times(spec: str, text: str) -> int | None:
    if text == "*":
        return None
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise FaultSpecError(f"fault {spec!r}: times must be a positive count or '*'")
    return int(text)


@dataclass(slots=True)
class _Rule:
    fault: Fault
    remaining: int | None
    path: str | None
    skip: int


@dataclass(slots=True)
class FaultPlan:
    """The faults waiting to fire, in the order they were added. Safe to use from any thread.

    Each request takes the first rule that matches its path (and, for stream faults, is a
    stream); a rule fires ``times`` times, after letting ``skip`` matching requests pass.
    """

    _rules: list[_Rule] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    fired: list[tuple[str, Fault]] = field(default_factory=list)
    """Every fault that fired, with the request path, in order."""

    def add(
        self,
        fault: Fault,
        *,
        times: int | None = 1,
        path: str | None = "/v1/messages",
        skip: int = 0,
    ) -> None:
        """Inject ``fault`` into the next ``times`` matching requests (None: all of them).

        Args:
            fault: What to do instead of (or before) answering.
            times: How many requests it hits; None for every matching request.
            path: Only requests to this path; None for any path.
            skip: Let this many matching requests through untouched first.
        """
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (or None for every request)")
        with self._lock:
            self._rules.append(_Rule(fault, times, path, skip))

    def clear(self) -> None:
        """Remove every pending fault."""
        with self._lock:
            self._rules.clear()

    @property
    def pending(self) -> int:
        """How many rules can still fire."""
        with self._lock:
            return len(self._rules)

    def take(self, path: str, *, is_stream: bool) -> Fault | None:
        """The fault for this request, if any; consumes one use of its rule."""
        if not self._rules:
            return None
        with self._lock:
            for rule in self._rules:
                if rule.path is not None and rule.path != path:
                    continue
                if rule.fault.streams_only and not is_stream:
                    continue
                if rule.skip:
                    rule.skip -= 1
                    return None
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        self._rules.remove(rule)
                self.fired.append((path, rule.fault))
                return rule.fault
        return None
