"""Latency of the three real-time paths, polling vs webhooks, with where the seconds go:

- Brightpearl stock change -> nopCommerce stock (targets with webhooks: p50 <= 8 s, p95 <= 15 s);
- Brightpearl shipment (goods-out note shipped) -> nopCommerce shipment (p50 <= 10 s);
- nopCommerce order -> Brightpearl sales order (p50 <= 10 s; nopCommerce has no webhooks: the
  "webhooks" column is the fast poll of its order search, which costs no Brightpearl quota).

Method (one run, side by side; 50 events per flow, made one after another):
- The sandbox runs in its own process at Brightpearl's real quota and sends webhooks itself
  (its deliverer thread, `sandbox/brightpearl/webhooks.py`) to the real receiver, started as
  `bp-nop webhooks serve` in its own process, writing to a SQLite ledger; the subscriptions are
  registered with `bp-nop webhooks sync`.
- MEASURED per event: `delivery` (webhooks: the change sent -> its row visible in the ledger),
  `sensor_evaluation` (the sensor's tick, in process with `build_sensor_context`: the webhook
  sensor, or the polling sensor that finds the same change), `sync` (the run executed in process
  with `dg.materialize` with the run config the sensor asked for, until the step that writes the
  change to the other system succeeded: the order job's later dead-letter step does not delay the
  order; the same run serves both paths, as both start the same job for the same ids).
- MEASURED once (median of 3 fresh processes, wall and CPU time): `run_launch` = a new Python
  importing Dagster (the default run launcher has the code server start each run in a new
  spawned Python, dagster/_grpc/server.py), `code_import` = loading this code location's
  definitions in it, minus that; and the same with pandas imported too, which is what loading the
  definitions cost before the report libraries were imported lazily (`before_cuts`). The load
  average at start and end is recorded: on this shared 2-core machine the wall times are several
  times the CPU times.
- MODELLED (no daemon runs here): `sensor_interval` = the wait for the sensor's next tick, uniform
  over [0, T] with T = max(the sensor's minimum interval, 5 s: the sensor daemon's loop,
  dagster/_daemon/sensor.py MIN_INTERVAL_LOOP_TIME), drawn per event (seed 17); `run_queue` = the
  wait for the QueuedRunCoordinator's next dequeue, uniform over [0, dequeue_interval_seconds]
  (1 s in dagster.yaml; 5 s is Dagster's default).
Latency = the sum. A check replaces the modelled launch with real ones: 5 stock changes each pushed
by `dagster job execute` in a new process (`check_real_run_processes`,
`stock_webhooks_with_real_run_processes`). `before_cuts` uses the same measurements with the
settings before issue 17's cuts: dequeue every 5 s, nopCommerce orders polled every 10 s, and the
definitions importing pandas and numpy (the code import with them, measured in the same run).

Run: `.venv/bin/python -m bench.webhook_latency` (about 12 minutes; more on a loaded machine); results in
bench/results/webhook_latency.json.
"""

from __future__ import annotations

import json
import os
import random
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import requests

from bench.order_flow import ADDRESS
from bench.order_latency import percentile
from bench.sandbox_throughput import free_port, save_results, start_sandbox
from bench.source_reads import Sandbox
from bench.stock_latency import simple_skus
from bp_nop_dagster import settings
from bp_nop_dagster.defs.fulfilment.assets import shipments_from_brightpearl
from bp_nop_dagster.defs.fulfilment.sensors import brightpearl_shipped_goods_out_notes
from bp_nop_dagster.defs.orders.assets import order_sync
from bp_nop_dagster.defs.orders.dead_letters import dead_letters
from bp_nop_dagster.defs.orders.sensors import new_nopcommerce_orders
from bp_nop_dagster.defs.stock.assets import stock_from_brightpearl
from bp_nop_dagster.defs.stock.sensors import brightpearl_stock_changes
from bp_nop_dagster.defs.sync_settings import SyncSettings
from bp_nop_dagster.defs.webhooks.sensors import brightpearl_webhooks
from bp_nop_dagster.ledger.resource import LedgerResource
from bp_nop_dagster.nopcommerce.client import NopCommerceClient
from bp_nop_dagster.sync.cursor import SensorCursor
from bp_nop_dagster.sync.stock import StockCursor
from bp_nop_dagster.webhooks.subscriptions import EVENTS

