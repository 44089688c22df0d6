"""Latency from an order placed in nopCommerce to its Brightpearl order, with `dagster dev`
running the `new_nopcommerce_orders` sensor at its default interval (10 s) on a local SQLite
instance, against a sandbox served from its own process at Brightpearl's real quota (200 / 60 s).

50 shopper orders are placed 1 to 6 s apart (seeded); for each, latency = the Brightpearl
order's `createdOn` (milliseconds, the sandbox's clock) minus the moment the bench sent the
checkout (same machine clock). Targets: p50 <= 15 s, p95 <= 30 s. Dagster's own share is
reported too: the gap between each run's creation and its start (queue + launch).

Run: `.venv/bin/python -m bench.order_latency` (about five minutes); results in
bench/results/order_latency.json.
"""

from __future__ import annotations

import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import requests

from bench.order_flow import ADDRESS, SKUS
from bench.sandbox_throughput import free_port, save_results, start_sandbox
from bench.source_reads import APP_REF, TOKEN, Sandbox
from bp_nop_dagster.brightpearl.client import BrightpearlClient
from bp_nop_dagster.demo import DEMO_INSTANCE_YAML, dagster_dev_command, stop_process_group
from bp_nop_dagster.settings import DAGSTER_HOME

ORDERS = 50
SETTLE_SECONDS = 240  # the first sensor tick queues the last 24 h of seeded orders; wait for their run


def ledger_links(ledger: Path) -> dict[str, int]:
    """nop order id -> Brightpearl order id, read straight from the ledger file (read-only)."""
    if not ledger.exists():
        return {}
    with sqlite3.connect(f"file:{ledger}?mode=ro", uri=True, timeout=5) as conn:
        try:
            return {key: bp for key, bp in conn.execute("SELECT nop_key, bp_id FROM links WHERE kind = 'order'")}
        except sqlite3.OperationalError:
            return {}


def pending_orders(ledger: Path) -> int | None:
    if not ledger.exists():
        return None
    with sqlite3.connect(f"file:{ledger}?mode=ro", uri=True, timeout=5) as conn:
        try:
            return conn.execute("SELECT count(*) FROM records WHERE kind = 'order' AND status IN ('pending', 'failed')").fetchone()[0]
        except sqlite3.OperationalError:
            return None


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def run_delays(home: Path) -> list[float]:
    """Seconds between each sync run's creation and its start (Dagster's queue and launch)."""
    import dagster as dg

    os.environ[DAGSTER_HOME] = str(home)
    with dg.DagsterInstance.get() as instance:
        delays = []
        for record in instance.get_run_records(dg.RunsFilter(job_name="order_sync_job")):
            stats = instance.get_run_stats(record.dagster_run.run_id)
            if stats.start_time:
                delays.append(stats.start_time - record.create_timestamp.timestamp())
        return delays


def main() -> int:
    bp_port, nop_port, ui_port = free_port(), free_port(), free_port()
    sandbox_process = start_sandbox(bp_port, nop_port, scale="small")
    sandbox = Sandbox(bp_port, nop_port)
    home = Path(tempfile.mkdtemp(prefix="bp-nop-latency-"))
    (home / "dagster.yaml").write_text(DEMO_INSTANCE_YAML)
    ledger = home / "ledger.sqlite"
    env = {**os.environ, **sandbox.environment(), DAGSTER_HOME: str(home)}
    dagster = subprocess.Popen(
        dagster_dev_command(home, ui_port),
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        wait_until(lambda: pending_orders(ledger) == 0, SETTLE_SECONDS, "the first sensor tick and its run")
        rng = random.Random(5)
        placed: dict[int, datetime] = {}
        session = requests.Session()
        for n in range(ORDERS):
            time.sleep(rng.uniform(1.0, 6.0))
            body = {"email": f"latency-{n % 7}@bench.test", "first_name": "Late", "last_name": f"Ncy {n}", "address": ADDRESS,
                    "items": [{"sku": rng.choice(SKUS), "quantity": 1}], "payment_method_system_name": "Payments.CheckMoneyOrder",
                    "paid": n % 2 == 0}
            sent = datetime.now(UTC)
            response = session.post(f"{sandbox.nop_root}/__sandbox__/orders", json=body, timeout=30)
            response.raise_for_status()
            placed[response.json()["id"]] = sent
        wanted = {str(order_id) for order_id in placed}
        wait_until(lambda: wanted <= set(ledger_links(ledger)), 180, "every placed order in Brightpearl")
        links = ledger_links(ledger)
        client = BrightpearlClient(sandbox.bp_base, app_ref=APP_REF, account_token=TOKEN)
        created = {order.id: order.created_on for order in client.orders(links[key] for key in wanted)}
        latencies = [(created[links[str(order_id)]] - sent).total_seconds() for order_id, sent in placed.items()]
    finally:
        stop_process_group(dagster)
        sandbox_process.terminate()
        sandbox_process.wait(15)
    delays = run_delays(home)
    results = {
        "date": date.today().isoformat(), "orders": ORDERS, "sensor_interval_seconds": 10,
        "p50_seconds": round(statistics.median(latencies), 2), "p95_seconds": round(percentile(latencies, 0.95), 2),
        "max_seconds": round(max(latencies), 2), "min_seconds": round(min(latencies), 2),
        "sync_runs": len(delays), "run_queue_and_launch_p50_seconds": round(statistics.median(delays), 2) if delays else None,
        "targets": {"p50_seconds": 15, "p95_seconds": 30},
    }
    save_results("order_latency", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
