"""The retry decision, without I/O: given what went wrong, wait how long, or give up.

The same :class:`RetryPolicy` serves :class:`~agentcore.client.Client` and
:class:`~agentcore.client.AsyncClient`; the clients only do the waiting. Whether an error is
worth retrying at all is a property of the error (``is_retryable``, which already folds in the
server's ``x-should-retry`` verdict); this module adds the budget and the delay.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from agentcore.errors import AgentcoreError, APIStatusError

__all__ = ["RetryPolicy", "parse_retry_after", "parse_should_retry"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many times to retry and how long to wait before each retry.

    Without a server hint the delay grows exponentially from ``initial_delay_seconds`` up to
    ``max_delay_seconds``, less up to ``jitter`` of itself at random so that many clients
    failing together do not retry in lockstep. A server hint (``retry-after-ms`` or
    ``retry-after``) is followed exactly, up to ``max_retry_after_seconds``.
    """

    max_retries: int = 2
    """Retries after the first attempt; 0 disables retrying."""
    initial_delay_seconds: float = 0.5
    max_delay_seconds: float = 8.0
    jitter: float = 0.25
    max_retry_after_seconds: float = 60.0
    """The longest server hint we wait for; a longer one is cut to this."""

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be 0 or more, not {self.max_retries}")

    def delay_before_retry(
        self, retries_done: int, error: AgentcoreError, rng: random.Random
    ) -> float | None:
        """Seconds to wait before retrying after ``error``, or None to give up.

        Args:
            retries_done: Retries already made for this request (0 after the first attempt).
            error: What the last attempt ended with.
            rng: The source of jitter (seed it in tests for exact delays).
        """
        if retries_done >= self.max_retries or not getattr(error, "is_retryable", False):
            return None
        hint = error.retry_after_seconds if isinstance(error, APIStatusError) else None
        if hint is not None and hint >= 0:
            return min(hint, self.max_retry_after_seconds)
        backoff = min(self.initial_delay_seconds * 2.0**retries_done, self.max_delay_seconds)
        return backoff * (1.0 - self.jitter * rng.random())


def parse_should_retry(headers: Mapping[str, str]) -> bool | None:
    """The server's ``x-should-retry`` verdict: True, False, or None when absent or unclear."""
    value = headers.get("x-should-retry")
    if value == "true":
        return True
    if value == "false":
        return False
    return None


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asks us to wait, from ``retry-after-ms`` or else ``retry-after``.

    ``retry-after`` may be a number of seconds (a float is accepted) or an HTTP date. A date
    is measured against the response's own ``date`` header when it has one, so a skewed local
    clock does not distort the wait, and against the local clock otherwise. Unreadable
    values count as no hint.
    """
    milliseconds = headers.get("retry-after-ms")
    if milliseconds is not None:
        try:
            return float(milliseconds) / 1000.0
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    retry_at = _http_date_timestamp(value)
    if retry_at is None:
        return None
    server_date = headers.get("date")
    now = _http_date_timestamp(server_date) if server_date else None
    return retry_at - (time.time() if now is None else now)


def _http_date_timestamp(value: str) -> float | None:
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None
