"""A staff credit the refund flow does not own, and the line that says a shop refund was seen
(session-23 mutation sample, issue 19 item 5; docs/mutation.md, "session 23"). Same set-up as
test_refund_flow.py (its fixtures and helpers).

Rule (`sync/refunds.py`, the Brightpearl → nopCommerce step): a staff credit whose sales order is no
nopCommerce order is not the flow's; its record is skipped, saying so, and nothing is refunded. The
flow's own discovery only enqueues credits of linked orders, so such a record comes from outside:
here it is enqueued by hand, as an operator putting records back would.
Break checked: the skip made under the key `None` instead of the credit's id (the credit's own
record is never settled)."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest
import requests

from bp_nop_dagster.sync.refunds import RefundSync
from bp_nop_dagster_tests.defs.test_refund_flow import (  # noqa: F401 (fixtures)
    Killed,
    credits_of,
    drain,
    flow,
    half_up,
    instance,
    nop_order,
    place,
    refunds_run,
    return_request,
    ship_in_brightpearl,
    shop_refund,
    so_rows,
    staff_credit,
    sync_orders,
)


def injected_so_far(root: str) -> int:
    """Faults the simulator has injected since it started (its counter spans every test)."""
    return sum(requests.get(f"{root}/__sandbox__/faults", timeout=10).json()["injected"].values())


def test_a_staff_credit_on_an_order_not_from_the_shop_is_skipped_saying_why(flow, instance):  # noqa: F811
    ledger = flow.resources["ledger"].get_ledger()
    so_id = min(flow.world.brightpearl.orders)  # seeded in Brightpearl: no nopCommerce order is linked to it
    assert ledger.nop_keys("order", [so_id]) == {}
    credit_id = staff_credit(flow, so_id, amount="6.00", net="5.00", tax="1.00")
    ledger.enqueue("staff_credit", [str(credit_id)])
    refunds_run(flow, instance)
    record = ledger.status("staff_credit", str(credit_id))
    assert (record.status, record.last_error) == ("skipped", "the credit's sales order is not a nopCommerce order")
    assert ledger.unsettled("staff_credit") == []


def test_a_shop_refund_seen_is_logged_with_its_order_number_and_amount(flow, instance, caplog):  # noqa: F811
    """Refunds are numbered per order from 1 (`refund_key`: "<o>:<n>"); the flow logs each one it
    detects with the order, that number and the amount, the line an operator follows a refund by.
    Break checked: the line's text changed."""
    placed = place(flow, [{"sku": "BPN-00001", "quantity": 2}])
    sync_orders(flow, instance)
    shop_refund(flow, placed["id"], "3.00")
    with caplog.at_level(logging.INFO, logger="bp_nop_dagster.sync.refunds"):
        refunds_run(flow, instance)
    detected = [r.getMessage() for r in caplog.records if r.name == "bp_nop_dagster.sync.refunds" and "detected" in r.getMessage()]
    assert detected == [f"order {placed['id']}: refund 1 of 3.00 detected"]


def test_a_staff_credit_paid_in_brightpearl_is_refunded_offline_whatever_the_gateway_supports(flow, instance):  # noqa: F811
    """returns-refunds.md: for a staff credit whose money already moved (a PAYMENT in Brightpearl),
    call `CanPartiallyRefundOffline`, then `PartiallyRefundOffline`; FIDELITY row
    `CanPartiallyRefundOffline`: "as CanPartiallyRefund without the gateway". So a payment method
    whose gateway supports no partial refund is no obstacle. Break checked: the online check
    (`CanPartiallyRefund`, which asks the gateway) used for the offline refund."""
    requests.put(f"{flow.nop_root}/__sandbox__/payment-gateways", json={
        "system_name": "Payments.Manual", "supports_refund": False, "supports_partial_refund": False}, timeout=10).raise_for_status()
    placed = place(flow, [{"sku": "BPN-00001", "quantity": 1}])
    so_id = sync_orders(flow, instance)[str(placed["id"])]
    ship_in_brightpearl(flow, so_id)
    staff_credit(flow, so_id, amount="6.00", net="5.00", tax="1.00")
    refunds_run(flow, instance)
    assert Decimal(str(nop_order(flow, placed["id"])["order"]["refunded_amount"])) == Decimal("6.00")
    assert [d for d in flow.resources["ledger"].get_ledger().dead_letters() if d.kind == "staff_credit"] == []


