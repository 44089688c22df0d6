"""The customer flow's job."""

import dagster as dg

from bp_nop_dagster.defs.customers.assets import CUSTOMERS_IN_STEP

customer_sync_job = dg.define_asset_job(
    "customer_sync_job",
    selection=dg.AssetSelection.assets(CUSTOMERS_IN_STEP),
    executor_def=dg.in_process_executor,
    description="Drain pending customers both ways. Started by the customer sensors and the hourly Brightpearl sweep.",
)

customer_catch_up_job = dg.define_asset_job(
    "customer_catch_up_job",
    selection=dg.AssetSelection.assets(CUSTOMERS_IN_STEP),
    executor_def=dg.in_process_executor,
    config={"ops": {"customers__customers_in_step": {"config": {"catch_up": True}}}},
    description="Every registered customer into the ledger (those from before the flow started), then a customer sync.",
)

customer_reconciliation_job = dg.define_asset_job(
    "customer_reconciliation_job",
    selection=dg.AssetSelection.assets(dg.AssetKey(["brightpearl", "contacts"]), dg.AssetKey(["reconciliation", "customers"])),
    executor_def=dg.in_process_executor,
    description="Fresh Brightpearl contacts table, then the per-person customer reconciliation.",
)
