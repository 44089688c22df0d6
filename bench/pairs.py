"""Five store-account pairs from one deployment, all draining an order backlog at once (issue 17,
item 5; README, "Many pairs and scale").

Set-up, all on this machine:
- 5 sandboxes, each its own process: one nopCommerce store + one Brightpearl account each, every
  account with its own quota of 200 requests per rolling window (the real quota: 200 per minute,
  reference notes brightpearl-api.md section 2).
- One Dagster instance (one $DAGSTER_HOME: runs, events, pools) shared by 5 code locations loaded
  from this same package, each in its own process with its own environment (`BP_NOP_PAIR=p<n>`,
  its sandbox's credentials, its own ledger file): what the compose overlay and the Helm values
  deploy. Each pair's process starts `order_sync_job` runs back to back while its ledger has
  orders due, as the new-order sensor would (the sensors and the daemon's queue are not in the
  loop: the bench starts the runs so that it measures the sync, not the polling).
- Orders are placed in each store through the sandbox's control API (30% from new customers, 90%
  paid) and enqueued in the pair's ledger.

Phases (time in quota windows, so the ratios do not depend on the window's length):
1. solo: pair p1 alone drains its backlog; its orders per window is the one-pair rate.
2. all: the 5 pairs drain their backlogs at once; per pair: share of its quota used (the mean,
   over the phase, of the requests the sandbox counted in its rolling window, over the quota),
   the 503s it throttled (target: zero), orders per window; aggregate against the solo rate.
3. outage: p5's Brightpearl answers 503 to everything for 5 windows (the issue's 5 minutes at the
   real window); the other 4 pairs' orders per window against phase 2 (target: not slower);
   then p5's Brightpearl comes back and p5 is measured draining again.

Scaling: by default the real quota, 200 requests per 60 s window per account (about 25 minutes).
`--window` shortens the window (the quota stays 200 per window and each client is paced to the
same window) for a quicker run; shares, ratios and 503s stay comparable as long as the machine
keeps up: five pairs at a 12 s window ask for about 80 Brightpearl requests a second, which a
shared 2-core machine does not serve (the pairs then wait for CPU, not for their quota).
"Orders per window" at the real window is "orders per minute".
The client keeps 5% of each account's quota for other apps (`headroom` 0.05 instead of the
resource's default 0.10: the bench accounts have no other app), so a pair can use at most 95%.

Run: `.venv/bin/python -m bench.pairs` (`--window 12` for a five-minute look); results in
bench/results/pairs.json.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from statistics import mean

import requests

from bench.order_flow import order_bodies
from bench.sandbox_throughput import free_port, save_results
from bench.source_reads import APP_REF, TOKEN, Sandbox
from bp_nop_dagster import settings

PAIRS = [f"p{n}" for n in range(1, 6)]
QUOTA, HEADROOM = 200, 0.05
OUTAGE_WINDOWS, PHASE_WINDOWS, RECOVERY_WINDOWS = 5, 5, 3
SAMPLE_SECONDS = 1.0

# One pair's code location in its own process: runs `order_sync_job` while its ledger has orders
# due, until the stop file appears. argv: stop file, ready file, run config (JSON).
WORKER = """
import json, sys, time
from pathlib import Path
import dagster as dg
from bp_nop_dagster.definitions import defs
from bp_nop_dagster.ledger.resource import default_ledger_url
from bp_nop_dagster.ledger import Ledger
stop, ready, run_config = Path(sys.argv[1]), Path(sys.argv[2]), json.loads(sys.argv[3])
job = defs().resolve_job_def("order_sync_job")
ledger = Ledger(default_ledger_url())
ready.touch()
with dg.DagsterInstance.get() as instance:
    while not stop.exists():
        if not ledger.pending("order", limit=1):
            time.sleep(0.5)
            continue
        result = job.execute_in_process(instance=instance, run_config=run_config, raise_on_error=False)
        if not result.success:
            time.sleep(2.0)  # a failed run (e.g. Brightpearl down): the next sensor tick starts another
