"""When the refunds flow runs: a run every 5 minutes finds new refunds (nopCommerce has no refund
event nor an updated timestamp, so refunds are found by re-reading the refunded orders of the
watched window; staff credits by an updatedOn search), one run per 5-minute slot (its run key).
Between those runs the sensor ticks every 15 s and reads only the ledger: refund work that is due
(a refund left half done by a killed run once its lease ends, a failed one after its backoff)
gets a run at once instead of waiting for the next slot."""

import dagster as dg

from bp_nop_dagster.defs.returns.jobs import refund_sync_job
from bp_nop_dagster.defs.sensor_support import fail_dead_runs, sync_run_request
from bp_nop_dagster.ledger.resource import LedgerResource
from bp_nop_dagster.sync.cursor import utcnow
from bp_nop_dagster.sync.fate import active_pause, describe_pause, work_due
from bp_nop_dagster.sync.refunds import WORK_KINDS

INTERVAL_SECONDS = 300
TICK_SECONDS = 15


@dg.sensor(job=refund_sync_job, minimum_interval_seconds=TICK_SECONDS, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Every 5 minutes a refunds run (shop refunds found by refunded_amount, staff credits by updatedOn); "
                       "in between, a run as soon as refund work in the ledger is due.")
def refunds_sensor(context: dg.SensorEvaluationContext, ledger: LedgerResource):
    fail_dead_runs(context)
    book = ledger.get_ledger()
    now = utcnow()
    pause = active_pause(book, now)  # whichever flow found a system down
    if pause is not None:
        return dg.SkipReason(describe_pause(pause))
    slot = str(int(now.timestamp()) // INTERVAL_SECONDS)
    if context.cursor != slot:
        context.update_cursor(slot)
        return dg.RunRequest(run_key=f"refunds-{slot}")
    due, why = work_due(book, WORK_KINDS, now)
    return sync_run_request(context, refund_sync_job.name, due, "refund work in the ledger" + (f" ({why})" if why else ""))
