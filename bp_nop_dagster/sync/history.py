"""Where the shop's history starts: the first day worth a daily partition."""

from __future__ import annotations

from datetime import date

from bp_nop_dagster.nopcommerce.client import NopCommerceClient

FIRST_IDS = 50


def shop_first_order_day(nop: NopCommerceClient, first_ids: int = FIRST_IDS) -> date | None:
    """The day (UTC) of the shop's first order: the oldest of its first `first_ids` order ids
    (nopCommerce numbers orders from 1; deleted ones are left out by Order/GetByIds), one request.
    None when none of them exists."""
    orders = nop.orders_by_ids(range(1, first_ids + 1))
    return min(o.created_on_utc for o in orders).date() if orders else None
