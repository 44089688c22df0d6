"""Brightpearl's request quota: a rolling window per account (200 requests / 60 s by default).

Every API response carries `brightpearl-requests-remaining` (quota minus the requests in the
window, never negative) and `brightpearl-next-throttle-period` (milliseconds until the oldest
request in the window leaves it, so until one more request is allowed once over quota).

Refused (503) requests are NOT added to the window: the docs only say the account is blocked
"for the rest of the rolling minute", and counting only accepted requests means a client that
waits `brightpearl-next-throttle-period` ms after a 503 is always served again. A well-behaved
client must not rely on this either way (it should pace itself from the remaining header).
Requests answered 401/4xx/5xx by the API itself are accepted requests and do count (the
recorded 401s show `brightpearl-requests-remaining` going down).
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Callable

DEFAULT_QUOTA = 200
DEFAULT_WINDOW_SECONDS = 60.0


@dataclass(frozen=True)
class ThrottleDecision:
    allowed: bool
    remaining: int
    next_period_ms: int

    def headers(self) -> list[tuple[bytes, bytes]]:
        return [
            (b"brightpearl-requests-remaining", str(self.remaining).encode()),
            (b"brightpearl-next-throttle-period", str(self.next_period_ms).encode()),
        ]


class Throttle:
    """Rolling-window limiter. `clock` returns seconds (monotonic by default; injectable in tests)."""

    def __init__(
        self,
        quota: int = DEFAULT_QUOTA,
        window_seconds: float = DEFAULT_WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._hits: deque[float] = deque()
        self.quota = quota
        self.window_seconds = window_seconds
        self.configure(quota, window_seconds)

    def configure(self, quota: int, window_seconds: float) -> None:
        if int(quota) < 1:
            raise ValueError("quota must be at least 1")
        if not float(window_seconds) > 0:
            raise ValueError("window_seconds must be positive")
        self.quota = int(quota)
        self.window_seconds = float(window_seconds)
        self._hits.clear()

    def _purge(self, now: float) -> None:
        horizon = now - self.window_seconds
        hits = self._hits
        while hits and hits[0] <= horizon:
            hits.popleft()

    def _next_period_ms(self, now: float) -> int:
        if not self._hits:
            return int(self.window_seconds * 1000)
        return max(0, int(round((self._hits[0] + self.window_seconds - now) * 1000)))

    def check(self) -> ThrottleDecision:
        """Count one request if the quota allows it; say whether it was allowed."""
        now = self._clock()
        self._purge(now)
        if len(self._hits) >= self.quota:
            return ThrottleDecision(False, 0, self._next_period_ms(now))
        self._hits.append(now)
        return ThrottleDecision(True, max(0, self.quota - len(self._hits)), self._next_period_ms(now))

    def peek(self) -> ThrottleDecision:
        """The current state without counting a request."""
        now = self._clock()
        self._purge(now)
        remaining = max(0, self.quota - len(self._hits))
        return ThrottleDecision(remaining > 0, remaining, self._next_period_ms(now))

    def snapshot(self) -> dict:
        state = self.peek()
        return {
            "quota": self.quota,
            "window_seconds": self.window_seconds,
            "requests_in_window": len(self._hits),
            "remaining": state.remaining,
            "next_throttle_period_ms": state.next_period_ms,
        }
