"""Order reconciliation verdicts (pure): nopCommerce orders against the ledger and Brightpearl."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

import pandas as pd

VERDICTS = ("synced", "total_mismatch", "missing", "dead_lettered", "needs_review")
COLUMNS = ["nop_order_id", "custom_order_number", "created_on_utc", "nop_total", "nop_order_status_id", "nop_payment_status_id",
           "brightpearl_order_id", "brightpearl_total", "brightpearl_status_id", "brightpearl_payment_status", "ledger_status",
           "last_error", "verdict"]


def verdict(nop_total: Decimal, status, bp_id: int | None, summary) -> str:
    """The one word for an order: dead letters and placeholder lines first (they explain
    themselves), then a Brightpearl order whose total differs to the cent, then missing."""
    if status is not None and status.status == "dead_lettered":
        return "dead_lettered"
    if bp_id is None or summary is None:
        return "missing"
    if status is not None and status.needs_review:
        return "needs_review"
    if Decimal(str(summary.total)).quantize(Decimal("0.01")) != Decimal(str(nop_total)).quantize(Decimal("0.01")):
        return "total_mismatch"
    return "synced"


def order_verdicts(orders: Iterable, statuses: Mapping[str, object], links: Mapping[str, int], summaries: Mapping[int, object]) -> pd.DataFrame:
    rows = []
    for order in orders:
        key = str(order.id)
        status = statuses.get(key)
        bp_id = links.get(key)
        summary = summaries.get(bp_id) if bp_id is not None else None
        rows.append({
            "nop_order_id": order.id, "custom_order_number": order.custom_order_number, "created_on_utc": order.created_on_utc,
            "nop_total": float(order.order_total), "nop_order_status_id": order.order_status_id,
            "nop_payment_status_id": order.payment_status_id, "brightpearl_order_id": bp_id,
            "brightpearl_total": float(summary.total) if summary is not None and summary.total is not None else None,
            "brightpearl_status_id": summary.status_id if summary is not None else None,
            "brightpearl_payment_status": summary.payment_status if summary is not None else None,
            "ledger_status": status.status if status is not None else None,
            "last_error": status.last_error if status is not None else None,
            "verdict": verdict(order.order_total, status, bp_id, summary),
        })
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["brightpearl_order_id"] = frame["brightpearl_order_id"].astype("Int64")
    frame["created_on_utc"] = pd.to_datetime(frame["created_on_utc"], utc=True)
    return frame
