"""The order flow's job: the sync step plus the dead-letter table it updates."""

import dagster as dg

from bp_nop_dagster.defs.orders.assets import CONTACTS, PAYMENTS, SALES_ORDERS
from bp_nop_dagster.defs.orders.dead_letters import DEAD_LETTERS
from bp_nop_dagster.defs.pairing import RUN_TAGS

order_sync_job = dg.define_asset_job(
    "order_sync_job",
    tags=RUN_TAGS,
    selection=dg.AssetSelection.assets(CONTACTS, SALES_ORDERS, PAYMENTS, DEAD_LETTERS),
    executor_def=dg.in_process_executor,
    description="Drain pending nopCommerce orders into Brightpearl, then refresh the dead-letter table. "
    "Started by the new-order sensor and the catch-up sweep; in-process to keep start-up lean.",
)
