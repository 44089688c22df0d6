"""What becomes of a record that failed: one policy for every flow (DESIGN principle 12).

A failed record waits before its next attempt, longer after each failure up to a cap, and after
`give_up_after` failed attempts it is dead-lettered (reason `gave_up`, the last error as message)
instead of being retried for ever. `Ledger.mark_failed` applies the policy and `Ledger.pending`
returns only records that are due, never-attempted ones first, so a record that keeps failing
neither burns quota on every run nor delays newer records.

Only a record's own failures are charged here: a run that meets a systemic outage (the other
system down or throttling) stops without charging the records it could not really try (the
circuit breaker in `sync/fate.py`), so the backoff can stay short: a record never waits longer
than `cap` once the outage is over.

Pure: no I/O, no clock; the ledger supplies `now`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

_MAX_DOUBLINGS = 1000  # 2.0 ** 1000 is still a finite float; beyond it every delay is the cap anyway


def key_fraction(key: str) -> float:
    """A number in [0, 1) fixed by `key`: the first 8 bytes of SHA-256(key), over 2**64."""
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff with a cap and a give-up limit. With n the number of failed attempts so far (n >= 1):

        delay(n, key) = min(cap, first_delay * 2**(n - 1)) * (1 - jitter * key_fraction(key))
        gives_up(n)   = n >= give_up_after

    The jitter only shortens a delay, so no delay exceeds `cap`, and it depends on the key alone,
    so one record's delays never shrink from one failure to the next (they double until the cap)
    while records that failed together (a fault storm) come back spread over time. Deterministic:
    the same key and count always give the same delay.

    Defaults (`DEFAULT_POLICY`): after failures 1 to 9 a record waits 5, 10, 20, 20, ... 20 s,
    each up to 20 % shorter; the 10th failure dead-letters it, 2 to 2.6 minutes after the first.
    The numbers come from the target "after faults stop, every record settles within 60 s": a
    record waits at most 20 s, then the flow's sensor (10 to 30 s) starts a run. Ten failures
    of its own in a row, while the other system answers the records around it (an outage
    charges nothing), mean the record needs a person (the dead-letter queue and its replay
    job), not more quota.
    """

    first_delay: timedelta = timedelta(seconds=5)
    cap: timedelta = timedelta(seconds=20)
    give_up_after: int = 10
    jitter: float = 0.2

    def __post_init__(self) -> None:
        for name in ("first_delay", "cap"):
            if not isinstance(getattr(self, name), timedelta):
                raise TypeError(f"{name} must be a timedelta, not {type(getattr(self, name)).__name__}")
        if self.first_delay < timedelta(0):
            raise ValueError(f"first_delay must be >= 0, not {self.first_delay}")
        if self.cap < self.first_delay:
            raise ValueError(f"cap ({self.cap}) must be >= first_delay ({self.first_delay})")
        if isinstance(self.give_up_after, bool) or not isinstance(self.give_up_after, int) or self.give_up_after < 1:
            raise ValueError(f"give_up_after must be an integer >= 1, not {self.give_up_after!r}")
        if isinstance(self.jitter, bool) or not isinstance(self.jitter, int | float) or not 0 <= self.jitter < 1:
            raise ValueError(f"jitter must be a number in [0, 1), not {self.jitter!r}")

    def delay(self, attempts: int, key: str = "") -> timedelta:
        """How long a record keyed `key` waits after its `attempts`-th failed attempt."""
        _check_attempts(attempts)
        doublings = min(attempts - 1, _MAX_DOUBLINGS)
        seconds = min(self.cap.total_seconds(), self.first_delay.total_seconds() * 2.0**doublings)
        return timedelta(seconds=seconds * (1 - self.jitter * key_fraction(key)))

    def gives_up(self, attempts: int) -> bool:
        """Whether the `attempts`-th failed attempt sends the record to the dead-letter queue."""
        _check_attempts(attempts)
        return attempts >= self.give_up_after


def _check_attempts(attempts: int) -> None:
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
        raise ValueError(f"attempts counts failed attempts and starts at 1, not {attempts!r}")


#: The policy of every flow.
DEFAULT_POLICY = RetryPolicy()

@dataclass(frozen=True)
class Fate:
    """What `Ledger.mark_failed` decided for one record: retried at `retry_at`, or dead-lettered
    (`dead_letter_id`; `retry_at` is None). `attempts` counts its failed attempts so far."""

    attempts: int
    retry_at: datetime | None
    dead_letter_id: int | None = None

    @property
    def dead_lettered(self) -> bool:
        return self.dead_letter_id is not None
