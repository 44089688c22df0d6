"""nopCommerce simulator: products, full-replace update, inventory methods, warehouses, combinations.

Sources: the Web API Backend plugin 4.70.1 ProductController / ProductWarehouseInventory and
ProductAttributeCombination actions (webapi-contract.json), core ProductService (inventory
methods, AdjustInventory) as cited in the nopcommerce-api notes; Facts in sandbox/nopcommerce/fidelity.py."""

from __future__ import annotations

import json

from bp_nop_dagster_tests.sandbox.test_nopcommerce_support import Nop, nop  # noqa: F401

SIZE_M = '<Attributes><ProductAttribute ID="1"><ProductAttributeValue><Value>2</Value></ProductAttributeValue></ProductAttribute></Attributes>'
SIZE_L = '<Attributes><ProductAttribute ID="1"><ProductAttributeValue><Value>3</Value></ProductAttributeValue></ProductAttribute></Attributes>'


def adjust(nop: Nop, product_id: int, change: int, attributes_xml: str = "", message: str = "ERP") -> None:
    response = nop.call("POST", f"/Product/AdjustInventory/{product_id}", params={"quantityToChange": change, "message": message},
                        data=json.dumps(attributes_xml), headers={"Content-Type": "application/json"})
    assert response.status_code == 200 and response.content == b"", response.text


def test_product_get_all_paging_and_filters(nop: Nop) -> None:
    """FIDELITY 'GET /Product/GetAll' (WAPI ProductController.cs GetAll; CORE
    ProductService.SearchProductsAsync: keywords in name and SKU unless searchSku=false, unpublished only with
    showHidden) and '0-based paging'."""
    ids = [nop.product(f"SKU-{n}", name=f"Blue Mug {n}" if n % 2 else f"Red Plate {n}", price=5)["id"] for n in range(1, 6)]
    hidden = nop.product("HIDDEN", name="Secret", price=1, published=False)["id"]
    page = nop.ok("GET", "/Product/GetAll", params={"pageIndex": 1, "pageSize": 2})
    assert page["total_count"] == 5 and page["total_pages"] == 3 and [p["id"] for p in page["items"]] == ids[2:4]
    assert nop.ok("GET", "/Product/GetAll", params={"showHidden": "true"})["total_count"] == 6
    assert [p["id"] for p in nop.ok("GET", "/Product/GetAll", params={"keywords": "mug"})["items"]] == [ids[0], ids[2], ids[4]]
    assert [p["id"] for p in nop.ok("GET", "/Product/GetAll", params={"keywords": "sku-2"})["items"]] == [ids[1]]
    assert nop.ok("GET", "/Product/GetAll", params={"keywords": "sku-2", "searchSku": "false"})["total_count"] == 0
    nop.ok("DELETE", f"/Product/Delete/{ids[0]}")
    assert nop.ok("GET", "/Product/GetAll")["total_count"] == 4
    assert nop.ok("GET", f"/Product/GetById/{ids[0]}")["deleted"] is True
    assert nop.ok("GET", f"/Product/GetById/{hidden}")["published"] is False


def test_product_dto_and_sku_lookups(nop: Nop) -> None:
    """CONTRACT webapi-contract.json ProductDto properties; FIDELITY 'GET /Product/GetProductsBySku' and 'text
    comparisons' (SKU lookups case-insensitive)."""
    a = nop.product("ABC-1", name="Alpha", price="12.34", tax_category_id=2, stock_quantity=7)
    b = nop.product("ABC-2", name="Beta", price=3)
    for field in ("id", "product_type_id", "name", "sku", "manufacturer_part_number", "gtin", "manage_inventory_method_id",
                  "use_multiple_warehouses", "warehouse_id", "stock_quantity", "min_stock_quantity", "low_stock_activity_id",
                  "backorder_mode_id", "price", "old_price", "product_cost", "tax_category_id", "published", "deleted",
                  "created_on_utc", "updated_on_utc", "display_order"):
        assert field in a, field
    assert (a["price"], a["tax_category_id"], a["stock_quantity"], a["product_type_id"]) == (12.34, 2, 7, 5)
    assert nop.ok("GET", "/Product/GetProductBySku", params={"sku": " abc-1 "})["id"] == a["id"]  # trimmed, case-insensitive
    assert nop.get("/Product/GetProductBySku", sku="missing").status_code == 404
    by_sku = nop.ok("GET", "/Product/GetProductsBySku", params={"skuArray": "ABC-1;abc-2;none"})
    assert [p["id"] for p in by_sku] == [a["id"], b["id"]]
    assert [p["id"] for p in nop.ok("GET", f"/Product/GetProductsByIds/{b['id']};{a['id']}")] == [b["id"], a["id"]]


