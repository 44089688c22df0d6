"""The stock flow end to end through Dagster against the sandbox: sensor -> run -> value in
nopCommerce, the checkout race, multi-warehouse mapping, faults and token expiry on the
nopCommerce side, and a drift report with nothing unexplained afterwards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
import requests

from bp_nop_dagster.brightpearl.resource import BrightpearlResource
from bp_nop_dagster.defs.reconciliation.stock_drift import stock_drift
from bp_nop_dagster.defs.stock.assets import STOCK, stock_from_brightpearl
from bp_nop_dagster.defs.sync_settings import SyncSettings
from bp_nop_dagster.defs.stock.sensors import brightpearl_stock_changes
from bp_nop_dagster.ledger.resource import LedgerResource
from bp_nop_dagster.nopcommerce.client import NopCommerceClient
from bp_nop_dagster.nopcommerce.resource import NopCommerceResource
from bp_nop_dagster.sync.cursor import SensorCursor
from bp_nop_dagster.sync.stock import RETRY, StockCursor
from bp_nop_dagster_tests.stock_oracle import sellable_targets
from bp_nop_dagster_tests.stock_actions import check_out, move_stock

COUNTED = (1, 3)


class StockFlow:
    def __init__(self, sandbox, tmp_path) -> None:
        creds = sandbox.world.credentials
        self.world = sandbox.world
        self.bp_root, self.nop_root = sandbox.urls.brightpearl_root, sandbox.urls.nopcommerce_root
        self.reports = tmp_path / "reports"
        self.resources = {
            "brightpearl": BrightpearlResource(base_url=sandbox.urls.brightpearl_base_url, app_ref=creds.brightpearl_app_ref,
                                               account_token=creds.brightpearl_account_token),
            "nopcommerce": NopCommerceResource(base_url=sandbox.urls.nopcommerce_base_url, email=creds.nopcommerce_email,
                                               password=creds.nopcommerce_password),
            "ledger": LedgerResource(url=f"sqlite:///{tmp_path / 'ledger.sqlite'}"),
            "sync_settings": SyncSettings(),
        }
        start = SensorCursor(watermark=datetime.now(UTC) - timedelta(seconds=1))
        self.cursor = StockCursor(movements=start, orders=start).dumps()

    def move(self, sku: str, warehouse_id: int, quantity: int) -> int:
        return move_stock(self.bp_root, sku, warehouse_id, quantity)

    def order(self, sku: str, quantity: int) -> dict:
        return check_out(self.nop_root, sku, quantity)

    def tick(self, instance) -> dg.RunRequest | dg.SensorResult | dg.SkipReason:
        with dg.build_sensor_context(instance=instance, cursor=self.cursor, resources=self.resources) as context:
            result = brightpearl_stock_changes(context)
            self.cursor = context.cursor
        return result

    def sync_moved(self, instance) -> dg.MaterializeResult:
        """One sensor tick, then the run it asks for (with its run config)."""
        request = self.tick(instance)
        assert isinstance(request, dg.RunRequest), request
        result = dg.materialize([stock_from_brightpearl], resources=self.resources, instance=instance, run_config=request.run_config)
        assert result.success
        return result.asset_materializations_for_node("nopcommerce__stock_from_brightpearl")[0].metadata

    def full_reconcile(self, instance):
        return dg.materialize([stock_from_brightpearl, stock_drift], resources=self.resources, instance=instance)

    def faults(self, root: str, *rules: dict) -> None:
        requests.put(f"{root}/__sandbox__/faults", json={"rules": list(rules), "seed": 5}, timeout=10).raise_for_status()

    def expected_sellable(self, sku: str, between: tuple[datetime, datetime]) -> set[int]:
        """The target from the documented rule (bp_nop_dagster_tests/stock_oracle.py), for a run
        whose clock read a time in `between`: never the engine's own in-flight figure."""
        product = self.world.nopcommerce.product_by_sku(sku)
        return sellable_targets(self.world, self.resources["ledger"].get_ledger(), product["id"], self.on_hand(sku), between)

    def sellable_in_nop(self, sku: str) -> int:
        product = self.world.nopcommerce.product_by_sku(sku)
        return self.world.nopcommerce.total_stock_quantity(product["id"])

    def on_hand(self, sku: str) -> int:
        pid = self.world.brightpearl.sku_to_product_id()[sku]
        return sum(self.world.brightpearl.on_hand(pid, w) for w in COUNTED)

    def skus(self, *, multi: bool, count: int) -> list[str]:
        tracked = {p.sku for p in self.world.brightpearl.products.values() if p.stock_tracked}
        return sorted(p["sku"] for p in self.world.nopcommerce.products.values()
                      if p["sku"] in tracked and p["manage_inventory_method_id"] == 1 and p["use_multiple_warehouses"] == multi
                      and p["sku"] != "BPN-00011")[:count]

    def drift(self, instance) -> dict:
        result = dg.materialize([stock_drift], resources=self.resources, instance=instance)
        return result.asset_materializations_for_node("reconciliation__stock_drift")[0].metadata


