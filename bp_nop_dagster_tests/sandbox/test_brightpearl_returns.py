"""The Brightpearl simulator's returns and refunds (issue 14): sales credits (POST, GET, close),
PAYMENT customer payments and the derived payment status, sale-payment-total, goods-in notes for
credits, the quarantine location and its release, and the staff-made credit of the control API.

Every expected value comes from the source named in the test (api-docs.brightpearl.com pages, help
articles, docs/reference/returns-refunds.md which names its integrators), never from the simulator.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal

from bp_nop_dagster_tests.sandbox.test_brightpearl_api import BP, bp  # noqa: F401  (bp is a fixture)


def _credit(bp: BP, parent: int | None = None, **extra) -> int:
    """A credit of 1 x SKU-A (net 10.00, tax 2.00) and 1 x SKU-B for customer c1."""
    s = bp.shop
    body = {"customer": {"id": s.c1}, "warehouseId": s.wh1, "channelId": 1, "currency": {"code": "GBP"},
            "rows": [{"productId": s.p1, "quantity": 1, "taxCode": "T1", "net": "10.00", "tax": "2.00", "externalRef": "item-1"},
                     {"productId": s.p2, "quantity": 2, "taxCode": "T5", "net": "8.00", "tax": "0.40"}], **extra}
    if parent is not None:
        body["parentId"] = parent
    return bp.ok("POST", "/order-service/sales-credit", body)["response"]


def _payment(bp: BP, order_id: int, kind: str, amount: str, **extra) -> int:
    body = {"paymentMethodCode": "CARD", "paymentType": kind, "orderId": order_id, "currencyIsoCode": "GBP",
            "paymentDate": "2026-02-01T10:00:00+00:00", **extra}
    body["amountAuthorized" if kind in ("AUTH", "VOID") else "amountPaid"] = amount
    if kind == "AUTH":
        body["authorizationExpiry"] = "2026-02-08T10:00:00+00:00"
    return bp.ok("POST", "/accounting-service/customer-payment", body)["response"]


def _available(bp: BP, product_id: int, warehouse_id: int) -> dict:
    return bp.ok("GET", f"/warehouse-service/product-availability/{product_id}")["response"][str(product_id)]["warehouses"][
        str(warehouse_id)]


# ------------------------------------------------------------------------------------ credits


def test_a_credit_is_posted_with_rows_read_in_the_sales_credit_shape_and_found_by_its_parent(bp: BP):
    """api-docs order/sales-credit/post.html and get.html: the sales-order shape (customer.id, parentId, rows
    with productId, quantity, net and tax as row totals) -> {"response": id}; the GET adds createdOn, total
    {net, tax, gross}, orderPaymentStatus and rows with id and sku. returns-refunds.md §1: the credits of an
    order are found by order-search?orderTypeId=3&parentOrderId={so}; the order GET names parentOrderId."""
    so = bp.sales_order()
    credit_id = _credit(bp, parent=so, externalRef="nop:1:refund:1", installedIntegrationInstanceId=1)
    [credit] = bp.ok("GET", f"/order-service/sales-credit/{credit_id}")["response"]
    assert (credit["id"], credit["parentId"], credit["customer"]["id"]) == (credit_id, so, bp.shop.c1)
    assert credit["total"]["net"] == "18.00" and credit["total"]["tax"] == "2.40" and credit["total"]["gross"] == "20.40"
    assert credit["orderPaymentStatus"] == "UNPAID" and credit["externalRef"] == "nop:1:refund:1"
    assert [(r["sku"], r["net"], r["tax"]) for r in credit["rows"]] == [("SKU-A", "10.00", "2.00"), ("SKU-B", "8.00", "0.40")]
    assert all(isinstance(r["id"], int) for r in credit["rows"]) and credit["rows"][0]["externalRef"] == "item-1"
    [order] = bp.ok("GET", f"/order-service/order/{credit_id}")["response"]
    assert (order["orderTypeCode"], order["parentOrderId"]) == ("SC", so)
    found = bp.ok("GET", f"/order-service/order-search?orderTypeId=3&parentOrderId={so}&columns=orderId")["response"]
    assert found["results"] == [[credit_id]]
    assert bp.ok("GET", f"/order-service/order-search?orderTypeId=1&parentOrderId={so}")["response"]["results"] == []


def test_a_credit_with_a_free_text_row_needs_its_net(bp: BP):
    """returns-refunds.md §1 (SNOW, MED): a free-text row has a name and no productId; net and tax are given."""
    s = bp.shop
    body = {"customer": {"id": s.c1}, "rows": [{"name": "Difference", "quantity": 1, "net": "3.50", "tax": "0", "taxCode": "T0"}]}
    credit_id = bp.ok("POST", "/order-service/sales-credit", body)["response"]
    [credit] = bp.ok("GET", f"/order-service/sales-credit/{credit_id}")["response"]
    assert credit["rows"][0]["name"] == "Difference" and "productId" not in credit["rows"][0]
    response = bp.post("/order-service/sales-credit", {"customer": {"id": s.c1}, "rows": [{"name": "X", "quantity": 1}]})
    assert response.status_code == 400


def test_a_repeated_credit_post_is_the_same_credit_and_the_reply_is_switchable(bp: BP):
    """api-docs order/sales-credit/post.html: externalRef + installedIntegrationInstanceId form a unique compound
    key; the sentence saying what a repeat answers is cut off, so the reply is FidelityOptions.
    duplicate_sales_credit_reply (existing id by default, {} or 400). A credit may carry its sales order's
    externalRef: the key is per order type."""
    so = bp.sales_order(externalRef="nop:7", installedIntegrationInstanceId=1)
    first = _credit(bp, parent=so, externalRef="nop:7", installedIntegrationInstanceId=1)
    assert first != so
    assert _credit(bp, parent=so, externalRef="nop:7", installedIntegrationInstanceId=1) == first
    assert _credit(bp, parent=so, externalRef="nop:7", installedIntegrationInstanceId=2) != first  # another instance
    bp.control("PUT", "/fidelity", {"duplicate_sales_credit_reply": "empty"})
    body = {"customer": {"id": bp.shop.c1}, "externalRef": "nop:7", "installedIntegrationInstanceId": 1,
            "rows": [{"name": "x", "quantity": 1, "net": "1", "tax": "0", "taxCode": "T0"}]}
    assert bp.ok("POST", "/order-service/sales-credit", body) == {}
    bp.control("PUT", "/fidelity", {"duplicate_sales_credit_reply": "error"})
    assert bp.post("/order-service/sales-credit", body).status_code == 400
    assert bp.state()["credits"] == 2


def test_the_credit_parent_rule_is_documented_any_order_and_switchable(bp: BP):
    """api-docs order/sales-credit/post.html: parentId links "an existing order"; returns-refunds.md §7 marks
    "a sales order of the same customer" UNCONFIRMED (FidelityOptions.credit_parent)."""
    other = bp.sales_order(customer={"id": bp.shop.c3})
    assert _credit(bp, parent=other)  # another customer's order: allowed by the documented reading
    assert bp.post("/order-service/sales-credit", {"customer": {"id": bp.shop.c1}, "parentId": 999,
                                                   "rows": []}).status_code == 400
    bp.control("PUT", "/fidelity", {"credit_parent": "customer_sales_order"})
    response = bp.post("/order-service/sales-credit", {"customer": {"id": bp.shop.c1}, "parentId": other, "rows": []})
    assert response.status_code == 400


def test_a_credit_get_answers_207_when_only_some_credits_exist(bp: BP):
    """api-docs order/sales-credit/get.html: "the HTTP status code will be 2xx (207 if some of the requested sales
    credits were found, 200 otherwise)"."""
    credit_id = _credit(bp)
    assert bp.get(f"/order-service/sales-credit/{credit_id}").status_code == 200
    partial = bp.get(f"/order-service/sales-credit/{credit_id},{credit_id + 50}")
    assert partial.status_code == 207 and [c["id"] for c in partial.json()["response"]] == [credit_id]
    none = bp.get(f"/order-service/sales-credit/{credit_id + 50}")
    assert (none.status_code, none.json()) == (200, {"response": []})
    so = bp.sales_order()
    assert bp.get(f"/order-service/sales-credit/{so}").json() == {"response": []}  # a sales order is no credit


