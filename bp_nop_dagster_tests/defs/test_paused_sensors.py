"""Every sync sensor and sweep honours the one outage pause (sync/fate.py, README "Failed records").

Rule: while Brightpearl is paused after an outage that any flow found (here the fulfilment flow),
no sensor or sweep of any flow asks for a run, and none reads either system (a read of a system
that is down would only retry; the cursors stay, so what changed is found after the pause). The
sandbox counts every request it serves: the count must not move while the sensors tick."""

from __future__ import annotations

import json
from datetime import timedelta

import dagster as dg
import requests

from bp_nop_dagster.brightpearl.resource import BrightpearlResource
from bp_nop_dagster.definitions import defs
from bp_nop_dagster.defs.sync_settings import SyncSettings
from bp_nop_dagster.ledger.resource import LedgerResource
from bp_nop_dagster.nopcommerce.resource import NopCommerceResource
from bp_nop_dagster.sync.cursor import utcnow
from bp_nop_dagster.sync.fate import BRIGHTPEARL, pause_name

ALERT_SENSORS = {"run_failure_alert", "freshness_alerts"}  # they call neither system and start no run
SWEEPS = ("orders_catch_up_sweep", "customer_address_sweep", "fulfilment_catch_up_sweep")


def served(root: str) -> int:
    return sum(requests.get(f"{root}/__sandbox__/stats", timeout=10).json()["requests"].values())


def test_no_sensor_or_sweep_reads_or_asks_for_a_run_while_brightpearl_is_paused(sandbox, tmp_path):
    creds = sandbox.world.credentials
    ledger = LedgerResource(url=f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    resources = {
        "brightpearl": BrightpearlResource(base_url=sandbox.urls.brightpearl_base_url, app_ref=creds.brightpearl_app_ref,
                                           account_token=creds.brightpearl_account_token),
        "nopcommerce": NopCommerceResource(base_url=sandbox.urls.nopcommerce_base_url, email=creds.nopcommerce_email,
                                           password=creds.nopcommerce_password),
        "ledger": ledger,
        "sync_settings": SyncSettings(),
    }
    book = ledger.get_ledger()
    book.enqueue("order", ["1"])  # work is due: only the pause keeps the runs back
    until = utcnow() + timedelta(minutes=5)
    book.set_watermark(pause_name(BRIGHTPEARL), json.dumps({"until": until.isoformat(), "outages": 1, "found_by": "fulfilment"}))
    definitions = defs()
    sensors = [s for s in definitions.sensors if s.name not in ALERT_SENSORS]
    assert len(sensors) >= 9  # orders, fulfilment (2), stock, catalogue, customers (2), refunds, webhooks
    roots = (sandbox.urls.brightpearl_root, sandbox.urls.nopcommerce_root)
    before = [served(root) for root in roots]
    with dg.instance_for_test() as instance:
        for sensor in sensors:
            with dg.build_sensor_context(instance=instance, resources=resources, definitions=definitions) as context:
                result = sensor(context)
            requested = result.run_requests if isinstance(result, dg.SensorResult) else [result] if isinstance(result, dg.RunRequest) else []
            assert requested == [], sensor.name
        for name in SWEEPS:
            schedule = definitions.resolve_schedule_def(name)
            with dg.build_schedule_context(instance=instance, resources=resources) as context:
                result = schedule(context)
            assert isinstance(result, dg.SkipReason) and "paused after an outage of Brightpearl" in result.skip_message, name
    assert [served(root) for root in roots] == before
