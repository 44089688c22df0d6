"""The fault-and-crash suite (issue 12, see test_fault_and_crash.py): `dagster dev` killed with
SIGKILL mid-run under a storm of write faults, with poison orders. A file of its own so the two
xdist workers can share the suite's slow tests (`make test`: `--dist loadfile`)."""

from __future__ import annotations

import time

import pytest
import requests

from bp_nop_dagster.ledger import RecordKind
from bp_nop_dagster.sandbox.instrumentation import WRITE_STORM
from bp_nop_dagster_tests.e2e.deployment import Deployment, Shop, wait_for
from bp_nop_dagster_tests.e2e.test_fault_and_crash import START_SECONDS, TARGET_SECONDS


def poison_orders(shop: Shop) -> dict[int, tuple[str, str | None] | str]:
    """The issue's poison inputs, each with the fate it must reach: a dead letter's (reason, code),
    or "synced"."""
    nop = shop.sandbox.world.nopcommerce
    long_sku = "LONG-" + "x" * 296
    requests.post(f"{shop.nop_root}/__sandbox__/products", json={"sku": long_sku, "stock_quantity": 50}, timeout=10).raise_for_status()
    (bad_tax,) = shop.place(1, customers=1, prefix="tax")
    nop.orders[bad_tax]["tax_rates"] = "20:3.33;twenty:oops;"  # not `rate:amount` pairs (models.parse_tax_rates)
    (half,) = shop.place(1, customers=1, prefix="half")
    next(i for i in nop.order_items.values() if i["order_id"] == half)["quantity"] = 1.5
    (long_email,) = shop.place(1, customers=1, prefix="x", email="e" * 300 + "@e2e.test")
    (nul,) = shop.place(1, customers=1, prefix="x", email="nul\x00byte@e2e.test")
    (long_item,) = shop.place(1, customers=1, prefix="sku", sku=long_sku)
    return {bad_tax: ("malformed_record", None), half: ("malformed_record", None),
            long_email: ("validation_error", "CONC-006"),  # Brightpearl keeps emails up to 255 characters
            nul: "synced", long_item: "synced"}


def assert_poison_settled(shop: Shop, expected: dict) -> None:
    letters = {int(d.nop_key): (d.reason, d.error_code) for d in shop.ledger.dead_letters() if d.kind == RecordKind.ORDER}
    statuses = shop.statuses(list(expected))
    for order_id, fate in expected.items():
        assert (letters.get(order_id) if isinstance(fate, tuple) else statuses[order_id]) == fate, (order_id, fate, statuses, letters)


@pytest.mark.slow
@pytest.mark.postgres
def test_kill_9_mid_run_under_a_write_storm_with_poison_orders(sandbox, tmp_path, pg_ledger, capsys):
    """36 orders and the poison ones; the issue's storm on Brightpearl writes; the whole dagster
    dev process group killed with SIGKILL mid-run, then restarted; the storm goes on until every
    order was attempted, then stops."""
    url, ledger = pg_ledger
    shop = Shop(sandbox, ledger)
    shop.place(36, customers=8, prefix="crash")
    poison = poison_orders(shop)
    # Until the kill, Brightpearl's writes are also slow (0.4 s), so the first run is surely mid-way.
    shop.faults(*WRITE_STORM, {"method": "POST", "path": "*", "latency_ms": 400})
    first = Deployment.create(tmp_path, "home", sandbox, url)
    first.start()
    try:
        wait_for(lambda: shop.linked() >= 4 and first.started_run(), START_SECONDS, "a run mid-way through the orders", [first.log])
    finally:
        first.kill_9()
    killed_at = time.monotonic()
    unsettled_at_kill = sum(1 for status in shop.statuses().values() if status not in ("synced", "skipped", "dead_lettered"))
    assert unsettled_at_kill >= len(shop.placed) // 2, f"the kill came too late to be mid-run ({unsettled_at_kill} unsettled)"
    shop.faults(*WRITE_STORM)

    second = Deployment(first.home, first.env, tmp_path / "restart.log")
    second.start()
    try:
        wait_for(lambda: "pending" not in shop.statuses().values(), START_SECONDS, "every order attempted after the restart",
                 [second.log])
        shop.faults()
        faults_stopped = time.monotonic()
        wait_for(lambda: shop.settled(), TARGET_SECONDS + 30, "every order settled", [second.log], every=0.25)
        settle = time.monotonic() - faults_stopped
    finally:
        second.stop()
    shop.assert_exactly_once()
    assert_poison_settled(shop, poison)
    assert settle <= TARGET_SECONDS
    with capsys.disabled():
        print(f"\nkill -9 + write storm + poison: {len(shop.placed)} orders ({unsettled_at_kill} unsettled at the kill) settled "
              f"{settle:.1f} s after the faults stopped ({time.monotonic() - killed_at:.0f} s after the kill)")