def test_a_goods_in_note_whose_reply_is_lost_is_found_by_its_batch_and_made_once(flow, instance):  # noqa: F811
    """DESIGN principle 1 (exactly once): a create whose reply is lost is looked up by its natural
    key before it is sent again; a returned item's goods-in note is found by its batch reference
    (`return_batch_ref`) on the credit. Break checked: the look-up made `min(None, ...)` (the
    record cannot settle)."""
    placed = place(flow, [{"sku": "BPN-00001", "quantity": 3}])
    so_id = sync_orders(flow, instance)[str(placed["id"])]
    ship_in_brightpearl(flow, so_id)
    [item] = nop_order(flow, placed["id"])["items"]
    request_id = return_request(flow, placed["id"], item["id"], 1)
    row = so_rows(flow, so_id)[str(item["id"])]
    shop_refund(flow, placed["id"], str(half_up(row.net / row.quantity) + half_up(row.tax / row.quantity)))
    refunds_run(flow, instance)
    [credit] = credits_of(flow, so_id)
    requests.post(f"{flow.nop_root}/__sandbox__/return-requests/{request_id}/staff", json={"status": "Received"}, timeout=10)
    key = f"{placed['id']}:1:{request_id}"
    ledger = flow.resources["ledger"].get_ledger()
    ledger.requeue("return_received", [key])
    before = injected_so_far(flow.bp_root)
    flow.faults(flow.bp_root, {"method": "POST", "path": "*/goods-note/goods-in", "drop_reply_rate": 1.0, "drop_reply_mode": "502",
                               "max_hits": 1})
    refunds_run(flow, instance)
    injected = injected_so_far(flow.bp_root) - before
    flow.faults(flow.bp_root)
    assert injected == 1  # the note was made and its reply lost
    refunds_run(flow, instance)
    [note_id] = flow.bp_client().goods_in_notes([credit.id])
    record = ledger.status("return_received", key)
    assert (record.status, record.bp_id) == ("synced", note_id)


def test_a_run_killed_after_refunding_a_staff_credit_in_the_shop_does_not_take_that_refund_for_a_new_one(flow, instance,  # noqa: F811
                                                                                                        monkeypatch):
    """returns-refunds.md §5 (reverse): the rise of refunded_amount our staff-credit refund causes
    is ours, never a new shop refund. The marker of it is written before the refund call; when the
    process dies after the shop refunded and before the step finished, the next run's detection
    books the rise as seen by that marker, and the staff-credit step finishes from it: no credit of
    ours follows. Break checked: the marker's amount read as `own["AMOUNT"]` (KeyError)."""
    placed = place(flow, [{"sku": "BPN-00001", "quantity": 1}])
    so_id = sync_orders(flow, instance)[str(placed["id"])]
    ship_in_brightpearl(flow, so_id)
    staff_credit(flow, so_id, amount="6.00", net="5.00", tax="1.00")

    def dies(self, *args, **kwargs):
        raise Killed("killed after the shop refunded")

    original = RefundSync._own_done
    monkeypatch.setattr(RefundSync, "_own_done", dies)
    with pytest.raises(Killed):
        refunds_run(flow, instance)
    monkeypatch.setattr(RefundSync, "_own_done", original)
    assert Decimal(str(nop_order(flow, placed["id"])["order"]["refunded_amount"])) == Decimal("6.00")
    drain(flow, instance)
    assert Decimal(str(nop_order(flow, placed["id"])["order"]["refunded_amount"])) == Decimal("6.00")
    assert [c.external_ref for c in credits_of(flow, so_id)] == [None]  # only the staff credit, none of ours
    assert flow.resources["ledger"].get_ledger().status("staff_credit", str(credits_of(flow, so_id)[0].id)).status == "synced"
