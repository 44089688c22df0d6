"""The Brightpearl simulator follows its sources where an audit found it following our guesses
(issue 11), and its fidelity table covers every route and behaviour.

Each test names its source; the expected values come from it (doc pages under
api-docs.brightpearl.com, help articles, the recordings, Airbyte's source-brightpearl), never from
the simulator itself.
"""

from __future__ import annotations

import pytest
from starlette.routing import Route

from bp_nop_dagster.sandbox.brightpearl.app import build_brightpearl_app
from bp_nop_dagster.sandbox.brightpearl.backend import FidelityOptions
from bp_nop_dagster.sandbox.brightpearl.fidelity import FACTS
from bp_nop_dagster.sandbox.world import SandboxWorld
from bp_nop_dagster_tests.sandbox.test_brightpearl_api import BP, bp, code  # noqa: F401  (bp is a fixture)

API_ROOT = "/public-api/{account}"


def _router_routes() -> set[str]:
    """`METHOD /template` of every API route the Brightpearl app's Starlette router has."""
    app = build_brightpearl_app(SandboxWorld(seed=1, scale="small"))
    while not hasattr(app, "router"):
        app = app.app  # through the instrumentation and the gate to the Starlette app
    subjects = set()
    for route in app.router.routes:
        if isinstance(route, Route) and route.path.startswith(API_ROOT):
            subjects |= {f"{method} {route.path[len(API_ROOT):]}" for method in route.methods - {"HEAD"}}
    return subjects


# ------------------------------------------------------------------------------------ the fidelity table


def test_every_api_route_has_exactly_one_fact_and_every_endpoint_fact_a_route():
    """RULE (issue 11): every route the simulator serves has one fact in the fidelity table, so every route's
    behaviour names its source there."""
    routes = _router_routes()
    endpoint_facts = [f.subject for f in FACTS if f.is_endpoint]
    assert len(routes) > 80
    assert sorted(routes - set(endpoint_facts)) == [], "routes without a fact"
    assert sorted(set(endpoint_facts) - routes) == [], "facts for routes the simulator does not have"
    assert len(endpoint_facts) == len(set(endpoint_facts)), "a route with two facts"


def test_every_inferred_fact_names_the_option_that_switches_it():
    fields = set(FidelityOptions.model_fields)
    inferred = [f for f in FACTS if f.confidence == "inferred"]
    assert inferred
    for fact in inferred:
        named = {word.split("FidelityOptions.", 1)[1].split(" ")[0].rstrip(",") for word in fact.configurable.split()
                 if word.startswith("FidelityOptions.")} if fact.configurable else set()
        assert named and named <= fields, (fact.subject, fact.configurable)
    assert {f.system for f in FACTS} == {"brightpearl"} and len({f.subject for f in FACTS}) == len(FACTS)


def test_fidelity_options_are_read_and_changed_through_the_control_api(bp: BP):
    assert bp.control("GET", "/fidelity") == FidelityOptions().model_dump(mode="json")
    changed = bp.control("PUT", "/fidelity", {"non_stock_tracked_availability": "drop"})
    assert changed["non_stock_tracked_availability"] == "drop" and changed["duplicate_sales_order_reply"] == "existing_id"
    bp.control("PUT", "/fidelity", {"non_stock_tracked_availability": "sometimes"}, status=400)
    bp.control("PUT", "/fidelity", {"no_such_option": 1}, status=400)
    bp.control("POST", "/reset", {"empty": True})
    assert bp.control("GET", "/fidelity")["non_stock_tracked_availability"] == "error_if_any"  # a reset restores defaults


# ------------------------------------------------------------------------------------ goods-out search (finding 1)


def test_goods_out_search_has_the_documented_columns_and_finds_shipped_notes_by_shipped_on(bp: BP):
    """api-docs warehouse/goods-out-note/search.html: goodsOutNoteId, printed, picked, packed, shipped, shippedOn,
    orderId, shippingMethodId, warehouseId, priority, createdOn, releaseDate, createdBy (then labelUri, ... where the
    page's table breaks off); no updatedOn."""
    order_id = bp.sales_order()
    shipped = bp.control("POST", f"/orders/{order_id}/fulfil", {"ship": True})["goods_note_id"]
    meta = bp.ok("GET", "/warehouse-service/goods-note/goods-out-search/meta-data")["response"]["columns"]
    names = [c["name"] for c in meta]
    assert names[:13] == ["goodsOutNoteId", "printed", "picked", "packed", "shipped", "shippedOn", "orderId",
                          "shippingMethodId", "warehouseId", "priority", "createdOn", "releaseDate", "createdBy"]
    assert "updatedOn" not in names and "goodsNoteId" not in names
    found = bp.ok("GET", "/warehouse-service/goods-note/goods-out-search?shipped=true&shippedOn=2020-01-01T00:00:00Z/"
                         "&columns=goodsOutNoteId,orderId")["response"]["results"]
    assert found == [[shipped, order_id]]


