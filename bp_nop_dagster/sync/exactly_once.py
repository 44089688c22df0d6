"""Exactly-once writes shared by every flow (DESIGN principle 1): a write-ahead intent in the
ledger around each create or state-changing call, and creates whose unknown outcome is resolved
by a natural-key lookup before any new attempt.

Leases (DESIGN principle 12): while a run holds an intent, a background thread renews its lease
every third of the lease (`LeaseKeeper`), so a slow call (a create waiting out throttling and
retries for minutes) never loses it; when the run leaves the record without an outcome, the
lease ends at once (`Ledger.release_intent`), so the next run to reach the record starts without
waiting. Only a run that is killed outright keeps a record blocked, for at most one lease. Renewing from a thread rather than before each call is what
covers one call that outlasts the lease; the thread is stopped and joined before the intent is
released or completed.

Lookups in bulk (`BulkAnswers`): a flow that works on many records in passes answers the
natural-key lookups of every record whose earlier create's outcome is unknown with one search
before the pass, instead of one lookup each; such a flow creates with `settle_later`, so an
unknown outcome leaves the record to that search (`Unsettled`) rather than spending a lookup on
it at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Generic, TypeVar

from bp_nop_dagster.ledger import DEFAULT_LEASE_SECONDS, Intent, IntentClaim, LeaseLost, Ledger, stored_key
from bp_nop_dagster.transport.errors import OutcomeUnknownError, ValidationError

log = logging.getLogger("bp_nop_dagster.sync.exactly_once")

CREATE_ATTEMPTS = 3  # creates retried after an unknown outcome (each after a natural-key lookup)
T = TypeVar("T")


class Deferred(Exception):
    """The record cannot be finished in this run (its create's outcome is still unknown, or it
    waits on another record): a failed attempt, retried by a later run (`sync/fate.py`)."""


class Unsettled(Deferred):
    """The create's outcome is unknown and its caller settles it later, with the lookups it
    answers in bulk before its next pass (`create_once(settle_later=True)`): the intent stays
    open (released), so the next attempt looks the record up before writing."""


class BulkAnswers(Generic[T]):
    """Natural-key lookups answered ahead of a pass, by one search for many records (`put`), each
    used by at most one lookup (`lookup`). An answer stands only while the record's intent is
    as it was when the search ran, then taken by this run: `Intent.attempts` counts each taking,
    so one more than when the search ran means nobody else attempted the record in between;
    otherwise (or with no answer) the record is looked up on its own."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._answers: dict[tuple[str, str], tuple[int, T | None]] = {}
        self.used = 0

    def put(self, intent: Intent, answer: T | None) -> None:
        """What the search found for the record whose intent is `intent` (None: not created)."""
        self._answers[(intent.kind, intent.nop_key)] = (intent.attempts, answer)

    def lookup(self, kind: str, key: str, fetch: Callable[[], T | None]) -> T | None:
        """The answer put for the record, if it still stands, else `fetch()` (its own lookup)."""
        held = self._answers.pop((kind, stored_key(key)), None)
        if held is not None:
            attempts, answer = held
            intent = self.ledger.intent(kind, key)
            if intent is not None and intent.attempts == attempts + 1:
                self.used += 1
                return answer
        return fetch()


class Held(Deferred):
    """Another run holds the record's intent (or took it over after this run's lease lapsed):
    that run settles it; this one leaves it without charging it an attempt, until `until` (the
    holder's lease end, when known): if the holder died, the record is due once its lease ends."""

    def __init__(self, message: str, until: datetime | None = None) -> None:
        super().__init__(message)
        self.until = until


class LeaseKeeper:
    """Renews one intent's lease from a daemon thread every `every` seconds (default a third of
    the lease) until stopped; `with` starts it and stops and joins it. When the ledger says the
    owner no longer holds the intent (taken over after a lapse), it stops renewing and sets
    `lost`; the owner learns it when it completes (`LeaseLost`). A renewal that fails (the
    database briefly unreachable) is logged and tried again at the next beat."""

    def __init__(self, ledger: Ledger, kind: str, key: str, owner: str, lease_seconds: float, *, every: float | None = None) -> None:
        if lease_seconds <= 0:
            raise ValueError("a renewed lease needs lease_seconds > 0")
        self.ledger, self.kind, self.key, self.owner, self.lease_seconds = ledger, kind, key, owner, lease_seconds
        self.every = lease_seconds / 3 if every is None else every
        self.renewals = 0
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"lease-{kind}-{key}"[:64], daemon=True)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        while not self._stop.wait(self.every):
            try:
                held = self.ledger.renew_intent(self.kind, self.key, self.owner, self.lease_seconds)
            except Exception as error:  # noqa: BLE001 - the next beat tries again; the lease has 2 beats of slack
                log.warning("could not renew the lease on %s %r: %s", self.kind, self.key, error)
                continue
            if not held:
                self.lost = True
                log.warning("lease on %s %r lost: another owner took it over", self.kind, self.key)
                return
            self.renewals += 1


