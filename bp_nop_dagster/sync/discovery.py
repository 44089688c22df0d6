"""Finding order work in nopCommerce and handing it to the ledger (DESIGN principle 5).

nopCommerce has no webhooks and orders have no updated timestamp, so new orders are found by a
created-time watermark with overlap (de-duplicated by id), a catch-up sweep re-reads the last
24 hours, and open orders are re-polled for status and payment changes. Work is "handed on" once
it is in the ledger: only then may a cursor move past it.

Finding work parses no more of an order than it needs (`OrderRef`: id, created time, status), so
one order whose other fields are malformed never stops a tick; it is handed on by id and the
sync dead-letters it. The watermark is our own clock at the read, never a timestamp from
nopCommerce, so an order dated in the future cannot move it (`cursor.cap_watermark` would
apply otherwise).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bp_nop_dagster.ledger import Ledger, RecordKind
from bp_nop_dagster.nopcommerce.client import NopCommerceClient
from bp_nop_dagster.nopcommerce.models import OrderStatus
from bp_nop_dagster.sync.cursor import SensorCursor

ORDER = RecordKind.ORDER
OVERLAP = timedelta(minutes=5)
FIRST_LOOKBACK = timedelta(hours=24)
SWEEP_LOOKBACK = timedelta(hours=24)
REPOLL_HORIZON = timedelta(days=14)


def discover_new_orders(nop: NopCommerceClient, ledger: Ledger, cursor: SensorCursor, now: datetime) -> tuple[list[int], SensorCursor]:
    """New orders since the cursor, enqueued in the ledger; returns them and the next cursor.

    The window is closed (`[watermark - overlap, now]`) so newest-first paging cannot shift, and
    ids already seen inside the overlap are skipped. The ledger write happens before the caller
    stores the new cursor: a failure in between re-reads the window, and enqueueing is idempotent.
    """
    start = (cursor.watermark or now - FIRST_LOOKBACK) - OVERLAP
    orders = nop.order_refs_created_between(start, now)
    # An order without a readable created time is handed on too (by id, when that is readable):
    # the sync parks it; it stays out of `seen`, so each tick hands it on again (a no-op).
    unreadable = [bad.id for bad in orders.malformed if bad.id is not None]
    new = list(dict.fromkeys([o.id for o in orders if o.id not in cursor.seen] + unreadable))
    if new:
        ledger.enqueue(ORDER, [str(i) for i in new])
    keep_from = now - OVERLAP
    seen = {o.id for o in orders if o.created_on_utc is None or o.created_on_utc >= keep_from}
    return new, SensorCursor(watermark=now, seen=seen)


def sweep_recent_orders(nop: NopCommerceClient, ledger: Ledger, now: datetime, lookback: timedelta = SWEEP_LOOKBACK) -> int:
    """Safety net for missed polls: every order of the last `lookback` into the ledger. Records
    already synced or dead-lettered are left as they are; a skipped one (absent from nopCommerce
    when it was read) that nopCommerce lists again goes back to pending: a skip is re-checked
    by every sweep while its order is in the window. Returns how many were new."""
    return enqueue_orders_created_between(nop, ledger, now - lookback, now)


def enqueue_orders_created_between(nop: NopCommerceClient, ledger: Ledger, start: datetime, end: datetime) -> int:
    """Every order created in `[start, end)` into the ledger (skipped ones re-opened, see
    `sweep_recent_orders`); returns how many were new there."""
    orders = nop.order_refs_created_between(start, end - timedelta(microseconds=1))
    keys = [str(o.id) for o in orders] + [str(bad.id) for bad in orders.malformed if bad.id is not None]
    return ledger.enqueue(ORDER, keys, reopen_skipped=True)


def requeue_open_orders(nop: NopCommerceClient, ledger: Ledger, now: datetime, horizon: timedelta = REPOLL_HORIZON) -> int:
    """Re-poll synced orders of the last `horizon` that nopCommerce has not completed: any of them
    may have been paid, captured or cancelled since. They go back to pending; the sync finds what
    changed (status PUT, new payments) or records them unchanged. An order absent from
    Order/GetByIds (soft-deleted or gone) is not re-polled; it stays synced, so the next call asks
    for it again (one short reply never drops it for good)."""
    synced = [r for r in ledger.statuses(ORDER) if r.status == "synced" and r.first_seen and r.first_seen >= now - horizon]
    if not synced:
        return 0
    orders = nop.order_refs_by_ids(int(r.nop_key) for r in synced)
    open_or_changed = [str(o.id) for o in orders if o.order_status_id != OrderStatus.COMPLETE]
    return ledger.requeue(ORDER, open_or_changed) if open_or_changed else 0

