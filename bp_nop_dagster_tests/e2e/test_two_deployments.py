"""The fault-and-crash suite (issue 12, see test_fault_and_crash.py): two deployments on one
ledger under a storm of write faults on both systems. A file of its own so the two xdist workers
can share the suite's slow tests (`make test`: `--dist loadfile`)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from bp_nop_dagster.sandbox.instrumentation import WRITE_STORM
from bp_nop_dagster_tests.e2e.deployment import Deployment, Shop, wait_for
from bp_nop_dagster_tests.e2e.test_fault_and_crash import START_SECONDS, TARGET_SECONDS


@pytest.mark.slow
@pytest.mark.postgres
def test_two_deployments_on_one_ledger_under_a_storm_create_everything_once(sandbox, tmp_path, pg_ledger, capsys):
    """Two `dagster dev` (two instances, two daemons) on one PostgreSQL ledger, the issue's storm on
    both systems' writes: each sensor finds the same orders and goods-out notes, both run, and
    the ledger's intents and the natural-key lookups let each order, payment and shipment
    through once."""
    url, ledger = pg_ledger
    shop = Shop(sandbox, ledger)
    shop.place(30, customers=6, prefix="twins")
    shop.faults(*WRITE_STORM)
    shop.faults(*WRITE_STORM, root=shop.nop_root)
    deployments = [Deployment.create(tmp_path, name, sandbox, url) for name in ("east", "west")]
    for deployment in deployments:
        deployment.start()
    logs = [d.log for d in deployments]
    try:
        wait_for(lambda: shop.linked() >= 10, START_SECONDS, "orders booked in Brightpearl", logs)
        notes = shop.ship_synced(10)
        wait_for(lambda: "pending" not in shop.statuses().values(), START_SECONDS, "every order attempted", logs)
        shop.faults()
        shop.faults(root=shop.nop_root)
        faults_stopped = time.monotonic()
        wait_for(lambda: shop.settled() and shop.notes_settled(notes), TARGET_SECONDS + 30, "every order and note settled", logs,
                 every=0.25)
        settle = time.monotonic() - faults_stopped
        runs = [len(d.runs()) for d in deployments]
    finally:
        with ThreadPoolExecutor(len(deployments)) as pool:  # both stop at once: each takes up to its grace period (4 s)
            list(pool.map(Deployment.stop, deployments))
    shop.assert_exactly_once()
    shop.assert_one_shipment_per_note(notes)
    assert all(runs), f"both deployments ran the order flow: {runs}"
    assert settle <= TARGET_SECONDS
    with capsys.disabled():
        print(f"\ntwo deployments, one ledger: {len(shop.placed)} orders and {len(notes)} notes settled {settle:.1f} s after "
              f"the faults stopped (order runs per deployment: {runs})")
