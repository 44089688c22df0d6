"""The ledger on SQLite and PostgreSQL (each test runs on both, see conftest.py)."""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
import sqlalchemy as sa

from bp_nop_dagster.ledger import (
    DEAD_LETTER_REASONS,
    SCHEMA_VERSION,
    STATUSES,
    IntentClaim,
    Ledger,
    LedgerConflict,
    LedgerSchemaError,
    RetryPolicy,
)
from bp_nop_dagster.ledger.resource import LedgerResource, default_ledger_url
from bp_nop_dagster.settings import BP_NOP_LEDGER_URL as LEDGER_URL_ENV
from bp_nop_dagster_tests.ledger.clock import T0

IMMEDIATE = RetryPolicy(first_delay=timedelta(0), cap=timedelta(0), give_up_after=100, jitter=0.0)

def _aware_utc(value: datetime) -> bool:
    return value.tzinfo is not None and value.utcoffset() == timedelta(0)


# ------------------------------------------------------------------------------ cross references
def test_link_and_lookups(ledger):
    ledger.link("order", "101", 5001)
    ledger.link("order", "102", 5002, needs_review=True)
    ledger.link("contact", "a@example.com", 5001)  # same bp id, other kind: fine

    assert ledger.bp_id("order", "101") == 5001
    assert ledger.bp_id("order", "999") is None
    assert ledger.bp_ids("order", ["101", "102", "999"]) == {"101": 5001, "102": 5002}
    assert ledger.bp_ids("order", []) == {}
    links = ledger.links("order")
    assert [(l.kind, l.nop_key, l.bp_id, l.needs_review) for l in links] == [("order", "101", 5001, False), ("order", "102", 5002, True)]
    assert all(_aware_utc(l.created_at) for l in links)
    assert [l.nop_key for l in ledger.links("contact")] == ["a@example.com"]


def test_bp_ids_bulk_beyond_one_in_list(ledger):
    keys = [f"SKU-{n:05d}" for n in range(1203)]
    for n, key in enumerate(keys[:700]):
        ledger.link("product", key, 10_000 + n)
    found = ledger.bp_ids("product", keys)
    assert len(found) == 700
    assert found["SKU-00699"] == 10_699


def test_link_is_idempotent_and_keeps_review_flag(ledger):
    ledger.link("order", "101", 5001, needs_review=True)
    ledger.link("order", "101", 5001)
    ledger.link("order", "101", 5001)
    links = ledger.links("order")
    assert len(links) == 1
    assert links[0].needs_review is True


def test_link_conflicts_raise(ledger):
    ledger.link("order", "101", 5001)
    with pytest.raises(LedgerConflict, match="5001"):
        ledger.link("order", "101", 5002)  # same nop record, another Brightpearl record
    with pytest.raises(LedgerConflict, match="101"):
        ledger.link("order", "102", 5001)  # another nop record, same Brightpearl record
    assert ledger.bp_ids("order", ["101", "102"]) == {"101": 5001}


def test_bad_kind_and_key_are_refused(ledger):
    with pytest.raises(ValueError, match="kind"):
        ledger.link("Order; DROP", "1", 1)
    with pytest.raises(ValueError, match="nop_key"):
        ledger.enqueue("order", [""])
    with pytest.raises(TypeError):
        ledger.enqueue("order", "123")  # one string is not a list of keys


# ------------------------------------------------------------------------------ record status
def test_enqueue_is_idempotent(timed, clock):
    source = datetime(2024, 4, 30, 9, 0, tzinfo=UTC)
    assert timed.enqueue("order", ["1", "2", "3"], source_time=source) == 3
    clock.advance(5)
    assert timed.enqueue("order", ["2", "3", "4", "4"]) == 1
    assert timed.enqueue("order", []) == 0
    records = {r.nop_key: r for r in timed.statuses("order")}
    assert set(records) == {"1", "2", "3", "4"}
    assert all(r.status == "pending" and r.attempts == 0 for r in records.values())
    assert records["2"].first_seen == T0  # untouched by the second enqueue
    assert records["2"].source_time == source
    assert records["4"].first_seen == T0 + timedelta(seconds=5)
    assert records["4"].source_time is None


