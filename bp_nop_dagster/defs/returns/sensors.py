"""When the refunds flow runs: every 5 minutes (nopCommerce has no refund event nor an updated
timestamp, so refunds are found by re-reading the refunded orders of the watched window; staff
credits by an updatedOn search), one run at a time (the run key is the 5-minute slot)."""

import dagster as dg

from bp_nop_dagster.defs.returns.jobs import refund_sync_job
from bp_nop_dagster.defs.sensor_support import fail_dead_runs
from bp_nop_dagster.ledger.resource import LedgerResource
from bp_nop_dagster.sync.cursor import utcnow
from bp_nop_dagster.sync.fate import active_pause, describe_pause

INTERVAL_SECONDS = 300


@dg.sensor(job=refund_sync_job, minimum_interval_seconds=INTERVAL_SECONDS, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Every 5 minutes: a refunds run (shop refunds found by refunded_amount, staff credits by updatedOn).")
def refunds_sensor(context: dg.SensorEvaluationContext, ledger: LedgerResource):
    fail_dead_runs(context)
    now = utcnow()
    pause = active_pause(ledger.get_ledger(), now)  # whichever flow found a system down
    if pause is not None:
        return dg.SkipReason(describe_pause(pause))
    slot = int(now.timestamp()) // INTERVAL_SECONDS
    return dg.RunRequest(run_key=f"refunds-{slot}")
