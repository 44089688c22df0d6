"""Data-quality checks on the Brightpearl source assets (severity named, offending rows listed)."""

import dagster as dg

from bp_nop_dagster.defs.nopcommerce.checks import check_result
from bp_nop_dagster.mapping.skus import duplicate_skus
from bp_nop_dagster.defs.pairing import asset_key
from bp_nop_dagster.reporting import DataFrame


@dg.asset_check(asset=asset_key("brightpearl", "products"), description="No two Brightpearl products share a SKU (the master SKU list must be unambiguous).")
def brightpearl_skus_unique(products: DataFrame) -> dg.AssetCheckResult:
    return check_result(duplicate_skus(products.rename(columns={"product_id": "id"}), "sku", "id"), dg.AssetCheckSeverity.ERROR, "duplicate_skus")


@dg.asset_check(asset=asset_key("brightpearl", "stock"), description="No product shows negative on-hand stock in any warehouse.")
def brightpearl_stock_not_negative(stock: DataFrame) -> dg.AssetCheckResult:
    return check_result(stock[stock["on_hand"] < 0], dg.AssetCheckSeverity.WARN, "negative_stock")
