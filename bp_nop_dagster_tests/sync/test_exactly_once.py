"""Write-ahead intents whose lease ends with their owner (issue 12: a record touched by a transient
fault waited 5 minutes although its run had ended) and is renewed while a slow call runs.
A SQLite ledger driven by a fake clock; the renewal thread beats every few milliseconds of real
time, and the tests wait for its beats (a semaphore), never for a time window."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from bp_nop_dagster.ledger import IntentClaim, Ledger
from bp_nop_dagster.sync.exactly_once import Deferred, LeaseKeeper, WriteAhead
from bp_nop_dagster.transport.errors import OutcomeUnknownError, TransientError, ValidationError
from bp_nop_dagster_tests.ledger.clock import T0, Clock

LEASE = 60.0


class CountingRenewals:
    """The ledger, with a semaphore released after every `renew_intent` (what the keeper calls)."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.beats = threading.Semaphore(0)

    def __getattr__(self, name: str):
        return getattr(self.ledger, name)

    def renew_intent(self, *args, **kwargs) -> bool:
        try:
            return self.ledger.renew_intent(*args, **kwargs)
        finally:
            self.beats.release()

    def renewed_until(self, until) -> None:
        """Wait for the beat that moved the lease to `until` (bounded, so a broken keeper fails)."""
        for _ in range(500):
            assert self.beats.acquire(timeout=5), "the lease keeper stopped beating"
            if [i.lease_until for i in self.ledger.open_intents()] == [until]:
                return
        raise AssertionError(f"the lease never reached {until}")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ledger(tmp_path, clock):
    book = Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}", clock=clock)
    yield book
    book.close()


def writes(ledger, owner: str, renew_every: float = 1000.0) -> WriteAhead:
    return WriteAhead(ledger, owner=owner, lease_seconds=LEASE, permanent=(ValidationError,), renew_every=renew_every)


def lease_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("lease-")]


@pytest.mark.parametrize("leaving", [TransientError("brightpearl", "throttled", status=503), Deferred("outcome unknown"), SystemExit("killed")])
def test_an_owner_that_leaves_ends_its_lease_and_the_next_attempt_looks_up_first(ledger, leaving):
    with pytest.raises(type(leaving)):
        with writes(ledger, "run-a").intent("order", "1"):
            raise leaving
    [intent] = ledger.open_intents()  # kept: an earlier attempt may have written
    assert (intent.owner, intent.lease_until) == ("run-a", T0)
    with writes(ledger, "run-b").intent("order", "1") as claim:  # at once, no clock advance
        assert claim == IntentClaim(acquired=True, previous_attempt=True, owner="run-b")
        writes(ledger, "run-b").complete("order", "1", 7001)
    assert ledger.open_intents() == [] and ledger.bp_id("order", "1") == 7001


def test_a_permanent_refusal_closes_the_intent(ledger):
    with pytest.raises(ValidationError):
        with writes(ledger, "run-a").intent("order", "1"):
            raise ValidationError("brightpearl", "CMN-001", "refused", status=400)
    assert ledger.open_intents() == []
    with writes(ledger, "run-b").intent("order", "1") as claim:
        assert claim.previous_attempt is False


def test_another_owner_s_live_lease_defers(ledger):
    with writes(ledger, "run-a").intent("order", "1"):
        with pytest.raises(Deferred, match="run-a"):
            with writes(ledger, "run-b").intent("order", "1"):
                pass  # pragma: no cover - never entered
        assert [i.owner for i in ledger.open_intents()] == ["run-a"]  # run-b's refusal released nothing


def test_the_lease_is_renewed_while_a_slow_call_runs(ledger, clock):
    spy = CountingRenewals(ledger)
    slow = writes(spy, "run-a", renew_every=0.002)
    with slow.intent("order", "1"):
        for _ in range(5):  # the create takes 200 s of the fake clock, far beyond the 60 s lease
            clock.advance(40)
            spy.renewed_until(clock.now + timedelta(seconds=LEASE))
            with pytest.raises(Deferred, match="run-a"):
                with writes(ledger, "run-b").intent("order", "1"):
                    pass  # pragma: no cover - never entered
        slow.complete("order", "1", 7001)
    assert ledger.bp_id("order", "1") == 7001 and ledger.open_intents() == []
    assert lease_threads() == []  # the keeper stopped with the block


