"""Kill -9 between a refund's credit and its payment (issue 14, item 6), as an operator meets it:
`dagster dev` against the sandbox over real HTTP, the refunds sensor starting every run.

A paid shop order is synced to Brightpearl by the order flow (the set-up, in the test's process:
the new-order sensor's first evaluation and the order sync step, with the deployment's resources,
until the order and its payment are booked and every other order settled: 3-5 s, where a first
`dagster dev` for it took 16-35 s, its start, ticks, run workers and stop). The shop then refunds part of it
(sandbox control API), and `dagster dev` (so its refunds sensor's first tick, at once, finds the
refund) on the same ledger runs the refunds flow: the sales credit is created and closed, then the
PAYMENT's POST is held by the sandbox and the whole process group is killed with SIGKILL while
the run waits in that call. Two places for the kill:

- `before_commit`: a 60 s `latency_ms` fault holds the POST before the simulator sees it; the
  client is gone when the hold ends, so nothing is written (uvicorn reports the disconnect when
  the body is read; `bp_nop_dagster_tests/sandbox/test_brightpearl_api.py` holds the simulator to
  that).
- `after_commit`: a `drop_reply_mode: timeout` fault commits the PAYMENT and holds its reply.

The test knows the run is in that call from the sandbox's `holding` gauge (GET
`/__sandbox__/faults`, a test control that changes nothing on the wire), the ledger's open
`refund_paid` intent and the closed credit. Then the faults stop, `dagster dev` restarts on the
same instance and nobody does anything: the refunds sensor (`defs/returns/sensors.py`, a tick
every 15 s reading the ledger) asks for a run as soon as the refund is due again (the killed run's
intent lease ends), and that run resumes the refund at its payment.

Expected values come from the refund made here and the issue's natural keys (externalRef and
transactionRef `nop-<order>-refund-<n>`), never from the flow: one sales credit, closed, of the
refunded amount to the cent; one PAYMENT of that amount on it; nopCommerce's refunded amount
still the one the shop set (this flow never refunds in the shop); the ledger's steps of the
refund all settled (`refund`, `refund_closed` and `refund_paid` synced). The time from the
restart to the payment settled is printed.
"""

from __future__ import annotations

import time
from decimal import Decimal

import dagster as dg
import pytest
import requests

from bp_nop_dagster import settings
from bp_nop_dagster.defs.orders.assets import order_sync
from bp_nop_dagster.defs.orders.sensors import new_nopcommerce_orders
from bp_nop_dagster.defs.resources import resources as deployment_resources
from bp_nop_dagster.ledger import Ledger, RecordKind
from bp_nop_dagster_tests.e2e.deployment import ADDRESS, SETTLED, Deployment, Shop, wait_for

REFUND = Decimal("7.35")  # part of the order: the credit path (a full refund before shipping would cancel instead)
START_SECONDS = 300  # dagster dev up and the refund run through the other flows' runs ahead of it in the one slot
# dagster dev up again, the killed run's lease (30 s) and failing it, the sensor's 15 s tick, then
# the run (a busy two-core machine). Before the sensor read the ledger this took 294-317 s: the
# resuming run waited for the next 5-minute slot.
RESUME_SECONDS = 240
PAYMENT_PATH = "/accounting-service/customer-payment"
IN_FLIGHT = (dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED)
HOLDS = {
    # the POST waits out its latency before the simulator sees it: nothing is written
    "before_commit": ({"method": "POST", "path": PAYMENT_PATH, "latency_ms": 60_000}, "latency"),
    # the PAYMENT is committed, then its reply is held
    "after_commit": ({"method": "POST", "path": PAYMENT_PATH, "drop_reply_rate": 1.0, "drop_reply_mode": "timeout",
                      "drop_reply_hold_seconds": 60, "max_hits": 1}, "reply"),
}


def place_paid_order(shop: Shop) -> int:
    body = {"email": "refund-kill@e2e.test", "first_name": "Rita", "last_name": "Refund", "address": ADDRESS,
            "items": [{"sku": "BPN-00001", "quantity": 2}], "paid": True, "payment_method_system_name": "Payments.Manual"}
    response = requests.post(f"{shop.nop_root}/__sandbox__/orders", json=body, timeout=30)
    assert response.status_code == 201, response.text
    shop.placed.append(response.json()["id"])
    return response.json()["id"]


