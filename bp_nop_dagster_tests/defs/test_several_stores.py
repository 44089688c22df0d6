"""Several nopCommerce stores through Dagster against the sandbox (mapping `stores:`): an order
takes its store's channel and warehouse, an order of a store the mapping does not list is
dead-lettered (`unknown_store`), never guessed; a product limited to one store gets that store's
warehouses and buffer from the stock flow, one limited to an unlisted store is reported and not
written. Expected values follow the mapping the test writes and the stock formula of
mapping/stock.py (target = max(0, on hand of the counted warehouses - in flight - buffer))."""

from __future__ import annotations

import dagster as dg
import pytest
import requests
import yaml

from bp_nop_dagster.defs.reconciliation.stock_drift import stock_drift
from bp_nop_dagster.defs.stock.assets import stock_from_brightpearl
from bp_nop_dagster.defs.sync_settings import OrderFlowKnobs, SyncSettings
from bp_nop_dagster.mapping.config import DEFAULT_MAPPING_FILE
from bp_nop_dagster_tests.defs.test_order_flow import ADDRESS, Flow, linked_orders
from bp_nop_dagster_tests.stock_actions import move_stock


def mapping_file(tmp_path, stores: dict) -> str:
    data = yaml.safe_load(DEFAULT_MAPPING_FILE.read_text())
    data["stores"] = stores
    path = tmp_path / "stores.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


def test_orders_take_their_store_channel_and_warehouse_and_an_unknown_store_is_dead_lettered(sandbox, tmp_path, monkeypatch,
                                                                                             instance):
    monkeypatch.setenv("BP_NOP_REPORTS_DIR", str(tmp_path / "reports"))
    flow = Flow(sandbox, tmp_path)
    stores = {1: {"channel_id": 3, "price_list_id": 2, "warehouse_id": 3}}  # the Outlet store (2) is not listed
    flow.resources["sync_settings"] = SyncSettings(mapping_file=mapping_file(tmp_path, stores),
                                                   orders=OrderFlowKnobs(intent_lease_seconds=1.0))
    placed = {}
    for store_id in (1, 2):
        body = {"email": f"store{store_id}@flow.test", "first_name": "Ada", "last_name": "Store", "address": ADDRESS,
                "items": [{"sku": "BPN-00001", "quantity": 1}], "paid": True, "store_id": store_id}
        response = requests.post(f"{flow.nop_root}/__sandbox__/orders", json=body, timeout=10)
        assert response.status_code == 201, response.text
        placed[store_id] = response.json()["id"]
    flow.tick(instance)
    flow.sync(instance)
    links = linked_orders(flow)
    order = flow.world.brightpearl.orders[links[str(placed[1])]]
    assert (order.channel_id, order.warehouse_id) == (3, 3)  # store 1's, not the top-level channel 1 / warehouse 1
    assert str(placed[2]) not in links
    letters = [d for d in flow.resources["ledger"].get_ledger().dead_letters() if d.nop_key == str(placed[2])]
    assert [d.reason for d in letters] == ["unknown_store"] and "store 2" in letters[0].message


def test_the_stock_flow_uses_the_store_warehouses_and_buffer_and_reports_an_unlisted_store(sandbox, tmp_path, monkeypatch,
                                                                                          instance):
    monkeypatch.setenv("BP_NOP_REPORTS_DIR", str(tmp_path / "reports"))
    flow = Flow(sandbox, tmp_path)
    outlet_stock = {"brightpearl_warehouses": [1], "buffer": 2}
    stores = {1: {"channel_id": 1, "price_list_id": 2, "warehouse_id": 1},
              2: {"channel_id": 2, "price_list_id": 2, "warehouse_id": 1, "stock": outlet_stock}}
    flow.resources["sync_settings"] = SyncSettings(mapping_file=mapping_file(tmp_path, stores))
    nop, bp = flow.world.nopcommerce, flow.world.brightpearl
    tracked = {p.sku for p in bp.products.values() if p.stock_tracked}
    outlet, elsewhere, web = sorted(p["sku"] for p in nop.products.values() if p["sku"] in tracked and p["manage_inventory_method_id"] == 1
                                    and not p["use_multiple_warehouses"] and p["sku"] != "BPN-00011")[:3]
    third = requests.post(f"{flow.nop_root}/__sandbox__/stores", json={"name": "Pop-up"}, timeout=10).json()["id"]
    for sku, store_ids in ((outlet, [2]), (elsewhere, [third]), (web, [1])):
        product = nop.product_by_sku(sku)
        nop.update_product_store_mappings(product, store_ids)
        product["limited_to_stores"] = True
    for sku in (outlet, elsewhere, web):
        move_stock(flow.bp_root, sku, 1, 20)
        move_stock(flow.bp_root, sku, 3, 7)
    before = nop.product_by_sku(elsewhere)["stock_quantity"]
    result = dg.materialize([stock_from_brightpearl, stock_drift], resources=flow.resources, instance=instance)
    assert result.success
    pid = bp.sku_to_product_id()
    on_hand = {sku: {w: bp.on_hand(pid[sku], w) for w in (1, 3)} for sku in (outlet, elsewhere, web)}
    frame = result.output_for_node("reconciliation__stock_drift")
    flying = {sku: int(frame[frame["sku"] == sku]["in_flight"].fillna(0).sum()) for sku in (outlet, web)}
    # Outlet: only warehouse 1 counts, 2 units held back; the web store: warehouses 1 and 3, no buffer.
    assert nop.product_by_sku(outlet)["stock_quantity"] == max(0, on_hand[outlet][1] - flying[outlet] - 2)
    assert nop.product_by_sku(web)["stock_quantity"] == max(0, on_hand[web][1] + on_hand[web][3] - flying[web])
    assert nop.product_by_sku(elsewhere)["stock_quantity"] == before  # not written: its store is not in the mapping
    assert frame[frame["sku"] == elsewhere]["verdict"].tolist() == ["unmapped_store"]
    assert result.asset_materializations_for_node("reconciliation__stock_drift")[0].metadata["unexplained_differences"].value == 0
