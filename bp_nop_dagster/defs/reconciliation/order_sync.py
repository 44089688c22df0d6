"""`reconciliation/order_sync`: every nopCommerce order of a day against Brightpearl."""

import os
from datetime import timedelta
from pathlib import Path

import dagster as dg
import pandas as pd

from bp_nop_dagster import settings
from bp_nop_dagster.brightpearl.resource import BrightpearlResource
from bp_nop_dagster.defs.orders.assets import SALES_ORDERS
from bp_nop_dagster.ledger.resource import LedgerResource
from bp_nop_dagster.defs.partitions import daily_partitions
from bp_nop_dagster.nopcommerce.resource import NopCommerceResource
from bp_nop_dagster.reporting import table_metadata
from bp_nop_dagster.sync.reconcile import VERDICTS, order_verdicts


def reports_dir() -> Path:
    """`$BP_NOP_REPORTS_DIR`, else `$DAGSTER_HOME/reports`, else `./reports`."""
    configured = os.environ.get(settings.BP_NOP_REPORTS_DIR)
    if configured:
        return Path(configured)
    home = os.environ.get(settings.DAGSTER_HOME)
    return Path(home) / "reports" if home else Path("reports")


def write_report(frame: pd.DataFrame, name: str) -> Path:
    """`<reports dir>/<name>.csv` (replaced on rerun), for analysts to open; returns its path."""
    path = reports_dir() / f"{name}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path


@dg.asset(
    key=["reconciliation", "order_sync"],
    deps=[SALES_ORDERS],
    partitions_def=daily_partitions,
    group_name="reconciliation",
    owners=["team:finance-ops"],
    kinds={"pandas", "csv"},
    pool="brightpearl",
)
def order_sync_reconciliation(
    context: dg.AssetExecutionContext, nopcommerce: NopCommerceResource, brightpearl: BrightpearlResource, ledger: LedgerResource
) -> dg.MaterializeResult:
    """Each nopCommerce order created on the day (UTC) with its Brightpearl order id, status and
    totals in both systems, and a verdict: synced, total_mismatch, missing, dead_lettered,
    needs_review. `missing` is the one that needs a person: an order in none of the other states.
    Written as CSV to the reports folder as well (one file per day, replaced on rerun)."""
    window = context.partition_time_window
    nop = nopcommerce.get_client()
    bp = brightpearl.get_client()
    orders = nop.orders_created_between(window.start, window.end - timedelta(microseconds=1))
    book = ledger.get_ledger()
    statuses = {r.nop_key: r for r in book.statuses("order", [str(o.id) for o in orders])}
    links = book.bp_ids("order", [str(o.id) for o in orders])
    summaries = bp.order_summaries(links.values()) if links else {}
    frame = order_verdicts(orders, statuses, links, summaries)
    path = write_report(frame, f"order_sync_{context.partition_key}")
    counts = {verdict: dg.MetadataValue.int(int((frame["verdict"] == verdict).sum())) for verdict in VERDICTS}
    return dg.MaterializeResult(
        value=frame,
        metadata=table_metadata(frame, csv=dg.MetadataValue.path(str(path.resolve())), orders=dg.MetadataValue.int(len(frame)), **counts),
    )
