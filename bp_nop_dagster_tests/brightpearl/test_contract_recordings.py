"""Contract test: the models parse every recorded real Brightpearl response of the endpoints the
client reads, and the client maps every recorded error reply to the right error type.

Recordings: `bp_nop_dagster/contracts/brightpearl/recordings/*.json` (real traffic, vendored with
its MIT licence; see INDEX.md there).
"""

from __future__ import annotations

import io
import json
import re
from decimal import Decimal

import pytest
import requests

from bp_nop_dagster.brightpearl import models as m
from bp_nop_dagster.brightpearl.client import BrightpearlClient, _search_page
from bp_nop_dagster.contracts import BRIGHTPEARL_RECORDINGS, recording_names
from bp_nop_dagster.transport.errors import AuthError, NotFoundError, TransientError, ValidationError


RECORDINGS = BRIGHTPEARL_RECORDINGS


def _files() -> list[str]:
    return recording_names()


# Recordings whose successful replies belong to endpoints this client does not read (yet). Their
# error replies, if any, are still checked by `test_every_recorded_error_maps_to_the_taxonomy`.
OUT_OF_SCOPE = {
    "auth_request_token.json": "OAuth authorization-code exchange happens outside the client (installation flow)",
    "auth_request_token_error_invalid_client.json": "OAuth code exchange (installation flow); its error shape is checked for refresh below",
    "auth_request_token_error_invalid_code.json": "OAuth code exchange (installation flow)",
    "auth_request_token_error_redirect_uri_mismatch.json": "OAuth code exchange (installation flow)",
    "brand_get.json": "brands are not synced",
    "brand_get_by_id.json": "brands are not synced",
    "contact_group_get.json": "contact groups are not synced",
    "contact_group_get_by_id.json": "contact groups are not synced",
    "contact_tag_get.json": "contact tags are not synced",
    "contact_tag_get_by_id.json": "contact tags are not synced",
    "currency_search.json": "currencies: orders carry currency codes; no currency lookup needed",
    "currency_search_by_code.json": "currencies: orders carry currency codes; no currency lookup needed",
    "customer__custom_field__get__simple_get.json": "contact custom fields are not read",
    "customer__custom_field__patch__simple_patch.json": "write (later issue)",
    "customer__options__simple_options.json": "OPTIONS getUris not used: ID sets are chunked client-side",
    "exchange_rate_get.json": "exchange rates are not read",
    "exchange_rate_post.json": "write, not used",
    "exchange_rate_put.json": "write, not used",
    "lead_source_get.json": "lead sources are not synced",
    "lead_source_get_by_id.json": "lead sources are not synced",
    "nominal_code_get.json": "nominal codes come from the mapping config, not read",
    "nominal_code_get_by_id.json": "nominal codes come from the mapping config, not read",
    "order__custom_field__patch.json": "write (later issue)",
    "order__custom_field_metadata__get__single.json": "custom-field metadata is not read",
    "order_options.json": "OPTIONS getUris not used: ID sets are chunked client-side",
    "order_patch.json": "write (later issue)",
    "order_patch_error_operation.json": "write (later issue); its 500 CMNC-044 reply is checked below",
    "order_post_error_missing_required.json": "write (later issue); its 400 reply is checked below",
    "order_post_error_unknown.json": "write (later issue); its 400 reply is checked below",
    "order_post_error_wrong_party.json": "write (later issue); its 400 reply is checked below",
    "order_post_pc.json": "write (later issue)",
    "order_post_sc.json": "write (later issue)",
    "order_post_so.json": "write (later issue)",
    "order_row_delete.json": "write (later issue)",
    "order_row_patch.json": "write (later issue)",
    "order_status_post.json": "write, not used",
    "order_status_update_put.json": "write (later issue)",
    "order_stock_status_get.json": "stock status codes are read from the order (stockStatusCode)",
    "order_stock_status_get_by_id.json": "stock status codes are read from the order (stockStatusCode)",
    "order_type_get.json": "order types are fixed codes (SO/SC/PO/PC)",
    "order_type_get_by_id.json": "order types are fixed codes (SO/SC/PO/PC)",
    "product_category_get.json": "categories are not synced",
    "product_category_get_by_id.json": "categories are not synced",
    "product_options.json": "OPTIONS getUris not used: ID sets are chunked client-side",
    "product_post.json": "write, not used (products are mastered in Brightpearl)",
    "product_post_error_missing_required.json": "write, not used; its 400 reply is checked below",
    "product_price_options.json": "OPTIONS getUris not used",
    "product_type_get.json": "product types are not synced",
    "product_type_get_by_id.json": "product types are not synced",
    "webhook__delete__not_found.json": "webhooks are not used (polling); its 404 reply is checked below",
    "webhook__delete__success.json": "webhooks are not used (polling)",
    "webhook__get__not_found.json": "webhooks are not used (polling); its 404 reply is checked below",
    "webhook__get__single.json": "webhooks are not used (polling)",
    "webhook__post__create.json": "webhooks are not used (polling)",
    "webhook__post__error_invalid_params.json": "webhooks are not used (polling); its 400 reply is checked below",
}


