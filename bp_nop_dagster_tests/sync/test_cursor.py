"""Watermarks taken from the other system's data are capped at now + a small skew (issue 12: one
goods movement dated 2099 froze stock sync until the nightly reconcile)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest

from bp_nop_dagster.brightpearl.models import GoodsMovement, OrderSearchRow
from bp_nop_dagster.ledger import Ledger
from bp_nop_dagster.sync.cursor import WATERMARK_SKEW, SensorCursor, cap_watermark
from bp_nop_dagster.sync.stock import MOVEMENT_OVERLAP, moved_products, ordered_products

NOW = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


def test_a_past_or_near_watermark_is_kept_and_a_future_one_capped():
    assert cap_watermark(NOW - timedelta(hours=1), NOW) == NOW - timedelta(hours=1)
    assert cap_watermark(NOW + timedelta(seconds=30), NOW) == NOW + timedelta(seconds=30)  # a clock slightly ahead
    assert cap_watermark(datetime(2099, 1, 1, tzinfo=UTC), NOW) == NOW + WATERMARK_SKEW
    assert cap_watermark(datetime(2099, 1, 1, tzinfo=UTC), NOW, skew=timedelta(0)) == NOW


def test_cap_refuses_naive_datetimes_and_negative_skew():
    with pytest.raises(ValueError):
        cap_watermark(datetime(2024, 5, 1), NOW)
    with pytest.raises(ValueError):
        cap_watermark(NOW, NOW, skew=timedelta(seconds=-1))


def test_the_skew_stays_below_the_stock_overlap():
    """Otherwise a capped watermark still starts the next window after changes still to come."""
    assert WATERMARK_SKEW < MOVEMENT_OVERLAP


class Movements:
    """`goods_movement_search` over a fixed list: rows updated at or after `updated_since`,
    oldest first (the client's documented contract: `updatedOn` filter, sort updatedOn.ASC)."""

    def __init__(self) -> None:
        self.rows: list[GoodsMovement] = []

    def add(self, movement_id: int, product_id: int, updated_on: datetime) -> None:
        self.rows.append(GoodsMovement(goods_movement_id=movement_id, product_id=product_id, quantity=Decimal(1), updated_on=updated_on))

    def goods_movement_search(self, updated_since: datetime | None = None) -> list[GoodsMovement]:
        rows = [r for r in self.rows if updated_since is None or r.updated_on >= updated_since]
        return sorted(rows, key=lambda r: r.updated_on)


def test_a_movement_dated_in_the_future_does_not_hide_later_movements():
    bp = Movements()
    bp.add(1, 101, NOW - timedelta(seconds=20))
    bp.add(2, 102, datetime(2099, 1, 1, tzinfo=UTC))  # a wrong date in Brightpearl
    moved, cursor = moved_products(bp, SensorCursor(watermark=NOW - timedelta(minutes=1)), NOW)
    assert moved == [101, 102]
    assert cursor.watermark <= NOW + WATERMARK_SKEW

    later = NOW + timedelta(seconds=15)
    bp.add(3, 103, later - timedelta(seconds=5))  # a real movement after the first tick
    moved, cursor = moved_products(bp, cursor, later)
    assert moved == [103]  # found; the 2099 row is re-read but not handed on twice
    bp.add(4, 104, later + timedelta(seconds=10))
    moved, _ = moved_products(bp, cursor, later + timedelta(seconds=15))
    assert moved == [104]


class SalesOrders:
    """`sales_orders_changed_since` and `orders` over a fixed list (the client's contract: rows
    created or updated at or after `since`; orders by id with their product rows)."""

    def __init__(self) -> None:
        self.rows: list[OrderSearchRow] = []
        self.products: dict[int, int] = {}

    def add(self, order_id: int, product_id: int, created_on: datetime) -> None:
        self.rows.append(OrderSearchRow(order_id=order_id, created_on=created_on))
        self.products[order_id] = product_id

    def sales_orders_changed_since(self, since: datetime) -> list[OrderSearchRow]:
        return [r for r in self.rows if (r.updated_on or r.created_on) >= since]

    def orders(self, ids) -> list[SimpleNamespace]:
        return [SimpleNamespace(id=i, rows=[SimpleNamespace(product_id=self.products[i])]) for i in ids]


def test_a_sales_order_dated_in_the_future_does_not_hide_later_orders(tmp_path):
    """The stock sensor's second watermark (sales orders from other channels) is capped too."""
    bp = SalesOrders()
    bp.add(1, 201, NOW - timedelta(seconds=20))
    bp.add(2, 202, datetime(2099, 1, 1, tzinfo=UTC))  # a wrong date in Brightpearl
    with Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}") as ledger:
        products, cursor = ordered_products(bp, ledger, SensorCursor(watermark=NOW - timedelta(minutes=1)), NOW)
        assert products == [201, 202] and cursor.watermark <= NOW + WATERMARK_SKEW
        later = NOW + timedelta(seconds=15)
        bp.add(3, 203, later - timedelta(seconds=5))  # a phone order after the first tick
        products, _ = ordered_products(bp, ledger, cursor, later)
        assert products == [203]
