"""`reconciliation/stock_drift`: every SKU's stock in nopCommerce against what Brightpearl says it should be."""

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import dagster as dg

from bp_nop_dagster.brightpearl.resource import BrightpearlResource
from bp_nop_dagster.defs.reconciliation.common import GROUP, KINDS, OWNERS, ReportConfig
from bp_nop_dagster.defs.stock.assets import STOCK
from bp_nop_dagster.defs.sync_settings import SyncSettings
from bp_nop_dagster.ledger.resource import LedgerResource
from bp_nop_dagster.nopcommerce.resource import NopCommerceResource
from bp_nop_dagster.reporting import report_files_metadata, table_metadata, write_report
from bp_nop_dagster.sync.stock import (
    AMBIGUOUS,
    BRIGHTPEARL_ONLY,
    DIFFERS,
    IN_SYNC,
    NOP_ONLY,
    NOT_TRACKED_IN_BRIGHTPEARL,
    NOT_TRACKED_IN_NOP,
    OTHER_PAIR,
    UNMAPPED_STORE,
    StockReport,
)
from bp_nop_dagster.defs.pairing import BRIGHTPEARL_POOL, asset_key
from bp_nop_dagster.webhooks.subscriptions import ON_HAND_MODIFIED

if TYPE_CHECKING:
    import pandas as pd

STOCK_DRIFT = asset_key("reconciliation", "stock_drift")
BRIGHTPEARL_STOCK = asset_key("brightpearl", "stock")
NOP_PRODUCTS = asset_key("nopcommerce", "products")
DRIFT = "drift"
VERDICTS = (IN_SYNC, DRIFT, NOT_TRACKED_IN_NOP, NOT_TRACKED_IN_BRIGHTPEARL, NOP_ONLY, BRIGHTPEARL_ONLY, AMBIGUOUS, UNMAPPED_STORE,
            OTHER_PAIR)


def column_descriptions(warehouses: list[int]) -> dict[str, str]:
    """What each drift column holds (shown in the UI's column schema)."""
    return {
        "sku": "the SKU (exact text; the CSV quotes it, so spaces and leading zeros survive)",
        "location": "where nopCommerce holds this SKU's stock: product (the product's own stock_quantity), warehouse (a "
                    "per-warehouse inventory record of a multi-warehouse product) or combination (an attribute combination); "
                    "empty for a SKU found on one side only",
        "nop_product_id": "nopCommerce product id",
        "nop_record_id": "id of the nopCommerce record compared, by location: the product id, the warehouse-inventory "
                         "record id or the attribute-combination id",
        "nop_warehouse_id": "nopCommerce warehouse id of a per-warehouse record",
        "bp_product_id": "Brightpearl product id",
        **{f"bp_on_hand_wh{w}": f"Brightpearl on hand in warehouse {w} (units)" for w in warehouses},
        "bp_on_hand": "Brightpearl on hand over the counted warehouses (units)",
        "in_flight": "units of nopCommerce orders Brightpearl does not hold or has not allocated yet",
        "buffer": "units held back (the mapping's stock.buffer)",
        "target": "what nopCommerce should show: max(0, on hand - in flight - buffer)",
        "nop_stock": "what nopCommerce shows (units)",
        "difference": "nopCommerce stock minus target (0: in step)",
        "verdict": "in_sync, drift (needs the next push or a person), not_tracked_in_nop, not_tracked_in_brightpearl, "
                   "nop_only, brightpearl_only, ambiguous_sku, unmapped_store (limited to a store the mapping does not list), "
                   "other_pair (another pair on this nopCommerce installation owns the product: not written here)",
        "found_by": "how this product's stock changes of the last 24 h reached the integration: webhook (Brightpearl "
                    "announced an on-hand change, product.modified.on-hand-modified) or poll (none announced: the "
                    "polling sensor and the nightly reconcile found them)",
    }


