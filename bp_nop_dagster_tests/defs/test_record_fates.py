"""Issue 19, item 1: every way a record can fail ends in exactly one fate (sync/fate.py: dead
letter with reason, retried, skipped with reason), asserted on the ledger and on both systems,
through Dagster against the sandbox. Each test names in its docstring the deliberate break it was
checked against (applied, seen to fail, reverted).

Sources for the simulated answers: a Brightpearl refusal is a 400 `{"errors": [{code, message}]}`
(help 212644843, HTTP status codes); a repeat of a sales order's externalRef + installed
integration instance answers 200 with no change (Sales Order POST doc,
api-docs.brightpearl.com/order/sales-order/post.html; brightpearl-api notes, corrections);
nopCommerce's Web API answers 400 for a refused write and 404 for a missing entity (plugin
contract, bp_nop_dagster/contracts/nopcommerce/)."""

from __future__ import annotations

from collections import Counter

import pytest

from bp_nop_dagster.ledger import schema
from bp_nop_dagster.sync.fulfilment import GOODS_OUT_NOTE, SHIPMENT_SHIPPED
from bp_nop_dagster_tests.defs.test_fulfilment_flow import Fulfilment, fulfilment, instance  # noqa: F401 - fixtures
from bp_nop_dagster_tests.defs.test_order_flow import Flow, linked_orders

ORDER_POST = "POST /order-service/sales-order"


@pytest.fixture
def flow(sandbox, tmp_path, monkeypatch, ledger_clock) -> Flow:
    monkeypatch.setenv("BP_NOP_REPORTS_DIR", str(tmp_path / "reports"))
    flow = Flow(sandbox, tmp_path)
    flow.ledger_clock = ledger_clock
    return flow


def bp_posts(flow: Flow) -> Counter:
    return Counter({k: v for k, v in flow.stats(flow.bp_root)["requests"].items() if k.startswith("POST ")})


def test_a_brightpearl_refusal_of_the_order_create_is_dead_lettered_never_dropped(flow, instance):
    """Breaks checked: the flow swallowing the refusal (`except ValidationError: return` around
    `_create_order` in OrderSync._sync_one: sync/test_orders, test_fate and test_one_bad_record
    stay green), and Fates.settle's ValidationError branch turned into `pass`: this test fails
    on both."""
    (order,) = flow.place(1)
    flow.tick(instance)
    flow.faults(flow.bp_root, {"method": "POST", "path": "/order-service/sales-order", "error_rate": 1.0, "error_status": 400})
    try:
        flow.sync(instance)
        flow.sync(instance)  # a second run does not try it again
    finally:
        flow.faults(flow.bp_root)
    ledger = flow.resources["ledger"].get_ledger()
    assert ledger.status("order", str(order["id"])).status == "dead_lettered"
    (letter,) = [d for d in ledger.dead_letters() if d.kind == "order"]
    assert (letter.nop_key, letter.reason) == (str(order["id"]), "validation_error")
    assert ledger.open_intents("order") == []  # a refusal proves nothing was written: the intent is closed
    # Brightpearl: no order; nopCommerce: the order is as the shopper left it
    assert flow.nop_orders_in_brightpearl()[f"nop-{order['id']}"] == 0
    assert flow.world.nopcommerce.orders[order["id"]]["order_status_id"] == order["order_status_id"]
    assert bp_posts(flow)[ORDER_POST] == 1  # refused once, not sent again by the second run


def test_after_an_earlier_attempt_the_order_is_looked_up_before_it_is_sent_again(flow, instance):
    """The write-ahead protocol (sync/exactly_once.py): an open intent from an earlier attempt
    means the create may have been applied, so the natural-key lookup runs before any new POST.
    Brightpearl would answer a repeated externalRef with 200 and no change, so the end state alone
    cannot show a skipped lookup: the POST count does. Break checked: `resume_or_create` without
    the lookup (`found = None`): a second sales-order POST is sent and this test fails."""
    (order,) = flow.place(1)
    flow.tick(instance)
    flow.sync(instance)
    ledger = flow.resources["ledger"].get_ledger()
    bp_order = linked_orders(flow)[str(order["id"])]
    # Rewind the ledger to an attempt that died after Brightpearl applied the create: the link is
    # gone, the record pending, its intent still open with an expired lease.
    with ledger._write() as conn:  # noqa: SLF001 - a crash state the public API never writes
        conn.execute(schema.links.delete().where(schema.links.c.kind == "order"))
        conn.execute(schema.records.update().where(schema.records.c.kind == "order")
                     .values(status="pending", bp_id=None, attempts=0, next_attempt_at=None))
    ledger.begin_intent("order", str(order["id"]), owner="a-run-that-died", lease_seconds=0)
    flow.ledger_clock.advance(1)
    before = bp_posts(flow)[ORDER_POST]
    flow.sync(instance)
    assert bp_posts(flow)[ORDER_POST] - before == 0
    assert linked_orders(flow)[str(order["id"])] == bp_order
    assert flow.nop_orders_in_brightpearl()[f"nop-{order['id']}"] == 1
    assert ledger.status("order", str(order["id"])).status == "synced"


