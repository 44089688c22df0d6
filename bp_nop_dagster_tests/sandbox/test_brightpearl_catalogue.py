"""The Brightpearl simulator's catalogue, prices, purchase orders and contact changes (issue 15):
product PUT and product-search `updatedOn`, product prices (GET by price list, PUT), purchase
orders with their delivery dates and goods-in receipts, contact PATCH, postal-address PUT, and the
control API's staff edits.

Expected values come from the source each test names (api-docs.brightpearl.com pages, help
articles, the recordings in bp_nop_dagster/contracts/brightpearl/recordings), never from the
simulator. Where time matters the account's clock is fixed (no sleeps).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bp_nop_dagster.contracts import BRIGHTPEARL_RECORDINGS
from bp_nop_dagster.contracts.shapes import shape_problems
from bp_nop_dagster_tests.sandbox.test_brightpearl_api import BP, bp  # noqa: F401  (bp is a fixture)

T0 = datetime(2031, 3, 2, 9, 0, tzinfo=UTC)  # after the seeded shop (stamped by the real clock)


def _recorded(name: str, index: int = 0) -> dict:
    return json.loads((BRIGHTPEARL_RECORDINGS / name).read_text())["interactions"][index]


def _at(bp: BP, when: datetime) -> None:
    """Fix the account's clock (the sandbox runs in this process)."""
    bp.sandbox.world.brightpearl.clock = lambda: when


def _product(bp: BP, product_id: int) -> dict:
    return bp.ok("GET", f"/product-service/product/{product_id}")["response"][0]


def _updated_since(bp: BP, resource: str, when: datetime, column: str) -> list[int]:
    since = when.isoformat().replace("+00:00", "Z")
    rows = bp.ok("GET", f"/{resource}?updatedOn={since}/&columns={column}")["response"]["results"]
    return [row[0] for row in rows]


# ------------------------------------------------------------------------------------ products


def test_a_product_put_renames_it_and_moves_updated_on_and_version(bp: BP):
    """product_put.json: PUT /product-service/product/{id} with salesChannels[{salesChannelName "Brightpearl",
    productName}] -> {}. product_get_one.json: version equals updatedOn in milliseconds. api-docs
    product/product/put.html: an If-Match version other than the product's answers 412; "Brightpearl" is the only
    sales channel. The product then appears in product-search?updatedOn=since/."""
    s = bp.shop
    recorded = _recorded("product_put.json", 1)
    _at(bp, T0)
    before = _product(bp, s.p1)
    assert bp.ok("PUT", f"/product-service/product/{s.p1}", recorded["request_body"]) == recorded["body"] == {}
    after = _product(bp, s.p1)
    assert after["salesChannels"][0]["productName"] == "Test Product Updated!"
    assert after["identity"]["sku"] == before["identity"]["sku"] == "SKU-A"  # fields it does not send are kept
    assert after["updatedOn"].startswith("2031-03-02T09:00:00") and after["version"] == int(T0.timestamp() * 1000)
    assert _updated_since(bp, "product-service/product-search", T0, "productId") == [s.p1]
    stale = bp.call("PUT", f"/product-service/product/{s.p1}", json=recorded["request_body"],
                    headers={**bp.http.headers, "brightpearl-app-ref": "sandbox_bpnop",
                             "brightpearl-account-token": "sandbox-token", "If-Match": str(before["version"])})
    assert stale.status_code == 412
    fresh = bp.call("PUT", f"/product-service/product/{s.p1}", json={"salesChannels": [{"productName": "Scarf"}]},
                    headers={"brightpearl-app-ref": "sandbox_bpnop", "brightpearl-account-token": "sandbox-token",
                             "If-Match": str(after["version"])})
    assert fresh.status_code == 200
    wrong_channel = {"salesChannels": [{"salesChannelName": "Amazon", "productName": "x"}]}
    assert bp.put(f"/product-service/product/{s.p1}", wrong_channel).status_code == 400
    assert bp.put("/product-service/product/999", recorded["request_body"]).status_code == 404


