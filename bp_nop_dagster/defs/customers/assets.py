"""The customer flow as a Dagster asset: registered nopCommerce customers and Brightpearl contacts
kept in step both ways (rules: `mapping/customers.py`; flow: `sync/customers.py`).

The step drains the ledger's pending customers, is safe to rerun at any time (write-ahead intents,
natural keys, the values last agreed in the ledger) and shares the `brightpearl` pool with every
other Brightpearl caller."""

import dagster as dg

from bp_nop_dagster.brightpearl.resource import BrightpearlResource
from bp_nop_dagster.defs.sync_settings import SyncSettings
from bp_nop_dagster.ledger.resource import LedgerResource
from bp_nop_dagster.nopcommerce.resource import NopCommerceResource
from bp_nop_dagster.sync.customers import CUSTOMER, CustomerSync, enqueue_registered
from bp_nop_dagster.sync.fate import SystemicOutage
from bp_nop_dagster.defs.pairing import BRIGHTPEARL_POOL, asset_key

GROUP = "customers"
OWNERS = ["team:integrations"]
KINDS = {"brightpearl", "nopcommerce"}

CUSTOMERS_IN_STEP = asset_key("customers", "customers_in_step")
NOP_CUSTOMERS = asset_key("nopcommerce", "customers")
BP_CONTACTS = asset_key("brightpearl", "contacts")
REVIEW_CHECK = "customers_needing_review"


class CustomerSyncConfig(dg.Config):
    """`catch_up`: first put every registered customer in the ledger (customers from before the
    flow started; those known already are left as they are)."""

    catch_up: bool = False


@dg.asset(
    key=CUSTOMERS_IN_STEP,
    deps=[NOP_CUSTOMERS, BP_CONTACTS],
    group_name=GROUP,
    owners=OWNERS,
    kinds=KINDS,
    pool=BRIGHTPEARL_POOL,
    check_specs=[dg.AssetCheckSpec(REVIEW_CHECK, asset=CUSTOMERS_IN_STEP,
                                   description="Customers whose new contact looks like an existing one: flagged, never merged.")],
)
def customers_in_step(
    context: dg.AssetExecutionContext,
    config: CustomerSyncConfig,
    nopcommerce: NopCommerceResource,
    brightpearl: BrightpearlResource,
    ledger: LedgerResource,
    sync_settings: SyncSettings,
):
    """Registered nopCommerce customers as Brightpearl contacts, and their email, names, phone and
    address in step both ways by the mapping's per-field owner (last writer wins where both may
    edit). Idempotent: a rerun writes nothing that is in step."""
    bp = brightpearl.get_client()
    book = ledger.get_ledger()
    if config.catch_up:
        context.log.info(f"catch-up: {enqueue_registered(nopcommerce.get_client(), book)} customers new to the ledger")
    engine = CustomerSync(
        nop=nopcommerce.get_client(), bp=bp, ledger=book, config=lambda: sync_settings.mapping(),
        owner=context.run.run_id, intent_lease_seconds=sync_settings.customers.intent_lease_seconds,
    )
    try:
        report = engine.run(limit=sync_settings.customers.batch_size)
    except SystemicOutage as outage:
        context.log.warning(f"stopped early: {outage}; so far: {engine.report}")
        raise
    context.log.info(
        f"{report.processed} customers: {report.created} contacts created, {report.linked} linked, "
        f"{report.updated_brightpearl} Brightpearl and {report.updated_nopcommerce} nopCommerce updates, "
        f"{report.dead_lettered} dead-lettered; {report.brightpearl_calls} Brightpearl calls"
    )
    review = [r for r in book.statuses(CUSTOMER) if r.needs_review]
    return dg.MaterializeResult(
        metadata={k: dg.MetadataValue.int(v) for k, v in report.as_metadata().items()},
        check_results=[dg.AssetCheckResult(
            check_name=REVIEW_CHECK, passed=not review, severity=dg.AssetCheckSeverity.WARN,
            metadata={"customers_needing_review": dg.MetadataValue.int(len(review)),
                      "customers": dg.MetadataValue.md("\n".join(
                          f"- nopCommerce customer {r.nop_key} → Brightpearl contact {r.bp_id}" for r in review[:100]) or "_none_")},
        )],
    )
