"""The refunds flow through Dagster against the sandbox (issue 14): shop refunds become closed,
paid Brightpearl credits exactly once, with tax reversed at the order's rates and totals to the
cent; a full refund before shipping cancels the sales order after reversing its payment; goods
come back when the return request is received; staff credits are refunded once in the shop; a
gateway refusal is dead-lettered with the gateway's words. Under faults and a kill mid-refund.

Expected amounts are computed here from the rules stated in each test (mapping/refunds.py's
module docstring), from the order as the shop and Brightpearl hold it, never from the flow."""

from __future__ import annotations

import json

from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import dagster as dg
import pytest
import requests
import yaml

from bp_nop_dagster.defs.sync_settings import OrderFlowKnobs, SyncSettings

import bp_nop_dagster.mapping as mapping_package
from bp_nop_dagster.brightpearl.resource import BrightpearlResource
from bp_nop_dagster.defs.orders.dead_letters import dead_letters
from bp_nop_dagster.defs.returns.assets import REFUNDS_REPORT, refund_sync, refunds_reconciliation
from bp_nop_dagster.ledger import RecordKind
from bp_nop_dagster.transport.errors import OutcomeUnknownError
from bp_nop_dagster_tests.defs.test_order_flow import ADDRESS, Flow, flow, instance, linked_orders  # noqa: F401 (fixtures)

CENT = Decimal("0.01")
DEFAULT_MAPPING = Path(mapping_package.__file__).with_name("default_mapping.yaml")


def half_up(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)


def place(flow: Flow, items: list[dict], *, method: str = "Payments.Manual") -> dict:
    """A paid shop order; Brightpearl holds stock for it (so it can be shipped there)."""
    for item in items:
        requests.post(f"{flow.bp_root}/__sandbox__/stock", json={"sku": item["sku"], "warehouse_id": 1, "quantity": item["quantity"]},
                      timeout=10).raise_for_status()
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

    requests.delete(f"{flow.nop_root}/__sandbox__/stats", timeout=10)
    refunds_run(flow, instance)
    refunds_run(flow, instance)  # a rerun writes nothing new
    # restock in one place (Brightpearl): the flow never writes to the shop (no ReturnedQuantity, no refund call)
    shop_calls = flow.stats(flow.nop_root)["requests"]
    assert not [k for k in shop_calls if (not k.startswith("GET") and "/Authenticate/" not in k) or "/OrderProcessing/" in k], shop_calls
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
    # valued at cost (returns-refunds.md §2: productValue = cost, not the sale price): the item's cost when ordered
    raw = flow.bp_client().get(f"/warehouse-service/order/{credit.id}/goods-note/goods-in")
    [value] = [line["productValue"]["value"] for got in raw.values() for line in got["goodsMoved"]]
    assert Decimal(str(value)) == Decimal(str(first["original_product_cost"])) != Decimal(str(first["unit_price_excl_tax"]))


