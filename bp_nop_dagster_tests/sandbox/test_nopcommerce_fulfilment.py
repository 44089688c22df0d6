"""nopCommerce simulator: shipments, shipment items, OrderProcessing state changes, return requests."""

from __future__ import annotations

from bp_nop_dagster_tests.sandbox.test_nopcommerce_support import Nop, nop  # noqa: F401


def _two_line_order(nop: Nop, **fields) -> tuple[dict, list[dict]]:  # noqa: ANN003
    nop.product("A", price=10, stock_quantity=20)
    nop.product("B", price=5, stock_quantity=20)
    order = nop.order([("A", 2), ("B", 1)], **fields)
    return order, nop.ok("GET", f"/OrderItem/GetOrderItems/{order['id']}")


def _shipment(nop: Nop, order_id: int, lines: list[tuple[int, int]], tracking: str = "TRK") -> dict:
    shipment = nop.ok("POST", "/Shipment/Create", json={"order_id": order_id, "tracking_number": tracking})
    for order_item_id, quantity in lines:
        nop.ok("POST", "/ShipmentItem/Create", json={"shipment_id": shipment["id"], "order_item_id": order_item_id,
                                                     "quantity": quantity, "warehouse_id": 0})
    return shipment


def test_shipment_crud_and_items(nop: Nop) -> None:
    order, items = _two_line_order(nop)
    shipment = nop.ok("POST", "/Shipment/Create", json={"order_id": order["id"], "tracking_number": "TRK-1", "total_weight": 1.5})
    assert shipment["id"] > 0 and shipment["shipped_date_utc"] is None and shipment["created_on_utc"]
    assert set(shipment) == {"id", "order_id", "tracking_number", "total_weight", "shipped_date_utc", "delivery_date_utc",
                             "ready_for_pickup_date_utc", "admin_comment", "created_on_utc"}
    item = nop.ok("POST", "/ShipmentItem/Create", json={"shipment_id": shipment["id"], "order_item_id": items[0]["id"], "quantity": 2, "warehouse_id": 0})
    assert item["id"] > 0 and item["quantity"] == 2
    response = nop.call("POST", "/ShipmentItem/Create", json={"shipment_id": shipment["id"], "order_item_id": items[0]["id"], "quantity": 1, "warehouse_id": 0})
    assert response.status_code == 400 and "left to ship" in response.json()["message"]
    assert nop.ok("GET", f"/ShipmentItem/GetByShipmentId/{shipment['id']}") == [item]
    assert nop.ok("GET", f"/ShipmentItem/GetById/{item['id']}") == item
    assert nop.ok("GET", f"/Shipment/GetById/{shipment['id']}") == shipment
    assert [s["id"] for s in nop.ok("GET", f"/Shipment/GetByIds/{shipment['id']};999")] == [shipment["id"]]
    assert [s["id"] for s in nop.ok("GET", f"/Shipment/GetByOrderId/{order['id']}")] == [shipment["id"]]
    # full replace: omitted fields reset
    assert nop.call("PUT", "/Shipment/Update", json={"id": shipment["id"], "order_id": order["id"], "tracking_number": "TRK-2"}).status_code == 200
    updated = nop.ok("GET", f"/Shipment/GetById/{shipment['id']}")
    assert updated["tracking_number"] == "TRK-2" and updated["total_weight"] is None and updated["created_on_utc"] == "0001-01-01T00:00:00"
    assert nop.call("DELETE", f"/ShipmentItem/Delete/{item['id']}").status_code == 200
    assert nop.ok("GET", f"/ShipmentItem/GetByShipmentId/{shipment['id']}") == []
    assert nop.call("DELETE", f"/Shipment/Delete/{shipment['id']}").status_code == 200
    assert nop.get(f"/Shipment/GetById/{shipment['id']}").json() == f"Shipment Id={shipment['id']} not found"