def test_product_update_is_full_replace(nop: Nop) -> None:
    product = nop.product("FULL-1", name="Full", price=10, stock_quantity=25)
    body = {"id": product["id"], "name": "Renamed", "sku": "FULL-1", "price": 11, "manage_inventory_method_id": 1, "published": True}
    response = nop.call("PUT", "/Product/Update", json=body)
    assert response.status_code == 200 and response.content == b""
    updated = nop.ok("GET", f"/Product/GetById/{product['id']}")
    assert updated["name"] == "Renamed" and updated["price"] == 11
    assert updated["stock_quantity"] == 0  # omitted -> reset: the documented pitfall
    # WAPI ProductController.Update maps the body onto a new Product (model.FromDto<Product>()) and
    # stores it: omitted DateTimes are DateTime.MinValue, nothing is stamped.
    assert updated["tax_category_id"] == 0 and updated["created_on_utc"] == "0001-01-01T00:00:00"
    assert updated["updated_on_utc"] == "0001-01-01T00:00:00"
    assert nop.ok("GET", f"/Product/GetStockQuantityHistory/{product['id']}")["total_count"] == 0  # Update writes no history
    keep = dict(updated, stock_quantity=9)
    nop.ok("PUT", "/Product/Update", json=keep)
    assert nop.ok("GET", f"/Product/GetById/{product['id']}")["stock_quantity"] == 9
    assert nop.call("PUT", "/Product/Update", json={"id": 999}).status_code == 404


def test_adjust_inventory_simple_and_untracked(nop: Nop) -> None:
    """FIDELITY 'inventory' and 'POST /Product/AdjustInventory/{productId}' (CORE
    ProductService.AdjustInventoryAsync: method 1 adjusts stock_quantity with a history entry, method 0 changes
    nothing)."""
    simple = nop.product("S-1", price=10, stock_quantity=10)
    untracked = nop.product("U-1", price=10, stock_quantity=4, manage_inventory_method_id=0)
    adjust(nop, simple["id"], -3, message="sold elsewhere")
    adjust(nop, untracked["id"], -3)
    assert nop.ok("GET", f"/Product/GetById/{simple['id']}")["stock_quantity"] == 7
    assert nop.ok("GET", f"/Product/GetById/{untracked['id']}")["stock_quantity"] == 4
    assert nop.ok("GET", f"/Product/GetTotalStockQuantity/{untracked['id']}") == 0
    history = nop.ok("GET", f"/Product/GetStockQuantityHistory/{simple['id']}")
    assert history["total_count"] == 1
    entry = history["items"][0]
    assert (entry["quantity_adjustment"], entry["stock_quantity"], entry["message"]) == (-3, 7, "sold elsewhere")
    assert nop.ok("GET", f"/Product/GetById/{simple['id']}")["updated_on_utc"] >= simple["updated_on_utc"]
    # an empty body reads as "" (simple product); a non-string body is refused
    response = nop.call("POST", f"/Product/AdjustInventory/{simple['id']}", params={"quantityToChange": 2})
    assert response.status_code == 200
    assert nop.ok("GET", f"/Product/GetTotalStockQuantity/{simple['id']}") == 9
    response = nop.call("POST", f"/Product/AdjustInventory/{simple['id']}", params={"quantityToChange": 2}, json={"xml": ""})
    assert response.status_code == 400 and response.json()["status"] == 400
    response = nop.call("POST", f"/Product/AdjustInventory/{simple['id']}", params={"quantityToChange": "lots"}, json="")
    assert response.status_code == 400 and "quantityToChange" in response.json()["errors"]
    assert nop.call("POST", "/Product/AdjustInventory/999", params={"quantityToChange": 1}, json="").status_code == 404


