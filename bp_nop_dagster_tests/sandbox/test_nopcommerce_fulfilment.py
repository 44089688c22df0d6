"""nopCommerce simulator: shipments, shipment items, OrderProcessing state changes, return requests.

Sources: the Web API Backend plugin 4.70.1 Shipment, ShipmentItem and OrderProcessing actions
(webapi-contract.json: Create is a plain insert, Ship/Deliver in the wrong state answer 500, per
the nopcommerce-api notes' corrections), core OrderProcessingService; Facts in
sandbox/nopcommerce/fidelity.py."""

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


SHIP, DELIVER = "/OrderProcessing/Ship/%d", "/OrderProcessing/Deliver/%d"
NOTIFY = {"notifyCustomer": "false"}


def test_shipment_crud_and_items(nop: Nop) -> None:
    order, items = _two_line_order(nop)
    shipment = nop.ok("POST", "/Shipment/Create", json={"order_id": order["id"], "tracking_number": "TRK-1", "total_weight": 1.5,
                                                        "created_on_utc": "2026-05-01T08:00:00"})
    assert shipment["id"] > 0 and shipment["shipped_date_utc"] is None and shipment["created_on_utc"] == "2026-05-01T08:00:00"
    assert set(shipment) == {"id", "order_id", "tracking_number", "total_weight", "shipped_date_utc", "delivery_date_utc",
                             "ready_for_pickup_date_utc", "admin_comment", "created_on_utc"}
    item = nop.ok("POST", "/ShipmentItem/Create", json={"shipment_id": shipment["id"], "order_item_id": items[0]["id"], "quantity": 2, "warehouse_id": 0})
    assert item["id"] > 0 and item["quantity"] == 2
    assert nop.ok("GET", f"/ShipmentItem/GetByShipmentId/{shipment['id']}") == [item]
    assert nop.ok("GET", f"/ShipmentItem/GetById/{item['id']}") == item
    assert nop.ok("GET", f"/Shipment/GetById/{shipment['id']}") == shipment
    assert [s["id"] for s in nop.ok("GET", f"/Shipment/GetByIds/{shipment['id']};999;x")] == [shipment["id"]]
    assert [s["id"] for s in nop.ok("GET", f"/Shipment/GetByOrderId/{order['id']}")] == [shipment["id"]]
    # full replace: omitted fields reset
    assert nop.call("PUT", "/Shipment/Update", json={"id": shipment["id"], "order_id": order["id"], "tracking_number": "TRK-2"}).status_code == 200
    updated = nop.ok("GET", f"/Shipment/GetById/{shipment['id']}")
    assert updated["tracking_number"] == "TRK-2" and updated["total_weight"] is None and updated["created_on_utc"] == "0001-01-01T00:00:00"
    assert nop.call("PUT", "/Shipment/Update", json={"id": 999}).json() == "Shipment is not found"  # WAPI ShipmentController.Update
    assert nop.call("DELETE", f"/ShipmentItem/Delete/{item['id']}").status_code == 200
    assert nop.ok("GET", f"/ShipmentItem/GetByShipmentId/{shipment['id']}") == []
    assert nop.call("DELETE", f"/Shipment/Delete/{shipment['id']}").status_code == 200
    assert nop.get(f"/Shipment/GetById/{shipment['id']}").json() == f"Shipment Id={shipment['id']} not found"


def test_shipment_create_is_a_plain_insert(nop: Nop) -> None:
    """WAPI ShipmentController.Create: `model.FromDto<Shipment>()` then InsertShipmentAsync, which
    stamps nothing: a body without created_on_utc gives C#'s DateTime.MinValue."""
    order, _ = _two_line_order(nop)
    shipment = nop.ok("POST", "/Shipment/Create", json={"order_id": order["id"], "tracking_number": "T"})
    assert shipment["created_on_utc"] == "0001-01-01T00:00:00"


