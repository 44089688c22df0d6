"""Purchase orders (read) as Dagster assets: incoming stock per SKU and warehouse from Brightpearl
purchase orders and goods-in notes; the shop's back-order settings for out-of-stock SKUs on order
(only when the mapping enables them); the buyers' report of SKUs selling faster than their
incoming stock covers. Rules and formulas: `mapping/purchase_orders.py`; flow: `sync/purchase_orders.py`."""

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import dagster as dg

from bp_nop_dagster.brightpearl.resource import BrightpearlResource
from bp_nop_dagster.defs.sync_settings import SyncSettings
from bp_nop_dagster.ledger.resource import LedgerResource
from bp_nop_dagster.nopcommerce.resource import NopCommerceResource
from bp_nop_dagster.reporting import DataFrame, report_files_metadata, table_metadata, write_report
from bp_nop_dagster.mapping.purchase_orders import Incoming
from bp_nop_dagster.sync.purchase_orders import apply_backorders, buyers_report, on_order_by_sku, read_incoming
from bp_nop_dagster.defs.pairing import BRIGHTPEARL_POOL, asset_key

if TYPE_CHECKING:
    import pandas as pd

GROUP = "purchase_orders"
OWNERS = ["team:purchasing"]

INCOMING_STOCK = asset_key("brightpearl", "incoming_stock")
BACKORDERS = asset_key("nopcommerce", "backorders_from_brightpearl")
BUYERS_REPORT = asset_key("reconciliation", "buyers_report")
NOP_PRODUCTS = asset_key("nopcommerce", "products")

INCOMING_COLUMNS = {
    "sku": "Brightpearl SKU", "product_id": "Brightpearl product id", "warehouse_id": "the purchase order's warehouse",
    "on_order": "units ordered and not received yet (ordered − goods-in received, per row, summed)",
    "next_delivery": "earliest expected delivery (delivery.deliveryDate) of a row with units outstanding",
    "last_delivery": "latest expected delivery of a row with units outstanding",
    "purchase_orders": "the purchase orders' references",
}
COVER_COLUMNS = {
    "sku": "Brightpearl SKU", "on_hand": "on hand over the mapped warehouses", "on_order": "units on order for them",
    "sold": "units sold in the sales window", "daily_rate": "sold / sales_window_days",
    "days_of_cover": "(on_hand + on_order) / daily_rate", "stock_out_in": "on_hand / daily_rate (days)",
    "next_delivery": "the earliest expected delivery", "short_by": "max(0, ceil(daily_rate × cover_days − on_hand − on_order))",
    "flagged": "short_by > 0, or on hand runs out before the next delivery", "reason": "why, in words",
}


def _lines(incoming: "pd.DataFrame") -> list[Incoming]:
    """The incoming-stock table's rows back as the pure type."""
    import pandas as pd
    return [Incoming(sku=r.sku, product_id=int(r.product_id), warehouse_id=None if pd.isna(r.warehouse_id) else int(r.warehouse_id),
                     on_order=int(r.on_order), next_delivery=None if pd.isna(r.next_delivery) else r.next_delivery.date(),
                     last_delivery=None if pd.isna(r.last_delivery) else r.last_delivery.date(), purchase_orders=r.purchase_orders)
            for r in incoming.itertuples()]


@dg.asset(key=INCOMING_STOCK, group_name=GROUP, owners=OWNERS, kinds={"brightpearl", "pandas"}, pool=BRIGHTPEARL_POOL)
def incoming_stock(context: dg.AssetExecutionContext, brightpearl: BrightpearlResource) -> dg.MaterializeResult:
    """Units on order per SKU and warehouse with expected delivery dates: open Brightpearl purchase
    orders (not POA) minus what their goods-in notes received. Reads only."""
    import pandas as pd
    bp = brightpearl.get_client()
    before = bp.call_count
    rows, incoming = read_incoming(bp)
    frame = pd.DataFrame([line.__dict__ for line in incoming], columns=list(INCOMING_COLUMNS))
    for column in ("next_delivery", "last_delivery"):
        frame[column] = pd.to_datetime(frame[column])
    return dg.MaterializeResult(value=frame, metadata={
        **table_metadata(frame, INCOMING_COLUMNS),
        "open_purchase_order_rows": dg.MetadataValue.int(len(rows)),
        "units_on_order": dg.MetadataValue.int(int(frame["on_order"].sum()) if not frame.empty else 0),
        "brightpearl_calls": dg.MetadataValue.int(bp.call_count - before),
    })


