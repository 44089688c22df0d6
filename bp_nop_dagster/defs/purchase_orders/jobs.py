"""The purchase-order jobs and their schedules: incoming stock and the shop's back-order settings
hourly, the buyers' report daily."""

import dagster as dg

from bp_nop_dagster.defs.pairing import RUN_TAGS
from bp_nop_dagster.defs.purchase_orders.assets import BACKORDERS, BUYERS_REPORT, INCOMING_STOCK

incoming_stock_job = dg.define_asset_job(
    "incoming_stock_job", tags=RUN_TAGS, selection=dg.AssetSelection.assets(INCOMING_STOCK, BACKORDERS), executor_def=dg.in_process_executor,
    description="Incoming stock from Brightpearl purchase orders, then the shop's back-order settings (when enabled).",
)
buyers_report_job = dg.define_asset_job(
    "buyers_report_job", tags=RUN_TAGS, selection=dg.AssetSelection.assets(INCOMING_STOCK, BUYERS_REPORT), executor_def=dg.in_process_executor,
    description="Incoming stock, then the buyers' report (SKUs selling faster than their incoming stock covers).",
)

incoming_stock_schedule = dg.ScheduleDefinition(
    name="incoming_stock_schedule", cron_schedule="41 * * * *", execution_timezone="UTC", job=incoming_stock_job,
    default_status=dg.DefaultScheduleStatus.RUNNING, description="Hourly: incoming stock and the shop's back-order settings.",
)
buyers_report_schedule = dg.ScheduleDefinition(
    name="buyers_report_schedule", cron_schedule="0 6 * * *", execution_timezone="UTC", job=buyers_report_job,
    default_status=dg.DefaultScheduleStatus.RUNNING, description="Daily before the buyers' day: the buyers' report.",
)
