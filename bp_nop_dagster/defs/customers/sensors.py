"""When the customer flow runs: a sensor on nopCommerce (registered customers active since a
watermark: registrations and My-account changes), a sensor on Brightpearl (contacts changed since
an updatedOn watermark, our own writes' echoes left out), both with cursors, and an hourly sweep
of the linked contacts and their addresses (an address PUT may not move a contact's updatedOn)."""

import dagster as dg

from bp_nop_dagster.brightpearl.resource import BrightpearlResource
from bp_nop_dagster.defs.customers.jobs import customer_reconciliation_job, customer_sync_job
from bp_nop_dagster.defs.customers.assets import CUSTOMERS_IN_STEP
from bp_nop_dagster.defs.sensor_support import fail_dead_runs, in_step_events, sync_run_request
from bp_nop_dagster.ledger.resource import LedgerResource
from bp_nop_dagster.nopcommerce.resource import NopCommerceResource
from bp_nop_dagster.sync.cursor import SensorCursor, utcnow
from bp_nop_dagster.sync.customers import CUSTOMER, discover_bp_changes, discover_nop_changes, sweep_brightpearl
from bp_nop_dagster.sync.fate import active_pause, describe_pause, work_due


@dg.sensor(job=customer_sync_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Registered nopCommerce customers active since a watermark (registrations, My-account edits) -> "
                       "the ledger, then a customer sync run.")
def nopcommerce_customer_changes(context: dg.SensorEvaluationContext, nopcommerce: NopCommerceResource, ledger: LedgerResource):
    fail_dead_runs(context)
    book, now = ledger.get_ledger(), utcnow()
    pause = active_pause(book, now)
    if pause is not None:  # whichever flow found a system down: no read, no run; the cursor stays
        return dg.SkipReason(describe_pause(pause))
    keys, cursor = discover_nop_changes(nopcommerce.get_client(), book, SensorCursor.parse(context.cursor), now)
    context.update_cursor(cursor.dumps())
    due, why = work_due(book, (CUSTOMER,), now)
    if not due and not book.unsettled(CUSTOMER):
        # Nothing to do: the asset is reported in step (every 5 minutes at most), so its freshness
        # says the flow is alive while customers change nothing.
        note = "no customer changed in the shop; nothing pending: both sides in step"
        return dg.SensorResult(skip_reason=note, asset_events=in_step_events(context, [CUSTOMERS_IN_STEP], note))
    return sync_run_request(context, customer_sync_job.name, due, f"{len(keys)} customers active in the shop" + (f"; {why}" if why else ""))


@dg.sensor(job=customer_sync_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Brightpearl contacts linked to shop customers changed since an updatedOn watermark (our own "
                       "writes left out by their remembered updatedOn) -> the ledger, then a customer sync run.")
def brightpearl_contact_changes(context: dg.SensorEvaluationContext, brightpearl: BrightpearlResource, ledger: LedgerResource):
    fail_dead_runs(context)
    book, now = ledger.get_ledger(), utcnow()
    pause = active_pause(book, now)
    if pause is not None:
        return dg.SkipReason(describe_pause(pause))
    keys, cursor = discover_bp_changes(brightpearl.get_client(), book, SensorCursor.parse(context.cursor), now)
    context.update_cursor(cursor.dumps())
    due, why = work_due(book, (CUSTOMER,), now)
    return sync_run_request(context, customer_sync_job.name, due, f"{len(keys)} contacts changed in Brightpearl" + (f"; {why}" if why else ""))


@dg.schedule(cron_schedule="23 * * * *", job=customer_sync_job, default_status=dg.DefaultScheduleStatus.RUNNING,
             description="Hourly: every linked contact and its address compared with the values last agreed (2 Brightpearl "
                         "requests per 200 customers); differing customers synced.")
def customer_address_sweep(context: dg.ScheduleEvaluationContext, brightpearl: BrightpearlResource, ledger: LedgerResource):
    book, now = ledger.get_ledger(), utcnow()
    pause = active_pause(book, now)
    if pause is not None:  # the next hour's sweep compares them all again
        return dg.SkipReason(f"sweep: {describe_pause(pause)}")
    keys = sweep_brightpearl(brightpearl.get_client(), book)
    due, why = work_due(book, (CUSTOMER,), now)
    return sync_run_request(context, customer_sync_job.name, due, f"sweep: {len(keys)} contacts differ" + (f"; {why}" if why else ""))


customer_reconciliation_schedule = dg.ScheduleDefinition(
    name="customer_reconciliation_schedule",
    cron_schedule="45 3 * * *",
    execution_timezone="UTC",
    job=customer_reconciliation_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Daily: the per-person customer reconciliation (reconciliation/customers), CSV in the reports folder.",
)
