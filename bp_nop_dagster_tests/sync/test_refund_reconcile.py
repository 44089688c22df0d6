"""The refunds report's verdict rule (sync/refund_reconcile.py docstring), amounts in cents."""

from bp_nop_dagster.sync.refund_reconcile import OrderRefunds, report_rows, verdict


def test_each_verdict_follows_the_stated_rule():
    assert verdict(OrderRefunds(1, 10, 600, 600, 600))[0] == "matched"
    assert verdict(OrderRefunds(1, 10, 600, 600, 0))[0] == "amount_differs"  # credited, not paid out
    assert verdict(OrderRefunds(1, 10, 600, 500, 500))[0] == "amount_differs"
    assert verdict(OrderRefunds(1, 10, 600))[0] == "missing_credit"
    assert verdict(OrderRefunds(1, 10, 0, 600, 600))[0] == "missing_refund"
    letter = OrderRefunds(1, 10, 600, 600, 600, dead_letters=["staff_credit 7 dead-lettered (gateway_refused): declined"])
    assert verdict(letter) == ("dead_lettered", "staff_credit 7 dead-lettered (gateway_refused): declined (nopCommerce refunded "
                                                "6.00, Brightpearl credited 6.00 and paid out 6.00)")


def test_the_reason_says_what_is_in_progress_and_rows_are_in_money():
    row = OrderRefunds(2, 20, 1000, in_progress=["refund 1 failed (waiting)"])
    name, reason = verdict(row)
    assert name == "missing_credit" and reason.endswith("in progress: refund 1 failed (waiting)")
    [out] = report_rows([row])
    assert (out["nop_refunded"], out["bp_credited"], out["verdict"]) == ("10.00", "0.00", "missing_credit")
