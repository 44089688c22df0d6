from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bp_nop_dagster.mapping.config import MappingConfig, load_mapping_config
from bp_nop_dagster.nopcommerce.models import parse_tax_rates
from bp_nop_dagster.mapping.orders import MappingError, allocate, external_ref, order_status_id, sales_order_body
from bp_nop_dagster_tests.mapping.nop_orders import PLACED, Line, address, build_order, r2, skus_for

CONFIG = load_mapping_config().with_instance_id(lambda: 1)  # as a run resolves it: the account's header says 1
PRODUCTS = {"SKU-1": 11, "SKU-2": 12, "SKU-3": 13, "A": 21, "B": 22, "C": 23, "NOP-UNMAPPED": 999}
CODE_RATE = {"T1": Decimal("20"), "T5": Decimal("5"), "T0": Decimal("0"), "Z": Decimal("0")}


def _iso3(country_id: int | None) -> str:
    table = {222: "GBR", 80: "DEU", 73: "FRA"}
    if country_id not in table:
        raise MappingError("invalid_address", f"unknown country {country_id}")
    return table[country_id]


def _map(details, lines, config: MappingConfig = CONFIG, products=PRODUCTS, **kwargs):
    return sales_order_body(details, contact_id=55, sku_to_product_id=products, line_skus=skus_for(details, lines),
                            config=config, iso3_for=_iso3, **kwargs)


def assert_invariants(details, body) -> None:
    order = details.order
    rows = body["rows"]
    for row in rows:
        for key in ("net", "tax"):
            assert Decimal(row[key]) == Decimal(row[key]).quantize(Decimal("0.01")) and row[key].count(".") == 1
            assert len(row[key].split(".")[1]) == 2
        assert isinstance(row["quantity"], int) and row["quantity"] > 0
    gross = sum(Decimal(r["net"]) + Decimal(r["tax"]) for r in rows)
    assert gross == r2(order.order_total), (gross, order.order_total, rows)
    by_rate: dict[Decimal, Decimal] = defaultdict(Decimal)
    for row in rows:
        by_rate[CODE_RATE[row["taxCode"]]] += Decimal(row["tax"])
    expected = {Decimal(rate): r2(amount) for rate, amount in order.tax_rates.items()}
    for rate in set(by_rate) | set(expected):
        assert by_rate.get(rate, Decimal("0")) == expected.get(rate, Decimal("0")), (rate, by_rate, expected)


# ---------------------------------------------------------------------------------------------
# money: table-driven


MONEY_CASES = {
    "one line": ([Line("10.00")], {}),
    "thirds": ([Line("0.33", 3), Line("3.33", 3), Line("33.33", 7)], {}),
    "thirds incl tax": ([Line("10.00", 3), Line("3.33", 3)], {"prices_include_tax": True}),
    "many lines": ([Line(f"{i}.{i:02d}", i % 4 + 1, "20", f"SKU-{i % 3 + 1}") for i in range(1, 25)], {}),
    "20+5+0 rates": ([Line("12.49", 2, "20"), Line("7.77", 3, "5"), Line("4.00", 1, "0")], {"shipping": "4.95"}),
    "sub-total discount": ([Line("19.99", 2), Line("5.01", 1, "5")], {"subtotal_discount": "5.00"}),
    "order discount": ([Line("19.99", 2), Line("5.01", 1, "5")], {"order_discount": "3.33"}),
    "both discounts + shipping + fee": (
        [Line("9.99", 3), Line("0.99", 7, "5"), Line("2.50", 2, "0")],
        {"subtotal_discount": "10.00", "order_discount": "1.11", "shipping": "9.95", "fee": "1.50"},
    ),
    "discount larger than items": ([Line("3.00")], {"shipping": "9.95", "order_discount": "5.00"}),
    "zero total": ([Line("0.00", 2)], {}),
    "discounted to zero": ([Line("5.00", 1, "0")], {"subtotal_discount": "5.00"}),
    "free item and a paid one": ([Line("0.00", 1), Line("8.00", 1)], {}),
    "4dp tax_rates": ([Line("10.00", 3), Line("0.10", 3, "5")], {"prices_include_tax": True, "tax_rates_4dp": True}),
    "zero-rate listed": ([Line("4.00", 1, "0"), Line("4.00", 1)], {"include_zero_rate": True}),
    "shipping at 5%": ([Line("4.00")], {"shipping": "3.99", "shipping_rate": "5"}),
    "tiny prices": ([Line("0.01", 9), Line("0.02", 5, "5"), Line("0.04", 3, "20")], {"shipping": "0.01"}),
    "large order": ([Line("9999.99", 50), Line("1234.56", 17, "5")], {"shipping": "99.00"}),
}


