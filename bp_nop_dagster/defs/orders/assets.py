"""The order flow as Dagster assets: nopCommerce orders, customers and payments into Brightpearl.

One step writes three assets (contacts, sales orders, payments) because each order needs its
contact before its order and its order before its payments; splitting them into three steps
would read every order from nopCommerce three times. The step drains the ledger's pending
orders, is safe to rerun at any time (exactly-once through the ledger's intents and Brightpearl's
natural keys), and shares the `brightpearl` pool with every other Brightpearl caller.
"""

import dagster as dg

from bp_nop_dagster.brightpearl.resource import BrightpearlResource
from bp_nop_dagster.defs.sync_settings import SyncSettings
from bp_nop_dagster.ledger.resource import LedgerResource
from bp_nop_dagster.nopcommerce.resource import NopCommerceResource
from bp_nop_dagster.progress import ProgressLog
from bp_nop_dagster.sync.fate import SystemicOutage
from bp_nop_dagster.sync.orders import ORDER, OrderSync
from bp_nop_dagster.defs.pairing import BRIGHTPEARL_POOL, asset_key

GROUP = "order_flow"
OWNERS = ["team:integrations"]
KINDS = {"brightpearl", "nopcommerce"}

CONTACTS = asset_key("brightpearl", "contacts_from_nop")
SALES_ORDERS = asset_key("brightpearl", "sales_orders_from_nop")
PAYMENTS = asset_key("brightpearl", "payments_from_nop")
NEEDS_REVIEW_CHECK = "orders_needing_review"
# The source tables the step reads from (lineage: shop -> Brightpearl).
NOP_ORDERS = asset_key("nopcommerce", "orders")
NOP_CUSTOMERS = asset_key("nopcommerce", "customers")
NOP_PAYMENTS = asset_key("nopcommerce", "payments")
# The blocking check on the pending orders' values (defs/quality/coverage.py) runs first.
MAPPING_COVERAGE = asset_key("order_flow", "mapping_coverage")


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            CONTACTS, group_name=GROUP, owners=OWNERS, kinds=KINDS, deps=[NOP_CUSTOMERS, NOP_ORDERS, MAPPING_COVERAGE],
            description="Brightpearl contacts for nopCommerce customers: matched by normalised email, created only when none matches.",
        ),
        dg.AssetSpec(
            SALES_ORDERS, group_name=GROUP, owners=OWNERS, kinds=KINDS, deps=[CONTACTS, NOP_ORDERS, MAPPING_COVERAGE],
            description="Brightpearl sales orders for nopCommerce orders (externalRef `nop-<id>`), created exactly once; status kept in step.",
        ),
        dg.AssetSpec(
            PAYMENTS, group_name=GROUP, owners=OWNERS, kinds=KINDS, deps=[SALES_ORDERS, NOP_PAYMENTS],
            description="Brightpearl customer payments for paid or authorized nopCommerce orders, deduplicated by transactionRef.",
        ),
    ],
    check_specs=[dg.AssetCheckSpec(NEEDS_REVIEW_CHECK, asset=SALES_ORDERS, description="Orders booked with the placeholder product for an unknown SKU.")],
    pool=BRIGHTPEARL_POOL,
)
def order_sync(
    context: dg.AssetExecutionContext,
    nopcommerce: NopCommerceResource,
    brightpearl: BrightpearlResource,
    ledger: LedgerResource,
    sync_settings: SyncSettings,
):
    """Drain the ledger's pending nopCommerce orders into Brightpearl: contact, sales order,
    payments, later status changes. Idempotent: a rerun creates nothing that exists."""
    bp = brightpearl.get_client()
    engine = OrderSync(
        nop=nopcommerce.get_client(),
        bp=bp,
        ledger=ledger.get_ledger(),
        config=lambda: sync_settings.mapping(bp, flow="orders", ledger=ledger.get_ledger()),
        owner=context.run.run_id,
        intent_lease_seconds=sync_settings.orders.intent_lease_seconds,
        created_on_margin=sync_settings.orders.created_on_margin,
        progress=ProgressLog(context.log.info, "orders synced"),
    )
    try:
        engine.run(limit=sync_settings.orders.batch_size)
    except SystemicOutage as outage:
        context.log.warning(f"stopped early: {outage}; so far: {engine.report}")
        raise
    report = engine.report
    context.log.info(
        f"{report.processed} orders: {report.orders.created} created, {report.orders.dead_lettered} dead-lettered, "
        f"{report.orders.pending} left pending; {report.brightpearl_calls} Brightpearl calls"
    )
    calls = {"brightpearl_calls": report.brightpearl_calls, "nopcommerce_calls": report.nopcommerce_calls}
    yield dg.MaterializeResult(asset_key=CONTACTS, metadata=report.contacts.as_metadata())
    yield dg.MaterializeResult(asset_key=SALES_ORDERS, metadata={**report.orders.as_metadata(), **calls, "processed": report.processed})
    yield dg.MaterializeResult(asset_key=PAYMENTS, metadata=report.payments.as_metadata())
    review = [r for r in ledger.get_ledger().statuses(ORDER) if r.needs_review]
    yield dg.AssetCheckResult(
        check_name=NEEDS_REVIEW_CHECK,
        asset_key=SALES_ORDERS,
        passed=not review,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "orders_needing_review": dg.MetadataValue.int(len(review)),
            "orders": dg.MetadataValue.md(
                "\n".join(f"- nopCommerce order {r.nop_key} → Brightpearl order {r.bp_id}" for r in review[:100]) or "_none_"
            ),
        },
    )
