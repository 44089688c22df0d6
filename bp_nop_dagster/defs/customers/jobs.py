"""The customer flow's job."""

import dagster as dg

from bp_nop_dagster.defs.customers.assets import CUSTOMERS_IN_STEP

customer_sync_job = dg.define_asset_job(
    "customer_sync_job",
    selection=dg.AssetSelection.assets(CUSTOMERS_IN_STEP),
    executor_def=dg.in_process_executor,
    description="Drain pending customers both ways. Started by the customer sensors and the hourly Brightpearl sweep.",
)