@pytest.mark.parametrize("allocation", ["spread", "rows"])
@pytest.mark.parametrize("lines, options", MONEY_CASES.values(), ids=MONEY_CASES.keys())
def test_rows_add_up_to_the_nop_totals(lines, options, allocation):
    details = build_order(lines, **options)
    config = CONFIG.model_copy(update={"discount_allocation": allocation})
    mapping = _map(details, lines, config)
    assert_invariants(details, mapping.body)
    item_rows = [r for r in mapping.body["rows"] if r.get("externalRef", "").isdigit()]
    assert len(item_rows) == len(lines)
    assert [r["quantity"] for r in item_rows] == [line.quantity for line in lines]


def test_a_three_rate_order_in_detail():
    lines = [Line("10.00", 3, "20", "A"), Line("3.33", 7, "5", "B"), Line("1.99", 1, "0", "C")]
    details = build_order(lines, shipping="4.95", fee="1.50", subtotal_discount="5.00", order_discount="2.00")
    rows = _map(details, lines).body["rows"]
    assert [(r.get("productId"), r["taxCode"], r["nominalCode"], r["externalRef"]) for r in rows] == [
        (21, "T1", "4000", "5001"), (22, "T5", "4000", "5002"), (23, "T0", "4000", "5003"),
        (None, "T1", "4040", "shipping"), (None, "T1", "4000", "payment-fee"),
    ]
    assert rows[3]["name"] == "Shipping: Ground" and (rows[3]["net"], rows[3]["tax"]) == ("4.95", "0.99")
    assert rows[4]["name"] == "Payment fee: Payments.Manual" and (rows[4]["net"], rows[4]["tax"]) == ("1.50", "0.30")
    # 7.00 of discount (5.00 sub-total + 2.00 order) spread over 55.29 of item net, by net
    assert [r["net"] for r in rows[:3]] == ["26.20", "20.36", "1.74"]
    assert_invariants(details, {"rows": rows})


def test_discount_rows_mode_keeps_line_prices():
    lines = [Line("10.00", 3, "20", "A"), Line("5.00", 2, "5", "B")]
    details = build_order(lines, subtotal_discount="4.00")
    config = CONFIG.model_copy(update={"discount_allocation": "rows"})
    rows = _map(details, lines, config).body["rows"]
    assert [r["net"] for r in rows[:2]] == ["30.00", "10.00"]
    discounts = [r for r in rows if r["externalRef"].startswith("discount")]
    assert [(r["taxCode"], r["net"], r["tax"], r["nominalCode"]) for r in discounts] == [
        ("T5", "-1.00", "0.00", "4000"), ("T1", "-3.00", "0.00", "4000"),
    ]
    assert_invariants(details, {"rows": rows})


@pytest.mark.parametrize(
    "total, weights, parts",
    [
        (100, [1, 1, 1], [34, 33, 33]),
        (-100, [1, 1, 1], [-34, -33, -33]),
        (5, [0, 0], [5, 0]),
        (0, [3, 4], [0, 0]),
        (7, [10, 20, 30, 40], [1, 1, 2, 3]),
        (1, [1, 3], [0, 1]),
    ],
)
def test_allocate_largest_remainder(total, weights, parts):
    assert allocate(total, weights) == parts
    assert sum(allocate(total, weights)) == total


# ---------------------------------------------------------------------------------------------
# property: random orders computed the nopCommerce way


line_strategy = st.builds(
    Line,
    unit=st.decimals(min_value=Decimal("0"), max_value=Decimal("500"), places=2).map(str),
    quantity=st.integers(min_value=1, max_value=25),
    rate=st.sampled_from(["20", "5", "0"]),
    sku=st.sampled_from(["A", "B", "C", "UNKNOWN-1", None]),
)
money_strategy = st.decimals(min_value=Decimal("0"), max_value=Decimal("60"), places=2).map(str)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=st.lists(line_strategy, min_size=1, max_size=12),
    shipping=money_strategy,
    shipping_rate=st.sampled_from(["20", "5", "0"]),
    fee=st.sampled_from(["0", "1.50", "0.99"]),
    subtotal_discount=money_strategy,
    order_discount=money_strategy,
    prices_include_tax=st.booleans(),
    tax_rates_4dp=st.booleans(),
    allocation=st.sampled_from(["spread", "rows"]),
)
def test_property_rows_always_match_nop_totals(lines, shipping, shipping_rate, fee, subtotal_discount, order_discount,
                                               prices_include_tax, tax_rates_4dp, allocation):
    details = build_order(lines, shipping=shipping, shipping_rate=shipping_rate, fee=fee, subtotal_discount=subtotal_discount,
                          order_discount=order_discount, prices_include_tax=prices_include_tax, tax_rates_4dp=tax_rates_4dp)
    config = CONFIG.model_copy(update={"discount_allocation": allocation})
    mapping = _map(details, lines, config)
    assert_invariants(details, mapping.body)
    unknown = {line.sku for line in lines if line.sku not in PRODUCTS}
    assert mapping.needs_review == bool(unknown)
    assert set(mapping.unknown_skus) == unknown - {None}


