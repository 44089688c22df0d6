"""The Dagster UI as an analyst uses it, in a real browser (Debian's headless Chromium driven by
Playwright; no browser download): `bp-nop demo --ui` as a newcomer starts it; the global lineage
shows one graph from the shop to Brightpearl and the reports; on `reconciliation/order_sync` the
analyst launches a materialization of a day and sees the new figures; the payments report names a
refund booked in Brightpearl only; the same report run from the command line (with the demo's
`demo.env`) agrees with the one run from the UI. Screenshots land in the test's temporary folder
(`screenshots/`; docs/screenshots/ holds a set taken this way).

Under CI=true the browser must be there (`make browser` installs it); elsewhere the test skips
without it, saying why."""

from __future__ import annotations

import csv
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
import requests

from bp_nop_dagster_tests.test_demo import demo_command, free_port

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
BP_HEADERS = {"brightpearl-app-ref": "sandbox_bpnop", "brightpearl-account-token": "sandbox-token"}  # the sandbox's documented ones
DISPATCHED = 8  # the sandbox account's "Dispatched" order status (GET /order-service/order-status)

pytestmark = pytest.mark.slow


def _browser_or_skip():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed: `make browser` installs Debian's package")
        pytest.skip("chromium is not installed (apt-get install chromium, or `make browser` as root)")
    from playwright.sync_api import sync_playwright

    return sync_playwright


class Demo:
    """`bp-nop demo --ui` in its own process group, and what it printed."""

    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.home = tmp_path / "home"
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp_path / "demo.log"
        self.process = subprocess.Popen(demo_command(tmp_path, "--ui", "--ui-port", str(self.port)), stdout=self.log.open("w"),
                                        stderr=subprocess.STDOUT, cwd=tmp_path, start_new_session=True)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            try:
                if requests.get(f"{self.url}/server_info", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(1)
        raise AssertionError("the UI did not come up: " + self.log.read_text()[-3000:])

    def printed(self, pattern: str) -> str:
        match = re.search(pattern, self.log.read_text())
        assert match, pattern
        return match.group(1)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


def report_rows(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def materializations(home: Path, key: dg.AssetKey, day: str) -> list:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        return instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=key, asset_partitions=[day]), limit=10).records


def wait_for_new_materialization(home: Path, key: dg.AssetKey, day: str, known: int) -> object:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        records = materializations(home, key, day)
        if len(records) > known:
            return records[0]
        time.sleep(0.5)
    raise AssertionError(f"no new materialization of {key.to_user_string()} {day}")


def open_page(page, url: str, *shows: str, first_visit: bool = False) -> str:
    """Go to `url`, dismiss Dagster's "join the community" dialog, and return the page's text
    once it `shows` each string (polled, up to 60 s; the caller's asserts then name what is
    missing). The dialog opens on the first visit as the page settles (seen within 0.1 s of
    `networkidle`), so that visit waits for it (up to 10 s); later pages are checked at once.
    No fixed pause: each page took 2 s more, and 1 s after the dialog."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.goto(url, wait_until="networkidle")
    skip = page.get_by_role("button", name="Skip")
    if first_visit:
        try:
            skip.first.wait_for(timeout=10_000)
        except PlaywrightTimeout:
            pass  # no dialog this time: nothing to dismiss
    if skip.count():
        skip.first.click()
        skip.first.wait_for(state="hidden")
    deadline = time.monotonic() + 60
    text = page.inner_text("body")
    while not all(s in text for s in shows) and time.monotonic() < deadline:
        time.sleep(0.2)
        text = page.inner_text("body")
    return text


def launch_from_the_asset_page(page, demo: Demo, asset: str, day: str) -> None:
    """Materialize… on the asset's page, type the day into the partition selection, Launch 1 run."""
    open_page(page, f"{demo.url}/assets/{asset}")
    page.get_by_role("button", name="Materialize…").first.click()
    dialog = page.locator("[role=dialog]").first
    box = dialog.get_by_placeholder("No matching partitions")
    box.click()
    box.fill(day)
    box.press("Enter")
    dialog.get_by_role("button", name="Launch 1 run").click()


