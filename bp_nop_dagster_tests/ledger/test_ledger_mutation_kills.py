"""Ledger rules the session-23 mutation sample showed unpinned (issue 19 item 5; docs/mutation.md,
"session 23"). Each test runs on SQLite and PostgreSQL (conftest.py) unless it says otherwise; the
expected values come from the docstrings of `ledger.py` and `schema.py`, quoted where they are
used, and each test names the break it was checked against (applied by hand: the test fails)."""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa

from bp_nop_dagster.ledger import IntentClaim, LedgerConflict
from bp_nop_dagster.ledger import schema
from bp_nop_dagster_tests.ledger.clock import T0

# ------------------------------------------------------------------------------ links


def test_a_brightpearl_id_taken_in_its_kind_is_refused_naming_the_key_of_that_kind(ledger):
    """`link` "raises LedgerConflict ... when `bp_id` is already linked to another nop_key of this
    kind"; the same Brightpearl id under another kind (a contact 5 and an order 5 are different
    records) is no conflict and is not the one named. Break checked: the lookup of the holding key
    without `kind ==` (two rows hold bp_id 5, so no LedgerConflict at all)."""
    ledger.link("order", "a", 5)
    ledger.link("contact", "zz@example.com", 5)
    with pytest.raises(LedgerConflict, match="^" + re.escape("order Brightpearl id 5 is already linked to nop key 'a', not 'b'") + "$"):
        ledger.link("order", "b", 5)


def test_links_are_listed_in_the_order_they_were_made(ledger):
    """A ledger listing is oldest first (as `pending`, `statuses` and `open_intents` say of
    theirs): a link made first stays first after it is changed (here: its review flag raised),
    whatever the order of the keys and ids. Break checked: `links` without its `ORDER BY id` (the
    database then answers in the order of the index it reads, by key or Brightpearl id, or in
    storage order, where PostgreSQL puts the changed row last)."""
    for key, bp_id in [("c", 3), ("b", 2), ("a", 1)]:
        ledger.link("order", key, bp_id)
    ledger.link("order", "c", 3, needs_review=True)
    assert [(link.nop_key, link.needs_review) for link in ledger.links("order")] == [("c", True), ("b", False), ("a", False)]


def test_rekey_moves_the_link_and_reports_whether_it_did(ledger):
    """`rekey`: "True if moved; False, changing nothing, when `old_key` has no link or `new_key`
    has one". A key moved to itself is not a move. Breaks checked: `return True` for the same key;
    the UPDATE replaced by `execute(None)`."""
    ledger.link("contact", "old@example.com", 7)
    ledger.link("contact", "taken@example.com", 8)
    ledger.link("customer", "old@example.com", 9)
    assert ledger.rekey("contact", "old@example.com", "old@example.com") is False
    assert ledger.rekey("contact", "old@example.com", "taken@example.com") is False
    assert ledger.rekey("contact", "nobody@example.com", "new@example.com") is False
    assert ledger.bp_ids("contact", ["old@example.com", "taken@example.com"]) == {"old@example.com": 7, "taken@example.com": 8}
    assert ledger.rekey("contact", "old@example.com", "new@example.com") is True
    assert ledger.bp_ids("contact", ["old@example.com", "new@example.com"]) == {"new@example.com": 7}
    assert ledger.bp_id("customer", "old@example.com") == 9  # another kind's link of that key stays


# ------------------------------------------------------------------------------ records


def test_reopen_skipped_puts_only_skipped_records_back_due_at_once(timed, clock):
    """`reopen_skipped`: "Skipped records back to pending, due at once, with a fresh attempt count;
    returns how many moved ... Other records are untouched." Break checked: `_reopen(None, ...)`."""
    timed.mark_skipped("order", "1", "deleted in nopCommerce")
    timed.mark_skipped("order", "2", "deleted in nopCommerce")
    timed.mark_synced("order", "3")
    clock.advance(60)
    assert timed.reopen_skipped("order", ["1", "3", "4"]) == 1
    one = timed.status("order", "1")
    assert (one.status, one.attempts, one.last_error, one.next_attempt_at, one.updated_at) == ("pending", 0, None, None, T0 + timedelta(seconds=60))
    assert [(r.nop_key, r.status) for r in timed.statuses("order", ["2", "3"])] == [("2", "skipped"), ("3", "synced")]
    assert timed.status("order", "4") is None
    assert "1" in timed.pending("order")