def test_closing_a_credit_assigns_its_sc_reference_once(bp: BP):
    """api-docs order/sales-credit-close/post.html: POST /sales-credit/{id}/close with {} (or {"taxDate"}) -> {};
    the credit "will receive its invoice reference ... and regarded as closed"; "POST Sales Credit Close of an
    invoiced sales credit will be rejected". returns-refunds.md §1: the reference is SC-n."""
    first, second = _credit(bp), _credit(bp)
    assert bp.ok("POST", f"/order-service/sales-credit/{first}/close", {}) == {}
    [order] = bp.ok("GET", f"/order-service/order/{first}")["response"]
    assert order["invoices"][0]["invoiceReference"] == "SC-1" and "closedOn" in order
    assert order["state"]["tax"] == "INVOICED"
    assert bp.post(f"/order-service/sales-credit/{first}/close", {}).status_code == 400  # once
    assert bp.ok("POST", f"/order-service/sales-credit/{second}/close", {"taxDate": "2026-03-01T00:00:00.000Z"}) == {}
    [order] = bp.ok("GET", f"/order-service/order/{second}")["response"]
    assert order["invoices"][0]["invoiceReference"] == "SC-2"
    assert order["invoices"][0]["taxDate"].startswith("2026-03-01")
    assert bp.post(f"/order-service/sales-credit/{bp.sales_order()}/close", {}).status_code == 404  # not a credit
    bp.control("PUT", "/fidelity", {"credit_reference": "credit_id"})
    third = _credit(bp)
    bp.ok("POST", f"/order-service/sales-credit/{third}/close", {})
    assert bp.ok("GET", f"/order-service/order/{third}")["response"][0]["invoices"][0]["invoiceReference"] == f"SC-{third}"


