"""A settable UTC clock for the ledger's timestamps, leases and backoff (tests never sleep)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


class Clock:
    """Returns `now`; `advance` moves it."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
