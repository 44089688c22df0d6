"""Every record settles on its own (DESIGN principle 12), in the ledger, on SQLite and PostgreSQL
(see conftest.py), with a fake clock: the retry policy's backoff and give-up, due work without
starvation, leases that end with their owner, keys and text that cannot break the ledger, the
record kinds and dead-letter reasons, and the v2 -> v3 migration.

Expected delays restate the policy's rule (`fate.py`): with jitter 0, the n-th failure waits
min(cap, first_delay * 2**(n-1)); the n-th failure dead-letters when n >= give_up_after.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from bp_nop_dagster.ledger import (
    DEAD_LETTER_REASONS,
    KINDS,
    SCHEMA_VERSION,
    DeadLetterReason,
    IntentClaim,
    LeaseLost,
    Ledger,
    RecordKind,
    RetryPolicy,
    stored_key,
)
from bp_nop_dagster_tests.ledger.clock import T0

#: 10 s, 20 s, 40 s, then 60 s; the 4th failure gives up.
SHORT = RetryPolicy(first_delay=timedelta(seconds=10), cap=timedelta(seconds=60), give_up_after=4, jitter=0.0)
IMMEDIATE = RetryPolicy(first_delay=timedelta(0), cap=timedelta(0), give_up_after=100, jitter=0.0)


# ------------------------------------------------------------------------------ backoff and give-up
def test_failures_back_off_by_the_policy(timed, clock):
    timed.enqueue("order", ["1"])
    waits = []
    for _ in range(3):
        fate = timed.mark_failed("order", "1", "503 throttled", policy=SHORT)
        assert not fate.dead_lettered
        waits.append(fate.retry_at - clock.now)
        record = timed.status("order", "1")
        assert (record.status, record.next_attempt_at) == ("failed", fate.retry_at)
        clock.now = fate.retry_at
    assert waits == [timedelta(seconds=10), timedelta(seconds=20), timedelta(seconds=40)]


def test_the_default_policy_applies_without_an_argument(timed, clock):
    fate = timed.mark_failed("order", "1", "timeout")
    assert fate.attempts == 1
    assert timedelta(seconds=4) <= fate.retry_at - T0 <= timedelta(seconds=5)  # 5 s, up to 20 % shorter


def test_a_failed_record_is_not_due_before_its_time(timed, clock):
    timed.enqueue("order", ["1", "2"])
    fate = timed.mark_failed("order", "1", "timeout", policy=SHORT)
    assert timed.pending("order") == ["2"]
    assert (timed.waiting("order"), timed.next_due("order")) == (1, T0 + timedelta(seconds=10))
    clock.advance(9.999)
    assert timed.pending("order") == ["2"]
    clock.now = fate.retry_at
    assert timed.pending("order") == ["2", "1"]
    assert (timed.waiting("order"), timed.next_due("order")) == (0, T0 + timedelta(seconds=10))
    assert timed.unsettled("order") == ["1", "2"]  # due or not, both are still open
    assert timed.next_due("contact") is None and timed.waiting("contact") == 0


def test_giving_up_dead_letters_with_the_last_error_and_payload(timed, clock):
    timed.enqueue("payment", ["7:RECEIPT"])
    for error in ("timeout", "503", "connection reset"):
        assert not timed.mark_failed("payment", "7:RECEIPT", error, policy=SHORT).dead_lettered
        clock.advance(60)
    fate = timed.mark_failed("payment", "7:RECEIPT", "still 503", policy=SHORT, payload={"order_id": 7})
    assert (fate.dead_lettered, fate.attempts, fate.retry_at) == (True, 4, None)
    [letter] = timed.dead_letters()
    assert letter.id == fate.dead_letter_id
    assert (letter.kind, letter.nop_key, letter.reason, letter.message, letter.payload) == (
        "payment", "7:RECEIPT", "gave_up", "still 503", {"order_id": 7})
    record = timed.status("payment", "7:RECEIPT")
    assert (record.status, record.attempts, record.last_error, record.next_attempt_at) == ("dead_lettered", 4, "still 503", None)
    assert timed.pending("payment") == [] and timed.unsettled("payment") == [] and timed.next_due("payment") is None

    [released] = timed.release_dead_letters([letter.id])
    record = timed.status("payment", "7:RECEIPT")
    assert (record.status, record.attempts, record.next_attempt_at) == ("pending", 0, None)
    assert timed.pending("payment") == ["7:RECEIPT"]
    assert timed.mark_failed("payment", "7:RECEIPT", "again", policy=SHORT).retry_at == clock.now + timedelta(seconds=10)


def test_a_success_ends_the_run_of_failures(timed, clock):
    for _ in range(3):
        timed.mark_failed("bp_order_status", "55", "not shipped yet", policy=SHORT)
    timed.mark_synced("bp_order_status", "55")
    record = timed.status("bp_order_status", "55")
    assert (record.attempts, record.next_attempt_at) == (0, None)
    timed.requeue("bp_order_status", ["55"])  # a later status change fails again: a fresh count
    assert timed.mark_failed("bp_order_status", "55", "not shipped yet", policy=SHORT).attempts == 1


def test_a_completed_intent_ends_the_run_of_failures_too(timed, clock):
    timed.mark_failed("payment", "7:RECEIPT", "outcome unknown", policy=SHORT)
    timed.begin_intent("payment", "7:RECEIPT", owner="run-a")
    timed.complete_intent("payment", "7:RECEIPT", 31, owner="run-a")
    record = timed.status("payment", "7:RECEIPT")
    assert (record.status, record.attempts, record.next_attempt_at) == ("synced", 0, None)


def test_requeue_makes_a_waiting_record_due_at_once(timed, clock):
    timed.mark_failed("order", "1", "timeout", policy=SHORT)
    assert timed.pending("order") == []
    assert timed.requeue("order", ["1"]) == 1
    record = timed.status("order", "1")
    assert (record.status, record.next_attempt_at, record.attempts) == ("pending", None, 1)
    assert timed.pending("order") == ["1"]


def test_policy_must_be_a_retry_policy(ledger):
    with pytest.raises(TypeError):
        ledger.mark_failed("order", "1", "boom", policy=3)
    assert ledger.status("order", "1") is None


# ------------------------------------------------------------------------------ no starvation
def test_records_that_keep_failing_never_starve_a_new_one(timed, clock):
    timed.enqueue("order", ["1", "2"])
    for _ in range(5):  # two orders that fail on every run, due again at once
        for key in timed.pending("order"):
            timed.mark_failed("order", key, "always fails", policy=IMMEDIATE)
        clock.advance(1)
    timed.enqueue("order", ["3"])
    assert timed.pending("order", limit=1) == ["3"]
    assert timed.pending("order") == ["3", "1", "2"]


def test_due_failed_records_come_longest_due_first(timed, clock):
    timed.enqueue("order", ["1", "2", "3"])
    timed.mark_failed("order", "1", "x", policy=RetryPolicy(first_delay=timedelta(seconds=50), cap=timedelta(seconds=50), jitter=0.0))
    timed.mark_failed("order", "2", "x", policy=RetryPolicy(first_delay=timedelta(seconds=20), cap=timedelta(seconds=20), jitter=0.0))
    clock.advance(60)
    timed.enqueue("order", ["4"])
    assert timed.pending("order") == ["3", "4", "2", "1"]
    assert timed.pending("order", limit=3) == ["3", "4", "2"]
    assert timed.next_due("order") == T0 + timedelta(seconds=20)


# ------------------------------------------------------------------------------ leases
def test_a_released_intent_is_taken_over_at_once_and_looked_up_first(timed, clock):
    timed.begin_intent("order", "1", owner="run-a", lease_seconds=60)
    assert timed.release_intent("order", "1", "run-b") is False  # only the owner can
    assert timed.begin_intent("order", "1", owner="run-b", lease_seconds=60).acquired is False
    assert timed.release_intent("order", "1", "run-a") is True
    [intent] = timed.open_intents()
    assert (intent.owner, intent.lease_until) == ("run-a", T0)  # kept, so the next attempt looks up first
    claim = timed.begin_intent("order", "1", owner="run-b", lease_seconds=60)
    assert claim == IntentClaim(acquired=True, previous_attempt=True, owner="run-b")
    assert timed.release_intent("order", "1", "run-a") is False  # run-a left already


def test_release_never_extends_an_expired_lease(timed, clock):
    timed.begin_intent("order", "1", owner="run-a", lease_seconds=10)
    clock.advance(30)
    assert timed.release_intent("order", "1", "run-a") is False
    assert timed.open_intents()[0].lease_until == T0 + timedelta(seconds=10)


def test_renewing_keeps_a_slow_owner_s_lease(timed, clock):
    timed.begin_intent("order", "1", owner="run-a", lease_seconds=60)
    for _ in range(5):  # a call that takes 200 s, renewed every 40 s
        clock.advance(40)
        assert timed.renew_intent("order", "1", "run-a", 60) is True
        assert timed.begin_intent("order", "1", owner="run-b", lease_seconds=60).acquired is False
    assert timed.open_intents()[0].lease_until == T0 + timedelta(seconds=260)
    timed.complete_intent("order", "1", 7001, owner="run-a")
    assert timed.bp_id("order", "1") == 7001 and timed.open_intents() == []


def test_renewal_fails_once_another_owner_took_over(timed, clock):
    timed.begin_intent("order", "1", owner="run-a", lease_seconds=60)
    clock.advance(61)
    assert timed.begin_intent("order", "1", owner="run-b", lease_seconds=60).acquired is True
    assert timed.renew_intent("order", "1", "run-a", 60) is False
    assert timed.renew_intent("order", "2", "run-a", 60) is False  # no intent at all
    [intent] = timed.open_intents()
    assert (intent.owner, intent.lease_until) == ("run-b", T0 + timedelta(seconds=121))


def test_completing_an_intent_taken_over_by_another_raises_and_changes_nothing(timed, clock):
    timed.enqueue("order", ["1"])
    timed.begin_intent("order", "1", owner="run-a", lease_seconds=60)
    clock.advance(61)
    timed.begin_intent("order", "1", owner="run-b", lease_seconds=60)
    with pytest.raises(LeaseLost, match="run-b"):
        timed.complete_intent("order", "1", 7001, owner="run-a")
    assert [(i.owner, i.attempts) for i in timed.open_intents()] == [("run-b", 2)]
    assert timed.bp_id("order", "1") is None and timed.links("order") == []
    assert timed.status("order", "1").status == "pending"
    timed.complete_intent("order", "1", 7002, owner="run-b")
    assert timed.bp_id("order", "1") == 7002 and timed.open_intents() == []


def test_completing_without_an_open_intent_still_links(timed):
    timed.enqueue("contact", ["a@example.com"])
    timed.complete_intent("contact", "a@example.com", 9, owner="run-a")  # found by its natural key first
    assert timed.bp_id("contact", "a@example.com") == 9
    assert timed.status("contact", "a@example.com").status == "synced"
    with pytest.raises(ValueError, match="owner"):
        timed.complete_intent("contact", "b@example.com", 10, owner="")


@pytest.mark.postgres
def test_a_lease_renewed_while_another_takes_over_is_kept(postgres_url, clock):
    """PostgreSQL (READ COMMITTED): run-b reads an expired lease, run-a renews it before run-b's
    takeover UPDATE runs; the UPDATE must not take a lease that is live again. (On SQLite the
    read and the update hold the write lock together, so the race cannot happen.)"""
    run_a, run_b = Ledger(postgres_url, clock=clock), Ledger(postgres_url, clock=clock)
    try:
        run_a.begin_intent("order", "1", owner="run-a", lease_seconds=60)
        clock.advance(61)
        renewed = []

        def renew_first(conn, cursor, statement, parameters, context, executemany):
            if statement.startswith("UPDATE intents") and not renewed:
                renewed.append(run_a.renew_intent("order", "1", "run-a", 60))

        sa.event.listen(run_b.engine, "before_cursor_execute", renew_first)
        claim = run_b.begin_intent("order", "1", owner="run-b", lease_seconds=60)
        assert renewed == [True]
        assert (claim.acquired, claim.owner) == (False, "run-a")
        assert [(i.owner, i.lease_until) for i in run_a.open_intents()] == [("run-a", T0 + timedelta(seconds=121))]
    finally:
        run_a.close()
        run_b.close()


def test_a_lease_ends_exactly_at_lease_until(timed, clock):
    timed.begin_intent("order", "1", owner="run-a", lease_seconds=10)
    clock.advance(5)
    assert timed.begin_intent("order", "1", owner="run-b", lease_seconds=10).acquired is False
    clock.advance(5)  # exactly at lease_until: expired
    assert timed.begin_intent("order", "1", owner="run-b", lease_seconds=10).previous_attempt is True


# ------------------------------------------------------------------------------ keys and text
LONG_EMAIL = "a" * 240 + "@" + "b" * 40 + ".example.com"
LONG_SKU_1, LONG_SKU_2 = "S" * 300 + "-1", "S" * 300 + "-2"


def test_long_keys_round_trip_everywhere(ledger):
    ledger.link("product", LONG_SKU_1, 11)
    ledger.link("product", LONG_SKU_2, 12)
    assert ledger.bp_id("product", LONG_SKU_1) == 11 and ledger.bp_id("product", LONG_SKU_2) == 12
    assert ledger.bp_ids("product", [LONG_SKU_1, LONG_SKU_2, "short"]) == {LONG_SKU_1: 11, LONG_SKU_2: 12}
    assert {link.nop_key for link in ledger.links("product")} == {stored_key(LONG_SKU_1), stored_key(LONG_SKU_2)}
    ledger.link("product", LONG_SKU_1, 11)  # the same long key is the same row

    claim = ledger.begin_intent("contact", LONG_EMAIL, owner="run-a")
    assert claim.acquired and ledger.begin_intent("contact", LONG_EMAIL, owner="run-b").acquired is False
    ledger.complete_intent("contact", LONG_EMAIL, 5, owner="run-a")
    assert ledger.bp_id("contact", LONG_EMAIL) == 5 and ledger.status("contact", LONG_EMAIL).status == "synced"

    assert ledger.enqueue("product", [LONG_SKU_1, LONG_SKU_1, LONG_SKU_2]) == 2
    [first, second] = ledger.pending("product")
    assert (first, second) == (stored_key(LONG_SKU_1), stored_key(LONG_SKU_2))
    ledger.mark_synced("product", first)  # a key read back addresses the same row
    ledger.dead_letter("product", LONG_SKU_2, reason="unknown_sku", error_code=None, message="m", payload={})
    assert ledger.status("product", LONG_SKU_1).status == "synced"
    assert [d.nop_key for d in ledger.dead_letters()] == [stored_key(LONG_SKU_2)]
    assert ledger.pending("product") == []


def test_nul_characters_are_stripped_from_everything_stored(ledger):
    ledger.enqueue("order", ["10\x0001"])
    assert ledger.pending("order") == ["1001"]
    ledger.mark_failed("order", "1001", "bad\x00 reply", policy=IMMEDIATE)
    assert ledger.status("order", "10\x0001").last_error == "bad reply"
    letter_id = ledger.dead_letter(
        "order", "1001", reason="validation_error", error_code="CMN\x00-001", message="name \x00 refused",
        payload={"name\x00": "Zo\x00ë", "lines": [{"sku": "A\x00B"}], "qty": 2},
    )
    [letter] = ledger.dead_letters(ids=[letter_id])
    assert (letter.error_code, letter.message) == ("CMN-001", "name  refused")
    assert letter.payload == {"name": "Zoë", "lines": [{"sku": "AB"}], "qty": 2}
    ledger.mark_skipped("order", "1002", "deleted\x00 in nopCommerce")
    assert ledger.status("order", "1002").last_error == "deleted in nopCommerce"
    ledger.set_watermark("stock/movements", "2024-05-01\x00T10:00")
    assert ledger.get_watermark("stock/movements") == "2024-05-01T10:00"


def test_an_over_long_error_code_is_cut_to_the_column(ledger):
    letter_id = ledger.dead_letter("order", "1", reason="validation_error", error_code="E" * 400, message="m", payload={})
    assert ledger.dead_letters(ids=[letter_id])[0].error_code == "E" * 255


# ------------------------------------------------------------------------------ kinds and reasons
def test_only_record_kinds_are_accepted(ledger):
    for kind in ("refunds", "orders", "Order"):
        with pytest.raises(ValueError, match="RecordKind"):
            ledger.enqueue(kind, ["1"])
    for kind in RecordKind:
        ledger.enqueue(kind, ["1"])
        assert ledger.pending(kind.value) == ["1"]


def test_kinds_and_reasons_fit_their_columns():
    """`kind` and `reason` are VARCHAR(32) (schema.py)."""
    assert all(len(kind) <= 32 and kind == kind.lower() for kind in KINDS)
    assert all(len(reason) <= 32 and reason == reason.lower() for reason in DEAD_LETTER_REASONS)
    assert {"not_found", "unexpected", "gave_up", "malformed_record", "malformed_order"} <= set(DEAD_LETTER_REASONS)


def test_every_kind_string_the_flows_use_is_a_record_kind():
    from bp_nop_dagster.sync import discovery, fulfilment, orders, stock

    used = {
        orders.ORDER, orders.CONTACT, orders.PAYMENT, orders.PRODUCT, discovery.ORDER, fulfilment.ORDER,
        fulfilment.GOODS_OUT_NOTE, fulfilment.SHIPMENT_SHIPPED, fulfilment.SHIPMENT_DELIVERED, fulfilment.BP_ORDER_STATUS,
        fulfilment.ORDER_CANCELLED, stock.PRODUCT, stock.ORDER, stock.ALLOCATION, stock.RETRY,
    }
    assert used <= set(KINDS)


def test_every_mapping_error_reason_is_a_dead_letter_reason():
    from bp_nop_dagster.mapping.config import REASONS

    assert set(REASONS) <= set(DEAD_LETTER_REASONS)


def test_only_dead_letter_reasons_are_accepted(ledger):
    with pytest.raises(ValueError, match="DeadLetterReason"):
        ledger.dead_letter("order", "1", reason="flaky", error_code=None, message="m", payload={})
    ledger.dead_letter("order", "1", reason=DeadLetterReason.NOT_FOUND, error_code="404", message="gone", payload={})
    assert [d.reason for d in ledger.dead_letters(reason="not_found")] == ["not_found"]


# ------------------------------------------------------------------------------ migration v2 -> v3
def _v2_schema(engine: sa.Engine) -> None:
    """The version-2 ledger, written by hand as v2 created it (no records.next_attempt_at), with data."""
    pg = engine.dialect.name == "postgresql"
    ts = "TIMESTAMP WITH TIME ZONE" if pg else "VARCHAR(32)"
    key = "id SERIAL PRIMARY KEY" if pg else "id INTEGER PRIMARY KEY"
    statements = [
        f"CREATE TABLE schema_version (id INTEGER PRIMARY KEY, version INTEGER NOT NULL, upgraded_at {ts} NOT NULL)",
        f"CREATE TABLE links ({key}, kind VARCHAR(32) NOT NULL, nop_key VARCHAR(255) NOT NULL, bp_id BIGINT NOT NULL,"
        f" needs_review BOOLEAN NOT NULL, created_at {ts} NOT NULL, UNIQUE (kind, nop_key), UNIQUE (kind, bp_id))",
        f"CREATE TABLE records ({key}, kind VARCHAR(32) NOT NULL, nop_key VARCHAR(255) NOT NULL, status VARCHAR(16) NOT NULL,"
        f" attempts INTEGER NOT NULL, last_error TEXT, needs_review BOOLEAN NOT NULL, bp_id BIGINT,"
        f" first_seen {ts} NOT NULL, updated_at {ts} NOT NULL, source_time {ts}, UNIQUE (kind, nop_key))",
        "CREATE INDEX ix_records_kind_status_first_seen ON records (kind, status, first_seen)",
        f"CREATE TABLE intents ({key}, kind VARCHAR(32) NOT NULL, nop_key VARCHAR(255) NOT NULL, owner VARCHAR(255) NOT NULL,"
        f" lease_until {ts} NOT NULL, created_at {ts} NOT NULL, attempts INTEGER NOT NULL, UNIQUE (kind, nop_key))",
        f"CREATE TABLE dead_letters ({key}, kind VARCHAR(32) NOT NULL, nop_key VARCHAR(255) NOT NULL, reason VARCHAR(32) NOT NULL,"
        f" error_code VARCHAR(255), message TEXT NOT NULL, payload JSON NOT NULL, first_seen {ts} NOT NULL,"
        f" last_seen {ts} NOT NULL, attempts INTEGER NOT NULL, released_at {ts}, UNIQUE (kind, nop_key))",
        f"CREATE TABLE watermarks (name VARCHAR(255) PRIMARY KEY, value TEXT NOT NULL, updated_at {ts} NOT NULL)",
    ]
    early, late = "2024-01-01T00:00:00.000000+00:00", "2024-01-02T00:00:00.000000+00:00"
    rows = [
        f"INSERT INTO schema_version (id, version, upgraded_at) VALUES (1, 2, '{early}')",
        f"INSERT INTO links (kind, nop_key, bp_id, needs_review, created_at) VALUES ('order', '7', 70, false, '{early}')",
        f"INSERT INTO records (kind, nop_key, status, attempts, needs_review, bp_id, first_seen, updated_at, source_time)"
        f" VALUES ('order', '7', 'synced', 0, false, 70, '{early}', '{early}', '{early}')",
        f"INSERT INTO records (kind, nop_key, status, attempts, last_error, needs_review, first_seen, updated_at)"
        f" VALUES ('order', '8', 'failed', 3, 'timeout', false, '{early}', '{late}')",
        f"INSERT INTO records (kind, nop_key, status, attempts, last_error, needs_review, first_seen, updated_at)"
        f" VALUES ('order', '9', 'failed', 1, '503', false, '{early}', '{early}')",
        f"INSERT INTO records (kind, nop_key, status, attempts, needs_review, first_seen, updated_at)"
        f" VALUES ('order', '10', 'pending', 0, false, '{late}', '{late}')",
        f"INSERT INTO records (kind, nop_key, status, attempts, last_error, needs_review, first_seen, updated_at)"
        f" VALUES ('order', '11', 'dead_lettered', 1, 'no SKU', false, '{early}', '{early}')",
        f"INSERT INTO dead_letters (kind, nop_key, reason, error_code, message, payload, first_seen, last_seen, attempts)"
        f" VALUES ('order', '11', 'malformed_order', NULL, 'no SKU', '{{\"order_id\": 11}}', '{early}', '{early}', 1)",
        f"INSERT INTO intents (kind, nop_key, owner, lease_until, created_at, attempts) VALUES ('order', '8', 'old-run', '{early}', '{early}', 1)",
        f"INSERT INTO watermarks (name, value, updated_at) VALUES ('orders/created', '2023-12-31', '{early}')",
    ]
    with engine.begin() as conn:
        for statement in statements + rows:
            conn.exec_driver_sql(statement)


def test_upgrades_a_version_2_database_keeping_rows(db_url):
    engine = sa.create_engine(db_url)
    _v2_schema(engine)
    engine.dispose()
    early, late = datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC)
    clock_now = datetime(2024, 5, 1, tzinfo=UTC)

    with Ledger(db_url, clock=lambda: clock_now) as book:
        assert book.schema_version == SCHEMA_VERSION == 4
        records = {r.nop_key: r for r in book.statuses("order")}
        assert (records["7"].status, records["7"].bp_id, records["7"].source_time, records["7"].next_attempt_at) == ("synced", 70, early, None)
        # failed before the upgrade: due at once, from when they last failed
        assert (records["8"].attempts, records["8"].last_error, records["8"].next_attempt_at) == (3, "timeout", late)
        assert records["9"].next_attempt_at == early
        assert records["10"].next_attempt_at is None and records["11"].next_attempt_at is None
        assert book.pending("order") == ["10", "9", "8"]
        [letter] = book.dead_letters()
        assert (letter.nop_key, letter.reason, letter.payload) == ("11", "malformed_order", {"order_id": 11})
        assert book.get_watermark("orders/created") == "2023-12-31"
        assert book.begin_intent("order", "8", owner="new-run").previous_attempt is True
        # what v3 added works on the upgraded database
        fate = book.mark_failed("order", "9", "503", policy=SHORT)
        assert fate.retry_at == clock_now + timedelta(seconds=20) and book.pending("order") == ["10", "8"]

    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version FROM schema_version")).scalar_one() == SCHEMA_VERSION
        assert "ix_records_kind_status_next_attempt_at" in {ix["name"] for ix in sa.inspect(conn).get_indexes("records")}
    engine.dispose()