"""


def start_sandbox(bp_port: int, nop_port: int) -> subprocess.Popen:
    """A small sandbox in its own process (not pinned to a core: five of them share the machine)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bp_nop_dagster.cli", "sandbox", "--scale", "small",
         "--brightpearl-port", str(bp_port), "--nopcommerce-port", str(nop_port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{bp_port}/__sandbox__/stats", timeout=1).raise_for_status()
            return process
        except requests.RequestException:
            if process.poll() is not None:
                raise RuntimeError("sandbox exited")
            time.sleep(0.5)
    process.kill()
    raise RuntimeError("sandbox did not start within 180 s")


def place(sandbox: Sandbox, bodies: list[dict]) -> list[str]:
    session = requests.Session()
    ids = []
    for body in bodies:
        response = session.post(f"{sandbox.nop_root}/__sandbox__/orders", json=body, timeout=30)
        response.raise_for_status()
        ids.append(str(response.json()["id"]))
    return ids


class Monitor:
    """Samples, every second, each account's requests in its rolling window (the sandbox's own
    count) and each pair's synced orders (its ledger's links)."""

    def __init__(self, sandboxes: dict[str, Sandbox], ledgers: dict) -> None:
        self.sandboxes, self.ledgers = sandboxes, ledgers
        self.samples: list[tuple[float, dict[str, int], dict[str, int]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        session = requests.Session()
        while not self._stop.is_set():
            at = time.monotonic()
            in_window = {p: session.get(f"{s.bp_root}/__sandbox__/throttle", timeout=10).json()["requests_in_window"]
                         for p, s in self.sandboxes.items()}
            synced = {p: len(ledger.links("order")) for p, ledger in self.ledgers.items()}
            self.samples.append((at, in_window, synced))
            self._stop.wait(max(0.0, SAMPLE_SECONDS - (time.monotonic() - at)))

    def start(self) -> "Monitor":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)

    def interval(self, start: float, end: float, pair: str, window: float) -> dict:
        """Orders per window and quota share of `pair` between `start` and `end`. The share
        averages the rolling-window counts sampled once a whole window lies inside the interval."""
        inside = [s for s in self.samples if start <= s[0] <= end]
        first, last = inside[0], inside[-1]
        orders = last[2][pair] - first[2][pair]
        full = [s[1][pair] for s in inside if s[0] >= start + window]
        return {
            "orders": orders,
            "orders_per_window": round(orders / ((last[0] - first[0]) / window), 1),
            "quota_share": round(mean(full) / QUOTA, 3) if full else None,
            "quota_share_min_sample": round(min(full) / QUOTA, 3) if full else None,
        }


def process_usage(pid: int) -> dict:
    """CPU seconds (user + system) a process has used, and its peak resident memory."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    peak = next(int(line.split()[1]) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("VmHWM:"))
    return {"cpu_seconds": round(cpu, 1), "peak_rss_mib": round(peak / 1024)}


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise RuntimeError(f"timed out waiting for {what}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--window", type=float, default=60.0, help="quota window in seconds (default: the real 60)")
    args = parser.parse_args(argv)
    window = args.window
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the sandboxes and workers on kill too
    # Orders per pair: one pair syncs about 60 orders per window at the quota; enough that no
    # backlog runs dry before its phase ends (`backlog_left_at_end`).
    per_window = 80
    solo_orders = per_window * (PHASE_WINDOWS + 3)
    backlog = per_window * (PHASE_WINDOWS + OUTAGE_WINDOWS + RECOVERY_WINDOWS + 4)

    from bp_nop_dagster.ledger import Ledger

    servers: list[subprocess.Popen] = []
    workers: dict[str, subprocess.Popen] = {}
    with tempfile.TemporaryDirectory(prefix="bench-pairs-") as tmp:
        home = Path(tmp)
        # One instance: every pool limited to one slot (dagster.yaml's own pool setting).
        (home / "dagster.yaml").write_text("concurrency:\n  pools:\n    default_limit: 1\n    granularity: op\ntelemetry:\n  enabled: false\n")
        stop = home / "stop"
        from dagster import DagsterInstance

        with DagsterInstance.from_config(str(home)):
            pass  # its storage created once, before five processes open it at the same moment
        try:
            sandboxes = {}
            for pair in PAIRS:
                bp_port, nop_port = free_port(), free_port()
                servers.append(start_sandbox(bp_port, nop_port))
                sandboxes[pair] = Sandbox(bp_port, nop_port)
            for sandbox in sandboxes.values():
                sandbox.control(sandbox.bp_root, "PUT", "/throttle", {"quota": QUOTA, "window_seconds": window})
                sandbox.clear_stats()
            ledgers = {pair: Ledger(f"sqlite:///{home / f'ledger-{pair}.sqlite'}") for pair in PAIRS}
            # The pace (quota, window, headroom) is run config; the rest stays what the code
            # location reads from its own environment.
            credentials = {"base_url": settings.BRIGHTPEARL_BASE_URL, "app_ref": settings.BRIGHTPEARL_APP_REF,
                           "account_token": settings.BRIGHTPEARL_ACCOUNT_TOKEN}
            run_config = {"resources": {
                "brightpearl": {"config": {**{k: {"env": v} for k, v in credentials.items()},
                                           "quota": QUOTA, "window_seconds": window, "headroom": HEADROOM}},
                "sync_settings": {"config": {"orders": {"batch_size": 100_000}}},
            }}
            for pair, sandbox in sandboxes.items():
                environment = {**os.environ, settings.DAGSTER_HOME: str(home), settings.BP_NOP_PAIR: pair,
                               **sandbox.environment()}
                environment.pop(settings.BP_NOP_LEDGER_URL, None)  # each pair's own default file
                with open(home / f"worker-{pair}.log", "w") as log:
                    workers[pair] = subprocess.Popen([sys.executable, "-c", WORKER, str(stop), str(home / f"ready-{pair}"), json.dumps(run_config)],
                                                     env=environment, stdout=log, stderr=subprocess.STDOUT)
            wait_until(lambda: all((home / f"ready-{p}").exists() or workers[p].poll() is not None for p in PAIRS), 300, "the workers")
            for pair, worker in workers.items():
                if worker.poll() is not None:
                    raise RuntimeError(f"worker {pair} did not start: {(home / f'worker-{pair}.log').read_text()[-2000:]}")

            with ThreadPoolExecutor(len(PAIRS)) as pool:
                solo_ids = pool.submit(place, sandboxes["p1"], order_bodies(solo_orders, new_share=0.3, seed=1, prefix="solo")).result()
                backlogs = dict(zip(PAIRS, pool.map(
                    lambda p: place(sandboxes[p], order_bodies(backlog, new_share=0.3, seed=10 + int(p[1:]), prefix=p)), PAIRS)))
            monitor = Monitor(sandboxes, ledgers).start()

            # 1. One pair alone.
            ledgers["p1"].enqueue("order", solo_ids)
            wait_until(lambda: len(ledgers["p1"].links("order")) > 0, 120, "p1's first order")
            solo_start = time.monotonic() + window  # the first window fills the client's pace
            time.sleep(window * (PHASE_WINDOWS + 1))
            solo_end = time.monotonic()
            solo = monitor.interval(solo_start, solo_end, "p1", window)
            solo_pending_at_end = len(ledgers["p1"].pending("order"))

            # 2. All five at once.
            for pair in PAIRS:
                ledgers[pair].enqueue("order", backlogs[pair])
            time.sleep(window)  # every pair's run has started and filled its window
            all_start = time.monotonic()
            time.sleep(window * PHASE_WINDOWS)
            all_end = time.monotonic()
            together = {pair: monitor.interval(all_start, all_end, pair, window) for pair in PAIRS}

            # 3. p5's Brightpearl down for OUTAGE_WINDOWS windows.
            down = sandboxes["p5"]
            down.control(down.bp_root, "PUT", "/faults", {"rules": [{"path": "*", "error_rate": 1.0, "error_status": 503}]})
            outage_start = time.monotonic()
            time.sleep(window * OUTAGE_WINDOWS)
            outage_end = time.monotonic()
            down.control(down.bp_root, "PUT", "/faults", {"rules": []})
            during = {pair: monitor.interval(outage_start, outage_end, pair, window) for pair in PAIRS}
            time.sleep(window * RECOVERY_WINDOWS)
            recovery_end = time.monotonic()
            recovered = monitor.interval(outage_end, recovery_end, "p5", window)
            pending_at_end = {pair: len(ledgers[pair].pending("order")) for pair in PAIRS}
            dead = {pair: worker.returncode for pair, worker in workers.items() if worker.poll() is not None}
            if dead:
                raise RuntimeError(f"workers ended early (exit codes {dead}): " + " | ".join(
                    (home / f"worker-{pair}.log").read_text()[-1500:] for pair in dead))
            usage = {pair: process_usage(worker.pid) for pair, worker in workers.items()}
            synced_total = {pair: len(ledgers[pair].links("order")) for pair in PAIRS}
            monitor.stop()
            stats = {pair: s.stats(s.bp_root) for pair, s in sandboxes.items()}
        finally:
            stop.touch()
            for worker in workers.values():
                try:
                    worker.wait(60)
                except subprocess.TimeoutExpired:
                    worker.kill()
            for server in servers:
                server.terminate()
                server.wait(15)

        from dagster import RunsFilter

        with DagsterInstance.from_config(str(home)) as instance:
            runs = {pair: len(instance.get_runs(RunsFilter(tags={"bp_nop/pair": pair}))) for pair in PAIRS}
            pools = sorted(instance.event_log_storage.get_concurrency_keys())

    healthy = [together[p]["orders_per_window"] for p in PAIRS]
    others = [p for p in PAIRS if p != "p5"]
    results = {
        "date": date.today().isoformat(),
        "command": "python -m bench.pairs" + (f" --window {window:g}" if window != 60.0 else ""),
        "quota": QUOTA, "window_seconds": window, "real_window_seconds": 60, "headroom": HEADROOM,
        "pairs": len(PAIRS), "orders_placed_per_pair": backlog, "solo_orders_placed": solo_orders,
        "solo_p1": {**solo, "backlog_left_at_end": solo_pending_at_end},
        "all_five": together,
        "aggregate_orders_per_window": round(sum(healthy), 1),
        "aggregate_over_solo": round(sum(healthy) / solo["orders_per_window"], 2),
        "slowest_over_fastest_pair": round(min(healthy) / max(healthy), 3),
        "min_quota_share": min(together[p]["quota_share"] for p in PAIRS),
        "throttled_503s": {pair: stats[pair]["throttled"] for pair in PAIRS},
        "outage": {
            "pair_down": "p5", "windows": OUTAGE_WINDOWS,
            "during": during,
            "others_during_over_before": {p: round(during[p]["orders_per_window"] / together[p]["orders_per_window"], 3) for p in others},
            "p5_after_recovery": recovered,
        },
        "backlog_left_at_end": pending_at_end,
        "runs_per_pair": runs,
        # Each pair's code location process over the whole bench (its runs executed in it).
        "worker_usage": usage,
        "worker_cpu_seconds_per_order": round(sum(u["cpu_seconds"] for u in usage.values())
                                              / sum(synced_total.values()), 4),
        "orders_synced": synced_total,
        "pools_in_instance": pools,
    }
    save_results("pairs", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
