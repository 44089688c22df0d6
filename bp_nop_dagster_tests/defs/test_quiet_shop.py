"""A quiet shop stays green: the order sensor's "in step" materializations keep the data version of
the last real run, so what is downstream (the dead-letter table) is not marked unsynced, and the
sync asset's check restates its last result for the new materialization instead of showing none.
What the UI shows is read the way the UI reads it (Dagster's stale-status resolver, the check
record's "targets the latest materialization")."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import dagster as dg
import pytest
import requests
from dagster._core.definitions.data_version import CachingStaleStatusResolver, StaleStatus
from dagster._core.loader import LoadingContextForTest

from bp_nop_dagster.brightpearl.resource import BrightpearlResource
from bp_nop_dagster.defs import sensor_support
from bp_nop_dagster.defs.orders.assets import NEEDS_REVIEW_CHECK, SALES_ORDERS, order_sync
from bp_nop_dagster.defs.orders.dead_letters import DEAD_LETTERS, dead_letters
from bp_nop_dagster.defs.orders.sensors import new_nopcommerce_orders
from bp_nop_dagster.defs.sync_settings import SyncSettings
from bp_nop_dagster.ledger.resource import LedgerResource
from bp_nop_dagster.nopcommerce.resource import NopCommerceResource
from bp_nop_dagster.sync.cursor import SensorCursor, utcnow

ADDRESS = {"address1": "1 Mill Road", "city": "Leeds", "zip_postal_code": "LS1 4AB", "country_iso2": "GB"}


@pytest.fixture
def resources(sandbox, tmp_path) -> dict:
    creds = sandbox.world.credentials
    return {
        "brightpearl": BrightpearlResource(base_url=sandbox.urls.brightpearl_base_url, app_ref=creds.brightpearl_app_ref,
                                           account_token=creds.brightpearl_account_token),
        "nopcommerce": NopCommerceResource(base_url=sandbox.urls.nopcommerce_base_url, email=creds.nopcommerce_email,
                                           password=creds.nopcommerce_password),
        "ledger": LedgerResource(url=f"sqlite:///{tmp_path / 'ledger.sqlite'}"),
        "sync_settings": SyncSettings(),
    }


def ui_view(instance, defs: dg.Definitions) -> tuple[StaleStatus, bool]:
    """(the dead-letter table's sync status, whether the review check has a result for the latest materialization)."""
    stale = CachingStaleStatusResolver(instance, defs.resolve_asset_graph(), LoadingContextForTest(instance)).get_status(DEAD_LETTERS)
    key = dg.AssetCheckKey(SALES_ORDERS, NEEDS_REVIEW_CHECK)
    record = instance.event_log_storage.get_latest_asset_check_execution_by_key([key])[key]
    return stale, asyncio.run(record.targets_latest_materialization(LoadingContextForTest(instance)))


def test_in_step_ticks_keep_the_graph_in_sync_and_the_checks_answered(sandbox, resources, monkeypatch):
    defs = dg.Definitions(assets=[order_sync, dead_letters], sensors=[new_nopcommerce_orders], resources=resources)
    cursor = SensorCursor(watermark=utcnow() - timedelta(seconds=1)).dumps()
    with dg.instance_for_test() as instance:
        body = {"email": "quiet@shop.test", "first_name": "Q", "last_name": "Shop", "address": ADDRESS,
                "items": [{"sku": "BPN-00001", "quantity": 1}], "payment_method_system_name": "Payments.Manual", "paid": True}
        requests.post(f"{sandbox.urls.nopcommerce_root}/__sandbox__/orders", json=body, timeout=10).raise_for_status()
        with dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources, definitions=defs) as context:
            assert isinstance(new_nopcommerce_orders(context), dg.RunRequest)
        dg.materialize([order_sync, dead_letters], resources=resources, instance=instance)
        assert ui_view(instance, defs) == (StaleStatus.FRESH, True)
        last = instance.get_latest_materialization_event(SALES_ORDERS)

        monkeypatch.setattr(sensor_support, "IN_STEP_EVERY", timedelta(0))  # the 5-minute spacing is not under test here
        with dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources, definitions=defs) as context:
            result = new_nopcommerce_orders(context)
        assert isinstance(result, dg.SensorResult)
        checks = [e for e in result.asset_events if isinstance(e, dg.AssetCheckEvaluation)]
        assert [(c.asset_key, c.check_name, c.passed) for c in checks] == [(SALES_ORDERS, NEEDS_REVIEW_CHECK, True)]
        for event in result.asset_events:  # what the daemon does with a sensor's asset events
            instance.report_runless_asset_event(event)

        newest = instance.get_latest_materialization_event(SALES_ORDERS)
        assert newest.run_id != last.run_id and "in_step" in newest.asset_materialization.metadata  # a new "in step" event
        assert newest.tags["dagster/data_version"] == last.tags["dagster/data_version"]
        assert ui_view(instance, defs) == (StaleStatus.FRESH, True)