# ------------------------------------------------------------------------------------ refunds


def test_payments_on_a_credit_settle_it_and_are_found_by_type_and_order(bp: BP):
    """api-docs accounting/customer-payment: PAYMENT is "money paid to customer (eg to refund a Sales Credit)";
    help 360032990492: paying the customer the full or part value of a credit marks the credit paid; help
    212648603: Not paid / Part paid / Paid from the payments. customer-payment-search filters paymentType and
    orderId (recorded columns)."""
    credit_id = _credit(bp)  # gross 20.40
    payment = _payment(bp, credit_id, "PAYMENT", "10.00", transactionRef="refund-1")
    status = lambda: bp.ok("GET", f"/order-service/sales-credit/{credit_id}")["response"][0]["orderPaymentStatus"]  # noqa: E731
    assert status() == "PARTIALLY_PAID"
    _payment(bp, credit_id, "PAYMENT", "10.40", transactionRef="refund-2")
    assert status() == "PAID"
    so = bp.sales_order()
    _payment(bp, so, "RECEIPT", "5.00")
    rows = bp.ok("GET", f"/accounting-service/customer-payment-search?paymentType=PAYMENT&orderId={credit_id}")["response"]
    assert [r[0] for r in rows["results"]] == [payment, payment + 1]
    assert bp.ok("GET", f"/accounting-service/customer-payment-search?paymentType=PAYMENT&orderId={so}")["response"][
        "results"] == []


def test_sale_payment_totals_follow_the_documented_formula(bp: BP):
    """api-docs accounting/sale-payment-total/get.html: amountPaid = RECEIPT + CAPTURE - PAYMENT, amountAuthorized
    = AUTH - VOID, amountCaptured = CAPTURE; "The amounts can be negative"; an order without payments has zeros
    and no paymentCurrency; amounts are JSON numbers (the doc's example: 50.00)."""
    so, credit, quiet = bp.sales_order(), _credit(bp), bp.sales_order()
    _payment(bp, so, "AUTH", "30.00", transactionRef="a1")
    _payment(bp, so, "CAPTURE", "20.00", transactionRef="c1", transactionCode="a1")
    _payment(bp, so, "VOID", "10.00", transactionRef="v1", transactionCode="a1")
    _payment(bp, so, "RECEIPT", "5.25")
    _payment(bp, so, "PAYMENT", "1.25")
    _payment(bp, credit, "PAYMENT", "20.40")
    response = bp.get(f"/accounting-service/sale-payment-total/{so},{credit},{quiet},999")
    body = json.loads(response.text, parse_float=Decimal)
    totals = {t["orderId"]: t for t in body["response"]}
    assert totals[so] == {"orderId": so, "paymentCurrency": "GBP", "amountPaid": Decimal("24.00"),
                          "amountAuthorized": Decimal("20.00"), "amountCaptured": Decimal("20.00")}
    assert totals[credit]["amountPaid"] == Decimal("-20.40")
    assert totals[quiet] == {"orderId": quiet, "amountPaid": Decimal("0.00"), "amountAuthorized": Decimal("0.00"),
                             "amountCaptured": Decimal("0.00")}
    assert re.search(r'"amountPaid":\s*-20\.40[,}]', response.text)  # a number with two decimals, not a string
    assert 999 not in totals  # no order: left out (FidelityOptions.sale_payment_total_unknown_order)
    bp.control("PUT", "/fidelity", {"sale_payment_total_unknown_order": "zeros"})
    assert len(bp.ok("GET", "/accounting-service/sale-payment-total/999")["response"]) == 1


