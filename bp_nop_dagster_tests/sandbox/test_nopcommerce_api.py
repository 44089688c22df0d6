"""nopCommerce simulator: auth, wire format, errors, faults, paging, orders, customers, countries.

Sources: the Web API Backend plugin 4.70.1 (routes, DTO properties and types in
bp_nop_dagster/contracts/nopcommerce/webapi-contract.json; JWT from Authenticate/GetToken, paging
as PagedList), nopCommerce core 4.70.1 services for behaviour (nopcommerce-api notes, with the
corrections at their top); each behaviour is a Fact with its source in
sandbox/nopcommerce/fidelity.py. Faults, stats and reset are our control API (no external source)."""

from __future__ import annotations

import base64
import json
import re
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import requests

from bp_nop_dagster_tests.ledger.clock import Clock
from bp_nop_dagster_tests.sandbox.test_nopcommerce_support import ADDRESS, Nop, nop  # noqa: F401

DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?$")


# -- auth ------------------------------------------------------------------------------------------
def test_get_token_success_shape_and_claims(nop: Nop) -> None:
    """FIDELITY 'POST /Authenticate/GetToken' (WAPI AuthenticateController.cs) and 'JWT auth' (WAPI
    JwtMiddleware.cs: HS256, claims CustomerId, nameid, nbf, exp; 7 days); CONTRACT AuthenticateResponse."""
    response = nop.http.post(f"{nop.base}/Authenticate/GetToken", data=json.dumps({"username": "", "email": "ADMIN@sandbox.test", "password": "sandbox"}),
                             headers={"Content-Type": "application/json-patch+json"}, timeout=10)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"username", "customer_id", "customer_guid", "token"}
    assert body["customer_id"] == 1 and body["username"] == "admin@sandbox.test"
    header, payload, _ = body["token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["alg"] == "HS256"
    assert claims["CustomerId"] == "1" and claims["nameid"] == body["customer_guid"]
    assert claims["exp"] - claims["nbf"] == 7 * 86400


def test_get_token_bad_credentials(nop: Nop) -> None:
    """FIDELITY 'POST /Authenticate/GetToken' (WAPI AuthenticateController.cs: 401 'Username or password is
    incorrect'; the email unless UsernamesEnabled)."""
    for body in ({"email": "admin@sandbox.test", "password": "wrong"}, {"email": "nobody@x.test", "password": "sandbox"},
                 {"username": "admin@sandbox.test", "password": "sandbox"}):  # UsernamesEnabled off: username ignored
        response = nop.http.post(f"{nop.base}/Authenticate/GetToken", json=body, timeout=10)
        assert response.status_code == 401
        assert response.json() == "Username or password is incorrect"


def test_bearer_and_bare_token_both_work(nop: Nop) -> None:
    """FIDELITY 'JWT auth' (WAPI JwtMiddleware.cs: the last space-separated part of Authorization is the token,
    Bearer or bare)."""
    assert nop.call("GET", "/Country/GetAllCountries").status_code == 200
    assert nop.call("GET", "/Country/GetAllCountries", bare=True).status_code == 200


def test_missing_and_invalid_token_is_401(nop: Nop) -> None:
    """FIDELITY '401 body' (WAPI AuthorizeAttribute.cs: 401 {message: 'Unauthorized'})."""
    for headers in ({}, {"Authorization": "Bearer nonsense"}, {"Authorization": "Bearer " + nop.token[:-3] + "abc"}):
        response = nop.http.get(f"{nop.base}/Order/Search", headers=headers, timeout=10)
        assert response.status_code == 401
        assert response.json() == {"message": "Unauthorized"}


def test_token_lifetime_control_forces_expiry(nop: Nop) -> None:
    """FIDELITY 'JWT auth' (WAPI JwtMiddleware.cs): a token is refused from its exp on (ClockSkew 0), on the simulator's clock."""
    clock = Clock(datetime.now(UTC).replace(microsecond=0))  # whole seconds, as nbf and exp are
    nop.world.nopcommerce.clock = lambda: clock().replace(tzinfo=None)  # the simulator keeps naive UTC
    assert nop.controlled("GET", "/token-lifetime") == {"seconds": 7 * 86400}
    assert nop.controlled("PUT", "/token-lifetime", {"seconds": 1}) == {"seconds": 1}
    short = nop.get_token()
    assert nop.call("GET", "/Country/GetAllCountries", token=short).status_code == 200
    clock.advance(0.99)
    assert nop.call("GET", "/Country/GetAllCountries", token=short).status_code == 200
    clock.advance(0.01)  # now == exp
    response = nop.call("GET", "/Country/GetAllCountries", token=short)
    assert response.status_code == 401 and response.json() == {"message": "Unauthorized"}
    assert nop.control("PUT", "/token-lifetime", {"seconds": 0}).status_code == 400


def test_expire_tokens_invalidates_issued_tokens(nop: Nop) -> None:
    """FIDELITY '401 body' (WAPI AuthorizeAttribute.cs: an expired token is 401); the expiry itself is the
    sandbox's control route (RULE, ours); a new GetToken works again."""
    assert nop.call("GET", "/Country/GetAllCountries").status_code == 200
    assert nop.controlled("POST", "/expire-tokens") == {"expired": True}
    assert nop.call("GET", "/Country/GetAllCountries").status_code == 401
    assert nop.call("GET", "/Country/GetAllCountries", token=nop.get_token()).status_code == 200


def test_customer_without_api_permission_gets_403(nop: Nop) -> None:
    """FIDELITY '403 body' (WAPI CheckAccessWebApiAttribute.cs: 403 {message: 'Access denied.'})."""
    clerk = nop.get_token("clerk@sandbox.test", "sandbox")
    for path in ("/Order/Search", "/Order/GetById/1", "/Country/GetAllCountries"):
        response = nop.call("GET", path, token=clerk)
        assert response.status_code == 403
        assert response.json() == {"message": "Access denied."}


# -- errors ----------------------------------------------------------------------------------------
def test_error_shapes(nop: Nop) -> None:
    """FIDELITY 'GET /Order/GetById/{id}' (WAPI OrderController.cs: id <= 0 400 empty, 404 'Order Id={id} not
    found') and 'exception bodies' (WAPI ErrorHandlerMiddleware.cs)."""
    response = nop.get("/Order/GetById/0")
    assert response.status_code == 400 and response.content == b""
    response = nop.get("/Order/GetById/5")
    assert response.status_code == 404 and response.json() == "Order Id=5 not found"
    response = nop.get("/Order/GetById/abc")
    assert response.status_code == 400
    problem = response.json()
    assert problem["title"] == "One or more validation errors occurred." and problem["status"] == 400 and "id" in problem["errors"]
    response = nop.get("/Order/Search", createdFromUtc="yesterday")
    assert response.status_code == 400 and "createdFromUtc" in response.json()["errors"]
    response = nop.get("/Order/Search", pageIndex="x")
    assert response.status_code == 400 and "pageIndex" in response.json()["errors"]
    # osIds is a string the action splits with StringExtensions.ToIdArray, which skips what is no int.
    assert nop.get("/Order/Search", osIds="10;abc").status_code == 200
    response = nop.get("/Product/GetProductBySku")
    assert response.status_code == 400 and "sku" in response.json()["errors"]
    response = nop.call("PUT", "/Order/Update", data="{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["title"] == "One or more validation errors occurred."
    response = nop.call("PUT", "/Order/Update", data="", headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["status"] == 400
    response = nop.call("POST", "/Shipment/Create", json={"order_id": "one"})
    assert response.status_code == 400 and "order_id" in response.json()["errors"]
    for status_response in (nop.get("/Nope/Nothing"), nop.call("DELETE", "/Order/Search")):
        assert status_response.status_code in (404, 405) and status_response.content == b""
    assert "Traceback" not in response.text


def test_auth_checked_before_validation(nop: Nop) -> None:
    """FIDELITY 'model binding' (WAPI BaseNopWebApiController.cs: binding runs after the auth filters), so an
    unauthenticated request with a bad id is 401, not 400."""
    response = nop.http.get(f"{nop.base}/Order/GetById/abc", timeout=10)
    assert response.status_code == 401


# -- faults through the shared middleware ------------------------------------------------------------
def test_fault_error_rate_on_one_path_and_stats(nop: Nop) -> None:
    """RULE (the sandbox's fault device and statistics, ours): only the matched path fails, requests counted by
    route template."""
    nop.controlled("PUT", "/faults", {"rules": [{"path": "/Order/Search*", "error_rate": 1.0, "error_status": 500}]})
    response = nop.get("/Order/Search")
    assert response.status_code == 500
    assert response.json() == {"message": "Injected fault", "inner_exception_message": None, "stack_trace": ""}
    assert nop.get("/Order/GetById/1").status_code == 404  # other paths unaffected
    stats = nop.controlled("GET", "/stats")
    assert stats["requests"]["GET /Order/Search"] == 1
    assert stats["requests"]["GET /Order/GetById/{id}"] == 1


def test_fault_latency(nop: Nop) -> None:
    """RULE (the sandbox's fault device, ours): latency_ms delays the reply."""
    nop.controlled("PUT", "/faults", {"rules": [{"path": "/Country/*", "latency_ms": 300}]})
    started = time.monotonic()
    assert nop.get("/Country/GetAllCountries").status_code == 200
    assert time.monotonic() - started >= 0.3


def test_fault_drop_reply_after_write(nop: Nop) -> None:
    """RULE (the sandbox's fault device, ours): a dropped reply comes after the write commits (FIDELITY 'POST
    /Shipment/Create': a plain insert)."""
    nop.product("SKU-1", price=10, stock_quantity=5)
    order = nop.order([("SKU-1", 1)])
    nop.controlled("PUT", "/faults", {"rules": [{"method": "POST", "path": "/Shipment/Create", "drop_reply_rate": 1.0}]})
    response = nop.call("POST", "/Shipment/Create", json={"order_id": order["id"], "tracking_number": "T1"})
    assert response.status_code == 502
    nop.controlled("DELETE", "/faults")
    shipments = nop.ok("GET", "/Shipment/GetByOrderId/%d" % order["id"])
    assert [s["tracking_number"] for s in shipments] == ["T1"]  # the write happened


def test_fault_malformed_json(nop: Nop) -> None:
    """RULE (the sandbox's fault device, ours): a 200 whose body is not JSON."""
    nop.controlled("PUT", "/faults", {"rules": [{"path": "/Country/GetAllCountries", "malformed_rate": 1.0}]})
    response = nop.get("/Country/GetAllCountries")
    assert response.status_code == 200
    try:
        response.json()
        raise AssertionError("body should be truncated")
    except requests.exceptions.JSONDecodeError:
        pass


# -- orders ----------------------------------------------------------------------------------------
def _orders_at(nop: Nop, stamps: list[str]) -> list[dict]:
    nop.product("SKU-A", price=10, stock_quantity=100)
    return [nop.order([("SKU-A", 1)], created_on_utc=stamp) for stamp in stamps]


def test_order_dto_wire_format(nop: Nop) -> None:
    """CONTRACT webapi-contract.json OrderDto properties (FIDELITY 'DTO shapes', 'snake_case JSON') and FIDELITY
    'datetimes' (notes §7.4: naive UTC without Z)."""
    nop.product("SKU-A", price="12.50", stock_quantity=10)
    order = nop.order([("SKU-A", 2)], paid=True, created_on_utc="2026-03-01T10:00:00.303Z")
    fetched = nop.ok("GET", f"/Order/GetById/{order['id']}")
    assert fetched == order
    for field in ("order_guid", "custom_order_number", "store_id", "customer_id", "billing_address_id", "shipping_address_id",
                  "order_status_id", "shipping_status_id", "payment_status_id", "payment_method_system_name", "customer_currency_code",
                  "currency_rate", "customer_tax_display_type_id", "order_subtotal_incl_tax", "order_subtotal_excl_tax",
                  "order_sub_total_discount_incl_tax", "order_sub_total_discount_excl_tax", "order_shipping_incl_tax",
                  "order_shipping_excl_tax", "payment_method_additional_fee_incl_tax", "payment_method_additional_fee_excl_tax",
                  "tax_rates", "order_tax", "order_discount", "order_total", "refunded_amount", "authorization_transaction_id",
                  "authorization_transaction_code", "authorization_transaction_result", "capture_transaction_id",
                  "capture_transaction_result", "subscription_transaction_id", "paid_date_utc", "shipping_method",
                  "shipping_rate_computation_method_system_name", "masked_credit_card_number", "card_number", "deleted",
                  "created_on_utc", "customer_ip"):
        assert field in fetched, field
    assert all(key == key.lower() for key in fetched)
    assert "items" not in fetched and "billing_address" not in fetched
    assert fetched["custom_order_number"] == str(fetched["id"])
    assert fetched["created_on_utc"] == "2026-03-01T10:00:00.303" and fetched["paid_date_utc"] == "2026-03-01T10:00:00.303"
    assert DATETIME_RE.match(fetched["created_on_utc"])
    assert (fetched["order_status_id"], fetched["payment_status_id"], fetched["shipping_status_id"]) == (20, 30, 20)
    assert fetched["authorization_transaction_id"].startswith("AUTH-") and fetched["capture_transaction_id"].startswith("CAP-")
    assert fetched["card_number"] is None and fetched["masked_credit_card_number"].endswith("1111")
    unpaid = nop.order([("SKU-A", 1)], payment_method_system_name="Payments.CheckMoneyOrder")
    assert (unpaid["order_status_id"], unpaid["payment_status_id"], unpaid["paid_date_utc"]) == (10, 10, None)
    assert unpaid["authorization_transaction_id"] is None


def test_order_totals_multi_rate_add_up(nop: Nop) -> None:
    """FIDELITY 'checkout totals' (CORE OrderTotalCalculationService; notes §2: tax_rates 'rate:amount;'); RULE
    stated here: items, shipping, fee and discount incl. tax add up to order_total, and the rates' amounts to
    order_tax."""
    nop.product("STD", price="19.99", tax_category_id=1, stock_quantity=50)
    nop.product("RED", price="7.33", tax_category_id=2, stock_quantity=50)
    nop.product("ZERO", price="4.10", tax_category_id=3, stock_quantity=50)
    order = nop.order([("STD", 3), ("RED", 2), ("ZERO", 1)], shipping_excl_tax="4.95", discount_excl_tax="5.00",
                      payment_fee_excl_tax="1.50", payment_method_system_name="Payments.CheckMoneyOrder")
    items = nop.ok("GET", f"/OrderItem/GetOrderItems/{order['id']}")
    d = lambda value: Decimal(str(value))  # noqa: E731
    items_incl = sum(d(i["price_incl_tax"]) for i in items)
    assert items_incl == d(order["order_subtotal_incl_tax"])
    total = items_incl + d(order["order_shipping_incl_tax"]) - d(order["order_sub_total_discount_incl_tax"]) + d(order["payment_method_additional_fee_incl_tax"])
    assert total == d(order["order_total"])
    rates = dict(part.strip().split(":") for part in order["tax_rates"].split(";") if part.strip())
    assert set(rates) == {"5", "20"}  # zero-rate items carry no tax entry
    assert sum(d(v) for v in rates.values()) == d(order["order_tax"])
    excl = d(order["order_subtotal_excl_tax"]) - d(order["order_sub_total_discount_excl_tax"]) + d(order["order_shipping_excl_tax"]) \
        + d(order["payment_method_additional_fee_excl_tax"])
    assert excl + d(order["order_tax"]) == d(order["order_total"])
    for item in items:
        assert d(item["price_incl_tax"]) == d(item["unit_price_incl_tax"]) * item["quantity"]
    std = next(i for i in items if d(i["unit_price_excl_tax"]) == d("19.99"))
    assert d(std["unit_price_incl_tax"]) == d("23.99")  # 19.99 * 1.2 = 23.988 -> 23.99


def test_order_search_window_inclusive_newest_first_and_deleted(nop: Nop) -> None:
    orders = _orders_at(nop, ["2026-01-01T00:00:00", "2026-01-02T00:00:00", "2026-01-03T00:00:00", "2026-01-04T00:00:00"])
    page = nop.ok("GET", "/Order/Search", params={"createdFromUtc": "2026-01-02T00:00:00", "createdToUtc": "2026-01-03T00:00:00Z"})
    assert [o["id"] for o in page["items"]] == [orders[2]["id"], orders[1]["id"]]
    nop.ok("DELETE", f"/Order/Delete/{orders[1]['id']}")
    page = nop.ok("GET", "/Order/Search", params={"pageSize": 10})
    assert [o["id"] for o in page["items"]] == [orders[3]["id"], orders[2]["id"], orders[0]["id"]]
    assert nop.ok("GET", f"/Order/GetById/{orders[1]['id']}")["deleted"] is True
    # CORE OrderService.GetOrdersByIdsAsync: _orderRepository.GetByIdsAsync(orderIds, includeDeleted: false).
    by_ids = nop.ok("GET", f"/Order/GetByIds/{orders[0]['id']};{orders[1]['id']};999")
    assert [(o["id"], o["deleted"]) for o in by_ids] == [(orders[0]["id"], False)]


def test_order_search_status_and_other_filters(nop: Nop) -> None:
    """FIDELITY 'GET /Order/Search' (CORE OrderService.SearchOrdersAsync: osIds / psIds / ssIds ';'-separated,
    the other filters; CreatedOnUtc DESC)."""
    nop.product("SKU-A", price=10, stock_quantity=100)
    nop.product("SKU-B", price=5, stock_quantity=100)
    paid = nop.order([("SKU-A", 1)], paid=True)
    pending = nop.order([("SKU-B", 1)], email="other@example.com", last_name="Zed", payment_method_system_name="Payments.CheckMoneyOrder")
    ids = lambda **params: [o["id"] for o in nop.ok("GET", "/Order/Search", params=params)["items"]]  # noqa: E731
    assert ids(psIds="30") == [paid["id"]]
    assert ids(psIds="10;20") == [pending["id"]]
    assert ids(osIds="10") == [pending["id"]]
    assert ids(ssIds="20") == [pending["id"], paid["id"]]
    assert ids(paymentMethodSystemName="Payments.CheckMoneyOrder") == [pending["id"]]
    assert ids(billingEmail="other@") == [pending["id"]]
    assert ids(billingLastName="zed") == [pending["id"]]
    assert ids(customerId=paid["customer_id"]) == [paid["id"]]
    product_b = nop.ok("GET", "/Product/GetProductBySku", params={"sku": "SKU-B"})["id"]
    assert ids(productId=product_b) == [pending["id"]]
    assert ids(storeId=2) == []


def test_paging_semantics(nop: Nop) -> None:
    """FIDELITY '0-based paging' (WAPI PagedListDto.cs; CORE PagedList.cs: page_index, total_pages,
    has_previous_page, has_next_page)."""
    _orders_at(nop, [f"2026-02-{day:02d}T12:00:00" for day in range(1, 8)])  # 7 orders
    page = nop.ok("GET", "/Order/Search", params={"pageIndex": 0, "pageSize": 3})
    assert {k: page[k] for k in page if k != "items"} == {"page_index": 0, "page_size": 3, "total_count": 7, "total_pages": 3,
                                                         "has_previous_page": False, "has_next_page": True}
    assert len(page["items"]) == 3
    last = nop.ok("GET", "/Order/Search", params={"pageIndex": 2, "pageSize": 3})
    assert len(last["items"]) == 1 and last["has_next_page"] is False and last["has_previous_page"] is True
    exact = nop.ok("GET", "/Order/Search", params={"pageIndex": 0, "pageSize": 7})
    assert exact["total_pages"] == 1 and exact["has_next_page"] is False and len(exact["items"]) == 7
    beyond = nop.ok("GET", "/Order/Search", params={"pageIndex": 5, "pageSize": 3})
    assert beyond["items"] == [] and beyond["total_count"] == 7
    count_only = nop.ok("GET", "/Order/Search", params={"getOnlyTotalCount": "true", "pageSize": 3})
    assert count_only["items"] == [] and count_only["total_count"] == 7 and count_only["total_pages"] == 3
    everything = nop.ok("GET", "/Order/Search")
    assert everything["page_size"] == 2147483647 and len(everything["items"]) == 7
    clamped = nop.ok("GET", "/Order/Search", params={"pageSize": 0})
    assert clamped["page_size"] == 1 and clamped["total_pages"] == 7
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")  # after every order placed above
    empty = nop.ok("GET", "/Order/Search", params={"createdFromUtc": tomorrow, "pageSize": 10})
    assert empty == {"page_index": 0, "page_size": 10, "total_count": 0, "total_pages": 0, "has_previous_page": False,
                     "has_next_page": False, "items": []}


def test_order_lookups_update_and_notes(nop: Nop) -> None:
    nop.product("SKU-A", price=10, stock_quantity=10)
    order = nop.order([("SKU-A", 1)])
    assert nop.ok("GET", "/Order/GetByGuid", params={"guid": order["order_guid"]})["id"] == order["id"]
    assert nop.ok("GET", "/Order/GetByCustomOrderNumber", params={"customOrderNumber": order["custom_order_number"]})["id"] == order["id"]
    missing = nop.get("/Order/GetByCustomOrderNumber", customOrderNumber="nope")
    assert missing.status_code == 404 and missing.json() == "Order is not found"  # WAPI OrderController.GetByCustomOrderNumber
    changed = dict(order, shipping_method="Next Day")
    del changed["customer_ip"]
    response = nop.call("PUT", "/Order/Update", json=changed)
    assert response.status_code == 200 and response.content == b""
    updated = nop.ok("GET", f"/Order/GetById/{order['id']}")
    assert updated["shipping_method"] == "Next Day" and updated["customer_ip"] is None  # full replace
    assert nop.call("PUT", "/Order/Update", json=dict(order, id=999)).json() == "Order is not found"
    # OrderNote/Create is a plain insert (WAPI OrderNoteController.Create): the date is the one sent
    # (a deliberately far-future date, which nothing could have stamped by itself).
    note = nop.ok("POST", "/OrderNote/Create", json={"order_id": order["id"], "note": "ERP ref 42", "display_to_customer": False,
                                                      "created_on_utc": "2099-01-01T00:00:00"})
    assert note["id"] > 0 and note["note"] == "ERP ref 42" and note["created_on_utc"] == "2099-01-01T00:00:00"
    notes = nop.ok("GET", f"/OrderNote/GetOrderNotesByOrderId/{order['id']}")
    assert notes[-1]["note"] == "ERP ref 42" and notes[0]["note"] == "Order placed"
    undated = nop.ok("POST", "/OrderNote/Create", json={"order_id": order["id"], "note": "no date"})
    assert undated["created_on_utc"] == "0001-01-01T00:00:00"


def test_order_items_and_addresses(nop: Nop) -> None:
    """CONTRACT webapi-contract.json OrderItemDto and AddressDto properties; FIDELITY 'GET
    /OrderItem/GetOrderItems/{orderId}' and 'GET /Address/GetById/{id}'."""
    nop.product("SKU-A", price="9.99", stock_quantity=10)
    order = nop.order([("SKU-A", 3)], address={**ADDRESS, "address2": "Flat 2", "phone": "+44 20 1234"})
    items = nop.ok("GET", f"/OrderItem/GetOrderItems/{order['id']}")
    assert len(items) == 1
    item = items[0]
    for field in ("order_item_guid", "order_id", "product_id", "quantity", "unit_price_incl_tax", "unit_price_excl_tax", "price_incl_tax",
                  "price_excl_tax", "discount_amount_incl_tax", "discount_amount_excl_tax", "original_product_cost",
                  "attribute_description", "attributes_xml", "item_weight"):
        assert field in item
    assert item["quantity"] == 3 and item["price_excl_tax"] == 29.97
    assert nop.ok("GET", f"/OrderItem/GetById/{item['id']}") == item
    assert nop.ok("GET", f"/Order/GetByOrderItem/{item['id']}")["id"] == order["id"]
    billing = nop.ok("GET", f"/Address/GetById/{order['billing_address_id']}")
    assert billing["address2"] == "Flat 2" and billing["country_id"] == 3 and billing["email"] == "shopper@example.com"
    assert set(billing) == {"id", "first_name", "last_name", "email", "company", "country_id", "state_province_id", "county", "city",
                            "address1", "address2", "zip_postal_code", "phone_number", "fax_number", "custom_attributes", "created_on_utc"}
    created = nop.ok("POST", "/Address/Create", json={"first_name": "New", "city": "Leeds", "country_id": 3})
    assert created["id"] > 0 and created["city"] == "Leeds"
    assert nop.call("PUT", "/Address/Update", json={"id": created["id"], "city": "York"}).status_code == 200
    assert nop.ok("GET", f"/Address/GetById/{created['id']}")["first_name"] is None  # full replace


def test_customers(nop: Nop) -> None:
    """FIDELITY 'GET /Customer/GetCustomerByEmail' (CORE CustomerService: case-insensitive) and 'text
    comparisons'; a guest checkout makes a guest customer per order (FIDELITY 'registration': a visitor is a
    guest customer); CONTRACT CustomerDto."""
    nop.product("SKU-A", price=10, stock_quantity=50)
    first = nop.order([("SKU-A", 1)], email="Jo@Example.com", created_on_utc="2026-01-01T00:00:00")
    again = nop.order([("SKU-A", 1)], email="jo@example.COM", created_on_utc="2026-01-05T00:00:00")
    assert again["customer_id"] == first["customer_id"]  # reused by email, case-insensitively
    guest = nop.order([("SKU-A", 1)], email="jo@example.com", guest=True)
    anonymous = nop.order([("SKU-A", 1)], email=None, guest=True)
    assert len({first["customer_id"], guest["customer_id"], anonymous["customer_id"]}) == 3
    customer = nop.ok("GET", f"/Customer/GetById/{first['customer_id']}")
    for field in ("customer_guid", "username", "email", "first_name", "last_name", "active", "deleted", "created_on_utc",
                  "last_activity_date_utc", "billing_address_id", "shipping_address_id", "registered_in_store_id"):
        assert field in customer
    assert customer["first_name"] == "Ann"
    assert nop.ok("GET", f"/Customer/GetById/{anonymous['customer_id']}")["email"] is None
    by_email = nop.ok("GET", "/Customer/GetCustomerByEmail", params={"email": "JO@example.com"})
    assert by_email["id"] == first["customer_id"]  # first by id: the registered one
    listed = nop.ok("GET", "/Customer/GetAll", params={"email": "jo@", "pageSize": 10})
    assert {c["id"] for c in listed["items"]} == {first["customer_id"], guest["customer_id"]}
    all_customers = nop.ok("GET", "/Customer/GetAll", params={"pageIndex": 0, "pageSize": 2})
    assert all_customers["total_count"] == 5 and len(all_customers["items"]) == 2  # admin, clerk and three shoppers
    by_ids = nop.ok("GET", f"/Customer/GetCustomersByIds/{first['customer_id']};{guest['customer_id']}")
    assert [c["id"] for c in by_ids] == [first["customer_id"], guest["customer_id"]]
    nop.order([("SKU-A", 1)], email="Jo@Example.com")
    addresses = nop.ok("GET", f"/Customer/GetAddressesByCustomerId/{first['customer_id']}")
    assert len(addresses) == 2  # one per distinct email spelling; the identical one was reused
    assert nop.ok("GET", f"/Customer/GetCustomerBillingAddress/{first['customer_id']}")["id"] == addresses[0]["id"]
    assert nop.ok("GET", f"/Customer/GetCustomerShippingAddress/{first['customer_id']}")["id"] == addresses[0]["id"]
    assert first["billing_address_id"] not in {a["id"] for a in addresses}  # orders carry their own copy of the address
    assert nop.get("/Customer/GetById/999").status_code == 404


def test_countries(nop: Nop) -> None:
    """FIDELITY 'GET /Country/GetAllCountries'. Country actions and CountryDto as the plugin has them (CONTRACT actions Country/*, DTO
    CountryDto: allows_billing, allows_shipping, limited_to_stores); there is no Country/GetAll."""
    countries = nop.ok("GET", "/Country/GetAllCountries", params={"showHidden": "true"})
    assert len(countries) == 12 and countries[0]["two_letter_iso_code"] == "GB"  # DisplayOrder, then Name
    gb = nop.ok("GET", "/Country/GetById/3")
    assert gb == {"id": 3, "name": "United Kingdom", "allows_billing": True, "allows_shipping": True, "two_letter_iso_code": "GB",
                  "three_letter_iso_code": "GBR", "numeric_iso_code": 826, "subject_to_vat": True, "published": True, "display_order": 1,
                  "limited_to_stores": False}
    assert {c["two_letter_iso_code"] for c in countries} == {"GB", "US", "DE", "FR", "IE", "ES", "IT", "NL", "BE", "SE", "CA", "AU"}
    assert nop.get("/Country/GetAll").status_code == 404
    assert len(nop.ok("GET", "/Country/GetAllCountriesForBilling")) == 12
    assert len(nop.ok("GET", "/Country/GetAllCountriesForShipping")) == 12
    assert nop.ok("GET", "/Country/GetCountryByTwoLetterIsoCode", params={"twoLetterIsoCode": "gb"})["id"] == 3
    assert nop.ok("GET", "/Country/GetCountryByThreeLetterIsoCode", params={"threeLetterIsoCode": "DEU"})["id"] == 4
    missing = nop.get("/Country/GetCountryByTwoLetterIsoCode", twoLetterIsoCode="XX")
    assert missing.status_code == 404 and missing.json() == "Country two letter ISO code=XX not found"
    assert [c["id"] for c in nop.ok("GET", "/Country/GetCountriesByIds/4;3;99")] == [4, 3]


# -- control routes --------------------------------------------------------------------------------
def test_control_routes(nop: Nop) -> None:
    """RULE (the sandbox's control API, ours): a checkout of an unknown SKU is refused by name."""
    nop.product("SKU-A", price=10, stock_quantity=10)
    response = nop.control("POST", "/orders", {"email": "a@b.test", "address": ADDRESS, "items": [{"sku": "NOPE", "quantity": 1}]})
    assert response.status_code == 400 and "NOPE" in response.json()["error"]
    order = nop.order([("SKU-A", 2)])
    detail = nop.controlled("GET", f"/orders/{order['id']}")
    assert detail["order"]["id"] == order["id"] and len(detail["items"]) == 1
    assert nop.controlled("POST", f"/orders/{order['id']}/paid")["payment_status_id"] == 30
    returned = nop.controlled("POST", "/return-requests", {"order_id": order["id"], "quantity": 1, "reason": "Damaged"})
    assert returned["order_item_id"] == detail["items"][0]["id"] and returned["reason_for_return"] == "Damaged"
    assert nop.controlled("POST", f"/orders/{order['id']}/cancel")["order_status_id"] == 40
    assert nop.controlled("POST", f"/orders/{order['id']}/delete")["deleted"] is True
    assert nop.control("POST", "/orders/999/paid").status_code == 404
    state = nop.controlled("GET", "/state")
    assert (state["orders"], state["deleted_orders"], state["products"], state["return_requests"], state["shipments"]) == (0, 1, 1, 1, 0)
    assert state["customers"] == 3
    stats = nop.controlled("GET", "/stats")
    assert not any(key.startswith(("POST /__sandbox__", "GET /__sandbox__")) for key in stats["requests"])


def test_reset_empty_and_seeded(nop: Nop, sandbox) -> None:  # noqa: ANN001
    """RULE (the sandbox's control API and generator, ours); FIDELITY 'GET /Order/Search' (CreatedOnUtc DESC)
    for the order of the page read back."""
    assert nop.controlled("GET", "/state")["orders"] == 0
    nop.controlled("POST", "/reset", {"seed": 42, "scale": "small"})
    seeded = nop.controlled("GET", "/state")
    assert seeded["orders"] > 0 and seeded["products"] > 0
    page = nop.ok("GET", "/Order/Search", params={"pageSize": 5})  # admin token survives a reset
    assert page["total_count"] == seeded["orders"]
    created = [o["created_on_utc"] for o in page["items"]]
    assert created == sorted(created, reverse=True)


def test_unexpected_exception_is_500_without_traceback(nop: Nop, monkeypatch) -> None:  # noqa: ANN001
    """FIDELITY 'exception bodies' (WAPI ErrorHandlerMiddleware.cs: any other exception 500 {message,
    inner_exception_message, stack_trace: ''}, developer mode off)."""
    product = nop.product("BOOM", price=1)

    def explode(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        try:
            raise KeyError("inner")
        except KeyError as inner:
            raise RuntimeError("database is on fire") from inner

    monkeypatch.setattr(nop.world.nopcommerce, "total_stock_quantity", explode)
    response = nop.get(f"/Product/GetTotalStockQuantity/{product['id']}")
    assert response.status_code == 500
    body = response.json()
    assert body["message"] == "database is on fire" and body["stack_trace"] == "" and body["inner_exception_message"]
    assert "Traceback" not in response.text


# -- sourced details of the plugin's actions ---------------------------------------------------------
def test_get_by_ids_leave_soft_deleted_rows_out(nop: Nop) -> None:
    """CORE ProductService.GetProductsByIdsAsync and CustomerService.GetCustomersByIdsAsync call
    GetByIdsAsync(..., includeDeleted: false); GetById returns the deleted row, flagged."""
    a, b = nop.product("DEL-A", price=1), nop.product("DEL-B", price=1)
    nop.ok("DELETE", f"/Product/Delete/{a['id']}")
    assert [p["id"] for p in nop.ok("GET", f"/Product/GetProductsByIds/{a['id']};{b['id']}")] == [b["id"]]
    assert nop.ok("GET", f"/Product/GetById/{a['id']}")["deleted"] is True
    customer = nop.controlled("POST", "/customers", {"email": "gone@example.com"})
    nop.world.nopcommerce.customers[customer["id"]]["deleted"] = True  # the simulator serves no Customer/Delete
    assert [c["id"] for c in nop.ok("GET", f"/Customer/GetCustomersByIds/{customer['id']};1")] == [1]
    assert nop.ok("GET", f"/Customer/GetById/{customer['id']}")["deleted"] is True


def test_binding_errors_come_before_the_action(nop: Nop) -> None:
    """FIDELITY 'model binding' (WAPI BaseNopWebApiController.cs, ASP.NET Core [ApiController]): an
    empty value for a non-nullable int is "The
    value '' is invalid."; an empty nullable one is null; the action's own checks come after."""
    response = nop.get("/Order/Search", storeId="")
    assert response.status_code == 400 and response.json()["errors"] == {"storeId": ["The value '' is invalid."]}
    assert nop.get("/Order/Search", createdFromUtc="").status_code == 200
    response = nop.get("/Order/GetByGuid", guid="not-a-guid")
    assert response.status_code == 400 and "guid" in response.json()["errors"]
    response = nop.get("/Order/GetByGuid")
    assert response.json()["errors"] == {"guid": ["The guid field is required."]}
    assert nop.get("/Order/GetByGuid", guid="00000000-0000-0000-0000-000000000001").json() == "Order is not found"


def test_address_create_is_a_plain_insert_and_a_missing_customer_address_is_no_content(nop: Nop) -> None:
    """WAPI AddressController.Create inserts the mapped DTO (the date as sent); CustomerController.
    GetCustomerBillingAddress returns Ok(null) for a customer without one, which ASP.NET answers 204."""
    created = nop.ok("POST", "/Address/Create", json={"first_name": "Plain", "city": "Leeds"})
    assert created["created_on_utc"] == "0001-01-01T00:00:00"
    customer = nop.controlled("POST", "/customers", {"email": "noaddress@example.com"})
    nop.world.nopcommerce.customers[customer["id"]]["billing_address_id"] = None
    response = nop.get(f"/Customer/GetCustomerBillingAddress/{customer['id']}")
    assert response.status_code == 204 and response.content == b""
    assert nop.get("/Customer/GetCustomerBillingAddress/999999").json() == "Customer Id=999999 not found"
    assert nop.ok("GET", "/Customer/GetAddressesByCustomerId/999999") == []  # no 404 for an unknown customer


def test_a_partially_refunded_order_can_be_marked_as_paid(nop: Nop) -> None:
    """CORE OrderProcessingService.CanMarkOrderAsPaid refuses cancelled orders and the Paid,
    Refunded and Voided payment statuses only."""
    nop.product("PR-1", price=10, stock_quantity=10)
    order = nop.order([("PR-1", 1)])
    assert nop.call("PUT", "/Order/Update", json=dict(order, payment_status_id=35)).status_code == 200
    assert nop.ok("GET", f"/OrderProcessing/CanMarkOrderAsPaid/{order['id']}") is True
    assert nop.call("PUT", "/Order/Update", json=dict(order, payment_status_id=50)).status_code == 200
    assert nop.ok("GET", f"/OrderProcessing/CanMarkOrderAsPaid/{order['id']}") is False