def test_adjust_inventory_multiple_warehouses(nop: Nop) -> None:
    """FIDELITY 'inventory' and 'POST /Product/AdjustInventory/{productId}' (CORE
    ProductService.AdjustInventoryAsync: multi-warehouse reserve, most available first) and 'GET
    /Product/GetTotalStockQuantity/{productId}'."""
    w1, w2 = nop.warehouse("North"), nop.warehouse("South")
    assert [w["name"] for w in nop.ok("GET", "/Warehouse/GetAll")] == ["North", "South"]
    product = nop.product("MW-1", price=10, use_multiple_warehouses=True, warehouse_id=w1, warehouse_stock={str(w1): 5, str(w2): 8})
    pid = product["id"]
    assert nop.ok("GET", f"/Product/GetTotalStockQuantity/{pid}") == 13
    adjust(nop, pid, -10)  # reserves, most available first: 8 from South, then 2 from North
    records = {r["warehouse_id"]: r for r in nop.ok("GET", f"/ProductWarehouse/GetAllProductWarehouseInventoryRecords/{pid}")}
    assert (records[w2]["stock_quantity"], records[w2]["reserved_quantity"]) == (8, 8)
    assert (records[w1]["stock_quantity"], records[w1]["reserved_quantity"]) == (5, 2)
    assert nop.ok("GET", f"/Product/GetTotalStockQuantity/{pid}") == 3
    assert nop.ok("GET", f"/Product/GetTotalStockQuantity/{pid}", params={"useReservedQuantity": "false"}) == 13
    assert nop.ok("GET", f"/Product/GetById/{pid}")["stock_quantity"] == 0  # the product's own value is not used
    adjust(nop, pid, 12)  # unblocks the 10 reserved, then adds 2 to stock
    records = nop.ok("GET", f"/ProductWarehouse/GetAllProductWarehouseInventoryRecords/{pid}")
    assert sum(r["reserved_quantity"] for r in records) == 0 and sum(r["stock_quantity"] for r in records) == 15
    history = nop.ok("GET", f"/Product/GetStockQuantityHistory/{pid}")["items"]
    assert {h["warehouse_id"] for h in history} == {w1, w2}


def test_product_warehouse_crud(nop: Nop) -> None:
    """FIDELITY 'POST /ProductWarehouse/Create', 'PUT /ProductWarehouse/Update' (WAPI
    ProductWarehouseController.cs: plain insert, full replace, 404 texts) and 'GET
    /Product/GetTotalStockQuantity/{productId}' (stock - reserved)."""
    w1 = nop.warehouse("Main")
    product = nop.product("PW-1", price=10, use_multiple_warehouses=True, warehouse_id=w1)
    created = nop.ok("POST", "/ProductWarehouse/Create", json={"product_id": product["id"], "warehouse_id": w1, "stock_quantity": 6, "reserved_quantity": 1})
    assert created["id"] > 0 and created["stock_quantity"] == 6
    assert nop.ok("GET", f"/ProductWarehouse/GetById/{created['id']}") == created
    assert nop.call("PUT", "/ProductWarehouse/Update", json=dict(created, stock_quantity=20)).status_code == 200
    assert nop.ok("GET", f"/Product/GetTotalStockQuantity/{product['id']}") == 19
    assert nop.call("DELETE", f"/ProductWarehouse/Delete/{created['id']}").status_code == 200
    assert nop.ok("GET", f"/ProductWarehouse/GetAllProductWarehouseInventoryRecords/{product['id']}") == []
    assert nop.get(f"/ProductWarehouse/GetById/{created['id']}").status_code == 404