# ---------------------------------------------------------------------------------------------
# header, addresses, placeholder


def test_header_fields():
    lines = [Line("10.00")]
    details = build_order(lines, order_id=4242, custom_order_number="W-4242", shipping_method="Next Day Air")
    body = _map(details, lines).body
    assert body["customer"] == {"id": 55}
    assert body["billing"]["contactId"] == 55
    assert body["ref"] == "W-4242"
    assert body["externalRef"] == "nop-4242" == external_ref(4242, CONFIG)
    assert body["installedIntegrationInstanceId"] == 1
    assert body["placedOn"] == PLACED.isoformat(timespec="seconds") == "2024-03-05T14:30:00+00:00"
    assert (body["statusId"], body["channelId"], body["warehouseId"], body["priceListId"], body["priceModeCode"]) == (7, 1, 1, 2, "EXC")
    assert body["currency"] == {"code": "GBP"}
    assert body["delivery"]["shippingMethodId"] == 2


def test_without_an_instance_id_the_order_carries_none():
    """An account that names no installation (no header, no mapping value): the key is left out, not sent as null."""
    lines = [Line("10.00")]
    body = _map(build_order(lines), lines, config=load_mapping_config()).body
    assert "installedIntegrationInstanceId" not in body


@pytest.mark.parametrize(
    "method, expected",
    [("Ground", 1), ("Next Day Air", 2), ("In-Store Pickup", 3), (" in-store pickup ", 3), ("Drone", 1), (None, 1)],
)
def test_shipping_method_mapping(method, expected):
    lines = [Line("10.00")]
    assert _map(build_order(lines, shipping_method=method), lines).body["delivery"]["shippingMethodId"] == expected


@pytest.mark.parametrize(
    "billing, shipping, no_shipping, delivery_expected, billing_expected",
    [
        pytest.param(
            address(1, first_name="Zoë", last_name="Brontë", company="Société Générale", address2="Bâtiment B",
                     city="Orléans", county="Loiret", country_id=73, zip_postal_code="45000", phone_number=None, email=None),
            None, True,
            {"addressFullName": "Zoë Brontë", "companyName": "Société Générale", "addressLine1": "1 High Street",
             "addressLine2": "Bâtiment B", "addressLine3": "Orléans", "addressLine4": "Loiret", "postalCode": "45000",
             "countryIsoCode": "FRA"},
            None, id="unicode, no shipping address → billing",
        ),
        pytest.param(
            address(1), address(2, first_name="王", last_name=None, address1="Hauptstraße 5", city="München", country_id=80,
                                zip_postal_code="80331", phone_number=None, email=None),
            False,
            {"addressFullName": "王", "addressLine1": "Hauptstraße 5", "addressLine3": "München", "postalCode": "80331",
             "countryIsoCode": "DEU"},
            {"addressFullName": "Ada Lovelace", "addressLine1": "1 High Street", "addressLine3": "London", "postalCode": "N1 9GU",
             "countryIsoCode": "GBR", "telephone": "020 7946 0000", "email": "Ada@Example.com"},
            id="separate delivery address, missing optional fields left out",
        ),
    ],
)
def test_addresses(billing, shipping, no_shipping, delivery_expected, billing_expected):
    lines = [Line("10.00")]
    details = build_order(lines, billing=billing, shipping_address=shipping, no_shipping_address=no_shipping)
    body = _map(details, lines).body
    assert body["delivery"]["address"] == delivery_expected
    assert body["billing"]["address"] == (billing_expected or delivery_expected)


def test_unknown_skus_use_the_placeholder():
    lines = [Line("10.00", 1, "20", "A"), Line("4.00", 2, "20", "NOPE-1"), Line("2.00", 1, "5", None), Line("1.00", 1, "20", "NOPE-1")]
    details = build_order(lines)
    mapping = _map(details, lines, product_names={102: "Merino Scarf"})
    rows = mapping.body["rows"]
    assert mapping.needs_review and mapping.unknown_skus == ["NOPE-1"]
    assert len(mapping.review_reasons) == 3
    assert [r["productId"] for r in rows] == [21, 999, 999, 999]
    assert "name" not in rows[0]
    assert rows[1]["name"] == "NOPE-1 Merino Scarf"
    assert rows[2]["name"] == "(no SKU) nopCommerce product 103"
    assert_invariants(details, mapping.body)


