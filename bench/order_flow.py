"""Order-flow benchmarks, measured side by side in one run against sandboxes served from their own
processes (small shops, so the product catalogue read is not what is measured):

1. Brightpearl calls per order over 1,000 orders, 30% of them from new customers, against the
   minimum: 1 sales order + 1 per payment step (RECEIPT) + 3 for a new customer (contact search,
   postal address, contact). The remaining 70% come from customers whose contact the ledger
   already knows (their first orders were synced before the measurement). Same orders in a second,
   identically seeded sandbox, booked by `NaiveBrightpearlClient` in the style of existing
   open-source connectors (contact search on every order, header POST, one POST per row).
   Counted by the sandboxes (every request that reached them), not by the clients.
2. Draining a 5,000-order backlog at the quota: the sandbox keeps the real quota of 200 requests
   but shortens the window from 60 s to 10 s; the client is paced to the same quota with the
   default 10% headroom for other apps. Share of the quota (and of what the client allows
   itself) used per window while draining, and the 503s the sandbox answered (target: >= 90% of
   the quota, zero 503s).

Run: `.venv/bin/python -m bench.order_flow` (about fifteen minutes); results in
bench/results/order_flow.json. The sensor latency benchmark is `bench.order_latency`.
"""

from __future__ import annotations

import math
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import dagster as dg
import requests

from bench.sandbox_throughput import save_results
from bench.source_reads import APP_REF, TOKEN, Sandbox, running_sandboxes
from bp_nop_dagster.brightpearl.client import BrightpearlClient
from bp_nop_dagster.brightpearl.naive import NaiveBrightpearlClient
from bp_nop_dagster.defs.orders.assets import order_sync
from bp_nop_dagster.defs.sync_settings import OrderFlowKnobs, SyncSettings
from bp_nop_dagster.ledger import Ledger
from bp_nop_dagster.ledger.resource import LedgerResource
from bp_nop_dagster.mapping.config import load_mapping_config
from bp_nop_dagster.nopcommerce.client import NopCommerceClient
from bp_nop_dagster.sync.orders import OrderSync

ORDERS, NEW_SHARE, KNOWN_CUSTOMERS, PAID_SHARE = 1_000, 0.30, 100, 0.9
BACKLOG, QUOTA, WINDOW = 5_000, 200, 10.0
ADDRESS = {"address1": "1 Mill Road", "city": "Leeds", "zip_postal_code": "LS1 4AB", "country_iso2": "GB"}
SKUS = [f"BPN-{n:05d}" for n in range(20, 50)]  # clean SKUs of the seeded shop (no stray spaces or duplicates)


def order_bodies(count: int, *, new_share: float, seed: int, prefix: str) -> list[dict]:
    """Shopper checkouts: `new_share` of them from first-time customers, the rest from the
    `KNOWN_CUSTOMERS` repeat customers; 1-3 lines each; `PAID_SHARE` paid by cheque (RECEIPT)."""
    rng = random.Random(seed)
    bodies = []
    for n in range(count):
        email = f"{prefix}-new-{n}@bench.test" if rng.random() < new_share else f"known-{rng.randrange(KNOWN_CUSTOMERS)}@bench.test"
        lines = [{"sku": sku, "quantity": rng.randint(1, 3)} for sku in rng.sample(SKUS, rng.randint(1, 3))]
        bodies.append({"email": email, "first_name": "Bench", "last_name": f"Shopper {n}", "address": ADDRESS, "items": lines,
                       "payment_method_system_name": "Payments.CheckMoneyOrder", "paid": rng.random() < PAID_SHARE})
    return bodies


def known_customer_bodies() -> list[dict]:
    return [{"email": f"known-{n}@bench.test", "first_name": "Known", "last_name": f"Customer {n}", "address": ADDRESS,
             "items": [{"sku": SKUS[0], "quantity": 1}], "payment_method_system_name": "Payments.CheckMoneyOrder", "paid": False}
            for n in range(KNOWN_CUSTOMERS)]


def place(sandbox: Sandbox, bodies: list[dict]) -> list[dict]:
    session = requests.Session()
    placed = []
    for body in bodies:
        response = session.post(f"{sandbox.nop_root}/__sandbox__/orders", json=body, timeout=30)
        response.raise_for_status()
        placed.append(response.json())
    return placed


def minimum_calls(placed: list[dict], bodies: list[dict]) -> int:
    """1 per order, 1 per paid order (one RECEIPT), 3 per first order of a new customer."""
    seen: set[str] = set()
    total = 0
    for order, body in zip(placed, bodies):
        total += 1 + (1 if order["payment_status_id"] == 30 else 0)
        if "-new-" in body["email"] and body["email"] not in seen:
            total += 3
        seen.add(body["email"])
    return total


def engine(sandbox: Sandbox, ledger: Ledger, client: BrightpearlClient) -> OrderSync:
    nop = NopCommerceClient(sandbox.nop_base, email="admin@sandbox.test", password="sandbox")
    return OrderSync(nop=nop, bp=client, ledger=ledger, config=load_mapping_config(None), owner="bench")


def enqueue(ledger: Ledger, placed: list[dict]) -> None:
    ledger.enqueue("order", [str(order["id"]) for order in placed])


def temp_instance(home: Path, name: str):
    (home / name).mkdir(exist_ok=True)
    return dg.instance_for_test(temp_dir=str(home / name))


def drain(run_once: Callable[[], None], ledger: Ledger, limit: int = 50) -> None:
    for _ in range(limit):
        if not ledger.pending("order"):
            return
        run_once()
    raise RuntimeError(f"still pending: {len(ledger.pending('order'))} orders")