def test_enqueue_leaves_synced_alone_unless_requeue(ledger):
    ledger.enqueue("order", ["1", "2"])
    ledger.mark_synced("order", "1", bp_id=11)
    ledger.dead_letter("order", "2", reason="unknown_sku", error_code=None, message="no SKU X", payload={})
    assert ledger.enqueue("order", ["1", "2"]) == 0
    assert ledger.status("order", "1").status == "synced"
    assert ledger.enqueue("order", ["1", "2", "3"], requeue=True) == 1
    assert ledger.status("order", "1").status == "pending"
    assert ledger.status("order", "2").status == "dead_lettered"


def test_pending_is_oldest_first_with_limit(timed, clock):
    timed.enqueue("order", ["30", "10", "20"])
    clock.advance(1)
    timed.enqueue("order", ["5"])
    timed.enqueue("contact", ["x@example.com"])
    assert timed.pending("order") == ["30", "10", "20", "5"]
    assert timed.pending("order", limit=2) == ["30", "10"]
    assert timed.pending("order", limit=0) == []

    clock.advance(1)
    timed.mark_synced("order", "30", bp_id=1)
    timed.mark_failed("order", "10", "timeout", policy=IMMEDIATE)  # failed stays pending work (due at once here)
    timed.mark_skipped("order", "20", "deleted in nopCommerce")
    assert timed.pending("order") == ["5", "10"]  # never-attempted records first
    assert timed.pending("contact") == ["x@example.com"]


def test_mark_failed_increments_attempts(ledger):
    ledger.enqueue("order", ["1"])
    assert ledger.mark_failed("order", "1", "503 throttled").attempts == 1
    assert ledger.mark_failed("order", "1", "connection reset").attempts == 2
    record = ledger.status("order", "1")
    assert (record.status, record.attempts, record.last_error) == ("failed", 2, "connection reset")
    assert ledger.mark_failed("payment", "7:RECEIPT", "boom").attempts == 1  # unknown record: created as failed


def test_mark_synced_links_and_flags(ledger):
    ledger.enqueue("order", ["1", "2"])
    ledger.mark_failed("order", "1", "boom")
    ledger.mark_synced("order", "1", bp_id=501, needs_review=True)
    record = ledger.status("order", "1")
    assert (record.status, record.bp_id, record.needs_review, record.last_error) == ("synced", 501, True, None)
    assert ledger.bp_id("order", "1") == 501
    ledger.mark_synced("order", "2")  # no id (e.g. an update-only flow)
    assert ledger.status("order", "2").bp_id is None
    with pytest.raises(LedgerConflict):
        ledger.mark_synced("order", "2", bp_id=501)
    assert ledger.status("order", "2").bp_id is None  # the conflict changed nothing


def test_mark_synced_unchanged_keeps_updated_at(timed, clock):
    timed.enqueue("order", ["1"])
    clock.advance(10)
    timed.mark_synced("order", "1", bp_id=1)
    assert timed.status("order", "1").updated_at == T0 + timedelta(seconds=10)
    clock.advance(10)
    timed.mark_synced("order", "1", bp_id=1, unchanged=True)
    assert timed.status("order", "1").updated_at == T0 + timedelta(seconds=10)
    clock.advance(10)
    timed.mark_synced("order", "1", bp_id=1)
    assert timed.status("order", "1").updated_at == T0 + timedelta(seconds=30)


def test_mark_skipped_keeps_reason(ledger):
    ledger.enqueue("order", ["1"])
    ledger.mark_skipped("order", "1", "deleted in nopCommerce")
    record = ledger.status("order", "1")
    assert (record.status, record.last_error) == ("skipped", "deleted in nopCommerce")
    with pytest.raises(ValueError):
        ledger.mark_skipped("order", "1", "")