def test_product_status_changes_and_archiving_needs_no_stock(bp: BP):
    """help 212647683: statuses Live, Discontinued, Archived; a product can be archived only when its in-stock
    quantity is zero in every warehouse and nothing is in quarantine (product_get_one.json: status "LIVE")."""
    s = bp.shop
    assert _product(bp, s.p3)["status"] == "LIVE"
    assert bp.ok("PUT", f"/product-service/product/{s.p1}", {"status": "DISCONTINUED"}) == {}
    assert _product(bp, s.p1)["status"] == "DISCONTINUED"
    assert bp.put(f"/product-service/product/{s.p1}", {"status": "ARCHIVED"}).status_code == 400  # 14 in stock
    assert bp.ok("PUT", f"/product-service/product/{s.p3}", {"status": "ARCHIVED"}) == {}  # not stock tracked
    assert bp.put(f"/product-service/product/{s.p3}", {"status": "GONE"}).status_code == 400


def test_what_moves_a_products_updated_on_is_switchable(bp: BP):
    """A product PUT sets updatedOn (the PUT doc, the recorded version = updatedOn); whether price changes or
    goods movements do has no source: FidelityOptions.product_updated_on_by (default: the PUT only)."""
    s = bp.shop
    _at(bp, T0)
    bp.ok("PUT", f"/product-service/product-price/{s.p2}/price-list", {"priceLists": [{"priceListId": 2, "quantityPrice": {"1": 6}}]})
    bp.control("POST", "/stock", {"product_id": s.p1, "warehouse_id": s.wh1, "quantity": 2})
    assert _updated_since(bp, "product-service/product-search", T0, "productId") == []
    bp.control("PUT", "/fidelity", {"product_updated_on_by": ["put", "price", "stock"]})
    bp.ok("PUT", f"/product-service/product-price/{s.p2}/price-list", {"priceLists": [{"priceListId": 2, "quantityPrice": {"1": 7}}]})
    bp.control("POST", "/stock", {"product_id": s.p1, "warehouse_id": s.wh1, "quantity": 2})
    assert _updated_since(bp, "product-service/product-search", T0, "productId") == [s.p1, s.p2]


def test_product_prices_are_read_per_price_list_and_put_as_recorded(bp: BP):
    """product_price_put.json: PUT /product-price/{id}/price-list {"priceLists":[{"priceListId": 1, "quantityPrice":
    {"1": 100, "5": 450}}]} -> {}. product_price_get.json: GET /product-price/{id} -> [{productId, priceLists
    [{priceListId, currencyCode, currencyId, quantityPrice}]}], one entry per price list, "{}" where the list has no
    price, prices as 4-decimal strings. api-docs product/product-price/get.html: /price-list/{ids} narrows the lists;
    price_list_get.json: the price lists."""
    s = bp.shop
    recorded = _recorded("product_price_put.json")
    put = bp.call("PUT", f"/product-service/product-price/{s.p1}/price-list", json=recorded["request_body"])
    assert (put.status_code, put.json()) == (200, recorded["body"])
    body = bp.ok("GET", f"/product-service/product-price/{s.p1},{s.p2}")
    assert shape_problems(_recorded("product_price_get.json")["body"], body) == []
    prices = {p["productId"]: {pl["priceListId"]: pl["quantityPrice"] for pl in p["priceLists"]} for p in body["response"]}
    lists = [p["id"] for p in bp.ok("GET", "/product-service/price-list")["response"]]
    assert set(prices[s.p1]) == set(lists)  # an entry per price list
    assert prices[s.p1][1] == {"1": "100.0000", "5": "450.0000"}
    assert prices[s.p2][1] == {}  # no cost price
    only = bp.ok("GET", f"/product-service/product-price/{s.p1}/price-list/1")["response"]
    assert [pl["priceListId"] for pl in only[0]["priceLists"]] == [1]
    bad_list = {"priceLists": [{"priceListId": 99, "quantityPrice": {"1": 1}}]}
    assert bp.put(f"/product-service/product-price/{s.p1}/price-list", bad_list).status_code == 400
    assert bp.put("/product-service/product-price/999/price-list", recorded["request_body"]).status_code == 404
    not_found = _recorded("product_price_get_not_found.json")
    assert bp.get("/product-service/product-price/999").json() == not_found["body"]