@pytest.fixture
def flow(sandbox, tmp_path, monkeypatch) -> StockFlow:
    monkeypatch.setenv("BP_NOP_REPORTS_DIR", str(tmp_path / "reports"))
    return StockFlow(sandbox, tmp_path)


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


def test_stock_moved_in_brightpearl_reaches_nopcommerce_through_the_sensor(flow, instance):
    flow.full_reconcile(instance)
    assert not isinstance(flow.tick(instance), dg.RunRequest)
    one, two = flow.skus(multi=False, count=2)
    flow.move(one, 1, 6)
    flow.move(two, 3, 2)
    request = flow.tick(instance)
    ledger = flow.resources["ledger"].get_ledger()
    assert sorted(request.run_config["ops"]["nopcommerce__stock_from_brightpearl"]["config"]["product_ids"]) == sorted(
        ledger.bp_ids("product", [one, two]).values())
    before = datetime.now(UTC)
    result = dg.materialize([stock_from_brightpearl], resources=flow.resources, instance=instance, run_config=request.run_config)
    after = datetime.now(UTC)
    metadata = result.asset_materializations_for_node("nopcommerce__stock_from_brightpearl")[0].metadata
    assert metadata["written"].value == 2 and metadata["checked"].value == 2
    assert metadata["brightpearl_calls"].value == 2  # one stock-tracked search, one availability GET for both
    for sku in (one, two):
        row = next(r for r in flow_rows(flow, instance) if r["sku"] == sku)
        assert flow.sellable_in_nop(sku) == row["target"] and row["target"] in flow.expected_sellable(sku, (before, after))
    assert not isinstance(flow.tick(instance), dg.RunRequest)  # each movement handed on once
    assert flow.drift(instance)["unexplained_differences"].value == 0


def test_orders_entered_in_brightpearl_on_other_channels_reach_nopcommerce_through_the_sensor(flow, instance):
    """A new sales order allocates the available stock and reduces on hand without a goods
    movement (help 211131266 "Understanding Inventory Levels"), so a marketplace order must reach
    nopCommerce at the next sensor tick, not at the nightly reconcile. A phone order is entered by
    hand and not allocated on create (help 211131506); its later allocation does (the reservation
    modifies the order: found by its updatedOn)."""
    market, phone = flow.skus(multi=False, count=2)
    for sku in (market, phone):
        flow.move(sku, 1, 5)  # stock in the orders' warehouse
    flow.full_reconcile(instance)
    flow.tick(instance)  # hands on the movements above
    assert not isinstance(flow.tick(instance), dg.RunRequest)
    before = flow.on_hand(market)
    order = requests.post(f"{flow.bp_root}/__sandbox__/orders", json={"channel_id": 3, "warehouse_id": 1,
                                                                      "rows": [{"sku": market, "quantity": 2}]}, timeout=10).json()
    assert order["allocation_status"] == "AAA" and flow.on_hand(market) == before - 2
    ledger = flow.resources["ledger"].get_ledger()
    request = flow.tick(instance)
    assert isinstance(request, dg.RunRequest), request
    product_ids = request.run_config["ops"]["nopcommerce__stock_from_brightpearl"]["config"]["product_ids"]
    assert product_ids == [ledger.bp_id("product", market)]
    before = datetime.now(UTC)
    assert dg.materialize([stock_from_brightpearl], resources=flow.resources, instance=instance, run_config=request.run_config).success
    after = datetime.now(UTC)
    row = next(r for r in flow_rows(flow, instance) if r["sku"] == market)
    assert flow.sellable_in_nop(market) == row["target"] and row["target"] in flow.expected_sellable(market, (before, after))
    assert not isinstance(flow.tick(instance), dg.RunRequest)  # each order handed on once
    phone_order = requests.post(f"{flow.bp_root}/__sandbox__/orders", json={"channel_id": 2, "warehouse_id": 1,
                                                                            "rows": [{"sku": phone, "quantity": 1}]}, timeout=10).json()
    assert phone_order["allocation_status"] == "ANA"
    flow.tick(instance)  # the new phone order: on hand unchanged, its product pushed (in step)
    backend = flow.world.brightpearl
    (row_id,) = backend.orders[phone_order["order_id"]].rows
    product_id = backend.sku_to_product_id()[phone]
    headers = {"brightpearl-app-ref": backend.credentials.brightpearl_app_ref,
               "brightpearl-account-token": backend.credentials.brightpearl_account_token}
    requests.post(f"{flow.bp_root}/public-api/{backend.credentials.brightpearl_account_code}/warehouse-service/order/"
                  f"{phone_order['order_id']}/reservation/warehouse/1",
                  json={"products": [{"productId": product_id, "salesOrderRowId": row_id, "quantity": 1}]},
                  headers=headers, timeout=10).raise_for_status()
    request = flow.tick(instance)
    assert isinstance(request, dg.RunRequest), request
    assert request.run_config["ops"]["nopcommerce__stock_from_brightpearl"]["config"]["product_ids"] == [product_id]