def test_requeue_moves_synced_and_failed_only(ledger):
    ledger.enqueue("order", ["1", "2", "3", "4", "5"])
    ledger.mark_synced("order", "1", bp_id=1)
    ledger.mark_failed("order", "2", "boom")
    ledger.mark_skipped("order", "3", "deleted")
    ledger.dead_letter("order", "4", reason="invalid_address", error_code=None, message="no address", payload={})
    assert ledger.requeue("order", ["1", "2", "3", "4", "5", "unknown"]) == 2
    assert {r.nop_key: r.status for r in ledger.statuses("order")} == {
        "1": "pending", "2": "pending", "3": "skipped", "4": "dead_lettered", "5": "pending",
    }
    assert ledger.status("order", "unknown") is None


def test_status_and_statuses(ledger):
    assert ledger.status("order", "1") is None
    ledger.enqueue("order", ["1", "2", "3"])
    record = ledger.status("order", "2")
    assert (record.kind, record.nop_key, record.status, record.attempts, record.needs_review) == ("order", "2", "pending", 0, False)
    assert _aware_utc(record.first_seen) and _aware_utc(record.updated_at)
    assert [r.nop_key for r in ledger.statuses("order", ["3", "1", "404"])] == ["1", "3"]
    assert [r.nop_key for r in ledger.statuses("order")] == ["1", "2", "3"]
    assert ledger.statuses("contact") == []


def test_counts(ledger):
    ledger.enqueue("order", ["1", "2", "3", "4", "5"])
    ledger.mark_synced("order", "1", bp_id=1)
    ledger.mark_synced("order", "2", bp_id=2)
    ledger.mark_failed("order", "3", "boom")
    ledger.dead_letter("order", "4", reason="auth", error_code="401", message="no", payload={})
    assert ledger.counts("order") == {"pending": 1, "failed": 1, "synced": 2, "skipped": 0, "dead_lettered": 1}
    assert ledger.counts("contact") == dict.fromkeys(STATUSES, 0)


# ------------------------------------------------------------------------------ intents
def test_intent_lifecycle(timed, clock):
    first = timed.begin_intent("order", "1", owner="run-a", lease_seconds=60)
    assert first == IntentClaim(acquired=True, previous_attempt=False, owner="run-a")

    clock.advance(30)
    refused = timed.begin_intent("order", "1", owner="run-b", lease_seconds=60)
    assert (refused.acquired, refused.owner) == (False, "run-a")

    resumed = timed.begin_intent("order", "1", owner="run-a", lease_seconds=60)  # same owner resumes
    assert (resumed.acquired, resumed.previous_attempt) == (True, True)

    clock.advance(59)  # the resumed lease runs to T0+90: still live
    assert timed.begin_intent("order", "1", owner="run-b").acquired is False
    clock.advance(2)  # T0+91: expired
    taken = timed.begin_intent("order", "1", owner="run-b", lease_seconds=60)
    assert taken == IntentClaim(acquired=True, previous_attempt=True, owner="run-b")

    [intent] = timed.open_intents()
    assert (intent.kind, intent.nop_key, intent.owner, intent.attempts) == ("order", "1", "run-b", 3)
    assert intent.lease_until == T0 + timedelta(seconds=151)
    assert intent.created_at == T0
    assert timed.begin_intent("order", "1", owner="run-a").acquired is False  # run-a lost it

    timed.complete_intent("order", "1", 7001, owner="run-b")
    assert timed.open_intents() == []
    assert timed.bp_id("order", "1") == 7001
    again = timed.begin_intent("order", "1", owner="run-c")  # a closed intent is gone
    assert (again.acquired, again.previous_attempt) == (True, False)


def test_abandon_intent_only_by_owner(ledger):
    ledger.begin_intent("order", "1", owner="run-a")
    ledger.begin_intent("payment", "1:RECEIPT", owner="run-a")
    ledger.abandon_intent("order", "1", "run-b")
    assert [i.nop_key for i in ledger.open_intents("order")] == ["1"]
    ledger.abandon_intent("order", "1", "run-a")
    assert ledger.open_intents("order") == []
    assert [i.kind for i in ledger.open_intents()] == ["payment"]
    assert ledger.begin_intent("order", "1", owner="run-b").previous_attempt is False
    assert ledger.bp_id("order", "1") is None


