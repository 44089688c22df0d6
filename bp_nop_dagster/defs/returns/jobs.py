"""The refunds flow's job: one step for both directions, then the dead-letter table it updates."""

import dagster as dg

from bp_nop_dagster.defs.orders.dead_letters import DEAD_LETTERS
from bp_nop_dagster.defs.returns.assets import CREDITS, REFUNDS_FROM_BP, RETURNS_RECEIVED, STAFF_CREDITS

refund_sync_job = dg.define_asset_job(
    "refund_sync_job",
    selection=dg.AssetSelection.assets(CREDITS, RETURNS_RECEIVED, STAFF_CREDITS, REFUNDS_FROM_BP, DEAD_LETTERS),
    executor_def=dg.in_process_executor,
    description="Refunds both ways (shop refunds into Brightpearl credits and payments, returned goods in, staff credits "
    "refunded in the shop), then the dead-letter table. Started by the refunds sensor.",
)
