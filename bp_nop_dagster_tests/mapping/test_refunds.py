"""The refund rules of mapping/refunds.py. Every expected amount is worked out by hand here from the rule the
module docstring states (prorating half up to the cent, largest remainder over the order's gross per tax
code, net = part / (1 + rate) half up), for a sales order of: item 11, 3 units, net 10.00 tax 2.00 (T1 20 %);
item 12, 3 units, net 20.00 tax 1.00 (T5 5 %); shipping, net 4.13 tax 0.82 (T1). Gross: T1 16.95, T5 21.00."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bp_nop_dagster.mapping.config import MappingError, load_mapping_config
from bp_nop_dagster.mapping.refunds import (
    OrderRow,
    RefundPlan,
    ReturnLine,
    credit_rows,
    is_our_credit,
    nop_refund_cents,
    plan_refund,
    refund_ref,
)

CONFIG = load_mapping_config()
D = Decimal
ROWS = [
    OrderRow("11", 1001, None, D(3), D("10.00"), D("2.00"), "T1", "4000"),
    OrderRow("12", 1002, None, D(3), D("20.00"), D("1.00"), "T5", "4000"),
    OrderRow("shipping", None, "Shipping: Ground", D(1), D("4.13"), D("0.82"), "T1", "4040"),
]
TOTAL = 1000 + 200 + 2000 + 100 + 413 + 82  # 37.95


def rows_of(plan: RefundPlan) -> list[tuple[str, str, str, str]]:
    return [(r["externalRef"], r["net"], r["tax"], r["taxCode"]) for r in credit_rows(plan, ROWS, CONFIG).rows]


def plan(amount: int, requests=(), before: int = 0, shipping_before: bool = False) -> RefundPlan:
    return plan_refund(amount=amount, order_total=TOTAL, refunded_before=before, order_rows=ROWS,
                       open_requests=list(requests), shipping_credited_before=shipping_before)


def test_a_multi_item_return_prorates_each_row_half_up_and_a_cent_over_goes_to_a_difference_row():
    # item 11 x1: 10.00/3 = 3.333 -> 3.33, 2.00/3 = 0.667 -> 0.67; item 12 x2: 40/3 = 13.333 -> 13.33, 2/3 -> 0.67
    requests = [ReturnLine(1, 11, 1), ReturnLine(2, 12, 2)]
    assert rows_of(plan(1800, requests)) == [("return-1", "3.33", "0.67", "T1"), ("return-2", "13.33", "0.67", "T5")]
    # 0.01 more: largest remainder of 1 cent over gross 1695 (T1) / 2100 (T5) -> T5; net = 1 / 1.05 -> 0.01, tax 0
    assert rows_of(plan(1801, requests))[-1] == ("difference-T5", "0.01", "0.00", "T5")


def test_an_amount_only_refund_is_reversed_at_the_orders_mix_of_rates():
    # 12.00 over 1695 : 2100 -> 535 rem 3675, 664 rem 120, one cent left -> T1: 536, T5: 664
    # T1: 5.36 / 1.2 = 4.4667 -> 4.47, tax 0.89; T5: 6.64 / 1.05 = 6.3238 -> 6.32, tax 0.32
    assert [(ref, net, tax) for ref, net, tax, _ in rows_of(plan(1200))] == [
        ("difference-T1", "4.47", "0.89"), ("difference-T5", "6.32", "0.32")]


def test_the_shipping_row_is_credited_when_what_is_left_is_exactly_it_or_the_refund_completes_the_order():
    assert rows_of(plan(495)) == [("shipping", "4.13", "0.82", "T1")]
    assert not plan(500).shipping  # 5.00 is not the shipping gross: a difference, not shipping
    assert plan(TOTAL - 1000, before=1000).shipping  # completes the order and covers 4.95
    assert not plan(495, shipping_before=True).shipping


def test_return_requests_are_taken_oldest_first_while_their_goods_fit_in_the_refund():
    # request 1: item 11 x3 = 12.00 does not fit in 7.00; request 2: item 12 x1 = 6.67 + 0.33 = 7.00 does
    taken = plan(700, [ReturnLine(1, 11, 3), ReturnLine(2, 12, 1)])
    assert [r.request_id for r in taken.requests] == [2] and not taken.full


def test_a_full_refund_credits_every_row_as_booked():
    full = plan(TOTAL, [ReturnLine(5, 11, 1)])
    assert full.full and full.shipping
    assert rows_of(full) == [("row-11", "10.00", "2.00", "T1"), ("row-12", "20.00", "1.00", "T5"), ("shipping", "4.13", "0.82", "T1")]


def test_a_tax_code_the_mapping_has_no_rate_for_is_refused_rather_than_zero_rated():
    rows = [OrderRow("11", 1001, None, D(1), D("10.00"), D("1.50"), "T15", None)]
    with pytest.raises(MappingError):
        credit_rows(RefundPlan(500), rows, CONFIG)


def test_keys_and_the_origin_marker():
    assert refund_ref(42, 3, CONFIG) == "nop-42-refund-3"
    assert is_our_credit("nop-42-refund-3", CONFIG)
    assert not is_our_credit("nop-42", CONFIG) and not is_our_credit(None, CONFIG) and not is_our_credit("RMA-7", CONFIG)


def test_a_staff_credit_refunds_what_was_paid_out_capped_at_what_the_order_has_left():
    assert nop_refund_cents(600, 2000, 1500) == 500
    assert nop_refund_cents(600, 2000, 0) == 600
    assert nop_refund_cents(600, 2000, 2000) == 0
