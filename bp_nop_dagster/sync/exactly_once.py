"""Exactly-once writes shared by every flow (DESIGN principle 1): a write-ahead intent in the
ledger around each create or state-changing call, and creates whose unknown outcome is resolved
by a natural-key lookup before any new attempt."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from bp_nop_dagster.ledger import IntentClaim, Ledger
from bp_nop_dagster.transport.errors import OutcomeUnknownError, ValidationError

log = logging.getLogger("bp_nop_dagster.sync.exactly_once")

CREATE_ATTEMPTS = 3  # creates retried after an unknown outcome (each after a natural-key lookup)
T = TypeVar("T")


class Deferred(Exception):
    """The record cannot be finished in this run (outcome still unknown, or another run holds
    it): it stays pending for the next run."""


class WriteAhead:
    """Intents and create-once for one run. `permanent` are the errors that prove nothing was
    written (a refusal, an unmappable record): they close the intent instead of leaving it open."""

    def __init__(self, ledger: Ledger, *, owner: str, lease_seconds: float, permanent: tuple[type[Exception], ...]) -> None:
        self.ledger = ledger
        self.owner = owner
        self.lease_seconds = lease_seconds
        self.permanent = permanent

    @contextmanager
    def intent(self, kind: str, key: str) -> Iterator[IntentClaim]:
        """Hold the write-ahead intent for one record. Any failure but a permanent one leaves it
        open, so whoever resumes after the lease looks the record up before writing."""
        claim = self.ledger.begin_intent(kind, key, owner=self.owner, lease_seconds=self.lease_seconds)
        if not claim.acquired:
            raise Deferred(f"{kind} {key!r} is being handled by {claim.owner}")
        try:
            yield claim
        except self.permanent:
            self.ledger.abandon_intent(kind, key, self.owner)
            raise

    def resume_or_create(self, claim: IntentClaim, create: Callable[[], T], lookup: Callable[[], T | None]) -> T:
        """What an earlier, interrupted attempt created (found by its natural key), else a new
        record through `create_once`."""
        found = lookup() if claim.previous_attempt else None
        return found if found is not None else self.create_once(create, lookup)

    def create_once(self, create: Callable[[], T], lookup: Callable[[], T | None]) -> T:
        """Create under an intent the caller holds. An unknown outcome is answered by the
        natural-key lookup before any new attempt. A refusal is too, once: if the record is found
        by its natural key, the refusal was the target's way of saying it exists already (no source
        gives the codes of such refusals, so none is relied on); otherwise the refusal stands."""
        for attempt in range(1, CREATE_ATTEMPTS + 1):
            try:
                return create()
            except OutcomeUnknownError as error:
                log.warning("create outcome unknown (%s): looking it up before attempt %d", error, attempt + 1)
            except ValidationError as error:
                found = lookup()
                if found is None:
                    raise
                log.warning("create refused (%s), but the record exists already: taking it", error.code)
                return found
            found = lookup()
            if found is not None:
                return found
        raise Deferred(f"create still unconfirmed after {CREATE_ATTEMPTS} attempts")
