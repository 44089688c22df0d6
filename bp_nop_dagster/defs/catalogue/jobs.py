"""The catalogue flow's jobs: products that changed, and every price (nightly or on demand)."""

import dagster as dg

from bp_nop_dagster.defs.catalogue.assets import PRICES, PRODUCTS
from bp_nop_dagster.defs.reconciliation.catalogue import CATALOGUE
from bp_nop_dagster.defs.pairing import RUN_TAGS

product_sync_job = dg.define_asset_job(
    "product_sync_job",
    tags=RUN_TAGS,
    selection=dg.AssetSelection.assets(PRODUCTS),
    executor_def=dg.in_process_executor,
    description="Brightpearl products in the run config (none: every SKU) to nopCommerce. Started by the product sensor.",
)

price_list_sync_job = dg.define_asset_job(
    "price_list_sync_job",
    tags=RUN_TAGS,
    selection=dg.AssetSelection.assets(PRICES),
    executor_def=dg.in_process_executor,
    description="Every SKU's price from its Brightpearl price list to nopCommerce. Nightly; launch it by hand after a price change.",
)

catalogue_reconciliation_job = dg.define_asset_job(
    "catalogue_reconciliation_job",
    tags=RUN_TAGS,
    selection=dg.AssetSelection.assets(CATALOGUE),
    executor_def=dg.in_process_executor,
    description="The catalogue reconciliation: every SKU's fields in both systems, with their owners.",
)
