"""Independent oracles for the money rules (issue 19, item 3): each expected value is computed
here from the documented rule, never read back from the engine, over builders that produce the
awkward cases (4-dp amounts, zero-rated lines, a tax remainder on a rate only shipping carries).

Rules:
- a Brightpearl payment amount is the nop order total rounded half-up to the currency's minor unit
  (2 dp; nopCommerce stores 4 dp: Order.OrderTotal is decimal(18,4) in the plugin contract's
  OrderDto; Brightpearl amounts are 2-dp money, Customer Payment POST doc example "amountPaid");
- the order rows (mapping/orders.py docstring): Σ(net + tax) == the nop total to the cent, and per
  rate Σ row tax == nop's tax_rates entry rounded to the cent.
Each test names the break it was checked against."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import example, given, settings
from hypothesis import strategies as st

from bp_nop_dagster.mapping.config import load_mapping_config
from bp_nop_dagster.mapping.orders import sales_order_body
from bp_nop_dagster.mapping.payments import customer_payments
from bp_nop_dagster_tests.mapping.nop_orders import Line, build_order, four_dp, skus_for, tax_remainder, zero_rated_lines

CONFIG = load_mapping_config().with_instance_id(lambda: 1)
CODE_RATE = {"T1": Decimal("20"), "T5": Decimal("5"), "T0": Decimal("0"), "Z": Decimal("0")}
PAID_ON = datetime(2026, 3, 5, 12, tzinfo=UTC)


def to_minor_unit(amount: Decimal) -> str:
    """The oracle: half-up to 2 decimals, written with exactly two."""
    return f"{amount.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):.2f}"


@settings(max_examples=300, deadline=None)
@given(total=four_dp("0.0001", "99999.9999"), status=st.sampled_from([20, 30]))
@example(total=Decimal("10.0050"), status=30)
@example(total=Decimal("10.0049"), status=20)
def test_payment_amounts_are_the_4dp_total_rounded_to_the_penny(total, status):
    """Break checked: `customer_payments` using the order total unrounded (`total =
    order.order_total`): amountPaid "10.0050" instead of "10.01", and this test fails."""
    details = build_order([Line("1.00")], order_total=total, payment_status_id=status)
    payments = customer_payments(details.order, bp_order_id=5, config=CONFIG, payment_date=PAID_ON)
    if to_minor_unit(total) == "0.00":
        assert payments == []  # nothing to book
        return
    amounts = [p.get("amountPaid") or p.get("amountAuthorized") for p in payments]
    assert amounts and set(amounts) == {to_minor_unit(total)}


def _tax_by_rate(rows) -> dict[Decimal, Decimal]:
    by_rate: dict[Decimal, Decimal] = defaultdict(Decimal)
    for row in rows:
        by_rate[CODE_RATE[row["taxCode"]]] += Decimal(row["tax"])
    return by_rate


def test_a_tax_remainder_on_a_rate_only_shipping_carries_is_kept():
    """Zero-rated goods, shipping 4.165 excl at 20 %: nop's incl is 5.00 and its 20 % tax 0.835 ->
    0.84, while the row's own incl − excl is 5.00 − 4.17 = 0.83: a cent of remainder with no
    product row at 20 % to take it. Break checked: dropping the `elif fixed:` branch of the tax
    allocation (the remainder lost): the 20 % rows carry 0.83 and this test fails."""
    lines = [Line("12.00", 2, "0")]
    assert tax_remainder("4.165", "20") == 1  # the builder produces the case
    details = build_order(lines, shipping="4.165", shipping_rate="20")
    rows = sales_order_body(details, contact_id=55, sku_to_product_id={"SKU-1": 11, "NOP-UNMAPPED": 999},
                            line_skus=skus_for(details, lines), config=CONFIG, iso3_for=lambda _: "GBR").body["rows"]
    assert _tax_by_rate(rows)[Decimal("20")] == Decimal("0.84")
    assert sum(Decimal(r["net"]) + Decimal(r["tax"]) for r in rows) == Decimal("24.00") + Decimal("5.00")


@settings(max_examples=300, deadline=None)
@given(lines=zero_rated_lines(), shipping=four_dp("0", "60"), fee=four_dp("0", "5"),
       rate=st.sampled_from(["20", "5"]))
def test_rows_match_nop_totals_with_4dp_shipping_and_fee_on_zero_rated_orders(lines, shipping, fee, rate):
    """The documented invariants over the awkward builders. Break checked: as above (the
    remainder dropped), Hypothesis finds a 4-dp shipping amount with a remainder."""
    details = build_order(lines, shipping=str(shipping), shipping_rate=rate, fee=str(fee), fee_rate=rate)
    rows = sales_order_body(details, contact_id=55, sku_to_product_id={"SKU-1": 11, "NOP-UNMAPPED": 999},
                            line_skus=skus_for(details, lines), config=CONFIG, iso3_for=lambda _: "GBR").body["rows"]
    order = details.order
    assert sum(Decimal(r["net"]) + Decimal(r["tax"]) for r in rows) == Decimal(order.order_total).quantize(Decimal("0.01"))
    expected = {Decimal(r): Decimal(a).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) for r, a in order.tax_rates.items()}
    got = _tax_by_rate(rows)
    for each in set(got) | set(expected):
        assert got.get(each, Decimal(0)) == expected.get(each, Decimal(0)), (each, got, expected)