def test_an_idle_stock_sensor_reports_the_asset_in_step_at_most_every_five_minutes(flow, instance):
    result = flow.tick(instance)
    assert result.skip_reason and [e.asset_key for e in result.asset_events] == [STOCK]
    instance.report_runless_asset_event(result.asset_events[0])
    assert flow.tick(instance).asset_events == []  # reported less than 5 minutes ago


def test_a_failed_push_is_retried_after_the_backoff_and_nothing_is_called_in_step_meanwhile(flow, instance):
    sku = flow.skus(multi=False, count=1)[0]
    product_id = flow.move(sku, 1, 4)
    request = flow.tick(instance)
    flow.faults(flow.bp_root, {"path": "/warehouse-service/product-availability/*", "error_rate": 1.0, "error_status": 400})
    failed = dg.materialize([stock_from_brightpearl], resources=flow.resources, instance=instance, raise_on_error=False,
                            run_config=request.run_config)
    assert not failed.success
    ledger = flow.resources["ledger"].get_ledger()
    assert ledger.unsettled(RETRY) == [str(product_id)] and ledger.waiting(RETRY) == 1
    waiting = flow.tick(instance)
    assert isinstance(waiting, dg.SkipReason) and "retry" in waiting.skip_message  # within the backoff, not "in step"
    flow.faults(flow.bp_root)
    # Its backoff is over (waited out with a fake clock in sync/test_fate.py, not here on the real one).
    ledger.requeue(RETRY, [str(product_id)])
    retry = flow.tick(instance)
    assert retry.run_config["ops"]["nopcommerce__stock_from_brightpearl"]["config"]["product_ids"] == [product_id]
    assert retry.tags["bp_nop/retried_products"] == "1"
    before = datetime.now(UTC)
    result = dg.materialize([stock_from_brightpearl], resources=flow.resources, instance=instance, run_config=retry.run_config)
    after = datetime.now(UTC)
    assert result.success and ledger.pending(RETRY) == []
    assert flow.sellable_in_nop(sku) in flow.expected_sellable(sku, (before, after))
    assert flow.tick(instance).skip_reason  # in step again


def test_a_value_nopcommerce_refuses_is_dead_lettered_while_the_others_land(flow, instance):
    """The one fate rule (sync/fate.py): a 4xx refusal is permanent, so the product goes to the
    dead-letter queue (validation_error, the server's code) instead of being retried."""
    one, two = flow.skus(multi=False, count=2)
    bad = flow.move(one, 1, 3)
    flow.move(two, 1, 3)
    bad_nop_id = flow.world.nopcommerce.product_by_sku(one)["id"]
    flow.faults(flow.nop_root, {"path": f"/Product/GetById/{bad_nop_id}", "error_rate": 1.0, "error_status": 400})
    metadata = flow.sync_moved(instance)
    assert metadata["failed"].value == 1 and metadata["written"].value == 1
    ledger = flow.resources["ledger"].get_ledger()
    (letter,) = ledger.dead_letters()
    assert (letter.kind, letter.nop_key, letter.reason, letter.error_code) == (RETRY, str(bad), "validation_error", "400")
    assert ledger.unsettled(RETRY) == []


def flow_rows(flow: StockFlow, instance) -> list[dict]:
    result = dg.materialize([stock_drift], resources=flow.resources, instance=instance)
    return result.output_for_node("reconciliation__stock_drift").to_dict("records")


