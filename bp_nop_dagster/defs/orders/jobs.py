"""The order flow's jobs: the sync step plus the dead-letter table it updates, and the same behind
the blocking mapping check (`defs/quality/coverage.py`) when the mapping sets
`quality.require_mapped_values` (so a mapping without it runs exactly the plain job)."""

import dagster as dg

from bp_nop_dagster.defs.orders.assets import CONTACTS, PAYMENTS, SALES_ORDERS
from bp_nop_dagster.defs.orders.dead_letters import DEAD_LETTERS
from bp_nop_dagster.defs.quality.coverage import MAPPING_COVERAGE
from bp_nop_dagster.defs.sync_settings import SyncSettings
from bp_nop_dagster.mapping.config import MappingConfigError
from bp_nop_dagster.defs.pairing import ORDER_RUN_TAGS

order_sync_job = dg.define_asset_job(
    "order_sync_job",
    tags=ORDER_RUN_TAGS,
    selection=dg.AssetSelection.assets(CONTACTS, SALES_ORDERS, PAYMENTS, DEAD_LETTERS),
    executor_def=dg.in_process_executor,
    description="Drain pending nopCommerce orders into Brightpearl, then refresh the dead-letter table. "
    "Started by the new-order sensor and the catch-up sweep; in-process to keep start-up lean.",
)

checked_order_sync_job = dg.define_asset_job(
    "checked_order_sync_job",
    tags=ORDER_RUN_TAGS,
    selection=dg.AssetSelection.assets(MAPPING_COVERAGE, CONTACTS, SALES_ORDERS, PAYMENTS, DEAD_LETTERS),
    executor_def=dg.in_process_executor,
    description="order_sync_job behind a blocking check that the pending orders' payment methods, shipping methods and "
    "tax rates are mapped: what the new-order sensor starts when the mapping sets quality.require_mapped_values.",
)


def order_job_for(sync_settings: SyncSettings):
    """The checked job when the mapping asks for it, else the plain one (a mapping that does not
    load gets the plain one, whose run reports the broken file as before)."""
    try:
        checked = sync_settings.mapping().quality.require_mapped_values
    except MappingConfigError:
        checked = False
    return checked_order_sync_job if checked else order_sync_job
