"""Purchase orders (read), without Dagster: incoming stock from Brightpearl purchase orders and
their goods-in notes, the shop's back-order settings for out-of-stock SKUs on order, and the
buyers' report. Rules and formulas: `mapping/purchase_orders.py`.

Reads: purchase order ids (`order-search`, orderTypeId 2), the orders by ID sets of 200 (rows,
`warehouseId`, `delivery.deliveryDate`, `stockStatusCode`), the goods-in notes of the open ones by
ID sets of 200 (`GET /warehouse-service/order/{ids}/goods-note/goods-in`).

Back-order writes (only when the mapping enables them): each product is read whole, only the
back-order properties are changed, and everything else is written back as read
(`Product/Update` replaces all ProductDto properties; `NopCommerceClient.update_product`), with the
properties read as the guard, so an edit made meanwhile in the shop's admin is never overwritten
(the product is done at the next run). The PUT is idempotent (the same body twice, the same row);
`updated_on_utc` is left as it was (the API stamps nothing; this is not a catalogue edit). The
values found before the first change are kept in the ledger (`po_backorders`) to be put back.
Products with attribute combinations (stock per combination) are left alone, and so are those of
another pair on the same installation (`NopCommerceClient.owns_product`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from bp_nop_dagster.brightpearl.client import BrightpearlClient
from bp_nop_dagster.ledger import Ledger
from bp_nop_dagster.mapping.config import MappingConfig
from bp_nop_dagster.mapping.purchase_orders import (
    BACKORDER_FIELDS,
    Cover,
    Incoming,
    IncomingRow,
    backorder_changes,
    cover,
    incoming_by_sku,
    incoming_rows,
)
from bp_nop_dagster.nopcommerce.client import NopCommerceClient


ORIGINALS = "po_backorders"  # ledger watermark: {nop product id: the back-order values before our first change}
MANAGE_STOCK = 1  # nopCommerce ManageInventoryMethod.ManageStock


def read_incoming(bp: BrightpearlClient) -> tuple[list[IncomingRow], list[Incoming]]:
    """Every open purchase order row with its receipts, and the outstanding units per SKU and warehouse."""
    orders = bp.purchase_orders(bp.purchase_order_ids())
    open_orders = [o for o in orders if o.stock_status_code != "POA"]
    notes = bp.goods_in_notes([o.id for o in open_orders]).values() if open_orders else []
    missing = {r.product_id for o in open_orders for r in o.rows if r.product_id and not r.product_sku}
    sku_of = {p.id: p.sku for p in bp.products(missing)} if missing else {}
    rows = incoming_rows(open_orders, notes, sku_of)
    return rows, incoming_by_sku(rows)


def on_order_by_sku(incoming: Iterable[Incoming], warehouses: Iterable[int]) -> dict[str, tuple[int, date | None]]:
    """SKU -> (units on order for the counted warehouses, the earliest delivery among them)."""
    counted = set(warehouses)
    result: dict[str, tuple[int, date | None]] = {}
    for line in incoming:
        if line.sku is None or line.warehouse_id not in counted:
            continue
        units, first = result.get(line.sku, (0, None))
        dates = [d for d in (first, line.next_delivery) if d]
        result[line.sku] = (units + line.on_order, min(dates) if dates else None)
    return result


@dataclass
class BackorderReport:
    set: list[str] = field(default_factory=list)  # SKUs given back-order settings
    restored: list[str] = field(default_factory=list)  # SKUs whose original settings were put back
    unchanged: int = 0
    moved_meanwhile: list[str] = field(default_factory=list)  # edited in the shop during the write: next run


def apply_backorders(nop: NopCommerceClient, ledger: Ledger, config: MappingConfig, on_order: dict[str, tuple[int, date | None]]) -> BackorderReport:
    """The shop's back-order settings for out-of-stock SKUs on order (mapping `purchase_orders`)."""
    report = BackorderReport()
    rules = config.purchase_orders
    originals: dict[str, dict] = json.loads(ledger.get_watermark(ORIGINALS) or "{}")
    if not (rules.backorders_in_nopcommerce or rules.available_from_dates) and not originals:
        return report
    skus = set(on_order) | {value["sku"] for value in originals.values()}
    # Only the pair's own products (bp_nop_dagster/pairs.py: another pair's are its to write).
    products = [p for p in nop.products_by_sku(skus) if p.manage_inventory_method_id == MANAGE_STOCK and p.sku
                and nop.owns_product(p, p.sku)]
    for product in products:
        units, delivery = on_order.get(product.sku, (0, None))
        original = originals.get(str(product.id))
        if original is None and (product.stock_quantity > 0 or units <= 0):
            report.unchanged += 1
            continue
        current = nop.product_fields(product.id, BACKORDER_FIELDS)
        changes = backorder_changes(stock_quantity=product.stock_quantity, on_order=units, next_delivery=delivery, current=current,
                                    original=original["values"] if original else None,
                                    backorders=rules.backorders_in_nopcommerce, available_from=rules.available_from_dates)
        restoring = original is not None and (product.stock_quantity > 0 or units <= 0)
        if not changes:
            report.unchanged += 1
        else:
            if original is None:  # remembered before the write: a crash after it still restores the right values
                originals[str(product.id)] = {"sku": product.sku, "values": {n: _json(current.get(n)) for n in BACKORDER_FIELDS}}
                ledger.set_watermark(ORIGINALS, json.dumps(originals))
            written = nop.update_product(product.id, changes, expected={n: current.get(n) for n in BACKORDER_FIELDS}, touch=False)
            if written is None:
                report.moved_meanwhile.append(product.sku)
                continue
            (report.restored if restoring else report.set).append(product.sku)
        if restoring:
            originals.pop(str(product.id), None)
            ledger.set_watermark(ORIGINALS, json.dumps(originals))
    return report


