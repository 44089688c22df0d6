"""The in-flight units of a product computed from the documented rule (sync/stock.py step 3,
mapping/stock.py), straight from the simulated shop's state and the ledger, never from the stock
engine or its drift report (issue 19, item 3):

    in flight = units of nopCommerce orders neither deleted nor cancelled that are
                (created within the lookback and not held by Brightpearl) or unsynced in the
                ledger or dead-lettered by the order flow, or held but not allocated yet.

"Held" = linked in the ledger by the order flow; `unallocated` names the held orders Brightpearl
has not allocated (the caller knows them; none unless it linked some)."""

from __future__ import annotations

from datetime import datetime, timedelta

from bp_nop_dagster.ledger import Ledger

LOOKBACK = timedelta(hours=24)  # the documented default (SyncSettings.stock.in_flight_lookback_hours)


def in_flight_units(world, ledger: Ledger, nop_product_id: int, now: datetime, *, lookback: timedelta = LOOKBACK,
                    unallocated: frozenset[str] = frozenset()) -> int:
    nop = world.nopcommerce
    held = {link.nop_key for link in ledger.links("order")} - set(unallocated)
    unsynced = set(ledger.unsettled("order")) | {d.nop_key for d in ledger.dead_letters() if d.kind == "order"} | set(unallocated)
    since, until = (now - lookback).replace(tzinfo=None), now.replace(tzinfo=None)
    units = 0
    for order in nop.orders.values():
        if order["deleted"] or order["order_status_id"] == 40:
            continue
        key = str(order["id"])
        if (since <= order["created_on_utc"] <= until and key not in held) or key in unsynced:
            units += sum(i["quantity"] for i in nop.items_of_order(order["id"]) if i["product_id"] == nop_product_id)
    return units


def sellable_targets(world, ledger: Ledger, nop_product_id: int, on_hand: int, between: tuple[datetime, datetime],
                     buffer: int = 0, **kwargs) -> set[int]:
    """The stock targets max(0, on hand - in flight - buffer) for a run whose clock read a time in
    `between` (the rule evaluated at both ends: a seeded order right at the lookback's edge may
    count for one and not the other, so neither end alone is a safe expected value)."""
    return {max(0, on_hand - in_flight_units(world, ledger, nop_product_id, when, **kwargs) - buffer) for when in between}