def test_adjust_inventory_by_attribute_combinations(nop: Nop) -> None:
    """FIDELITY 'inventory' (CORE ProductService.AdjustInventoryAsync: manage_inventory_method_id 2 adjusts the
    combination's stock, the product's is ignored; stock history written)."""
    product = nop.product("TEE", price=15, manage_inventory_method_id=2, stock_quantity=99, combinations=[
        {"sku": "TEE-M", "attributes_xml": SIZE_M, "stock_quantity": 4},
        {"sku": "TEE-L", "attributes_xml": SIZE_L, "stock_quantity": 6},
    ])
    adjust(nop, product["id"], -3, SIZE_L)
    combos = {c["sku"]: c for c in nop.ok("GET", f"/ProductAttributeCombination/GetAll/{product['id']}")}
    assert (combos["TEE-M"]["stock_quantity"], combos["TEE-L"]["stock_quantity"]) == (4, 3)
    assert nop.ok("GET", f"/Product/GetById/{product['id']}")["stock_quantity"] == 99  # ignored for method 2
    history = nop.ok("GET", f"/Product/GetStockQuantityHistory/{product['id']}")["items"]
    assert history[0]["combination_id"] == combos["TEE-L"]["id"] and history[0]["stock_quantity"] == 3
    by_sku = nop.ok("GET", "/ProductAttributeCombination/GetBySku", params={"sku": "TEE-M"})
    assert by_sku["id"] == combos["TEE-M"]["id"]
    assert nop.call("PUT", "/ProductAttributeCombination/Update", json=dict(by_sku, stock_quantity=12)).status_code == 200
    assert nop.ok("GET", "/ProductAttributeCombination/GetBySku", params={"sku": "tee-m"})["stock_quantity"] == 12
    # ordering a combination SKU decrements that combination
    order = nop.order([("TEE-M", 2)])
    item = nop.ok("GET", f"/OrderItem/GetOrderItems/{order['id']}")[0]
    assert item["product_id"] == product["id"] and item["attributes_xml"] == SIZE_M
    assert nop.ok("GET", "/ProductAttributeCombination/GetBySku", params={"sku": "TEE-M"})["stock_quantity"] == 10


def test_orders_decrement_and_cancel_restocks(nop: Nop) -> None:
    product = nop.product("STK-1", price=10, stock_quantity=10)
    order = nop.order([("STK-1", 4)])
    assert nop.ok("GET", f"/Product/GetById/{product['id']}")["stock_quantity"] == 6
    nop.ok("DELETE", f"/Order/Delete/{order['id']}")  # soft delete: no restock
    assert nop.ok("GET", f"/Product/GetById/{product['id']}")["stock_quantity"] == 6
    second = nop.order([("STK-1", 1)])
    assert nop.ok("GET", f"/OrderProcessing/CanCancelOrder/{second['id']}") is True
    response = nop.call("GET", f"/OrderProcessing/CancelOrder/{second['id']}", params={"notifyCustomer": "false"})
    assert response.status_code == 200 and response.content == b""
    assert nop.ok("GET", f"/Order/GetById/{second['id']}")["order_status_id"] == 40
    assert nop.ok("GET", f"/Product/GetById/{product['id']}")["stock_quantity"] == 6
    assert nop.ok("GET", f"/OrderProcessing/CanCancelOrder/{second['id']}") is False
    # CORE OrderProcessingService.CancelOrderAsync: `throw new NopException("Cannot do cancel for order.")`,
    # which ErrorHandlerMiddleware answers 400.
    response = nop.get(f"/OrderProcessing/CancelOrder/{second['id']}", notifyCustomer="false")
    assert response.status_code == 400
    assert response.json() == {"message": "Cannot do cancel for order.", "inner_exception_message": None, "stack_trace": ""}