def _json(value):
    return value.isoformat() if isinstance(value, datetime) else value


def buyers_report(bp: BrightpearlClient, config: MappingConfig, incoming: list[Incoming], today: date) -> list[Cover]:
    """Per SKU sold in the window or on order: the cover formula of `mapping/purchase_orders.py`,
    over the mapping's counted warehouses (`stock.brightpearl_warehouses`)."""
    rules, warehouses = config.purchase_orders, config.stock.brightpearl_warehouses
    start = datetime.combine(today - timedelta(days=rules.sales_window_days), datetime.min.time(), tzinfo=UTC)
    end = datetime.combine(today, datetime.min.time(), tzinfo=UTC)
    sold: dict[int, int] = {}
    order_ids = bp.sales_order_ids_created_between(start, end)
    for order in bp.orders(order_ids) if order_ids else []:
        for row in order.rows:
            if row.product_id:
                sold[row.product_id] = sold.get(row.product_id, 0) + int(row.quantity)
    on_order = on_order_by_sku(incoming, warehouses)
    product_ids = set(sold) | {line.product_id for line in incoming if line.sku in on_order}
    products = {p.id: p for p in bp.products(product_ids)} if product_ids else {}
    tracked = bp.stock_tracked_ids(product_ids) if product_ids else set()
    availability = bp.product_availability(tracked) if tracked else {}
    lines = []
    for product_id, product in sorted(products.items()):
        if not product.sku or product_id not in tracked:
            continue
        levels = availability.get(product_id)
        on_hand = sum(levels.warehouses[w].on_hand for w in warehouses if levels and w in levels.warehouses)
        units, delivery = on_order.get(product.sku, (0, None))
        lines.append(cover(product.sku, on_hand=on_hand, on_order=units, sold=sold.get(product_id, 0), next_delivery=delivery,
                           today=today, sales_window_days=rules.sales_window_days, cover_days=rules.cover_days))
    return lines
