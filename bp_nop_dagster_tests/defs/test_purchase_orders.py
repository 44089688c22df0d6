"""Purchase orders (read) through Dagster against the sandbox: incoming stock per SKU and warehouse,
the shop's back-order settings when the mapping enables them, the buyers' report; under faults.

The rule the expected values come from (stated here, computed from the sandbox's purchase orders
and goods-in notes, not from the code under test): for every purchase order not received in full,
per row, outstanding = ordered − units on the goods-in lines naming that row; summed per product
and warehouse (the order's), rows with nothing outstanding left out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
import requests
import yaml

from bp_nop_dagster.brightpearl.resource import BrightpearlResource
from bp_nop_dagster.defs.purchase_orders.assets import backorders_from_brightpearl, buyers_report_asset, incoming_stock
from bp_nop_dagster.defs.sync_settings import SyncSettings
from bp_nop_dagster.ledger.resource import LedgerResource
from bp_nop_dagster.mapping.config import DEFAULT_MAPPING_FILE
from bp_nop_dagster.nopcommerce.resource import NopCommerceResource

pytestmark = pytest.mark.slow


@pytest.fixture
def resources(sandbox, tmp_path, monkeypatch):
    monkeypatch.setenv("BP_NOP_REPORTS_DIR", str(tmp_path / "reports"))
    mapping = yaml.safe_load(open(DEFAULT_MAPPING_FILE, encoding="utf-8"))
    mapping["purchase_orders"].update(backorders_in_nopcommerce=True, available_from_dates=True)
    path = tmp_path / "mapping.yaml"
    path.write_text(yaml.safe_dump(mapping), encoding="utf-8")
    creds = sandbox.world.credentials
    return {
        "brightpearl": BrightpearlResource(base_url=sandbox.urls.brightpearl_base_url, app_ref=creds.brightpearl_app_ref,
                                           account_token=creds.brightpearl_account_token),
        "nopcommerce": NopCommerceResource(base_url=sandbox.urls.nopcommerce_base_url, email=creds.nopcommerce_email,
                                           password=creds.nopcommerce_password),
        "ledger": LedgerResource(url=f"sqlite:///{tmp_path / 'ledger.sqlite'}"),
        "sync_settings": SyncSettings(mapping_file=str(path)),
    }


def control(root: str, path: str, body: dict) -> dict:
    response = requests.post(f"{root}/__sandbox__/{path}", json=body, timeout=30)
    response.raise_for_status()
    return response.json()


def expected_incoming(world) -> dict[tuple[int, int], int]:
    bp = world.brightpearl
    outstanding: dict[tuple[int, int], int] = {}
    for order in bp.orders.values():
        if order.type_code != "PO":
            continue
        notes = bp.goods_in_service.notes_of(order.id)
        for row in order.rows.values():
            received = sum(line["quantity"] for note in notes for line in note.lines if line["rowId"] == row.id)
            left = int(row.quantity) - received
            if left > 0:
                key = (row.product_id, order.warehouse_id)
                outstanding[key] = outstanding.get(key, 0) + left
    return outstanding


def two_skus(world) -> list[str]:
    shop = world.nopcommerce
    found = []
    for sku, product_id in sorted(world.brightpearl.sku_to_product_id().items()):
        product = shop.product_by_sku(sku)
        if world.brightpearl.products[product_id].stock_tracked and product and product["manage_inventory_method_id"] == 1:
            found.append(sku)
    return found[:2]


def test_incoming_stock_backorders_and_the_buyers_report_under_faults(sandbox, resources):
    world, bp_root, nop_root = sandbox.world, sandbox.urls.brightpearl_root, sandbox.urls.nopcommerce_root
    sku_a, sku_b = two_skus(world)
    delivery = (datetime.now(UTC) + timedelta(days=7)).replace(hour=0, minute=0, second=0, microsecond=0)
    po = control(bp_root, "purchase-orders", {"warehouse_id": 1, "delivery_date": delivery.isoformat(), "ref": "PO-TEST",
                                              "rows": [{"sku": sku_a, "quantity": 10}, {"sku": sku_b, "quantity": 6}]})
    control(bp_root, f"orders/{po['order_id']}/receive", {"rows": [{"row_id": po["row_ids"][0], "quantity": 4}]})
    product_b = world.nopcommerce.product_by_sku(sku_b)
    control(nop_root, f"products/{product_b['id']}/admin-edit", {"changes": {"stock_quantity": 0}})
    original = {k: product_b[k] for k in ("backorder_mode_id", "available_for_pre_order", "pre_order_availability_start_date_time_utc")}
    requests.put(f"{bp_root}/__sandbox__/faults", json={"rules": [
        {"method": "GET", "path": "/warehouse-service/order/*/goods-note/goods-in*", "error_rate": 1.0, "error_status": 503, "max_hits": 1}]},
                 timeout=10).raise_for_status()
    requests.put(f"{nop_root}/__sandbox__/faults", json={"rules": [
        {"method": "PUT", "path": "/Product/Update", "error_rate": 1.0, "error_status": 500, "max_hits": 1}]}, timeout=10).raise_for_status()

    with dg.instance_for_test() as instance:
        result = dg.materialize([incoming_stock, backorders_from_brightpearl, buyers_report_asset], resources=resources, instance=instance)
        assert result.success
        frame = result.output_for_node("brightpearl__incoming_stock")
        got = {(int(r.product_id), int(r.warehouse_id)): int(r.on_order) for r in frame.itertuples()}
        assert got == expected_incoming(world)
        pid_a, pid_b = (world.brightpearl.sku_to_product_id()[s] for s in (sku_a, sku_b))
        row_b = frame[(frame["product_id"] == pid_b) & (frame["warehouse_id"] == 1)].iloc[0]
        assert row_b["next_delivery"].date() <= delivery.date() and "PO-TEST" in row_b["purchase_orders"]
        assert got[(pid_a, 1)] >= 10 - 4

        # Out of stock in the shop and on order: back-orders allowed, pre-order from the next delivery.
        shop_b = world.nopcommerce.products[product_b["id"]]
        assert shop_b["backorder_mode_id"] == 1 and shop_b["available_for_pre_order"] is True
        assert shop_b["pre_order_availability_start_date_time_utc"].date() == row_b["next_delivery"].date()
        assert shop_b["name"] == product_b["name"] and shop_b["price"] == product_b["price"]  # the rest written back as read

        buyers = result.output_for_node("reconciliation__buyers_report").set_index("sku")
        assert buyers.loc[sku_b, "on_order"] == sum(n for (p, w), n in got.items() if p == pid_b and w in (1, 3))

        # Everything received and the shop in stock again: the original settings are put back.
        for order in [o for o in world.brightpearl.orders.values() if o.type_code == "PO" and any(
                r.product_id == pid_b for r in o.rows.values())]:
            if expected_incoming(world).get((pid_b, order.warehouse_id)):
                requests.post(f"{bp_root}/__sandbox__/orders/{order.id}/receive", json={}, timeout=30)
        control(nop_root, f"products/{product_b['id']}/admin-edit", {"changes": {"stock_quantity": 5}})
        assert dg.materialize([incoming_stock, backorders_from_brightpearl], resources=resources, instance=instance).success
        shop_b = world.nopcommerce.products[product_b["id"]]
        assert {k: shop_b[k] for k in original} == original