EVENTS_PER_FLOW = 50
DAEMON_LOOP_SECONDS = 5.0  # dagster/_daemon/sensor.py MIN_INTERVAL_LOOP_TIME
DEQUEUE_SECONDS = {"now": 1.0, "before": 5.0}  # dagster.yaml run_coordinator.config.dequeue_interval_seconds
# Sensor minimum intervals (defs/*/sensors.py): (polling, webhooks) now, and before this change.
INTERVALS = {
    "stock": {"polling": 15, "webhooks": 2},
    "shipment": {"polling": 30, "webhooks": 2},
    "order": {"polling": 10, "webhooks": 2},  # nopCommerce: the old 10 s poll vs the fast 2 s poll
}
TARGETS = {"stock": {"p50": 8, "p95": 15}, "shipment": {"p50": 10}, "order": {"p50": 10}}
# What a run worker does before its first step: load this code location's definitions.
LOAD_CODE_LOCATION = "from bp_nop_dagster.definitions import defs; defs()"
COMPONENTS = ("delivery", "sensor_interval", "sensor_evaluation", "run_queue", "run_launch", "code_import", "sync")


def timed(work):
    started = time.perf_counter()
    value = work()
    return value, time.perf_counter() - started


def wait_for(predicate, timeout: float, what: str, poll: float = 0.005):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")


def process_seconds(code: str) -> tuple[float, float]:
    """Median wall time and median CPU time (user + system) of 3 fresh Python processes running
    `code`: the wall time is what a run waits; the CPU time shows how much of it the machine's
    load added (on an idle core the two are close)."""
    walls, cpus = [], []
    for _ in range(3):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


class Bench:
    def __init__(self, sandbox: Sandbox, home: Path, instance) -> None:
        self.sandbox = sandbox
        self.instance = instance
        self.ledger_url = f"sqlite:///{home / 'ledger.sqlite'}"
        self.resources = {**sandbox.resources(), "ledger": LedgerResource(url=self.ledger_url), "sync_settings": SyncSettings()}
        self.book = self.resources["ledger"].get_ledger()
        self.nop = NopCommerceClient(sandbox.nop_base, "admin@sandbox.test", "sandbox")
        self.cursors: dict[str, str | None] = {"webhooks": None}
        self.last_row = 0
        self.rng = random.Random(17)

    # -- sensors, ticked as the daemon ticks them (cursor kept), timed
    def tick(self, name: str, sensor) -> tuple[object, float]:
        def evaluate():
            with dg.build_sensor_context(instance=self.instance, cursor=self.cursors.get(name), resources=self.resources) as context:
                result = sensor(context)
                self.cursors[name] = result.cursor if isinstance(result, dg.SensorResult) and result.cursor else context.cursor
            return result
        return timed(evaluate)

    def webhook_run(self, job: str) -> tuple[dg.RunRequest, float]:
        result, seconds = self.tick("webhooks", brightpearl_webhooks)
        requests_ = {r.job_name: r for r in result.run_requests or []}
        return requests_[job], seconds

    def delivered(self, started: float, resource_id: int, event: str) -> float:
        """Seconds from `started` until the ledger holds a new row of `event` for `resource_id`."""
        def arrived():
            rows = self.book.webhook_events([event], after_id=self.last_row)
            return [r for r in rows if r.resource_id == resource_id]
        rows = wait_for(arrived, 30, f"the {event} webhook for {resource_id}")
        seen = time.perf_counter() - started
        self.last_row = max(self.last_row, max(r.id for r in rows))
        return seen

    def materialize(self, assets, run_config=None, writes: dg.AssetsDefinition | None = None) -> float:
        """Seconds from starting the run in process until the step of `writes` (default: the
        run's last step) succeeded: the change is in the other system then; a later step (the
        order job's dead-letter table) does not delay it."""
        started = time.time()  # epoch seconds, as the event log's timestamps
        result = dg.materialize(assets, resources=self.resources, instance=self.instance, run_config=run_config)
        assert result.success
        finished = {entry.step_key: entry.timestamp
                    for entry in self.instance.all_logs(result.run_id, of_type=dg.DagsterEventType.STEP_SUCCESS)}
        return (finished[writes.node_def.name] if writes else max(finished.values())) - started