def staff_credit(flow: Flow, so_id: int, *, amount: str | None, net: str, tax: str, close: bool = True) -> int:
    body = {"parent_order_id": so_id, "rows": [{"name": "Goodwill", "quantity": 1, "net": net, "tax": tax, "tax_code": "T1"}],
            "close": close} | ({"refund": {"amount": amount}} if amount else {})
    response = requests.post(f"{flow.bp_root}/__sandbox__/sales-credits", json=body, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["credit_id"]


def report(flow: Flow, instance) -> object:
    day = datetime.now(UTC).date().isoformat()
    result = dg.materialize([refunds_reconciliation], resources=flow.resources, instance=instance, partition_key=day)
    return result.asset_value(REFUNDS_REPORT)


def test_a_full_refund_before_shipping_reverses_the_payment_and_cancels_the_sales_order(flow, instance):
    """Brightpearl's Shopify app (help 360003894411): a full refund before any goods-out action cancels the
    order and reverses the payment. Expected: one PAYMENT of the order total on the sales order (amountPaid
    RECEIPT + CAPTURE - PAYMENT = 0, sale-payment-total doc), status Cancelled (the mapping's nop Cancelled
    -> 5), no credit; the report matches it."""
    placed = place(flow, [{"sku": "BPN-00001", "quantity": 1}])
    so_id = sync_orders(flow, instance)[str(placed["id"])]
    shop_refund(flow, placed["id"])  # full, offline
    refunds_run(flow, instance)
    refunds_run(flow, instance)
    total = Decimal(str(placed["order_total"]))
    assert credits_of(flow, so_id) == []
    refunds = [p for p in payments_on(flow, so_id) if p["paymentType"] == "PAYMENT"]
    assert [Decimal(str(p["amountPaid"])) for p in refunds] == [total]
    assert flow.bp_client().sale_payment_totals([so_id])[so_id].amount_paid == 0
    assert flow.bp_client().order_summaries([so_id])[so_id].status_id == 5
    frame = report(flow, instance)
    assert frame.set_index("nop_order_id").loc[placed["id"], "verdict"] == "matched"


@pytest.mark.slow
def test_a_full_refund_after_shipping_credits_every_row_and_a_shipping_only_refund_credits_the_shipping_row(flow, instance):
    """Full refund after shipping: every sales-order row credited as booked (clone to credit), so the credit's
    tax equals the order's tax. Shipping-only refund (the refund equals the shipping row's gross): one row, the
    shipping row's net and tax, no difference row."""
    whole = place(flow, [{"sku": "BPN-00001", "quantity": 2}, {"sku": "BPN-00002", "quantity": 1}])
    shipping = place(flow, [{"sku": "BPN-00002", "quantity": 1}])
    links = sync_orders(flow, instance)
    for order in (whole, shipping):
        ship_in_brightpearl(flow, links[str(order["id"])])
    shop_refund(flow, whole["id"])
    ship_row = so_rows(flow, links[str(shipping["id"])])["shipping"]
    shop_refund(flow, shipping["id"], str(ship_row.net + ship_row.tax))
    refunds_run(flow, instance)
    [full] = credits_of(flow, links[str(whole["id"])])
    [order] = flow.bp_client().sales_orders([links[str(whole["id"])]])
    assert (full.total_net, full.total_tax, full.total_gross) == (order.net, order.tax, Decimal(str(whole["order_total"])))
    [only] = credits_of(flow, links[str(shipping["id"])])
    assert [(r.net, r.tax, r.tax_code, r.external_ref) for r in only.rows] == [(ship_row.net, ship_row.tax, ship_row.tax_code, "shipping")]
    frame = report(flow, instance)
    assert set(frame["verdict"]) == {"matched"}, frame.to_dict("records")


@pytest.mark.slow
def test_a_staff_credit_paid_out_in_brightpearl_is_refunded_once_in_the_shop_and_not_credited_back(flow, instance):
    """returns-refunds.md §5 (reverse): a staff credit (not ours) with a PAYMENT becomes
    PartiallyRefundOffline of the money paid out, capped at order total - refunded amount; the rise of
    refunded_amount it causes is ours, never a new shop refund (no credit of ours follows)."""
    placed = place(flow, [{"sku": "BPN-00001", "quantity": 1}])
    so_id = sync_orders(flow, instance)[str(placed["id"])]
    ship_in_brightpearl(flow, so_id)
    staff_credit(flow, so_id, amount="6.00", net="5.00", tax="1.00")
    # a dropped reply on the refund GET: the refund happened; the retry re-reads refunded_amount and does not repeat it
    flow.faults(flow.nop_root, {"method": "GET", "path": "/OrderProcessing/PartiallyRefundOffline/*", "drop_reply_rate": 1.0,
                                "drop_reply_mode": "502", "max_hits": 1})
    refunds_run(flow, instance)
    flow.faults(flow.nop_root)
    ledger = flow.resources["ledger"].get_ledger()
    ledger.requeue("staff_credit", ledger.unsettled("staff_credit"))
    for _ in range(3):
        refunds_run(flow, instance)
    assert Decimal(str(nop_order(flow, placed["id"])["order"]["refunded_amount"])) == Decimal("6.00")
    assert [c.external_ref for c in credits_of(flow, so_id)] == [None]  # only the staff credit, none of ours
    frame = report(flow, instance)
    row = frame.set_index("nop_order_id").loc[placed["id"]]
    assert (row["verdict"], row["nop_refunded"], row["bp_credited"], row["bp_paid_out"]) == ("matched", "6.00", "6.00", "6.00")


def test_a_gateway_refusal_is_dead_lettered_with_the_gateways_message(flow, instance, tmp_path):
    """Issue 14: "payment gateway error during refund: alert, refund status updated in both systems". A closed
    staff credit without a PAYMENT, with refund_unpaid_credits_online, is refunded through the gateway
    (PartiallyRefund); the gateway refuses: dead letter `gateway_refused` carrying its message, nothing
    refunded, no PAYMENT booked, the report says dead_lettered."""
    requests.put(f"{flow.nop_root}/__sandbox__/payment-gateways", json={
        "system_name": "Payments.PayPalCommerce", "supports_refund": True, "supports_partial_refund": True,
        "refund_errors": ["PayPal: INSTRUMENT_DECLINED"]}, timeout=10).raise_for_status()
    flow.resources["sync_settings"] = online_mapping(tmp_path)
    placed = place(flow, [{"sku": "BPN-00001", "quantity": 1}], method="Payments.PayPalCommerce")
    so_id = sync_orders(flow, instance)[str(placed["id"])]
    credit_id = staff_credit(flow, so_id, amount=None, net="5.00", tax="1.00")
    refunds_run(flow, instance)
    [letter] = [d for d in flow.resources["ledger"].get_ledger().dead_letters() if d.kind == "staff_credit"]
    assert (letter.nop_key, letter.reason) == (str(credit_id), "gateway_refused")
    assert "PayPal: INSTRUMENT_DECLINED" in letter.message
    # a dead letter keeps what its record needs to be replayed (sync/fate.py); break checked (session 23
    # mutation sample): the staff-credit step settled without its payload
    assert letter.payload == {"credit_id": credit_id}
    assert Decimal(str(nop_order(flow, placed["id"])["order"]["refunded_amount"])) == 0
    assert payments_on(flow, credit_id) == []
    assert report(flow, instance).set_index("nop_order_id").loc[placed["id"], "verdict"] == "dead_lettered"
    # the cause fixed (the gateway accepts), the letter replayed: refunded once in the shop, paid once in Brightpearl
    requests.put(f"{flow.nop_root}/__sandbox__/payment-gateways", json={"system_name": "Payments.PayPalCommerce", "refund_errors": []},
                 timeout=10).raise_for_status()
    flow.resources["ledger"].get_ledger().release_dead_letters([letter.id])
    refunds_run(flow, instance)
    refunds_run(flow, instance)
    assert Decimal(str(nop_order(flow, placed["id"])["order"]["refunded_amount"])) == Decimal("6.00")
    assert [Decimal(str(p["amountPaid"])) for p in payments_on(flow, credit_id)] == [Decimal("6.00")]
    assert report(flow, instance).set_index("nop_order_id").loc[placed["id"], "verdict"] == "matched"


def drain(flow: Flow, instance, runs: int = 12) -> None:
    """Refund runs until every refund record is settled; failed ones are made due at once (their
    backoff is tested with a fake clock in sync/test_fate.py, not waited for here)."""
    ledger = flow.resources["ledger"].get_ledger()
    kinds = ("refund", "return_received", "staff_credit")
    for _ in range(runs):
        refunds_run(flow, instance, raise_on_error=False)
        waiting = {k: [s.nop_key for s in ledger.statuses(k) if s.status in ("pending", "failed")
                       and (s.last_error or "").find("waiting for the goods") < 0] for k in kinds}
        if not any(waiting.values()):
            return
        for kind, keys in waiting.items():
            ledger.requeue(kind, keys)
    raise AssertionError(f"refunds still unsettled: {waiting}")


@pytest.mark.slow
def test_mixed_refunds_under_dropped_replies_and_errors_give_one_credit_and_one_payment_each(flow, instance):
    """Drop-reply (committed, reply lost) and 503s on every Brightpearl write (credits, closes, payments,
    goods-in notes, status PUTs) and a dropped reply on the shop's refund GET. Expected per refund (amounts stated here): exactly one credit whose gross is the
    refunded amount and whose tax is not zero (reversed at the order's 20 %), exactly one PAYMENT of that
    amount on it; two partial refunds of one order are refunds 1 and 2; the staff credit is refunded once;
    the report has no unexplained difference."""
    a = place(flow, [{"sku": "BPN-00001", "quantity": 3}, {"sku": "BPN-00002", "quantity": 3}])
    b = place(flow, [{"sku": "BPN-00001", "quantity": 1}])
    c = place(flow, [{"sku": "BPN-00002", "quantity": 2}])
    d = place(flow, [{"sku": "BPN-00001", "quantity": 1}])
    links = sync_orders(flow, instance)
    for order in (a, b, c, d):
        ship_in_brightpearl(flow, links[str(order["id"])])
    items = sorted(nop_order(flow, a["id"])["items"], key=lambda i: i["id"])
    request_ids = []
    for item in items:  # multi-item return: 1 of 3 and 2 of 3 (thirds: prorating rounds); the goods are back already
        request_ids.append(return_request(flow, a["id"], item["id"], 1 if item is items[0] else 2))
        requests.post(f"{flow.nop_root}/__sandbox__/return-requests/{request_ids[-1]}/staff", json={"status": "Received"},
                      timeout=10).raise_for_status()
    rows = so_rows(flow, links[str(a["id"])])
    goods = sum(half_up(rows[str(i["id"])].net * q / 3) + half_up(rows[str(i["id"])].tax * q / 3)
                for i, q in zip(items, (1, 2)))
    refunds = {
        (a["id"], 1): goods,
        (b["id"], 1): Decimal("3.33"),
        (c["id"], 1): Decimal("5.00"),
        (c["id"], 2): Decimal(str(c["order_total"])) - Decimal("5.00"),
    }
    staff_credit(flow, links[str(d["id"])], amount="2.40", net="2.00", tax="0.40")
    # what Brightpearl answers a repeated credit POST is UNCONFIRMED: the harshest variant, a refusal
    requests.put(f"{flow.bp_root}/__sandbox__/fidelity", json={"duplicate_sales_credit_reply": "error"}, timeout=10).raise_for_status()
    flow.faults(flow.bp_root, {"method": "POST", "path": "*", "drop_reply_rate": 0.3, "drop_reply_mode": "502"},
                {"method": "POST", "path": "*", "error_rate": 0.2, "error_status": 503},
                {"method": "PUT", "path": "*", "drop_reply_rate": 0.3, "drop_reply_mode": "502"})
    flow.faults(flow.nop_root, {"method": "GET", "path": "/OrderProcessing/PartiallyRefund*", "drop_reply_rate": 1.0,
                                "drop_reply_mode": "502", "max_hits": 1})
    for (order_id, n), amount in sorted(refunds.items()):
        if n == 2:
            drain(flow, instance)  # the first partial is booked before the second is made
        shop_refund(flow, order_id, str(amount))
    drain(flow, instance)
    injected = {root: requests.get(f"{root}/__sandbox__/faults", timeout=10).json()["injected"] for root in (flow.bp_root, flow.nop_root)}
    assert all(sum(counts.values()) > 0 for counts in injected.values()), injected
    flow.faults(flow.bp_root)
    flow.faults(flow.nop_root)

    for (order_id, n), amount in refunds.items():
        ours = [cr for cr in credits_of(flow, links[str(order_id)]) if cr.external_ref == f"nop-{order_id}-refund-{n}"]
        assert len(ours) == 1, (order_id, n, ours)
        assert ours[0].total_gross == amount and ours[0].total_tax > 0
        [payment] = payments_on(flow, ours[0].id)
        assert (payment["paymentType"], Decimal(str(payment["amountPaid"]))) == ("PAYMENT", amount)
    assert Decimal(str(nop_order(flow, d["id"])["order"]["refunded_amount"])) == Decimal("2.40")
    [credit_a] = [cr for cr in credits_of(flow, links[str(a["id"])]) if cr.external_ref == f"nop-{a['id']}-refund-1"]
    notes = flow.bp_client().goods_in_notes([credit_a.id]).values()  # one receipt per request, never two
    assert sorted(m.quantity for note in notes for m in note.goods_moved) == [1, 2]
    frame = report(flow, instance)
    assert set(frame["verdict"]) == {"matched"}, frame[frame["verdict"] != "matched"].to_dict("records")


class Killed(BaseException):
    """The process dying at this point (not an Exception: nothing in the flow handles it)."""


def test_a_run_killed_between_the_credit_and_its_payment_resumes_with_one_credit_and_one_payment(flow, instance, monkeypatch):
    """Per-step state (issue 14 item 4): the credit is created and closed, the PAYMENT is sent and committed but
    its reply is lost and the process dies. The next run finds the credit by the ledger, the payment by its
    transactionRef + method, and creates neither again."""
    from bp_nop_dagster.brightpearl.client import BrightpearlClient

    placed = place(flow, [{"sku": "BPN-00001", "quantity": 2}])
    so_id = sync_orders(flow, instance)[str(placed["id"])]
    ship_in_brightpearl(flow, so_id)
    shop_refund(flow, placed["id"], "7.00")
    original = BrightpearlClient.create_customer_payment

    def dies_after_sending(self, body):
        try:
            return original(self, body)
        except OutcomeUnknownError as error:  # sent, committed, reply lost: the process dies here
            raise Killed("killed after sending the payment") from error

    monkeypatch.setattr(BrightpearlClient, "create_customer_payment", dies_after_sending)
    flow.faults(flow.bp_root, {"method": "POST", "path": "/accounting-service/customer-payment", "drop_reply_rate": 1.0,
                               "drop_reply_mode": "502", "max_hits": 1})
    with pytest.raises(Killed):
        refunds_run(flow, instance, raise_on_error=True)
    monkeypatch.setattr(BrightpearlClient, "create_customer_payment", original)
    ledger = flow.resources["ledger"].get_ledger()
    key = f"{placed['id']}:1"
    assert ledger.bp_id("refund_closed", key) is not None and ledger.bp_id("refund_paid", key) is None
    drain(flow, instance)
    [credit] = credits_of(flow, so_id)
    assert len(payments_on(flow, credit.id)) == 1
    assert ledger.status("refund", key).status == "synced"


def test_returned_goods_go_to_the_quarantine_location_when_the_mapping_says_so(flow, instance, tmp_path):
    """returns.location: quarantine -> the goods-in line's destinationLocationId is the warehouse's quarantine
    location (GET warehouse/{id}/location/quarantine), so the units are in stock but not on hand (quarantine
    location doc: 'not available for sale, allocation or Reservation')."""
    data = yaml.safe_load(DEFAULT_MAPPING.read_text())
    data["returns"]["location"] = "quarantine"
    data["returns"]["recheck_minutes"] = 0
    mapping_file = tmp_path / "mapping.yaml"
    mapping_file.write_text(yaml.safe_dump(data))
    flow.resources["sync_settings"] = SyncSettings(mapping_file=str(mapping_file), orders=OrderFlowKnobs(intent_lease_seconds=1.0))
    placed = place(flow, [{"sku": "BPN-00001", "quantity": 2}])
    so_id = sync_orders(flow, instance)[str(placed["id"])]
    ship_in_brightpearl(flow, so_id)
    [item] = nop_order(flow, placed["id"])["items"]
    request_id = return_request(flow, placed["id"], item["id"], 1)
    row = so_rows(flow, so_id)[str(item["id"])]
    shop_refund(flow, placed["id"], str(half_up(row.net / 2) + half_up(row.tax / 2)))
    requests.post(f"{flow.nop_root}/__sandbox__/return-requests/{request_id}/staff", json={"status": "Received"}, timeout=10)
    bp = flow.bp_client()
    before = bp.product_availability([row.product_id])[row.product_id]
    refunds_run(flow, instance)
    [credit] = credits_of(flow, so_id)
    [note] = bp.goods_in_notes([credit.id]).values()
    assert [(m.destination_location_id, m.quantity) for m in note.goods_moved] == [(bp.quarantine_location(1), 1)]
    bp.clear_reference_cache()
    after = bp.product_availability([row.product_id])[row.product_id]
    assert (after.total.on_hand, after.total.in_stock) == (before.total.on_hand, before.total.in_stock + 1)


def test_the_refunds_sensor_asks_for_one_run_per_slot_and_none_while_the_flow_is_paused(flow, instance):
    """One run per 5-minute slot (run key); within a slot a run only when refund work in the
    ledger is due (a refund a killed run left half done waits for no slot); none while
    Brightpearl is paused after an outage any flow found (sync/fate.py)."""
    from bp_nop_dagster.defs.returns.sensors import refunds_sensor
    from bp_nop_dagster.sync.fate import BRIGHTPEARL, pause_name

    resources = {"ledger": flow.resources["ledger"]}
    book = flow.resources["ledger"].get_ledger()
    with dg.build_sensor_context(instance=instance, resources=resources) as context:
        request = refunds_sensor(context)
        slot = context.cursor
    assert isinstance(request, dg.RunRequest) and request.run_key == f"refunds-{slot}"
    with dg.build_sensor_context(instance=instance, resources=resources, cursor=slot) as context:
        idle = refunds_sensor(context)
    assert isinstance(idle, dg.SkipReason) and "nothing pending" in idle.skip_message, idle
    book.enqueue(RecordKind.REFUND, ["1:1"])  # a refund found, not yet credited: due now
    with dg.build_sensor_context(instance=instance, resources=resources, cursor=slot) as context:
        resume = refunds_sensor(context)
    assert isinstance(resume, dg.RunRequest) and resume.run_key is None and resume.job_name == "refund_sync_job", resume
    until = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=1)
    book.set_watermark(pause_name(BRIGHTPEARL), json.dumps({"until": until.isoformat(), "outages": 1, "found_by": "orders"}))
    with dg.build_sensor_context(instance=instance, resources=resources, cursor=slot) as context:
        assert isinstance(refunds_sensor(context), dg.SkipReason)


