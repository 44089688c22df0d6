"""Reading the local webhook queue (the ledger's `webhook_events`) from a cursor, at no
Brightpearl cost, and what each event asks for.

Cursor: the highest row id handed on that no earlier row can still appear below, plus the ids
above it already handed on. Row ids are assigned at insert but become visible at commit, so on
PostgreSQL a row may appear after a higher one; the cursor moves past a row only once it is
`SETTLE` old (every receiver transaction has committed by then) and remembers the newer ones it
handed on, so nothing is skipped and nothing is handed on twice. Rows older than `RETENTION`
are deleted as the queue is read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bp_nop_dagster.ledger import Ledger, WebhookEvent
from bp_nop_dagster.webhooks.subscriptions import EVENTS, GOODS_OUT_SHIPPED, ON_HAND_MODIFIED, ORDER_STATUS_MODIFIED, SALES_ORDER_CREATED

SETTLE = timedelta(seconds=10)
#: How long received events are kept (the drift report's `found_by` looks back 24 h).
RETENTION = timedelta(days=7)


@dataclass
class QueueCursor:
    after_id: int = 0
    handed_on: set[int] = field(default_factory=set)

    @classmethod
    def parse(cls, raw: str | None) -> QueueCursor:
        if not raw:
            return cls()
        data = json.loads(raw)
        return cls(int(data.get("after_id", 0)), set(data.get("handed_on", [])))

    def dumps(self) -> str:
        return json.dumps({"after_id": self.after_id, "handed_on": sorted(self.handed_on)})


@dataclass
class Received:
    """What the new events ask for, by kind of work."""

    product_ids: list[int] = field(default_factory=list)  # product.modified.on-hand-modified: stock push
    sales_order_ids: list[int] = field(default_factory=list)  # sales-order.created: its products' stock
    goods_out_note_ids: list[int] = field(default_factory=list)  # goods-out-note.modified.shipped: fulfilment
    order_status_ids: list[int] = field(default_factory=list)  # order.modified.order-status: fulfilment
    last_id: int = 0

    @property
    def count(self) -> int:
        return len(self.product_ids) + len(self.sales_order_ids) + len(self.goods_out_note_ids) + len(self.order_status_ids)


def take(ledger: Ledger, cursor: QueueCursor, now: datetime) -> tuple[Received, QueueCursor]:
    """The events received since the cursor, grouped (ids de-duplicated, ascending), and the next cursor."""
    ledger.purge_webhook_events(now - RETENTION)  # indexed on received_at: cheap when nothing is due
    rows = ledger.webhook_events(EVENTS, after_id=cursor.after_id)
    new = [row for row in rows if row.id not in cursor.handed_on]
    received = _group(new)
    settled = [row.id for row in rows if row.received_at <= now - SETTLE]
    after_id = max([cursor.after_id, *settled])
    handed_on = {row.id for row in rows if row.id > after_id}
    return received, QueueCursor(after_id, handed_on)


def _group(rows: list[WebhookEvent]) -> Received:
    by_event: dict[str, set[int]] = {event: set() for event in EVENTS}
    for row in rows:
        by_event[row.event].add(row.resource_id)
    return Received(
        product_ids=sorted(by_event[ON_HAND_MODIFIED]),
        sales_order_ids=sorted(by_event[SALES_ORDER_CREATED]),
        goods_out_note_ids=sorted(by_event[GOODS_OUT_SHIPPED]),
        order_status_ids=sorted(by_event[ORDER_STATUS_MODIFIED]),
        last_id=max((row.id for row in rows), default=0),
    )