def test_completing_after_a_takeover_defers_and_leaves_the_new_owner_alone(ledger, clock):
    late = writes(ledger, "run-a")  # its keeper never beats: a process stalled past its lease
    with pytest.raises(Deferred, match="taken over by run-b"):
        with late.intent("order", "1"):
            clock.advance(LEASE + 1)
            assert ledger.begin_intent("order", "1", owner="run-b", lease_seconds=LEASE).acquired
            late.complete("order", "1", 7001)
    [intent] = ledger.open_intents()
    assert (intent.owner, intent.lease_until) == ("run-b", T0 + timedelta(seconds=2 * LEASE + 1))
    assert ledger.bp_id("order", "1") is None


def test_a_keeper_stops_once_the_lease_is_lost(ledger, clock):
    ledger.begin_intent("order", "1", owner="run-a", lease_seconds=LEASE)
    clock.advance(LEASE + 1)
    ledger.begin_intent("order", "1", owner="run-b", lease_seconds=LEASE)
    spy = CountingRenewals(ledger)
    with LeaseKeeper(spy, "order", "1", "run-a", LEASE, every=0.002) as keeper:
        assert spy.beats.acquire(timeout=5)
    assert (keeper.lost, keeper.renewals) == (True, 0)
    assert ledger.open_intents()[0].owner == "run-b"


def test_renewals_share_an_in_memory_ledger_with_the_owner_s_writes(clock):
    """One in-memory SQLite connection serves both threads, one transaction at a time."""
    book = Ledger("sqlite://", clock=clock)
    spy = CountingRenewals(book)
    with writes(spy, "run-a", renew_every=0.0005).intent("order", "1"):
        for n in range(300):
            book.enqueue("order", [str(n)])
            book.mark_synced("order", str(n))
        assert spy.beats.acquire(timeout=5)
    assert book.counts("order")["synced"] == 300
    book.close()


class Target:
    """A create endpoint: `replies` in order (an exception, or the new id); counts the calls, and
    what a natural-key lookup finds (`exists`)."""

    def __init__(self, *replies) -> None:
        self.replies = list(replies)
        self.creates = self.lookups = 0
        self.exists: int | None = None

    def create(self) -> int:
        self.creates += 1
        reply = self.replies.pop(0)
        if isinstance(reply, BaseException):
            raise reply
        return reply

    def lookup(self) -> int | None:
        self.lookups += 1
        return self.exists


def unknown() -> OutcomeUnknownError:
    return OutcomeUnknownError("Brightpearl", "server error: the request may have been applied", status=500)


def test_an_unknown_outcome_is_looked_up_before_the_create_is_sent_again(ledger):
    target = Target(unknown(), 7001)
    assert writes(ledger, "run-a").create_once(target.create, target.lookup) == 7001
    assert (target.creates, target.lookups) == (2, 1)


def test_a_target_that_dedupes_gets_the_create_again_before_any_lookup(ledger):
    """The sales-order POST with externalRef + installation, and a payment's transactionRef, are
    never booked twice by Brightpearl (Sales Order POST, Customer Payment POST docs): the create is
    sent again at once, which saves a lookup for every fault that wrote nothing."""
    target = Target(unknown(), 7001)
    assert writes(ledger, "run-a").create_once(target.create, target.lookup, target_dedupes=True) == 7001
    assert (target.creates, target.lookups) == (2, 0)
    written = Target(unknown(), unknown())  # the first was written, the repeat's reply carries no id
    written.exists = 7002
    assert writes(ledger, "run-a").create_once(written.create, written.lookup, target_dedupes=True) == 7002
    assert (written.creates, written.lookups) == (2, 1)
    refused = Target(unknown(), ValidationError("Brightpearl", "PYMC-001", "transactionRef already used", status=400))
    refused.exists = 7003
    assert writes(ledger, "run-a").create_once(refused.create, refused.lookup, target_dedupes=True) == 7003
    assert (refused.creates, refused.lookups) == (2, 1)
