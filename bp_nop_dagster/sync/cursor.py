"""What every polling sensor keeps between ticks (pure, no I/O).

Each sensor reads a closed window from `watermark - overlap` to now and hands on what it has not
handed on yet; `seen` holds the keys (ids, or `id@updatedOn` tokens) of rows inside the overlap
that were already handed on, so the overlap re-reads them without handing them on twice.

A watermark taken from the other system's data (its newest timestamp) goes through
`cap_watermark`: one row dated in the future must not move the window past the rows still to come.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

#: How far ahead of our clock the other system's clock may run before its timestamps are
#: distrusted. Must stay below every reader's overlap (stock: 2 min, orders and fulfilment: 5 min).
WATERMARK_SKEW = timedelta(minutes=1)


def utcnow() -> datetime:
    return datetime.now(UTC)


def cap_watermark(value: datetime, now: datetime, skew: timedelta = WATERMARK_SKEW) -> datetime:
    """`value`, but never later than `now + skew`.

    A source timestamp in the future (a goods movement dated 2099) would otherwise become the
    watermark and the next window would start after every real change still to come. With the
    cap the next window starts at most `skew - overlap` after `now`, that is before now when
    `skew` is below the reader's overlap, so nothing is skipped; the future-dated row is re-read
    each tick and de-duplicated by `seen`."""
    if value.tzinfo is None or now.tzinfo is None:
        raise ValueError("cap_watermark needs timezone-aware datetimes")
    if skew < timedelta(0):
        raise ValueError("skew must be >= 0")
    return min(value, now + skew)


@dataclass
class SensorCursor:
    """A sensor's watermark (None before the first tick) and the keys seen inside its overlap."""

    watermark: datetime | None = None
    seen: set[int | str] = field(default_factory=set)

    @classmethod
    def parse(cls, raw: str | None) -> SensorCursor:
        if not raw:
            return cls()
        data = json.loads(raw)
        watermark = data.get("watermark")
        return cls(watermark=datetime.fromisoformat(watermark) if watermark else None, seen=set(data.get("seen", [])))

    def dumps(self) -> str:
        return json.dumps({"watermark": self.watermark.isoformat() if self.watermark else None, "seen": sorted(self.seen)})
