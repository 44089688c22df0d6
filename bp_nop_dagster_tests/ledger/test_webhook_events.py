"""The webhook event queue (schema v4): durable, idempotent per (event, resource id, raisedOn),
read in order from a cursor, and added to an existing v3 ledger by the migration.

Rules under test (stated here, not read from the code): Brightpearl QoS 1 is at-least-once
(api-docs.brightpearl.com/integration/webhook/post.html), so the same event may arrive twice and
must be stored once; an ID set is one event for several resources, one row each."""

from __future__ import annotations

import sqlalchemy as sa

from bp_nop_dagster.ledger import SCHEMA_VERSION, Ledger

ON_HAND = "product.modified.on-hand-modified"
SHIPPED = "goods-out-note.modified.shipped"


def test_the_same_event_twice_is_one_row(ledger: Ledger):
    assert ledger.record_webhook_events(ON_HAND, [1001], "2026-01-01T10:00:00Z") == 1
    assert ledger.record_webhook_events(ON_HAND, [1001], "2026-01-01T10:00:00Z") == 0
    rows = ledger.webhook_events([ON_HAND])
    assert [(r.event, r.resource_id, r.raised_on) for r in rows] == [(ON_HAND, 1001, "2026-01-01T10:00:00Z")]


def test_a_later_change_of_the_same_resource_is_a_new_row(ledger: Ledger):
    ledger.record_webhook_events(ON_HAND, [1001], "2026-01-01T10:00:00Z")
    assert ledger.record_webhook_events(ON_HAND, [1001], "2026-01-01T10:00:05Z") == 1
    assert len(ledger.webhook_events([ON_HAND])) == 2


def test_an_id_set_is_one_row_per_resource_read_in_order_after_a_cursor(ledger: Ledger):
    ledger.record_webhook_events(ON_HAND, [1003, 1001, 1002], "t1")
    ledger.record_webhook_events(SHIPPED, [900001], "t1")
    rows = ledger.webhook_events([ON_HAND])
    assert [r.resource_id for r in rows] == [1001, 1002, 1003]
    assert [r.resource_id for r in ledger.webhook_events([ON_HAND], after_id=rows[0].id)] == [1002, 1003]
    assert [r.resource_id for r in ledger.webhook_events([SHIPPED])] == [900001]
    assert ledger.webhook_received(ON_HAND, [1001, 1004]) == {1001}


def test_rows_survive_a_new_ledger_on_the_same_database(db_url):
    with Ledger(db_url) as first:
        first.record_webhook_events(SHIPPED, [900001], "t1")
    with Ledger(db_url) as second:
        assert [r.resource_id for r in second.webhook_events([SHIPPED])] == [900001]


def test_upgrades_a_version_3_database(db_url):
    """A v3 ledger (no webhook_events table) gains the table; its rows stay."""
    with Ledger(db_url) as book:
        book.set_watermark("kept", "yes")
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE webhook_events")
        conn.exec_driver_sql("UPDATE schema_version SET version = 3")
    engine.dispose()
    with Ledger(db_url) as book:
        assert book.schema_version == SCHEMA_VERSION == 4
        assert book.get_watermark("kept") == "yes"
        assert book.record_webhook_events(ON_HAND, [1001], "t1") == 1


def test_rows_past_retention_are_purged_and_the_rest_kept(db_url):
    from datetime import UTC, datetime, timedelta

    from bp_nop_dagster_tests.ledger.clock import Clock

    clock = Clock(datetime(2026, 1, 1, tzinfo=UTC))
    with Ledger(db_url, clock=clock) as book:
        book.record_webhook_events(ON_HAND, [1001], "old")
        clock.advance(8 * 86400)
        book.record_webhook_events(ON_HAND, [1002], "new")
        assert book.purge_webhook_events(clock() - timedelta(days=7)) == 1
        assert [r.resource_id for r in book.webhook_events([ON_HAND])] == [1002]