def test_complete_intent_links_and_marks_synced(ledger):
    ledger.enqueue("order", ["1"])
    ledger.mark_failed("order", "1", "outcome unknown")
    ledger.begin_intent("order", "1", owner="run-a")
    ledger.complete_intent("order", "1", 7001, owner="run-a", needs_review=True)
    record = ledger.status("order", "1")
    assert (record.status, record.bp_id, record.needs_review, record.last_error) == ("synced", 7001, True, None)
    assert [(l.nop_key, l.bp_id, l.needs_review) for l in ledger.links("order")] == [("1", 7001, True)]
    assert ledger.open_intents() == []
    # A contact has no record before its create: completing creates one, synced.
    ledger.begin_intent("contact", "a@example.com", owner="run-a")
    ledger.complete_intent("contact", "a@example.com", 9, owner="run-a")
    assert ledger.status("contact", "a@example.com").status == "synced"


def test_complete_intent_without_synced_links_but_keeps_the_record_pending(ledger):
    ledger.enqueue("order", ["1"])
    ledger.begin_intent("order", "1", owner="run-a")
    ledger.complete_intent("order", "1", 7001, owner="run-a", synced=False)
    record = ledger.status("order", "1")
    assert (record.status, record.bp_id) == ("pending", 7001)
    assert ledger.pending("order") == ["1"] and ledger.bp_id("order", "1") == 7001
    assert ledger.open_intents() == []


def test_complete_intent_is_atomic(ledger):
    ledger.link("order", "2", 7001)  # bp id 7001 already belongs to order 2
    ledger.enqueue("order", ["1"])
    ledger.begin_intent("order", "1", owner="run-a")
    with pytest.raises(LedgerConflict):
        ledger.complete_intent("order", "1", 7001, owner="run-a")
    assert [i.nop_key for i in ledger.open_intents()] == ["1"]  # intent still open
    assert ledger.status("order", "1").status == "pending"  # status untouched
    assert ledger.bp_id("order", "1") is None  # no link


def _race(book: Ledger, kind: str, key: str, owners: list[str], lease_seconds: float = 300) -> list[IntentClaim]:
    barrier = threading.Barrier(len(owners))

    def claim(owner: str) -> IntentClaim:
        barrier.wait()
        return book.begin_intent(kind, key, owner=owner, lease_seconds=lease_seconds)

    with ThreadPoolExecutor(len(owners)) as pool:
        return list(pool.map(claim, owners))


def test_concurrent_threads_one_acquires(ledger):
    owners = [f"worker-{n}" for n in range(8)]
    claims = _race(ledger, "order", "42", owners)
    winners = [c for c in claims if c.acquired]
    assert len(winners) == 1
    assert all(c.owner == winners[0].owner for c in claims)  # the refused see who holds it
    [intent] = ledger.open_intents()
    assert intent.owner == winners[0].owner


def test_concurrent_threads_one_takes_over_expired_intent(timed, clock):
    timed.begin_intent("order", "42", owner="crashed", lease_seconds=10)
    clock.advance(11)
    claims = _race(timed, "order", "42", [f"worker-{n}" for n in range(8)])
    winners = [c for c in claims if c.acquired]
    assert len(winners) == 1
    assert winners[0].previous_attempt is True
    [intent] = timed.open_intents()
    assert (intent.owner, intent.attempts) == (winners[0].owner, 2)


def _claim_in_process(url: str, owner: str, barrier, results) -> None:
    book = Ledger(url)
    try:
        barrier.wait(timeout=60)
        claim = book.begin_intent("order", "42", owner=owner)
        results.put((owner, claim.acquired, claim.previous_attempt))
    finally:
        book.close()


def test_concurrent_processes_one_acquires(ledger, db_url):
    context = multiprocessing.get_context("spawn")
    owners = [f"process-{n}" for n in range(4)]
    barrier, results = context.Barrier(len(owners)), context.Queue()
    processes = [context.Process(target=_claim_in_process, args=(db_url, owner, barrier, results)) for owner in owners]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=120) for _ in owners]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    winners = [owner for owner, acquired, _ in outcomes if acquired]
    assert len(winners) == 1
    assert [i.owner for i in ledger.open_intents()] == winners