# ------------------------------------------------------------------------------------ goods-in, quarantine


def test_a_credits_goods_are_received_by_its_row_ids_raising_on_hand_with_goods_movements(bp: BP):
    """api-docs warehouse/goods-in-note/post.html: {transfer, warehouseId, goodsMoved[{productId, purchaseOrderRowId,
    quantity, destinationLocationId, productValue}], receivedOn, userBatchReference} -> {"response": noteId}; part
    receipts until everything is received; userBatchReference unique. get.html: a map note id -> note whose
    goodsMoved carry purchaseOrderRowId "even if this movement belongs to a sales credit". returns-refunds.md §2:
    on hand rises; goods-movement-search (documented columns) shows the movement."""
    s = bp.shop
    credit_id = _credit(bp)
    rows = bp.ok("GET", f"/order-service/sales-credit/{credit_id}")["response"][0]["rows"]
    row_b = next(r["id"] for r in rows if r["sku"] == "SKU-B")
    before = _available(bp, s.p2, s.wh1)
    location = bp.ok("GET", f"/warehouse-service/warehouse/{s.wh1}/location/default")["response"]
    body = {"transfer": False, "warehouseId": s.wh1, "receivedOn": "2026-02-02T09:00:00.000+00:00",
            "userBatchReference": "RMA-1",
            "goodsMoved": [{"productId": s.p2, "purchaseOrderRowId": row_b, "quantity": 1, "destinationLocationId": location,
                            "productValue": {"currency": "GBP", "value": 2.5}}]}
    note_id = bp.ok("POST", f"/warehouse-service/order/{credit_id}/goods-note/goods-in", body)["response"]
    after = _available(bp, s.p2, s.wh1)
    assert (after["inStock"], after["onHand"]) == (before["inStock"] + 1, before["onHand"] + 1)
    notes = bp.ok("GET", f"/warehouse-service/order/{credit_id}/goods-note/goods-in")["response"]
    note = notes[str(note_id)]
    assert (note["goodsNoteId"], note["orderId"], note["userBatchReference"]) == (note_id, credit_id, "RMA-1")
    assert note["receivedOn"].startswith("2026-02-02T09:00:00")
    [line] = note["goodsMoved"]
    assert (line["productId"], line["purchaseOrderRowId"], line["quantity"], line["destinationLocationId"]) == (
        s.p2, row_b, 1, location)
    assert line["productValue"] == {"currency": "GBP", "value": "2.5000"}
    assert bp.ok("GET", f"/warehouse-service/order/*/goods-note/goods-in/{note_id}")["response"].keys() == {str(note_id)}
    movements = bp.ok("GET", f"/warehouse-service/goods-movement-search?goodsNoteId={note_id}"
                             "&columns=productId,purchaseOrderRowId,quantity,orderId,isQuarantine")["response"]["results"]
    assert movements == [[s.p2, row_b, 1, credit_id, False]]
    assert bp.ok("GET", f"/order-service/order/{credit_id}")["response"][0]["stockStatusCode"] == "SCP"  # part received
    again = dict(body, goodsMoved=[dict(body["goodsMoved"][0], quantity=1)])
    assert bp.post(f"/warehouse-service/order/{credit_id}/goods-note/goods-in", again).status_code == 400  # reference used
    del again["userBatchReference"]
    bp.ok("POST", f"/warehouse-service/order/{credit_id}/goods-note/goods-in", again)  # the second unit: a part receipt
    assert bp.post(f"/warehouse-service/order/{credit_id}/goods-note/goods-in", again).status_code == 400  # none left