def test_shipment_for_an_unknown_order_fails_in_the_database(nop: Nop) -> None:
    """The plugin checks nothing; Shipment.OrderId is a foreign key to Order (CORE
    Nop.Data/Mapping/Builders/Shipping/ShipmentBuilder.cs), so SQL Server refuses the insert and
    ErrorHandlerMiddleware answers 500 (not a NopException)."""
    response = nop.call("POST", "/Shipment/Create", json={"order_id": 999})
    assert response.status_code == 500 and "FOREIGN KEY" in response.json()["message"]
    response = nop.call("POST", "/ShipmentItem/Create", json={"shipment_id": 999, "order_item_id": 1, "quantity": 1})
    assert response.status_code == 500 and "FOREIGN KEY" in response.json()["message"]


def test_shipment_item_create_checks_no_quantity(nop: Nop) -> None:
    """WAPI ShipmentItemController.Create and Update are plain writes (InsertShipmentItemAsync /
    UpdateShipmentItemAsync of the mapped DTO): more than ordered, or an order item that does not
    exist (ShipmentItem.OrderItemId has no foreign key), is stored as sent."""
    order, items = _two_line_order(nop)  # item 0: quantity 2
    shipment = nop.ok("POST", "/Shipment/Create", json={"order_id": order["id"]})
    first = nop.ok("POST", "/ShipmentItem/Create", json={"shipment_id": shipment["id"], "order_item_id": items[0]["id"], "quantity": 2})
    again = nop.ok("POST", "/ShipmentItem/Create", json={"shipment_id": shipment["id"], "order_item_id": items[0]["id"], "quantity": 5})
    assert again["quantity"] == 5 and again["id"] != first["id"]
    ghost = nop.ok("POST", "/ShipmentItem/Create", json={"shipment_id": shipment["id"], "order_item_id": 999_999, "quantity": 1})
    assert ghost["order_item_id"] == 999_999
    assert nop.call("PUT", "/ShipmentItem/Update", json=dict(first, quantity=50)).status_code == 200
    assert nop.ok("GET", f"/ShipmentItem/GetById/{first['id']}")["quantity"] == 50


def test_shipment_get_all_filters_and_paging(nop: Nop) -> None:
    """FIDELITY 'GET /Shipment/GetAll' (CORE ShipmentService.GetAllShipmentsAsync: CreatedOnUtc DESC,
    loadNotShipped / loadNotDelivered, tracking number) and '0-based paging'."""
    order, items = _two_line_order(nop)
    first = _shipment(nop, order["id"], [(items[0]["id"], 1)], "AAA-1")
    second = _shipment(nop, order["id"], [(items[0]["id"], 1)], "BBB-2")
    nop.ok("GET", SHIP % first["id"], params=NOTIFY)
    page = nop.ok("GET", "/Shipment/GetAll", params={"pageIndex": 0, "pageSize": 1})
    assert page["total_count"] == 2 and page["has_next_page"] is True and page["items"][0]["id"] == second["id"]  # newest first
    assert [s["id"] for s in nop.ok("GET", "/Shipment/GetAll", params={"loadNotShipped": "true"})["items"]] == [second["id"]]
    assert [s["id"] for s in nop.ok("GET", "/Shipment/GetAll", params={"trackingNumber": "AAA"})["items"]] == [first["id"]]
    assert nop.ok("GET", "/Shipment/GetAll", params={"orderId": order["id"], "loadNotDelivered": "true"})["total_count"] == 2
    assert nop.ok("GET", "/Shipment/GetAll", params={"createdFromUtc": "2099-01-01T00:00:00"})["total_count"] == 0  # deliberately far future: after every shipment
    shipped = nop.ok("GET", f"/Shipment/GetByOrderId/{order['id']}", params={"shipped": "true"})
    assert [s["id"] for s in shipped] == [first["id"]]


def test_get_only_total_count_is_ignored_where_the_action_does_not_declare_it(nop: Nop) -> None:
    """Shipment/GetAll and Product/GetAll declare no getOnlyTotalCount (contract action params;
    WAPI ShipmentController.GetAll, ProductController.GetAll): ASP.NET ignores the unknown query
    parameter and the items come back. Order/Search declares it and honours it."""
    order, items = _two_line_order(nop)
    _shipment(nop, order["id"], [(items[0]["id"], 1)])
    assert len(nop.ok("GET", "/Shipment/GetAll", params={"getOnlyTotalCount": "true"})["items"]) == 1
    assert len(nop.ok("GET", "/Product/GetAll", params={"getOnlyTotalCount": "true"})["items"]) == 2
    assert nop.ok("GET", "/Order/Search", params={"getOnlyTotalCount": "true"})["items"] == []


