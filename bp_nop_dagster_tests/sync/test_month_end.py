"""Month-end summary (pure). Rules, as the module states them: revenue = nopCommerce totals of
orders not cancelled; refunds = nopCommerce refunded; payments = Brightpearl net; an order is open
unless `synced`, a payment item unless `matched` or `no_money`; a day is reconciled when both daily
reports exist; ready = every day reconciled and nothing open."""

from __future__ import annotations

from bp_nop_dagster.reporting import escape_markdown
from bp_nop_dagster.sync import payment_reconcile, reconcile
from bp_nop_dagster.sync.month_end import month_end, sign_off_page
from bp_nop_dagster.sync.report_table import typed_frame

DAYS = ["2026-03-01", "2026-03-02", "2026-03-03"]


def order(order_id: int, total: str, verdict: str = "synced", *, status: str = "Complete", channel: int | None = 1) -> dict:
    return {"nop_order_id": order_id, "currency": "GBP", "nop_total": total, "nop_order_status": status, "verdict": verdict,
            "brightpearl_order_id": 300 + order_id if channel else None, "brightpearl_channel_id": channel,
            "difference": "0", "reason": f"reason {order_id}", "action": "act"}


def item(day: str, order_id: int, net: str, verdict: str = "matched", *, refunded: str = "0", bp_net: str | None = None) -> dict:
    bp_net = net if bp_net is None else bp_net
    return {"day": day, "payment_method_code": "CARD", "currency": "GBP", "nop_order_id": order_id, "brightpearl_order_id": 300 + order_id,
            "nop_refunded": refunded, "nop_net": net, "brightpearl_net": bp_net, "journal_net": bp_net,
            "difference": str(float(net) - float(bp_net)), "verdict": verdict, "reason": f"why {order_id}", "action": "act"}


def orders_report(*rows):
    return typed_frame(rows, reconcile.COLUMNS)


def payments_report(*rows):
    return typed_frame(rows, payment_reconcile.ITEM_COLUMNS)


def test_a_clean_month_is_ready_and_totals_follow_the_rules():
    result = month_end(
        "2026-03", DAYS[:2],
        {DAYS[0]: orders_report(order(1, "10.00"), order(2, "5.00", status="Cancelled")), DAYS[1]: orders_report(order(3, "7.50"))},
        {DAYS[0]: payments_report(item(DAYS[0], 1, "10.00"), item(DAYS[0], 2, "0", "no_money")),
         DAYS[1]: payments_report(item(DAYS[1], 3, "7.50"))},
        channel_names={1: "Web store"}, default_channel=1,
    )
    assert result.ready and result.missing_days == []
    [row] = result.summary.to_dict("records")
    assert (row["channel"], row["currency"], row["orders"], row["cancelled_orders"]) == ("1 Web store", "GBP", 3, 1)
    assert (row["revenue"], row["payments"], row["journals"]) == (17.50, 17.50, 17.50)  # the cancelled 5.00 is no revenue
    assert list(result.daily["revenue"]) == [10.00, 7.50]
    assert "ready to sign off" in sign_off_page(result, escape_markdown)


def test_open_items_and_days_not_reconciled_keep_the_month_from_sign_off():
    result = month_end(
        "2026-03", DAYS,
        {DAYS[0]: orders_report(order(1, "10.00"), order(2, "4.00", "missing", channel=None))},
        {DAYS[0]: payments_report(item(DAYS[0], 1, "10.00", "refund_not_in_brightpearl", refunded="2.00", bp_net="12.00"),
                                  item(DAYS[0], 2, "4.00", "order_not_in_brightpearl", bp_net="0"))},
        channel_names={1: "Web store"}, default_channel=1,
    )
    assert not result.ready
    assert result.missing_days == DAYS[1:]
    assert sorted(result.open_items["verdict"]) == ["missing", "order_not_in_brightpearl", "refund_not_in_brightpearl"]
    [row] = result.summary.to_dict("records")  # the order not in Brightpearl counts under the mapping's channel
    assert (row["open_order_differences"], row["open_payment_differences"], row["refunds"]) == (1, 2, 2.00)
    assert row["difference_amount"] == (10.00 - 12.00) + (4.00 - 0)
    page = sign_off_page(result, escape_markdown)
    assert "not ready to sign off" in page and "2026\\-03\\-02" not in page and "2026-03-02..2026-03-03" in page