def test_known_skus_need_no_review():
    lines = [Line("10.00", 1, "20", "A")]
    mapping = _map(build_order(lines), lines)
    assert not mapping.needs_review and mapping.unknown_skus == [] and mapping.review_reasons == []


def test_exempt_tax_code_for_a_reverse_charge_order():
    lines = [Line("10.00", 2, "0")]
    details = build_order(lines, vat_number="DE123456789")
    assert [r["taxCode"] for r in _map(details, lines).body["rows"]] == ["Z"]


@pytest.mark.parametrize(
    "order_status, payment_status, expected",
    [(10, 30, 2), (10, 10, 6), (20, 10, 6), (20, 20, 7), (20, 30, 7), (30, 30, 8), (30, 10, 8), (40, 10, 5), (40, 30, 5)],
)
def test_order_status(order_status, payment_status, expected):
    details = build_order([Line("1.00")], order_status_id=order_status, payment_status_id=payment_status)
    assert order_status_id(details.order, CONFIG) == expected


# ---------------------------------------------------------------------------------------------
# every MappingError reason


def _with_item(details, **changes):
    item = details.items[0].model_copy(update=changes)
    return details.model_copy(update={"items": [item, *details.items[1:]]})


def _with_order(details, **changes):
    return details.model_copy(update={"order": details.order.model_copy(update=changes)})


BASE = build_order([Line("10.00", 2), Line("5.00", 1, "5")], shipping="4.95")
BASE_LINES = [Line("10.00", 2), Line("5.00", 1, "5")]

ERROR_CASES = {
    "no items": (BASE.model_copy(update={"items": []}), "malformed_order", "no items"),
    "zero quantity": (_with_item(BASE, quantity=0), "malformed_order", "quantity 0"),
    "negative quantity": (_with_item(BASE, quantity=-1), "malformed_order", "quantity -1"),
    "negative unit price": (_with_item(BASE, unit_price_excl_tax=Decimal("-1")), "malformed_order", "unit_price_excl_tax"),
    "negative total": (_with_order(BASE, order_total=Decimal("-1")), "malformed_order", "order_total"),
    "absurd total": (_with_order(BASE, order_total=Decimal("1000000.01")), "malformed_order", "sanity limit"),
    "total does not add up": (_with_order(BASE, order_total=BASE.order.order_total + Decimal("0.06")), "malformed_order", "not subtotal"),
    "items do not add up": (_with_item(BASE, price_excl_tax=Decimal("2.00")), "malformed_order", "items add up"),
    "tax at a rate no line has": (_with_order(BASE, tax_rates=parse_tax_rates("20:4.99;5:0.25;17.5:1.00;")), "malformed_order", "17.5%"),
    "unknown country": (BASE.model_copy(update={"billing_address": address(1, country_id=999)}), "invalid_address", "999"),
    "no address line": (BASE.model_copy(update={"shipping_address": address(2, address1="  ")}), "invalid_address", "first address line"),
    "no addresses": (BASE.model_copy(update={"billing_address": None, "shipping_address": None}), "invalid_address", "no billing"),
    "postcode too long": (BASE.model_copy(update={"billing_address": address(1, zip_postal_code="X" * 21)}), "invalid_address", "postcode"),
    "unmapped tax rate": (
        _with_item(BASE, unit_price_incl_tax=Decimal("11.75"), price_incl_tax=Decimal("23.50")),
        "validation_error", "17.50%",
    ),
    "unmapped order status": (_with_order(BASE, order_status_id=99), "validation_error", "order status 99"),
}


@pytest.mark.parametrize("details, reason, words", ERROR_CASES.values(), ids=ERROR_CASES.keys())
def test_mapping_errors(details, reason, words):
    with pytest.raises(MappingError) as caught:
        _map(details, BASE_LINES)
    assert caught.value.reason == reason
    assert words in caught.value.message


def test_missing_placeholder_is_a_validation_error():
    lines = [Line("10.00", 1, "20", "NOPE")]
    with pytest.raises(MappingError) as caught:
        _map(build_order(lines), lines, products={"A": 1})
    assert caught.value.reason == "validation_error" and "NOP-UNMAPPED" in caught.value.message


def test_iso3_lookup_failures_become_invalid_address():
    lines = [Line("10.00")]

    def broken(country_id):
        raise KeyError(country_id)

    with pytest.raises(MappingError) as caught:
        sales_order_body(build_order(lines), contact_id=1, sku_to_product_id=PRODUCTS, line_skus={}, config=CONFIG, iso3_for=broken)
    assert caught.value.reason == "invalid_address"


def test_zero_total_order_is_valid():
    lines = [Line("0.00", 3)]
    details = build_order(lines)
    assert details.order.order_total == 0
    rows = _map(details, lines).body["rows"]
    assert [(r["net"], r["tax"]) for r in rows] == [("0.00", "0.00")]