def drift_frame(report: StockReport, warehouses: list[int], buffer: int, announced: set[int] = frozenset()) -> "pd.DataFrame":
    """One row per place holding a SKU's stock in nopCommerce (product, warehouse record or
    combination), plus SKUs found on one side only. `difference` = nopCommerce stock - target.
    `announced`: Brightpearl product ids a webhook announced in the last 24 h (`found_by`)."""
    import pandas as pd
    rows = []
    for row in report.rows:
        compared = row.target is not None
        rows.append({
            "sku": row.sku, "location": row.location or None, "nop_product_id": row.nop_product_id,
            "nop_record_id": row.nop_record_id, "nop_warehouse_id": row.nop_warehouse_id, "bp_product_id": row.bp_product_id,
            **{f"bp_on_hand_wh{w}": row.bp_on_hand.get(w) if compared else None for w in warehouses},
            "bp_on_hand": sum(row.bp_on_hand.values()) if compared else None,
            "in_flight": row.in_flight if compared else None, "buffer": buffer if compared else None,
            "target": row.target, "nop_stock": row.nop_stock, "difference": row.difference,
            "verdict": DRIFT if row.verdict == DIFFERS else row.verdict,
            "found_by": None if row.bp_product_id is None else ("webhook" if row.bp_product_id in announced else "poll"),
        })
    columns = ["sku", "location", "nop_product_id", "nop_record_id", "nop_warehouse_id", "bp_product_id",
               *[f"bp_on_hand_wh{w}" for w in warehouses], "bp_on_hand", "in_flight", "buffer", "target", "nop_stock", "difference", "verdict",
               "found_by"]
    frame = pd.DataFrame(rows, columns=columns)
    for column in columns[2:-2]:
        frame[column] = frame[column].astype("Int64")
    for column in ("sku", "location", "verdict", "found_by"):
        frame[column] = frame[column].astype("string")
    return frame


@dg.asset(
    key=STOCK_DRIFT,
    deps=[STOCK, BRIGHTPEARL_STOCK, NOP_PRODUCTS],
    group_name=GROUP,
    owners=OWNERS,
    kinds=KINDS,
    pool=BRIGHTPEARL_POOL,
)
def stock_drift(
    config: ReportConfig, nopcommerce: NopCommerceResource, brightpearl: BrightpearlResource, ledger: LedgerResource,
    sync_settings: SyncSettings,
) -> dg.MaterializeResult:
    """Every SKU now: Brightpearl on-hand per counted warehouse (units), nopCommerce's sellable
    stock, in-flight units (nopCommerce orders Brightpearl does not hold yet or has not allocated), the target, the
    difference and a verdict: in_sync; drift (the one that needs a person, or the next push);
    not tracked on one side; nop_only / brightpearl_only (SKU unknown on the other side, exact
    match); ambiguous_sku (held by several products). Reads only, writes nothing. CSV in the
    reports folder too (one file per day, replaced on rerun)."""
    engine = sync_settings.stock_engine(nop=nopcommerce.get_client(), bp=brightpearl.get_client(), ledger=ledger.get_ledger())
    warehouses = engine.stock.brightpearl_warehouses
    report = engine.plan()
    product_ids = [row.bp_product_id for row in report.rows if row.bp_product_id is not None]
    announced = ledger.get_ledger().webhook_received(ON_HAND_MODIFIED, product_ids, since=datetime.now(UTC) - timedelta(hours=24))
    frame = drift_frame(report, warehouses, engine.stock.buffer, announced)
    paths = write_report(frame, f"stock_drift_{datetime.now(UTC).date().isoformat()}", excel=config.excel_copy)
    counts = {verdict: dg.MetadataValue.int(int((frame["verdict"] == verdict).sum())) for verdict in VERDICTS}
    return dg.MaterializeResult(
        value=frame,
        metadata={
            **table_metadata(frame, column_descriptions(warehouses), skus=dg.MetadataValue.int(int(frame["sku"].nunique())),
                             unexplained_differences=dg.MetadataValue.int(int((frame["verdict"] == DRIFT).sum())), **counts),
            **report_files_metadata(paths),
        },
    )