# ------------------------------------------------------------------------------ dead letters
def test_dead_letter_upsert(timed, clock):
    timed.enqueue("order", ["1", "2"])
    first = timed.dead_letter("order", "1", reason="unknown_sku", error_code=None, message="SKU X unknown",
                              payload={"order_id": 1, "total": "9.99"})
    clock.advance(60)
    again = timed.dead_letter("order", "1", reason="validation_error", error_code="CMN-001", message="bad price",
                              payload={"order_id": 1, "total": "10.00"})
    assert again == first
    timed.dead_letter("order", "2", reason="invalid_address", error_code=None, message="no country", payload={})

    letter = timed.dead_letters(ids=[first])[0]
    assert (letter.kind, letter.nop_key, letter.reason, letter.error_code, letter.message) == (
        "order", "1", "validation_error", "CMN-001", "bad price")
    assert letter.payload == {"order_id": 1, "total": "10.00"}
    assert (letter.first_seen, letter.last_seen, letter.attempts, letter.released_at) == (T0, T0 + timedelta(seconds=60), 2, None)
    assert timed.status("order", "1").status == "dead_lettered"
    assert timed.status("order", "1").last_error == "bad price"
    assert timed.pending("order") == []
    assert [d.nop_key for d in timed.dead_letters()] == ["1", "2"]
    assert [d.nop_key for d in timed.dead_letters(reason="invalid_address")] == ["2"]
    assert timed.dead_letters(reason="auth") == []


def test_dead_letter_unknown_reason_names_allowed_values(ledger):
    with pytest.raises(ValueError) as raised:
        ledger.dead_letter("order", "1", reason="oops", error_code=None, message="m", payload={})
    assert all(reason in str(raised.value) for reason in DEAD_LETTER_REASONS)
    with pytest.raises(ValueError, match="unknown_sku"):
        ledger.dead_letters(reason="oops")
    assert ledger.dead_letters() == []
    assert ledger.status("order", "1") is None


def test_release_dead_letters_replays_to_pending(ledger):
    ledger.enqueue("order", ["1", "2"])
    one = ledger.dead_letter("order", "1", reason="unknown_sku", error_code=None, message="SKU X", payload={"sku": "X"})
    two = ledger.dead_letter("order", "2", reason="auth", error_code="401", message="denied", payload={})

    released = ledger.release_dead_letters([one, 9999])
    assert [d.id for d in released] == [one]
    assert released[0].released_at is not None
    assert ledger.status("order", "1").status == "pending"
    assert ledger.status("order", "1").attempts == 0
    assert ledger.pending("order") == ["1"]
    assert [d.id for d in ledger.dead_letters()] == [two]
    assert [d.id for d in ledger.dead_letters(include_released=True)] == [one, two]
    assert ledger.release_dead_letters([one]) == []  # already released

    # Fails again after the replay: the same dead letter reopens, first_seen kept.
    again = ledger.dead_letter("order", "1", reason="unknown_sku", error_code=None, message="SKU X", payload={"sku": "X"})
    assert again == one
    reopened = ledger.dead_letters(ids=[one])[0]
    assert (reopened.released_at, reopened.attempts, reopened.first_seen) == (None, 2, released[0].first_seen)


def test_dead_letter_payload_must_be_json(ledger):
    stored = ledger.dead_letter("order", "1", reason="other", error_code=None, message="m",
                                payload={"when": datetime(2024, 1, 1, tzinfo=UTC), "nested": {"a": [1, 2]}})
    assert ledger.dead_letters(ids=[stored])[0].payload == {"when": "2024-01-01 00:00:00+00:00", "nested": {"a": [1, 2]}}
    with pytest.raises(TypeError):
        ledger.dead_letter("order", "2", reason="other", error_code=None, message="m", payload=["not", "a", "dict"])


# ------------------------------------------------------------------------------ watermarks
def test_watermarks(ledger):
    assert ledger.get_watermark("orders/created") is None
    ledger.set_watermark("orders/created", "2024-05-01T10:00:00Z")
    ledger.set_watermark("orders/created", "2024-05-01T11:00:00Z")
    ledger.set_watermark("stock/sweep", "17")
    assert ledger.get_watermark("orders/created") == "2024-05-01T11:00:00Z"
    assert ledger.get_watermark("stock/sweep") == "17"