# ------------------------------------------------------------------------------------ payments (findings 3, 4)


def _payment(bp: BP, order_id: int, **overrides) -> object:
    body = {"transactionRef": "P-1", "paymentMethodCode": "CARD", "paymentType": "RECEIPT", "orderId": order_id,
            "currencyIsoCode": "GBP", "amountPaid": "1.00", "paymentDate": "2026-01-05"}
    return bp.post("/accounting-service/customer-payment", {**body, **overrides})


def test_a_payment_method_code_the_account_does_not_have_is_accepted_without_a_journal(bp: BP):
    """Customer Payment overview (api-docs accounting/customer-payment): the code "may or may not exist" as a
    Brightpearl Payment Method; a Sales Receipt (journalId) is created only when one with that code exists."""
    order_id = bp.sales_order()
    unknown = _payment(bp, order_id, paymentMethodCode="STRIPE", transactionRef="S-1")
    known = _payment(bp, order_id, transactionRef="C-1")
    assert unknown.status_code == 200 and known.status_code == 200
    rows = bp.ok("GET", f"/accounting-service/customer-payment-search?orderId={order_id}"
                        "&columns=paymentMethodCode,journalId")["response"]["results"]
    assert sorted(rows, key=str) == sorted([["STRIPE", None], ["CARD", rows[[r[0] for r in rows].index("CARD")][1]]], key=str)
    assert isinstance(rows[[r[0] for r in rows].index("CARD")][1], int)


def test_an_auth_needs_its_authorization_expiry(bp: BP):
    """Customer Payment POST doc: authorizationExpiry "Required when payment type is AUTH, ignored otherwise"."""
    order_id = bp.sales_order()
    auth = {"paymentType": "AUTH", "amountAuthorized": "5.00", "amountPaid": None, "transactionRef": "A-1"}
    assert _payment(bp, order_id, **auth).status_code == 400
    assert _payment(bp, order_id, **auth, authorizationExpiry="2026-01-12T00:00:00Z").status_code == 200
    assert _payment(bp, order_id, transactionRef="R-1", authorizationExpiry="not even a date").status_code == 200  # ignored


@pytest.mark.parametrize("shape, keys", [
    ("both", {"id", "name", "code", "isActive", "bankAccounts", "installedIntegrationId"}),
    ("documented", {"name", "code", "isActive", "bankAccounts", "installedIntegrationId"}),
    ("recorded", {"id", "name"}),
])
def test_payment_method_items_in_the_documented_and_the_recorded_shape(bp: BP, shape, keys):
    """api-docs accounting/payment-method/get.html: {name, code, isActive, bankAccounts, installedIntegrationId};
    recording payment_method_get.json: {id, name}."""
    bp.control("PUT", "/fidelity", {"payment_method_shape": shape})
    items = bp.ok("GET", "/accounting-service/payment-method")["response"]
    assert {frozenset(item) for item in items} == {frozenset(keys)}
    assert bp.ok("GET", "/accounting-service/payment-method/2")["response"][0]["name"] == "PayPal"


# ------------------------------------------------------------------------------------ allocation (finding 5)