def calls_per_order(ours: Sandbox, naive: Sandbox, home: Path) -> dict:
    """Part 1: the same 1,000 orders through the Dagster asset and through the naive client."""
    results = {}
    unthrottled = {"quota": 1_000_000, "window_seconds": 60.0}  # calls are counted here, not paced
    bodies = order_bodies(ORDERS, new_share=NEW_SHARE, seed=7, prefix="calls")
    for name, sandbox in (("ours", ours), ("naive", naive)):
        sandbox.control(sandbox.bp_root, "PUT", "/throttle", unthrottled)
        ledger = Ledger(f"sqlite:///{home / f'ledger-{name}.sqlite'}")
        warm_up = place(sandbox, known_customer_bodies())
        placed = place(sandbox, bodies)
        resources = {**sandbox.resources(**unthrottled), "ledger": LedgerResource(url=f"sqlite:///{home / f'ledger-{name}.sqlite'}"),
                     "sync_settings": SyncSettings()}
        if name == "ours":
            with temp_instance(home, name) as instance:
                def run_once() -> None:
                    dg.materialize([order_sync], resources=resources, instance=instance)
                enqueue(ledger, warm_up)
                drain(run_once, ledger)
                sandbox.clear_stats()
                enqueue(ledger, placed)
                started = time.monotonic()
                drain(run_once, ledger)
        else:
            client = NaiveBrightpearlClient(sandbox.bp_base, app_ref=APP_REF, account_token=TOKEN, **unthrottled)
            enqueue(ledger, warm_up)
            drain(lambda: engine(sandbox, ledger, client).run(limit=500), ledger)
            sandbox.clear_stats()
            enqueue(ledger, placed)
            started = time.monotonic()
            drain(lambda: engine(sandbox, ledger, client).run(limit=500), ledger)
        elapsed = time.monotonic() - started
        stats = sandbox.stats(sandbox.bp_root)
        minimum = minimum_calls(placed, bodies)
        assert len(ledger.links("order")) == KNOWN_CUSTOMERS + ORDERS, "every order must be in Brightpearl"
        results[name] = {
            "orders": ORDERS, "brightpearl_calls": stats["total"], "minimum_calls": minimum,
            "calls_per_order": round(stats["total"] / ORDERS, 3), "minimum_per_order": round(minimum / ORDERS, 3),
            "ratio_to_minimum": round(stats["total"] / minimum, 3), "throttled_503s": stats["throttled"],
            "wall_seconds": round(elapsed, 1), "calls_by_endpoint": stats["requests"],
        }
    results["naive_over_ours"] = round(results["naive"]["brightpearl_calls"] / results["ours"]["brightpearl_calls"], 2)
    return results


def backlog_at_the_quota(sandbox: Sandbox, home: Path) -> dict:
    """Part 2: 5,000 pending orders drained through the Dagster asset at a shortened quota."""
    sandbox.control(sandbox.bp_root, "POST", "/reset", {"seed": 42, "scale": "small"})
    ledger_url = f"sqlite:///{home / 'ledger-backlog.sqlite'}"
    ledger = Ledger(ledger_url)
    placed = place(sandbox, order_bodies(BACKLOG, new_share=NEW_SHARE, seed=11, prefix="backlog"))
    enqueue(ledger, placed)
    sandbox.control(sandbox.bp_root, "PUT", "/throttle", {"quota": QUOTA, "window_seconds": WINDOW})
    sandbox.clear_stats()
    resources = {**sandbox.resources(quota=QUOTA, window_seconds=WINDOW), "ledger": LedgerResource(url=ledger_url),
                 "sync_settings": SyncSettings(orders=OrderFlowKnobs(batch_size=1000))}
    sent: list[float] = []
    original = BrightpearlClient.request

    def timed(self, *args, **kwargs):
        sent.append(time.monotonic())
        return original(self, *args, **kwargs)

    BrightpearlClient.request = timed
    try:
        with temp_instance(home, "backlog") as instance:
            drain(lambda: dg.materialize([order_sync], resources=resources, instance=instance), ledger)
    finally:
        BrightpearlClient.request = original
    stats = sandbox.stats(sandbox.bp_root)
    elapsed = sent[-1] - sent[0]
    complete = int(elapsed // WINDOW)
    counts = [0] * complete
    for t in sent:
        k = int((t - sent[0]) // WINDOW)
        if k < complete:
            counts[k] += 1
    per_window = sum(counts) / len(counts)
    allowed = math.floor(QUOTA * 0.9)
    return {
        "orders": BACKLOG, "synced": len(ledger.links("order")), "quota": QUOTA, "window_seconds": WINDOW, "headroom": 0.10,
        "brightpearl_requests": len(sent), "elapsed_seconds": round(elapsed, 1), "requests_per_window": round(per_window, 2),
        "share_of_quota": round(per_window / QUOTA, 3), "share_of_allowed_after_headroom": round(per_window / allowed, 3),
        "windows_below_80_percent": sum(1 for c in counts if c < 0.8 * QUOTA),
        "sandbox_503s": stats["throttled"],
    }


def main() -> int:
    with running_sandboxes(2, "small") as sandboxes, tempfile.TemporaryDirectory() as home:
        results = {
            "date": date.today().isoformat(),
            "calls_per_order": calls_per_order(sandboxes[0], sandboxes[1], Path(home)),
            "backlog_at_the_quota": backlog_at_the_quota(sandboxes[0], Path(home)),
        }
    save_results("order_flow", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
