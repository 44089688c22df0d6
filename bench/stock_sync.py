"""Stock-push cost, measured side by side in one run against two identically seeded sandboxes
(`catalogue` scale: 10,000 SKUs, a small order history), each served from its own process:

1. Incremental (ours): after a warm-up full reconcile (which records every SKU's Brightpearl
   product id in the ledger and brings nopCommerce in line), 2% of the SKUs get a Brightpearl
   stock correction; one sensor tick finds them and one run of `nopcommerce/stock_from_brightpearl`
   pushes them, both through Dagster. Brightpearl calls against the minimum (goods-movement-search
   pages of 500 + ceil(changed / 200) availability GETs; target ratio 1.00) and nopCommerce writes
   against the number of values that changed (target 1.00).
2. Naive full push of the same catalogue after the same 2% change, in the style of simple
   connectors: every SKU's availability read one by one, every nopCommerce product looked up and
   written one by one.

Calls are counted by the sandboxes (every request that reached them), not by the clients; the
Brightpearl throttle is lifted so calls are counted, not paced.

Run: `.venv/bin/python -m bench.stock_sync` (about four minutes, mostly the naive push); results in bench/results/stock_sync.json.
"""

from __future__ import annotations

import math
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import requests

from bench.sandbox_throughput import save_results
from bench.source_reads import APP_REF, TOKEN, Sandbox, running_sandboxes
from bp_nop_dagster.brightpearl.client import BrightpearlClient
from bp_nop_dagster.defs.stock.assets import stock_from_brightpearl
from bp_nop_dagster.defs.sync_settings import SyncSettings
from bp_nop_dagster.defs.stock.sensors import brightpearl_stock_changes
from bp_nop_dagster.ledger.resource import LedgerResource
from bp_nop_dagster.nopcommerce.client import NopCommerceClient
from bp_nop_dagster.sync.cursor import SensorCursor
from bp_nop_dagster.sync.stock import StockCursor

SCALE, CHANGED_SHARE, SEED = "catalogue", 0.02, 3
UNTHROTTLED = {"quota": 1_000_000, "window_seconds": 60.0}  # counted, not paced
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def tracked_skus(sandbox: Sandbox) -> list[str]:
    """SKUs stock tracked in Brightpearl and held exactly once by a tracked nopCommerce product."""
    sandbox.control(sandbox.bp_root, "PUT", "/throttle", UNTHROTTLED)
    bp = BrightpearlClient(sandbox.bp_base, app_ref=APP_REF, account_token=TOKEN, **UNTHROTTLED)
    rows = bp.search("/product-service/product-search", columns=["productId", "SKU", "stockTracked"])
    bp_tracked = {r["SKU"] for r in rows if r.get("stockTracked")}
    nop = NopCommerceClient(sandbox.nop_base, "admin@sandbox.test", "sandbox")
    counts: dict[str, int] = {}
    for product in nop.products():
        if product.manage_inventory_method_id == 1 and product.sku:
            counts[product.sku] = counts.get(product.sku, 0) + 1
    return sorted(sku for sku, n in counts.items() if n == 1 and sku in bp_tracked)


def change_stock(sandbox: Sandbox, skus: list[str]) -> None:
    session = requests.Session()
    for n, sku in enumerate(skus):
        body = {"sku": sku, "warehouse_id": 1 if n % 2 else 3, "quantity": 5 + n % 7}
        session.post(f"{sandbox.bp_root}/__sandbox__/stock", json=body, timeout=30).raise_for_status()


TOKEN_REQUEST = "POST /Authenticate/GetToken"


def writes(stats: dict) -> int:
    """nopCommerce requests that change data (the token request is authentication, not a write)."""
    return sum(n for key, n in stats["requests"].items() if not key.startswith("GET") and key != TOKEN_REQUEST)


