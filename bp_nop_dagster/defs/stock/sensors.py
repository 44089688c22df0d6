"""When the stock flow runs: a sensor on Brightpearl's on-hand changes, goods movements and sales
orders (every 15 s; 3 search requests on a quiet tick, 6 % of the 200-per-minute quota, see
`sync.stock`), which also retries failed pushes, and a nightly full reconcile."""

import dagster as dg

from bp_nop_dagster.brightpearl.resource import BrightpearlResource
from bp_nop_dagster.defs.sensor_support import fail_dead_runs, in_step_events, last_run_failed
from bp_nop_dagster.defs.stock.assets import STOCK
from bp_nop_dagster.defs.stock.jobs import stock_reconcile_job, stock_sync_job
from bp_nop_dagster.ledger.resource import LedgerResource
from bp_nop_dagster.sync.cursor import utcnow
from bp_nop_dagster.sync.fate import active_pause, describe_pause
from bp_nop_dagster.sync.stock import RETRY, StockCursor, changed_products

STOCK_OP = "__".join(STOCK.path)


@dg.sensor(
    job=stock_sync_job,
    minimum_interval_seconds=15,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Brightpearl on-hand changes: goods movements since an updatedOn watermark and sales orders created "
    "or modified since a watermark on other channels (phone, marketplace: they allocate stock without a goods "
    "movement), both with overlap and de-duplicated -> one stock push for just those products, with those whose "
    "last push failed once they are due again (the one retry policy). 3 Brightpearl requests per quiet tick.",
)
def brightpearl_stock_changes(context: dg.SensorEvaluationContext, brightpearl: BrightpearlResource, ledger: LedgerResource):
    fail_dead_runs(context)
    now = utcnow()
    book = ledger.get_ledger()
    pause = active_pause(book, now)
    if pause is not None:
        # No search and no push while a system is paused after an outage (whichever flow found
        # it): the cursor stays, so what moved meanwhile is found once the pause is over.
        return dg.SkipReason(describe_pause(pause))
    changed, cursor = changed_products(brightpearl.get_client(), book, StockCursor.parse(context.cursor), now)
    context.update_cursor(cursor.dumps())
    retries = [int(key) for key in book.pending(RETRY)]  # due again under the one retry policy
    waiting = book.waiting(RETRY)
    product_ids = sorted(set(changed) | set(retries))
    if product_ids:
        return dg.RunRequest(
            run_key=None if retries else f"stock-{cursor.movements.watermark.isoformat()}-{cursor.orders.watermark.isoformat()}-"
            f"{product_ids[0]}-{len(product_ids)}",
            run_config={"ops": {STOCK_OP: {"config": {"product_ids": product_ids}}}},
            tags={"bp_nop/moved_products": str(len(changed)), "bp_nop/retried_products": str(len(retries))},
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
