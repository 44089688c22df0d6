"""Data-quality checks on the nopCommerce source assets. Each names its severity and lists the
offending rows in metadata, so the ops team can fix the data where it lives."""

import warnings
from typing import TYPE_CHECKING

import dagster as dg

from bp_nop_dagster.defs.partitions import daily_partitions
from bp_nop_dagster.mapping.skus import NOP_ONLY, NORMALISED_ONLY, duplicate_skus, match_skus
from bp_nop_dagster.reporting import DataFrame, preview_markdown
from bp_nop_dagster.defs.pairing import asset_key

if TYPE_CHECKING:
    import pandas as pd

ORDERS = asset_key("nopcommerce", "orders")
PRODUCTS = asset_key("nopcommerce", "products")
BRIGHTPEARL_PRODUCTS = asset_key("brightpearl", "products")


def check_result(offending: "pd.DataFrame", severity: dg.AssetCheckSeverity, what: str) -> dg.AssetCheckResult:
    """Passed when nothing offends; otherwise the count and the offending rows (first 50)."""
    return dg.AssetCheckResult(
        passed=offending.empty,
        severity=severity,
        metadata={
            "offending_rows": dg.MetadataValue.int(len(offending)),
            what: dg.MetadataValue.md(preview_markdown(offending, rows=50)),
        },
    )


def daily_check(**kwargs):
    """`dg.asset_check` on one day of a daily-partitioned asset. Partitioned checks are marked
    preview in Dagster 1.13 (pinned); their warning is silenced here only, since every process
    that loads the code location (each run, each sensor tick) would repeat it."""
    def apply(fn):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", dg.PreviewWarning)
            return dg.asset_check(partitions_def=daily_partitions, **kwargs)(fn)
    return apply


def line_skus(orders: "pd.DataFrame", nop_products: "pd.DataFrame") -> "pd.DataFrame":
    """Each order line with the SKU it sells: the attribute combination's SKU when the line's
    attributes match one of the product's combinations, else the product's SKU."""
    lines = orders.dropna(subset=["item_id"])[["order_id", "item_id", "product_id", "attributes_xml"]].copy()
    products = nop_products[nop_products["kind"] == "product"][["product_id", "sku"]]
    combinations = nop_products[nop_products["kind"] == "combination"][["product_id", "sku", "attributes_xml"]]
    lines = lines.merge(products, on="product_id", how="left")
    if "attributes_xml" in combinations and not combinations.empty:
        lines = lines.merge(
            combinations.rename(columns={"sku": "combination_sku"}), on=["product_id", "attributes_xml"], how="left"
        )
        lines["sku"] = lines["combination_sku"].fillna(lines["sku"])
        lines = lines.drop(columns=["combination_sku"])
    return lines


@daily_check(asset=ORDERS, description="Every order has at least one line (an order without lines cannot be synced).")
def orders_have_items(orders: DataFrame) -> dg.AssetCheckResult:
    empty = orders[orders["item_id"].isna()][["order_id", "custom_order_number", "created_on_utc", "order_total"]]
    return check_result(empty, dg.AssetCheckSeverity.ERROR, "orders_without_items")


@daily_check(
    asset=ORDERS,
    additional_ins={
        "nop_products": dg.AssetIn(key=PRODUCTS),
        "brightpearl_products": dg.AssetIn(key=BRIGHTPEARL_PRODUCTS),
    },
    description="Every order line's SKU exists in Brightpearl exactly (else the order syncs with a placeholder line, flagged for review).",
)
def order_skus_known_to_brightpearl(
    orders: DataFrame, nop_products: DataFrame, brightpearl_products: DataFrame
) -> dg.AssetCheckResult:
    lines = line_skus(orders, nop_products)
    known = set(brightpearl_products["sku"].dropna())
    unknown = lines[~lines["sku"].isin(known)][["order_id", "item_id", "product_id", "sku"]]
    return check_result(unknown, dg.AssetCheckSeverity.WARN, "lines_with_unknown_skus")


@dg.asset_check(asset=PRODUCTS, description="No two products or attribute combinations share a SKU (a SKU must name one thing).")
def nopcommerce_skus_unique(products: DataFrame) -> dg.AssetCheckResult:
    live = products[~products["deleted"]].rename(columns={"product_id": "id"})
    return check_result(duplicate_skus(live, "sku", "id"), dg.AssetCheckSeverity.ERROR, "duplicate_skus")


@dg.asset_check(asset=PRODUCTS, description="No tracked product, warehouse or combination shows negative stock.")
def nopcommerce_stock_not_negative(products: DataFrame) -> dg.AssetCheckResult:
    negative = products[products["stock_quantity"].fillna(0) < 0][["product_id", "kind", "sku", "stock_quantity", "warehouse_stock"]]
    return check_result(negative, dg.AssetCheckSeverity.WARN, "negative_stock")


@dg.asset_check(
    asset=PRODUCTS,
    additional_ins={"brightpearl_products": dg.AssetIn(key=BRIGHTPEARL_PRODUCTS)},
    description="SKUs that equal a Brightpearl SKU only after trimming or case-folding: never matched silently, fix the SKU.",
)
def nopcommerce_skus_match_exactly(products: DataFrame, brightpearl_products: DataFrame) -> dg.AssetCheckResult:
    live = products[~products["deleted"]]
    matches = match_skus(live["sku"], brightpearl_products["sku"])
    near = matches[matches["match"] == NORMALISED_ONLY]
    metadata_extra = {"nop_only_skus": dg.MetadataValue.int(int((matches["match"] == NOP_ONLY).sum()))}
    result = check_result(near, dg.AssetCheckSeverity.WARN, "near_matches")
    return dg.AssetCheckResult(passed=result.passed, severity=result.severity, metadata={**result.metadata, **metadata_extra})
