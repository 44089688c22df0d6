"""The customer flow's jobs: the sync step plus the dead-letter table it updates, the one-off
catch-up, and the daily reconciliation."""

import dagster as dg

from bp_nop_dagster.defs.customers.assets import CUSTOMERS_IN_STEP
from bp_nop_dagster.defs.orders.dead_letters import DEAD_LETTERS
from bp_nop_dagster.defs.pairing import RUN_TAGS, asset_key

customer_sync_job = dg.define_asset_job(
    "customer_sync_job",
    tags=RUN_TAGS,
    selection=dg.AssetSelection.assets(CUSTOMERS_IN_STEP, DEAD_LETTERS),
    executor_def=dg.in_process_executor,
    description="Drain pending customers both ways, then refresh the dead-letter table. Started by the customer sensors "
    "and the hourly Brightpearl sweep.",
)

customer_catch_up_job = dg.define_asset_job(
    "customer_catch_up_job",
    tags=RUN_TAGS,
    selection=dg.AssetSelection.assets(CUSTOMERS_IN_STEP, DEAD_LETTERS),
    executor_def=dg.in_process_executor,
    config={"ops": {"__".join(CUSTOMERS_IN_STEP.path): {"config": {"catch_up": True}}}},
    description="Every registered customer into the ledger (those from before the flow started), then a customer sync.",
)

customer_reconciliation_job = dg.define_asset_job(
    "customer_reconciliation_job",
    tags=RUN_TAGS,
    selection=dg.AssetSelection.assets(asset_key("brightpearl", "contacts"), asset_key("reconciliation", "customers")),
    executor_def=dg.in_process_executor,
    description="Fresh Brightpearl contacts table, then the per-person customer reconciliation.",
)