class WriteAhead:
    """Intents and create-once for one run. `permanent` are the errors that prove nothing was
    written (a refusal, an unmappable record): they close the intent instead of leaving it open.
    `renew_every` (seconds, default a third of the lease) exists for tests."""

    def __init__(
        self,
        ledger: Ledger,
        *,
        owner: str,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        permanent: tuple[type[Exception], ...],
        renew_every: float | None = None,
    ) -> None:
        self.ledger = ledger
        self.owner = owner
        self.lease_seconds = lease_seconds
        self.permanent = permanent
        self.renew_every = renew_every

    @contextmanager
    def intent(self, kind: str, key: str) -> Iterator[IntentClaim]:
        """Hold the write-ahead intent for one record, its lease renewed while the block runs.

        Leaving the block: after `complete` the intent is closed; a permanent error closes it
        (nothing was written); anything else (a transient error, `Deferred`, a crash being
        unwound) keeps it open, so the next attempt looks the record up by its natural key
        before writing, but ends its lease, so that attempt need not wait. `LeaseLost` (another
        owner took the record over after this one's lease lapsed) becomes `Held`, as does an
        intent another run holds."""
        claim = self.ledger.begin_intent(kind, key, owner=self.owner, lease_seconds=self.lease_seconds)
        if not claim.acquired:
            holder = self.ledger.intent(kind, key)
            raise Held(f"{kind} {key!r} is being handled by {claim.owner}", until=holder.lease_until if holder else None)
        try:
            with LeaseKeeper(self.ledger, kind, key, self.owner, self.lease_seconds, every=self.renew_every):
                yield claim
        except self.permanent:
            self.ledger.abandon_intent(kind, key, self.owner)
            raise
        except LeaseLost as error:
            raise Held(str(error)) from error
        except BaseException:
            self._release(kind, key)
            raise

    def complete(self, kind: str, key: str, bp_id: int, *, needs_review: bool = False, synced: bool = True) -> None:
        """`Ledger.complete_intent` as this run's owner (raises LeaseLost if another took over)."""
        self.ledger.complete_intent(kind, key, bp_id, owner=self.owner, needs_review=needs_review, synced=synced)

    def _release(self, kind: str, key: str) -> None:
        try:
            self.ledger.release_intent(kind, key, self.owner)
        except Exception as error:  # noqa: BLE001 - never hide the error being unwound; the lease lapses by itself
            log.warning("could not release the lease on %s %r (it expires by itself): %s", kind, key, error)

    def resume_or_create(
        self, claim: IntentClaim, create: Callable[[], T], lookup: Callable[[], T | None], *,
        target_dedupes: bool = False, settle_later: bool = False,
    ) -> T:
        """What an earlier, interrupted attempt created (found by its natural key), else a new
        record through `create_once`."""
        found = lookup() if claim.previous_attempt else None
        if found is not None:
            return found
        return self.create_once(create, lookup, target_dedupes=target_dedupes, settle_later=settle_later)

    def create_once(
        self, create: Callable[[], T], lookup: Callable[[], T | None], *, target_dedupes: bool = False, settle_later: bool = False
    ) -> T:
        """Create under an intent the caller holds. An unknown outcome is answered by the
        natural-key lookup before any new attempt. A refusal is too, once: if the record is found
        by its natural key, the refusal was the target's way of saying it exists already (no source
        gives the codes of such refusals, so none is relied on); otherwise the refusal stands.

        `target_dedupes`: the target itself never creates the record twice (a repeat is answered
        with the existing record, or refused), so after an unknown outcome the create is simply
        sent again, and the lookup runs only when that answer is a refusal or unknown again, or
        after the last attempt. Most faults write nothing (a 503 or 500 in front of the service),
        so this saves a lookup per fault; the lookup still settles the rest.

        `settle_later`: the caller answers lookups in bulk before its next pass (`BulkAnswers`),
        so an unknown outcome raises `Unsettled` at once instead of spending a lookup or a repeat."""
        unknown: OutcomeUnknownError | None = None
        for attempt in range(1, CREATE_ATTEMPTS + 1):
            try:
                return create()
            except OutcomeUnknownError as error:
                if settle_later:
                    log.warning("create outcome unknown (%s): left to the next pass's lookup", error)
                    raise Unsettled(f"create outcome unknown ({error}): settled by the next pass's lookup") from error
                unknown = error
                log.warning("create outcome unknown (%s) before attempt %d", error, attempt + 1)
            except ValidationError as error:
                found = lookup()
                if found is None:
                    raise
                log.warning("create refused (%s), but the record exists already: taking it", error.code)
                return found
            if target_dedupes and attempt == 1:
                continue  # the repeat is safe: the target answers it with the record or a refusal
            found = lookup()
            if found is not None:
                return found
        raise Deferred(f"create still unconfirmed after {CREATE_ATTEMPTS} attempts") from unknown