def test_a_new_orders_rows_are_priced_from_its_price_list(bp: BP):
    """api-docs order/order/post.html: "If no price list ID is sent in the customer/supplier's assigned price list is
    used"; a row without a net takes the product's price on the order's price list (the trade list is net: EXC)."""
    s = bp.shop
    bp.ok("PUT", f"/product-service/product-price/{s.p1}/price-list", {"priceLists": [{"priceListId": 3, "quantityPrice": {"1": "9.00"}}]})
    so = bp.sales_order(rows=[{"productId": s.p1, "quantity": 2}], priceListId=3)
    [order] = bp.ok("GET", f"/order-service/sales-order/{so}")["response"]
    assert order["rows"][0]["net"] == "18.00" and order["priceModeCode"] == "EXC"


# ------------------------------------------------------------------------------------ purchase orders


def test_a_purchase_order_is_posted_as_recorded_and_received_by_goods_in_notes(bp: BP):
    """order_post_po.json: POST /order-service/order {reference, orderTypeCode "PO", parties.supplier.contactId} ->
    {"response": id}; order_get_one_po.json: the order GET's shape (parties.supplier, itemCost, stockStatusCode PON,
    allocationStatusCode ANR, shippingStatusCode SNS). api-docs order/order/post.html: deliveryDate defaults to
    "today's Date plus the contact's lead time". warehouse/goods-in-note/post.html: part receipts against the
    purchase order's rows; help 211131986: its inventory status follows (none / some / all received)."""
    s = bp.shop
    _at(bp, T0)
    bp.ok("PATCH", f"/contact-service/contact/{s.c3}", [{"op": "replace", "path": "/leadTime", "value": 10}])
    recorded = _recorded("order_post_po.json")
    body = json.loads(json.dumps(recorded["request_body"]).replace('"contactId": 418', f'"contactId": {s.c3}'))
    response = bp.call("POST", "/order-service/order", json=body)
    assert response.status_code == 200 and shape_problems(recorded["body"], response.json()) == []
    po = response.json()["response"]
    row = bp.ok("POST", f"/order-service/order/{po}/row", {"productId": s.p2, "quantity": {"magnitude": 4},
                                                          "rowValue": {"taxCode": "T5", "rowNet": {"value": 8}, "rowTax": {"value": 0.4}}})["response"]
    [order] = bp.ok("GET", f"/order-service/order/{po}")["response"]
    optional = {"response[].closedOn", "response[].updatedOn"}
    assert shape_problems(_recorded("order_get_one_po.json")["body"], {"response": [order]}, optional) == []
    assert order["delivery"]["deliveryDate"].startswith("2031-03-12")  # today + lead time 10 days
    assert order["orderRows"][str(row)]["itemCost"]["value"] == "2.0000" and order["parties"]["supplier"]["contactId"] == s.c3
    assert (order["stockStatusCode"], order["allocationStatusCode"], order["shippingStatusCode"]) == ("PON", "ANR", "SNS")
    on_hand = bp.ok("GET", f"/warehouse-service/product-availability/{s.p2}")["response"][str(s.p2)]["total"]["onHand"]
    receipt = {"warehouseId": s.wh1, "goodsMoved": [{"productId": s.p2, "purchaseOrderRowId": row, "quantity": 3}]}
    bp.ok("POST", f"/warehouse-service/order/{po}/goods-note/goods-in", receipt)
    assert bp.ok("GET", f"/order-service/order/{po}")["response"][0]["stockStatusCode"] == "POP"
    receipt["goodsMoved"][0]["quantity"] = 1
    bp.ok("POST", f"/warehouse-service/order/{po}/goods-note/goods-in", receipt)
    assert bp.ok("GET", f"/order-service/order/{po}")["response"][0]["stockStatusCode"] == "POA"
    assert bp.ok("GET", f"/warehouse-service/product-availability/{s.p2}")["response"][str(s.p2)]["total"]["onHand"] == on_hand + 4
    found = bp.ok("GET", "/order-service/order-search?orderTypeId=2&columns=orderId,deliveryDate")["response"]["results"]
    assert [row[0] for row in found] == [po] and found[0][1].startswith("2031-03-12")
    missing = bp.post("/order-service/order", {"orderTypeCode": "PO", "parties": {"supplier": {}}})
    assert missing.json() == {"errors": [{"code": "ORDC-022", "message": "Suppllier ID Required."}]}  # as recorded