def test_a_new_sales_order_allocates_on_hand_stock_without_a_goods_movement(bp: BP):
    """help 211131266 "Understanding Inventory Levels": "If a customer places a sale on a channel, and there is
    inventory available, then that inventory is allocated to the sales order ... The on-hand quantity is reduced";
    on hand = in stock - allocated; stock only leaves when a goods-out note is shipped."""
    s = bp.shop
    movements = bp.ok("GET", "/warehouse-service/goods-movement-search")["response"]["metaData"]["resultsAvailable"]
    order_id = bp.sales_order(rows=[{"productId": s.p1, "quantity": 4}, {"productId": s.p2, "quantity": 5}])
    availability = bp.ok("GET", f"/warehouse-service/product-availability/{s.p1},{s.p2}")["response"]
    assert availability[str(s.p1)]["warehouses"][str(s.wh1)] == {"inStock": 10, "onHand": 6, "allocated": 4, "inTransit": 0}
    assert availability[str(s.p2)]["warehouses"][str(s.wh1)] == {"inStock": 3, "onHand": 0, "allocated": 3, "inTransit": 0}
    assert bp.ok("GET", "/warehouse-service/goods-movement-search")["response"]["metaData"]["resultsAvailable"] == movements
    order = bp.ok("GET", f"/order-service/order/{order_id}")["response"][0]
    assert order["allocationStatusCode"] == "APA"  # 3 of p2's 5 on hand


def test_a_phone_order_is_not_allocated_on_create_unless_the_account_does_so(bp: BP):
    """help 211131506 "Allocation": manually entered orders are not allocated automatically (inferred for the
    phone channel: `allocate_on_create`)."""
    s = bp.shop
    phone = bp.control("POST", "/orders", {"channel_id": 2, "rows": [{"sku": "SKU-A", "quantity": 2}], "warehouse_id": s.wh1})
    assert phone["allocation_status"] == "ANA" and bp.sandbox.world.brightpearl.on_hand(s.p1, s.wh1) == 10
    market = bp.control("POST", "/orders", {"channel_id": 3, "rows": [{"product_id": s.p1, "quantity": 2}], "warehouse_id": s.wh1})
    assert market["allocation_status"] == "AAA" and bp.sandbox.world.brightpearl.on_hand(s.p1, s.wh1) == 8
    bp.control("PUT", "/fidelity", {"allocate_on_create_warehouses": [s.wh2]})
    web = bp.sales_order(rows=[{"productId": s.p1, "quantity": 1}])  # in wh1
    assert bp.ok("GET", f"/order-service/order/{web}")["response"][0]["allocationStatusCode"] == "ANA"
    bp.control("PUT", "/fidelity", {"allocate_on_create_warehouses": None, "allocate_on_create_default": False,
                                    "allocate_on_create": {}})
    web = bp.sales_order(rows=[{"productId": s.p1, "quantity": 1}])
    assert bp.ok("GET", f"/order-service/order/{web}")["response"][0]["allocationStatusCode"] == "ANA"
    bp.control("POST", "/orders", {"channel_id": 9, "rows": [{"sku": "SKU-A", "quantity": 1}]}, status=400)
    bp.control("POST", "/orders", {"channel_id": 2, "rows": [{"sku": "NOPE", "quantity": 1}]}, status=404)


# ------------------------------------------------------------------------------------ WHSC-097 (finding 6)


def test_availability_of_a_non_stock_tracked_product_answers_whsc_097(bp: BP):
    """AIRBYTE source-brightpearl handles exactly these 400 bodies: {"code": "WHSC-097", "message": "These are non
    stock tracked products."} and "This is a non stock tracked product."."""
    s = bp.shop
    one = bp.get(f"/warehouse-service/product-availability/{s.p3}")
    assert (one.status_code, one.json()) == (400, {"errors": [{"code": "WHSC-097", "message": "This is a non stock tracked product."}]})
    mixed = bp.get(f"/warehouse-service/product-availability/{s.p1},{s.p3}")
    assert (mixed.status_code, mixed.json()["errors"][0]["message"]) == (400, "These are non stock tracked products.")
    bp.control("PUT", "/fidelity", {"non_stock_tracked_availability": "error_if_all"})
    assert set(bp.ok("GET", f"/warehouse-service/product-availability/{s.p1},{s.p3}")["response"]) == {str(s.p1)}
    assert bp.get(f"/warehouse-service/product-availability/{s.p3}").status_code == 400
    bp.control("PUT", "/fidelity", {"non_stock_tracked_availability": "drop"})
    assert bp.ok("GET", f"/warehouse-service/product-availability/{s.p3}")["response"] == {}


# ------------------------------------------------------------------------------------ finding 12