def stock_events(bench: Bench, skus: list[str]) -> list[dict]:
    sku_ids = {}
    bench.cursors["stock_poll"] = StockCursor(SensorCursor(watermark=datetime.now(UTC)), SensorCursor(watermark=datetime.now(UTC))).dumps()
    rows = []
    for n in range(EVENTS_PER_FLOW):
        sku = skus[n % len(skus)]
        started = time.perf_counter()
        reply = bench.sandbox.control(bench.sandbox.bp_root, "POST", "/stock", {"sku": sku, "warehouse_id": 1, "quantity": 1 + n % 5})
        product_id = sku_ids.setdefault(sku, reply["product_id"])
        delivery = bench.delivered(started, product_id, "product.modified.on-hand-modified")
        request, webhook_eval = bench.webhook_run("stock_sync_job")
        sync = bench.materialize([stock_from_brightpearl], request.run_config)
        polled, poll_eval = bench.tick("stock_poll", brightpearl_stock_changes)
        assert isinstance(polled, dg.RunRequest), polled  # polling finds the same change
        rows.append({"delivery": delivery, "webhook_eval": webhook_eval, "poll_eval": poll_eval, "sync": sync})
    return rows


def book_orders(bench: Bench, n: int, rows: list[dict]) -> list[int]:
    """`n` shopper orders, each placed then synced into Brightpearl (the order flow's latency)."""
    for sku in ("BPN-00001", "BPN-00002"):
        bench.sandbox.control(bench.sandbox.bp_root, "POST", "/stock", {"sku": sku, "warehouse_id": 1, "on_hand": 10_000})
    bench.cursors["orders"] = SensorCursor(watermark=datetime.now(UTC) - timedelta(seconds=1)).dumps()
    placed = []
    for i in range(n):
        body = {"email": f"latency{i}@bench.test", "first_name": "Bench", "last_name": f"Order {i}", "address": ADDRESS,
                "items": [{"sku": "BPN-00001", "quantity": 1}, {"sku": "BPN-00002", "quantity": 1}],
                "payment_method_system_name": "Payments.Manual", "paid": True}
        response = requests.post(f"{bench.sandbox.nop_root}/__sandbox__/orders", json=body, timeout=30)
        response.raise_for_status()
        placed.append(response.json()["id"])
        result, poll_eval = bench.tick("orders", new_nopcommerce_orders)
        assert isinstance(result, dg.RunRequest), result
        sync = bench.materialize([order_sync, dead_letters], writes=order_sync)
        rows.append({"delivery": 0.0, "webhook_eval": poll_eval, "poll_eval": poll_eval, "sync": sync})
    links = {link.nop_key: link.bp_id for link in bench.book.links("order")}
    return [links[str(nop_id)] for nop_id in placed]


def shipment_events(bench: Bench, bp_order_ids: list[int]) -> list[dict]:
    bench.cursors["ship_poll"] = SensorCursor(watermark=datetime.now(UTC) - timedelta(seconds=1)).dumps()
    bench.tick("webhooks", brightpearl_webhooks)  # the bookings' own events, out of the way
    bench.last_row = max([bench.last_row, *(r.id for r in bench.book.webhook_events(EVENTS, after_id=bench.last_row))])
    rows = []
    for n, bp_id in enumerate(bp_order_ids):
        started = time.perf_counter()
        reply = bench.sandbox.control(bench.sandbox.bp_root, "POST", f"/orders/{bp_id}/fulfil",
                                      {"ship": True, "tracking_reference": f"BENCH-{n}"})
        delivery = bench.delivered(started, reply["goods_note_id"], "goods-out-note.modified.shipped")
        _, webhook_eval = bench.webhook_run("fulfilment_job")
        sync = bench.materialize([shipments_from_brightpearl])
        _, poll_eval = bench.tick("ship_poll", brightpearl_shipped_goods_out_notes)
        rows.append({"delivery": delivery, "webhook_eval": webhook_eval, "poll_eval": poll_eval, "sync": sync})
    return rows


