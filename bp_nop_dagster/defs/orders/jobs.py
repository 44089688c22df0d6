"""The order flow's job: the sync step plus the dead-letter table it updates."""

import dagster as dg

from bp_nop_dagster.defs.orders.assets import CONTACTS, PAYMENTS, SALES_ORDERS
from bp_nop_dagster.defs.orders.dead_letters import DEAD_LETTERS
from bp_nop_dagster.defs.quality.coverage import MAPPING_COVERAGE

order_sync_job = dg.define_asset_job(
    "order_sync_job",
    selection=dg.AssetSelection.assets(MAPPING_COVERAGE, CONTACTS, SALES_ORDERS, PAYMENTS, DEAD_LETTERS),
    executor_def=dg.in_process_executor,
    description="Check the pending orders' values are mapped (blocking, with quality.require_mapped_values), drain "
    "pending nopCommerce orders into Brightpearl, then refresh the dead-letter table. "
    "Started by the new-order sensor and the catch-up sweep; in-process to keep start-up lean.",
)