def test_a_never_modified_order_has_no_updated_on_until_it_is_modified(bp: BP):
    """order_search.json: every recorded row's updatedOn (column 9) is null; order_patch.json: the reply of a
    created-then-patched order has no updatedOn and version 1."""
    order_id = bp.sales_order()
    row = bp.ok("GET", f"/order-service/order-search?orderId={order_id}&columns=orderId,updatedOn")["response"]["results"]
    assert row == [[order_id, None]]
    assert "updatedOn" not in bp.ok("GET", f"/order-service/order/{order_id}")["response"][0]
    patched = bp.call("PATCH", f"/order-service/order/{order_id}", json=[{"op": "replace", "path": "/reference", "value": "X"}])
    assert "updatedOn" not in patched.json()["response"] and patched.json()["response"]["version"] == 1
    bp.ok("PUT", f"/order-service/order/{order_id}/status", {"orderStatusId": 7})
    row = bp.ok("GET", f"/order-service/order-search?orderId={order_id}&columns=updatedOn")["response"]["results"]
    assert isinstance(row[0][0], str)


def test_a_postal_address_without_a_country_is_created(bp: BP):
    """api-docs contact/postal-address/post.html: "addressLine1 is required"; the country may be given."""
    address_id = bp.ok("POST", "/contact-service/postal-address", {"addressLine1": "1 Quay St"})["response"]
    address = bp.ok("GET", f"/contact-service/postal-address/{address_id}")["response"][0]
    assert address["addressLine1"] == "1 Quay St" and address["countryIsoCode"] == "GBR"  # the account's own (inferred)
    assert bp.post("/contact-service/postal-address", {"addressLine2": "no line 1"}).status_code == 400


def test_reference_tax_codes_are_spelled_like_the_recorded_ones(bp: BP):
    """tax_code_get.json: short codes (T, Z, N, VAT, I0, ...), a zero-rate code without `rate`."""
    codes = bp.ok("GET", "/accounting-service/tax-code")["response"]
    assert [c["code"] for c in codes] == ["T1", "T5", "T0", "Z"]
    assert all(len(c["code"]) <= 3 for c in codes) and "rate" not in codes[2] and "rate" not in codes[3]


# ------------------------------------------------------------------------------------ finding 13


def test_goods_out_events_need_their_owner(bp: BP):
    """api-docs warehouse/goods-out-note-event/post.html: "All three fields are required" (eventCode, occured,
    eventOwnerId)."""
    order_id = bp.sales_order()
    note = bp.control("POST", f"/orders/{order_id}/fulfil", {"ship": False})["goods_note_id"]
    url = f"/warehouse-service/goods-note/goods-out/{note}/event"
    assert bp.post(url, {"events": [{"eventCode": "PRI", "occured": "2026-01-06T10:00:00Z"}]}).status_code == 400
    assert bp.post(url, {"events": [{"eventCode": "PRI", "eventOwnerId": 4}]}).status_code == 400
    assert bp.ok("POST", url, {"events": [{"eventCode": "PRI", "occured": "2026-01-06T10:00:00Z", "eventOwnerId": 4}]}) == {}


def test_a_contact_email_is_stored_from_the_nested_shape_and_a_flat_one_is_not_dropped(bp: BP):
    """The recorded and documented contact shape is communication.emails.PRI.email (customer__get__simple_get.json):
    a top-level `emails` is refused (or, switched, stored), never silently dropped."""
    nested = bp.ok("POST", "/contact-service/contact", {"firstName": "Nia", "communication": {"emails": {"PRI": {"email": "nia@x.test"}}}})
    got = bp.ok("GET", f"/contact-service/contact/{nested['response']}")["response"][0]
    assert got["communication"]["emails"] == {"PRI": {"email": "nia@x.test"}}
    flat = {"firstName": "Flat", "emails": {"PRI": {"email": "flat@x.test"}}}
    assert bp.post("/contact-service/contact", flat).status_code == 400
    bp.control("PUT", "/fidelity", {"contact_flat_emails": "store"})
    stored = bp.ok("POST", "/contact-service/contact", flat)["response"]
    assert bp.ok("GET", f"/contact-service/contact/{stored}")["response"][0]["communication"]["emails"] == {"PRI": {"email": "flat@x.test"}}


