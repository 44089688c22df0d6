"""`nopcommerce/stock_from_brightpearl`: Brightpearl stock pushed to nopCommerce, only where it differs."""

import dagster as dg
from pydantic import Field

from bp_nop_dagster.brightpearl.resource import BrightpearlResource
from bp_nop_dagster.defs.sync_settings import SyncSettings
from bp_nop_dagster.ledger.resource import LedgerResource
from bp_nop_dagster.nopcommerce.resource import NopCommerceResource
from bp_nop_dagster.defs.pairing import BRIGHTPEARL_POOL, asset_key
from bp_nop_dagster.sync.stock import products_of_orders

GROUP = "stock_flow"
OWNERS = ["team:integrations"]
STOCK = asset_key("nopcommerce", "stock_from_brightpearl")
WRITES_COMPLETE_CHECK = "stock_writes_complete"
BRIGHTPEARL_STOCK = asset_key("brightpearl", "stock")  # the source table it reads (lineage: Brightpearl -> shop)


class StockSyncConfig(dg.Config):
    """Which Brightpearl products to push; none listed means every SKU (the full reconcile)."""

    product_ids: list[int] = Field(default_factory=list, description="Brightpearl product ids whose stock moved; empty "
                                   "(and no order_ids) = every SKU")
    order_ids: list[int] = Field(default_factory=list, description="Brightpearl sales orders created (webhook "
                                 "sales-order.created): the products of those this integration did not create are pushed too")


@dg.asset(
    key=STOCK,
    deps=[BRIGHTPEARL_STOCK],
    group_name=GROUP,
    owners=OWNERS,
    kinds={"brightpearl", "nopcommerce"},
    pool=BRIGHTPEARL_POOL,
    check_specs=[dg.AssetCheckSpec(WRITES_COMPLETE_CHECK, asset=STOCK,
                                   description="Every differing stock value was written (none failed or kept moving in nopCommerce).")],
)
def stock_from_brightpearl(
    context: dg.AssetExecutionContext,
    config: StockSyncConfig,
    nopcommerce: NopCommerceResource,
    brightpearl: BrightpearlResource,
    ledger: LedgerResource,
    sync_settings: SyncSettings,
) -> dg.MaterializeResult:
    """nopCommerce stock (units) = Brightpearl on-hand of the mapped warehouses, minus nopCommerce
    orders Brightpearl does not hold or has not allocated yet, minus the buffer, floored at 0.
    Brightpearl is the master. Only values that differ are written, as absolute values
    (idempotent), each re-read just before the write so a checkout in between is never
    overwritten. Products whose push failed are kept in the ledger and retried by the sensor
    under the one retry policy (`sync/fate.py`).
    Started by the `brightpearl_stock_changes` sensor for the products that moved, by the
    `brightpearl_webhook_stock` sensor for the ids Brightpearl's webhooks announced, nightly for
    every SKU."""
    book = ledger.get_ledger()
    bp = brightpearl.get_client()
    engine = sync_settings.stock_engine(nop=nopcommerce.get_client(), bp=bp, ledger=book)
    if config.product_ids or config.order_ids:
        product_ids = sorted(set(config.product_ids) | set(products_of_orders(bp, book, config.order_ids)))
    else:
        product_ids = None  # every SKU
    try:
        report = engine.run(product_ids)
    except Exception as error:
        engine.record_failed_push(product_ids or [], error)
        raise
    engine.record_push(product_ids, report)
    counts = report.as_metadata()
    context.log.info(", ".join(f"{name} {value}" for name, value in counts.items()))
    return dg.MaterializeResult(
        metadata={name: dg.MetadataValue.int(value) for name, value in counts.items()},
        check_results=[
            dg.AssetCheckResult(
                check_name=WRITES_COMPLETE_CHECK,
                passed=counts["failed"] == 0 and counts["moved_during_sync"] == 0,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"failed": dg.MetadataValue.int(counts["failed"]), "moved_during_sync": dg.MetadataValue.int(counts["moved_during_sync"])},
            )
        ],
    )