@pytest.mark.parametrize(("path", "status", "reason", "code"), [
    ("/Shipment/Create", 400, "validation_error", None),
    ("/OrderProcessing/Ship/*", 400, "validation_error", None),
    ("/OrderProcessing/Ship/*", 404, "not_found", "404"),
])
def test_a_refusal_or_404_on_the_fulfilment_path_is_dead_lettered_never_dropped(fulfilment, path, status, reason, code):
    """Break checked: `FulfilmentSync._once` completing after a refusal without raising
    (`except ValidationError: pass`) marks the note shipped in the ledger while nopCommerce has
    not shipped it: the Ship cases fail. A 404 raised by Ship reaches Fates.settle's NotFoundError
    row; turned into `pass` there, the note stays pending: the 404 case fails."""
    (order,) = fulfilment.booked_orders(1)
    note = fulfilment.fulfil(order, "1ZREFUSED")
    fulfilment.tick()
    method = "POST" if path.startswith("/Shipment") else "GET"
    fulfilment.flow.faults(fulfilment.flow.nop_root, {"method": method, "path": path, "error_rate": 1.0, "error_status": status})
    try:
        first = fulfilment.sync()
        second = fulfilment.sync()
    finally:
        fulfilment.flow.faults(fulfilment.flow.nop_root)
    assert (first["dead_lettered"], first["pending"], second["dead_lettered"]) == (1, 0, 0)
    ledger = fulfilment.resources["ledger"].get_ledger()
    assert ledger.status(GOODS_OUT_NOTE, str(note)).status == "dead_lettered"
    (letter,) = ledger.dead_letters()
    assert (letter.nop_key, letter.reason) == (str(note), reason)
    if code is not None:
        assert letter.error_code == code
    assert ledger.bp_id(SHIPMENT_SHIPPED, str(note)) is None  # never recorded as shipped
    # nopCommerce: nothing shipped; Brightpearl: the note is still shipped there (its truth is untouched)
    assert all(s["shipped_date_utc"] is None for s in fulfilment.shipments(order))
    assert fulfilment.flow.world.brightpearl.notes[note].flags["shipped"] is not None


def test_a_brightpearl_refusal_of_a_payment_dead_letters_its_order_with_the_order_kept_once(flow, instance):
    """The payments flow (part of the order step): a refused customer payment is a permanent
    failure of the order record; the sales order stays in Brightpearl once (linked), no payment is
    booked, and the next run sends nothing. Break checked: Fates.settle's ValidationError branch
    turned into `pass`: the order is neither synced nor dead-lettered and this test fails."""
    (order,) = flow.place(1)  # the first order is paid: AUTH + CAPTURE
    flow.tick(instance)
    flow.faults(flow.bp_root, {"method": "POST", "path": "/accounting-service/customer-payment", "error_rate": 1.0,
                               "error_status": 400})
    try:
        flow.sync(instance)
        flow.sync(instance)
    finally:
        flow.faults(flow.bp_root)
    ledger = flow.resources["ledger"].get_ledger()
    (letter,) = [d for d in ledger.dead_letters() if d.kind == "order"]
    assert (letter.nop_key, letter.reason) == (str(order["id"]), "validation_error")
    assert ledger.status("order", str(order["id"])).status == "dead_lettered"
    bp_order = linked_orders(flow)[str(order["id"])]
    assert flow.nop_orders_in_brightpearl()[f"nop-{order['id']}"] == 1
    assert flow.payments_for([bp_order]) == []
    assert bp_posts(flow)["POST /accounting-service/customer-payment"] == 1


def test_a_product_deleted_in_nopcommerce_before_its_stock_write_is_dead_lettered_not_found(sandbox, tmp_path, instance):
    """The stock flow: a 404 on the product's re-read before the write is `not_found` (sync/fate.py),
    nothing is written to nopCommerce for it and the other product lands. Break checked: Fates.settle's
    NotFoundError branch turned into `pass`: no dead letter and this test fails."""
    from bp_nop_dagster.sync.stock import RETRY
    from bp_nop_dagster_tests.defs.test_stock_flow import StockFlow

    stock = StockFlow(sandbox, tmp_path)
    one, two = stock.skus(multi=False, count=2)
    gone = stock.move(one, 1, 3)
    stock.move(two, 1, 3)
    gone_nop = stock.world.nopcommerce.product_by_sku(one)
    before = gone_nop["stock_quantity"]
    stock.faults(stock.nop_root, {"path": f"/Product/GetById/{gone_nop['id']}", "error_rate": 1.0, "error_status": 404})
    try:
        metadata = stock.sync_moved(instance)
    finally:
        stock.faults(stock.nop_root)
    assert metadata["failed"].value == 1 and metadata["written"].value == 1
    ledger = stock.resources["ledger"].get_ledger()
    (letter,) = ledger.dead_letters()
    assert (letter.kind, letter.nop_key, letter.reason) == (RETRY, str(gone), "not_found")
    assert stock.world.nopcommerce.product_by_sku(one)["stock_quantity"] == before
