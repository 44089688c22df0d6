"""Behaviour of `sync/` that its surviving mutants showed unpinned (issue 19, item 5;
docs/mutation.md). Expected values restate the rules in each module's docstring; each test names
the break it was checked against."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace

from bp_nop_dagster.sync.history import FIRST_IDS, shop_first_order_day


class OrdersById:
    """nopCommerce's Order/GetByIds: the orders among the ids asked for that exist."""

    def __init__(self, *orders) -> None:
        self.orders = {o.id: o for o in orders}
        self.asked: list[list[int]] = []

    def orders_by_ids(self, ids):
        ids = list(ids)
        self.asked.append(ids)
        return [self.orders[i] for i in ids if i in self.orders]


def order(order_id: int, created: datetime) -> SimpleNamespace:
    return SimpleNamespace(id=order_id, created_on_utc=created)


def test_the_shops_first_day_is_the_oldest_of_its_first_fifty_order_ids_in_one_request():
    """nopCommerce numbers orders from 1; ids 1 to 50 are asked for once, deleted ones are absent,
    and the oldest of those found gives the day. Break checked: `range(1, first_ids + 2)` (id 51
    is asked for and its older date wins)."""
    nop = OrdersById(order(3, datetime(2024, 5, 2, 23, 59, tzinfo=UTC)), order(50, datetime(2024, 5, 1, 8, 0, tzinfo=UTC)),
                     order(51, datetime(2023, 1, 1, tzinfo=UTC)), order(7, datetime(2024, 6, 1, tzinfo=UTC)))
    assert shop_first_order_day(nop) == date(2024, 5, 1)
    assert nop.asked == [list(range(1, 51))] and FIRST_IDS == 50


def test_a_shop_without_any_of_its_first_orders_has_no_first_day():
    assert shop_first_order_day(OrdersById(order(60, datetime(2024, 1, 1, tzinfo=UTC)))) is None
    assert shop_first_order_day(OrdersById(order(2, datetime(2024, 1, 1, tzinfo=UTC))), first_ids=1) is None
