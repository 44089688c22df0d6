"""Refund-flow benchmark (issue 14), measured in one run against a sandbox served from its own
process: 500 refunds of mixed kinds, Brightpearl calls per refund against the minimum for its kind,
nopCommerce reads per refund, and the time to drain them at the real Brightpearl quota.

Kinds (share of the 500) and the minimum Brightpearl calls of each (writes that cannot be avoided,
plus reads that cannot be avoided, shared by an ID set of 200 where the API allows it):

- `return` (40 %): a partial refund of one item with its return request: credit POST + close +
  PAYMENT = 3, plus the sales order's rows (1/200);
- `amount` (20 %): a partial amount-only refund: the same 3 + 1/200;
- `full_shipped` (15 %): a full refund after shipping (credit of every row): 3 + 1/200 + 1/200
  (goods-out notes, to tell shipped from not);
- `cancel` (15 %): a full refund before shipping: PAYMENT reversing the receipt + status PUT = 2,
  plus 1/200 + 1/200;
- `staff` (10 %): a credit made by staff in Brightpearl with a PAYMENT, refunded in the shop: no
  write in Brightpearl; the order-search finding it (1 per run) and the credit and its payment
  total (1/200 each).

Each kind is refunded and drained in its own run (stats cleared in between), so its calls are
its own; every run also reads what any run reads (the staff-credit search): that overhead is in
"ours", never in the minimum. The mapping check against the account's reference data runs as
the asset runs it: kept in the ledger for its TTL (10 minutes, `sync/reference_check.py`), so the
first run (the set-up's) reads it and the measured runs, within the TTL, do not; a run after the
TTL would add its 6 reads to "ours".
Faults: none (the fault behaviour is tested, not benchmarked). Goods received back are not
part of the refund count (they happen when the shop marks a request received).

Drain time at the real quota: Brightpearl calls / (200 per minute x 0.9, the client's pacing with
its 10 % headroom for other apps); nopCommerce has no quota.

Run: `.venv/bin/python -m bench.refund_flow` (a few minutes); results in bench/results/refund_flow.json.
"""

from __future__ import annotations

import math
import random
import sys
import tempfile
import time
from pathlib import Path

import requests

from bench.sandbox_throughput import save_results
from bench.source_reads import APP_REF, TOKEN, Sandbox, running_sandboxes
from bp_nop_dagster.brightpearl.client import BrightpearlClient
from bp_nop_dagster.defs.sync_settings import SyncSettings
from bp_nop_dagster.ledger import Ledger
from bp_nop_dagster.mapping.config import load_mapping_config
from bp_nop_dagster.nopcommerce.client import NopCommerceClient
from bp_nop_dagster.sync.orders import OrderSync
from bp_nop_dagster.sync.refunds import RefundSync

REFUNDS = 500
KINDS = {"return": 0.40, "amount": 0.20, "full_shipped": 0.15, "cancel": 0.15, "staff": 0.10}
QUOTA, HEADROOM = 200, 0.9
ADDRESS = {"address1": "1 Mill Road", "city": "Leeds", "zip_postal_code": "LS1 4AB", "country_iso2": "GB"}
SKUS = [f"BPN-{n:05d}" for n in range(20, 50)]
UNTHROTTLED = {"quota": 1_000_000, "window_seconds": 60.0}


def minimum_calls(kind: str, count: int) -> float:
    batched = math.ceil(count / 200)
    return {"return": 3 * count + batched, "amount": 3 * count + batched, "full_shipped": 3 * count + 2 * batched,
            "cancel": 2 * count + 2 * batched, "staff": 1 + 2 * batched}[kind]


def post(session: requests.Session, url: str, body: dict) -> dict:
    response = session.post(url, json=body, timeout=60)
    if response.status_code >= 400:
        raise RuntimeError(f"{url}: {response.status_code} {response.text}")
    return response.json()


def clients(sandbox: Sandbox) -> tuple[NopCommerceClient, BrightpearlClient]:
    return (NopCommerceClient(sandbox.nop_base, email="admin@sandbox.test", password="sandbox"),
            BrightpearlClient(sandbox.bp_base, app_ref=APP_REF, account_token=TOKEN, **UNTHROTTLED))


def refund_run(sandbox: Sandbox, ledger: Ledger) -> None:
    nop, bp = clients(sandbox)
    settings = SyncSettings()  # as the asset runs it: the mapping's check against the account kept in the ledger
    RefundSync(nop=nop, bp=bp, ledger=ledger, config=lambda: settings.mapping(bp, flow="orders", ledger=ledger), owner="bench").run()