def real_runs(bench: Bench, env: dict[str, str], skus: list[str], home: Path, count: int = 5) -> list[dict]:
    """A check of the modelled launch: `count` stock changes, each pushed by `dagster job execute`
    (a new process that imports the code location and runs the job, as a run worker does) with
    the run config the webhook sensor asked for; its wall time against run_launch + code_import +
    the in-process sync of the same change."""
    rows = []
    for n in range(count):
        sku = skus[n % len(skus)]
        started = time.perf_counter()
        reply = bench.sandbox.control(bench.sandbox.bp_root, "POST", "/stock", {"sku": sku, "warehouse_id": 1, "quantity": 2})
        bench.delivered(started, reply["product_id"], "product.modified.on-hand-modified")
        request, _ = bench.webhook_run("stock_sync_job")
        config = home / f"run-{n}.yaml"
        config.write_text(json.dumps(request.run_config))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        _, seconds = timed(lambda: subprocess.run(
            [str(Path(sys.executable).parent / "dagster"), "job", "execute", "-m", "bp_nop_dagster.definitions",
             "-j", "stock_sync_job", "-c", str(config)], env=env, check=True, capture_output=True, cwd=home))
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        rows.append({"product_id": reply["product_id"], "process_seconds": round(seconds, 3), "cpu_seconds": round(cpu, 3)})
    return rows


def latencies(rows: list[dict], flow: str, path: str, launch: float, code_import: float, when: str = "now") -> dict:
    rng = random.Random(f"17-{flow}-{path}-{when}")
    # Before the cuts: the run queue dequeued every 5 s (Dagster's default), the nopCommerce order
    # poll ran every 10 s (the Brightpearl flows had no webhook sensor: their "before" is the
    # polling column), and the code location imported pandas with its definitions (the caller
    # passes that `code_import`).
    interval = INTERVALS[flow]["polling"] if when == "before" and flow == "order" else INTERVALS[flow][path]
    tick_every = max(interval, DAEMON_LOOP_SECONDS)
    parts = []
    for row in rows:
        parts.append({
            "delivery": row["delivery"] if path == "webhooks" else 0.0,
            "sensor_interval": rng.uniform(0, tick_every),
            "sensor_evaluation": row["webhook_eval"] if path == "webhooks" else row["poll_eval"],
            "run_queue": rng.uniform(0, DEQUEUE_SECONDS[when]),
            "run_launch": launch, "code_import": code_import, "sync": row["sync"],
        })
    totals = [sum(p.values()) for p in parts]
    return {
        "p50_seconds": round(statistics.median(totals), 2), "p95_seconds": round(percentile(totals, 0.95), 2),
        "sensor_tick_every_seconds": tick_every,
        "breakdown_mean_seconds": {c: round(statistics.mean(p[c] for p in parts), 3) for c in COMPONENTS},
    }


def real_process_latencies(rows: list[dict], checks: list[dict]) -> dict:
    """The stock webhook path with the measured run processes (`real_runs`) in place of the
    modelled launch + import + in-process sync: delivery + sensor interval + sensor evaluation +
    run queue per event as above, plus the real process times in turn."""
    rng = random.Random("17-stock-real")
    totals = [row["delivery"] + rng.uniform(0, DAEMON_LOOP_SECONDS) + row["webhook_eval"] + rng.uniform(0, DEQUEUE_SECONDS["now"])
              + checks[n % len(checks)]["process_seconds"] for n, row in enumerate(rows)]
    return {"p50_seconds": round(statistics.median(totals), 2), "p95_seconds": round(percentile(totals, 0.95), 2)}


