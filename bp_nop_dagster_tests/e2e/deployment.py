"""What the fault-and-crash suite drives: `dagster dev` deployments on the instance `bp-nop demo`
writes (`DEMO_INSTANCE_YAML`, run monitoring like production), against the test session's
sandbox over real HTTP, with the ledger on PostgreSQL or SQLite; shoppers placing orders; and the
checks on both systems (Brightpearl sales orders by externalRef, payments by transactionRef,
nopCommerce shipments), never on our own counters alone."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
import requests

from bp_nop_dagster import settings
from bp_nop_dagster.brightpearl.client import BrightpearlClient
from bp_nop_dagster.demo import DEMO_INSTANCE_YAML, dagster_dev_command, live_group_members, stop_process_group
from bp_nop_dagster.ledger import Ledger, RecordKind
from bp_nop_dagster_tests.test_demo import free_port

SETTLED = ("synced", "skipped", "dead_lettered")
ADDRESS = {"address1": "1 Mill Road", "city": "Leeds", "zip_postal_code": "LS1 4AB", "country_iso2": "GB"}


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, logs: list[Path] = (), every: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    tails = "\n".join(f"--- {log} (tail) ---\n{log.read_text(errors='replace')[-3000:]}" for log in logs if log.exists())
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{tails}")


@dataclass
class Deployment:
    """One `dagster dev` (webserver, daemon, code server and its runs) in its own process group."""

    home: Path
    env: dict[str, str]
    log: Path
    process: subprocess.Popen | None = None

    @classmethod
    def create(cls, root: Path, name: str, sandbox, ledger_url: str) -> Deployment:
        home = root / name
        home.mkdir(parents=True)
        (home / "dagster.yaml").write_text(DEMO_INSTANCE_YAML)
        with dg.DagsterInstance.from_config(str(home)):
            pass  # the instance's storage exists before dagster dev and the test race to create it
        env = {**os.environ, **settings.sandbox_environment(sandbox), settings.DAGSTER_HOME: str(home),
               settings.BP_NOP_LEDGER_URL: ledger_url, settings.BP_NOP_ENV: "local",
               settings.BP_NOP_REPORTS_DIR: str(home / "reports")}
        env.pop(settings.BP_NOP_MAPPING_FILE, None)
        env.pop(settings.BP_NOP_ALERT_WEBHOOK_URL, None)
        return cls(home, env, root / f"{name}.log")

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(dagster_dev_command(self.home, free_port()), env=self.env, stdout=out,
                                            stderr=subprocess.STDOUT, start_new_session=True, cwd=self.home)

    def kill_9(self) -> None:
        """SIGKILL to every process of the deployment at once (a power cut)."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)
        wait_for(lambda: not live_group_members(self.process.pid), 30, "every dagster dev process to be gone", [self.log])

    def stop(self) -> None:
        if self.process is not None:
            stop_process_group(self.process)

    def runs(self, job: str = "order_sync_job") -> list[dg.DagsterRun]:
        with dg.DagsterInstance.from_config(str(self.home)) as instance:
            return list(instance.get_runs(dg.RunsFilter(job_name=job)))

    def started_run(self) -> dg.DagsterRun | None:
        return next((r for r in self.runs() if r.status == dg.DagsterRunStatus.STARTED), None)