def test_staff_raise_and_receive_a_purchase_order_through_the_control_api(bp: BP):
    """The control API's purchase order (rows at the supplier's cost price unless given, an expected delivery date)
    and its receipt go through the order POST and goods-in POST rules (order_get_one_po.json: itemCost per unit)."""
    s = bp.shop
    made = bp.control("POST", "/purchase-orders", {"supplier_id": s.c3, "delivery_date": "2026-04-01T00:00:00Z",
                                                   "rows": [{"sku": "SKU-A", "quantity": 5, "unit_cost": "3.10"}]})
    [order] = bp.ok("GET", f"/order-service/order/{made['order_id']}")["response"]
    assert order["delivery"]["deliveryDate"].startswith("2026-04-01")
    assert order["orderRows"][str(made["row_ids"][0])]["itemCost"]["value"] == "3.1000"
    note = bp.control("POST", f"/orders/{made['order_id']}/receive", {})["goods_note_id"]
    notes = bp.ok("GET", f"/warehouse-service/order/{made['order_id']}/goods-note/goods-in/{note}")["response"]
    assert notes[str(note)]["goodsMoved"][0]["quantity"] == 5
    bp.control("POST", f"/orders/{made['order_id']}/receive", {}, status=400)  # nothing left


# ------------------------------------------------------------------------------------ contacts


def test_a_contact_patch_answers_the_contact_and_moves_updated_on(bp: BP):
    """customer__patch__simple_patch.json: PATCH /contact-service/contact/{id} [replace /firstName, replace
    /lastName] -> {"response": contact}, its updatedOn later than the same day's GET (customer__get__simple_get.json).
    api-docs contact/contact/patch.html: /communication/emails/PRI/email and telephones take every operation."""
    s = bp.shop
    recorded = _recorded("customer__patch__simple_patch.json")
    _at(bp, T0)
    response = bp.call("PATCH", f"/contact-service/contact/{s.c1}", json=recorded["request_body"])
    assert response.status_code == 200
    assert shape_problems(recorded["body"], response.json(), {"response.communication.telephones.PRI"}) == []
    contact = response.json()["response"]
    assert (contact["firstName"], contact["lastName"]) == ("Jane", "Smith")
    assert contact["updatedOn"].startswith("2031-03-02T09:00:00")
    assert _updated_since(bp, "contact-service/contact-search", T0, "contactId") == [s.c1]
    _at(bp, T0 + timedelta(hours=1))
    changed = bp.ok("PATCH", f"/contact-service/contact/{s.c1}", [
        {"op": "replace", "path": "/communication/emails/PRI/email", "value": "jane@new.example"},
        {"op": "move", "from": "/communication/telephones/PRI", "path": "/communication/telephones/SEC"},
        {"op": "add", "path": "/communication/telephones/PRI", "value": "+44 1111"},
    ])["response"]
    assert changed["communication"]["emails"]["PRI"]["email"] == "jane@new.example"
    assert changed["communication"]["telephones"] == {"PRI": "+44 1111", "SEC": "+44 7000"}
    rows = bp.ok("GET", f"/contact-service/contact-search?contactId={s.c1}&columns=primaryEmail,updatedOn")["response"]["results"]
    assert rows[0][0] == "jane@new.example" and rows[0][1].startswith("2031-03-02T10:00:00")


@pytest.mark.parametrize("operation", [
    {"op": "remove", "path": "/firstName"},  # test, add, replace only
    {"op": "replace", "path": "/organisation/name", "value": "x"},  # not a documented path
    {"op": "add", "path": "/leadTime", "value": 3},  # replace only
])
def test_undocumented_contact_patch_operations_are_refused(bp: BP, operation):
    """api-docs contact/contact/patch.html lists each path's operations; others answer the order PATCH's recorded
    500 CMNC-044 (order_patch_error_operation.json)."""
    response = bp.call("PATCH", f"/contact-service/contact/{bp.shop.c1}", json=[operation])
    assert response.status_code == 500 and response.json()["errors"][0]["code"] == "CMNC-044"


