"""One token bucket, kept as GCRA does: the time at which it would be full again.

Holding that one instant instead of a level makes booking ahead exact: a request booked for
later moves the instant forward, and what a bucket holds at any moment, negative while
requests queue on it, follows from it.
"""

from __future__ import annotations

import math

__all__ = ["TokenBucket"]


class TokenBucket:
    """A bucket refilled continuously at ``capacity`` per ``window_s`` seconds.

    ``capacity`` and ``rate`` (units per second) are None until the limit is known; an
    unknown bucket never holds a request back.
    """

    __slots__ = ("capacity", "full_at", "in_flight", "queued", "rate", "window_s")

    def __init__(self, window_s: float, capacity: float | None, now: float) -> None:
        self.window_s = window_s
        self.capacity: float | None = None
        self.rate: float | None = None
        self.full_at = now
        self.queued = 0.0
        """Booked by requests still waiting to be sent."""
        self.in_flight = 0.0
        """Booked by requests sent and not yet answered."""
        if capacity is not None:
            self.set_capacity(capacity, now)

    def level(self, now: float) -> float:
        """What the bucket holds now; negative while requests are queued on it."""
        if self.capacity is None or self.rate is None:
            return math.inf
        return self.capacity - self.rate * max(0.0, self.full_at - now)

    def set_level(self, level: float, now: float) -> None:
        if self.capacity is not None and self.rate is not None:
            self.full_at = now + (self.capacity - min(level, self.capacity)) / self.rate

    def set_capacity(self, capacity: float, now: float) -> None:
        level = self.level(now)
        self.capacity = capacity
        self.rate = capacity / self.window_s
        self.set_level(capacity if level == math.inf else level, now)

    def earliest(self, cost: float, now: float) -> float:
        """The first moment the bucket can pay ``cost`` (a cost above the capacity waits
        for a full bucket)."""
        if self.rate is None or self.capacity is None or cost <= 0:
            return now
        cost = min(cost, self.capacity)
        return self.full_at + (cost - self.capacity) / self.rate

    def book(self, cost: float, start: float) -> None:
        if self.rate is not None and cost > 0:
            self.full_at = max(self.full_at, start) + cost / self.rate
        self.queued += cost

    def adjust(self, delta: float, now: float) -> None:
        """Take ``delta`` more (give back when negative) for a request already paid."""
        if self.rate is None or delta == 0:
            return
        if delta > 0:
            self.full_at = max(self.full_at, now) + delta / self.rate
        else:
            self.full_at += delta / self.rate

    def resync(self, remaining: int, now: float) -> None:
        """Follow the server's count when it is lower than requests in flight explain.

        The server has counted at most every request sent, and none of those still queued
        here, so fewer remaining than ``level + queued`` means someone else uses the
        account. A higher count is not followed: responses overtake each other, so it may
        be older than what this bucket already knows (usage corrects the estimates).
        """
        floor = remaining - self.queued
        if floor < self.level(now):
            self.set_level(floor, now)
