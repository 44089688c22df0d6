"""Read-side benchmarks, measured side by side in one run against a medium sandbox shop
(5,000 products, 20,000 orders) served from its own process:

1. Brightpearl calls to read every product with its stock (the `brightpearl/products` and
   `brightpearl/stock` assets), against the minimum: search pages (500 rows each) plus one
   availability GET per 200 stock-tracked products. The issue's looser minimum, which also counts
   a product GET per 200 products, is reported beside it.
2. Quota use while draining a large read at the cap: the sandbox throttle is shortened to
   20 requests / 2 s and the client paced to the same quota (10% headroom); the share of the quota,
   and of what the client allows itself, used per window over the whole read, and the 503s the
   sandbox answered (target: >= 90%, zero 503s).
3. A full read of the shop through every source asset (all 35 days of orders): wall time, peak RSS
   of this process (target < 1 GiB) and nopCommerce reads per order.

Run: `.venv/bin/python -m bench.source_reads` (about two minutes); results in bench/results/.
"""

from __future__ import annotations

import math
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import requests

from bench.sandbox_throughput import free_port, save_results, start_sandbox
from bp_nop_dagster import settings
from bp_nop_dagster.brightpearl.client import BrightpearlClient
from bp_nop_dagster.brightpearl.resource import BrightpearlResource
from bp_nop_dagster.defs.brightpearl import assets as bp_assets
from bp_nop_dagster.defs.nopcommerce import assets as nop_assets
from bp_nop_dagster.nopcommerce.resource import NopCommerceResource
from bp_nop_dagster.sandbox.generator import HISTORY_DAYS

APP_REF, TOKEN = "sandbox_bpnop", "sandbox-token"


class Sandbox:
    """A sandbox served from its own process (`running_sandboxes`), seen over HTTP."""

    def __init__(self, bp_port: int, nop_port: int) -> None:
        self.bp_root = f"http://127.0.0.1:{bp_port}"
        self.nop_root = f"http://127.0.0.1:{nop_port}"
        self.bp_base = f"{self.bp_root}/public-api/sandbox"
        self.nop_base = f"{self.nop_root}/api-backend"

    def control(self, root: str, method: str, path: str, body=None) -> dict:
        response = requests.request(method, f"{root}/__sandbox__{path}", json=body, timeout=60)
        response.raise_for_status()
        return response.json()

    def stats(self, root: str) -> dict:
        return self.control(root, "GET", "/stats")

    def clear_stats(self) -> None:
        self.control(self.bp_root, "DELETE", "/stats")
        self.control(self.nop_root, "DELETE", "/stats")

    def environment(self) -> dict[str, str]:
        """The environment variables that point the code location at this sandbox."""
        return {
            settings.BRIGHTPEARL_BASE_URL: self.bp_base, settings.BRIGHTPEARL_APP_REF: APP_REF,
            settings.BRIGHTPEARL_ACCOUNT_TOKEN: TOKEN, settings.NOPCOMMERCE_BASE_URL: self.nop_base,
            settings.NOPCOMMERCE_EMAIL: "admin@sandbox.test", settings.NOPCOMMERCE_PASSWORD: "sandbox",
        }

    def resources(self, **bp_settings) -> dict:
        return {
            "brightpearl": BrightpearlResource(base_url=self.bp_base, app_ref=APP_REF, account_token=TOKEN, **bp_settings),
            "nopcommerce": NopCommerceResource(base_url=self.nop_base, email="admin@sandbox.test", password="sandbox"),
        }


@contextmanager
def running_sandboxes(count: int, scale: str) -> Iterator[list[Sandbox]]:
    """`count` sandboxes of `scale`, each in its own process, stopped on exit."""
    processes, sandboxes = [], []
    try:
        for _ in range(count):
            bp_port, nop_port = free_port(), free_port()
            processes.append(start_sandbox(bp_port, nop_port, scale=scale))
            sandboxes.append(Sandbox(bp_port, nop_port))
        yield sandboxes
    finally:
        for process in processes:
            process.terminate()
            process.wait(15)


def product_and_stock_calls(sandbox: Sandbox, instance: dg.DagsterInstance) -> dict:
    sandbox.control(sandbox.bp_root, "PUT", "/throttle", {"quota": 10**9, "window_seconds": 60})
    sandbox.clear_stats()
    result = dg.materialize([bp_assets.brightpearl_products, bp_assets.brightpearl_stock], resources=sandbox.resources(), instance=instance)
    assert result.success
    products = result.output_for_node("brightpearl__products")
    calls = sandbox.stats(sandbox.bp_root)["total"]
    tracked = int(products["stock_tracked"].sum())
    search_pages = math.ceil(len(products) / 500)
    minimum = search_pages + math.ceil(tracked / 200)
    issue_minimum = search_pages + math.ceil(len(products) / 200) + math.ceil(tracked / 200)
    return {
        "products": len(products), "stock_tracked": tracked, "calls": calls, "minimum": minimum,
        "ratio_to_minimum": round(calls / minimum, 3), "issue_formula_minimum": issue_minimum,
        "ratio_to_issue_formula_minimum": round(calls / issue_minimum, 3),
    }