def _parse_list(model):
    return lambda response: [model.model_validate(item) for item in response]


def _parse_map(model, key_field):
    return lambda response: [model.model_validate({**value, key_field: key}) for key, value in response.items()]


def _parse_search(model):
    def parse(response, reference=None):
        page = _search_page(response, reference, "Brightpearl", "/search")
        return [model.model_validate(row) for row in page.rows]

    return parse


# (method, API-relative path regex) -> how the client parses the success reply's `response`.
PARSERS = [
    ("GET", r"/product-service/product/[\d,\-]+", _parse_list(m.Product)),
    ("GET", r"/product-service/product-search", _parse_search(m.ProductSearchRow)),
    ("GET", r"/warehouse-service/product-availability/[\d,\-]+", _parse_map(m.Availability, "productId")),
    ("GET", r"/warehouse-service/warehouse/?[\d,\-]*", _parse_list(m.Warehouse)),
    ("GET", r"/contact-service/contact/[\d,\-]+", _parse_list(m.Contact)),
    ("GET", r"/contact-service/contact-search", _parse_search(m.ContactSearchRow)),
    ("GET", r"/order-service/order/[\d,\-]+", _parse_list(m.Order)),
    ("GET", r"/order-service/order-search", _parse_search(m.OrderSearchRow)),
    ("GET", r"/warehouse-service/order/[\d,\-*]+/goods-note/goods-out/?[\d,\-]*", _parse_map(m.GoodsOutNote, "id")),
    ("GET", r"/accounting-service/customer-payment-search", _parse_search(m.CustomerPayment)),
    ("GET", r"/accounting-service/tax-code/?[\d,\-]*", _parse_list(m.TaxCode)),
    ("GET", r"/accounting-service/payment-method/?[\d,\-]*", _parse_list(m.PaymentMethod)),
    ("GET", r"/warehouse-service/shipping-method/?[\d,\-]*", _parse_list(m.ShippingMethod)),
    ("GET", r"/product-service/channel/?[\d,\-]*", _parse_list(m.Channel)),
    ("GET", r"/order-service/order-status/?[\d,\-]*", _parse_list(m.OrderStatus)),
    ("GET", r"/order-service/order-shipping-status/?", _parse_list(m.OrderShippingStatus)),
    ("GET", r"/product-service/price-list/?[\d,\-]*", _parse_list(m.PriceList)),
    ("GET", r"/product-service/product-price/[\d,\-]+(/price-list/[\d,\-]+)?", _parse_list(m.ProductPrices)),
]


def _api_path(path: str) -> str:
    return re.sub(r"^/public-api/[^/]+", "", path)


def _parser_for(method: str, path: str):
    for want_method, pattern, parse in PARSERS:
        if method == want_method and re.fullmatch(pattern, _api_path(path)):
            return parse
    return None


def _interactions():
    for name in _files():
        for index, interaction in enumerate(json.loads((RECORDINGS / name).read_text())["interactions"]):
            yield name, index, interaction


def _modelled_successes():
    return [
        pytest.param(name, interaction, id=f"{name}#{index}")
        for name, index, interaction in _interactions()
        if 200 <= interaction["status"] < 300 and _parser_for(interaction["method"], interaction["path"])
    ]


def _errors():
    return [
        pytest.param(name, interaction, id=f"{name}#{index}")
        for name, index, interaction in _interactions()
        if interaction["status"] >= 400 and not _api_path(interaction["path"]).startswith("/token/")
    ]


def test_every_recording_is_in_scope_or_listed_out_of_scope():
    files = _files()
    assert files, "no recordings found"
    in_scope = {name for name, _, i in _interactions() if _parser_for(i["method"], i["path"]) or i["status"] >= 400}
    in_scope.add("auth_use_refresh_token.json")  # test_refresh_callback_reads_the_recorded_refresh_reply
    in_scope.add("customer_payment__post__receipt.json")  # test_create_customer_payment_reads_the_recorded_reply
    # test_returns_catalogue_wire.py sends these recorded requests and reads their replies
    in_scope |= {"customer__patch__simple_patch.json", "order_post_po.json", "order_row_post.json",
                 "product_price_put.json", "product_put.json"}
    unaccounted = [name for name in files if name not in in_scope and name not in OUT_OF_SCOPE]
    assert not unaccounted, f"decide whether the client models these recordings: {unaccounted}"
    stale = [name for name in OUT_OF_SCOPE if name not in files]
    assert not stale, f"OUT_OF_SCOPE lists recordings that no longer exist: {stale}"


