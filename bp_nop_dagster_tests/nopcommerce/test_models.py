"""The nopCommerce models against hand-written samples built from the reference notes (§2, §3,
§7.4) and against raw sandbox replies."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
import requests
from pydantic import ValidationError

from bp_nop_dagster.nopcommerce.models import (
    Address,
    Country,
    Customer,
    ManageInventoryMethod,
    Order,
    OrderItem,
    OrderStatus,
    PagedList,
    PaymentStatus,
    Product,
    ProductAttributeCombination,
    ProductWarehouseInventory,
    ReturnRequest,
    ReturnRequestStatus,
    Shipment,
    ShipmentItem,
    ShippingStatus,
    TokenResponse,
    parse_tax_rates,
)

UTC = timezone.utc

# The example order of the notes ("Recommendation and example shapes"), with card data added
# to prove it is dropped.
NOTES_ORDER = {
    "id": 42, "order_guid": "7d1e0c7e-0000-4000-8000-000000000042", "store_id": 1, "customer_id": 7,
    "billing_address_id": 11, "shipping_address_id": 11, "order_status_id": 20, "shipping_status_id": 20,
    "payment_status_id": 30, "payment_method_system_name": "Payments.CheckMoneyOrder", "order_total": 105.0000,
    "refunded_amount": 0.0000, "paid_date_utc": "2024-06-01T10:00:00", "shipping_method": "Ground", "deleted": False,
    "created_on_utc": "2024-06-01T09:59:00", "custom_order_number": "42",
    "tax_rates": "20:3.3333;5:0.5;", "order_tax": 3.8333, "order_subtotal_incl_tax": 23.3333,
    "card_number": "4111111111111111", "card_cvv2": "123", "card_name": "J Smith", "card_type": "Visa",
    "card_expiration_month": "12", "card_expiration_year": "2030", "masked_credit_card_number": "************1111",
    "authorization_transaction_id": "AUTH-1", "capture_transaction_id": "CAP-1", "subscription_transaction_id": None,
    "some_future_field": {"nested": True},
}

MINIMAL_ORDER = {"id": 1, "customer_id": 2, "order_status_id": 10, "shipping_status_id": 10, "payment_status_id": 10,
                 "order_total": 0, "created_on_utc": "2024-01-01T00:00:00"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("20:3.3333;5:0.5;", {Decimal("20"): Decimal("3.3333"), Decimal("5"): Decimal("0.5")}),
        ("5:0.50;   20:3.33;   ", {Decimal("5"): Decimal("0.50"), Decimal("20"): Decimal("3.33")}),
        ("17.5:1.75", {Decimal("17.5"): Decimal("1.75")}),
        ("0:0;", {Decimal("0"): Decimal("0")}),
        ("", {}),
        ("   ", {}),
        (None, {}),
        ("20:1;20:2;", {Decimal("20"): Decimal("3")}),
    ],
)
def test_tax_rates_parse(raw, expected):
    assert parse_tax_rates(raw) == expected
    assert Order.model_validate({**MINIMAL_ORDER, "tax_rates": raw}).tax_rates == expected


@pytest.mark.parametrize("raw", ["20", "20:abc;", "x:1;", "20:NaN;"])
def test_tax_rates_malformed_is_an_error(raw):
    with pytest.raises(ValidationError):
        Order.model_validate({**MINIMAL_ORDER, "tax_rates": raw})


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2018-04-04T09:33:39.303", datetime(2018, 4, 4, 9, 33, 39, 303000, tzinfo=UTC)),
        ("2018-04-04T09:33:39", datetime(2018, 4, 4, 9, 33, 39, tzinfo=UTC)),
        ("2018-04-04T09:33:39.3033333", datetime(2018, 4, 4, 9, 33, 39, 303333, tzinfo=UTC)),  # .NET 7 digits
        ("2018-04-04T09:33:39Z", datetime(2018, 4, 4, 9, 33, 39, tzinfo=UTC)),
        ("2018-04-04T10:33:39+01:00", datetime(2018, 4, 4, 9, 33, 39, tzinfo=UTC)),
    ],
)
def test_datetimes_are_utc(raw, expected):
    order = Order.model_validate({**MINIMAL_ORDER, "created_on_utc": raw, "paid_date_utc": raw})
    assert order.created_on_utc == expected
    assert order.created_on_utc.utcoffset() == timedelta(0)
    assert order.paid_date_utc == expected


@pytest.mark.parametrize("raw", [None, "0001-01-01T00:00:00", ""])
def test_optional_datetime_unset(raw):
    assert Order.model_validate({**MINIMAL_ORDER, "paid_date_utc": raw}).paid_date_utc is None


def test_notes_order_sample():
    order = Order.model_validate(NOTES_ORDER)
    assert order.id == 42 and order.customer_id == 7
    assert order.order_total == Decimal("105") and isinstance(order.order_total, Decimal)
    assert order.order_tax == Decimal("3.8333")
    assert order.order_subtotal_incl_tax == Decimal("23.3333")
    assert order.tax_rates == {Decimal("20"): Decimal("3.3333"), Decimal("5"): Decimal("0.5")}
    assert order.order_status is OrderStatus.PROCESSING
    assert order.payment_status is PaymentStatus.PAID
    assert order.shipping_status is ShippingStatus.NOT_YET_SHIPPED
    assert order.paid_date_utc == datetime(2024, 6, 1, 10, 0, tzinfo=UTC)
    assert order.created_on_utc == datetime(2024, 6, 1, 9, 59, tzinfo=UTC)
    assert order.custom_order_number == "42"
    assert order.authorization_transaction_id == "AUTH-1" and order.capture_transaction_id == "CAP-1"
    assert order.address_ids == (11,)
    assert order.masked_credit_card_number == "************1111"


def test_card_data_is_never_kept():
    order = Order.model_validate(NOTES_ORDER)
    dumped = order.model_dump()
    text = repr(order) + str(dumped) + order.model_dump_json()
    for field in ("card_number", "card_cvv2", "card_name", "card_type", "card_expiration_month", "card_expiration_year"):
        assert field not in dumped
    assert "4111111111111111" not in text and "123'" not in text and "J Smith" not in text
    assert not hasattr(order, "card_number")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("************1111", "************1111"), ("4111111111111111", "************1111"),
     ("4111 1111 1111 1111", "**** **** **** 1111"), ("", ""), (None, None)],
)
def test_masked_card_number_is_really_masked(raw, expected):
    assert Order.model_validate({**MINIMAL_ORDER, "masked_credit_card_number": raw}).masked_credit_card_number == expected


def test_minimal_order_defaults():
    order = Order.model_validate(MINIMAL_ORDER)
    assert order.shipping_address_id is None and order.paid_date_utc is None
    assert order.tax_rates == {} and order.refunded_amount == Decimal("0")
    assert order.deleted is False and order.custom_order_number is None
    assert order.address_ids == ()


def test_unknown_status_gives_none_not_an_error():
    order = Order.model_validate({**MINIMAL_ORDER, "order_status_id": 99})
    assert order.order_status_id == 99 and order.order_status is None


@pytest.mark.parametrize("missing", ["id", "customer_id", "order_status_id", "order_total", "created_on_utc"])
def test_order_required_fields(missing):
    data = dict(MINIMAL_ORDER)
    del data[missing]
    with pytest.raises(ValidationError):
        Order.model_validate(data)


def test_custom_order_number_int_becomes_text():
    assert Order.model_validate({**MINIMAL_ORDER, "custom_order_number": 1001}).custom_order_number == "1001"


# Table: (model, sample from the notes' field lists, expected attribute values)
SAMPLES = [
    (OrderItem, {"id": 5, "order_item_guid": "g", "order_id": 42, "product_id": 15, "quantity": 2, "unit_price_incl_tax": 12.0000,
                 "unit_price_excl_tax": 10.0000, "price_incl_tax": 24.0000, "price_excl_tax": 20.0000, "discount_amount_incl_tax": 0.0000,
                 "original_product_cost": 4.1234, "attributes_xml": "", "item_weight": None, "rental_start_date_utc": None},
     {"quantity": 2, "price_excl_tax": Decimal("20"), "original_product_cost": Decimal("4.1234"), "item_weight": None}),
    (Address, {"id": 11, "first_name": "Ann", "last_name": "Lee", "email": "ann@x.test", "country_id": 3, "state_province_id": None,
               "city": "Leeds", "address1": "1 Road", "zip_postal_code": "LS1 1AA", "created_on_utc": "2024-06-01T09:59:00.5"},
     {"country_id": 3, "state_province_id": None, "created_on_utc": datetime(2024, 6, 1, 9, 59, 0, 500000, tzinfo=UTC)}),
    (Address, {"id": 12}, {"city": None, "created_on_utc": None}),
    (Customer, {"id": 7, "customer_guid": "g", "username": None, "email": None, "first_name": "Guest", "active": True, "deleted": False,
                "created_on_utc": "2024-01-01T00:00:00", "last_activity_date_utc": "2024-06-01T00:00:00", "billing_address_id": None},
     {"email": None, "last_activity_date_utc": datetime(2024, 6, 1, tzinfo=UTC), "billing_address_id": None}),
    (Product, {"id": 15, "sku": "SKU-1", "name": "Hat", "manage_inventory_method_id": 2, "use_multiple_warehouses": False,
               "warehouse_id": 0, "stock_quantity": -3, "price": 9.9900, "published": False, "deleted": False,
               "updated_on_utc": "2024-06-02T08:00:00", "full_description": "<p>ignored</p>"},
     {"manage_inventory_method": ManageInventoryMethod.MANAGE_STOCK_BY_ATTRIBUTES, "stock_quantity": -3, "price": Decimal("9.99"),
      "published": False, "updated_on_utc": datetime(2024, 6, 2, 8, tzinfo=UTC)}),
    (ProductWarehouseInventory, {"id": 1, "product_id": 15, "warehouse_id": 2, "stock_quantity": 10, "reserved_quantity": 3},
     {"available_quantity": 7}),
    (ProductAttributeCombination, {"id": 1, "product_id": 15, "attributes_xml": "<Attributes/>", "stock_quantity": 4, "sku": "SKU-1-S",
                                   "overridden_price": None, "allow_out_of_stock_orders": True},
     {"sku": "SKU-1-S", "overridden_price": None, "allow_out_of_stock_orders": True}),
    (Shipment, {"id": 3, "order_id": 42, "tracking_number": None, "total_weight": 1.5, "shipped_date_utc": None,
                "delivery_date_utc": "0001-01-01T00:00:00", "created_on_utc": "2024-06-03T00:00:00"},
     {"total_weight": Decimal("1.5"), "shipped_date_utc": None, "delivery_date_utc": None}),
    (ShipmentItem, {"id": 4, "shipment_id": 3, "order_item_id": 5, "quantity": 2, "warehouse_id": 0}, {"quantity": 2}),
    (ReturnRequest, {"id": 9, "custom_number": "RR-9", "store_id": 1, "order_item_id": 5, "customer_id": 7, "quantity": 1,
                     "returned_quantity": 0, "reason_for_return": "Wrong size", "requested_action": "Refund",
                     "return_request_status_id": 20, "created_on_utc": "2024-06-05T00:00:00", "updated_on_utc": "2024-06-06T00:00:00"},
     {"return_request_status": ReturnRequestStatus.RETURN_AUTHORIZED, "custom_number": "RR-9"}),
    (Country, {"id": 3, "name": "United Kingdom", "two_letter_iso_code": "GB", "three_letter_iso_code": "GBR", "numeric_iso_code": 826},
     {"two_letter_iso_code": "GB", "numeric_iso_code": 826}),
    (TokenResponse, {"username": "admin@shop.com", "customer_id": 1, "customer_guid": "g", "token": "eyJ.x.y"},
     {"customer_id": 1}),
]


@pytest.mark.parametrize(("model", "data", "expected"), SAMPLES, ids=[f"{m.__name__}-{i}" for i, (m, _, _) in enumerate(SAMPLES)])
def test_samples(model, data, expected):
    parsed = model.model_validate(data)
    for name, value in expected.items():
        assert getattr(parsed, name) == value, name


def test_token_hidden_in_repr():
    parsed = TokenResponse.model_validate({"token": "eyJsecret.payload.sig"})
    assert "eyJsecret" not in repr(parsed) and "eyJsecret" not in str(parsed.model_dump())
    assert parsed.token.get_secret_value() == "eyJsecret.payload.sig"


def test_paged_envelope():
    page = PagedList[Country].model_validate({
        "page_index": 0, "page_size": 2, "total_count": 3, "total_pages": 2, "has_previous_page": False, "has_next_page": True,
        "items": [{"id": 1, "name": "A"}, {"id": 2, "name": "B"}],
    })
    assert page.has_next_page and page.total_count == 3 and [c.id for c in page.items] == [1, 2]
    empty = PagedList[Country].model_validate({"page_index": 0, "page_size": 250, "total_count": 0, "total_pages": 0,
                                               "has_previous_page": False, "has_next_page": False, "items": []})
    assert empty.items == [] and not empty.has_next_page


# ------------------------------------------------------------------------------------------------
# raw sandbox replies


def _raw(sandbox, token: str, path: str, **params):
    response = requests.get(f"{sandbox.urls.nopcommerce_base_url}{path}", params=params,
                            headers={"Authorization": f"Bearer {token}"}, timeout=10)
    response.raise_for_status()
    return response.json()


def test_models_parse_sandbox_replies(sandbox):
    """CONTRACT: the simulator's DTOs have exactly the plugin's properties (contracts/test_nopcommerce_contract.py
    checks them against webapi-contract.json), so this is the models on every DTO the seeded shop fills; the
    order tax rule (tax_rates sum to order_tax) is the notes' §3."""
    creds = sandbox.world.credentials
    token = requests.post(f"{sandbox.urls.nopcommerce_base_url}/Authenticate/GetToken",
                          json={"username": "", "email": creds.nopcommerce_email, "password": creds.nopcommerce_password},
                          timeout=10).json()["token"]
    orders = PagedList[Order].model_validate(_raw(sandbox, token, "/Order/Search", pageSize=50)).items
    assert orders
    for order in orders[:10]:
        assert order.created_on_utc.tzinfo is not None
        assert order.order_status is not None and order.payment_status is not None and order.shipping_status is not None
        assert sum(order.tax_rates.values(), Decimal("0")) == order.order_tax
        items = [OrderItem.model_validate(i) for i in _raw(sandbox, token, f"/OrderItem/GetOrderItems/{order.id}")]
        assert items and all(i.order_id == order.id for i in items)
        Address.model_validate(_raw(sandbox, token, f"/Address/GetById/{order.billing_address_id}"))
    products = PagedList[Product].model_validate(_raw(sandbox, token, "/Product/GetAll", pageSize=500, showHidden="true")).items
    assert products and all(p.manage_inventory_method is not None for p in products)
    for product in products:
        if product.use_multiple_warehouses:
            [ProductWarehouseInventory.model_validate(r)
             for r in _raw(sandbox, token, f"/ProductWarehouse/GetAllProductWarehouseInventoryRecords/{product.id}")]
        if product.manage_inventory_method_id == 2:
            [ProductAttributeCombination.model_validate(r) for r in _raw(sandbox, token, f"/ProductAttributeCombination/GetAll/{product.id}")]
    PagedList[Customer].model_validate(_raw(sandbox, token, "/Customer/GetAll", pageSize=500))
    PagedList[ReturnRequest].model_validate(_raw(sandbox, token, "/ReturnRequest/Search", pageSize=500))
    PagedList[Shipment].model_validate(_raw(sandbox, token, "/Shipment/GetAll", pageSize=500))
    assert [Country.model_validate(c) for c in _raw(sandbox, token, "/Country/GetAllCountries")]
