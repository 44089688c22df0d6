"""When the catalogue flow runs: a sensor on Brightpearl products' updatedOn (every 60 s, one
product-search request per quiet tick), a nightly full product run (the safety net), the nightly
price-list run and the daily catalogue reconciliation."""

import dagster as dg

from bp_nop_dagster.brightpearl.resource import BrightpearlResource
from bp_nop_dagster.defs.catalogue.assets import PRODUCTS
from bp_nop_dagster.defs.catalogue.jobs import catalogue_reconciliation_job, price_list_sync_job, product_sync_job
from bp_nop_dagster.ledger import RecordKind
from bp_nop_dagster.ledger.resource import LedgerResource
from bp_nop_dagster.sync.catalogue import KIND, changed_products
from bp_nop_dagster.sync.cursor import SensorCursor, utcnow
from bp_nop_dagster.sync.fate import active_pause, describe_pause

PRODUCTS_OP = "__".join(PRODUCTS.path)


@dg.sensor(
    job=product_sync_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Brightpearl products updated since an updatedOn watermark (overlap, de-duplicated) -> one catalogue "
    "run for just those products, with the SKUs whose last write failed once due again. 1 request per quiet tick.",
)
def brightpearl_product_changes(context: dg.SensorEvaluationContext, brightpearl: BrightpearlResource, ledger: LedgerResource):
    now = utcnow()
    book = ledger.get_ledger()
    bp = brightpearl.get_client()
    pause = active_pause(book, now)
    if pause is not None:  # any flow found a system down; the cursor stays: what changed is found again after the pause
        return dg.SkipReason(describe_pause(pause))
    changed, cursor = changed_products(bp, SensorCursor.parse(context.cursor), now)
    retry_skus = book.pending(KIND)  # due again under the one retry policy
    known = book.bp_ids(RecordKind.PRODUCT, retry_skus) if retry_skus else {}  # SKU links the flows keep
    missing = [sku for sku in retry_skus if sku not in known]
    retries = sorted({*known.values(), *(bp.product_ids_by_sku(missing).values() if missing else ())})
    context.update_cursor(cursor.dumps())
    product_ids = sorted(set(changed) | set(retries))
    if not product_ids:
        return dg.SkipReason("no Brightpearl product changed")
    return dg.RunRequest(
        run_key=None if retries else f"catalogue-{cursor.watermark.isoformat()}-{product_ids[0]}-{len(product_ids)}",
        run_config={"ops": {PRODUCTS_OP: {"config": {"product_ids": product_ids}}}},
        tags={"bp_nop/changed_products": str(len(changed)), "bp_nop/retried_products": str(len(retries))},
    )


nightly_price_list_sync = dg.ScheduleDefinition(
    name="nightly_price_list_sync",
    cron_schedule="0 2 * * *",
    execution_timezone="UTC",
    job=price_list_sync_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Nightly: every SKU's price from its Brightpearl price list (price changes do not move updatedOn).",
)

daily_catalogue_reconciliation = dg.ScheduleDefinition(
    name="daily_catalogue_reconciliation",
    cron_schedule="45 3 * * *",
    execution_timezone="UTC",
    job=catalogue_reconciliation_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Daily, after the nightly price-list run: the catalogue reconciliation (CSV and UI metadata).",
)

nightly_product_sync = dg.ScheduleDefinition(
    name="nightly_product_sync",
    cron_schedule="30 1 * * *",
    execution_timezone="UTC",
    job=product_sync_job,
    run_config={"ops": {PRODUCTS_OP: {"config": {"product_ids": []}}}},
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Nightly safety net: every SKU compared and written where a Brightpearl-owned field differs (a run "
    "that failed as a whole, or an updatedOn gap, is caught here).",
)
