"""Edges of the ledger's rules and the exact words of its refusals (issue 19 item 5: the
survivors of the mutation run in docs/mutation.md). Each test runs on SQLite and PostgreSQL
(conftest.py) unless it says otherwise; the expected values come from the docstrings of
`ledger.py` and `fate.py`, quoted where they are used."""

from __future__ import annotations

import re
import sqlite3
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from bp_nop_dagster.ledger import MAX_KEY_LENGTH, IntentClaim, Ledger, RetryPolicy
from bp_nop_dagster.ledger import ledger as ledger_module
from bp_nop_dagster.ledger import schema
from bp_nop_dagster_tests.ledger.clock import T0

# ------------------------------------------------------------------------------ refusals, in words


@pytest.mark.parametrize(
    ("fields", "error", "words"),
    [
        ({"first_delay": 30}, TypeError, "first_delay must be a timedelta, not int"),
        ({"cap": 1.5}, TypeError, "cap must be a timedelta, not float"),
        ({"first_delay": timedelta(seconds=9), "cap": timedelta(seconds=8)}, ValueError,
         "cap (0:00:08) must be >= first_delay (0:00:09)"),
    ],
)
def test_a_bad_retry_policy_says_which_field_and_why(fields, error, words):
    with pytest.raises(error, match=f"^{re.escape(words)}$"):
        RetryPolicy(**fields)


def test_attempts_below_one_are_refused_naming_the_value():
    with pytest.raises(ValueError, match=re.escape("attempts counts failed attempts and starts at 1, not 0")):
        RetryPolicy().delay(0)


def test_ledger_refusals_say_what_is_wrong(ledger, db_url):
    with pytest.raises(TypeError, match="^pass an iterable of keys, not one string$"):
        ledger.enqueue("order", "101")
    with pytest.raises(ValueError, match="^source_time must be timezone-aware$"):
        ledger.enqueue("order", ["101"], source_time=datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="^limit must be >= 0$"):
        ledger.pending("order", limit=-1)
    with pytest.raises(ValueError, match="^a skip needs a reason$"):
        ledger.mark_skipped("order", "101", "")
    with pytest.raises(ValueError, match="^lease_seconds must be >= 0$"):
        ledger.begin_intent("order", "101", owner="a", lease_seconds=-1)
    with pytest.raises(ValueError, match="^lease_seconds must be >= 0$"):
        ledger.renew_intent("order", "101", "a", lease_seconds=-1)
    with pytest.raises(TypeError, match=re.escape("a watermark value is a string (serialise it yourself)")):
        ledger.set_watermark("orders", 5)
    naive = Ledger(db_url, clock=lambda: datetime(2024, 1, 1))
    try:
        with pytest.raises(ValueError, match="^the ledger clock must return timezone-aware datetimes$"):
            naive.enqueue("order", ["101"])
    finally:
        naive.close()


# ------------------------------------------------------------------------------ links and review


def test_a_repeated_link_can_raise_the_review_flag_of_its_own_kind_only(ledger):
    """`link`: "a needs_review flag, once set, stays set" — and a later link with the flag sets
    it. The same key under another kind is another record."""
    ledger.link("order", "101", 5001)
    ledger.link("payment", "101", 6001)
    ledger.link("order", "101", 5001, needs_review=True)
    assert [(l.kind, l.needs_review) for l in ledger.links("order") + ledger.links("payment")] == [("order", True), ("payment", False)]


def test_a_completed_intent_needs_no_review_unless_asked(ledger):
    ledger.begin_intent("order", "101", owner="a")
    ledger.complete_intent("order", "101", 5001, owner="a")
    (link,) = ledger.links("order")
    assert link.needs_review is False and ledger.status("order", "101").needs_review is False


def test_an_intent_of_another_kind_with_the_same_key_does_not_block_completion(ledger):
    """complete_intent raises LeaseLost only when *this* record's intent is held by another."""
    ledger.begin_intent("payment", "101", owner="someone-else")
    ledger.complete_intent("order", "101", 5001, owner="a")
    assert ledger.bp_id("order", "101") == 5001 and ledger.status("order", "101").status == "synced"


# ------------------------------------------------------------------------------ queue order and scope


def test_requeue_moves_only_the_keys_asked_for(ledger):
    ledger.mark_synced("order", "101")
    ledger.mark_synced("order", "102")
    assert ledger.requeue("order", ["101"]) == 1
    assert [(r.nop_key, r.status) for r in ledger.statuses("order")] == [("101", "pending"), ("102", "synced")]


def test_oldest_first_means_first_seen_even_when_enqueued_later(timed, clock):
    """`pending`/`unsettled`/`statuses`: "oldest first (first seen, then order of enqueueing)".
    Two writers: one read the clock at 10:00:05 but got the write lock first, the other read
    10:00:00 and enqueued after it; the one seen at 10:00:00 is the older."""
    clock.now = T0 + timedelta(seconds=5)
    timed.enqueue("order", ["late"])
    clock.now = T0
    timed.enqueue("order", ["early"])
    timed.enqueue("order", ["early-too"])  # same first_seen as "early": enqueue order decides
    clock.now = T0 + timedelta(seconds=10)
    expected = ["early", "early-too", "late"]
    assert timed.pending("order") == expected
    assert timed.unsettled("order") == expected
    assert [r.nop_key for r in timed.statuses("order")] == expected
    assert [r.nop_key for r in timed.statuses("order", ["late", "early-too", "early"])] == expected


def test_open_intents_are_listed_oldest_first(timed, clock):
    clock.now = T0 + timedelta(seconds=5)
    timed.begin_intent("order", "late", owner="a")
    clock.now = T0
    timed.begin_intent("order", "early", owner="b")
    assert [i.nop_key for i in timed.open_intents()] == ["early", "late"]