def test_goods_out_note_delete(bp: BP):
    """ruby-brightpearl goods_out_note.rb / api-docs warehouse/goods-out-note/delete.html:
    DELETE /order/{orderId}/goods-note/goods-out/{noteId}; a note's units are allocated until shipped (help 211131266)."""
    s = bp.shop
    order_id = bp.sales_order(rows=[{"productId": s.p1, "quantity": 2}], channelId=2)  # not allocated on create
    note = bp.control("POST", f"/orders/{order_id}/fulfil", {"ship": False})["goods_note_id"]
    world = bp.sandbox.world.brightpearl
    assert world.on_hand(s.p1, s.wh1) == 8
    assert bp.call("DELETE", f"/warehouse-service/order/{order_id + 1}/goods-note/goods-out/{note}").status_code == 404
    assert bp.ok("DELETE", f"/warehouse-service/order/{order_id}/goods-note/goods-out/{note}") == {}
    assert world.on_hand(s.p1, s.wh1) == 10 and bp.ok("GET", f"/warehouse-service/order/{order_id}/goods-note/goods-out")["response"] == {}
    shipped = bp.control("POST", f"/orders/{order_id}/fulfil", {"ship": True})["goods_note_id"]
    assert bp.call("DELETE", f"/warehouse-service/order/{order_id}/goods-note/goods-out/{shipped}").status_code == 400


def test_webhooks_are_listed_and_validated_as_the_post_doc_says(bp: BP):
    """api-docs integration/webhook/get.html: without an ID set every webhook is returned; post.html: bodyTemplate
    and contentType are required for POST and PUT, not for GET; qualityOfService 0 or 1."""
    assert bp.ok("GET", "/integration-service/webhook")["response"] == []
    get_hook = bp.ok("POST", "/integration-service/webhook", {"subscribeTo": "product.modified.on-hand-modified",
                                                             "httpMethod": "GET", "uriTemplate": "https://x.test/${resource-id}"})
    assert bp.post("/integration-service/webhook", {"subscribeTo": "order", "httpMethod": "POST",
                                                    "uriTemplate": "https://x.test"}).status_code == 400
    assert bp.post("/integration-service/webhook", {"subscribeTo": "order", "httpMethod": "GET", "uriTemplate": "https://x.test",
                                                    "qualityOfService": 2}).status_code == 400
    listed = bp.ok("GET", "/integration-service/webhook")["response"]
    assert listed == [{"id": get_hook["response"], "subscribeTo": "product.modified.on-hand-modified", "httpMethod": "GET",
                       "uriTemplate": "https://x.test/${resource-id}", "idSetAccepted": False, "qualityOfService": 0}]


def test_order_patch_follows_the_documented_rules(bp: BP):
    """api-docs order/order/patch.html: /warehouseId "cannot be modified if stock has been allocated for the
    order"; "The order must not be invoiced"; "At least one of the fields must be changed"; remove on
    /reference sets it to an empty string."""
    s = bp.shop
    allocated = bp.sales_order()
    assert bp.call("PATCH", f"/order-service/order/{allocated}", json=[{"op": "replace", "path": "/warehouseId",
                                                                        "value": s.wh2}]).status_code == 400
    open_order = bp.sales_order(channelId=2)
    moved = bp.call("PATCH", f"/order-service/order/{open_order}", json=[{"op": "replace", "path": "/warehouseId", "value": s.wh2},
                                                                        {"op": "remove", "path": "/reference"}])
    assert moved.status_code == 200 and moved.json()["response"]["warehouseId"] == s.wh2
    assert moved.json()["response"]["reference"] == ""
    same = bp.call("PATCH", f"/order-service/order/{open_order}", json=[{"op": "replace", "path": "/warehouseId", "value": s.wh2}])
    assert same.status_code == 400
    bp.ok("PUT", f"/order-service/order/{open_order}/status", {"orderStatusId": 4})
    invoiced = bp.call("PATCH", f"/order-service/order/{open_order}", json=[{"op": "replace", "path": "/reference", "value": "Y"}])
    assert invoiced.status_code == 400
    bad = bp.call("PATCH", f"/order-service/order/{open_order}", json=[{"op": "replace", "path": "/orderStatus", "value": 1}])
    assert (bad.status_code, code(bad)) == (500, "CMNC-044")


