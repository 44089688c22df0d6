"""The in-flight set and the stock target with the expected values computed here from the
documented rule (mapping/stock.py, sync/stock.py docstrings), never read back from the engine
(issue 19, item 3):

    in flight = units of nopCommerce orders that are neither deleted nor cancelled and are
                (created within the lookback and not held by Brightpearl) or unsynced in the
                ledger or dead-lettered by the order flow (whenever created);
    target    = max(0, Brightpearl on hand in the counted warehouses - in flight - buffer).

The orders are placed as shoppers place them (sandbox control API); the oracle
(bp_nop_dagster_tests/stock_oracle.py) reads the shop's state straight from the simulator. Breaks checked (each applied, seen to fail, reverted): the
cancelled filter dropped (a cancelled order counted), and dead letters left out of the unsynced
set (a dead-lettered order of last week not counted)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bp_nop_dagster.ledger import Ledger
from bp_nop_dagster_tests.stock_oracle import in_flight_units
from bp_nop_dagster_tests.sync.test_stock import Shop, shop  # noqa: F401 - fixture

LOOKBACK = timedelta(minutes=30)


def expected_in_flight(shop: Shop, ledger: Ledger, product_id: int, now: datetime) -> int:
    return in_flight_units(shop.world, ledger, product_id, now, lookback=LOOKBACK)


def test_in_flight_counts_open_and_dead_lettered_orders_and_never_cancelled_ones(shop):
    sku = shop.product_of_kind(method=1)["sku"]
    bp_product = shop.move(sku, 1, 60)
    nop_product = shop.nop_product(sku)["id"]
    orders = shop.world.nopcommerce.orders
    long_ago = (datetime.now(UTC) - timedelta(days=6)).replace(tzinfo=None)

    shop.order(sku, 2)  # an open order of now
    cancelled = shop.order(sku, 3)
    orders[cancelled["id"]]["order_status_id"] = 40  # cancelled in the shop
    dead = shop.order(sku, 4)
    orders[dead["id"]]["created_on_utc"] = long_ago  # last week's order the order flow dead-lettered
    shop.ledger.enqueue("order", [str(dead["id"])])
    shop.ledger.dead_letter("order", str(dead["id"]), reason="validation_error", error_code="ORDC-005", message="refused", payload={})
    booked = shop.order(sku, 5)
    orders[booked["id"]]["created_on_utc"] = long_ago  # last week's, not in the ledger: not in flight

    now = datetime.now(UTC)
    engine = shop.engine(buffer=1)
    engine.in_flight_lookback, engine.clock = LOOKBACK, lambda: now
    (row,) = engine.run([bp_product]).rows

    in_flight = expected_in_flight(shop, shop.ledger, nop_product, now)
    assert in_flight >= 2 + 4  # the open and the dead-lettered order at least (seeded orders may add)
    assert row.in_flight == in_flight
    assert row.target == max(0, shop.on_hand(sku) - in_flight - 1)
    assert shop.nop_product(sku)["stock_quantity"] == row.target
