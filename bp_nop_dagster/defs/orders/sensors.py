"""When the order flow runs: a sensor for new nopCommerce orders (as often as the sensor daemon
ticks, every 5 s: nopCommerce has no webhooks, and its order search costs no Brightpearl quota) and an hourly catch-up sweep that also re-polls open orders for status changes."""

import dagster as dg

from bp_nop_dagster.defs.orders.assets import CONTACTS, PAYMENTS, SALES_ORDERS
from bp_nop_dagster.defs.orders.jobs import checked_order_sync_job, order_job_for, order_sync_job
from bp_nop_dagster.defs.quality.coverage import blocked_by_unmapped_values
from bp_nop_dagster.defs.sync_settings import SyncSettings
from bp_nop_dagster.ledger.resource import LedgerResource
from bp_nop_dagster.defs.sensor_support import fail_dead_runs, in_step_events, sync_run_request
from bp_nop_dagster.nopcommerce.resource import NopCommerceResource
from bp_nop_dagster.sync.cursor import SensorCursor, utcnow
from bp_nop_dagster.sync.discovery import discover_new_orders, requeue_open_orders, sweep_recent_orders
from bp_nop_dagster.sync.fate import active_pause, describe_pause, work_due
from bp_nop_dagster.sync.orders import ORDER

ORDER_ASSETS = (CONTACTS, SALES_ORDERS, PAYMENTS)


@dg.sensor(
    jobs=[order_sync_job, checked_order_sync_job],
    minimum_interval_seconds=2,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="New nopCommerce orders (created-time watermark with overlap, de-duplicated by id) into the ledger, then a sync run.",
)
def new_nopcommerce_orders(context: dg.SensorEvaluationContext, nopcommerce: NopCommerceResource, ledger: LedgerResource,
                           sync_settings: SyncSettings):
    fail_dead_runs(context)
    book = ledger.get_ledger()
    now = utcnow()
    pause = active_pause(book, now)
    if pause is not None:  # whichever flow found a system down: no read, no run; the cursor stays
        return dg.SkipReason(describe_pause(pause))
    new, cursor = discover_new_orders(nopcommerce.get_client(), book, SensorCursor.parse(context.cursor), now)
    context.update_cursor(cursor.dumps())
    # A run only when work is due: failed orders waiting out their backoff ask for none (sync/fate.py).
    due, why = work_due(book, (ORDER,), now)
    if due:
        job = order_job_for(sync_settings)
        blocked = job is checked_order_sync_job and blocked_by_unmapped_values(context.instance, sync_settings, now)
        if blocked:  # defs/quality/coverage.py
            return dg.SkipReason(f"{len(new)} new orders; {blocked}")
        return sync_run_request(context, job.name, due, f"{len(new)} new orders")
    if not book.unsettled(ORDER):
        # Nothing to do: the order assets are reported in step (every 5 minutes at most), which
        # keeps them fresh while the shop is quiet and lets them go stale when this sensor stops.
        note = f"{len(new)} new orders; nothing pending: Brightpearl is in step with nopCommerce"
        return dg.SensorResult(skip_reason=note, asset_events=in_step_events(context, ORDER_ASSETS, note))
    return dg.SkipReason(f"{len(new)} new orders; {why}")


@dg.schedule(
    cron_schedule="7 * * * *",
    job=order_sync_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Hourly safety net: every order of the last 24 h into the ledger (skipped ones nopCommerce lists again "
    "re-opened), open orders re-polled for changes.",
)
def orders_catch_up_sweep(context: dg.ScheduleEvaluationContext, nopcommerce: NopCommerceResource, ledger: LedgerResource,
                          sync_settings: SyncSettings):
    book = ledger.get_ledger()
    client = nopcommerce.get_client()
    now = utcnow()
    pause = active_pause(book, now)
    if pause is not None:  # the next sweep, or the new-order sensor's overlap, finds what it would have
        return dg.SkipReason(f"sweep: {describe_pause(pause)}")
    added = sweep_recent_orders(client, book, now)
    requeued = requeue_open_orders(client, book, now)
    due, why = work_due(book, (ORDER,), now)
    if due and order_job_for(sync_settings) is checked_order_sync_job:  # the sensor starts the checked run
        return dg.SkipReason(f"sweep: {added} missed, {requeued} re-polled; the new-order sensor starts the checked run")
    return sync_run_request(context, order_sync_job.name, due, f"sweep: {added} missed, {requeued} re-polled" + (f"; {why}" if why else ""))