def main() -> dict:
    rng = random.Random(14)
    counts = {kind: round(REFUNDS * share) for kind, share in KINDS.items()}
    home = Path(tempfile.mkdtemp(prefix="refund-bench-"))
    with running_sandboxes(1, "small") as [sandbox]:
        sandbox.control(sandbox.bp_root, "PUT", "/throttle", UNTHROTTLED)
        session = requests.Session()
        ledger = Ledger(f"sqlite:///{home / 'ledger.sqlite'}")
        for sku in SKUS:  # stock to ship from (products that are not stock tracked need none)
            session.post(f"{sandbox.bp_root}/__sandbox__/stock", json={"sku": sku, "warehouse_id": 1, "quantity": 5 * REFUNDS},
                         timeout=60)
        placed: dict[str, list[dict]] = {}
        for kind, count in counts.items():
            placed[kind] = [post(session, f"{sandbox.nop_root}/__sandbox__/orders", {
                "email": f"{kind}-{n}@bench.test", "first_name": "Bench", "last_name": f"Refund {n}", "address": ADDRESS,
                "items": [{"sku": sku, "quantity": rng.randint(1, 3)} for sku in rng.sample(SKUS, 2)],
                "payment_method_system_name": "Payments.CheckMoneyOrder", "paid": True}) for n in range(count)]
        ledger.enqueue("order", [str(o["id"]) for orders in placed.values() for o in orders])
        nop, bp = clients(sandbox)
        while ledger.pending("order"):
            OrderSync(nop=nop, bp=bp, ledger=ledger, config=load_mapping_config(None), owner="bench").run()
        links = {link.nop_key: link.bp_id for link in ledger.links("order")}
        for kind, orders in placed.items():
            if kind != "cancel":
                for order in orders:
                    post(session, f"{sandbox.bp_root}/__sandbox__/orders/{links[str(order['id'])]}/fulfil", {"ship": True})
        refund_run(sandbox, ledger)  # the seeded shop's own refunded orders are found (and wait: not in Brightpearl)

        results: dict = {"refunds": REFUNDS, "kinds": {}}
        total_calls = total_minimum = total_nop = 0.0
        for kind, orders in placed.items():
            for order in orders:
                oid = order["id"]
                if kind == "return":
                    items = session.get(f"{sandbox.nop_root}/__sandbox__/orders/{oid}", timeout=60).json()["items"]
                    item = items[0]
                    post(session, f"{sandbox.nop_root}/__sandbox__/return-requests", {"order_id": oid, "order_item_id": item["id"], "quantity": 1})
                    post(session, f"{sandbox.nop_root}/__sandbox__/orders/{oid}/refund", {"offline": True, "amount": item["unit_price_incl_tax"]})
                elif kind == "amount":
                    post(session, f"{sandbox.nop_root}/__sandbox__/orders/{oid}/refund", {"offline": True, "amount": "3.33"})
                elif kind in ("full_shipped", "cancel"):
                    post(session, f"{sandbox.nop_root}/__sandbox__/orders/{oid}/refund", {"offline": True})
                else:
                    post(session, f"{sandbox.bp_root}/__sandbox__/sales-credits", {
                        "parent_order_id": links[str(oid)], "close": True, "refund": {"amount": "2.40"},
                        "rows": [{"name": "Goodwill", "quantity": 1, "net": "2.00", "tax": "0.40", "tax_code": "T1"}]})
            sandbox.clear_stats()
            started = time.monotonic()
            for _ in range(5):
                refund_run(sandbox, ledger)
                if not any(ledger.pending(k) for k in ("refund", "staff_credit")):
                    break
            elapsed = time.monotonic() - started
            bp_stats, nop_stats = sandbox.stats(sandbox.bp_root), sandbox.stats(sandbox.nop_root)
            minimum = minimum_calls(kind, len(orders))
            results["kinds"][kind] = {
                "refunds": len(orders), "brightpearl_calls": bp_stats["total"], "minimum_calls": minimum,
                "calls_per_refund": round(bp_stats["total"] / len(orders), 3), "minimum_per_refund": round(minimum / len(orders), 3),
                "ratio_to_minimum": round(bp_stats["total"] / minimum, 3), "nopcommerce_reads": nop_stats["total"],
                "nop_reads_per_refund": round(nop_stats["total"] / len(orders), 3), "wall_seconds": round(elapsed, 1),
                "unsettled_after": len(ledger.unsettled("refund")) + len(ledger.unsettled("staff_credit")),
                "brightpearl_calls_by_endpoint": bp_stats["requests"], "nopcommerce_calls_by_endpoint": nop_stats["requests"],
            }
            total_calls += bp_stats["total"]
            total_minimum += minimum
            total_nop += nop_stats["total"]
        results["all"] = {
            "brightpearl_calls": int(total_calls), "minimum_calls": total_minimum,
            "ratio_to_minimum": round(total_calls / total_minimum, 3), "target_ratio": 1.05,
            "nop_reads_per_refund": round(total_nop / REFUNDS, 3),
            "drain_minutes_at_quota": round(total_calls / (QUOTA * HEADROOM), 2),
            "minimum_drain_minutes_at_quota": round(total_minimum / (QUOTA * HEADROOM), 2),
        }
    save_results("refund_flow", results)
    return results


if __name__ == "__main__":
    main()
    sys.exit(0)