def sync_every_order(shop: Shop, ledger_url: str, monkeypatch) -> None:
    """The set-up: what a deployment's order flow does first, in this process with the
    deployment's resources (from its environment): the new-order sensor's first evaluation puts
    the shop's orders of the last 24 h in the ledger, then order sync steps until every order is
    settled (the seeded ones too, so the refunds deployment's order runs have none to do)."""
    for name, value in {**settings.sandbox_environment(shop.sandbox), settings.BP_NOP_LEDGER_URL: ledger_url}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv(settings.BP_NOP_MAPPING_FILE, raising=False)
    resources = deployment_resources().resources
    with dg.instance_for_test() as instance:
        with dg.build_sensor_context(instance=instance, resources=resources) as context:
            new_nopcommerce_orders(context)
        for _ in range(3):
            dg.materialize([order_sync], resources=resources, instance=instance)
            if shop.settled() and not shop.ledger.unsettled(RecordKind.ORDER):
                return
    raise AssertionError(f"orders not settled after 3 order sync steps: {shop.ledger.unsettled(RecordKind.ORDER)}")


def refunded_in_shop(shop: Shop, order_id: int) -> Decimal:
    order = requests.get(f"{shop.nop_root}/__sandbox__/orders/{order_id}", timeout=10).json()["order"]
    return Decimal(str(order["refunded_amount"]))


def holding(shop: Shop) -> dict[str, int]:
    return requests.get(f"{shop.bp_root}/__sandbox__/faults", timeout=10).json()["holding"]


def refund_payments(shop: Shop, ref: str) -> list:
    return [p for p in shop.bp().find_customer_payments(ref) if p.payment_type == "PAYMENT"]


def refund_runs(deployment: Deployment, status: dg.DagsterRunStatus) -> list[dg.RunRecord]:
    """The deployment's refunds runs with `status`, as run records (start and end times)."""
    with dg.DagsterInstance.from_config(str(deployment.home)) as instance:
        return list(instance.get_run_records(dg.RunsFilter(job_name="refund_sync_job", statuses=[status])))


def credits_of(shop: Shop, so_id: int) -> list:
    bp = shop.bp()
    ids = bp.sales_credit_ids_by_parent([so_id]).get(so_id, [])
    return bp.sales_credit_documents(ids) if ids else []


@pytest.fixture
def sandbox(private_sandbox):
    """This module's own sandbox, reset per test: the killed run's write stays held up to 60 s after the kill, and
    a reset does not end a held request."""
    requests.post(f"{private_sandbox.urls.brightpearl_root}/__sandbox__/reset", json={"seed": 42, "scale": "small"},
                  timeout=30).raise_for_status()
    return private_sandbox