def test_shipment_get_all_filters_and_paging(nop: Nop) -> None:
    order, items = _two_line_order(nop)
    first = _shipment(nop, order["id"], [(items[0]["id"], 1)], "AAA-1")
    second = _shipment(nop, order["id"], [(items[0]["id"], 1)], "BBB-2")
    nop.ok("GET", f"/OrderProcessing/Ship/{first['id']}")
    page = nop.ok("GET", "/Shipment/GetAll", params={"pageIndex": 0, "pageSize": 1})
    assert page["total_count"] == 2 and page["has_next_page"] is True and page["items"][0]["id"] == second["id"]  # newest first
    assert [s["id"] for s in nop.ok("GET", "/Shipment/GetAll", params={"loadNotShipped": "true"})["items"]] == [second["id"]]
    assert [s["id"] for s in nop.ok("GET", "/Shipment/GetAll", params={"trackingNumber": "AAA"})["items"]] == [first["id"]]
    assert nop.ok("GET", "/Shipment/GetAll", params={"orderId": order["id"], "loadNotDelivered": "true"})["total_count"] == 2
    assert nop.ok("GET", "/Shipment/GetAll", params={"createdFromUtc": "2099-01-01T00:00:00"})["total_count"] == 0
    shipped = nop.ok("GET", f"/Shipment/GetByOrderId/{order['id']}", params={"shipped": "true"})
    assert [s["id"] for s in shipped] == [first["id"]]


def test_ship_deliver_and_order_statuses(nop: Nop) -> None:
    order, items = _two_line_order(nop, paid=True)
    first = _shipment(nop, order["id"], [(items[0]["id"], 2)])
    assert nop.ok("GET", f"/OrderProcessing/CanShip/{first['id']}") is True
    response = nop.call("GET", f"/OrderProcessing/Deliver/{first['id']}")
    assert response.status_code == 400 and response.json()["message"] == "This shipment is not shipped yet"
    response = nop.call("GET", f"/OrderProcessing/Ship/{first['id']}", params={"notifyCustomer": "true"})
    assert response.status_code == 200 and response.content == b""
    assert nop.ok("GET", f"/Shipment/GetById/{first['id']}")["shipped_date_utc"] is not None
    assert nop.ok("GET", f"/Order/GetById/{order['id']}")["shipping_status_id"] == 25  # partially shipped
    again = nop.call("GET", f"/OrderProcessing/Ship/{first['id']}")
    assert again.status_code == 400
    assert again.json() == {"message": "This shipment is already shipped", "inner_exception_message": None, "stack_trace": ""}
    second = _shipment(nop, order["id"], [(items[1]["id"], 1)])
    nop.ok("GET", f"/OrderProcessing/Ship/{second['id']}")
    after_ship = nop.ok("GET", f"/Order/GetById/{order['id']}")
    assert (after_ship["shipping_status_id"], after_ship["order_status_id"]) == (30, 20)
    nop.ok("GET", f"/OrderProcessing/Deliver/{first['id']}")
    assert nop.ok("GET", f"/Order/GetById/{order['id']}")["shipping_status_id"] == 30  # one shipment still undelivered
    nop.ok("GET", f"/OrderProcessing/Deliver/{second['id']}")
    delivered = nop.ok("GET", f"/Order/GetById/{order['id']}")
    assert (delivered["shipping_status_id"], delivered["order_status_id"]) == (40, 30)  # paid and delivered: complete
    assert nop.ok("GET", f"/Shipment/GetById/{second['id']}")["delivery_date_utc"] is not None
    stats = nop.controlled("GET", "/stats")["requests"]
    assert stats["GET /OrderProcessing/Ship/{shipmentId}"] == 3 and stats["GET /OrderProcessing/Deliver/{shipmentId}"] == 3


