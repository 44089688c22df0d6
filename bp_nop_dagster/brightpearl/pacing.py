"""Client-side pacing for Brightpearl's request quota (DESIGN principle 3).

Brightpearl allows `quota` requests per rolling `window_seconds` per account (200 / 60 s), shared
by every private app of the account; over it the API answers 503 for the rest of the window.
`QuotaPacer` keeps two promises, checked before every HTTP request:

(a) its own budget: it remembers when it let each request go and never lets more than
    `floor(quota * (1 - headroom))` go within any sliding window of `window_seconds`;
(b) the server's word: after every response it reads `brightpearl-requests-remaining` and
    `brightpearl-next-throttle-period` (milliseconds); when the remaining count is at or below
    the headroom reserve (`quota * headroom`; other apps of the account may be using the pool) it
    holds further requests until that period has passed (capped by `transport.limits`; a
    period that is unreadable, negative or not finite counts as the whole window).

A 503 itself is handled by the retry policy (it waits `ThrottledError.retry_after`, the server's
period); the pacer also learns from the 503's headers, so it does not send early afterwards.

Window membership is half-open: a request let go at `t` counts against every instant `now`
with `t <= now < t + window_seconds`.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping

from bp_nop_dagster.transport.limits import server_wait

log = logging.getLogger("bp_nop_dagster.brightpearl.pacing")

REMAINING_HEADER = "brightpearl-requests-remaining"
NEXT_PERIOD_HEADER = "brightpearl-next-throttle-period"


class QuotaPacer:
    """Sliding-window limiter plus server-header back-off. Thread-safe; waits by `sleep`."""

    def __init__(
        self,
        quota: int = 200,
        window_seconds: float = 60.0,
        headroom: float = 0.10,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if int(quota) < 1:
            raise ValueError("quota must be at least 1")
        if not float(window_seconds) > 0:
            raise ValueError("window_seconds must be positive")
        if not 0.0 <= float(headroom) < 1.0:
            raise ValueError("headroom must be in [0, 1)")
        self.quota = int(quota)
        self.window_seconds = float(window_seconds)
        self.headroom = float(headroom)
        # Own budget per window; at least one request, or nothing could ever be sent.
        self.limit = max(1, math.floor(self.quota * (1.0 - self.headroom)))
        # The server's remaining count at or below which we stop and wait for the period.
        self.reserve = self.quota * self.headroom
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._blocked_until = float("-inf")
        self._lock = threading.Lock()
        self.waited_seconds = 0.0
        self.waits = 0

    # -- before a request ----------------------------------------------------------------------
    def acquire(self) -> float:
        """Block until one more request may go, record it, and return how long it waited."""
        with self._lock:
            now = self._clock()
            waited = 0.0
            while True:
                self._purge(now)
                deadline = now
                if self._blocked_until > deadline:
                    deadline = self._blocked_until
                if len(self._sent) >= self.limit:
                    # The request that must leave the window for one more to fit.
                    deadline = max(deadline, self._sent[len(self._sent) - self.limit] + self.window_seconds)
                if deadline <= now:
                    break
                wait = deadline - now
                log.debug("Brightpearl pacing: waiting %.3f s", wait)
                self._sleep(wait)
                waited += wait
                after = self._clock()
                # A clock that fell just short of the deadline (a float sum an ulp short, clock
                # granularity) makes the loop sleep the rest. A clock that hardly moved means a
                # sleep that does not really wait (tests' recorders): trust it as if it had
                # (virtual time) instead of spinning until the real deadline.
                now = after if after >= deadline or after - now >= wait / 2 else deadline
            self._sent.append(now)
            if waited:
                self.waits += 1
                self.waited_seconds += waited
            return waited

    # -- after a response ----------------------------------------------------------------------
    def observe(self, headers: Mapping[str, str]) -> None:
        """Learn from a response's `brightpearl-requests-remaining` / `-next-throttle-period`."""
        remaining = _int_header(headers, REMAINING_HEADER)
        if remaining is None or remaining > self.reserve:
            return
        period = server_wait(headers.get(NEXT_PERIOD_HEADER), unit_seconds=0.001)
        self.block_for(self.window_seconds if period is None else period)

    def block_for(self, seconds: float) -> None:
        """Hold every request until `seconds` from now (e.g. a 503's throttle period)."""
        with self._lock:
            until = self._clock() + max(0.0, float(seconds))
            if until > self._blocked_until:
                self._blocked_until = until

    # -- introspection -------------------------------------------------------------------------
    def in_window(self) -> int:
        """Requests this pacer let go within the current window."""
        with self._lock:
            self._purge(self._clock())
            return len(self._sent)

    def _purge(self, now: float) -> None:
        sent = self._sent
        while sent and sent[0] + self.window_seconds <= now:
            sent.popleft()

    def __repr__(self) -> str:
        return f"QuotaPacer(quota={self.quota}, window_seconds={self.window_seconds}, headroom={self.headroom}, limit={self.limit})"


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return int(number) if math.isfinite(number) else None