def quota_use_at_the_cap(sandbox: Sandbox) -> dict:
    quota, window = 20, 2.0
    sandbox.control(sandbox.bp_root, "PUT", "/throttle", {"quota": quota, "window_seconds": window})
    sandbox.clear_stats()
    client = BrightpearlClient(sandbox.bp_base, app_ref=APP_REF, account_token=TOKEN, quota=quota, window_seconds=window, headroom=0.10)
    sent: list[float] = []
    original = client.session.request

    def timed(*args, **kwargs):
        sent.append(time.monotonic())
        return original(*args, **kwargs)

    client.session.request = timed
    rows = client.product_search(page_size=100)  # a large read: one request per 100 products
    elapsed = sent[-1] - sent[0]
    stats = sandbox.stats(sandbox.bp_root)
    complete_windows = int(elapsed // window)
    counts = [sum(1 for t in sent if sent[0] + k * window <= t < sent[0] + (k + 1) * window) for k in range(complete_windows)]
    per_window = sum(counts) / len(counts)
    allowed = math.floor(quota * 0.9)
    busiest = max(sum(1 for t in sent if start <= t < start + window) for start in sent)
    return {
        "quota": quota, "window_seconds": window, "headroom": 0.10, "requests": len(sent), "rows": len(rows),
        "elapsed_seconds": round(elapsed, 2), "requests_per_complete_window": counts, "requests_per_window": round(per_window, 2),
        "share_of_quota": round(per_window / quota, 3), "share_of_allowed_after_headroom": round(per_window / allowed, 3),
        "busiest_sliding_window": busiest, "sandbox_503s": stats["throttled"], "client_503s": client.throttled_count,
    }


def full_read(sandbox: Sandbox, instance: dg.DagsterInstance) -> dict:
    sandbox.control(sandbox.bp_root, "PUT", "/throttle", {"quota": 10**9, "window_seconds": 60})
    sandbox.clear_stats()
    resources = sandbox.resources()
    unpartitioned = [
        nop_assets.nopcommerce_customers, nop_assets.nopcommerce_products, nop_assets.nopcommerce_shipments,
        nop_assets.nopcommerce_return_requests, bp_assets.brightpearl_products, bp_assets.brightpearl_stock,
        bp_assets.brightpearl_contacts, bp_assets.brightpearl_goods_out_notes, bp_assets.brightpearl_customer_payments,
        bp_assets.brightpearl_sales_credits, bp_assets.brightpearl_reference_data,
    ]
    partitioned = [nop_assets.nopcommerce_orders, nop_assets.nopcommerce_payments, bp_assets.brightpearl_sales_orders]
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    started = time.monotonic()
    assert dg.materialize(unpartitioned, resources=resources, instance=instance, run_config=quiet).success
    today = datetime.now(UTC).date()
    orders = 0
    for offset in range(HISTORY_DAYS + 1, 0, -1):
        day = (today - timedelta(days=offset)).isoformat()
        result = dg.materialize(partitioned, resources=resources, instance=instance, partition_key=day, run_config=quiet)
        assert result.success
        orders += len(result.output_for_node("nopcommerce__payments"))
    wall = time.monotonic() - started
    nop = sandbox.stats(sandbox.nop_root)
    order_reads = sum(n for key, n in nop["requests"].items() if key.split(" ", 1)[1].startswith(("/Order/Search", "/OrderItem/", "/Address/")))
    return {
        "orders": orders, "wall_seconds": round(wall, 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "nopcommerce_order_reads": order_reads, "nopcommerce_reads_per_order": round(order_reads / orders, 3),
        "nopcommerce_requests_by_template": nop["requests"],
        "brightpearl_calls": sandbox.stats(sandbox.bp_root)["total"],
    }


def main() -> int:
    with running_sandboxes(1, "medium") as (sandbox,), tempfile.TemporaryDirectory() as home, \
            dg.instance_for_test(temp_dir=home) as instance:
        results = {
            "date": date.today().isoformat(),
            "products_with_stock": product_and_stock_calls(sandbox, instance),
            "quota_use_at_the_cap": quota_use_at_the_cap(sandbox),
            "full_read_medium_shop": full_read(sandbox, instance),
        }
    save_results("source_reads", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