def test_an_order_placed_between_the_brightpearl_read_and_the_write_keeps_its_stock(flow, instance, monkeypatch):
    (sku,) = flow.skus(multi=False, count=1)
    flow.full_reconcile(instance)
    flow.move(sku, 1, 12)
    real_update = NopCommerceClient.update_product_stock
    placed: list[dict] = []

    def checkout_first(client, *args, **kwargs):
        if not placed:
            placed.append(flow.order(sku, 4))
        return real_update(client, *args, **kwargs)

    monkeypatch.setattr(NopCommerceClient, "update_product_stock", checkout_first)
    before = datetime.now(UTC)
    metadata = flow.sync_moved(instance)
    after = datetime.now(UTC)
    monkeypatch.undo()
    assert placed and metadata["written"].value == 1 and metadata["moved_during_sync"].value == 0
    (row,) = [r for r in flow_rows(flow, instance) if r["sku"] == sku]
    assert row["verdict"] == "in_sync" and row["in_flight"] >= 4
    assert flow.sellable_in_nop(sku) in flow.expected_sellable(sku, (before, after))


def test_multi_warehouse_products_get_each_mapped_warehouse_share(flow, instance):
    (sku,) = flow.skus(multi=True, count=1)
    flow.full_reconcile(instance)
    flow.move(sku, 3, 9)  # Brightpearl 3PL Leeds -> nopCommerce warehouse 2
    flow.move(sku, 2, 50)  # the Outlet store is not counted
    flow.sync_moved(instance)
    product = flow.world.nopcommerce.product_by_sku(sku)
    records = {r["warehouse_id"]: r["stock_quantity"] - r["reserved_quantity"] for r in flow.world.nopcommerce.warehouse_records(product["id"])}
    bp_id = flow.world.brightpearl.sku_to_product_id()[sku]
    rows = {r["nop_warehouse_id"]: r for r in flow_rows(flow, instance) if r["sku"] == sku}
    in_flight = rows[1]["in_flight"]
    assert sum(records.values()) == max(0, flow.on_hand(sku) - in_flight)
    assert records[2] <= flow.world.brightpearl.on_hand(bp_id, 3) and records[1] <= flow.world.brightpearl.on_hand(bp_id, 1)
    if in_flight == 0:
        assert records == {1: flow.world.brightpearl.on_hand(bp_id, 1), 2: flow.world.brightpearl.on_hand(bp_id, 3)}
    assert {r["verdict"] for r in rows.values()} == {"in_sync"}


def test_faults_and_token_expiry_on_nopcommerce_write_no_stale_value(flow, instance, monkeypatch):
    flow.full_reconcile(instance)
    skus = flow.skus(multi=False, count=6)
    for sku in skus:
        flow.move(sku, 1, 5)
    flow.faults(
        flow.nop_root,
        {"method": "PUT", "path": "*", "error_rate": 0.25, "error_status": 503},
        {"method": "PUT", "path": "*", "drop_reply_rate": 0.25, "drop_reply_mode": "502"},
        {"method": "GET", "path": "/Product/*", "error_rate": 0.15, "error_status": 500},
    )
    requests.put(f"{flow.nop_root}/__sandbox__/token-lifetime", json={"seconds": 2}, timeout=10).raise_for_status()
    real_update = NopCommerceClient.update_product_stock
    placed: list[dict] = []

    def checkout_during_faults(client, *args, **kwargs):
        if not placed:
            placed.append(flow.order(skus[0], 2))
        return real_update(client, *args, **kwargs)

    monkeypatch.setattr(NopCommerceClient, "update_product_stock", checkout_during_faults)
    before = datetime.now(UTC)
    metadata = flow.sync_moved(instance)
    after = datetime.now(UTC)
    monkeypatch.undo()
    flow.faults(flow.nop_root)
    injected = requests.get(f"{flow.nop_root}/__sandbox__/faults", timeout=10).json()["injected"]
    assert sum(injected.values()) > 0
    assert metadata["written"].value == len(skus) and metadata["failed"].value == 0
    rows = {r["sku"]: r for r in flow_rows(flow, instance)}
    for sku in skus:
        assert flow.sellable_in_nop(sku) in flow.expected_sellable(sku, (before, after))
    assert rows[skus[0]]["in_flight"] >= 2
    assert flow.drift(instance)["unexplained_differences"].value == 0


def test_the_nightly_reconcile_leaves_no_unexplained_difference(flow, instance):
    before = flow.drift(instance)
    assert before["unexplained_differences"].value > 0  # the seeded shop has drifted
    result = flow.full_reconcile(instance)
    check = next(e for e in result.get_asset_check_evaluations() if e.asset_key == STOCK)
    assert check.passed
    after = result.asset_materializations_for_node("reconciliation__stock_drift")[0].metadata
    assert after["unexplained_differences"].value == 0
    assert after["nop_only"].value > 0 and after["brightpearl_only"].value > 0
    assert list(flow.reports.glob("stock_drift_*.csv"))