def test_ship_deliver_and_order_statuses(nop: Nop) -> None:
    """CORE OrderProcessingService.ShipAsync/DeliverAsync (4.70): PartiallyShipped while items
    remain to add or to ship, Shipped otherwise; Delivered once nothing remains to add, ship or
    deliver; Complete when paid and delivered (CheckOrderStatusAsync)."""
    order, items = _two_line_order(nop, paid=True)
    first = _shipment(nop, order["id"], [(items[0]["id"], 2)])
    response = nop.call("GET", SHIP % first["id"], params={"notifyCustomer": "true"})
    assert response.status_code == 200 and response.content == b""
    assert nop.ok("GET", f"/Shipment/GetById/{first['id']}")["shipped_date_utc"] is not None
    assert nop.ok("GET", f"/Order/GetById/{order['id']}")["shipping_status_id"] == 25  # partially shipped
    second = _shipment(nop, order["id"], [(items[1]["id"], 1)])
    nop.ok("GET", SHIP % second["id"], params=NOTIFY)
    after_ship = nop.ok("GET", f"/Order/GetById/{order['id']}")
    assert (after_ship["shipping_status_id"], after_ship["order_status_id"]) == (30, 20)
    nop.ok("GET", DELIVER % first["id"], params=NOTIFY)
    assert nop.ok("GET", f"/Order/GetById/{order['id']}")["shipping_status_id"] == 30  # one shipment still undelivered
    nop.ok("GET", DELIVER % second["id"], params=NOTIFY)
    delivered = nop.ok("GET", f"/Order/GetById/{order['id']}")
    assert (delivered["shipping_status_id"], delivered["order_status_id"]) == (40, 30)  # paid and delivered: complete
    assert nop.ok("GET", f"/Shipment/GetById/{second['id']}")["delivery_date_utc"] is not None
    notes = [n["note"] for n in nop.ok("GET", f"/OrderNote/GetOrderNotesByOrderId/{order['id']}")]
    assert f"Shipment# {first['id']} has been sent" in notes and f"Shipment# {second['id']} has been delivered" in notes
    # notifyCustomer=true queued the "Shipped" email (and ShipAsync noted it); false queued nothing
    assert sum(n.startswith('"Shipped" email (to customer) has been queued') for n in notes) == 1
    assert not any(n.startswith('"Delivered" email') for n in notes)
    stats = nop.controlled("GET", "/stats")["requests"]
    assert stats["GET /OrderProcessing/Ship/{shipmentId}"] == 2 and stats["GET /OrderProcessing/Deliver/{shipmentId}"] == 2


def test_ship_and_deliver_in_the_wrong_state_answer_500(nop: Nop) -> None:
    """CORE OrderProcessingService.ShipAsync/DeliverAsync throw a plain `Exception` ("This shipment
    is already shipped", "... is not shipped yet", "... is already delivered"), and WAPI
    ErrorHandlerMiddleware answers anything but a NopException or KeyNotFoundException with 500."""
    order, items = _two_line_order(nop)
    shipment = _shipment(nop, order["id"], [(items[0]["id"], 2)])
    error = lambda message: {"message": message, "inner_exception_message": None, "stack_trace": ""}  # noqa: E731
    response = nop.call("GET", DELIVER % shipment["id"], params=NOTIFY)
    assert (response.status_code, response.json()) == (500, error("This shipment is not shipped yet"))
    nop.ok("GET", SHIP % shipment["id"], params=NOTIFY)
    response = nop.call("GET", SHIP % shipment["id"], params=NOTIFY)
    assert (response.status_code, response.json()) == (500, error("This shipment is already shipped"))
    nop.ok("GET", DELIVER % shipment["id"], params=NOTIFY)
    response = nop.call("GET", DELIVER % shipment["id"], params=NOTIFY)
    assert (response.status_code, response.json()) == (500, error("This shipment is already delivered"))


