"""The stock flow's jobs: the push for moved products, and the nightly full reconcile with its report."""

import dagster as dg

from bp_nop_dagster.defs.reconciliation.stock_drift import STOCK_DRIFT
from bp_nop_dagster.defs.stock.assets import STOCK
from bp_nop_dagster.defs.pairing import RUN_TAGS

stock_sync_job = dg.define_asset_job(
    "stock_sync_job",
    tags=RUN_TAGS,
    selection=dg.AssetSelection.assets(STOCK),
    executor_def=dg.in_process_executor,
    description="Push Brightpearl stock to nopCommerce for the products in the run config (none: every SKU). "
    "Started by the stock sensor; in-process to keep start-up lean.",
)

stock_reconcile_job = dg.define_asset_job(
    "stock_reconcile_job",
    tags=RUN_TAGS,
    selection=dg.AssetSelection.assets(STOCK, STOCK_DRIFT),
    executor_def=dg.in_process_executor,
    description="Every SKU pushed, then the stock drift report. Nightly safety net: goods-movement timestamps can have gaps.",
)
