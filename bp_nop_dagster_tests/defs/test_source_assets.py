"""Source assets materialized through Dagster against the sandbox, checks included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
import pandas as pd
import pytest
import requests

from bp_nop_dagster.brightpearl.resource import BrightpearlResource
from bp_nop_dagster.defs.brightpearl import assets as bp_assets
from bp_nop_dagster.defs.brightpearl import checks as bp_checks
from bp_nop_dagster.defs.nopcommerce import assets as nop_assets
from bp_nop_dagster.defs.nopcommerce import checks as nop_checks
from bp_nop_dagster.nopcommerce.resource import NopCommerceResource

UNPARTITIONED = [
    nop_assets.nopcommerce_customers, nop_assets.nopcommerce_products, nop_assets.nopcommerce_shipments,
    nop_assets.nopcommerce_return_requests, bp_assets.brightpearl_products, bp_assets.brightpearl_stock,
    bp_assets.brightpearl_contacts, bp_assets.brightpearl_goods_out_notes, bp_assets.brightpearl_customer_payments,
    bp_assets.brightpearl_sales_credits, bp_assets.brightpearl_reference_data,
]
PARTITIONED = [nop_assets.nopcommerce_orders, nop_assets.nopcommerce_payments, bp_assets.brightpearl_sales_orders]
CHECKS = [
    nop_checks.orders_have_items, nop_checks.order_skus_known_to_brightpearl, nop_checks.nopcommerce_skus_unique,
    nop_checks.nopcommerce_stock_not_negative, nop_checks.nopcommerce_skus_match_exactly,
    bp_checks.brightpearl_skus_unique, bp_checks.brightpearl_stock_not_negative,
]


def resources_for(sandbox) -> dict:
    creds = sandbox.world.credentials
    return {
        "brightpearl": BrightpearlResource(
            base_url=sandbox.urls.brightpearl_base_url, app_ref=creds.brightpearl_app_ref, account_token=creds.brightpearl_account_token
        ),
        "nopcommerce": NopCommerceResource(
            base_url=sandbox.urls.nopcommerce_base_url, email=creds.nopcommerce_email, password=creds.nopcommerce_password
        ),
    }


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


def yesterday() -> str:
    return (datetime.now(UTC).date() - timedelta(days=1)).isoformat()


def materializations(result) -> dict[str, dg.AssetMaterialization]:
    return {e.materialization.asset_key.to_user_string(): e.materialization for e in result.get_asset_materialization_events()}


def test_every_source_asset_materializes_with_schema_row_count_and_masked_preview(sandbox, instance):
    unpartitioned = dg.materialize([*UNPARTITIONED, *CHECKS[2:]], resources=resources_for(sandbox), instance=instance)
    assert unpartitioned.success
    partitioned = dg.materialize(
        [*PARTITIONED, *UNPARTITIONED, *CHECKS],
        selection=dg.AssetSelection.assets(*PARTITIONED) | dg.AssetSelection.checks_for_assets(*PARTITIONED),
        resources=resources_for(sandbox), instance=instance, partition_key=yesterday(),
    )
    assert partitioned.success
    events = {**materializations(unpartitioned), **materializations(partitioned)}
    expected = {
        "nopcommerce/customers", "nopcommerce/products", "nopcommerce/shipments", "nopcommerce/return_requests",
        "nopcommerce/orders", "nopcommerce/payments", "brightpearl/products", "brightpearl/stock", "brightpearl/contacts",
        "brightpearl/goods_out_notes", "brightpearl/customer_payments", "brightpearl/sales_credits", "brightpearl/sales_orders",
        "brightpearl/warehouses", "brightpearl/channels", "brightpearl/order_statuses", "brightpearl/tax_codes",
        "brightpearl/payment_methods", "brightpearl/shipping_methods",
    }
    assert set(events) == expected
    for key, event in events.items():
        assert "dagster/column_schema" in event.metadata, key
        assert "dagster/row_count" in event.metadata, key
        preview = event.metadata["preview"].value.replace("\\", "")  # values are Markdown-escaped
        assert "@" not in preview or "***@" in preview, key
    assert events["nopcommerce/orders"].metadata["orders"].value > 0
    assert events["brightpearl/products"].metadata["dagster/row_count"].value > 50
    assert events["brightpearl/warehouses"].metadata["dagster/row_count"].value == 3


def test_checks_find_the_generators_deliberate_mismatches(sandbox, instance):
    result = dg.materialize([*UNPARTITIONED, *CHECKS[2:]], resources=resources_for(sandbox), instance=instance)
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert not evaluations["nopcommerce_skus_unique"].passed  # BPN-00011 is listed twice in the shop
    assert evaluations["nopcommerce_skus_unique"].severity == dg.AssetCheckSeverity.ERROR
    near = evaluations["nopcommerce_skus_match_exactly"]
    assert not near.passed and near.metadata["offending_rows"].value == 4  # two case, two whitespace variants
    assert evaluations["brightpearl_skus_unique"].passed
    assert evaluations["brightpearl_stock_not_negative"].passed


def test_order_checks_flag_unknown_skus_and_orders_without_items(sandbox, instance):
    nop = sandbox.urls.nopcommerce_root
    order = requests.post(f"{nop}/__sandbox__/orders", json={
        "email": "check@example.com", "first_name": "Ana", "last_name": "Check",
        "address": {"address1": "1 High St", "city": "Leeds", "zip_postal_code": "LS1 1AA", "country_iso2": "GB"},
        "items": [{"sku": "bpn-00007", "quantity": 1}], "paid": True, "created_on_utc": f"{yesterday()}T12:00:00",
    }, timeout=10).json()
    day = order["created_on_utc"][:10]
    assert day == yesterday()
    result = dg.materialize(
        [*PARTITIONED, *UNPARTITIONED, *CHECKS],
        selection=dg.AssetSelection.assets(nop_assets.nopcommerce_orders, nop_assets.nopcommerce_products, bp_assets.brightpearl_products)
        | dg.AssetSelection.checks_for_assets(nop_assets.nopcommerce_orders),
        resources=resources_for(sandbox), instance=instance, partition_key=day,
    )
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    unknown = evaluations["order_skus_known_to_brightpearl"]
    assert not unknown.passed and unknown.severity == dg.AssetCheckSeverity.WARN
    assert "bpn-00007" in unknown.metadata["lines_with_unknown_skus"].value.replace("\\", "")  # Markdown-escaped
    assert evaluations["orders_have_items"].passed


def test_line_skus_prefers_the_attribute_combination_sku():
    orders = pd.DataFrame({"order_id": [1, 1, 2], "item_id": [10, 11, None], "product_id": [5, 6, None],
                           "attributes_xml": ["<a>1</a>", None, None]})
    products = pd.DataFrame({
        "product_id": [5, 5, 6], "kind": ["product", "combination", "product"], "sku": ["P5", "P5-S", "P6"],
        "attributes_xml": [None, "<a>1</a>", None],
    })
    assert nop_checks.line_skus(orders, products)["sku"].tolist() == ["P5-S", "P6"]
