"""Sandbox throughput: requests per second the Brightpearl simulator serves on one core.

The sandbox runs in its own process pinned to CPU 0 (medium shop: 5,000 products, throttle
lifted); the load comes from this process pinned to CPU 1, over keep-alive connections. Two
request kinds, each measured for a fixed number of requests:

- an ID-set GET of 200 products: `GET /product-service/product/{200 ids}` (target >= 500 req/s);
- one product-search page of 500 rows: `GET /product-service/product-search?pageSize=500`.

Run: `make bench` or `.venv/bin/python -m bench.sandbox_throughput [--requests 2000]`.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests

RESULTS = Path(__file__).parent / "results"


def save_results(name: str, results: dict) -> None:
    """Write `bench/results/<name>.json` and print it."""
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_sandbox(bp_port: int, nop_port: int, scale: str = "medium") -> subprocess.Popen:
    def pin_to_core_zero() -> None:
        os.sched_setaffinity(0, {0})

    process = subprocess.Popen(
        [sys.executable, "-m", "bp_nop_dagster.cli", "sandbox", "--scale", scale,
         "--brightpearl-port", str(bp_port), "--nopcommerce-port", str(nop_port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, preexec_fn=pin_to_core_zero,
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{bp_port}/__sandbox__/stats", timeout=1).raise_for_status()
            # Read its log from now on in the background, so a full pipe never blocks the server.
            threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()
            return process
        except requests.RequestException:
            if process.poll() is not None:
                raise RuntimeError(f"sandbox exited: {process.stdout.read()}")
            time.sleep(0.5)
    process.kill()
    raise RuntimeError("sandbox did not start within 180 s")


def measure(host: str, port: int, path: str, headers: dict[str, str], total: int, connections: int) -> dict:
    """Send `total` GETs of `path` over `connections` keep-alive connections; requests/s."""
    per_connection = total // connections
    errors: list[str] = []
    body_bytes = [0]

    def worker() -> None:
        conn = http.client.HTTPConnection(host, port, timeout=30)
        for _ in range(per_connection):
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            body = response.read()
            if response.status != 200:
                errors.append(f"{response.status} {body[:200]!r}")
            body_bytes[0] = len(body)
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    sent = per_connection * connections
    return {"requests": sent, "seconds": round(elapsed, 3), "requests_per_second": round(sent / elapsed, 1),
            "errors": len(errors), "first_error": errors[0] if errors else None, "response_bytes": body_bytes[0]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=4)
    args = parser.parse_args()
    os.sched_setaffinity(0, {1})
    bp_port, nop_port = free_port(), free_port()
    process = start_sandbox(bp_port, nop_port)
    try:
        root = f"http://127.0.0.1:{bp_port}"
        requests.put(f"{root}/__sandbox__/throttle", json={"quota": 10**9, "window_seconds": 60}, timeout=10).raise_for_status()
        headers = {"brightpearl-app-ref": "sandbox_bpnop", "brightpearl-account-token": "sandbox-token"}
        base = "/public-api/sandbox"
        search = requests.get(f"{root}{base}/product-service/product-search", params={"pageSize": 500, "columns": "productId"},
                              headers=headers, timeout=30).json()["response"]["results"]
        ids = sorted(row[0] for row in search)[:200]
        id_set = ",".join(str(i) for i in ids)
        host = urlsplit(root).hostname
        results = {
            "id_set_get_200_products": measure(host, bp_port, f"{base}/product-service/product/{id_set}", headers, args.requests, args.connections),
            "search_page_500_rows": measure(host, bp_port, f"{base}/product-service/product-search?pageSize=500", headers, args.requests // 2, args.connections),
        }
        results["target_id_set_get_rps"] = 500
        results["id_set_get_meets_target"] = results["id_set_get_200_products"]["requests_per_second"] >= 500
        save_results("sandbox_throughput", results)
        return 0 if not any(r["errors"] for r in results.values() if isinstance(r, dict)) else 1
    finally:
        process.terminate()
        process.wait(15)


if __name__ == "__main__":
    sys.exit(main())