@pytest.mark.slow
@pytest.mark.timeout(1500)
@pytest.mark.parametrize("kill_point", sorted(HOLDS))
def test_kill_9_between_the_credit_and_its_payment_resumes_with_one_credit_and_one_payment(
        sandbox, tmp_path, capsys, monkeypatch, kill_point):
    rule, gauge = HOLDS[kill_point]
    ledger_url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    with Ledger(ledger_url) as ledger:
        shop = Shop(sandbox, ledger)
        order_id = place_paid_order(shop)
        key, ref = f"{order_id}:1", f"nop-{order_id}-refund-1"  # refund 1 of the order (issue 14, item 4)

        sync_every_order(shop, ledger_url, monkeypatch)
        so_id = ledger.bp_id(RecordKind.ORDER, str(order_id))
        order_payments = shop.bp().customer_payment_search(order_ids=[so_id])  # the shop's capture, as the order flow booked it
        assert order_payments and "PAYMENT" not in [p.payment_type for p in order_payments]

        refund = requests.post(f"{shop.nop_root}/__sandbox__/orders/{order_id}/refund",
                               json={"amount": str(REFUND), "offline": True}, timeout=10)
        assert refund.status_code == 200 and not refund.json()["errors"], refund.text
        assert refunded_in_shop(shop, order_id) == REFUND
        requests.delete(f"{shop.nop_root}/__sandbox__/stats", timeout=10).raise_for_status()
        shop.faults(rule)

        first = Deployment.create(tmp_path, "home", sandbox, ledger_url)
        first.start()

        def in_the_payment_call() -> bool:
            return (holding(shop)[gauge] >= 1 and ledger.intent(RecordKind.REFUND_PAID, key) is not None  # open
                    and ledger.bp_id(RecordKind.REFUND_CLOSED, key) is not None)

        try:
            wait_for(in_the_payment_call, START_SECONDS, f"the refund run held in its PAYMENT POST ({kill_point})", [first.log],
                     every=0.1)
        finally:
            first.kill_9()
        killed_at = time.monotonic()

        # at the kill: one closed credit, the PAYMENT not written (before_commit) or written (after_commit)
        credits = credits_of(shop, so_id)
        assert len(credits) == 1, credits
        credit = credits[0]
        assert credit.external_ref == ref and shop.bp().order(credit.id).invoice_reference
        assert ledger.bp_id(RecordKind.REFUND_CLOSED, key) == credit.id
        killed_run = ledger.intent(RecordKind.REFUND_PAID, key).owner  # the run id holds the intent
        assert ledger.bp_id(RecordKind.REFUND_PAID, key) is None
        assert ledger.status(RecordKind.REFUND, key).status != "synced"
        assert len(refund_payments(shop, ref)) == (1 if kill_point == "after_commit" else 0)

        shop.faults()
        second = Deployment(first.home, first.env, tmp_path / "restart.log")
        second.start()
        restarted_at = time.monotonic()
        try:
            wait_for(lambda: ledger.status(RecordKind.REFUND, key).status in SETTLED, RESUME_SECONDS,
                     "the refund resumed and settled after the restart", [second.log], every=0.25)
            settle = time.monotonic() - restarted_at
            # The run that settled it (a run may have started before the killed run's lease ended
            # and left the refund to the next one) and every other refunds run end before the
            # stop, so the stop interrupts none of them.
            wait_for(lambda: not any(refund_runs(second, status) for status in IN_FLIGHT), 120,
                     "the refunds run that resumed the refund to end", [second.log])
            resumed = refund_runs(second, dg.DagsterRunStatus.SUCCESS)
            failed = [r.dagster_run.run_id for r in refund_runs(second, dg.DagsterRunStatus.FAILURE)]
        finally:
            second.stop()
        assert failed == [killed_run]  # failed by the sensors; every run since succeeded
        last = max(resumed, key=lambda r: r.start_time)
        resumed_took = last.end_time - last.start_time

        # Brightpearl: one credit for the refund, closed, of the refunded amount; one PAYMENT of it on the credit
        credits = credits_of(shop, so_id)
        assert [c.id for c in credits] == [credit.id], credits  # the same one credit
        credit = credits[0]
        assert credit.external_ref == ref and credit.total_gross == REFUND
        assert shop.bp().order(credit.id).invoice_reference  # closed: SC-n
        payments = refund_payments(shop, ref)
        assert len(payments) == 1, payments
        payment = payments[0]
        assert (payment.order_id, payment.amount_paid) == (credit.id, REFUND)
        assert shop.bp().customer_payment_search(order_ids=[so_id]) == order_payments  # nothing paid on the sales order
        # nopCommerce: the refunded amount is the shop's own; the flow made no refund call there
        assert refunded_in_shop(shop, order_id) == REFUND
        shop_calls = requests.get(f"{shop.nop_root}/__sandbox__/stats", timeout=10).json()["requests"]
        assert not [call for call in shop_calls if "/OrderProcessing/" in call], shop_calls
        # the ledger: every step of the refund settled, linked to what Brightpearl holds
        steps = (RecordKind.REFUND, RecordKind.REFUND_CLOSED, RecordKind.REFUND_PAID)
        assert {kind: getattr(ledger.status(kind, key), "status", "missing") for kind in steps} == dict.fromkeys(steps, "synced")
        assert (ledger.bp_id(RecordKind.REFUND, key), ledger.bp_id(RecordKind.REFUND_PAID, key)) == (credit.id, payment.payment_id)
        assert ledger.open_intents() == []
        assert not [d for d in ledger.dead_letters() if d.nop_key.startswith(f"{order_id}:")]
    with capsys.disabled():
        print(f"\nkill -9 between credit and payment ({kill_point}): refund {key} ({REFUND}) settled {settle:.1f} s after "
              f"the restart ({time.monotonic() - killed_at:.0f} s after the kill): the refunds sensor found the refund due "
              f"in the ledger and started the run that resumed it, which took {resumed_took:.1f} s")
