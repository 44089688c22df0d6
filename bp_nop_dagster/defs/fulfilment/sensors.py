"""When the fulfilment flow runs: two Brightpearl searches from watermarks (overlap, de-duplicated),
each handing its work to the ledger before a sync run is requested."""

import dagster as dg

from bp_nop_dagster.brightpearl.resource import BrightpearlResource
from bp_nop_dagster.defs.fulfilment.jobs import fulfilment_job
from bp_nop_dagster.defs.sync_settings import SyncSettings
from bp_nop_dagster.defs.sensor_support import fail_dead_runs, sync_run_request
from bp_nop_dagster.ledger.resource import LedgerResource
from bp_nop_dagster.sync.cursor import SensorCursor, utcnow
from bp_nop_dagster.sync.fulfilment import (
    BP_ORDER_STATUS,
    GOODS_OUT_NOTE,
    discover_shipped_notes,
    discover_status_changes,
)

def _sync_request(context, ledger: LedgerResource, reason: str) -> dg.RunRequest | dg.SkipReason:
    book = ledger.get_ledger()
    pending = len(book.pending(GOODS_OUT_NOTE)) + len(book.pending(BP_ORDER_STATUS))
    return sync_run_request(context, fulfilment_job.name, pending, reason)


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
    new, cursor = discover_status_changes(
        brightpearl.get_client(), ledger.get_ledger(), sync_settings.mapping(), SensorCursor.parse(context.cursor), utcnow()
    )
    context.update_cursor(cursor.dumps())
    return _sync_request(context, ledger, f"{len(new)} Brightpearl order status changes")
