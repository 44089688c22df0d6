"""Order reconciliation verdicts (pure). The rule under test, as the module states it: the verdict
comes from what Brightpearl holds under the order's externalRef; the ledger only explains what
Brightpearl lacks and is flagged where it disagrees. Expected values follow from that rule and
the amounts written in each test."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from bp_nop_dagster.sync.reconcile import ACTIONS, LedgerEntry, order_verdicts
from bp_nop_dagster.sync.source_tables import SALES_ORDER_COLUMNS

DAY = datetime(2026, 3, 2, tzinfo=UTC)


def nop(order_id: int, total: str, *, lines: int = 1, hour: int = 10, status: int = 20, paid: int = 30) -> list[dict]:
    return [{"order_id": order_id, "custom_order_number": str(order_id), "created_on_utc": DAY.replace(hour=hour),
             "order_status_id": status, "payment_status_id": paid, "order_total": float(total), "item_id": order_id * 10 + i}
            for i in range(lines)]


def bp(order_id: int, ref: str, total: str, *, rows: list[tuple[str, str, str]] = (("SKU-1", "Widget", "11"),),
       currency: str = "GBP") -> list[dict]:
    base = {c: None for c in SALES_ORDER_COLUMNS}
    return [{**base, "order_id": order_id, "external_ref": ref, "total": float(total), "currency": currency, "status_id": 2,
             "status_name": "New web order", "payment_status": "PAID", "channel_id": 1, "sku": sku, "row_name": name,
             "row_external_ref": item} for sku, name, item in rows]


def verdicts(nop_rows: list[dict], bp_rows: list[dict], ledger=None, **kwargs) -> pd.DataFrame:
    frame = order_verdicts(
        pd.DataFrame(nop_rows), pd.DataFrame(bp_rows, columns=SALES_ORDER_COLUMNS), external_ref=lambda i: f"nop-{i}",
        ledger=ledger or {}, placeholder_sku="NOP-UNMAPPED", currency="GBP", **kwargs,
    )
    return frame.set_index("nop_order_id")


def test_an_order_brightpearl_holds_with_the_same_total_is_synced_whatever_the_ledger_says():
    """The issue's case: run against another (empty) ledger, the report still finds the order in Brightpearl by
    externalRef; it says synced and flags that the ledger disagrees."""
    frame = verdicts(nop(1, "24.50", lines=2) + nop(2, "5.00"), bp(301, "nop-1", "24.50") + bp(302, "nop-2", "5.00"),
                     ledger={"2": LedgerEntry("synced", bp_id=302)})
    assert list(frame.index) == [1, 2]  # one row per order, not per line
    assert frame.loc[1, "verdict"] == frame.loc[2, "verdict"] == "synced"
    assert frame.loc[1, "brightpearl_order_id"] == 301 and frame.loc[1, "difference"] == 0
    assert not frame.loc[1, "ledger_agrees"] and "the ledger disagrees: it has no record of it" in frame.loc[1, "reason"]
    assert frame.loc[2, "ledger_agrees"]
    assert frame.loc[1, "action"] == ACTIONS["synced"]


def test_a_different_total_is_a_mismatch_with_both_totals_and_the_difference():
    frame = verdicts(nop(1, "12.50"), bp(301, "nop-1", "10.00"), ledger={"1": LedgerEntry("synced", bp_id=301)})
    row = frame.loc[1]
    assert row["verdict"] == "total_mismatch"
    assert row["difference"] == pytest.approx(10.00 - 12.50)
    assert "10.00 GBP" in row["reason"] and "12.50 GBP" in row["reason"]


def test_placeholder_rows_name_the_shop_sku_and_item():
    rows = (("SKU-1", "Widget", "11"), ("NOP-UNMAPPED", "ACME 7 Blue kettle", "12"))
    frame = verdicts(nop(1, "30.00"), bp(301, "nop-1", "30.00", rows=rows), ledger={"1": LedgerEntry("synced", bp_id=301, needs_review=True)})
    assert frame.loc[1, "verdict"] == "needs_review"
    assert "'ACME 7 Blue kettle' (nopCommerce item 12)" in frame.loc[1, "reason"]


@pytest.mark.parametrize("entry, verdict, words", [
    (LedgerEntry("pending"), "pending", "queued for the order flow (pending, 0 failed attempts)"),
    (LedgerEntry("failed", attempts=3, last_error="503 from Brightpearl"), "pending", "last error: 503 from Brightpearl"),
    (LedgerEntry("dead_lettered", attempts=1, last_error="invalid_address: no postcode"), "dead_lettered", "no postcode"),
    (LedgerEntry("synced", bp_id=777), "missing", "it says synced as Brightpearl order 777"),
])
def test_what_brightpearl_lacks_is_explained_by_the_ledger(entry, verdict, words):
    frame = verdicts(nop(1, "9.99"), [], ledger={"1": entry})
    assert frame.loc[1, "verdict"] == verdict
    assert words in frame.loc[1, "reason"]
    assert bool(frame.loc[1, "ledger_agrees"]) is (entry.status != "synced")


def test_orders_from_before_the_ledger_followed_the_shop_say_so():
    """nopCommerce numbers orders as they come: an id below the ledger's lowest predates the integration."""
    frame = verdicts(nop(1, "9.99") + nop(7, "9.99"), [], first_followed=5)
    assert "predates the integration: its ledger starts at nopCommerce order 5" in frame.loc[1, "reason"]
    assert "never saw it" in frame.loc[7, "reason"]
    assert set(frame["verdict"]) == {"missing"}
    never = verdicts(nop(1, "9.99"), [])
    assert "has never seen an order" in never.loc[1, "reason"]


def test_an_order_brightpearl_could_not_be_read_for_is_cannot_tell_not_missing():
    frame = verdicts(nop(1, "9.99") + nop(2, "1.00"), bp(302, "nop-2", "1.00"),
                     unreadable={"nop-1": "Brightpearl could not be read (503)"})
    assert frame.loc[1, "verdict"] == "cannot_tell" and "503" in frame.loc[1, "reason"]
    assert pd.isna(frame.loc[1, "ledger_agrees"])
    assert frame.loc[2, "verdict"] == "synced"


def test_names_beside_codes_and_typed_columns():
    frame = verdicts(nop(1, "9.99", status=40, paid=35), bp(301, "nop-1", "9.99"))
    assert (frame.loc[1, "nop_order_status"], frame.loc[1, "nop_payment_status"]) == ("Cancelled", "PartiallyRefunded")
    assert frame.loc[1, "brightpearl_status"] == "New web order" and frame.loc[1, "currency"] == "GBP"
    assert str(frame["brightpearl_order_id"].dtype) == "Int64" and str(frame["ledger_agrees"].dtype) == "boolean"
    assert isinstance(frame["created_on_utc"].dtype, pd.DatetimeTZDtype) and str(frame["created_on_utc"].dt.tz) == "UTC"
