"""The fulfilment flow as a Dagster asset: Brightpearl shipments and order statuses into nopCommerce.

Brightpearl is the master of fulfilment. One step drains the ledger's pending goods-out notes
(into nopCommerce shipments, shipped) and Brightpearl order status changes (cancel, deliver); it
is safe to rerun at any time (exactly once through the ledger's intents, natural-key lookups and
read-backs) and shares the `brightpearl` pool with every other Brightpearl caller.
"""

import dagster as dg

from bp_nop_dagster.brightpearl.resource import BrightpearlResource
from bp_nop_dagster.defs.sync_settings import SyncSettings
from bp_nop_dagster.ledger.resource import LedgerResource
from bp_nop_dagster.nopcommerce.resource import NopCommerceResource
from bp_nop_dagster.reporting import escape_markdown
from bp_nop_dagster.sync.fate import SystemicOutage
from bp_nop_dagster.sync.fulfilment import BP_ORDER_STATUS, GOODS_OUT_NOTE, FulfilmentSync
from bp_nop_dagster.defs.pairing import BRIGHTPEARL_POOL, asset_key

GROUP = "fulfilment"
SHIPMENTS = asset_key("nopcommerce", "shipments_from_brightpearl")
DEAD_LETTERED_CHECK = "fulfilment_dead_letters"
GOODS_OUT_NOTES = asset_key("brightpearl", "goods_out_notes")  # the source table it reads (lineage: Brightpearl -> shop)


@dg.asset(
    key=SHIPMENTS,
    deps=[GOODS_OUT_NOTES],
    group_name=GROUP,
    owners=["team:integrations"],
    kinds={"brightpearl", "nopcommerce"},
    pool=BRIGHTPEARL_POOL,
    check_specs=[dg.AssetCheckSpec(DEAD_LETTERED_CHECK, asset=SHIPMENTS,
                                   description="Goods-out notes and status changes parked in the dead-letter queue (replay once fixed).")],
)
def shipments_from_brightpearl(
    context: dg.AssetExecutionContext,
    nopcommerce: NopCommerceResource,
    brightpearl: BrightpearlResource,
    ledger: LedgerResource,
    sync_settings: SyncSettings,
) -> dg.MaterializeResult:
    """nopCommerce shipments for shipped Brightpearl goods-out notes (tracking number and shipped
    items; several notes per order = partial shipments), each shipped exactly once with
    `OrderProcessing/Ship`; Brightpearl order statuses mapped in `fulfilment.on_order_status`
    cancel the nopCommerce order or deliver its shipments, once."""
    bp = brightpearl.get_client()
    engine = FulfilmentSync(
        nop=nopcommerce.get_client(),
        bp=bp,
        ledger=ledger.get_ledger(),
        config=lambda: sync_settings.mapping(bp, flow="fulfilment", ledger=ledger.get_ledger()),
        owner=context.run.run_id,
        intent_lease_seconds=sync_settings.fulfilment.intent_lease_seconds,
    )
    try:
        engine.run(limit=sync_settings.fulfilment.batch_size)
    except SystemicOutage as outage:
        context.log.warning(f"stopped early: {outage}; so far: {engine.report}")
        raise
    report = engine.report
    context.log.info(
        f"{report.notes_seen} goods-out notes: {report.shipments_created} shipments created, {report.ship_calls} Ship calls, "
        f"{report.dead_lettered} dead-lettered, {report.pending} left pending; {report.brightpearl_calls} Brightpearl calls"
    )
    letters = [d for d in ledger.get_ledger().dead_letters() if d.kind in (GOODS_OUT_NOTE, BP_ORDER_STATUS)]
    return dg.MaterializeResult(
        metadata={name: dg.MetadataValue.int(value) for name, value in report.as_metadata().items()},
        check_results=[dg.AssetCheckResult(
            check_name=DEAD_LETTERED_CHECK,
            passed=not letters,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "dead_letters": dg.MetadataValue.int(len(letters)),
                "records": dg.MetadataValue.md(
                    "\n".join("- " + escape_markdown(f"{d.kind} {d.nop_key}: {d.reason} ({d.message})") for d in letters[:100]) or "_none_"
                ),
            },
        )],
    )