def test_goods_in_refuses_rows_of_other_orders_and_sales_orders(bp: BP):
    """api-docs warehouse/goods-in-note/post.html: goods are received against a purchase order's (or a credit's)
    rows, into one warehouse; get.html: "You cannot request all goods-in notes for all orders"."""
    s = bp.shop
    credit_id, so = _credit(bp), bp.sales_order()
    so_row = bp.ok("GET", f"/order-service/sales-order/{so}")["response"][0]["rows"][0]["id"]
    line = {"productId": s.p1, "purchaseOrderRowId": so_row, "quantity": 1}
    assert bp.post(f"/warehouse-service/order/{credit_id}/goods-note/goods-in",
                   {"warehouseId": s.wh1, "goodsMoved": [line]}).status_code == 400  # not this credit's row
    assert bp.post(f"/warehouse-service/order/{so}/goods-note/goods-in",
                   {"warehouseId": s.wh1, "goodsMoved": [line]}).status_code == 400  # a sales order
    assert bp.get("/warehouse-service/order/*/goods-note/goods-in").status_code == 400
    assert bp.ok("GET", f"/warehouse-service/order/{credit_id}/goods-note/goods-in") == {"response": {}}


def test_returns_received_into_quarantine_are_not_on_hand_until_released(bp: BP):
    """api-docs warehouse/quarantine-location: every warehouse has a quarantine location; stock there is present but
    "not available for sale, allocation or Reservation"; it enters by goods-in notes and leaves only by a quarantine
    release. quarantine-release/post.html: {productId, quantity, toLocationId} -> {}; nothing to release: 400
    WHSB-023 "None of the requested products are available in location <quarantine location id>"."""
    s = bp.shop
    quarantine = bp.ok("GET", f"/warehouse-service/warehouse/{s.wh1}/location/quarantine")["response"]
    default = bp.ok("GET", f"/warehouse-service/warehouse/{s.wh1}/location/default")["response"]
    assert isinstance(quarantine, int) and quarantine != default
    credit_id = _credit(bp)
    row_a = bp.ok("GET", f"/order-service/sales-credit/{credit_id}")["response"][0]["rows"][0]["id"]
    before = _available(bp, s.p1, s.wh1)
    bp.ok("POST", f"/warehouse-service/order/{credit_id}/goods-note/goods-in", {"warehouseId": s.wh1, "goodsMoved": [
        {"productId": s.p1, "purchaseOrderRowId": row_a, "quantity": 1, "destinationLocationId": quarantine}]})
    held = _available(bp, s.p1, s.wh1)
    assert (held["inStock"], held["onHand"]) == (before["inStock"] + 1, before["onHand"])  # present, not for sale
    release = {"productId": s.p1, "quantity": 1, "toLocationId": default}
    assert bp.ok("POST", f"/warehouse-service/warehouse/{s.wh1}/quarantine/release", release) == {}
    released = _available(bp, s.p1, s.wh1)
    assert (released["inStock"], released["onHand"]) == (before["inStock"] + 1, before["onHand"] + 1)
    empty = bp.post(f"/warehouse-service/warehouse/{s.wh1}/quarantine/release", release)
    assert empty.status_code == 400 and empty.json() == {"errors": [
        {"code": "WHSB-023", "message": f"None of the requested products are available in location {quarantine}"}]}