def test_a_released_dead_letter_puts_its_record_back_as_changed_now(timed, clock):
    """release_dead_letters: the record goes back to pending "due at once"; updated_at tells
    when the record last changed (mark_synced's docstring)."""
    letter = timed.dead_letter("order", "101", reason="validation_error", error_code="x", message="m", payload={})
    clock.advance(3600)
    timed.release_dead_letters([letter])
    record = timed.status("order", "101")
    assert (record.status, record.updated_at) == ("pending", T0 + timedelta(seconds=3600))


# ------------------------------------------------------------------------------ intents


def test_a_lease_of_zero_seconds_is_allowed_and_ends_at_once(timed, clock):
    """begin_intent/renew_intent: lease_seconds must be >= 0, so 0 is a lease that has already
    ended: another owner may take the intent over at once."""
    assert timed.begin_intent("order", "101", owner="a", lease_seconds=0) == IntentClaim(True, False, "a")
    assert timed.renew_intent("order", "101", "a", lease_seconds=0) is True
    assert timed.begin_intent("order", "101", owner="b") == IntentClaim(True, True, "b")


def test_a_live_lease_of_another_owner_is_not_a_previous_attempt(ledger):
    ledger.begin_intent("order", "101", owner="a")
    assert ledger.begin_intent("order", "101", owner="b") == IntentClaim(acquired=False, previous_attempt=False, owner="a")


def test_an_intent_closed_between_the_insert_and_the_look_is_inserted_again(ledger, monkeypatch):
    """begin_intent: the insert fails on an open intent; if that intent is closed before the
    takeover transaction reads it ("closed in between"), the next round inserts afresh."""
    ledger.begin_intent("order", "101", owner="a")
    write = ledger._write
    transactions = []

    @contextmanager
    def closing_before_the_takeover():
        transactions.append(1)
        if len(transactions) == 2:  # right after the failed insert: owner a completes meanwhile
            with write() as conn:
                conn.execute(sa.delete(schema.intents))
        with write() as conn:
            yield conn

    monkeypatch.setattr(ledger, "_write", closing_before_the_takeover)
    assert ledger.begin_intent("order", "101", owner="b") == IntentClaim(acquired=True, previous_attempt=False, owner="b")
    assert ledger.intent("order", "101").owner == "b"


# ------------------------------------------------------------------------------ storage


def test_a_key_of_exactly_the_column_width_is_stored_intact(ledger, db_url):
    """stored_key keeps keys of up to MAX_KEY_LENGTH (255, "the column width") as they are; the
    database column holds them whole (PostgreSQL would refuse one character more)."""
    key = "k" * MAX_KEY_LENGTH
    ledger.link("contact", key, 1)
    ledger.mark_synced("contact", key)
    ledger.set_watermark(key, "v")
    assert ledger.nop_keys("contact", [1]) == {1: key}
    assert ledger.status("contact", key).nop_key == key and ledger.get_watermark(key) == "v"
    columns = {(table.name, column.name) for table in schema.metadata.tables.values() for column in table.columns
               if column.name in ("nop_key", "name", "owner")}
    inspector = sa.inspect(ledger.engine)
    for table, column in sorted(columns):
        (found,) = [c for c in inspector.get_columns(table) if c["name"] == column]
        if ledger.engine.dialect.name == "postgresql":  # SQLite does not enforce a width
            assert found["type"].length == MAX_KEY_LENGTH, (table, column)


@pytest.mark.postgres
def test_the_ledgers_repr_hides_the_password(postgres_url):
    """Logs and errors never contain passwords (brief); a Ledger's repr is logged by Dagster."""
    url = sa.make_url(postgres_url).set(password="s3cret-pw")
    book = Ledger(url.render_as_string(hide_password=False))
    try:
        assert "s3cret-pw" not in repr(book) and repr(book).startswith("Ledger('postgresql")
    finally:
        book.close()


# ------------------------------------------------------------------------------ SQLite WAL switch


class _LockedCursor:
    """A sqlite3 cursor whose journal-mode switch meets `failures` errors first."""

    def __init__(self, failures: list[str]) -> None:
        self.failures = list(failures)
        self.switched = False

    def execute(self, sql: str):
        if self.failures:
            raise sqlite3.OperationalError(self.failures.pop(0))
        if sql == "PRAGMA journal_mode = WAL":
            self.switched = True
        return self

    def fetchone(self):
        return ("wal" if self.switched else "delete",)


class _FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_the_wal_switch_retries_a_locked_file_doubling_the_wait_up_to_half_a_second(monkeypatch):
    """_enable_wal: "processes opening a brand-new file together retry here for up to the busy
    timeout" (30 s); the wait doubles from 10 ms, at most 0.5 s."""
    fake = _FakeTime()
    monkeypatch.setattr(ledger_module, "time", fake)
    cursor = _LockedCursor(["database is locked"] * 8)
    ledger_module._enable_wal(cursor)
    assert cursor.switched and fake.sleeps == [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.5, 0.5]
    fake = _FakeTime()
    monkeypatch.setattr(ledger_module, "time", fake)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        ledger_module._enable_wal(_LockedCursor(["database is locked"] * 1000))
    assert 30 < fake.now <= 30.5  # gave up at the first look past the 30 s deadline


def test_the_wal_switch_raises_other_errors_at_once(monkeypatch):
    fake = _FakeTime()
    monkeypatch.setattr(ledger_module, "time", fake)
    with pytest.raises(sqlite3.OperationalError, match="disk I/O error"):
        ledger_module._enable_wal(_LockedCursor(["disk I/O error"]))
    assert fake.sleeps == []
