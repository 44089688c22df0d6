"""Return requests in the nopCommerce simulator, as the shop's storefront, admin and the Web API
Backend handle them. Sources:

- WAPI `Controllers/Orders/ReturnRequest{,Reason,Action}Controller.cs` (babysaffron-cubix/babysaffron-be):
  Update maps the DTO onto a new entity and saves it (a raw full replace), GetById 404 texts;
- CORE `ReturnRequestService.SearchReturnRequestsAsync` (filters, CreatedOnUtc DESC then Id DESC),
  `GetReturnRequestAvailabilityAsync` (item quantity minus requests not Cancelled),
  `OrderProcessingService.IsReturnRequestAllowedAsync` (enabled, Complete, not deleted, days since
  creation < NumberOfDaysReturnRequestAvailable), the installed OrderSettings (enabled, 365 days,
  the reason and action names);
- returns-refunds.md §4: the admin's Edit sets UpdatedOnUtc and restocks a raised ReturnedQuantity.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bp_nop_dagster_tests.sandbox.test_nopcommerce_support import Nop, nop  # noqa: F401

NOW = datetime(2030, 5, 1, 12, 0, 0)


def _at(nop: Nop, clock: list[datetime]) -> None:
    """The shop's clock reads `clock[0]`; a token issued at that time (tokens are dated by it)."""
    nop.world.nopcommerce.clock = lambda: clock[0]
    nop.token = nop.get_token()


def _complete_order(nop: Nop, quantity: int = 3, created: datetime | None = None) -> tuple[dict, dict]:
    """A paid order shipped and delivered: Complete (CheckOrderStatusAsync, CompleteOrderWhenDelivered)."""
    nop.product("RR-1", price=10, stock_quantity=20)
    order = nop.order([("RR-1", quantity)], paid=True, created_on_utc=(created or NOW - timedelta(days=3)).isoformat())
    item = nop.ok("GET", f"/OrderItem/GetOrderItems/{order['id']}")[0]
    shipment = nop.ok("POST", "/Shipment/Create", json={"order_id": order["id"], "created_on_utc": NOW.isoformat()})
    nop.ok("POST", "/ShipmentItem/Create", json={"shipment_id": shipment["id"], "order_item_id": item["id"], "quantity": quantity})
    nop.ok("GET", f"/OrderProcessing/Ship/{shipment['id']}", params={"notifyCustomer": "false"})
    nop.ok("GET", f"/OrderProcessing/Deliver/{shipment['id']}", params={"notifyCustomer": "false"})
    assert nop.ok("GET", f"/Order/GetById/{order['id']}")["order_status_id"] == 30
    return order, item


def _submit(nop: Nop, order: dict, quantity: int):  # noqa: ANN202
    return nop.control("POST", "/return-requests", {"order_id": order["id"], "quantity": quantity, "reason": "Wrong Product Ordered",
                                                    "action": "Replacement", "storefront": True})


def test_storefront_return_request_rules(nop: Nop) -> None:
    """FIDELITY 'return request lifecycle' (CORE OrderProcessingService.IsReturnRequestAllowedAsync: Complete,
    not deleted, within the days; GetReturnRequestAvailabilityAsync: up to the quantity not already requested)."""
    _at(nop, [NOW])
    nop.product("RR-0", price=10, stock_quantity=5)
    open_order = nop.order([("RR-0", 1)], paid=True)
    assert _submit(nop, open_order, 1).status_code == 400  # not Complete
    order, item = _complete_order(nop)
    created = _submit(nop, order, 2)
    assert created.status_code == 201, created.text
    request = created.json()
    assert (request["return_request_status_id"], request["custom_number"], request["store_id"]) == (0, str(request["id"]), 1)
    assert request["created_on_utc"] == request["updated_on_utc"] == NOW.isoformat()
    assert (request["reason_for_return"], request["requested_action"], request["order_item_id"]) == (
        "Wrong Product Ordered", "Replacement", item["id"])
    assert _submit(nop, order, 2).status_code == 400  # 3 ordered, 2 requested: 1 left
    nop.controlled("POST", f"/return-requests/{request['id']}/staff", {"status": "RequestRejected"})
    assert _submit(nop, order, 2).status_code == 400  # a rejected request still counts
    nop.controlled("POST", f"/return-requests/{request['id']}/staff", {"status": "Cancelled"})
    assert _submit(nop, order, 3).status_code == 201  # a cancelled one does not


def test_storefront_return_window_counts_from_the_order_creation(nop: Nop) -> None:
    """FIDELITY 'return request lifecycle' (CORE OrderProcessingService.IsReturnRequestAllowedAsync: days since
    creation < NumberOfDaysReturnRequestAvailable, 0 = no limit, ReturnRequestsEnabled)."""
    _at(nop, [NOW])
    order, _ = _complete_order(nop, created=NOW - timedelta(days=365))
    assert _submit(nop, order, 1).status_code == 400  # daysPassed >= 365
    nop.controlled("PUT", "/settings", {"number_of_days_return_request_available": 0})  # 0: no limit
    assert _submit(nop, order, 1).status_code == 201
    nop.controlled("PUT", "/settings", {"return_requests_enabled": False})
    assert _submit(nop, order, 1).status_code == 400


