"""Progress lines for long reads: `label: 1,200/20,000 (6%)`, at most one every few seconds."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class ProgressLog:
    """A callable `(done, total)` that writes a progress line through `write`, throttled to one line
    per `interval` seconds (the first and the last are always written). Thread-safe."""

    def __init__(self, write: Callable[[str], None], label: str, interval: float = 2.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.write = write
        self.label = label
        self.interval = interval
        self.clock = clock
        self._last = float("-inf")
        self._lock = threading.Lock()

    def __call__(self, done: int, total: int) -> None:
        with self._lock:
            now = self.clock()
            if done < total and now - self._last < self.interval:
                return
            self._last = now
        percent = f" ({done * 100 // total}%)" if total else ""
        self.write(f"{self.label}: {done:,}/{total:,}{percent}")
