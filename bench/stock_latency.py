"""Latency from a Brightpearl stock change to the new value in nopCommerce, with `dagster dev`
running the `brightpearl_stock_changes` sensor at its default interval (15 s) on a local SQLite
instance, against a sandbox served from its own process at Brightpearl's real quota (200 / 60 s).

50 stock corrections (+1 to +5 units on simple products of the small shop, in turn, warehouse 1)
are made 1 to 6 s apart (seeded); for each, latency = the first moment nopCommerce shows a stock
value different from the one read just before the correction (polled every 0.25 s) minus the
moment the bench sent the correction. Targets: p50 <= 20 s,
p95 <= 40 s.

Run: `.venv/bin/python -m bench.stock_latency` (about five minutes); results in
bench/results/stock_latency.json.
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

import requests

from bench.order_latency import percentile, wait_until
from bench.sandbox_throughput import free_port, save_results, start_sandbox
from bench.source_reads import Sandbox
from bench.stock_sync import tracked_skus
from bp_nop_dagster.demo import DEMO_INSTANCE_YAML, dagster_dev_command, stop_process_group
from bp_nop_dagster.nopcommerce.client import NopCommerceClient
from bp_nop_dagster.settings import DAGSTER_HOME

CHANGES = 50
SETTLE_SECONDS = 60  # dagster dev starting and the sensor's first tick


def simple_skus(nop: NopCommerceClient) -> list[str]:
    counts: dict[str, int] = {}
    for product in nop.products():
        if product.manage_inventory_method_id == 1 and not product.use_multiple_warehouses and product.sku:
            counts[product.sku] = counts.get(product.sku, 0) + 1
    clean = sorted(sku for sku, n in counts.items() if n == 1 and sku.strip() == sku and sku.isupper())
    return clean


def main() -> int:
    bp_port, nop_port, ui_port = free_port(), free_port(), free_port()
    sandbox_process = start_sandbox(bp_port, nop_port, scale="small")
    sandbox = Sandbox(bp_port, nop_port)
    home = Path(tempfile.mkdtemp(prefix="bp-nop-stock-latency-"))
    (home / "dagster.yaml").write_text(DEMO_INSTANCE_YAML)
    env = {**os.environ, **sandbox.environment(), DAGSTER_HOME: str(home)}
    nop = NopCommerceClient(sandbox.nop_base, "admin@sandbox.test", "sandbox")
    known = set(tracked_skus(sandbox))
    skus = [sku for sku in simple_skus(nop) if sku in known]
    dagster = subprocess.Popen(
        dagster_dev_command(home, ui_port),
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    sent: dict[int, tuple[str, int, float]] = {}  # change number -> (SKU, nop value before, sent at)
    seen: dict[int, float] = {}
    done = threading.Event()

    def poll() -> None:
        watcher = NopCommerceClient(sandbox.nop_base, "admin@sandbox.test", "sandbox")
        while not done.is_set():
            waiting = {n: change for n, change in list(sent.items()) if n not in seen}
            if waiting:
                now = time.monotonic()
                values = {p.sku: p.stock_quantity for p in watcher.products_by_sku({sku for sku, _, _ in waiting.values()})}
                for n, (sku, before, _) in waiting.items():
                    if values.get(sku, before) != before:
                        seen[n] = now
            time.sleep(0.25)

    poller = threading.Thread(target=poll, daemon=True)
    try:
        time.sleep(SETTLE_SECONDS)
        poller.start()
        rng = random.Random(5)
        session = requests.Session()
        for n in range(CHANGES):
            time.sleep(rng.uniform(1.0, 6.0))
            sku = skus[n % len(skus)]
            body = {"sku": sku, "warehouse_id": 1, "quantity": rng.randint(1, 5)}
            before = nop.products_by_sku([sku])[0].stock_quantity
            sent[n] = (sku, before, time.monotonic())
            session.post(f"{sandbox.bp_root}/__sandbox__/stock", json=body, timeout=30).raise_for_status()
        wait_until(lambda: set(sent) <= set(seen), 180, "every change in nopCommerce")
    finally:
        done.set()
        stop_process_group(dagster)
        sandbox_process.terminate()
        sandbox_process.wait(15)
    latencies = [seen[n] - sent[n][2] for n in sent]
    results = {
        "date": date.today().isoformat(), "changes": CHANGES, "sensor_interval_seconds": 15, "shop": "small",
        "p50_seconds": round(statistics.median(latencies), 2), "p95_seconds": round(percentile(latencies, 0.95), 2),
        "max_seconds": round(max(latencies), 2), "min_seconds": round(min(latencies), 2),
        "targets": {"p50_seconds": 20, "p95_seconds": 40},
    }
    save_results("stock_latency", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
