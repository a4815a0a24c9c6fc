"""A sliding-window rate limit per key (a widget session, a channel user)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class RateLimiter:
    """A sliding window per key: at most `limit` events in any `window` seconds."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._limit = limit
        self._window = window
        self._clock = clock
        self._events: dict[str, deque[float]] = {}

    def retry_after(self, key: str) -> float:
        """Count an event for `key`: 0 when allowed, else the seconds until one would be."""
        now = self._clock()
        if len(self._events) > 10_000:
            self._forget_idle(now)
        events = self._events.setdefault(key, deque())
        while events and events[0] <= now - self._window:
            events.popleft()
        if len(events) >= self._limit:
            return max(0.1, events[0] + self._window - now)
        events.append(now)
        return 0.0

    def _forget_idle(self, now: float) -> None:
        # Bounded memory: sessions with no event inside the window need no record.
        for key in [k for k, v in self._events.items() if not v or v[-1] <= now - self._window]:
            del self._events[key]