def test_staff_edit_sets_updated_on_and_restocks_a_raised_returned_quantity(nop: Nop) -> None:
    """FIDELITY 'return request lifecycle' and 'restock message of a returned quantity' (RETURNS §4: the admin's
    Edit sets UpdatedOnUtc and restocks a raised ReturnedQuantity)."""
    clock = [NOW]
    _at(nop, clock)
    order, item = _complete_order(nop)
    stock = nop.ok("GET", f"/Product/GetById/{item['product_id']}")["stock_quantity"]
    request = _submit(nop, order, 2).json()
    clock[0] = NOW + timedelta(hours=2)
    edited = nop.controlled("POST", f"/return-requests/{request['id']}/staff",
                            {"status": "Received", "returned_quantity": 2, "staff_notes": "in the box"})
    assert (edited["return_request_status_id"], edited["returned_quantity"], edited["staff_notes"]) == (10, 2, "in the box")
    assert edited["updated_on_utc"] == clock[0].isoformat() and edited["created_on_utc"] == NOW.isoformat()
    assert nop.ok("GET", f"/Product/GetById/{item['product_id']}")["stock_quantity"] == stock + 2
    assert nop.control("POST", f"/return-requests/{request['id']}/staff", {"returned_quantity": 1}).status_code == 400  # never lowered
    nop.controlled("POST", f"/return-requests/{request['id']}/staff", {"status": 40})  # ItemsRefunded: informational only
    assert nop.ok("GET", f"/Product/GetById/{item['product_id']}")["stock_quantity"] == stock + 2


def test_api_update_is_a_raw_full_replace(nop: Nop) -> None:
    """WAPI ReturnRequest/Update: model.FromDto<ReturnRequest>() then UpdateReturnRequestAsync: what the
    body omits is reset (UpdatedOnUtc to 0001-01-01), a raised returned_quantity restocks nothing."""
    _at(nop, [NOW])
    order, item = _complete_order(nop)
    stock = nop.ok("GET", f"/Product/GetById/{item['product_id']}")["stock_quantity"]
    request = _submit(nop, order, 1).json()
    body = {**request, "return_request_status_id": 10, "returned_quantity": 1}
    del body["updated_on_utc"], body["staff_notes"]
    assert nop.call("PUT", "/ReturnRequest/Update", json=body).status_code == 200
    stored = nop.ok("GET", f"/ReturnRequest/GetById/{request['id']}")
    assert stored["updated_on_utc"] == "0001-01-01T00:00:00" and stored["staff_notes"] is None
    assert (stored["return_request_status_id"], stored["returned_quantity"]) == (10, 1)
    assert nop.ok("GET", f"/Product/GetById/{item['product_id']}")["stock_quantity"] == stock
    missing = nop.call("PUT", "/ReturnRequest/Update", json={**request, "id": 999})
    assert missing.status_code == 404 and missing.json() == "Return request is not found"


def test_search_filters_and_order(nop: Nop) -> None:
    """CORE ReturnRequestService.SearchReturnRequestsAsync: CreatedOnUtc DESC then Id DESC; customNumber equal (not LIKE);
    storeId filters when > 0."""
    nop.product("RR-1", price=10, stock_quantity=20)
    order = nop.order([("RR-1", 2)])
    item = nop.ok("GET", f"/OrderItem/GetOrderItems/{order['id']}")[0]
    same = "2030-01-01T00:00:00"
    first = nop.ok("POST", "/ReturnRequest/Create", json={"order_item_id": item["id"], "quantity": 1, "store_id": 1,
                                                          "custom_number": "RMA-10", "created_on_utc": same})
    second = nop.ok("POST", "/ReturnRequest/Create", json={"order_item_id": item["id"], "quantity": 1, "store_id": 2,
                                                           "custom_number": "RMA-1", "created_on_utc": same})
    older = nop.ok("POST", "/ReturnRequest/Create", json={"order_item_id": item["id"], "quantity": 1, "store_id": 1,
                                                          "created_on_utc": "2029-01-01T00:00:00"})
    ids = lambda **params: [r["id"] for r in nop.ok("GET", "/ReturnRequest/Search", params=params)["items"]]  # noqa: E731
    assert ids() == [second["id"], first["id"], older["id"]]
    assert ids(customNumber="RMA-1") == [second["id"]]
    assert ids(storeId=1) == [first["id"], older["id"]]
    assert ids(storeId=0) == ids()
    assert ids(createdFromUtc=same, createdToUtc=same) == [second["id"], first["id"]]


def test_reason_and_action_lookups(nop: Nop) -> None:
    """CORE GetAllReturnRequestReasons|ActionsAsync by DisplayOrder then Id; the installed names."""
    reasons = nop.ok("GET", "/ReturnRequestReason/GetAll")
    assert [r["name"] for r in reasons] == ["Received Wrong Product", "Wrong Product Ordered", "There Was A Problem With The Product"]
    assert set(reasons[0]) == {"id", "name", "display_order"}
    assert [a["name"] for a in nop.ok("GET", "/ReturnRequestAction/GetAll")] == ["Repair", "Replacement", "Store Credit"]
    assert nop.ok("GET", f"/ReturnRequestReason/GetById/{reasons[1]['id']}") == reasons[1]
    assert nop.get("/ReturnRequestReason/GetById/99").json() == "Return request reason Id=99 not found"
    assert nop.get("/ReturnRequestAction/GetById/99").json() == "Return request action Id=99 not found"
    assert nop.get("/ReturnRequestAction/GetById/0").status_code == 400