def test_the_inferred_quarantine_behaviours_are_switchable(bp: BP):
    """The quarantine location GET's reply, quarantined units in inStock and a release of more units than are
    quarantined have no source (FidelityOptions quarantine_location_reply, quarantine_stock,
    quarantine_release_short)."""
    s = bp.shop
    bp.control("PUT", "/fidelity", {"quarantine_location_reply": "object", "quarantine_stock": "excluded",
                                    "quarantine_release_short": "partial"})
    reply = bp.ok("GET", f"/warehouse-service/warehouse/{s.wh1}/location/quarantine")["response"]
    quarantine = reply["id"]
    credit_id = _credit(bp)
    row_a = bp.ok("GET", f"/order-service/sales-credit/{credit_id}")["response"][0]["rows"][0]["id"]
    before = _available(bp, s.p1, s.wh1)
    bp.ok("POST", f"/warehouse-service/order/{credit_id}/goods-note/goods-in", {"warehouseId": s.wh1, "goodsMoved": [
        {"productId": s.p1, "purchaseOrderRowId": row_a, "quantity": 1, "destinationLocationId": quarantine}]})
    assert _available(bp, s.p1, s.wh1)["inStock"] == before["inStock"]  # excluded
    default = bp.ok("GET", f"/warehouse-service/warehouse/{s.wh1}/location/default")["response"]
    bp.ok("POST", f"/warehouse-service/warehouse/{s.wh1}/quarantine/release",
          {"productId": s.p1, "quantity": 3, "toLocationId": default})  # 1 of 3: released partially
    assert _available(bp, s.p1, s.wh1)["onHand"] == before["onHand"] + 1


# ------------------------------------------------------------------------------------ control API


def test_staff_make_a_credit_closed_and_refunded_through_the_control_api(bp: BP):
    """The control API's credit "made by staff in Brightpearl" (help 360032990492: clone the order to a credit,
    refund it): rows of the parent's products valued like the parent's rows, pro rata; closed (SC-n) and refunded
    by a PAYMENT, all through the API's rules."""
    so = bp.sales_order()  # row SKU-A: 2 x net 20.00 tax 4.00
    made = bp.control("POST", "/sales-credits", {"parent_order_id": so, "rows": [{"sku": "SKU-A", "quantity": 1}],
                                                 "close": True, "refund": {"amount": "12.00", "method": "CARD"}})
    [credit] = bp.ok("GET", f"/order-service/sales-credit/{made['credit_id']}")["response"]
    assert (credit["parentId"], credit["rows"][0]["net"], credit["rows"][0]["tax"]) == (so, "10.00", "2.00")
    assert made["reference"] == "SC-1" and credit["orderPaymentStatus"] == "PAID"
    payments = bp.ok("GET", f"/accounting-service/customer-payment-search?orderId={made['credit_id']}")["response"]["results"]
    assert [row[0] for row in payments] == [made["payment_id"]]
    received = bp.control("POST", f"/orders/{made['credit_id']}/receive", {"quarantine": True})
    notes = bp.ok("GET", f"/warehouse-service/order/{made['credit_id']}/goods-note/goods-in")["response"]
    line = notes[str(received["goods_note_id"])]["goodsMoved"][0]
    assert line["destinationLocationId"] == bp.ok("GET", f"/warehouse-service/warehouse/{bp.shop.wh1}/location/quarantine")[
        "response"]
    bp.control("POST", "/sales-credits", {"rows": [{"sku": "NOPE", "quantity": 1}]}, status=404)


def test_a_paid_order_is_cancelled_once_its_payment_is_reversed(bp: BP):
    """help 211131486 and 212648443 (scenario 2): an order may be cancelled only if it is not paid; "a reverse
    payment can be entered to set the order back to being unpaid", then it is moved to the cancelled status.
    The sandbox's cancelled status is 5 (reference data). With `cancel_after_reversal: refused` any payment blocks."""
    so = bp.sales_order()
    _payment(bp, so, "RECEIPT", "29.25")
    assert bp.put(f"/order-service/order/{so}/status", {"orderStatusId": 5}).status_code == 400
    _payment(bp, so, "PAYMENT", "29.25")
    bp.control("PUT", "/fidelity", {"cancel_after_reversal": "refused"})
    assert bp.put(f"/order-service/order/{so}/status", {"orderStatusId": 5}).status_code == 400
    bp.control("PUT", "/fidelity", {"cancel_after_reversal": "allowed"})
    assert bp.put(f"/order-service/order/{so}/status", {"orderStatusId": 5}).status_code == 200
    part = bp.sales_order()
    _payment(bp, part, "RECEIPT", "29.25")
    _payment(bp, part, "PAYMENT", "10.00")
    assert bp.put(f"/order-service/order/{part}/status", {"orderStatusId": 5}).status_code == 400
