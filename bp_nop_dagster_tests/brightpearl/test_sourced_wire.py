"""The Brightpearl client against replies taken from the sources themselves (recordings, doc
examples, the error bodies Airbyte's source-brightpearl handles), served by a stub session: what
the client asks for and how it reads the answer do not depend on our simulator."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import requests

from bp_nop_dagster.brightpearl import models as m
from bp_nop_dagster.brightpearl.client import BrightpearlClient
from bp_nop_dagster.contracts import BRIGHTPEARL_RECORDINGS

BASE = "https://euw1.brightpearlconnect.com/public-api/acct"
# api-docs.brightpearl.com/warehouse/goods-out-note/search.html
GOODS_OUT_SEARCH_COLUMNS = {"goodsOutNoteId", "printed", "picked", "packed", "shipped", "shippedOn", "orderId",
                            "shippingMethodId", "warehouseId", "priority", "createdOn", "releaseDate", "createdBy"}
# api-docs.brightpearl.com/accounting/payment-method/get.html, example 1
DOCUMENTED_PAYMENT_METHODS = {"response": [{"name": "Sage Pay UK", "code": "SAGEPAY_UK", "isActive": True, "bankAccounts": [
    {"paymentMethodId": 1, "currencyIsoCode": "GBP", "bankAccountNominalCode": "1200"}], "installedIntegrationId": "1"}]}
# The two bodies AIRBYTE (source-brightpearl source.py, ProductAvailability) treats as "not stock tracked"
WHSC_097_ONE = {"errors": [{"code": "WHSC-097", "message": "This is a non stock tracked product."}]}
WHSC_097_MANY = {"errors": [{"code": "WHSC-097", "message": "These are non stock tracked products."}]}


def _response(status: int, body: dict, headers: dict | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers.update({"content-type": "application/json;charset=UTF-8", "brightpearl-requests-remaining": "199",
                             "brightpearl-next-throttle-period": "25000", **(headers or {})})
    response.raw = io.BytesIO(json.dumps(body).encode())  # the transport streams the body
    return response


def _recorded(name: str) -> requests.Response:
    interaction = json.loads((BRIGHTPEARL_RECORDINGS / name).read_text())["interactions"][0]
    return _response(interaction["status"], interaction["body"], interaction["headers"])


def _search_reply(columns: list[str], rows: list[list]) -> dict:
    return {"response": {"results": rows, "metaData": {
        "morePagesAvailable": False, "resultsAvailable": len(rows), "resultsReturned": len(rows),
        **({"firstResult": 1, "lastResult": len(rows)} if rows else {}),
        "columns": [{"name": c} for c in columns]}}, "reference": {}}


class StubSession(requests.Session):
    """Answers each request with `answer(method, path, query)` and keeps what was asked."""

    def __init__(self, answer) -> None:
        super().__init__()
        self.answer = answer
        self.asked: list[tuple[str, str, dict]] = []

    def request(self, method, url, params=None, **kwargs):  # noqa: D102 - requests' signature
        prepared = requests.Request(method, url, params=params).prepare()
        parts = urlsplit(prepared.url)
        path = parts.path.split("/public-api/acct", 1)[1]
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        self.asked.append((method, path, query))
        response = self.answer(method, path, query)
        response.request = prepared
        return response


def _client(answer) -> tuple[BrightpearlClient, StubSession]:
    session = StubSession(answer)
    return BrightpearlClient(BASE, app_ref="acct_app", account_token="tok", session=session, sleep=lambda s: None), session


def test_shipped_goods_out_notes_are_searched_with_documented_columns_only():
    """Finding 1: the search has goodsOutNoteId (not goodsNoteId) and no updatedOn; shipped notes are found by
    shipped=true and shippedOn from the watermark."""
    def answer(method, path, query):
        return _response(200, _search_reply(["goodsOutNoteId", "orderId", "shippedOn"],
                                            [[12447605, 988116, "2025-11-04T10:41:38.000-06:00"]]))

    client, session = _client(answer)
    rows = client.shipped_goods_out_notes_since(datetime(2025, 11, 4, tzinfo=UTC))
    assert [(r.goods_out_note_id, r.order_id, r.shipped_on.year) for r in rows] == [(12447605, 988116, 2025)]
    ((method, path, query),) = session.asked
    assert (method, path) == ("GET", "/warehouse-service/goods-note/goods-out-search")
    named = set(query["columns"].split(",")) | {query["sort"].split(".")[0]} | (set(query) - {"columns", "sort", "pageSize", "firstResult"})
    assert named <= GOODS_OUT_SEARCH_COLUMNS, named - GOODS_OUT_SEARCH_COLUMNS
    assert query["shipped"] == "true" and query["shippedOn"].startswith("2025-11-04T00:00:00.000+00:00/")


def test_goods_out_note_ids_read_the_goods_out_note_id_column():
    client, session = _client(lambda method, path, query: _response(200, _search_reply(["goodsOutNoteId"], [[7], [9]])))
    assert client.goods_out_note_ids() == [7, 9]
    assert session.asked[0][2]["columns"] == "goodsOutNoteId"


def test_non_stock_tracked_products_have_no_availability_and_the_others_are_still_read():
    """Finding 6: an ID set holding a product that is not stock tracked answers 400 WHSC-097; the client reads
    the others and treats that one as having no stock data."""
    recorded = json.loads((BRIGHTPEARL_RECORDINGS / "product_availability_get.json").read_text())["interactions"][0]["body"]
    levels = next(iter(recorded["response"].values()))

    def answer(method, path, query):
        ids = [i for part in path.rsplit("/", 1)[1].split(",")
               for i in range(int(part.split("-")[0]), int(part.split("-")[-1]) + 1)]
        if 3 in ids:  # product 3 is not stock tracked
            return _response(400, WHSC_097_ONE if ids == [3] else WHSC_097_MANY)
        return _response(200, {"response": {str(i): levels for i in ids}})

    client, session = _client(answer)
    availability = client.product_availability([1, 2, 3, 4])
    assert sorted(availability) == [1, 2, 4]
    assert availability[1].total.on_hand == levels["total"]["onHand"]
    assert len(session.asked) <= 5  # split until the untracked product is found, not one request per product


def test_stock_tracked_ids_come_from_one_product_search():
    client, session = _client(lambda method, path, query: _response(200, _search_reply(["productId"], [[1], [4]])))
    assert client.stock_tracked_ids([1, 2, 3, 4]) == {1, 4}
    ((_, path, query),) = session.asked
    assert path == "/product-service/product-search" and query["stockTracked"] == "true" and query["productId"] == "1-4"


def test_the_installation_is_read_from_the_recorded_header():
    """Finding 7: tax_code_get.json carries brightpearl-installed-integration-instance-id: 11;
    payment_method_get.json (another account) carries none."""
    client, session = _client(lambda method, path, query: _recorded("tax_code_get.json"))
    client.tax_codes()
    assert client.installed_integration_instance_id() == 11 and len(session.asked) == 1
    quiet, session = _client(lambda method, path, query: _recorded("payment_method_get.json"))
    assert quiet.installed_integration_instance_id() is None  # one read (the warehouses, cached) to find out
    assert [p for _, p, _ in session.asked] == ["/warehouse-service/warehouse"]


def test_payment_methods_parse_the_documented_and_the_recorded_shape():
    """Finding 3: documented items have code but no id (the id is in bankAccounts); recorded items id and name."""
    documented, _ = _client(lambda method, path, query: _response(200, DOCUMENTED_PAYMENT_METHODS))
    [method] = documented.payment_methods()
    assert (method.id, method.code, method.name, method.is_active, method.installed_integration_id) == (
        1, "SAGEPAY_UK", "Sage Pay UK", True, 1)
    recorded, _ = _client(lambda method, path, query: _recorded("payment_method_get.json"))
    assert [(p.id, p.name, p.code) for p in recorded.payment_methods()] == [(1, "Cash", None), (2, "Credit Card", None)]
    assert m.PaymentMethod.model_validate({"name": "x", "code": "X"}).id is None


# api-docs.brightpearl.com/accounting/journal/get.html, the example's first journal
JOURNAL_GET_EXAMPLE = {"response": {"journals": [{
    "id": 1, "contactId": 1434, "journalTypeCode": "SI", "taxDate": "2008-01-02T00:00:00.000Z",
    "dueDate": "2008-02-15T00:00:00.000Z", "createdOn": "2008-01-16T00:00:00.000Z", "createdByContactId": 95,
    "taxReconciliation": {"date": "2008-04-29T00:00:00.000+01:00", "taxPeriodId": 18},
    "credits": [
        {"nominalCode": "2200", "change": {"value": "15.66"}, "assignment": {"channelId": 2, "projectId": 1},
         "orderId": 100003, "invoiceReference": "SI-1000", "taxCode": "T00", "transactionAmount": "15.66"},
        {"nominalCode": "4001", "change": {"value": "14.50"}, "assignment": {"channelId": 2, "projectId": 1},
         "orderId": 100003, "invoiceReference": "SI-1000", "taxCode": "T00", "transactionAmount": "14.50"},
        {"nominalCode": "4000", "change": {"value": "75.00"}, "assignment": {"channelId": 2, "projectId": 1},
         "orderId": 100003, "invoiceReference": "SI-1000", "taxCode": "T00", "transactionAmount": "75.00"}],
    "debits": [
        {"nominalCode": "1100", "change": {"value": "105.16"}, "assignment": {"channelId": 2, "projectId": 1},
         "orderId": 100003, "invoiceReference": "SI-1000", "taxCode": "T05", "transactionAmount": "105.16"}],
    "currencyId": 1, "exchangeRate": "1.000000"}]}}


def test_journals_parse_the_documented_get_example():
    client, session = _client(lambda method, path, query: _response(200, JOURNAL_GET_EXAMPLE))
    [journal] = client.journals([1])
    assert (journal.id, journal.journal_type_code, journal.contact_id, journal.currency_id) == (1, "SI", 1434, 1)
    assert sum(c.value for c in journal.credits) == sum(d.value for d in journal.debits) == Decimal("105.16")
    assert [d.nominal_code for d in journal.debits] == ["1100"] and journal.debits[0].order_id == 100003
    assert session.asked == [("GET", "/accounting-service/journal/1", {})]


def test_journal_search_reads_the_documented_columns_in_id_sets_of_at_most_200():
    """Journal Search doc: orderId is an IDSET filter; journalRef is documented as INTEGER but may carry a
    non-numeric order reference (the doc's own words), so it is read as text."""
    columns = ["journalId", "journalType", "orderId", "nominalCode", "journalRef", "transactionDebit", "transactionCredit"]

    def answer(method, path, query):
        first = int(query["orderId"].split("-")[0].split(",")[0])
        return _response(200, _search_reply(columns, [[3000001 + first, "SR", first, "1200", first, "24.25", "0.00"]]))

    client, session = _client(answer)
    rows = client.journal_search({"journalType": "SR"}, order_ids=range(1, 402))
    assert [r.order_id for r in rows] == [1, 201, 401]
    assert [q["orderId"] for _, _, q in session.asked] == ["1-200", "201-400", "401"]
    assert {q["journalType"] for _, _, q in session.asked} == {"SR"}
    assert (rows[0].journal_ref, rows[0].transaction_debit, rows[0].transaction_credit) == ("1", Decimal("24.25"), 0)


# The order-search columns, in the order the recordings return them (vicvans20/ruby-brightpearl, notes section 4).
ORDER_SEARCH_COLUMNS = ["orderId", "orderTypeId", "contactId", "orderStatusId", "orderStockStatusId", "createdOn", "createdById",
                        "customerRef", "orderPaymentStatusId", "updatedOn", "parentOrderId", "orderShippingStatusId", "externalRef",
                        "installedIntegrationInstanceId", "warehouseId", "staffOwnerContactId", "taxDate", "departmentId", "deliveryDate"]


def test_sales_orders_created_since_search_by_a_period_and_keep_only_this_installation():
    """The bulk lookup of orders (sync/orders.py) asks `order-search` with documented filters only (a PERIOD
    `createdOn=start/`, orderTypeId 1 = SALES_ORDER in the reply's reference), and takes the lowest order id of
    each externalRef created by this installed integration instance (the compound key, Sales Order POST doc)."""
    def answer(method, path, query):
        return _response(200, _search_reply(["orderId", "externalRef", "installedIntegrationInstanceId"],
                                            [[101, "nop-1", 7], [102, "nop-2", 7], [99, "nop-2", 8], [103, "nop-1", 7], [104, None, 7]]))

    client, session = _client(answer)
    found = client.sales_orders_created_since(datetime(2026, 5, 1, 9, 30, tzinfo=UTC), 7, max_rows=500)
    assert found == {"nop-1": 101, "nop-2": 102}  # 99 belongs to another installation
    ((method, path, query),) = session.asked
    assert (method, path) == ("GET", "/order-service/order-search")
    assert query["createdOn"].startswith("2026-05-01T09:30:00") and query["createdOn"].endswith("/")
    assert query["orderTypeId"] == "1"
    named = set(query["columns"].split(",")) | {query["sort"].split(".")[0]} | (set(query) - {"columns", "sort", "pageSize", "firstResult"})
    assert named <= set(ORDER_SEARCH_COLUMNS), named - set(ORDER_SEARCH_COLUMNS)


def test_sales_orders_created_since_gives_up_after_one_page_when_the_window_is_too_full():
    """Rule: more results than `max_rows` (metaData.resultsAvailable, notes section 4) means looking each order
    up on its own is cheaper: None after the first page, no second page asked."""
    def answer(method, path, query):
        reply = _search_reply(["orderId", "externalRef", "installedIntegrationInstanceId"], [[1, "nop-1", None]])
        reply["response"]["metaData"].update(resultsAvailable=1001, morePagesAvailable=True)
        return _response(200, reply)

    client, session = _client(answer)
    assert client.sales_orders_created_since(datetime(2026, 5, 1, tzinfo=UTC), None, max_rows=1000) is None
    assert len(session.asked) == 1