@dg.asset(key=BACKORDERS, ins={"incoming": dg.AssetIn(key=INCOMING_STOCK)}, deps=[NOP_PRODUCTS], group_name=GROUP, owners=OWNERS,
          kinds={"nopcommerce"})
def backorders_from_brightpearl(context: dg.AssetExecutionContext, incoming: DataFrame, nopcommerce: NopCommerceResource,
                                ledger: LedgerResource, sync_settings: SyncSettings) -> dg.MaterializeResult:
    """nopCommerce back-order settings (back-orders allowed, or pre-order from the expected delivery
    date) for products out of stock in the shop and on order in Brightpearl, when the mapping's
    `purchase_orders` section enables them; the original settings put back once stock is in or
    nothing is on order. Every other product property is written back as read."""
    config = sync_settings.mapping()
    lines = _lines(incoming)
    nop = nopcommerce.get_client()
    before = nop.call_count
    report = apply_backorders(nop, ledger.get_ledger(), config, on_order_by_sku(lines, config.stock.brightpearl_warehouses))
    enabled = config.purchase_orders.backorders_in_nopcommerce or config.purchase_orders.available_from_dates
    return dg.MaterializeResult(metadata={
        "enabled": dg.MetadataValue.bool(enabled),
        "set": dg.MetadataValue.int(len(report.set)), "restored": dg.MetadataValue.int(len(report.restored)),
        "unchanged": dg.MetadataValue.int(report.unchanged), "moved_meanwhile": dg.MetadataValue.int(len(report.moved_meanwhile)),
        "skus": dg.MetadataValue.md("\n".join([f"- {s}: back-order settings" for s in report.set]
                                              + [f"- {s}: original settings back" for s in report.restored]) or "_none_"),
        "nopcommerce_calls": dg.MetadataValue.int(nop.call_count - before),
    })


@dg.asset(key=BUYERS_REPORT, ins={"incoming": dg.AssetIn(key=INCOMING_STOCK)}, group_name=GROUP, owners=OWNERS,
          kinds={"pandas", "csv"}, pool=BRIGHTPEARL_POOL)
def buyers_report_asset(context: dg.AssetExecutionContext, incoming: DataFrame, brightpearl: BrightpearlResource,
                        sync_settings: SyncSettings) -> dg.MaterializeResult:
    """For buyers: every SKU sold in the sales window or on order, with its days of cover, and
    flagged when it sells faster than on hand plus incoming stock covers (formula in the column
    descriptions and `mapping/purchase_orders.py`). CSV in the reports folder."""
    import pandas as pd
    config = sync_settings.mapping()
    bp = brightpearl.get_client()
    before = bp.call_count
    lines = _lines(incoming)
    today = datetime.now(UTC).date()
    covers = buyers_report(bp, config, lines, today)
    frame = pd.DataFrame([c.__dict__ for c in covers], columns=list(COVER_COLUMNS))
    frame = frame.sort_values(["flagged", "short_by"], ascending=[False, False], kind="stable").reset_index(drop=True)
    for column in ("daily_rate", "days_of_cover", "stock_out_in"):
        frame[column] = pd.to_numeric(frame[column].map(lambda v: None if v is None else float(v)))
    paths = write_report(frame, f"buyers_report_{today.isoformat()}")
    return dg.MaterializeResult(value=frame, metadata={
        "flagged": dg.MetadataValue.int(int(frame["flagged"].sum()) if not frame.empty else 0),
        "cover_days": dg.MetadataValue.int(config.purchase_orders.cover_days),
        "sales_window_days": dg.MetadataValue.int(config.purchase_orders.sales_window_days),
        **table_metadata(frame, COVER_COLUMNS), **report_files_metadata(paths),
        "brightpearl_calls": dg.MetadataValue.int(bp.call_count - before),
    })