def main() -> int:
    global EVENTS_PER_FLOW
    if len(sys.argv) > 1:  # a quick smoke run: `python -m bench.webhook_latency 3`
        EVENTS_PER_FLOW = int(sys.argv[1])
    bp_port, nop_port, hook_port = free_port(), free_port(), free_port()
    sandbox_process = start_sandbox(bp_port, nop_port, scale="small")
    sandbox = Sandbox(bp_port, nop_port)
    home = Path(tempfile.mkdtemp(prefix="bp-nop-webhook-latency-"))
    secret = secrets.token_urlsafe(32)
    public_url = f"http://127.0.0.1:{hook_port}"
    env = {**os.environ, **sandbox.environment(), settings.BP_NOP_LEDGER_URL: f"sqlite:///{home / 'ledger.sqlite'}",
           settings.BP_NOP_WEBHOOK_SECRET: secret, settings.BP_NOP_WEBHOOK_PUBLIC_URL: public_url,
           settings.DAGSTER_HOME: str(home)}
    os.environ[settings.DAGSTER_HOME] = str(home)
    receiver = subprocess.Popen([sys.executable, "-m", "bp_nop_dagster.cli", "webhooks", "serve", "--port", str(hook_port)],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: _healthy(public_url), 60, "the receiver", poll=0.2)
        subprocess.run([sys.executable, "-m", "bp_nop_dagster.cli", "webhooks", "sync"], env=env, check=True, capture_output=True)
        load_at_start = os.getloadavg()
        launch, launch_cpu = process_seconds("import dagster")
        with_code, with_code_cpu = process_seconds(LOAD_CODE_LOCATION)
        with_reports, with_reports_cpu = process_seconds(LOAD_CODE_LOCATION + "; import pandas")
        (home / "instance").mkdir()
        with dg.instance_for_test(temp_dir=str(home / "instance")) as instance:
            bench = Bench(sandbox, home, instance)
            bench.materialize([stock_from_brightpearl], {"ops": {"nopcommerce__stock_from_brightpearl": {"config": {"product_ids": []}}}})
            rows = bench.resources["brightpearl"].build_client().search(
                "/product-service/product-search", columns=["productId", "SKU", "stockTracked"])
            tracked = {r["SKU"] for r in rows if r.get("stockTracked")}
            skus = [sku for sku in simple_skus(bench.nop) if sku in tracked]
            stock = stock_events(bench, skus)
            orders: list[dict] = []
            bp_orders = book_orders(bench, EVENTS_PER_FLOW, orders)
            shipments = shipment_events(bench, bp_orders)
            checks = real_runs(bench, env, skus, home)
    finally:
        receiver.terminate()
        receiver.wait(15)
        sandbox_process.terminate()
        sandbox_process.wait(15)
    load_at_end = os.getloadavg()
    code_import = with_code - launch
    # Before the lazy imports the definitions imported pandas (and numpy) themselves.
    code_import_before = with_reports - launch
    measured = {"stock": stock, "shipment": shipments, "order": orders}
    results = {
        "date": date.today().isoformat(), "events_per_flow": EVENTS_PER_FLOW, "shop": "small",
        "method": "see bench/webhook_latency.py docstring: delivery, sensor evaluation and sync measured per event in "
                  "process; run launch and code import measured in fresh processes; sensor interval and run queue "
                  "waits modelled from the daemon's loop and the dequeue interval",
        "load_average_1_5_15_min": {"start": [round(x, 2) for x in load_at_start], "end": [round(x, 2) for x in load_at_end]},
        "cpu_count": os.cpu_count(),
        "run_launch_seconds": round(launch, 3), "code_import_seconds": round(code_import, 3),
        "code_import_with_report_libraries_seconds": round(code_import_before, 3),
        "cpu_seconds": {"run_launch": round(launch_cpu, 3), "code_import": round(with_code_cpu - launch_cpu, 3),
                        "code_import_with_report_libraries": round(with_reports_cpu - launch_cpu, 3)},
        "targets": TARGETS,
        "check_real_run_processes": {
            "what": "5 stock changes each pushed by `dagster job execute` (new process: launch, code import, run) vs the "
                    "modelled run_launch + code_import + mean in-process sync",
            "process_seconds": [row["process_seconds"] for row in checks],
            "process_cpu_seconds": [row["cpu_seconds"] for row in checks],
            "median_process_seconds": round(statistics.median(row["process_seconds"] for row in checks), 3),
            "modelled_seconds": round(launch + code_import + statistics.mean(row["sync"] for row in stock), 3),
        },
        "stock_webhooks_with_real_run_processes": real_process_latencies(stock, checks),
        "flows": {
            flow: {
                "webhooks": latencies(rows, flow, "webhooks", launch, code_import),
                "polling": latencies(rows, flow, "polling", launch, code_import),
                "before_cuts": latencies(rows, flow, "webhooks", launch, code_import_before, when="before"),
            }
            for flow, rows in measured.items()
        },
    }
    save_results("webhook_latency", results)
    return 0


def _healthy(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


if __name__ == "__main__":
    sys.exit(main())
