"""The Brightpearl client's returns, catalogue, purchasing and contact-change methods against replies
taken from the sources (recordings, api-docs examples), served by a stub session that also keeps
the request bodies and headers: what the client sends and how it reads the answer do not depend on
our simulator."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from bp_nop_dagster.brightpearl.client import BrightpearlClient
from bp_nop_dagster.contracts import BRIGHTPEARL_RECORDINGS
from bp_nop_dagster.transport.errors import OutcomeUnknownError, ValidationError
from bp_nop_dagster_tests.brightpearl.test_sourced_wire import BASE, _response, _search_reply

# api-docs accounting/sale-payment-total/get.html, the example (/sale-payment-total/56-57)
SALE_PAYMENT_TOTAL_EXAMPLE = {"response": [
    {"orderId": 56, "paymentCurrency": "GBP", "amountPaid": 50.00, "amountAuthorized": 10.00, "amountCaptured": 5.00},
    {"orderId": 57, "amountPaid": 0.00, "amountAuthorized": 0.00, "amountCaptured": 0.00}]}
# api-docs warehouse/goods-in-note/post.html, the example request (purchase order 6) and its reply
GOODS_IN_EXAMPLE = {"transfer": False, "warehouseId": 2, "goodsMoved": [
    {"productId": 1008, "purchaseOrderRowId": 9, "quantity": 5, "destinationLocationId": 2,
     "productValue": {"currency": "GBP", "value": 12.0000}}],
    "receivedOn": "2011-07-15T14:48:56.000+01:00", "userBatchReference": "ourWarehouRef:34354"}
# api-docs warehouse/goods-in-note/get.html: a map note id -> note with the documented fields
GOODS_IN_GET = {"response": {"13": {
    "goodsNoteId": 13, "orderId": 6, "transfer": False, "goodsNoteStatus": "OPEN", "userBatchReference": "ourWarehouRef:34354",
    "receivedOn": "2011-07-15T14:48:56.000+01:00", "createdBy": 4, "goodsMoved": [
        {"productId": 1008, "purchaseOrderRowId": 9, "quantity": 5, "warehouseId": 2, "destinationLocationId": 2,
         "goodsNoteId": 13, "batchGoodsNoteId": 13, "productValue": {"currency": "GBP", "value": "12.0000"},
         "cleared": False, "valueConfirmed": True}]}}}
# api-docs warehouse/quarantine-release/post.html, example 2
WHSB_023 = {"errors": [{"code": "WHSB-023", "message": "None of the requested products are available in location 3"}]}
# api-docs order/sales-credit/get.html: the POST's fields plus createdOn, updatedOn, total, orderPaymentStatus, rows
SALES_CREDIT_GET = {"response": [{
    "id": 1029, "customer": {"id": 200}, "parentId": 1001, "ref": "RMA-1", "externalRef": "nop:5:refund:1",
    "installedIntegrationInstanceId": 11, "statusId": 10, "warehouseId": 2, "channelId": 1,
    "currency": {"code": "GBP", "fixedExchangeRate": False, "exchangeRate": "1.000000"},
    "createdOn": "2026-01-05T10:00:00.000+00:00", "updatedOn": "2026-01-06T10:00:00.000+00:00",
    "total": {"net": "10.00", "tax": "2.00", "gross": "12.00", "baseNet": "10.00", "baseTax": "2.00", "baseGross": "12.00"},
    "isCanceled": False, "orderPaymentStatus": "PAID", "allocationStatusCode": "ANR", "shippingStatusCode": "SNS",
    "rows": [{"id": 5, "productId": 1007, "sku": "TEST001", "quantity": "1", "taxCode": "T", "net": "10.00", "tax": "2.00",
              "nominalCode": "4000", "externalRef": "item_01", "bundleChild": False, "bundleParent": False}]}]}


def _recorded(name: str, index: int = 0) -> dict:
    return json.loads((BRIGHTPEARL_RECORDINGS / name).read_text())["interactions"][index]


class Exchange:
    def __init__(self, method: str, path: str, query: dict, body, headers: dict) -> None:
        self.method, self.path, self.query, self.body, self.headers = method, path, query, body, headers


class BodyStub(requests.Session):
    """Answers each request with `answer(exchange)`; keeps method, path, query, JSON body and headers."""

    def __init__(self, answer) -> None:
        super().__init__()
        self.answer = answer
        self.asked: list[Exchange] = []

    def request(self, method, url, params=None, data=None, headers=None, **kwargs):  # noqa: D102 - requests' signature
        prepared = requests.Request(method, url, params=params).prepare()
        parts = urlsplit(prepared.url)
        exchange = Exchange(method, parts.path.split("/public-api/acct", 1)[1],
                            {k: v[0] for k, v in parse_qs(parts.query).items()},
                            json.loads(data) if data else None, dict(headers or {}))
        self.asked.append(exchange)
        response = self.answer(exchange)
        response.request = prepared
        return response


def _client(answer) -> tuple[BrightpearlClient, BodyStub]:
    session = BodyStub(answer)
    client = BrightpearlClient(BASE, app_ref="acct_app", account_token="tok", session=session, sleep=lambda s: None)
    return client, session


def _reply(interaction: dict) -> requests.Response:
    return _response(interaction["status"], interaction["body"], interaction["headers"])


# ------------------------------------------------------------------------------------ credits


def test_a_sales_credit_is_created_once_and_a_repeat_without_an_id_is_an_unknown_outcome():
    """returns-refunds.md §1 (MED, MAG, LAR): POST /order-service/sales-credit answers {"response": creditId}. What a
    repeat of the unique externalRef + installedIntegrationInstanceId answers is cut off in the doc: an empty reply
    is an unknown outcome (look the credit up), a 400 a ValidationError."""
    body = {"customer": {"id": 200}, "parentId": 1001, "externalRef": "nop:5:refund:1", "installedIntegrationInstanceId": 11,
            "rows": [{"productId": 1007, "quantity": 1, "net": 8.3333, "tax": 1.6667, "taxCode": "T20", "nominalCode": "4000"}]}
    client, session = _client(lambda e: _response(200, {"response": 1029}))
    assert client.create_sales_credit(body) == 1029
    [sent] = session.asked
    assert (sent.method, sent.path, sent.body) == ("POST", "/order-service/sales-credit", body)
    empty, _ = _client(lambda e: _response(200, {}))
    with pytest.raises(OutcomeUnknownError):
        empty.create_sales_credit(body)
    refused, _ = _client(lambda e: _response(400, {"errors": [{"code": "ORDC-028", "message": "exists"}]}))
    with pytest.raises(ValidationError):
        refused.create_sales_credit(body)


def test_credits_are_found_by_their_exact_external_ref_and_by_their_parent():
    """returns-refunds.md §1: order-search?orderTypeId=3 with externalRef, or with parentOrderId (the order search's
    recorded columns orderId, parentOrderId, externalRef, installedIntegrationInstanceId)."""
    def answer(e: Exchange) -> requests.Response:
        if "externalRef" in e.query:
            return _response(200, _search_reply(["orderId", "externalRef", "installedIntegrationInstanceId"],
                                                [[7, "nop:5:refund:1", 11], [8, "NOP:5:REFUND:1", 11], [9, "nop:5:refund:1", 12]]))
        return _response(200, _search_reply(["orderId", "parentOrderId"], [[7, 1001], [10, 1001], [12, 1003]]))

    client, session = _client(answer)
    assert client.find_sales_credits_by_external_ref("nop:5:refund:1", 11) == [7]
    assert session.asked[0].query["orderTypeId"] == "3"
    assert client.sales_credit_ids_by_parent([1001, 1002, 1003]) == {1001: [7, 10], 1003: [12]}
    query = session.asked[1].query
    assert (query["orderTypeId"], query["parentOrderId"], query["columns"]) == ("3", "1001-1003", "orderId,parentOrderId")


def test_sales_credit_documents_read_the_documented_shape_also_from_a_207():
    """api-docs order/sales-credit/get.html: 207 when only some credits were found; the POST's fields plus total,
    orderPaymentStatus, rows with id and sku."""
    client, session = _client(lambda e: _response(207, SALES_CREDIT_GET))
    [credit] = client.sales_credit_documents([1029, 1030])
    assert (credit.id, credit.customer_id, credit.parent_id, credit.external_ref) == (1029, 200, 1001, "nop:5:refund:1")
    assert (credit.total_gross, credit.order_payment_status, credit.currency_code) == (Decimal("12.00"), "PAID", "GBP")
    assert [(r.id, r.sku, r.net, r.tax, r.external_ref) for r in credit.rows] == [
        (5, "TEST001", Decimal("10.00"), Decimal("2.00"), "item_01")]
    assert session.asked[0].path == "/order-service/sales-credit/1029,1030"


def test_closing_a_credit_posts_the_documented_body_once():
    """api-docs order/sales-credit-close/post.html: POST /sales-credit/{id}/close with {} or {"taxDate"} -> {}; an
    invoiced credit is refused (a 400 is never retried)."""
    client, session = _client(lambda e: _response(200, {}))
    client.close_sales_credit(1029)
    client.close_sales_credit(1029, tax_date=datetime(2017, 3, 27, tzinfo=UTC))
    assert [(e.method, e.path, e.body) for e in session.asked] == [
        ("POST", "/order-service/sales-credit/1029/close", {}),
        ("POST", "/order-service/sales-credit/1029/close", {"taxDate": "2017-03-27T00:00:00.000+00:00"})]
    refused, session = _client(lambda e: _response(400, {"errors": [{"code": "ORDC-050", "message": "invoiced"}]}))
    with pytest.raises(ValidationError):
        refused.close_sales_credit(1029)
    assert len(session.asked) == 1
    broken, session = _client(lambda e: _response(500, {"errors": [{"code": "CMNU-003", "message": "error"}]}))
    with pytest.raises(OutcomeUnknownError):  # it may have closed the credit: read it, never close twice
        broken.close_sales_credit(1029)
    assert len(session.asked) == 1


def test_sale_payment_totals_read_the_doc_example():
    """api-docs accounting/sale-payment-total/get.html, the example: numbers, no paymentCurrency without payments."""
    client, session = _client(lambda e: _response(200, SALE_PAYMENT_TOTAL_EXAMPLE))
    totals = client.sale_payment_totals([56, 57])
    assert session.asked[0].path == "/accounting-service/sale-payment-total/56,57"
    assert (totals[56].amount_paid, totals[56].amount_authorized, totals[56].amount_captured) == (
        Decimal("50.0"), Decimal("10.0"), Decimal("5.0"))
    assert isinstance(totals[56].amount_paid, Decimal) and totals[57].payment_currency is None


def test_refunds_of_credits_are_searched_by_payment_type_and_order():
    """returns-refunds.md §3: customer-payment-search columns; PAYMENT is the refund of a credit."""
    recorded = _recorded("customer_payment__search__simple_search.json")
    client, session = _client(lambda e: _reply(recorded))
    payments = client.customer_payment_search(order_ids=[1029, 1030], payment_type="PAYMENT")
    assert payments and session.asked[0].query["paymentType"] == "PAYMENT" and session.asked[0].query["orderId"] == "1029,1030"


# ------------------------------------------------------------------------------------ goods-in, quarantine


def test_a_goods_in_note_is_posted_as_documented_and_read_back_by_order():
    """api-docs warehouse/goods-in-note/post.html (the example: -> {"response": 13}) and get.html (a map note id ->
    note; purchaseOrderRowId holds the credit's row for a credit)."""
    client, session = _client(lambda e: _response(200, {"response": 13} if e.method == "POST" else GOODS_IN_GET))
    assert client.create_goods_in_note(6, GOODS_IN_EXAMPLE) == 13
    notes = client.goods_in_notes([6])
    assert [(e.method, e.path) for e in session.asked] == [("POST", "/warehouse-service/order/6/goods-note/goods-in"),
                                                           ("GET", "/warehouse-service/order/6/goods-note/goods-in")]
    assert session.asked[0].body == json.loads(json.dumps(GOODS_IN_EXAMPLE))
    note = notes[13]
    assert (note.id, note.order_id, note.goods_note_status, note.user_batch_reference) == (13, 6, "OPEN", "ourWarehouRef:34354")
    [line] = note.goods_moved
    assert (line.product_id, line.purchase_order_row_id, line.quantity, line.value) == (1008, 9, 5, Decimal("12.0000"))
    client.goods_in_notes("*", [13, 14])
    assert session.asked[-1].path == "/warehouse-service/order/*/goods-note/goods-in/13,14"
    with pytest.raises(ValueError):
        client.goods_in_notes("*")  # "You cannot request all goods-in notes for all orders"


@pytest.mark.parametrize("reply", [{"response": 9}, {"response": {"id": 9, "groupingA": "QUARANTINE"}},
                                   {"response": [{"id": 9, "groupingA": "QUARANTINE"}]}])
def test_the_quarantine_location_is_read_in_any_known_shape_and_cached(reply):
    """The default location GET answers a scalar (MAG, LAR); the quarantine location is "a special form of Location
    GET" (api-docs warehouse/quarantine-location) whose Location GET items are {id, groupingA "QUARANTINE"}."""
    client, session = _client(lambda e: _response(200, reply))
    assert client.quarantine_location(2) == client.quarantine_location(2) == 9
    assert [e.path for e in session.asked] == ["/warehouse-service/warehouse/2/location/quarantine"]


def test_a_quarantine_release_posts_the_documented_body_and_maps_whsb_023():
    """api-docs warehouse/quarantine-release/post.html: {productId, quantity, toLocationId} -> {}; with nothing to
    release 400 WHSB-023."""
    client, session = _client(lambda e: _response(200, {}))
    client.release_quarantine(2, 1223, 5, 7)
    assert (session.asked[0].path, session.asked[0].body) == ("/warehouse-service/warehouse/2/quarantine/release",
                                                              {"productId": 1223, "quantity": 5, "toLocationId": 7})
    empty, _ = _client(lambda e: _response(400, WHSB_023))
    with pytest.raises(ValidationError) as caught:
        empty.release_quarantine(2, 1223, 5, 7)
    assert caught.value.code == "WHSB-023"


# ------------------------------------------------------------------------------------ catalogue, purchasing


def test_product_prices_read_the_recorded_reply():
    """product_price_get.json: per product, one entry per price list; quantityPrice maps breaks to prices, {} for none."""
    recorded = _recorded("product_price_get.json")
    client, session = _client(lambda e: _reply(recorded))
    prices = client.product_prices([1007], price_list_ids=[1, 2])
    assert session.asked[0].path == "/product-service/product-price/1007/price-list/1,2"
    assert prices[1007].on(1).unit_price == Decimal("10.0000") and prices[1007].on(2).unit_price is None
    assert [p.price_list_id for p in prices[1007].price_lists] == [1, 2, 3, 4]
    missing, _ = _client(lambda e: _reply(_recorded("product_price_get_not_found.json")))
    assert missing.product_prices([1]) == {}


def test_product_prices_are_put_with_the_recorded_body():
    """product_price_put.json: PUT /product-price/1007/price-list {"priceLists":[{"priceListId":1,"quantityPrice":
    {"1":100,"5":450}}]} -> {}."""
    recorded = _recorded("product_price_put.json")
    client, session = _client(lambda e: _reply(recorded))
    client.set_product_prices(1007, {1: {1: 100, 5: 450}})
    assert (session.asked[0].method, session.asked[0].path, session.asked[0].body) == (
        "PUT", "/product-service/product-price/1007/price-list", recorded["request_body"])


def test_a_product_put_sends_the_recorded_body_and_its_version_as_if_match():
    """product_put.json: PUT /product-service/product/1581 {salesChannels[...]} -> {}. api-docs product/product/put.html:
    the version goes in an If-Match header; a stale one answers 412."""
    recorded = _recorded("product_put.json", 1)
    client, session = _client(lambda e: _reply(recorded))
    client.update_product(1581, recorded["request_body"], version=1594021716000)
    [sent] = session.asked
    assert (sent.method, sent.path, sent.body) == ("PUT", "/product-service/product/1581", recorded["request_body"])
    assert sent.headers["If-Match"] == "1594021716000"
    stale, session = _client(lambda e: _response(412, {"errors": [{"code": "CMNC-412", "message": "version"}]}))
    with pytest.raises(ValidationError):
        stale.update_product(1581, recorded["request_body"], version=1)
    assert len(session.asked) == 1


def test_a_purchase_order_and_its_row_are_posted_as_recorded():
    """order_post_po.json: POST /order-service/order {reference, orderTypeCode "PO", parties.supplier.contactId} ->
    {"response": 323}; order_row_post.json: POST /order/{id}/row -> {"response": 398}."""
    po, row = _recorded("order_post_po.json"), _recorded("order_row_post.json", 1)
    client, session = _client(lambda e: _reply(row if e.path.endswith("/row") else po))
    header = {k: v for k, v in po["request_body"].items() if k != "orderTypeCode"}
    assert client.create_purchase_order(header) == 323
    assert client.add_order_row(323, row["request_body"]) == 398
    assert session.asked[0].body == po["request_body"]  # orderTypeCode PO added by the client
    assert (session.asked[1].path, session.asked[1].body) == ("/order-service/order/323/row", row["request_body"])


def test_purchase_orders_are_read_from_the_recorded_order_get():
    """order_get_one_po.json: a PO in the order GET (parties.supplier, delivery date, stock status PON)."""
    recorded = _recorded("order_get_one_po.json")
    client, _ = _client(lambda e: _reply(recorded))
    [po] = client.purchase_orders([312])
    assert (po.order_type_code, po.parties.supplier.contact_id, po.stock_status_code) == ("PO", 418, "PON")
    assert po.delivery_date is not None and po.row(378).item_cost == Decimal("100.0000")
    answer = lambda e: _response(200, _search_reply(["orderId"], [[312], [323]]))  # noqa: E731
    ids_client, session = _client(answer)
    assert ids_client.purchase_order_ids(updated_since=datetime(2021, 8, 1, tzinfo=UTC)) == [312, 323]
    assert session.asked[0].query["orderTypeId"] == "2" and session.asked[0].query["updatedOn"].startswith("2021-08-01")


# ------------------------------------------------------------------------------------ contacts


def test_a_contact_patch_sends_the_recorded_operations_and_reads_the_contact():
    """customer__patch__simple_patch.json: PATCH /contact-service/contact/151499 [replace /firstName, /lastName] ->
    {"response": contact}."""
    recorded = _recorded("customer__patch__simple_patch.json")
    client, session = _client(lambda e: _reply(recorded))
    contact = client.patch_contact(151499, recorded["request_body"])
    assert (contact.id, contact.first_name, contact.last_name, contact.primary_email) == (151499, "Jane", "Smith", "test@gmail.com")
    assert contact.updated_on is not None
    assert (session.asked[0].method, session.asked[0].body) == ("PATCH", recorded["request_body"])


def test_a_postal_address_put_and_the_contacts_changed_since_a_watermark():
    """api-docs contact/postal-address/put.html (example 1 -> {}); contact-search filters updatedOn (recorded column)."""
    body = {"addressLine1": "Brightpearl, First Floor", "addressLine2": "New Bond House", "addressLine3": "Bond Street",
            "addressLine4": "Bristol", "postalCode": "BS2 9AG", "countryIsoCode": "GBR"}
    recorded = _recorded("customer__search__simple_search.json")
    client, session = _client(lambda e: _response(200, {}) if e.method == "PUT" else _reply(recorded))
    client.update_postal_address(100, body)
    rows = client.contacts_updated_since(datetime(2022, 5, 1, tzinfo=UTC))
    assert (session.asked[0].method, session.asked[0].path, session.asked[0].body) == (
        "PUT", "/contact-service/postal-address/100", body)
    assert session.asked[1].query["updatedOn"].startswith("2022-05-01") and session.asked[1].query["sort"] == "updatedOn.ASC"
    assert [r.contact_id for r in rows] == [72433, 72435]
