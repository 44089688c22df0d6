"""When the fulfilment flow runs: two Brightpearl searches from watermarks (overlap, de-duplicated),
each handing its work to the ledger before a sync run is requested (only when work is due: not
while failed records wait out their backoff, nor while the flow is paused after an outage), and
an hourly catch-up sweep of the notes shipped in the last 24 hours."""

import dagster as dg

from bp_nop_dagster.brightpearl.resource import BrightpearlResource
from bp_nop_dagster.defs.fulfilment.jobs import fulfilment_job
from bp_nop_dagster.defs.sync_settings import SyncSettings
from bp_nop_dagster.defs.sensor_support import fail_dead_runs, sync_run_request
from bp_nop_dagster.ledger.resource import LedgerResource
from bp_nop_dagster.sync.cursor import SensorCursor, utcnow
from bp_nop_dagster.sync.fate import active_pause, describe_pause, work_due
from bp_nop_dagster.sync.fulfilment import (
    BP_ORDER_STATUS,
    GOODS_OUT_NOTE,
    discover_shipped_notes,
    discover_status_changes,
    sweep_shipped_notes,
)


def _sync_request(context, ledger: LedgerResource, reason: str) -> dg.RunRequest | dg.SkipReason:
    due, why = work_due(ledger.get_ledger(), (GOODS_OUT_NOTE, BP_ORDER_STATUS), utcnow())
    return sync_run_request(context, fulfilment_job.name, due, f"{reason}; {why}" if why else reason)


def _paused(ledger: LedgerResource) -> dg.SkipReason | None:
    """A skip while a system is paused after an outage any flow found: no Brightpearl search and
    no run (the watermarks stay, so what changed is found after the pause)."""
    pause = active_pause(ledger.get_ledger(), utcnow())
    return None if pause is None else dg.SkipReason(describe_pause(pause))


@dg.sensor(
    job=fulfilment_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Goods-out notes shipped in Brightpearl (goods-out-search shipped=true on shippedOn from a watermark, "
    "5 min overlap, de-duplicated) into the ledger, then a fulfilment run. Costs 2 Brightpearl requests per minute "
    "(1% of the quota).",
)
def brightpearl_shipped_goods_out_notes(context: dg.SensorEvaluationContext, brightpearl: BrightpearlResource, ledger: LedgerResource):
    fail_dead_runs(context)
    if paused := _paused(ledger):
        return paused
    new, cursor = discover_shipped_notes(brightpearl.get_client(), ledger.get_ledger(), SensorCursor.parse(context.cursor), utcnow())
    context.update_cursor(cursor.dumps())
    return _sync_request(context, ledger, f"{len(new)} shipped goods-out notes")


@dg.sensor(
    job=fulfilment_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Brightpearl sales orders whose status changed to one mapped in fulfilment.on_order_status (order-search on "
    "updatedOn from a watermark, 5 min overlap, de-duplicated) into the ledger, then a fulfilment run. "
    "Costs 1 Brightpearl request per minute (0.5% of the quota).",
)
def brightpearl_order_status_changes(
    context: dg.SensorEvaluationContext, brightpearl: BrightpearlResource, ledger: LedgerResource, sync_settings: SyncSettings
):
    fail_dead_runs(context)
    if paused := _paused(ledger):
        return paused
    new, cursor = discover_status_changes(
        brightpearl.get_client(), ledger.get_ledger(), sync_settings.mapping(), SensorCursor.parse(context.cursor), utcnow()
    )
    context.update_cursor(cursor.dumps())
    return _sync_request(context, ledger, f"{len(new)} Brightpearl order status changes")


@dg.schedule(
    cron_schedule="23 * * * *",
    job=fulfilment_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Hourly safety net: every goods-out note shipped in the last 24 h into the ledger (notes whose shipping "
    "was posted with a time before the sensor's window; skipped ones re-opened), then a fulfilment run. One Brightpearl "
    "request per 500 notes.",
)
def fulfilment_catch_up_sweep(context: dg.ScheduleEvaluationContext, brightpearl: BrightpearlResource, ledger: LedgerResource):
    if paused := _paused(ledger):
        return paused
    added = sweep_shipped_notes(brightpearl.get_client(), ledger.get_ledger(), utcnow())
    return _sync_request(context, ledger, f"sweep: {added} shipped goods-out notes missed")
