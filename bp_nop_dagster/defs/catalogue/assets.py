"""`nopcommerce/products_from_brightpearl` and `nopcommerce/prices_from_brightpearl`: Brightpearl
products (by updatedOn) and price-list prices written to nopCommerce, only where they differ."""

import dagster as dg
from pydantic import Field

from bp_nop_dagster.brightpearl.resource import BrightpearlResource
from bp_nop_dagster.defs.sync_settings import SyncSettings
from bp_nop_dagster.ledger.resource import LedgerResource
from bp_nop_dagster.nopcommerce.resource import NopCommerceResource
from bp_nop_dagster.sync.catalogue import CatalogueReport
from bp_nop_dagster.defs.pairing import BRIGHTPEARL_POOL, asset_key

GROUP = "catalogue"
OWNERS = ["team:integrations"]
PRODUCTS = asset_key("nopcommerce", "products_from_brightpearl")
PRICES = asset_key("nopcommerce", "prices_from_brightpearl")
BRIGHTPEARL_PRODUCTS = asset_key("brightpearl", "products")  # the source it reads (lineage: Brightpearl -> shop)
WRITES_COMPLETE_CHECK = "catalogue_writes_complete"


class CatalogueSyncConfig(dg.Config):
    """Which Brightpearl products to sync; none listed means every SKU."""

    product_ids: list[int] = Field(default_factory=list, description="Brightpearl product ids updated; empty = every SKU")


def _result(context: dg.AssetExecutionContext, report: CatalogueReport, key: dg.AssetKey) -> dg.MaterializeResult:
    counts = report.as_metadata()
    context.log.info(", ".join(f"{name} {value}" for name, value in counts.items()))
    return dg.MaterializeResult(
        metadata={name: dg.MetadataValue.int(value) for name, value in counts.items()},
        check_results=[dg.AssetCheckResult(
            check_name=WRITES_COMPLETE_CHECK, asset_key=key, passed=counts["failed"] == 0, severity=dg.AssetCheckSeverity.WARN,
            metadata={"failed": dg.MetadataValue.int(counts["failed"])},
        )],
    )


def _check(key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    return [dg.AssetCheckSpec(WRITES_COMPLETE_CHECK, asset=key, description="Every differing field was written (no SKU failed).")]


@dg.asset(key=PRODUCTS, deps=[BRIGHTPEARL_PRODUCTS], group_name=GROUP, owners=OWNERS, kinds={"brightpearl", "nopcommerce"},
          pool=BRIGHTPEARL_POOL, check_specs=_check(PRODUCTS))
def products_from_brightpearl(
    context: dg.AssetExecutionContext, config: CatalogueSyncConfig, nopcommerce: NopCommerceResource,
    brightpearl: BrightpearlResource, ledger: LedgerResource, sync_settings: SyncSettings,
) -> dg.MaterializeResult:
    """nopCommerce products and attribute combinations (by SKU) = the Brightpearl product's
    name, EAN, MPN, weight, dimensions, published state (from its status), short description and
    mapped price-list price, for each field the mapping's `catalogue.owners` gives to Brightpearl.
    Each write re-reads the product just before a full-replace Update that changes only those
    fields, so nothing else the shop holds (an admin's edit included) is lost. Products only in
    Brightpearl are created when `catalogue.create_in_nop` says so, else reported. Started by the
    `brightpearl_product_changes` sensor (product-search by updatedOn)."""
    engine = sync_settings.catalogue_engine(nop=nopcommerce.get_client(), bp=brightpearl.get_client(), ledger=ledger.get_ledger())
    return _result(context, engine.run(config.product_ids or None), PRODUCTS)


@dg.asset(key=PRICES, deps=[BRIGHTPEARL_PRODUCTS], group_name=GROUP, owners=OWNERS, kinds={"brightpearl", "nopcommerce"},
          pool=BRIGHTPEARL_POOL, check_specs=_check(PRICES))
def prices_from_brightpearl(
    context: dg.AssetExecutionContext, nopcommerce: NopCommerceResource, brightpearl: BrightpearlResource,
    ledger: LedgerResource, sync_settings: SyncSettings,
) -> dg.MaterializeResult:
    """Every SKU's nopCommerce price (or combination's overridden price) = break 1 of its
    Brightpearl price list (the store's, else `price_list_id`). A price change does not move a
    Brightpearl product's updatedOn, so this runs on its own: nightly and on demand."""
    engine = sync_settings.catalogue_engine(nop=nopcommerce.get_client(), bp=brightpearl.get_client(), ledger=ledger.get_ledger())
    return _result(context, engine.run(None, prices_only=True), PRICES)