def test_the_installation_header_is_sent_once_authenticated(bp: BP):
    """order_search_bad_param.json and the webhook recordings carry brightpearl-installed-integration-instance-id;
    payment_method_get.json (another account) does not: a switch."""
    response = bp.get("/warehouse-service/warehouse")
    assert response.headers["brightpearl-installed-integration-instance-id"] == "1"
    refused = bp.get("/warehouse-service/warehouse", headers={"brightpearl-app-ref": "sandbox_bpnop"})
    assert refused.status_code == 401 and "brightpearl-installed-integration-instance-id" not in refused.headers
    bp.control("PUT", "/fidelity", {"installed_integration_instance_id": None})
    assert "brightpearl-installed-integration-instance-id" not in bp.get("/warehouse-service/warehouse").headers


# api-docs.brightpearl.com/accounting/journal/search.html: the columns its table lists, in order (cut after leadSourceId)
JOURNAL_SEARCH_COLUMNS = ["journalId", "journalType", "orderId", "invoiceReference", "channelId", "nominalCode",
                          "journalDate", "journalDebit", "journalCredit", "journalRef", "currencyId", "exchangeRate",
                          "transactionDebit", "transactionCredit", "projectId", "leadSourceId"]


def test_a_receipt_and_a_refund_create_sales_receipt_journals_read_by_get_and_search(bp: BP):
    """A payment whose method exists with a bank account creates a Sales Receipt journal (Customer Payment overview);
    taking payment and making a refund are SR journals, debtors are 1100 (brightpearl.com/support/topic/
    accounting-for-sales); the payment method's bank account is 1200 in GBP here (the sandbox's payment-method
    GET lists it, as the documented shape does). Journal GET and Search shapes from their doc pages."""
    order_id = bp.sales_order()
    assert _payment(bp, order_id, transactionRef="R-1", amountPaid="24.25").status_code == 200
    assert _payment(bp, order_id, transactionRef="F-1", paymentType="PAYMENT", amountPaid="5.00").status_code == 200
    payments = bp.ok("GET", f"/accounting-service/customer-payment-search?orderId={order_id}"
                            "&columns=transactionRef,journalId")["response"]["results"]
    journal_of = {ref: journal for ref, journal in payments}
    body = bp.ok("GET", f"/accounting-service/journal/{min(journal_of.values())}-{max(journal_of.values())}")["response"]
    by_id = {j["id"]: j for j in body["journals"]}
    receipt, refund = by_id[journal_of["R-1"]], by_id[journal_of["F-1"]]
    assert (receipt["journalTypeCode"], refund["journalTypeCode"]) == ("SR", "SR")
    assert [(d["nominalCode"], d["change"]["value"], d["orderId"]) for d in receipt["debits"]] == [("1200", "24.25", order_id)]
    assert [(c["nominalCode"], c["change"]["value"]) for c in receipt["credits"]] == [("1100", "24.25")]
    assert [(d["nominalCode"], c["nominalCode"]) for d, c in zip(refund["debits"], refund["credits"])] == [("1100", "1200")]
    search = bp.ok("GET", f"/accounting-service/journal-search?orderId={order_id}&journalType=SR")["response"]
    assert [c["name"] for c in search["metaData"]["columns"]] == JOURNAL_SEARCH_COLUMNS
    rows = [dict(zip(JOURNAL_SEARCH_COLUMNS, row)) for row in search["results"]]
    assert sorted((r["journalId"], r["nominalCode"], r["transactionDebit"], r["transactionCredit"]) for r in rows) == sorted([
        (journal_of["R-1"], "1200", "24.25", "0.00"), (journal_of["R-1"], "1100", "0.00", "24.25"),
        (journal_of["F-1"], "1100", "5.00", "0.00"), (journal_of["F-1"], "1200", "0.00", "5.00")])


def test_no_journal_without_a_bank_account_in_the_currency_or_when_the_payment_names_one(bp: BP):
    """returns-refunds notes §1 (Customer Payment POST doc): a journal only if the method has a bank account for
    the currency; sending journalId suppresses it. The sandbox's methods bank in GBP only."""
    order_id = bp.sales_order()
    assert _payment(bp, order_id, transactionRef="E-1", currencyIsoCode="EUR").status_code == 200
    assert _payment(bp, order_id, transactionRef="J-1", journalId=42).status_code == 200
    rows = bp.ok("GET", f"/accounting-service/customer-payment-search?orderId={order_id}"
                        "&columns=transactionRef,journalId")["response"]["results"]
    assert sorted(rows) == [["E-1", None], ["J-1", 42]]
    assert bp.ok("GET", f"/accounting-service/journal-search?orderId={order_id}")["response"]["results"] == []
