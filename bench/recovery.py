"""Recovery benchmark (issue 12): 200 orders under the issue's faults with one kill -9, side by
side with the same 200 orders fault-free, each on `dagster dev` against its own sandbox (served
from its own process, the real Brightpearl quota of 200 requests a minute, paced by the client).

Faulted side: the storm on Brightpearl writes (20 % 503, 10 % 500, 10 % committed then the reply
dropped: `sandbox.instrumentation.WRITE_STORM`); when about half the orders are in Brightpearl
and a sync run is mid-way, SIGKILL to the whole `dagster dev` process group, then a restart; the
storm goes on until every order has been attempted, then stops. Three more orders never succeed
(nopCommerce answers 500 to every read of their items).

Measured:
1. time from the storm stopping to the last of the 200 orders settled (target <= 60 s);
2. Brightpearl calls per order, faulted against fault-free (target <= 1.10x), counted by the
   sandboxes: every request that reached them, and without the ones the injected faults
   answered (a load balancer's answers in a real outage);
3. the calls spent on the three orders that never succeed, against the policy's bound: 10
   failed attempts (`gave_up`), each at most 6 reads (the transport's attempts), plus the reads
   of a run killed mid-way (never charged).

Also recorded: requests per endpoint on each side and the number of sync runs (each run reads
the reference data its mapping check needs and the product catalogue once), which is where the
faulted side's extra calls go.

Only the order flow runs: every other sensor and schedule (stock, fulfilment, catalogue,
customers, refunds, purchase orders, reports...) is stopped in each side's instance before
`dagster dev` first starts (so none ticks even once; a restart keeps them stopped). Their polling
and runs would otherwise be counted as the order flow's calls, and the faulted side, which runs
longer (kill, restart, storm), would be charged more of them.

Run: `.venv/bin/python -m bench.recovery` (about ten minutes); results in bench/results/recovery.json.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import dagster as dg
import requests

from bench.order_flow import ADDRESS, SKUS
from bench.sandbox_throughput import free_port, save_results
from bench.source_reads import Sandbox, running_sandboxes
from bp_nop_dagster import settings
from bp_nop_dagster.demo import DEMO_INSTANCE_YAML, DEMO_WORKSPACE_YAML, dagster_dev_command, live_group_members, stop_process_group
from bp_nop_dagster.ledger import DEFAULT_POLICY, Ledger, RecordKind
from bp_nop_dagster.sandbox.instrumentation import WRITE_STORM
from bp_nop_dagster.transport.retry import RetrySettings

ORDERS, CUSTOMERS, NEVER = 200, 40, 3
TARGET_SECONDS, TARGET_RATIO = 60, 1.10
# What keeps running: the order flow's sensor and sweep (the sensor also fails dead runs).
ORDER_FLOW = ("new_nopcommerce_orders", "orders_catch_up_sweep")
SETTLED = ("synced", "skipped", "dead_lettered")
TIMEOUT = 1800


def order_bodies(seed: int = 21) -> list[dict]:
    """200 checkouts from 40 returning customers, 1-2 lines each, 90 % paid by cheque (RECEIPT)."""
    rng = random.Random(seed)
    return [{"email": f"recovery-{rng.randrange(CUSTOMERS)}@bench.test", "first_name": "Re", "last_name": f"Covery {n}",
             "address": ADDRESS, "items": [{"sku": sku, "quantity": rng.randint(1, 3)} for sku in rng.sample(SKUS, rng.randint(1, 2))],
             "payment_method_system_name": "Payments.CheckMoneyOrder", "paid": rng.random() < 0.9}
            for n in range(ORDERS)]


def wait_until(predicate, timeout: float, what: str, every: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")


@dataclass
class Side:
    """One side of the benchmark: a sandbox, its orders, a ledger file and a dagster dev."""

    name: str
    sandbox: Sandbox
    root: Path
    orders: list[int] = field(default_factory=list)
    never: list[int] = field(default_factory=list)
    process: subprocess.Popen | None = None

    def __post_init__(self) -> None:
        self.home = self.root / self.name
        self.home.mkdir(parents=True)
        (self.home / "dagster.yaml").write_text(DEMO_INSTANCE_YAML)
        self.ledger_url = f"sqlite:///{self.home / 'ledger.sqlite'}"
        self.ledger = Ledger(self.ledger_url)
        self.env = {**os.environ, **self.sandbox.environment(), settings.DAGSTER_HOME: str(self.home),
                    settings.BP_NOP_LEDGER_URL: self.ledger_url, settings.BP_NOP_ENV: "local"}
        for name in (settings.BP_NOP_MAPPING_FILE, settings.BP_NOP_ALERT_WEBHOOK_URL):
            self.env.pop(name, None)
        with dg.DagsterInstance.from_config(str(self.home)):
            pass

    def place(self, bodies: list[dict]) -> list[int]:
        session = requests.Session()
        ids = []
        for body in bodies:
            response = session.post(f"{self.sandbox.nop_root}/__sandbox__/orders", json=body, timeout=30)
            response.raise_for_status()
            ids.append(response.json()["id"])
        return ids

    def faults(self, root: str, *rules: dict) -> None:
        requests.put(f"{root}/__sandbox__/faults", json={"rules": list(rules), "seed": 5}, timeout=10).raise_for_status()

    def start(self) -> None:
        self.process = subprocess.Popen(dagster_dev_command(self.home, free_port()), env=self.env, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, start_new_session=True, cwd=self.home)

    def keep_only_the_order_flow(self) -> None:
        """Stop every sensor and schedule but the order flow's in this side's instance, before
        `dagster dev` first starts (the code location is loaded once here to name them)."""
        from dagster._core.workspace.context import WorkspaceProcessContext
        from dagster._core.workspace.load_target import WorkspaceFileTarget

        workspace = self.home / "workspace.yaml"
        workspace.write_text(DEMO_WORKSPACE_YAML)
        with dg.DagsterInstance.from_config(str(self.home)) as instance, \
                WorkspaceProcessContext(instance, WorkspaceFileTarget([str(workspace)])) as workspace_context:
            repository = workspace_context.create_request_context().get_code_location("bp_nop_dagster").get_repository("__repository__")
            for sensor in repository.get_sensors():
                if sensor.name not in ORDER_FLOW:
                    instance.stop_sensor(sensor.get_remote_origin_id(), sensor.selector_id, sensor)
            for schedule in repository.get_schedules():
                if schedule.name not in ORDER_FLOW:
                    instance.stop_schedule(schedule.get_remote_origin_id(), schedule.selector_id, schedule)

    def kill_9(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)
        wait_until(lambda: not live_group_members(self.process.pid), 30, "every dagster dev process to be gone")

    def stop(self) -> None:
        if self.process is not None:
            stop_process_group(self.process)

    def statuses(self, ids: list[int]) -> dict[int, str]:
        found = {int(r.nop_key): r.status for r in self.ledger.statuses(RecordKind.ORDER, [str(i) for i in ids])}
        return {i: found.get(i, "unknown") for i in ids}

    def settled(self, ids: list[int]) -> bool:
        return all(s in SETTLED for s in self.statuses(ids).values())

    def run_started(self) -> bool:
        with dg.DagsterInstance.from_config(str(self.home)) as instance:
            return bool(instance.get_runs(dg.RunsFilter(job_name="order_sync_job", statuses=[dg.DagsterRunStatus.STARTED])))

    def brightpearl_calls(self) -> tuple[int, int, dict[str, int]]:
        """Requests the Brightpearl sandbox saw, how many of them an injected fault answered, and
        the requests per endpoint."""
        stats = requests.get(f"{self.sandbox.bp_root}/__sandbox__/stats", timeout=10).json()
        injected = requests.get(f"{self.sandbox.bp_root}/__sandbox__/faults", timeout=10).json()["injected"]
        answered = sum(n for kind, n in injected.items() if kind.startswith("error_"))
        return sum(stats["requests"].values()), answered, dict(sorted(stats["requests"].items()))

    def runs(self) -> int:
        with dg.DagsterInstance.from_config(str(self.home)) as instance:
            return len(instance.get_runs(dg.RunsFilter(job_name="order_sync_job")))

    def exactly_once(self) -> dict:
        """One Brightpearl sales order per synced order (by externalRef) and no transactionRef twice."""
        from collections import Counter

        from bp_nop_dagster.brightpearl.client import BrightpearlClient
        from bench.source_reads import APP_REF, TOKEN

        bp = BrightpearlClient(self.sandbox.bp_base, app_ref=APP_REF, account_token=TOKEN, retry=RetrySettings())
        refs = Counter(r["externalRef"] for r in bp.search("/order-service/order-search", columns=["orderId", "externalRef"])
                       if (r.get("externalRef") or "").startswith("nop-"))
        payments = bp.customer_payment_search()
        statuses = self.statuses(self.orders)
        return {
            "orders_synced": sum(1 for s in statuses.values() if s == "synced"),
            "orders_dead_lettered": sum(1 for s in statuses.values() if s == "dead_lettered"),
            "sales_orders_twice": sum(1 for i in self.orders if refs.get(f"nop-{i}", 0) > 1),
            "synced_without_sales_order": sum(1 for i, s in statuses.items() if s == "synced" and refs.get(f"nop-{i}", 0) != 1),
            "transaction_refs_twice": len(payments) - len({(p.payment_method_code, p.transaction_ref) for p in payments}),
        }


def run_clean(side: Side, out: dict) -> None:
    started = time.monotonic()
    side.start()
    try:
        wait_until(lambda: side.settled(side.orders), TIMEOUT, "the fault-free side to settle")
        out["seconds"] = round(time.monotonic() - started, 1)
        out["brightpearl_calls"], _, out["by_endpoint"] = side.brightpearl_calls()
        out["order_sync_runs"] = side.runs()
    finally:
        side.stop()


def run_faulted(side: Side, out: dict) -> None:
    side.faults(side.sandbox.bp_root, *WRITE_STORM)
    side.faults(side.sandbox.nop_root, *({"method": "GET", "path": f"/OrderItem/GetOrderItems/{i}", "error_rate": 1.0} for i in side.never))
    side.start()
    try:
        wait_until(lambda: sum(s == "synced" for s in side.statuses(side.orders).values()) >= ORDERS // 2 and side.run_started(),
                   TIMEOUT, "half the orders in Brightpearl, a run mid-way")
    finally:
        side.kill_9()
    out["synced_at_kill"] = sum(s == "synced" for s in side.statuses(side.orders).values())
    side.start()
    try:
        wait_until(lambda: "pending" not in side.statuses(side.orders).values(), TIMEOUT, "every order attempted after the restart")
        side.faults(side.sandbox.bp_root)  # the storm stops; the three orders nopCommerce cannot serve stay broken
        stopped = time.monotonic()
        wait_until(lambda: side.settled(side.orders), TIMEOUT, "every order settled", every=0.25)
        out["settle_seconds"] = round(time.monotonic() - stopped, 1)
        out["brightpearl_calls"], out["answered_by_injected_faults"], out["by_endpoint"] = side.brightpearl_calls()
        out["order_sync_runs"] = side.runs()
        wait_until(lambda: side.settled(side.never), TIMEOUT, "the orders that never succeed to be given up")
        out["never_settled_seconds_after_the_storm"] = round(time.monotonic() - stopped, 1)
    finally:
        side.stop()
    injected = requests.get(f"{side.sandbox.nop_root}/__sandbox__/faults", timeout=10).json()["injected"]
    out["never_reads"] = injected.get("error_500", 0)
    records = {int(r.nop_key): r for r in side.ledger.statuses(RecordKind.ORDER, [str(i) for i in side.never])}
    letters = {int(d.nop_key): d.reason for d in side.ledger.dead_letters() if d.kind == RecordKind.ORDER}
    out["never_fates"] = {str(i): {"fate": letters.get(i, records[i].status), "attempts_charged": records[i].attempts}
                          for i in side.never}


def main() -> int:
    root = Path(tempfile.mkdtemp(prefix="bp-nop-recovery-"))
    bodies = order_bodies()
    never_bodies = [{**body, "email": f"never-{n}@bench.test", "last_name": f"Never {n}"} for n, body in enumerate(order_bodies(7)[:NEVER])]
    with running_sandboxes(2, "small") as (clean_sandbox, faulted_sandbox):
        clean, faulted = Side("clean", clean_sandbox, root), Side("faulted", faulted_sandbox, root)
        clean.orders = clean.place(bodies)
        faulted.orders = faulted.place(bodies)
        faulted.never = faulted.place(never_bodies)
        for side in (clean, faulted):
            side.keep_only_the_order_flow()
            requests.delete(f"{side.sandbox.bp_root}/__sandbox__/stats", timeout=10).raise_for_status()
        results: dict[str, dict] = {"clean": {}, "faulted": {}}
        threads = [threading.Thread(target=run_clean, args=(clean, results["clean"])),
                   threading.Thread(target=run_faulted, args=(faulted, results["faulted"]))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        results["clean"]["checks"] = clean.exactly_once()
        results["faulted"]["checks"] = faulted.exactly_once()
    clean_per_order = results["clean"]["brightpearl_calls"] / ORDERS
    faulted_all = results["faulted"]["brightpearl_calls"] / ORDERS
    faulted_reached = (results["faulted"]["brightpearl_calls"] - results["faulted"]["answered_by_injected_faults"]) / ORDERS
    # Each charged attempt reads the items at most max_attempts times (the transport's retries); a
    # run killed mid-read reads them once more without being charged.
    bound = DEFAULT_POLICY.give_up_after * RetrySettings().max_attempts
    summary = {
        "date": date.today().isoformat(), "orders": ORDERS, "customers": CUSTOMERS, "never_succeeding_orders": NEVER,
        "faults": list(WRITE_STORM), "kill_9": "the whole dagster dev process group, once, mid-run with about half the orders synced",
        "settle_seconds_after_faults_stop": results["faulted"]["settle_seconds"],
        "brightpearl_calls_per_order": {"fault_free": round(clean_per_order, 2), "faulted_all_requests": round(faulted_all, 2),
                                        "faulted_reaching_brightpearl": round(faulted_reached, 2)},
        "ratio_all_requests": round(faulted_all / clean_per_order, 3),
        "ratio_reaching_brightpearl": round(faulted_reached / clean_per_order, 3),
        # where the faulted side's extra requests went (injected answers included), by endpoint
        "extra_requests_by_endpoint": {
            endpoint: n - results["clean"]["by_endpoint"].get(endpoint, 0)
            for endpoint, n in results["faulted"]["by_endpoint"].items() if n > results["clean"]["by_endpoint"].get(endpoint, 0)},
        "never_succeeding": {"nopcommerce_reads_each": round(results["faulted"]["never_reads"] / NEVER, 1),
                             "policy_bound_each": bound, "fates": results["faulted"]["never_fates"],
                             "given_up_seconds_after_the_storm": results["faulted"]["never_settled_seconds_after_the_storm"]},
        "sides": results,
        "targets": {"settle_seconds": TARGET_SECONDS, "calls_ratio": TARGET_RATIO},
    }
    save_results("recovery", summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