def test_mark_order_as_paid(nop: Nop) -> None:
    order, _ = _two_line_order(nop, payment_method_system_name="Payments.CheckMoneyOrder")
    assert nop.ok("GET", f"/OrderProcessing/CanMarkOrderAsPaid/{order['id']}") is True
    response = nop.call("GET", f"/OrderProcessing/MarkOrderAsPaid/{order['id']}")
    assert response.status_code == 200 and response.content == b""
    paid = nop.ok("GET", f"/Order/GetById/{order['id']}")
    assert (paid["payment_status_id"], paid["order_status_id"]) == (30, 20) and paid["paid_date_utc"] is not None
    assert nop.ok("GET", f"/OrderProcessing/CanMarkOrderAsPaid/{order['id']}") is False
    assert nop.get(f"/OrderProcessing/MarkOrderAsPaid/{order['id']}").status_code == 400
    assert nop.get("/OrderProcessing/MarkOrderAsPaid/999").json() == "Order Id=999 not found"
    assert nop.get("/OrderProcessing/MarkOrderAsPaid/0").status_code == 400


def test_multi_warehouse_ship_books_reserved_stock(nop: Nop) -> None:
    warehouse = nop.warehouse("Main")
    product = nop.product("MW", price=10, use_multiple_warehouses=True, warehouse_id=warehouse, warehouse_stock={str(warehouse): 10})
    order = nop.order([("MW", 3)])
    record = nop.ok("GET", f"/ProductWarehouse/GetAllProductWarehouseInventoryRecords/{product['id']}")[0]
    assert (record["stock_quantity"], record["reserved_quantity"]) == (10, 3)
    item = nop.ok("GET", f"/OrderItem/GetOrderItems/{order['id']}")[0]
    shipment = nop.ok("POST", "/Shipment/Create", json={"order_id": order["id"]})
    nop.ok("POST", "/ShipmentItem/Create", json={"shipment_id": shipment["id"], "order_item_id": item["id"], "quantity": 3, "warehouse_id": warehouse})
    nop.ok("GET", f"/OrderProcessing/Ship/{shipment['id']}")
    record = nop.ok("GET", f"/ProductWarehouse/GetById/{record['id']}")
    assert (record["stock_quantity"], record["reserved_quantity"]) == (7, 0)


def test_return_requests(nop: Nop) -> None:
    order, items = _two_line_order(nop)
    via_control = nop.controlled("POST", "/return-requests", {"order_id": order["id"], "quantity": 1, "reason": "Damaged", "action": "Refund"})
    created = nop.ok("POST", "/ReturnRequest/Create", json={
        "store_id": 1, "order_item_id": items[1]["id"], "customer_id": order["customer_id"], "quantity": 1,
        "reason_for_return": "Wrong size", "requested_action": "Replacement", "return_request_status_id": 10,
    })
    assert created["id"] > via_control["id"] and created["custom_number"] == str(created["id"])
    for field in ("custom_number", "store_id", "order_item_id", "customer_id", "quantity", "returned_quantity", "reason_for_return",
                  "requested_action", "customer_comments", "staff_notes", "return_request_status_id", "created_on_utc", "updated_on_utc"):
        assert field in created
    assert nop.ok("GET", f"/ReturnRequest/GetById/{via_control['id']}") == via_control
    ids = lambda **params: [r["id"] for r in nop.ok("GET", "/ReturnRequest/Search", params=params)["items"]]  # noqa: E731
    assert ids() == [created["id"], via_control["id"]]
    assert ids(rs="Received") == [created["id"]]
    assert ids(rs="0") == [via_control["id"]]
    assert ids(rs="pending") == [via_control["id"]]
    assert ids(orderItemId=items[1]["id"]) == [created["id"]]
    assert ids(createdToUtc="2000-01-01T00:00:00") == []
    assert nop.get("/ReturnRequest/Search", rs="Exploded").status_code == 400
    page = nop.ok("GET", "/ReturnRequest/Search", params={"pageSize": 1, "getOnlyTotalCount": "true"})
    assert page["total_count"] == 2 and page["items"] == []
    assert nop.call("PUT", "/ReturnRequest/Update", json={"id": via_control["id"], "order_item_id": items[0]["id"],
                                                          "return_request_status_id": 40, "quantity": 1}).status_code == 200
    updated = nop.ok("GET", f"/ReturnRequest/GetById/{via_control['id']}")
    assert updated["return_request_status_id"] == 40 and updated["reason_for_return"] is None  # full replace
