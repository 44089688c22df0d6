"""Catalogue-sync cost, measured side by side in one run against two identically seeded sandboxes
(`catalogue_20k` scale: 20,000 products, a small order history), each served from its own process:

1. Incremental (ours): after a warm-up full run of `nopcommerce/products_from_brightpearl` (brings
   nopCommerce in line), 1% of the products (200) are edited in Brightpearl (a new name, through
   the product PUT, which moves `updatedOn`); one tick of the `brightpearl_product_changes` sensor
   finds them and one run pushes them, both through Dagster. Brightpearl calls against the
   minimum: the product-search pages of the tick (500 rows each) + ceil(changed / 200) product
   GETs + ceil(changed / 200) product-price GETs (target ratio 1.00). nopCommerce writes against
   the number of changed products (target 1.00 per changed product).
2. Naive full push of the same catalogue after the same 1% change, in the style of simple
   connectors: every product read from Brightpearl (product and price GETs batched 200 per
   request, the cheapest a full read can be) and every nopCommerce product looked up by SKU, read
   and written back, changed or not.

Calls are counted by the sandboxes (every request that reached them), not by the clients; the
Brightpearl throttle is lifted so calls are counted, not paced.

Run: `.venv/bin/python -m bench.catalogue_sync` (several minutes, mostly the naive push);
results in bench/results/catalogue_sync.json.
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
from bp_nop_dagster.defs.catalogue.assets import products_from_brightpearl
from bp_nop_dagster.defs.catalogue.sensors import brightpearl_product_changes
from bp_nop_dagster.defs.sync_settings import SyncSettings
from bp_nop_dagster.ledger.resource import LedgerResource
from bp_nop_dagster.nopcommerce.client import NopCommerceClient
from bp_nop_dagster.sync.cursor import SensorCursor

SCALE, PRODUCTS, CHANGED_SHARE, SEED = "catalogue_20k", 20_000, 0.01, 3
UNTHROTTLED = {"quota": 1_000_000, "window_seconds": 60.0}  # counted, not paced
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
TOKEN_REQUEST = "POST /Authenticate/GetToken"
PRICE_LIST = 2  # the default mapping's price_list_id


def simple_skus(sandbox: Sandbox) -> list[tuple[str, int]]:
    """(SKU, Brightpearl product id) of products held exactly once on each side as a product."""
    sandbox.control(sandbox.bp_root, "PUT", "/throttle", UNTHROTTLED)
    bp = BrightpearlClient(sandbox.bp_base, app_ref=APP_REF, account_token=TOKEN, **UNTHROTTLED)
    ids: dict[str, list[int]] = {}
    for row in bp.search("/product-service/product-search", columns=["productId", "SKU"]):
        ids.setdefault(row["SKU"], []).append(int(row["productId"]))
    nop = NopCommerceClient(sandbox.nop_base, "admin@sandbox.test", "sandbox")
    counts: dict[str, int] = {}
    for product in nop.products():
        if product.sku:
            counts[product.sku] = counts.get(product.sku, 0) + 1
    return sorted((sku, found[0]) for sku, found in ids.items() if len(found) == 1 and counts.get(sku) == 1)


def rename(sandbox: Sandbox, changed: list[tuple[str, int]]) -> None:
    session = requests.Session()
    for sku, product_id in changed:
        session.put(f"{sandbox.bp_root}/__sandbox__/products/{product_id}", json={"name": f"Renamed {sku}"},
                    timeout=30).raise_for_status()


def writes(stats: dict) -> int:
    """nopCommerce requests that change data (the token request is authentication, not a write)."""
    return sum(n for key, n in stats["requests"].items() if not key.startswith("GET") and key != TOKEN_REQUEST)


def ours(sandbox: Sandbox, home: Path, changed: list[tuple[str, int]]) -> dict:
    sandbox.control(sandbox.bp_root, "PUT", "/throttle", UNTHROTTLED)
    resources = {**sandbox.resources(**UNTHROTTLED), "ledger": LedgerResource(url=f"sqlite:///{home / 'ledger.sqlite'}"),
                 "sync_settings": SyncSettings()}
    (home / "instance").mkdir()
    with dg.instance_for_test(temp_dir=str(home / "instance")) as instance:
        started = time.monotonic()
        assert dg.materialize([products_from_brightpearl], resources=resources, instance=instance, run_config=QUIET).success
        warm_up = time.monotonic() - started
        cursor = SensorCursor(watermark=datetime.now(UTC) - timedelta(seconds=1)).dumps()
        rename(sandbox, changed)
        sandbox.clear_stats()
        started = time.monotonic()
        with dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources) as context:
            request = brightpearl_product_changes(context)
        config = request.run_config
        config["loggers"] = QUIET["loggers"]
        result = dg.materialize([products_from_brightpearl], resources=resources, instance=instance, run_config=config)
        elapsed = time.monotonic() - started
    assert result.success
    node = "nopcommerce__products_from_brightpearl"
    metadata = {k: v.value for k, v in result.asset_materializations_for_node(node)[0].metadata.items()}
    bp, nop = sandbox.stats(sandbox.bp_root), sandbox.stats(sandbox.nop_root)
    search_pages = sum(n for key, n in bp["requests"].items() if "product-search" in key)
    minimum = search_pages + 2 * math.ceil(len(changed) / 200)  # product GETs + product-price GETs
    nop_writes = writes(nop)
    return {
        "products_changed": len(changed), "brightpearl_calls": bp["total"], "minimum_brightpearl_calls": minimum,
        "product_search_pages": search_pages, "ratio_to_minimum": round(bp["total"] / minimum, 3),
        "nopcommerce_writes": nop_writes, "products_written": metadata["written"],
        "nopcommerce_writes_per_changed_product": round(nop_writes / len(changed), 3),
        "nopcommerce_reads": sum(n for key, n in nop["requests"].items() if key.startswith("GET")),
        "nopcommerce_token_requests": nop["requests"].get(TOKEN_REQUEST, 0),
        "run_metadata": metadata, "seconds_tick_and_run": round(elapsed, 2), "warm_up_full_run_seconds": round(warm_up, 1),
        "brightpearl_calls_by_endpoint": bp["requests"],
    }


def naive(sandbox: Sandbox, changed: list[tuple[str, int]]) -> dict:
    """Every product read from Brightpearl (batched) and written to nopCommerce (looked up by SKU,
    read, written back whole with the Brightpearl name and price), changed or not."""
    sandbox.control(sandbox.bp_root, "PUT", "/throttle", UNTHROTTLED)
    rename(sandbox, changed)
    sandbox.clear_stats()
    bp = BrightpearlClient(sandbox.bp_base, app_ref=APP_REF, account_token=TOKEN, **UNTHROTTLED)
    nop = NopCommerceClient(sandbox.nop_base, "admin@sandbox.test", "sandbox")
    started = time.monotonic()
    ids = [int(r["productId"]) for r in bp.search("/product-service/product-search", columns=["productId"])]
    products = {p.id: p for p in bp.products(ids)}
    prices = bp.product_prices(ids, [PRICE_LIST])
    pushed = 0
    for product_id, product in sorted(products.items()):
        found = nop.products_by_sku([product.sku]) if product.sku else []
        if len(found) != 1:
            continue
        entry = prices.get(product_id)
        price = entry.on(PRICE_LIST).unit_price if entry and entry.on(PRICE_LIST) else None
        dto = nop.request("GET", f"/Product/GetById/{found[0].id}").body
        body = {**dto, "name": product.name, **({"price": float(price)} if price is not None else {})}
        nop.request("PUT", "/Product/Update", json_body=body)
        pushed += 1
    elapsed = time.monotonic() - started
    bp_stats, nop_stats = sandbox.stats(sandbox.bp_root), sandbox.stats(sandbox.nop_root)
    return {
        "products_changed": len(changed), "products_pushed": pushed, "brightpearl_calls": bp_stats["total"],
        "brightpearl_calls_per_changed_product": round(bp_stats["total"] / len(changed), 3),
        "nopcommerce_writes": writes(nop_stats),
        "nopcommerce_reads": sum(n for key, n in nop_stats["requests"].items() if key.startswith("GET")),
        "nopcommerce_writes_per_changed_product": round(writes(nop_stats) / len(changed), 3), "seconds": round(elapsed, 1),
    }


def main() -> int:
    with running_sandboxes(2, SCALE) as sandboxes:
        skus = simple_skus(sandboxes[0])
        changed = sorted(random.Random(SEED).sample(skus, round(PRODUCTS * CHANGED_SHARE)))
        with tempfile.TemporaryDirectory() as home:
            incremental = ours(sandboxes[0], Path(home), changed)
        full_push = naive(sandboxes[1], changed)
    results = {
        "date": date.today().isoformat(), "catalogue_products": PRODUCTS, "simple_skus_on_both_sides": len(skus),
        "incremental": incremental, "naive_full_push": full_push,
        "naive_over_ours_brightpearl_calls": round(full_push["brightpearl_calls"] / incremental["brightpearl_calls"], 1),
        "naive_over_ours_nopcommerce_writes": round(full_push["nopcommerce_writes"] / incremental["nopcommerce_writes"], 1),
    }
    save_results("catalogue_sync", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