@dataclass
class Shop:
    """The sandbox seen by shoppers and by the checks; the ledger as the flows leave it."""

    sandbox: Any
    ledger: Ledger
    placed: list[int] = field(default_factory=list)

    @property
    def nop_root(self) -> str:
        return self.sandbox.urls.nopcommerce_root

    @property
    def bp_root(self) -> str:
        return self.sandbox.urls.brightpearl_root

    def place(self, n: int, *, customers: int, prefix: str, sku: str = "BPN-00001", email: str | None = None) -> list[int]:
        """`n` checkouts from `customers` returning shoppers (every second one paid by cheque: one RECEIPT)."""
        ids = []
        for i in range(n):
            body = {"email": email or f"{prefix}-{i % customers}@e2e.test", "first_name": "End", "last_name": f"To End {i}",
                    "address": ADDRESS, "items": [{"sku": sku, "quantity": 1 + i % 2}], "paid": i % 2 == 0,
                    "payment_method_system_name": "Payments.CheckMoneyOrder"}
            response = requests.post(f"{self.nop_root}/__sandbox__/orders", json=body, timeout=30)
            assert response.status_code == 201, response.text
            ids.append(response.json()["id"])
        self.placed += ids
        return ids

    def faults(self, *rules: dict, root: str | None = None) -> None:
        requests.put(f"{root or self.bp_root}/__sandbox__/faults", json={"rules": list(rules), "seed": 12}, timeout=10).raise_for_status()

    # -- the ledger
    def statuses(self, ids: list[int] | None = None) -> dict[int, str]:
        ids = self.placed if ids is None else ids
        found = {int(r.nop_key): r.status for r in self.ledger.statuses(RecordKind.ORDER, [str(i) for i in ids])}
        return {i: found.get(i, "unknown") for i in ids}

    def settled(self, ids: list[int] | None = None) -> bool:
        return all(status in SETTLED for status in self.statuses(ids).values())

    def linked(self) -> int:
        return sum(1 for status in self.statuses().values() if status == "synced")

    def ship_synced(self, n: int) -> dict[int, int]:
        """Fulfil and ship `n` of the synced orders in Brightpearl (a goods-out note each, all rows);
        returns note id -> nop order id."""
        links = self.ledger.bp_ids(RecordKind.ORDER, [str(i) for i in self.placed])
        nop = self.sandbox.world.nopcommerce
        for sku in {nop.products[i["product_id"]]["sku"] for i in nop.order_items.values() if i["order_id"] in self.placed}:
            requests.post(f"{self.bp_root}/__sandbox__/stock", json={"sku": sku, "warehouse_id": 1, "on_hand": 500},
                          timeout=10).raise_for_status()
        notes = {}
        for key, bp_id in list(links.items())[:n]:
            response = requests.post(f"{self.bp_root}/__sandbox__/orders/{bp_id}/fulfil",
                                     json={"warehouse_id": 1, "tracking_reference": f"1Z{key}", "ship": True}, timeout=10)
            assert response.status_code == 200, response.text
            notes[response.json()["goods_note_id"]] = int(key)
        return notes

    def notes_settled(self, notes: dict[int, int]) -> bool:
        found = {int(r.nop_key): r.status for r in self.ledger.statuses(RecordKind.GOODS_OUT_NOTE, [str(n) for n in notes])}
        return all(found.get(n) in SETTLED for n in notes)

    # -- both systems
    def bp(self) -> BrightpearlClient:
        creds = self.sandbox.world.credentials
        return BrightpearlClient(self.sandbox.urls.brightpearl_base_url, app_ref=creds.brightpearl_app_ref,
                                 account_token=creds.brightpearl_account_token)

    def assert_exactly_once(self, ids: list[int] | None = None) -> None:
        """Per nopCommerce order: its ledger status settled; one Brightpearl sales order with its
        externalRef when synced, none otherwise; for a paid one exactly one payment, no
        transactionRef (per method) twice; the ledger's link is that sales order."""
        ids = self.placed if ids is None else ids
        self.faults()  # the checks read through a clean connection
        statuses = self.statuses(ids)
        assert all(s in SETTLED for s in statuses.values()), {i: s for i, s in statuses.items() if s not in SETTLED}
        bp = self.bp()
        refs = Counter(r["externalRef"] for r in bp.search("/order-service/order-search", columns=["orderId", "externalRef"])
                       if (r.get("externalRef") or "").startswith("nop-"))
        expected = {f"nop-{i}": (1 if statuses[i] == "synced" else 0) for i in ids}
        assert {ref: refs.get(ref, 0) for ref in expected} == expected
        links = self.ledger.bp_ids(RecordKind.ORDER, [str(i) for i in ids])
        payments = bp.customer_payment_search(order_ids=sorted(links.values())) if links else []
        assert len({(p.payment_method_code, p.transaction_ref) for p in payments}) == len(payments), "a transactionRef twice"
        per_order = Counter(p.order_id for p in payments)
        nop = self.sandbox.world.nopcommerce
        for order_id in ids:
            if statuses[order_id] != "synced":
                continue
            paid = nop.orders[order_id]["payment_status_id"] == 30
            assert per_order.get(links[str(order_id)], 0) == (1 if paid else 0), f"order {order_id}: payments"

    def assert_one_shipment_per_note(self, notes: dict[int, int]) -> None:
        """`notes`: goods-out note id -> nop order id. One nopCommerce shipment per note, shipped."""
        nop = self.sandbox.world.nopcommerce
        for note_id, order_id in notes.items():
            shipments = [s for s in nop.shipments.values() if s["order_id"] == order_id]
            assert len(shipments) == 1 and shipments[0]["shipped_date_utc"] is not None, (note_id, shipments)
