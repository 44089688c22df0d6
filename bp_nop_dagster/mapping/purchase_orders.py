"""Incoming stock from Brightpearl purchase orders, the shop's back-order settings for it, and the
buyers' report. Pure: no I/O, no clock (`today` is passed in).

Incoming stock, per purchase order row: outstanding = ordered − received, where received is the sum
of the row's goods-in lines (`goodsMoved[].purchaseOrderRowId`, api-docs warehouse/goods-in-note/
get.html), floored at 0. Purchase orders whose stock status is POA (all received, help 211131986)
add nothing. Per SKU and warehouse (the purchase order's `warehouseId`): `on_order` = the sum of
the outstanding units, `next_delivery` the earliest expected delivery (`delivery.deliveryDate`) of
a row with units outstanding, `last_delivery` the latest.

Buyers' report, per SKU with sales or stock on order (stated formula):

    daily_rate     = units sold over the last `sales_window_days` / sales_window_days
    days_of_cover  = (on_hand + on_order) / daily_rate           (no sales: not computed)
    stock_out_in   = on_hand / daily_rate                        (days until on-hand runs out)
    short_by       = max(0, ceil(daily_rate × cover_days − on_hand − on_order))

A SKU is flagged "selling faster than incoming stock covers" when `short_by > 0` (on hand plus on
order will not last `cover_days`), or when its on-hand runs out before its next delivery arrives
(`stock_out_in < days until next_delivery`).

Back-orders in the shop (mapping `purchase_orders`, both off by default), for a product that is out
of stock in the shop (`stock_quantity <= 0`) and on order in Brightpearl:
- `backorders_in_nopcommerce`: `backorder_mode_id` 1 (AllowQtyBelow0, nopCommerce BackorderMode);
- `available_from_dates`: `available_for_pre_order` true with `pre_order_availability_start_date_time_utc`
  the next delivery (ProductDto properties, plugin contract).
When the product is in stock again or nothing is on order any more, the values this integration
replaced are put back (the ones it found before its first change, kept in the ledger).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from decimal import Decimal

RECEIVED_IN_FULL = "POA"
ALLOW_QTY_BELOW_ZERO = 1  # nopCommerce BackorderMode.AllowQtyBelow0
BACKORDER_FIELDS = ("backorder_mode_id", "available_for_pre_order", "pre_order_availability_start_date_time_utc")


@dataclass(frozen=True)
class IncomingRow:
    purchase_order_id: int
    reference: str | None
    row_id: int
    product_id: int
    sku: str | None
    warehouse_id: int | None
    ordered: int
    received: int
    expected_on: date | None

    @property
    def outstanding(self) -> int:
        return max(0, self.ordered - self.received)


def incoming_rows(purchase_orders: Iterable, notes: Iterable, sku_of: Mapping[int, str]) -> list[IncomingRow]:
    """Every row of the open purchase orders with its units received so far (module docstring).
    `purchase_orders`: Brightpearl `Order`s (type PO); `notes`: their `GoodsInNote`s."""
    received: dict[tuple[int, int], int] = {}
    for note in notes:
        for line in note.goods_moved:
            if line.purchase_order_row_id is not None:
                key = (note.order_id, line.purchase_order_row_id)
                received[key] = received.get(key, 0) + int(line.quantity)
    rows = []
    for order in purchase_orders:
        if order.order_type_code != "PO" or order.stock_status_code == RECEIVED_IN_FULL:
            continue
        expected = order.delivery_date.date() if order.delivery_date else None
        for row in order.rows:
            if row.product_id is None:
                continue
            rows.append(IncomingRow(order.id, order.reference, row.id, row.product_id, row.product_sku or sku_of.get(row.product_id),
                                    order.warehouse_id, int(row.quantity), received.get((order.id, row.id), 0), expected))
    return rows


@dataclass(frozen=True)
class Incoming:
    sku: str | None
    product_id: int
    warehouse_id: int | None
    on_order: int
    next_delivery: date | None
    last_delivery: date | None
    purchase_orders: str


def incoming_by_sku(rows: Iterable[IncomingRow]) -> list[Incoming]:
    """Outstanding units per product and warehouse, with their expected delivery dates."""
    groups: dict[tuple[int, int | None], list[IncomingRow]] = {}
    for row in rows:
        if row.outstanding > 0:
            groups.setdefault((row.product_id, row.warehouse_id), []).append(row)
    result = []
    for (product_id, warehouse_id), members in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0)):
        dates = [r.expected_on for r in members if r.expected_on]
        result.append(Incoming(
            sku=members[0].sku, product_id=product_id, warehouse_id=warehouse_id, on_order=sum(r.outstanding for r in members),
            next_delivery=min(dates, default=None), last_delivery=max(dates, default=None),
            purchase_orders=", ".join(sorted({r.reference or str(r.purchase_order_id) for r in members})),
        ))
    return result


@dataclass(frozen=True)
class Cover:
    sku: str
    on_hand: int
    on_order: int
    sold: int
    daily_rate: Decimal
    days_of_cover: Decimal | None
    stock_out_in: Decimal | None
    next_delivery: date | None
    short_by: int
    flagged: bool
    reason: str


def cover(sku: str, *, on_hand: int, on_order: int, sold: int, next_delivery: date | None, today: date, sales_window_days: int,
          cover_days: int) -> Cover:
    """One SKU's line of the buyers' report (module docstring)."""
    rate = Decimal(sold) / Decimal(sales_window_days)
    if rate <= 0:
        return Cover(sku, on_hand, on_order, sold, Decimal(0), None, None, next_delivery, 0, False, "no sales in the window")
    days = (Decimal(on_hand + on_order) / rate).quantize(Decimal("0.1"))
    stock_out = (Decimal(max(on_hand, 0)) / rate).quantize(Decimal("0.1"))
    short = max(0, math.ceil(rate * cover_days - on_hand - on_order))
    late = next_delivery is not None and stock_out < (next_delivery - today).days
    reasons = []
    if short:
        reasons.append(f"on hand + on order last {days} days, under the {cover_days}-day cover: short by {short}")
    if late:
        reasons.append(f"on hand runs out in {stock_out} days, before the next delivery on {next_delivery.isoformat()}")
    return Cover(sku, on_hand, on_order, sold, rate.quantize(Decimal("0.01")), days, stock_out, next_delivery, short,
                 bool(short or late), "; ".join(reasons) or "covered")


def backorder_changes(*, stock_quantity: int, on_order: int, next_delivery: date | None, current: Mapping[str, object],
                      original: Mapping[str, object] | None, backorders: bool, available_from: bool) -> dict:
    """ProductDto changes for one shop product (module docstring): the back-order settings while
    it is out of stock and on order, else the original values back (when this integration
    changed them, `original` not None). Empty: nothing to write."""
    wanted: dict[str, object] = {}
    if stock_quantity <= 0 and on_order > 0:
        if backorders:
            wanted["backorder_mode_id"] = ALLOW_QTY_BELOW_ZERO
        if available_from and next_delivery is not None:
            wanted["available_for_pre_order"] = True
            wanted["pre_order_availability_start_date_time_utc"] = datetime.combine(next_delivery, time.min, tzinfo=timezone.utc)
    elif original is not None:
        wanted = {name: original.get(name) for name in BACKORDER_FIELDS if name in original}
    return {name: value for name, value in wanted.items() if not _same(current.get(name), value)}


def _same(a: object, b: object) -> bool:
    if isinstance(a, str) and isinstance(b, datetime):
        try:
            a = datetime.fromisoformat(a.replace("Z", "+00:00"))
        except ValueError:
            return False
    if isinstance(a, datetime) and isinstance(b, datetime):
        return (a if a.tzinfo else a.replace(tzinfo=timezone.utc)) == b
    return a == b