def online_mapping(tmp_path) -> SyncSettings:
    data = yaml.safe_load(DEFAULT_MAPPING.read_text())
    data["returns"]["refund_unpaid_credits_online"] = True
    data["payment_methods"]["Payments.PayPalCommerce"] = "PAYPAL"
    mapping_file = tmp_path / "online.yaml"
    mapping_file.write_text(yaml.safe_dump(data))
    return SyncSettings(mapping_file=str(mapping_file), orders=OrderFlowKnobs(intent_lease_seconds=1.0))


@pytest.mark.slow
def test_an_online_refund_whose_brightpearl_payment_fails_is_not_refunded_again(flow, instance, tmp_path):
    """A closed, unpaid staff credit refunded through the gateway (PartiallyRefund, refund_unpaid_credits_online);
    the PAYMENT that records it in Brightpearl then fails on every try of the run. The next runs book the
    PAYMENT once (transactionRef nop-<order>-credit-<credit>) and never refund in the shop again: refunded_amount
    is the credit's gross (6.00) once."""
    requests.put(f"{flow.nop_root}/__sandbox__/payment-gateways", json={
        "system_name": "Payments.PayPalCommerce", "supports_refund": True, "supports_partial_refund": True,
        "refund_errors": []}, timeout=10).raise_for_status()
    flow.resources["sync_settings"] = online_mapping(tmp_path)
    placed = place(flow, [{"sku": "BPN-00001", "quantity": 1}], method="Payments.PayPalCommerce")
    so_id = sync_orders(flow, instance)[str(placed["id"])]
    credit_id = staff_credit(flow, so_id, amount=None, net="5.00", tax="1.00")
    flow.faults(flow.bp_root, {"method": "POST", "path": "/accounting-service/customer-payment", "error_rate": 1.0, "error_status": 500})
    settings = flow.settings
    flow.resources["brightpearl"] = BrightpearlResource(base_url=settings["bp_url"], app_ref=settings["app_ref"],  # few retries: no waiting
                                                        account_token=settings["account_token"], read_timeout=2.0, max_attempts=2)
    refunds_run(flow, instance, raise_on_error=False)
    assert Decimal(str(nop_order(flow, placed["id"])["order"]["refunded_amount"])) == Decimal("6.00")
    assert payments_on(flow, credit_id) == []
    flow.faults(flow.bp_root)
    drain(flow, instance)
    assert Decimal(str(nop_order(flow, placed["id"])["order"]["refunded_amount"])) == Decimal("6.00")
    [payment] = payments_on(flow, credit_id)
    assert (payment["paymentType"], Decimal(str(payment["amountPaid"])), payment["transactionRef"]) == (
        "PAYMENT", Decimal("6.00"), f"nop-{placed['id']}-credit-{credit_id}")
    assert report(flow, instance).set_index("nop_order_id").loc[placed["id"], "verdict"] == "matched"
