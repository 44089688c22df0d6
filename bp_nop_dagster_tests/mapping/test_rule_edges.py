"""Edges of the mapping rules and the exact words an operator reads (issue 19 item 5: the
survivors of the mutation run in docs/mutation.md). Each expected value comes from the rule
stated in the test (or the function's docstring), never from the code under test."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bp_nop_dagster.mapping.config import (
    MappingConfigError,
    MappingError,
    load_mapping_config,
    parse_mapping_config,
    validate_against_reference,
)
from bp_nop_dagster.mapping.contacts import country_iso3, normalise_email, postal_code_text, split_name
from bp_nop_dagster.mapping.fulfilment import FulfilmentMappingError, ShipmentLine, shipment_lines
from bp_nop_dagster.mapping.orders import infer_rate, sales_order_body
from bp_nop_dagster.mapping.payments import customer_payments
from bp_nop_dagster.mapping.refunds import OrderRow, RefundPlan, credit_rows
from bp_nop_dagster.nopcommerce.models import parse_tax_rates
from bp_nop_dagster_tests.mapping.nop_orders import PLACED, Line, address, build_order, skus_for
from bp_nop_dagster_tests.mapping.test_config import DEFAULT_DATA
from bp_nop_dagster_tests.mapping.test_fulfilment import item, note, row

CONFIG = load_mapping_config().with_instance_id(lambda: 1)
PRODUCTS = {"SKU-1": 11, "NOP-UNMAPPED": 999}


def _iso3(country_id: int | None) -> str:
    return {222: "GBR"}[country_id]


def _map(details, lines, products=PRODUCTS):
    return sales_order_body(details, contact_id=55, sku_to_product_id=products, line_skus=skus_for(details, lines),
                            config=CONFIG, iso3_for=_iso3)


def _with_order(details, **changes):
    return details.model_copy(update={"order": details.order.model_copy(update=changes)})


def _with_item(details, **changes):
    return details.model_copy(update={"items": [details.items[0].model_copy(update=changes), *details.items[1:]]})


# ---------------------------------------------------------------------------------------------
# orders: the words of each refusal name the field, the address and the SKU


AMOUNT_FIELDS = [
    "order_total", "order_subtotal_incl_tax", "order_subtotal_excl_tax", "order_sub_total_discount_incl_tax",
    "order_sub_total_discount_excl_tax", "order_shipping_incl_tax", "order_shipping_excl_tax",
    "payment_method_additional_fee_incl_tax", "payment_method_additional_fee_excl_tax", "order_discount",
]


@pytest.mark.parametrize("field", AMOUNT_FIELDS)
def test_a_negative_amount_is_named_by_its_nop_field(field):
    """The operator reads which nop Order field is wrong, by its API name (Order DTO)."""
    details = _with_order(build_order([Line("10.00")]), **{field: Decimal("-1")})
    with pytest.raises(MappingError) as caught:
        _map(details, [Line("10.00")])
    assert (caught.value.reason, caught.value.message) == ("malformed_order", f"order 1001: {field} is negative or invalid (-1)")


@pytest.mark.parametrize(("which", "update"), [("billing", "billing_address"), ("delivery", "shipping_address")])
def test_an_address_without_a_first_line_names_which_address(which, update):
    details = build_order([Line("10.00")])
    details = details.model_copy(update={update: address(1 if which == "billing" else 2, address1="  ")})
    with pytest.raises(MappingError) as caught:
        _map(details, [Line("10.00")])
    number = 1 if which == "billing" else 2
    assert (caught.value.reason, caught.value.message) == ("invalid_address", f"the {which} address ({number}) has no first address line")


def test_a_rate_of_exactly_100_percent_is_possible_and_above_is_not():
    """A tax rate is a percentage between 0 and 100 inclusive (the mapping's own rule for tax_codes)."""
    lines = [Line("10.00")]
    details = build_order(lines)
    at_100 = _with_order(details, tax_rates={**details.order.tax_rates, Decimal("100"): Decimal("0")})
    assert _map(at_100, lines).body["rows"] == _map(details, lines).body["rows"]
    above = _with_order(details, tax_rates={**details.order.tax_rates, Decimal("100.01"): Decimal("0")})
    with pytest.raises(MappingError) as caught:
        _map(above, lines)
    assert caught.value.message == "order 1001: tax_rates has an impossible rate 100.01%"


def test_a_rate_with_no_tax_code_is_a_validation_error_naming_the_codes():
    """A 17.5% line whose rate is in the order's tax_rates but not in the mapping's tax_codes
    (20: T1, 5: T5, 0: T0 in the default mapping)."""
    lines = [Line("10.00", rate="17.5")]
    with pytest.raises(MappingError) as caught:
        _map(build_order(lines), lines)
    assert caught.value.reason == "validation_error"
    assert caught.value.message == "order 1001: item 5001 is taxed at 17.5%, which has no tax code in the mapping (tax_codes: 20%, 5%, 0%)"


def test_shipping_at_an_unknown_rate_is_named_shipping():
    lines = [Line("10.00")]
    details = build_order(lines, shipping="10.00", shipping_rate="7")
    details = _with_order(details, tax_rates=parse_tax_rates("20:2.00;"), order_total=Decimal("22.70"))
    with pytest.raises(MappingError) as caught:
        _map(details, lines)
    assert caught.value.message == "order 1001: shipping is taxed at about 7.00%, which matches no rate in tax_codes"


def test_unknown_and_missing_skus_are_named_in_the_review_reasons_and_the_refusal():
    lines = [Line("10.00", sku="NOPE"), Line("1.00", sku=None)]
    details = build_order(lines)
    assert _map(details, lines).review_reasons == [
        "item 5001: SKU 'NOPE' (nop product 101) is not in Brightpearl",
        "item 5002: no SKU (nop product 102) is not in Brightpearl",
    ]
    for skus, words in ((lines[:1], "has SKU 'NOPE' unknown"), (lines[1:], "has no SKU unknown")):
        only = build_order(skus)
        with pytest.raises(MappingError) as caught:
            _map(only, skus, products={})
        assert words in caught.value.message, caught.value.message


def test_a_blank_custom_order_number_falls_back_to_the_order_id():
    lines = [Line("10.00")]
    assert _map(build_order(lines, custom_order_number="   "), lines).body["ref"] == "1001"


def test_line_totals_decide_the_rate_when_the_unit_prices_fit_none():
    """Unit prices 1.00 → 1.10 fit no candidate (0, 5, 20 %); the line totals 10.00 → 12.00 (×10)
    fit 20 %, within the per-unit slack times the quantity."""
    lines = [Line("1.00", 10)]
    details = _with_item(build_order(lines), unit_price_incl_tax=Decimal("1.10"))
    (row_body,) = _map(details, lines).body["rows"]
    assert (row_body["taxCode"], row_body["net"], row_body["tax"]) == ("T1", "10.00", "2.00")


def test_infer_rate_slack_is_inclusive_and_ties_go_to_the_closest_rate():
    """infer_rate's docstring: consistent within the slack (0.0051 per unit), ties to the closest."""
    assert infer_rate(Decimal("10.00"), Decimal("10.0051"), [Decimal("0")], set()) == Decimal("0")
    assert infer_rate(Decimal("10.00"), Decimal("10.0052"), [Decimal("0")], set()) is None
    # 1.00 at 5 % is 1.05 and at 5.5 % 1.055: both within the slack of 1.055, 5.5 % exactly
    assert infer_rate(Decimal("1.00"), Decimal("1.055"), [Decimal("5"), Decimal("5.5")], set()) == Decimal("5.5")
    assert infer_rate(Decimal("1.00"), Decimal("1.05"), [Decimal("5"), Decimal("5.5")], set()) == Decimal("5")


# ---------------------------------------------------------------------------------------------
# contacts


def test_an_address_without_a_country_says_so():
    with pytest.raises(MappingError) as caught:
        country_iso3("  ", CONFIG)
    assert (caught.value.reason, caught.value.message) == ("invalid_address", "the address has no country")


def test_a_long_postcode_is_quoted_up_to_40_characters():
    text = "".join(chr(ord("A") + i % 26) for i in range(50))
    with pytest.raises(MappingError) as caught:
        postal_code_text(address(4, zip_postal_code=text))
    assert caught.value.message == f"address 4: postcode {text[:40]!r} is longer than 20 characters"


def test_an_email_with_two_at_signs_is_only_stripped_and_lowered():
    """normalise_email's docstring: a value without exactly one `@` is only stripped and lower-cased."""
    assert normalise_email(" First.Last@x@Gmail.com ") == "first.last@x@gmail.com"


def test_split_name_falls_back_to_customer_when_the_email_has_no_local_part():
    assert split_name("Mary", None, email="@example.com") == ("Mary", "Customer")


def test_split_name_drops_a_space_left_at_the_32_character_cut():
    last = "A" * 31 + " Smith"  # cut at 32: 31 letters and a space
    assert split_name("Jo", last) == ("Jo", "A" * 31)


# ---------------------------------------------------------------------------------------------
# fulfilment


def test_a_zero_quantity_row_does_not_hide_the_rows_after_it():
    lines = shipment_lines(note({1: [0], 2: [1]}), {1: row(1, ref="11"), 2: row(2, ref="12")},
                           [item(11, 2), item(12, 3)], {}, {})
    assert lines == [ShipmentLine(12, 1)]


def test_two_rows_of_one_sku_cannot_together_ship_more_than_the_item_has():
    """Rows 1 and 2 both carry SKU B, matching the one nop item 12 (quantity 3): 2 + 2 > 3."""
    rows = {1: row(1, sku="B"), 2: row(2, sku="B")}
    with pytest.raises(FulfilmentMappingError) as caught:
        shipment_lines(note({1: [2], 2: [2]}), rows, [item(12, 3)], {12: "B"}, {})
    assert caught.value.reason == "validation_error"
    assert str(caught.value) == "validation_error: goods-out note 77: order row 2 ships 1 more than nopCommerce items [12] have left to ship"


@pytest.mark.parametrize(("rows", "what"), [({1: row(1, sku="ZZ")}, "SKU 'ZZ'"), ({1: row(1)}, "no SKU"), ({}, "no SKU")])
def test_an_unmatched_row_is_named_by_its_sku(rows, what):
    with pytest.raises(FulfilmentMappingError) as caught:
        shipment_lines(note({1: [1]}), rows, [item(11, 1)], {11: "A"}, {})
    assert caught.value.reason == "unknown_sku"
    assert str(caught.value) == f"unknown_sku: goods-out note 77: order row 1 ({what}) matches no item of the nopCommerce order"


# ---------------------------------------------------------------------------------------------
# payments


def test_an_auth_capture_with_only_an_auth_id_captures_as_auth_id_dash_capture():
    config = CONFIG.model_copy(update={"payment_status": {**CONFIG.payment_status, 30: "auth_capture"}})
    order = build_order([Line("10.00")], payment_status_id=30, authorization_transaction_id="A-1").order
    bodies = customer_payments(order, bp_order_id=7, config=config, payment_date=PLACED)
    assert [(b["paymentType"], b["transactionRef"]) for b in bodies] == [("AUTH", "A-1"), ("CAPTURE", "A-1-capture")]


def test_an_order_without_a_payment_method_says_none():
    order = build_order([Line("10.00")], payment_status_id=30, payment_method_system_name=None).order
    with pytest.raises(MappingError) as caught:
        customer_payments(order, bp_order_id=7, config=CONFIG, payment_date=PLACED)
    assert caught.value.message == "order 1001: no payment method mapped for '(none)' (payment_methods)"


def test_an_unmapped_payment_status_names_the_status():
    config = CONFIG.model_copy(update={"payment_status": {k: v for k, v in CONFIG.payment_status.items() if k != 30}})
    order = build_order([Line("10.00")], payment_status_id=30).order
    with pytest.raises(MappingError) as caught:
        customer_payments(order, bp_order_id=7, config=config, payment_date=PLACED)
    assert caught.value.message == "order 1001: nop payment status 30 has no mapping (payment_status)"


# ---------------------------------------------------------------------------------------------
# the mapping file


def test_a_bad_dict_key_is_reported_by_its_path_as_a_bad_key():
    """A tax_codes key that is no number: the path is `tax_codes.<key>` (pydantic's `[key]` marker
    left out) and the message says it is the key, not the value, that is wrong."""
    with pytest.raises(MappingConfigError) as caught:
        parse_mapping_config({**DEFAULT_DATA, "tax_codes": {"abc": "T1"}})
    (problem,) = caught.value.problems
    assert problem.startswith("tax_codes.abc: bad key: ") and "[key]" not in problem, problem


def test_an_unknown_tax_code_is_named_a_tax_code():
    problems = validate_against_reference(load_mapping_config(), tax_codes={"T1", "T5", "Z"})
    assert problems == ["tax_codes.0: Brightpearl tax code 'T0' does not exist (known: T1, T5, Z)"]


# ---------------------------------------------------------------------------------------------
# rates and quantities as people write them: "20", never Decimal's "2E+1"


def test_discount_rows_are_named_and_referenced_by_the_plain_rate():
    """Discount rows (discount_allocation: rows) are named "Discount (<rate>% VAT)" and referenced
    "discount-<rate>" (init_mapping.py's row kinds): 20 % is "20"."""
    lines = [Line("10.00", 3, "20", "SKU-1")]
    config = CONFIG.model_copy(update={"discount_allocation": "rows"})
    details = build_order(lines, subtotal_discount="4.00")
    rows = sales_order_body(details, contact_id=55, sku_to_product_id=PRODUCTS, line_skus=skus_for(details, lines),
                            config=config, iso3_for=_iso3).body["rows"]
    assert [(r["name"], r["externalRef"]) for r in rows if r["externalRef"].startswith("discount")] == [
        ("Discount (20% VAT)", "discount-20")]


def test_a_full_refund_credits_a_ten_unit_row_as_quantity_10():
    """Brightpearl's row quantity arrives as "10.0000"; the credit row says "10"."""
    rows = [OrderRow("11", 1001, None, Decimal("10.0000"), Decimal("10.00"), Decimal("2.00"), "T1", "4000")]
    (credit,) = credit_rows(RefundPlan(1200, full=True), rows, CONFIG).rows
    assert credit["quantity"] == "10"


def test_refund_difference_rows_name_their_plain_rate():
    """An amount-only refund reversed over two tax codes: one difference row per code, each named
    with its rate (20 % for T1, 5 % for T5 in the default mapping)."""
    rows = [OrderRow("11", 1001, None, Decimal("1"), Decimal("10.00"), Decimal("2.00"), "T1", "4000"),
            OrderRow("12", 1002, None, Decimal("1"), Decimal("20.00"), Decimal("1.00"), "T5", "4000")]
    names = [r["name"] for r in credit_rows(RefundPlan(1000), rows, CONFIG).rows]
    assert names == ["Refund difference (20% VAT)", "Refund difference (5% VAT)"]
