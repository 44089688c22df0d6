"""Incoming stock and the buyers' cover formula (mapping/purchase_orders.py), with numbers worked
by hand from the formulas stated there."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from types import SimpleNamespace as NS

from bp_nop_dagster.mapping.purchase_orders import IncomingRow, backorder_changes, cover, incoming_by_sku, incoming_rows

TODAY = date(2026, 3, 1)


def po(order_id, status, rows, warehouse=1, delivery=datetime(2026, 3, 10)):
    return NS(id=order_id, order_type_code="PO", stock_status_code=status, reference=f"PO-{order_id}", warehouse_id=warehouse,
              delivery_date=delivery, rows=[NS(id=i, product_id=p, product_sku=f"SKU{p}", quantity=Decimal(q)) for i, p, q in rows])


def note(order_id, moved):
    return NS(order_id=order_id, goods_moved=[NS(purchase_order_row_id=r, quantity=q) for r, q in moved])


def test_outstanding_is_ordered_minus_received_per_row_summed_per_sku_and_warehouse():
    orders = [po(1, "POP", [(11, 7, 10), (12, 8, 5)]), po(2, "PON", [(21, 7, 3)], delivery=datetime(2026, 3, 5)),
              po(3, "POA", [(31, 7, 100)]), po(4, "PON", [(41, 7, 2)], warehouse=3)]
    notes = [note(1, [(11, 4), (12, 5)]), note(1, [(11, 1)])]
    lines = {(i.product_id, i.warehouse_id): i for i in incoming_by_sku(incoming_rows(orders, notes, {}))}
    # product 7, warehouse 1: (10 - 4 - 1) + 3 = 8, deliveries 5 and 10 March; product 8 received in full: absent
    assert (lines[(7, 1)].on_order, lines[(7, 1)].next_delivery, lines[(7, 1)].last_delivery) == (8, date(2026, 3, 5), date(2026, 3, 10))
    assert lines[(7, 3)].on_order == 2 and (8, 1) not in lines


def test_cover_flags_a_sku_whose_stock_and_incoming_do_not_last_the_cover_period():
    # 56 sold in 28 days: 2 a day; 28-day cover needs 56; 10 on hand + 20 on order = 30: short by 26, 15 days of cover
    line = cover("A", on_hand=10, on_order=20, sold=56, next_delivery=date(2026, 3, 20), today=TODAY, sales_window_days=28, cover_days=28)
    assert (line.daily_rate, line.days_of_cover, line.short_by, line.flagged) == (Decimal("2.00"), Decimal("15.0"), 26, True)
    # on hand lasts 5 days, the delivery comes in 19: flagged for that too
    assert "before the next delivery" in line.reason
    enough = cover("B", on_hand=100, on_order=0, sold=28, next_delivery=None, today=TODAY, sales_window_days=28, cover_days=28)
    assert not enough.flagged and enough.short_by == 0


def test_backorder_settings_while_out_of_stock_and_on_order_then_the_originals_back():
    current = {"backorder_mode_id": 0, "available_for_pre_order": False, "pre_order_availability_start_date_time_utc": None}
    on = backorder_changes(stock_quantity=0, on_order=5, next_delivery=date(2026, 3, 10), current=current, original=None,
                           backorders=True, available_from=True)
    assert on == {"backorder_mode_id": 1, "available_for_pre_order": True,
                  "pre_order_availability_start_date_time_utc": datetime(2026, 3, 10, tzinfo=timezone.utc)}
    back = backorder_changes(stock_quantity=4, on_order=5, next_delivery=None, current={**current, **on}, original=current,
                             backorders=True, available_from=True)
    assert back == current
    assert backorder_changes(stock_quantity=0, on_order=5, next_delivery=None, current=current, original=None,
                             backorders=False, available_from=False) == {}


def test_a_purchase_order_row_without_an_expected_date_has_no_delivery_date():
    rows = [IncomingRow(purchase_order_id=7, reference="PO-7", row_id=1, product_id=3, sku="A", warehouse_id=1,
                        ordered=5, received=1, expected_on=None)]
    (incoming,) = incoming_by_sku(rows)
    assert (incoming.on_order, incoming.next_delivery, incoming.last_delivery) == (4, None, None)