@pytest.mark.parametrize("name, interaction", _modelled_successes())
def test_models_parse_recorded_reply(name, interaction):
    body = interaction["body"]
    parse = _parser_for(interaction["method"], interaction["path"])
    if "search" in interaction["path"]:
        items = parse(body["response"], body.get("reference"))
        assert len(items) == body["response"]["metaData"]["resultsReturned"]
    else:
        items = parse(body["response"])
        assert len(items) == len(body["response"])


def _load(name: str, index: int = 0) -> dict:
    return json.loads((RECORDINGS / name).read_text())["interactions"][index]["body"]


def test_product_fields_come_from_nested_wire_keys():
    product = m.Product.model_validate(_load("product_get_one.json")["response"][0])
    assert (product.id, product.sku, product.name, product.stock_tracked) == (1007, "TEST001", "Nice Shirt for Summer", True)
    assert (product.tax_code, product.tax_code_id) == ("T", 2)
    custom = m.Product.model_validate(_load("product_get_one_with_custom_fields.json")["response"][0])
    assert custom.custom_fields == {"PCF_SERIALIS": True}


def test_order_rows_are_keyed_by_row_id_with_decimal_strings():
    order = m.Order.model_validate(_load("order_get_one_po.json")["response"][0])
    assert order.order_type_code == "PO" and order.status_id == 6
    assert [row.id for row in order.rows] == [378, 380]
    row = order.row(380)
    assert row.quantity == Decimal("5.0000") and isinstance(row.quantity, Decimal)
    assert (row.row_net, row.row_tax, row.tax_code) == (Decimal("500.0000"), Decimal("65.00"), "13")
    assert order.totals.total == Decimal("1017.00")
    assert order.parties.supplier.contact_id == 418 and order.parties.customer is None
    so = m.Order.model_validate(_load("order_get_one_with_custom_fields.json")["response"][0])
    assert so.custom_fields == {"PCF_P_NUMBER": "DEMO Number"}
    assert (so.order_payment_status, so.shipping_status_code, so.customer_contact_id) == ("UNPAID", "ASS", 200)
    assert _load("order_get_empty_not_found.json")["response"] == []


def test_sales_credit_refuses_other_order_types():
    with pytest.raises(ValueError, match="not a sales credit"):
        m.SalesCredit.model_validate(_load("order_get_one.json")["response"][0])
    credit = m.SalesCredit.model_validate({**_load("order_get_one.json")["response"][0], "orderTypeCode": "SC"})
    assert credit.order_type_code == "SC"


def test_goods_out_note_rows_keyed_by_sales_order_row():
    (note,) = _parse_map(m.GoodsOutNote, "id")(_load("goods_out_note__get__by_gon_id.json")["response"])
    assert (note.id, note.order_id, note.shipped, note.shipping_reference) == (12447605, 988116, True, "")
    assert note.shipped_on is not None and note.rows[2975385][0].product_id == 489065
    assert note.events[0].event_code == "PLA" and note.events[0].occurred is not None


def test_contact_email_and_addresses():
    contact = m.Contact.model_validate(_load("customer__get__simple_get.json")["response"][0])
    assert (contact.id, contact.primary_email, contact.delivery_address_id, contact.is_customer) == (151499, "test@gmail.com", 418693, True)


def test_search_rows_are_named_by_columns():
    body = _load("order_search.json")
    rows = _parse_search(m.OrderSearchRow)(body["response"], body.get("reference"))
    assert [(r.order_id, r.order_type_id, r.customer_ref) for r in rows][:3] == [(322, 1, "#0001"), (323, 2, "#0001"), (324, 3, "#0001")]
    page = _search_page(body["response"], body.get("reference"), "Brightpearl", "/order-service/order-search")
    assert page.reference["orderTypeNames"]["3"] == "SALES_CREDIT"
    payments = _parse_search(m.CustomerPayment)(_load("customer_payment__search__simple_search.json")["response"])
    assert payments[0].amount_paid == Decimal("100.00") and payments[0].payment_type == "RECEIPT"
    products = _parse_search(m.ProductSearchRow)(_load("product_search.json")["response"])
    assert products[0].sku == "ANTHONY123-BL-3"


def test_empty_search_has_no_first_or_last_result():
    body = _load("customer_payment__delete__success.json", 1)
    page = _search_page(body["response"], body.get("reference"), "Brightpearl", "/x")
    assert page.rows == [] and page.first_result is None and page.more_pages_available is False
    assert len(page.columns) == 14


def test_reference_data_shapes():
    price_list = m.PriceList.model_validate(_load("price_list_get.json")["response"][0])
    assert (price_list.name, price_list.currency_code) == ("Cost CRC", "CRC")
    codes = [m.TaxCode.model_validate(x) for x in _load("tax_code_get.json")["response"]]
    assert codes[0].rate is None and codes[1].rate == Decimal("10.0")
    status = m.OrderStatus.model_validate(_load("order_status_get.json")["response"][0])
    assert (status.id, status.name, status.order_type_code) == (1, "Draft / Quote", "SO")