# ------------------------------------------------------------------------------ schema and durability
def test_state_survives_a_restart(db_url):
    with Ledger(db_url) as book:
        book.enqueue("order", ["1"])
        book.link("order", "1", 5)
        book.begin_intent("payment", "1:RECEIPT", owner="run-a")
    with Ledger(db_url) as book:
        assert book.schema_version == SCHEMA_VERSION
        assert book.pending("order") == ["1"]
        assert book.bp_id("order", "1") == 5
        assert [i.owner for i in book.open_intents()] == ["run-a"]


def test_concurrent_first_start_creates_schema_once(db_url):
    barrier = threading.Barrier(4)

    def start() -> int:
        barrier.wait()
        book = Ledger(db_url)
        book.close()
        return book.schema_version

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(lambda _: start(), range(4))) == [SCHEMA_VERSION] * 4
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM schema_version")).scalar_one() == 1
    engine.dispose()


def _v1_schema(engine: sa.Engine) -> None:
    """The version-1 ledger, written by hand: no dead letters, no records.source_time."""
    ts = "VARCHAR(32)" if engine.dialect.name == "sqlite" else "TIMESTAMP WITH TIME ZONE"
    key = "id INTEGER PRIMARY KEY" if engine.dialect.name == "sqlite" else "id SERIAL PRIMARY KEY"
    statements = [
        f"CREATE TABLE schema_version (id INTEGER PRIMARY KEY, version INTEGER NOT NULL, upgraded_at {ts} NOT NULL)",
        f"CREATE TABLE links ({key}, kind VARCHAR(32) NOT NULL, nop_key VARCHAR(255) NOT NULL, bp_id BIGINT NOT NULL,"
        f" needs_review BOOLEAN NOT NULL, created_at {ts} NOT NULL, UNIQUE (kind, nop_key), UNIQUE (kind, bp_id))",
        f"CREATE TABLE records ({key}, kind VARCHAR(32) NOT NULL, nop_key VARCHAR(255) NOT NULL, status VARCHAR(16) NOT NULL,"
        f" attempts INTEGER NOT NULL, last_error TEXT, needs_review BOOLEAN NOT NULL, bp_id BIGINT,"
        f" first_seen {ts} NOT NULL, updated_at {ts} NOT NULL, UNIQUE (kind, nop_key))",
        f"CREATE TABLE intents ({key}, kind VARCHAR(32) NOT NULL, nop_key VARCHAR(255) NOT NULL, owner VARCHAR(255) NOT NULL,"
        f" lease_until {ts} NOT NULL, created_at {ts} NOT NULL, attempts INTEGER NOT NULL, UNIQUE (kind, nop_key))",
        f"CREATE TABLE watermarks (name VARCHAR(255) PRIMARY KEY, value TEXT NOT NULL, updated_at {ts} NOT NULL)",
    ]
    stamp = "2024-01-01T00:00:00.000000+00:00"
    rows = [
        f"INSERT INTO schema_version (id, version, upgraded_at) VALUES (1, 1, '{stamp}')",
        f"INSERT INTO links (kind, nop_key, bp_id, needs_review, created_at) VALUES ('order', '7', 70, true, '{stamp}')",
        f"INSERT INTO records (kind, nop_key, status, attempts, needs_review, bp_id, first_seen, updated_at)"
        f" VALUES ('order', '7', 'synced', 0, true, 70, '{stamp}', '{stamp}')",
        f"INSERT INTO records (kind, nop_key, status, attempts, last_error, needs_review, first_seen, updated_at)"
        f" VALUES ('order', '8', 'failed', 3, 'timeout', false, '{stamp}', '{stamp}')",
        f"INSERT INTO intents (kind, nop_key, owner, lease_until, created_at, attempts) VALUES ('order', '8', 'old-run', '{stamp}', '{stamp}', 1)",
        f"INSERT INTO watermarks (name, value, updated_at) VALUES ('orders/created', '2023-12-31', '{stamp}')",
    ]
    with engine.begin() as conn:
        for statement in statements + rows:
            conn.exec_driver_sql(statement)


