"""When the reports run by themselves: every night the day before (its source tables, then the
order and payment reconciliations), on the 1st the month before. Analysts materialize any other
day or month from the UI or the command line (README, "Reports")."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from bp_nop_dagster.defs.partitions import daily_partitions, monthly_partitions
from bp_nop_dagster.defs.reconciliation.gateway_journals import GATEWAY_JOURNALS
from bp_nop_dagster.defs.reconciliation.month_end import MONTH_END
from bp_nop_dagster.defs.reconciliation.order_sync import BP_SALES_ORDERS, NOP_ORDERS, ORDER_SYNC
from bp_nop_dagster.defs.reconciliation.payments import NOP_PAYMENTS, PAYMENTS
from bp_nop_dagster.defs.pairing import RUN_TAGS

daily_reconciliation_job = dg.define_asset_job(
    "daily_reconciliation_job",
    tags=RUN_TAGS,
    selection=dg.AssetSelection.assets(NOP_ORDERS, NOP_PAYMENTS, BP_SALES_ORDERS, GATEWAY_JOURNALS, ORDER_SYNC, PAYMENTS),
    partitions_def=daily_partitions,
    executor_def=dg.in_process_executor,
    description="One day's source tables (orders, payments, Brightpearl sales orders), its gateway journals (when the mapping "
                "enables them), then its order and payment reconciliations.",
)

month_end_job = dg.define_asset_job(
    "month_end_job",
    tags=RUN_TAGS,
    selection=dg.AssetSelection.assets(MONTH_END),
    partitions_def=monthly_partitions,
    executor_def=dg.in_process_executor,
    description="The month-end summary from the month's daily reconciliations.",
)


@dg.schedule(cron_schedule="15 3 * * *", job=daily_reconciliation_job, execution_timezone="UTC",
             default_status=dg.DefaultScheduleStatus.RUNNING,
             description="Nightly: yesterday's order and payment reconciliations (UTC), with fresh source tables.")
def nightly_reconciliation(context: dg.ScheduleEvaluationContext):
    day = (context.scheduled_execution_time - timedelta(days=1)).date().isoformat()
    if not daily_partitions.has_partition_key(day):
        return dg.SkipReason(f"{day} is before the first partition ({daily_partitions.start.date()})")
    return dg.RunRequest(partition_key=day, run_key=f"reconciliation-{day}")


@dg.schedule(cron_schedule="30 4 1 * *", job=month_end_job, execution_timezone="UTC",
             default_status=dg.DefaultScheduleStatus.RUNNING,
             description="On the 1st: last month's month-end summary, once its last day's reports have run.")
def month_end_schedule(context: dg.ScheduleEvaluationContext):
    month = (context.scheduled_execution_time.replace(day=1) - timedelta(days=1)).replace(day=1).date().isoformat()
    if not monthly_partitions.has_partition_key(month):
        return dg.SkipReason(f"{month} is before the first month ({monthly_partitions.start.date()})")
    return dg.RunRequest(partition_key=month, run_key=f"month-end-{month}")
