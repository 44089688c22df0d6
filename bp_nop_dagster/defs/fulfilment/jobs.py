"""The fulfilment flow's job: the sync step plus the dead-letter table it updates."""

import dagster as dg

from bp_nop_dagster.defs.fulfilment.assets import SHIPMENTS
from bp_nop_dagster.defs.orders.dead_letters import DEAD_LETTERS
from bp_nop_dagster.defs.pairing import RUN_TAGS

fulfilment_job = dg.define_asset_job(
    "fulfilment_job",
    tags=RUN_TAGS,
    selection=dg.AssetSelection.assets(SHIPMENTS, DEAD_LETTERS),
    executor_def=dg.in_process_executor,
    description="Drain shipped goods-out notes and Brightpearl order status changes into nopCommerce, then refresh the "
    "dead-letter table. Started by the fulfilment sensors; in-process to keep start-up lean.",
)
