"""The production pieces are wired into the code location: freshness windows on the sync assets
(stock only where that asset exists), the alert sensors running by default, the dead-letter growth
check inside the order sync job, and the `alerts` resource off unless a webhook URL is set."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from bp_nop_dagster.defs.alerts.resources import alert_webhook_from_env
from bp_nop_dagster.definitions import defs
from bp_nop_dagster.freshness import FRESHNESS_WINDOWS, with_freshness_policies

ORDER_KEYS = ["brightpearl/contacts_from_nop", "brightpearl/sales_orders_from_nop", "brightpearl/payments_from_nop"]
STOCK_KEY = "nopcommerce/stock_from_brightpearl"


def test_sync_assets_carry_their_freshness_window():
    graph = defs().resolve_asset_graph()
    for key in ORDER_KEYS:
        assert graph.get(dg.AssetKey.from_user_string(key)).freshness_policy == dg.FreshnessPolicy.time_window(fail_window=timedelta(minutes=10))
    stock = dg.AssetKey.from_user_string(STOCK_KEY)
    if graph.has(stock):
        assert graph.get(stock).freshness_policy == dg.FreshnessPolicy.time_window(fail_window=timedelta(minutes=15))
    others = [key for key in graph.get_all_asset_keys() if key not in FRESHNESS_WINDOWS]
    assert others and all(graph.get(key).freshness_policy is None for key in others)


def test_freshness_applies_to_a_code_location_without_the_stock_asset():
    @dg.asset(key=["brightpearl", "sales_orders_from_nop"])
    def sales_orders(): ...

    graph = with_freshness_policies(dg.Definitions(assets=[sales_orders])).resolve_asset_graph()
    assert graph.get(dg.AssetKey.from_user_string(ORDER_KEYS[1])).freshness_policy is not None


def test_alert_sensors_run_by_default_and_the_growth_check_runs_with_the_sync():
    definitions = defs()
    for name in ("run_failure_alert", "freshness_alerts"):
        assert definitions.resolve_sensor_def(name).default_status == dg.DefaultSensorStatus.RUNNING
    job = definitions.resolve_job_def("order_sync_job")
    assert dg.AssetCheckKey(dg.AssetKey(["order_flow", "dead_letters"]), "dead_letters_not_growing") in job.asset_layer.asset_graph.asset_check_keys


def test_alerts_are_off_without_a_webhook_url(monkeypatch):
    monkeypatch.delenv("BP_NOP_ALERT_WEBHOOK_URL", raising=False)
    assert not alert_webhook_from_env().enabled
    monkeypatch.setenv("BP_NOP_ALERT_WEBHOOK_URL", "https://hooks.example/T/B/x")
    resource = alert_webhook_from_env()
    assert resource.webhook_url == dg.EnvVar("BP_NOP_ALERT_WEBHOOK_URL")
