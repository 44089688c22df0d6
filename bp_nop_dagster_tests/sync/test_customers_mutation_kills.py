"""The customer flow's sensor watermark and the customer report's "active since the flow started",
left unpinned by the session-23 mutation sample (issue 19 item 5; docs/mutation.md, "session 23").
Expected values restate the module docstrings' rules; each test names the break it was checked
against (applied by hand: the test fails)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from bp_nop_dagster.sync.cursor import SensorCursor
from bp_nop_dagster.sync.customer_reconcile import _verdict
from bp_nop_dagster.sync.customers import BP_OVERLAP, CUSTOMER, discover_bp_changes

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


class ChangedContacts:
    """Brightpearl's `contact-search?updatedOn=since/`: the rows changed at or after `since`."""

    def __init__(self, *rows) -> None:
        self.rows = rows
        self.asked: list[datetime] = []

    def contacts_updated_since(self, since: datetime):
        self.asked.append(since)
        return [r for r in self.rows if r.updated_on >= since]


def contact(contact_id: int, updated_on: datetime) -> SimpleNamespace:
    return SimpleNamespace(contact_id=contact_id, updated_on=updated_on)


def test_brightpearl_contact_changes_move_the_watermark_to_the_newest_change_seen(ledger):
    """`discover_bp_changes`: linked contacts "changed in Brightpearl since the watermark (minus an
    overlap)", into the ledger; the next watermark is the newest change seen (never past now: a
    clock ahead in the source must not hide later changes, sync/test_cursor.py), kept when nothing
    changed. Break checked: the newest change ignored (`if (newest) and False`: the watermark
    stays where it was, so every tick reads the same changes again)."""
    ledger.link(CUSTOMER, "11", 501)
    start = NOW - timedelta(hours=1)
    bp = ChangedContacts(contact(501, NOW - timedelta(minutes=20)), contact(777, NOW - timedelta(minutes=10)))
    keys, cursor = discover_bp_changes(bp, ledger, SensorCursor(watermark=start), NOW)
    assert keys == ["11"] and ledger.pending(CUSTOMER) == ["11"]
    assert bp.asked == [start - BP_OVERLAP]
    assert cursor.watermark == NOW - timedelta(minutes=10)  # contact 777 is no customer's, yet it was seen

    ahead = ChangedContacts(contact(501, NOW + timedelta(hours=2)))
    _, cursor = discover_bp_changes(ahead, ledger, SensorCursor(watermark=start), NOW)
    assert cursor.watermark == NOW

    _, cursor = discover_bp_changes(ChangedContacts(), ledger, SensorCursor(watermark=start), NOW)
    assert cursor.watermark == start


def test_a_customer_active_at_the_very_start_of_the_flow_counts_as_active_since_then():
    """`reconciliation/customers`: `not_followed` is "not active since the flow started (the
    sensors would have seen it)". The customer sensor asks nopCommerce for customers active from
    its watermark on (`lastActivityFromUtc`, a lower bound that includes it), so a customer active
    at the very instant the flow started would have been seen: never linked, that is `missing`.
    Break checked: `active < started` made `active <= started` (`not_followed`)."""
    started = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

    def verdict(active: datetime | None) -> str:
        return _verdict(None, [], None, False, SimpleNamespace(last_activity_date_utc=active), started)[0]

    assert verdict(started - timedelta(microseconds=1)) == "not_followed"
    assert verdict(started) == "missing"
    assert verdict(started.replace(tzinfo=None)) == "missing"  # nopCommerce's naive UTC reads the same
    assert verdict(None) == "missing"