def test_notify_customer_is_required_on_ship_deliver_and_cancel(nop: Nop) -> None:
    """WAPI OrderProcessingController: `[FromQuery][Required] bool notifyCustomer` on Ship, Deliver
    and CancelOrder; [ApiController] answers a missing one with a ProblemDetails 400 before the
    action runs (so before its 404, and nothing changes)."""
    order, items = _two_line_order(nop)
    shipment = _shipment(nop, order["id"], [(items[0]["id"], 2)])
    for path in (SHIP % shipment["id"], DELIVER % shipment["id"], f"/OrderProcessing/CancelOrder/{order['id']}", SHIP % 999):
        response = nop.get(path)
        assert response.status_code == 400, path
        assert response.json()["errors"] == {"notifyCustomer": ["The notifyCustomer field is required."]}
    response = nop.get(SHIP % shipment["id"], notifyCustomer="")
    assert response.status_code == 400 and "notifyCustomer" in response.json()["errors"]
    assert nop.ok("GET", f"/Shipment/GetById/{shipment['id']}")["shipped_date_utc"] is None
    assert nop.ok("GET", f"/Order/GetById/{order['id']}")["order_status_id"] == 10


def test_can_ship_and_can_deliver_do_not_exist(nop: Nop) -> None:
    """The contract's OrderProcessing actions have no CanShip or CanDeliver (WAPI
    OrderProcessingController.cs): unknown routes answer 404 with an empty body."""
    order, items = _two_line_order(nop)
    shipment = _shipment(nop, order["id"], [(items[0]["id"], 2)])
    for path in (f"/OrderProcessing/CanShip/{shipment['id']}", f"/OrderProcessing/CanDeliver/{shipment['id']}"):
        response = nop.get(path)
        assert response.status_code == 404 and response.content == b""


def test_mark_order_as_paid(nop: Nop) -> None:
    """FIDELITY 'GET /OrderProcessing/CanMarkOrderAsPaid/{orderId}' and 'GET
    /OrderProcessing/MarkOrderAsPaid/{orderId}' (CORE MarkOrderAsPaidAsync: 200 empty; not allowed: NopException
    400)."""
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
    """FIDELITY 'inventory' (CORE ProductService.AdjustInventoryAsync reserves per warehouse on order;
    BookReservedInventoryAsync on ship, via CORE OrderProcessingService.ShipAsync) and 'GET
    /OrderProcessing/Ship/{shipmentId}'."""
    warehouse = nop.warehouse("Main")
    product = nop.product("MW", price=10, use_multiple_warehouses=True, warehouse_id=warehouse, warehouse_stock={str(warehouse): 10})
    order = nop.order([("MW", 3)])
    record = nop.ok("GET", f"/ProductWarehouse/GetAllProductWarehouseInventoryRecords/{product['id']}")[0]
    assert (record["stock_quantity"], record["reserved_quantity"]) == (10, 3)
    item = nop.ok("GET", f"/OrderItem/GetOrderItems/{order['id']}")[0]
    shipment = nop.ok("POST", "/Shipment/Create", json={"order_id": order["id"]})
    nop.ok("POST", "/ShipmentItem/Create", json={"shipment_id": shipment["id"], "order_item_id": item["id"], "quantity": 3, "warehouse_id": warehouse})
    nop.ok("GET", SHIP % shipment["id"], params=NOTIFY)
    record = nop.ok("GET", f"/ProductWarehouse/GetById/{record['id']}")
    assert (record["stock_quantity"], record["reserved_quantity"]) == (7, 0)


def test_return_requests(nop: Nop) -> None:
    order, items = _two_line_order(nop)
    via_control = nop.controlled("POST", "/return-requests", {"order_id": order["id"], "quantity": 1, "reason": "Damaged", "action": "Refund"})
    created = nop.ok("POST", "/ReturnRequest/Create", json={
        "store_id": 1, "order_item_id": items[1]["id"], "customer_id": order["customer_id"], "quantity": 1,
        "reason_for_return": "Wrong size", "requested_action": "Replacement", "return_request_status_id": 10,
        "created_on_utc": "2099-01-01T00:00:00",  # deliberately far future: a date only the caller could have set
    })
    # ReturnRequest/Create is a plain insert (WAPI ReturnRequestController.Create): no number assigned, the date as sent
    assert created["id"] > via_control["id"] and created["custom_number"] is None and created["created_on_utc"] == "2099-01-01T00:00:00"
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