def test_a_failed_patch_test_changes_nothing(bp: BP):
    """DOC contact/contact/patch.html lists the JSON-Patch `test` op for every path; RFC 6902 §5: when a `test`
    fails the whole PATCH is refused and nothing changes."""
    s = bp.shop
    response = bp.call("PATCH", f"/contact-service/contact/{s.c1}", json=[
        {"op": "replace", "path": "/firstName", "value": "Zed"}, {"op": "test", "path": "/lastName", "value": "Nope"}])
    assert response.status_code == 400
    assert bp.ok("GET", f"/contact-service/contact/{s.c1}")["response"][0]["firstName"] == "Ann"


def test_a_postal_address_put_replaces_it_and_leaves_the_contact_updated_on_by_default(bp: BP):
    """api-docs contact/postal-address/put.html: PUT /postal-address/{id} with the POST's fields (addressLine1
    required) -> {}. Whether it moves the contact's updatedOn has no source
    (FidelityOptions.contact_updated_on_by_address, off by default)."""
    s = bp.shop
    address_id = bp.ok("GET", f"/contact-service/contact/{s.c1}")["response"][0]["postAddressIds"]["DEF"]
    _at(bp, T0)
    put = {"addressLine1": "9 New Road", "addressLine3": "York", "postalCode": "YO1 7AA", "countryIsoCode": "GBR"}
    assert bp.ok("PUT", f"/contact-service/postal-address/{address_id}", put) == {}
    [address] = bp.ok("GET", f"/contact-service/postal-address/{address_id}")["response"]
    assert (address["addressLine1"], address["addressLine2"], address["postalCode"]) == ("9 New Road", "", "YO1 7AA")
    assert _updated_since(bp, "contact-service/contact-search", T0, "contactId") == []
    assert bp.put(f"/contact-service/postal-address/{address_id}", {"postalCode": "X"}).status_code == 400
    assert bp.put("/contact-service/postal-address/1", put).status_code == 404
    bp.control("PUT", "/fidelity", {"contact_updated_on_by_address": True})
    bp.ok("PUT", f"/contact-service/postal-address/{address_id}", put)
    assert _updated_since(bp, "contact-service/contact-search", T0, "contactId") == [s.c1]


def test_staff_edit_products_and_contacts_through_the_control_api(bp: BP):
    """RULE (the sandbox's control API, ours): staff edits go through the product PUT, product-price PUT, contact
    PATCH and postal-address PUT rules (DOC product/product/put.html, product/product-price/put.html,
    contact/contact/patch.html: the sources of those tests)."""
    s = bp.shop
    _at(bp, T0)
    edited = bp.control("PUT", f"/products/{s.p1}", {"name": "Alpine Scarf II", "status": "DISCONTINUED",
                                                     "prices": {"2": "15.00", "3": "11.00"}})
    assert edited["version"] == int(T0.timestamp() * 1000)
    product = _product(bp, s.p1)
    assert (product["salesChannels"][0]["productName"], product["status"]) == ("Alpine Scarf II", "DISCONTINUED")
    prices = bp.ok("GET", f"/product-service/product-price/{s.p1}/price-list/2-3")["response"][0]["priceLists"]
    assert [pl["quantityPrice"] for pl in prices] == [{"1": "15.0000"}, {"1": "11.0000"}]
    contact = bp.control("PUT", f"/contacts/{s.c2}", {"email": "anna@new.example", "phone": "+353 1",
                                                      "address": {"address_line1": "2 Quay St", "city": "Galway",
                                                                  "country_iso3": "IRL"}})
    assert contact["communication"]["emails"]["PRI"]["email"] == "anna@new.example"
    [address] = bp.ok("GET", f"/contact-service/postal-address/{contact['postAddressIds']['DEF']}")["response"]
    assert (address["addressLine1"], address["addressLine3"], address["countryIsoCode"]) == ("2 Quay St", "Galway", "IRL")
    bp.control("PUT", "/products/999", {"name": "x"}, status=404)
