"""What the data-quality wiring costs the order flow, measured side by side in one run: the same
300 shopper orders (identically seeded sandboxes, each in its own process) synced by the order
run (`order_flow/mapping_coverage` + `order_sync`) with the mapping's `quality` options off, and
with `hold_invalid_contacts` and `require_mapped_values` on. Requests counted by the sandboxes
(every request that reached them), not by the clients; the Brightpearl quota is lifted (calls
are counted, not paced), so the time ratio compares work, not waiting. 5% of the orders carry a postcode that is
not a UK postcode ("LS1 4A"): with the hold on they are dead-lettered `invalid_address` and sent
nothing; the rest are booked the same way in both runs.

Also: an order run with nothing pending, as `order_sync_job` (option off: the job is unchanged)
and as `checked_order_sync_job` (option on: the coverage step first), 10 times each, alternating:
what the extra step costs a run when the mapping asks for it.

Run: `.venv/bin/python -m bench.quality_wiring` (a few minutes); results in
bench/results/quality_wiring.json.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from pathlib import Path

import dagster as dg
import yaml

from bench.sandbox_throughput import save_results
from bench.source_reads import running_sandboxes
from bp_nop_dagster.defs.orders.assets import order_sync
from bp_nop_dagster.defs.quality.coverage import mapping_coverage
from bp_nop_dagster.defs.sync_settings import OrderFlowKnobs, SyncSettings
from bp_nop_dagster.ledger import Ledger
from bp_nop_dagster.ledger.resource import LedgerResource
from bp_nop_dagster.mapping.config import DEFAULT_MAPPING_FILE

ORDERS, BAD_SHARE = 300, 0.05
UNTHROTTLED = {"quota": 1_000_000, "window_seconds": 60.0}  # calls are counted here, not paced
ADDRESS = {"address1": "1 Mill Road", "city": "Leeds", "zip_postal_code": "LS1 4AB", "country_iso2": "GB"}
SKUS = [f"BPN-{n:05d}" for n in range(20, 50)]


def bodies(seed: int = 16) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for n in range(ORDERS):
        bad = rng.random() < BAD_SHARE
        out.append({"email": f"wiring-{n}@bench.test", "first_name": "Ana", "last_name": f"Lee {n}",
                    "address": {**ADDRESS, "zip_postal_code": "LS1 4A" if bad else "LS1 4AB"},
                    "items": [{"sku": sku, "quantity": rng.randint(1, 3)} for sku in rng.sample(SKUS, rng.randint(1, 3))],
                    "payment_method_system_name": "Payments.CheckMoneyOrder", "paid": True})
    return out


def measure(sandbox, orders: list[dict], quality: dict, folder: Path) -> dict:
    data = yaml.safe_load(DEFAULT_MAPPING_FILE.read_text(encoding="utf-8"))
    data["quality"] = {**data.get("quality", {}), **quality}
    mapping = folder / "mapping.yaml"
    mapping.write_text(yaml.safe_dump(data), encoding="utf-8")
    ledger_url = f"sqlite:///{folder / 'ledger.sqlite'}"
    ledger = Ledger(ledger_url)
    for body in orders:
        placed = sandbox.control(sandbox.nop_root, "POST", "/orders", body)
        ledger.enqueue("order", [str(placed["id"])])
    sandbox.control(sandbox.bp_root, "PUT", "/throttle", UNTHROTTLED)
    sandbox.clear_stats()
    resources = {**sandbox.resources(**UNTHROTTLED), "ledger": LedgerResource(url=ledger_url),
                 "sync_settings": SyncSettings(mapping_file=str(mapping), orders=OrderFlowKnobs(batch_size=ORDERS))}
    started = time.perf_counter()
    with dg.instance_for_test() as instance:
        dg.materialize([mapping_coverage, order_sync], resources=resources, instance=instance)
    seconds = time.perf_counter() - started
    nop, bp = sandbox.stats(sandbox.nop_root), sandbox.stats(sandbox.bp_root)
    letters = ledger.dead_letters()
    return {"seconds": round(seconds, 1), "nopcommerce_requests": nop["total"], "brightpearl_requests": bp["total"],
            "synced": len(ledger.links("order")), "held_invalid_address": sum(1 for d in letters if d.reason == "invalid_address"),
            "dead_letters": len(letters)}


def step_overhead(sandbox, folder: Path, repeats: int = 10) -> dict:
    """An order run with nothing pending: `order_sync_job`'s assets (what runs with the option off,
    unchanged) against `checked_order_sync_job`'s (the coverage step first, option on), alternating,
    `repeats` each: the median wall time of each (what the extra step costs a run when asked for)."""
    ledger = LedgerResource(url=f"sqlite:///{folder / 'idle.sqlite'}")
    plain = {**sandbox.resources(**UNTHROTTLED), "ledger": ledger, "sync_settings": SyncSettings()}
    checked = {**plain, "sync_settings": SyncSettings(mapping_file=str(folder / "mapping.yaml"))}  # measure()'s file, option on
    times: dict[str, list[float]] = {"order_sync_job": [], "checked_order_sync_job": []}
    with dg.instance_for_test() as instance:
        for _ in range(repeats):
            for name, assets, resources in (("order_sync_job", [order_sync], plain),
                                            ("checked_order_sync_job", [mapping_coverage, order_sync], checked)):
                started = time.perf_counter()
                dg.materialize(assets, resources=resources, instance=instance)
                times[name].append(time.perf_counter() - started)
    medians = {name: round(statistics.median(values), 3) for name, values in times.items()}
    return {**medians, "extra_seconds_per_checked_run": round(medians["checked_order_sync_job"] - medians["order_sync_job"], 3)}


def main() -> None:
    orders = bodies()
    with running_sandboxes(2, "small") as (off_box, on_box), tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "off").mkdir()
        (Path(tmp) / "on").mkdir()
        off = measure(off_box, orders, {"hold_invalid_contacts": False, "require_mapped_values": False, "allow_test_domains": True},
                      Path(tmp) / "off")
        on = measure(on_box, orders, {"hold_invalid_contacts": True, "require_mapped_values": True, "allow_test_domains": True},
                     Path(tmp) / "on")
        idle = step_overhead(off_box, Path(tmp) / "on")
    bad = sum(1 for b in orders if b["address"]["zip_postal_code"] == "LS1 4A")
    save_results("quality_wiring", {
        "orders": ORDERS, "orders_with_a_bad_postcode": bad, "quality_off": off, "quality_on": on,
        "extra_nopcommerce_requests_per_order": round((on["nopcommerce_requests"] - off["nopcommerce_requests"]) / ORDERS, 3),
        "brightpearl_requests_per_synced_order": {"off": round(off["brightpearl_requests"] / max(off["synced"], 1), 2),
                                                  "on": round(on["brightpearl_requests"] / max(on["synced"], 1), 2)},
        "time_ratio_on_over_off": round(on["seconds"] / off["seconds"], 3),
        "idle_order_run_seconds_median": idle,
    })


if __name__ == "__main__":
    main()