def ours(sandbox: Sandbox, home: Path, changed: list[str]) -> dict:
    sandbox.control(sandbox.bp_root, "PUT", "/throttle", UNTHROTTLED)
    resources = {**sandbox.resources(**UNTHROTTLED), "ledger": LedgerResource(url=f"sqlite:///{home / 'ledger.sqlite'}"),
                 "sync_settings": SyncSettings()}
    (home / "instance").mkdir()
    with dg.instance_for_test(temp_dir=str(home / "instance")) as instance:
        started = time.monotonic()
        assert dg.materialize([stock_from_brightpearl], resources=resources, instance=instance, run_config=QUIET).success
        warm_up = time.monotonic() - started
        start = SensorCursor(watermark=datetime.now(UTC) - timedelta(seconds=1))
        cursor = StockCursor(movements=start, orders=start).dumps()
        change_stock(sandbox, changed)
        sandbox.clear_stats()
        started = time.monotonic()
        with dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources) as context:
            request = brightpearl_stock_changes(context)
        config = request.run_config
        config["loggers"] = QUIET["loggers"]
        result = dg.materialize([stock_from_brightpearl], resources=resources, instance=instance, run_config=config)
        elapsed = time.monotonic() - started
    assert result.success
    metadata = {k: v.value for k, v in result.asset_materializations_for_node("nopcommerce__stock_from_brightpearl")[0].metadata.items()}
    bp, nop = sandbox.stats(sandbox.bp_root), sandbox.stats(sandbox.nop_root)
    searches = sum(n for key, n in bp["requests"].items() if "goods-movement-search" in key or "order-search" in key)
    # the searches, one stock-tracked product-search per 500 products, one availability GET per 200
    minimum = searches + math.ceil(len(changed) / 500) + math.ceil(len(changed) / 200)
    nop_writes = writes(nop)
    return {
        "skus_changed": len(changed), "brightpearl_calls": bp["total"], "minimum_brightpearl_calls": minimum,
        "movement_search_pages": searches, "ratio_to_minimum": round(bp["total"] / minimum, 3),
        "nopcommerce_writes": nop_writes, "values_written": metadata["written"],
        "nopcommerce_writes_per_change": round(nop_writes / len(changed), 3),
        "nopcommerce_reads": sum(n for key, n in nop["requests"].items() if key.startswith("GET")),
        "nopcommerce_token_requests": nop["requests"].get(TOKEN_REQUEST, 0),
        "run_metadata": metadata, "seconds_tick_and_run": round(elapsed, 2), "warm_up_full_reconcile_seconds": round(warm_up, 1),
        "brightpearl_calls_by_endpoint": bp["requests"],
    }


def naive(sandbox: Sandbox, changed: list[str]) -> dict:
    """Every SKU read from Brightpearl and written to nopCommerce one by one (simple products and
    attribute combinations; counted warehouses summed, nothing subtracted)."""
    sandbox.control(sandbox.bp_root, "PUT", "/throttle", UNTHROTTLED)
    change_stock(sandbox, changed)
    sandbox.clear_stats()
    bp = BrightpearlClient(sandbox.bp_base, app_ref=APP_REF, account_token=TOKEN, **UNTHROTTLED)
    nop = NopCommerceClient(sandbox.nop_base, "admin@sandbox.test", "sandbox")
    started = time.monotonic()
    pushed = 0
    for row in bp.search("/product-service/product-search", columns=["productId", "SKU", "stockTracked"]):
        if not row.get("stockTracked"):
            continue
        availability = bp.product_availability([row["productId"]]).get(row["productId"])
        if availability is None:
            continue
        quantity = sum(availability.warehouses[w].on_hand for w in (1, 3) if w in availability.warehouses)
        product = nop.products_by_sku([row["SKU"]])
        if product and product[0].manage_inventory_method_id == 1 and not product[0].use_multiple_warehouses:
            dto = nop.request("GET", f"/Product/GetById/{product[0].id}").body
            nop.request("PUT", "/Product/Update", json_body={**dto, "stock_quantity": max(0, quantity)})
            pushed += 1
        elif not product and (combination := nop.combination_by_sku(row["SKU"])) is not None:
            dto = nop.request("GET", f"/ProductAttributeCombination/GetById/{combination.id}").body
            nop.request("PUT", "/ProductAttributeCombination/Update", json_body={**dto, "stock_quantity": max(0, quantity)})
            pushed += 1
    elapsed = time.monotonic() - started
    bp_stats, nop_stats = sandbox.stats(sandbox.bp_root), sandbox.stats(sandbox.nop_root)
    return {
        "skus_changed": len(changed), "skus_pushed": pushed, "brightpearl_calls": bp_stats["total"],
        "nopcommerce_writes": writes(nop_stats),
        "nopcommerce_reads": sum(n for key, n in nop_stats["requests"].items() if key.startswith("GET")),
        "nopcommerce_writes_per_change": round(writes(nop_stats) / len(changed), 3), "seconds": round(elapsed, 1),
        "minutes_at_the_real_quota": round(bp_stats["total"] / 200, 1),
    }


def main() -> int:
    with running_sandboxes(2, SCALE) as sandboxes:
        skus = tracked_skus(sandboxes[0])
        changed = sorted(random.Random(SEED).sample(skus, round(10_000 * CHANGED_SHARE)))
        with tempfile.TemporaryDirectory() as home:
            incremental = ours(sandboxes[0], Path(home), changed)
        full_push = naive(sandboxes[1], changed)
    results = {
        "date": date.today().isoformat(), "catalogue_skus": 10_000, "tracked_skus_on_both_sides": len(skus),
        "incremental": incremental, "naive_full_push": full_push,
        "naive_over_ours_brightpearl_calls": round(full_push["brightpearl_calls"] / incremental["brightpearl_calls"], 1),
        "naive_over_ours_nopcommerce_writes": round(full_push["nopcommerce_writes"] / incremental["nopcommerce_writes"], 1),
    }
    save_results("stock_sync", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