def test_upgrades_a_version_1_database_keeping_rows(db_url):
    engine = sa.create_engine(db_url)
    _v1_schema(engine)
    engine.dispose()

    with Ledger(db_url) as book:
        assert book.schema_version == SCHEMA_VERSION == 4
        stamp = datetime(2024, 1, 1, tzinfo=UTC)
        [link] = book.links("order")
        assert (link.nop_key, link.bp_id, link.needs_review, link.created_at) == ("7", 70, True, stamp)
        synced, failed = book.statuses("order")
        assert (synced.status, synced.bp_id, synced.source_time, synced.first_seen) == ("synced", 70, None, stamp)
        assert (failed.status, failed.attempts, failed.last_error) == ("failed", 3, "timeout")
        assert book.pending("order") == ["8"]
        assert book.get_watermark("orders/created") == "2023-12-31"
        [intent] = book.open_intents()
        assert intent.owner == "old-run"
        claim = book.begin_intent("order", "8", owner="new-run")  # lease long expired
        assert (claim.acquired, claim.previous_attempt) == (True, True)
        # What v2 added works on the upgraded database.
        book.dead_letter("order", "8", reason="other", error_code=None, message="m", payload={"k": 1})
        assert [d.nop_key for d in book.dead_letters()] == ["8"]
        book.enqueue("order", ["9"], source_time=stamp)
        assert book.status("order", "9").source_time == stamp

    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version FROM schema_version")).scalar_one() == SCHEMA_VERSION
    engine.dispose()


def test_refuses_a_newer_or_unversioned_database(db_url):
    with Ledger(db_url):
        pass
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE schema_version SET version = :v"), {"v": SCHEMA_VERSION + 1})
    with pytest.raises(LedgerSchemaError, match="newer"):
        Ledger(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE schema_version"))
    with pytest.raises(LedgerSchemaError, match="no schema_version"):
        Ledger(db_url)
    engine.dispose()


def test_refuses_other_databases():
    with pytest.raises(ValueError, match="SQLite or PostgreSQL"):
        Ledger("mysql://user@localhost/ledger")


# ------------------------------------------------------------------------------ Dagster resource
def test_resource_uses_env_url(db_url, monkeypatch):
    monkeypatch.setenv(LEDGER_URL_ENV, db_url)
    resource = LedgerResource()
    assert resource.resolved_url() == db_url
    book = resource.get_ledger()
    assert resource.get_ledger() is book  # cached per instance
    book.enqueue("order", ["1"])
    with Ledger(db_url) as other:
        assert other.pending("order") == ["1"]
    book.close()


def test_resource_explicit_url_wins(db_url, monkeypatch, tmp_path):
    monkeypatch.setenv(LEDGER_URL_ENV, f"sqlite:///{tmp_path / 'other.sqlite'}")
    assert LedgerResource(url=db_url).resolved_url() == db_url


def test_resource_defaults_to_dagster_home(monkeypatch, tmp_path):
    monkeypatch.delenv(LEDGER_URL_ENV, raising=False)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    assert default_ledger_url() == f"sqlite:///{tmp_path / 'home'}/ledger.sqlite"
    book = LedgerResource().get_ledger()
    book.set_watermark("w", "1")
    assert (tmp_path / "home" / "ledger.sqlite").exists()
    book.close()

    monkeypatch.delenv("DAGSTER_HOME")
    monkeypatch.chdir(tmp_path)
    assert LedgerResource().resolved_url() == f"sqlite:///{tmp_path / '.dagster_home'}/ledger.sqlite"


def test_resource_in_a_dagster_run(db_url):
    @dg.asset
    def enqueue_two(ledger: LedgerResource) -> None:
        ledger.get_ledger().enqueue("order", ["1", "2"])

    result = dg.materialize([enqueue_two], resources={"ledger": LedgerResource(url=db_url)})
    assert result.success
    with Ledger(db_url) as book:
        assert book.pending("order") == ["1", "2"]
