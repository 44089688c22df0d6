"""`reconciliation/catalogue`: every SKU's catalogue fields in nopCommerce against Brightpearl,
with which system owns each field that differs."""

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import dagster as dg

from bp_nop_dagster.brightpearl.resource import BrightpearlResource
from bp_nop_dagster.defs.catalogue.assets import BRIGHTPEARL_PRODUCTS, PRICES, PRODUCTS
from bp_nop_dagster.defs.reconciliation.common import GROUP, KINDS, OWNERS, ReportConfig, actions_markdown, verdict_counts
from bp_nop_dagster.defs.sync_settings import SyncSettings
from bp_nop_dagster.ledger.resource import LedgerResource
from bp_nop_dagster.nopcommerce.resource import NopCommerceResource
from bp_nop_dagster.reporting import report_files_metadata, table_metadata, write_report
from bp_nop_dagster.sync.catalogue import (
    AMBIGUOUS,
    BRIGHTPEARL_ONLY,
    DIFFERS,
    IN_SYNC,
    NOP_ONLY,
    OWNED_BY_NOP,
    OTHER_PAIR,
    UNMAPPED_STORE,
    CatalogueReport,
)
from bp_nop_dagster.defs.pairing import BRIGHTPEARL_POOL, asset_key

if TYPE_CHECKING:
    import pandas as pd

CATALOGUE = asset_key("reconciliation", "catalogue")
NOP_PRODUCTS = asset_key("nopcommerce", "products")
VERDICTS = (IN_SYNC, OWNED_BY_NOP, DIFFERS, BRIGHTPEARL_ONLY, NOP_ONLY, AMBIGUOUS, UNMAPPED_STORE, OTHER_PAIR)
ACTIONS = {
    DIFFERS: "a Brightpearl-owned field differs: the next product or price run writes it; if it stays, look at the "
             "catalogue_product dead letters",
    OWNED_BY_NOP: "only fields the mapping gives to nopCommerce differ: nothing to do (the shop owns them)",
    BRIGHTPEARL_ONLY: "in Brightpearl only: create it in the shop, or set catalogue.create_in_nop",
    NOP_ONLY: "in nopCommerce only: create it in Brightpearl or correct the SKU",
    AMBIGUOUS: "the SKU is held by several records on one side: make it unique",
    UNMAPPED_STORE: "the product is limited to a nopCommerce store the mapping's stores: does not list: add the store",
    OTHER_PAIR: "another pair on this nopCommerce installation owns the product (README, \"Several pairs on one nopCommerce "
                "installation\"): nothing to do here",
}
DESCRIPTIONS = {
    "sku": "the SKU (exact text; the CSV quotes it, so spaces and leading zeros survive)",
    "verdict": ", ".join(VERDICTS),
    "bp_product_id": "Brightpearl product id",
    "nop_product_id": "nopCommerce product id (the parent product of a combination)",
    "nop_combination_id": "nopCommerce attribute-combination id when the SKU is a variant",
    "store_ids": "nopCommerce stores the product is limited to (read only when the mapping has stores:)",
    "differing_fields": "each field that differs: field [owner] Brightpearl value | nopCommerce value",
    "brightpearl_owned": "how many differing fields Brightpearl owns (written by the flow)",
    "nopcommerce_owned": "how many differing fields the shop owns (left as they are)",
    "note": "why a SKU was not compared",
}


def catalogue_frame(report: CatalogueReport) -> "pd.DataFrame":
    """One row per SKU (either side); `differing_fields` lists every field that differs, with its owner."""
    import pandas as pd
    rows = [{
        "sku": row.sku, "verdict": row.verdict, "bp_product_id": row.bp_product_id, "nop_product_id": row.nop_product_id,
        "nop_combination_id": row.nop_combination_id, "store_ids": ";".join(map(str, row.store_ids)) or None,
        "differing_fields": "; ".join(f"{d.field} [{d.owner}] {d.brightpearl} | {d.nopcommerce}" for d in row.differences) or None,
        "brightpearl_owned": sum(1 for d in row.differences if d.owner == "brightpearl"),
        "nopcommerce_owned": sum(1 for d in row.differences if d.owner == "nopcommerce"), "note": row.note or None,
    } for row in report.rows]
    frame = pd.DataFrame(rows, columns=list(DESCRIPTIONS))
    for column in ("bp_product_id", "nop_product_id", "nop_combination_id", "brightpearl_owned", "nopcommerce_owned"):
        frame[column] = frame[column].astype("Int64")
    for column in ("sku", "verdict", "store_ids", "differing_fields", "note"):
        frame[column] = frame[column].astype("string")
    return frame


@dg.asset(key=CATALOGUE, deps=[PRODUCTS, PRICES, BRIGHTPEARL_PRODUCTS, NOP_PRODUCTS], group_name=GROUP, owners=OWNERS,
          kinds=KINDS, pool=BRIGHTPEARL_POOL)
def catalogue_reconciliation(
    config: ReportConfig, nopcommerce: NopCommerceResource, brightpearl: BrightpearlResource, ledger: LedgerResource,
    sync_settings: SyncSettings,
) -> dg.MaterializeResult:
    """Every SKU now, both systems: the catalogue fields that differ and which side owns each
    (the mapping's `catalogue.owners`). `unexplained_differences` counts SKUs where a
    Brightpearl-owned field still differs; fields the shop owns, and SKUs on one side only, are
    reported with what to do. Reads only. CSV in the reports folder (one file per day)."""
    engine = sync_settings.catalogue_engine(nop=nopcommerce.get_client(), bp=brightpearl.get_client(), ledger=ledger.get_ledger())
    frame = catalogue_frame(engine.plan())
    paths = write_report(frame, f"catalogue_{datetime.now(UTC).date().isoformat()}", excel=config.excel_copy)
    return dg.MaterializeResult(
        value=frame,
        metadata={
            **table_metadata(frame, DESCRIPTIONS, skus=dg.MetadataValue.int(int(frame["sku"].nunique())),
                             unexplained_differences=dg.MetadataValue.int(int((frame["verdict"] == DIFFERS).sum())),
                             actions=actions_markdown(frame, ACTIONS), **verdict_counts(frame, VERDICTS)),
            **report_files_metadata(paths),
        },
    )
