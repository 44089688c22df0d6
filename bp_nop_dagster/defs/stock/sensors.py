"""When the stock flow runs: a sensor on Brightpearl goods movements (every 15 s; one search
request per tick, under 2% of the 200-per-minute quota), which also retries failed pushes, and a
nightly full reconcile."""

import dagster as dg

from bp_nop_dagster.brightpearl.resource import BrightpearlResource
from bp_nop_dagster.defs.sensor_support import fail_dead_runs, in_step_events, last_run_failed
from bp_nop_dagster.defs.stock.assets import STOCK
from bp_nop_dagster.defs.stock.jobs import stock_reconcile_job, stock_sync_job
from bp_nop_dagster.ledger.resource import LedgerResource
from bp_nop_dagster.sync.cursor import SensorCursor, utcnow
from bp_nop_dagster.sync.stock import due_retries, moved_products

STOCK_OP = "__".join(STOCK.path)


@dg.sensor(
    job=stock_sync_job,
    minimum_interval_seconds=15,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Brightpearl goods movements since an updatedOn watermark (ascending, paged, with overlap, "
    "de-duplicated by movement id) -> one stock push for just the products that moved, with those whose last "
    "push failed (retried every 5 minutes).",
)
def brightpearl_stock_changes(context: dg.SensorEvaluationContext, brightpearl: BrightpearlResource, ledger: LedgerResource):
    fail_dead_runs(context)
    now = utcnow()
    moved, cursor = moved_products(brightpearl.get_client(), SensorCursor.parse(context.cursor), now)
    context.update_cursor(cursor.dumps())
    retries, waiting = due_retries(ledger.get_ledger(), now)
    product_ids = sorted(set(moved) | set(retries))
    if product_ids:
        return dg.RunRequest(
            run_key=None if retries else f"stock-{cursor.watermark.isoformat()}-{product_ids[0]}-{len(product_ids)}",
            run_config={"ops": {STOCK_OP: {"config": {"product_ids": product_ids}}}},
            tags={"bp_nop/moved_products": str(len(moved)), "bp_nop/retried_products": str(len(retries))},
        )
    note = "no Brightpearl stock moved: nopCommerce is in step"
    if waiting:
        return dg.SkipReason(f"no Brightpearl stock moved; {waiting} products wait to retry a failed push")
    if last_run_failed(context, STOCK):
        return dg.SkipReason(f"{note} since the last stock push, which failed")
    return dg.SensorResult(skip_reason=note, asset_events=in_step_events(context, [STOCK], note))


nightly_stock_reconcile = dg.ScheduleDefinition(
    name="nightly_stock_reconcile",
    cron_schedule="30 2 * * *",
    execution_timezone="UTC",
    job=stock_reconcile_job,
    run_config={"ops": {STOCK_OP: {"config": {"product_ids": []}}}},
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Nightly full reconcile: every SKU pushed, then the stock drift report.",
)