def test_sqlite_stores_every_timestamp_as_fixed_width_iso_text(sqlite_url, clock):
    """schema.UTCDateTime: "SQLite: a fixed-width ISO-8601 string in UTC
    (`2024-05-01T10:00:00.000000+00:00`), so string order is time order". Checked on the stored
    text of a record's `first_seen` and of the `updated_at` that `mark_synced(unchanged=True)`
    writes for a record not synced before (its SQL CASE). SQLite only. Breaks checked:
    `dialect.name == "SQLITE"` (the datetime handed to sqlite3 as is: `2024-05-01 10:00:00+00:00`)
    and the CASE's `sa.literal(now, None)` (SQLAlchemy's own `2024-05-01 10:00:01.500000`)."""
    from bp_nop_dagster.ledger import Ledger

    with Ledger(sqlite_url, clock=clock) as book:
        book.enqueue("order", ["101"])
        clock.advance(1.5)
        book.mark_synced("order", "101", unchanged=True)
        with book.engine.connect() as conn:
            raw = conn.execute(sa.text("SELECT first_seen, updated_at FROM records WHERE nop_key = '101'")).one()
        assert tuple(raw) == ("2024-05-01T10:00:00.000000+00:00", "2024-05-01T10:00:01.500000+00:00")


def test_webhook_events_count_the_new_rows_of_every_chunk(ledger):
    """`record_webhook_events` "Returns how many were new"; 1,200 ids are written in chunks of 500
    (`_CHUNK`, far below the databases' parameter limits), and all count. Break checked:
    `added = len(...)` instead of `+=` (only the last chunk's 200)."""
    assert ledger.record_webhook_events("product.modified", range(1, 1201), "2024-05-01T10:00:00Z") == 1200
    assert ledger.record_webhook_events("product.modified", range(1, 1202), "2024-05-01T10:00:00Z") == 1


# ------------------------------------------------------------------------------ intents


def test_each_open_intent_is_found_by_its_own_key_and_has_its_own_id(ledger):
    """`intent(kind, key)`: "The record's open intent". Breaks checked: the lookup without
    `nop_key ==` (the kind's first intent for any key) and `_intent` giving `id=None`."""
    ledger.begin_intent("order", "101", owner="a")
    ledger.begin_intent("order", "102", owner="b")
    first, second = ledger.intent("order", "101"), ledger.intent("order", "102")
    assert (first.nop_key, first.owner, second.nop_key, second.owner) == ("101", "a", "102", "b")
    assert isinstance(first.id, int) and isinstance(second.id, int) and first.id != second.id
    assert sorted(i.id for i in ledger.open_intents("order")) == sorted([first.id, second.id])
    assert ledger.intent("order", "103") is None


def test_a_takeover_does_not_overwrite_one_that_happened_between_its_read_and_its_write(timed, clock, monkeypatch):
    """`begin_intent`: "the takeover is a conditional UPDATE guarded by the attempts counter it
    read"; `Intent.attempts` "counts how often the intent was acquired". Owner a's lease has
    ended; b reads the intent (a, 1 acquisition) and, before b's UPDATE, a takes its own expired
    intent over again (2 acquisitions, lease again ended). b's UPDATE must not match the row it
    read, so b looks again and takes over the row as it is now: 3 acquisitions. Break checked: the
    UPDATE without `attempts == row.attempts` (b overwrites a's takeover: 2)."""
    assert timed.begin_intent("order", "101", owner="a", lease_seconds=0) == IntentClaim(True, False, "a")
    write = timed._write
    injected = []

    class Interleaved:
        """b's takeover transaction; a's own takeover lands just before b's UPDATE."""

        def __init__(self, conn) -> None:
            self.conn = conn

        def execute(self, statement, *args, **kwargs):
            if not injected and isinstance(statement, sa.Update) and statement.table is schema.intents:
                injected.append(1)
                i = schema.intents
                self.conn.execute(sa.update(i).values(attempts=i.c.attempts + 1))
            return self.conn.execute(statement, *args, **kwargs)

    @contextmanager
    def interleaved_write():
        with write() as conn:
            yield Interleaved(conn)

    monkeypatch.setattr(timed, "_write", interleaved_write)
    assert timed.begin_intent("order", "101", owner="b", lease_seconds=0) == IntentClaim(True, True, "b")
    assert injected == [1]
    intent = timed.intent("order", "101")
    assert (intent.owner, intent.attempts) == ("b", 3)
