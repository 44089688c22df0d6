"""A status batch read that fails (session-23 mutation sample, issue 19 item 5; docs/mutation.md,
"session 23"). Same set-up as test_fulfilment_flow.py (its fixtures), with one attempt per
Brightpearl request so that one 503 is a failed read.

Rule (`FulfilmentSync._one_by_one`): "several are synced one by one, so one record the other
system cannot serve delays only itself" when the batch read fails: here the reads after the failed
one answer, and both cancellations go through in the same run. Break checked:
`_one_by_one(BP_ORDER_STATUS, None, ...)` (the run fails)."""

from __future__ import annotations

import dagster as dg
import requests

from bp_nop_dagster.brightpearl.resource import BrightpearlResource
from bp_nop_dagster_tests.defs.test_fulfilment_flow import CANCEL, fulfilment, instance  # noqa: F401 (fixtures)


def injected_so_far(root: str) -> int:
    """Faults the simulator has injected since it started (its counter spans every test)."""
    return sum(requests.get(f"{root}/__sandbox__/faults", timeout=10).json()["injected"].values())


def test_a_failed_status_batch_read_is_read_again_one_by_one_in_the_same_run(fulfilment):  # noqa: F811
    orders = fulfilment.booked_orders(2, all_unpaid=True)
    for order in orders:
        fulfilment.flow.bp_client().update_order_status(fulfilment.bp_id(order), 5, note="customer called to cancel")
    assert isinstance(fulfilment.tick_statuses(), dg.RunRequest)
    current = fulfilment.resources["brightpearl"]
    fulfilment.resources["brightpearl"] = BrightpearlResource(base_url=current.base_url, app_ref=current.app_ref,
                                                              account_token=current.account_token, max_attempts=1)
    requests.delete(f"{fulfilment.flow.nop_root}/__sandbox__/stats", timeout=10).raise_for_status()  # count this run's calls only
    before = injected_so_far(fulfilment.flow.bp_root)
    fulfilment.flow.faults(fulfilment.flow.bp_root, {"method": "GET", "path": "/order-service/sales-order/*", "error_rate": 1.0,
                                                    "error_status": 503, "max_hits": 1})
    metadata = fulfilment.sync()
    injected = injected_so_far(fulfilment.flow.bp_root) - before
    fulfilment.flow.faults(fulfilment.flow.bp_root)
    assert injected == 1  # the batch read did fail
    assert metadata["cancel_calls"] == 2 and fulfilment.nop_calls()[CANCEL] == 2
    assert [fulfilment.order(order)["order_status_id"] for order in orders] == [40, 40]
