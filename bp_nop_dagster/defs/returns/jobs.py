"""The refunds flow's job (one step for both directions, then the dead-letter table it updates,
whose check alerts when it grows: a gateway refusal among others), and the nightly refunds report."""

from datetime import timedelta

import dagster as dg

from bp_nop_dagster.defs.partitions import daily_partitions

from bp_nop_dagster.defs.orders.dead_letters import DEAD_LETTERS
from bp_nop_dagster.defs.returns.assets import CREDITS, REFUNDS_FROM_BP, REFUNDS_REPORT, RETURNS_RECEIVED, STAFF_CREDITS
from bp_nop_dagster.defs.pairing import RUN_TAGS

refund_sync_job = dg.define_asset_job(
    "refund_sync_job",
    tags=RUN_TAGS,
    selection=dg.AssetSelection.assets(CREDITS, RETURNS_RECEIVED, STAFF_CREDITS, REFUNDS_FROM_BP, DEAD_LETTERS),
    executor_def=dg.in_process_executor,
    description="Refunds both ways (shop refunds into Brightpearl credits and payments, returned goods in, staff credits "
    "refunded in the shop), then the dead-letter table. Started by the refunds sensor.",
)

refunds_reconciliation_job = dg.define_asset_job(
    "refunds_reconciliation_job",
    tags=RUN_TAGS,
    selection=dg.AssetSelection.assets(REFUNDS_REPORT),
    executor_def=dg.in_process_executor,
    description="The refunds reconciliation of the day (reads both systems itself).",
)


@dg.schedule(cron_schedule="45 3 * * *", job=refunds_reconciliation_job, execution_timezone="UTC",
             default_status=dg.DefaultScheduleStatus.RUNNING,
             description="Nightly: the refunds reconciliation for yesterday (UTC).")
def nightly_refunds_reconciliation(context: dg.ScheduleEvaluationContext):
    day = (context.scheduled_execution_time - timedelta(days=1)).date().isoformat()
    if not daily_partitions.has_partition_key(day):
        return dg.SkipReason(f"{day} is before the first partition ({daily_partitions.start.date()})")
    return dg.RunRequest(partition_key=day, run_key=f"refunds-reconciliation-{day}")