def test_an_analyst_reads_the_lineage_materializes_a_report_and_sees_the_new_figures(tmp_path):
    sync_playwright = _browser_or_skip()
    demo = Demo(tmp_path)
    try:
        demo.wait_ready()
        day = demo.printed(r"nopCommerce orders of ([\d-]+) queued")
        bp_base = demo.printed(r"Brightpearl simulator\s+(\S+)")
        [order] = [r for r in report_rows(demo.home / "reports" / f"order_sync_{day}.csv") if r["verdict"] == "synced"][:1]
        bp_order = order["brightpearl_order_id"]
        # Brightpearl moves on after the demo's first report: the order is dispatched, a refund is paid out there
        requests.put(f"{bp_base}/order-service/order/{bp_order}/status", json={"orderStatusId": DISPATCHED},
                     headers=BP_HEADERS, timeout=10).raise_for_status()
        refund = {"transactionRef": "UI-REFUND-1", "paymentMethodCode": "CARD", "paymentType": "PAYMENT", "orderId": int(bp_order),
                  "currencyIsoCode": "GBP", "amountPaid": "5.00", "paymentDate": day}
        requests.post(f"{bp_base}/accounting-service/customer-payment", json=refund, headers=BP_HEADERS, timeout=10).raise_for_status()
        shots = tmp_path / "screenshots"
        shots.mkdir()
        order_sync_key, payments_key = dg.AssetKey(["reconciliation", "order_sync"]), dg.AssetKey(["reconciliation", "payments"])

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            page = browser.new_page(viewport={"width": 2000, "height": 1100})

            groups = ("nopcommerce", "order_flow", "brightpearl", "reconciliation", "stock_flow")
            # the left navigation's "Lineage"
            text = open_page(page, f"{demo.url}/asset-groups", "Global asset lineage", *groups, first_visit=True)
            assert "Global asset lineage" in text
            assert all(group in text for group in groups)
            page.screenshot(path=str(shots / "lineage-global.png"))
            nodes = ("orders", "sales_or", "sales_orders", "order_sync", "payments", "month_end")
            lineage = f"{demo.url}/assets/reconciliation/month_end?view=lineage&lineageScope=upstream&lineageDepth=5"
            text = open_page(page, lineage, *nodes)
            for node in nodes:
                assert node in text, node
            page.screenshot(path=str(shots / "lineage-orders-to-month-end.png"))

            known = len(materializations(demo.home, order_sync_key, day))
            launch_from_the_asset_page(page, demo, "reconciliation/order_sync", day)
            ui_run = wait_for_new_materialization(demo.home, order_sync_key, day, known)
            text = open_page(page, f"{demo.url}/assets/reconciliation/order_sync?view=events&partition={day}", "Dispatched",
                             ui_run.run_id[:8])
            assert "Dispatched" in text and ui_run.run_id[:8] in text  # the new figures, from the new run
            page.screenshot(path=str(shots / "order-sync-report.png"))

            known = len(materializations(demo.home, payments_key, day))
            launch_from_the_asset_page(page, demo, "reconciliation/payments", day)
            wait_for_new_materialization(demo.home, payments_key, day, known)
            text = open_page(page, f"{demo.url}/assets/reconciliation/payments?view=events&partition={day}",
                             "refund_only_in_brightpearl", "UI-REFUND-1")
            assert "refund_only_in_brightpearl" in text and "UI-REFUND-1" in text
            page.screenshot(path=str(shots / "payments-report.png"))
            browser.close()

        ui_rows = report_rows(demo.home / "reports" / f"order_sync_{day}.csv")
        env = {**os.environ}
        for line in (demo.home / "demo.env").read_text().splitlines():
            if line.startswith("export "):
                name, value = line[len("export "):].split("=", 1)
                env[name] = value.strip("'")
        cli = subprocess.run([str(Path(sys.executable).parent / "dagster"), "asset", "materialize", "-m", "bp_nop_dagster.definitions",
                              "--select", "reconciliation/order_sync", "--partition", day],
                             env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert cli.returncode == 0, cli.stdout[-3000:] + cli.stderr[-3000:]
        ui_meta, cli_meta = (r.event_log_entry.asset_materialization.metadata for r in materializations(demo.home, order_sync_key, day)[1::-1])
        for meta in (ui_meta, cli_meta):  # both read the demo's ledger and its instance
            assert str(demo.home / "demo-ledger.sqlite") in meta["inputs"].value.replace("\\", "")
        for name in ("orders", "unexplained_differences", "inputs_disagree", "verdict/synced", "verdict/missing"):
            assert ui_meta[name].value == cli_meta[name].value, name  # the command line and the UI agree
        assert report_rows(demo.home / "reports" / f"order_sync_{day}.csv") == ui_rows
    finally:
        demo.stop()
