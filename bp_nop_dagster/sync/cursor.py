"""What every polling sensor keeps between ticks (pure, no I/O).

Each sensor reads a closed window from `watermark - overlap` to now and hands on what it has not
handed on yet; `seen` holds the keys (ids, or `id@updatedOn` tokens) of rows inside the overlap
that were already handed on, so the overlap re-reads them without handing them on twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


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