# --- error replies ------------------------------------------------------------------------------

EXPECTED_ERROR = {401: AuthError, 403: AuthError, 404: NotFoundError, 400: ValidationError}


def _recorded_response(interaction) -> requests.Response:
    response = requests.Response()
    response.status_code = interaction["status"]
    response.headers.update(interaction["headers"])
    response.raw = io.BytesIO(json.dumps(interaction["body"]).encode())  # the transport streams the body
    return response


@pytest.mark.parametrize("name, interaction", _errors())
def test_every_recorded_error_maps_to_the_taxonomy(name, interaction):
    client = BrightpearlClient("https://example.brightpearlconnect.com/public-api/acct", app_ref="acct_app", account_token="tok")
    body = interaction["body"]
    error = client.error_for(_recorded_response(interaction), body, interaction["method"], _api_path(interaction["path"]))
    codes = [e["code"] for e in body.get("errors", [])] if isinstance(body, dict) else []
    if "CMNC-018" in codes or "CMNC-044" in codes:
        assert isinstance(error, ValidationError) and not isinstance(error, TransientError)
        assert error.code in codes
    else:
        assert type(error) is EXPECTED_ERROR[interaction["status"]], (name, error)
    if isinstance(body, dict) and isinstance(body.get("response"), str):
        # 401 bodies echo the token ("Invalid instance token: XYZ"): never in the message
        echoed = body["response"].split(":", 1)[-1].strip()
        assert echoed not in str(error)



# --- OAuth refresh reply (auth_use_refresh_token.json; the code-grant files give the error shape) ---


class _StubSession:
    """Answers the token POST with a recorded reply and keeps the form it was sent."""

    def __init__(self, interaction) -> None:
        self.interaction = interaction
        self.forms: list[dict] = []

    def post(self, url, data=None, timeout=None, allow_redirects=True):
        self.forms.append(dict(data))
        return _recorded_response(self.interaction)


def test_create_customer_payment_reads_the_recorded_reply():
    """customer_payment__post__receipt.json: the recorded request body, POSTed by the client, and the id of the
    recorded `{"response": 935253}`."""
    interaction = json.loads((RECORDINGS / "customer_payment__post__receipt.json").read_text())["interactions"][0]
    sent = []

    class Session(requests.Session):
        def request(self, method, url, data=None, **kwargs):  # noqa: D102 - requests' signature
            sent.append((method, url, json.loads(data)))  # the transport sends the body as exact JSON bytes
            response = _recorded_response(interaction)
            response.request = requests.Request(method, url).prepare()
            return response

    client = BrightpearlClient("https://example.brightpearlconnect.com/public-api/acct", app_ref="acct_app",
                               account_token="tok", session=Session())
    assert client.create_customer_payment(interaction["request_body"]) == interaction["body"]["response"] == 935253
    assert sent == [("POST", "https://example.brightpearlconnect.com/public-api/acct/accounting-service/customer-payment",
                     interaction["request_body"])]


def test_refresh_callback_reads_the_recorded_refresh_reply():
    from bp_nop_dagster.brightpearl.client import oauth_refresh_callback

    interaction = json.loads((RECORDINGS / "auth_use_refresh_token.json").read_text())["interactions"][0]
    interaction = {**interaction, "body": {**interaction["body"], "access_token": "new-access", "refresh_token": "rotated"}}
    stub = _StubSession(interaction)
    refresh = oauth_refresh_callback("https://oauth.brightpearl.com/token/acct", refresh_token="r0", client_id="acct_app", session=stub)
    assert refresh() == "new-access"
    assert refresh() == "new-access"
    assert stub.forms[0] == {"grant_type": "refresh_token", "refresh_token": "r0", "client_id": "acct_app"}
    assert stub.forms[1]["refresh_token"] == "rotated"  # the refresh token rotates


@pytest.mark.parametrize(
    "name",
    ["auth_request_token_error_invalid_client.json", "auth_request_token_error_invalid_code.json", "auth_request_token_error_redirect_uri_mismatch.json"],
)
def test_refresh_callback_maps_recorded_oauth_errors(name):
    from bp_nop_dagster.brightpearl.client import oauth_refresh_callback

    interaction = json.loads((RECORDINGS / name).read_text())["interactions"][0]
    refresh = oauth_refresh_callback("https://oauth.brightpearl.com/token/acct", refresh_token="r0-secret", client_id="acct_app", session=_StubSession(interaction))
    with pytest.raises(AuthError) as caught:
        refresh()
    assert interaction["body"]["error"] in str(caught.value) and "r0-secret" not in str(caught.value)
