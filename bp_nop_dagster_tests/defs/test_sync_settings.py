"""One settings resource for every flow (issue 12, F): the mapping is read and checked once per
run, not once per flow resource, and every sync step and sensor that needs it uses the same one."""

from __future__ import annotations

import dagster as dg
import pytest
import yaml

from bp_nop_dagster.brightpearl.client import BrightpearlClient
from bp_nop_dagster.definitions import defs
from bp_nop_dagster.defs import sync_settings as module
from bp_nop_dagster.defs.sync_settings import FLOW_CHECKS, SyncSettings
from bp_nop_dagster.mapping.config import DEFAULT_MAPPING_FILE, MappingConfigError

FLOW_ASSETS = ("brightpearl/sales_orders_from_nop", "nopcommerce/stock_from_brightpearl",
               "nopcommerce/shipments_from_brightpearl", "reconciliation/stock_drift")


def test_every_flow_step_and_the_status_sensor_use_the_one_settings_resource():
    definitions = defs()
    graph = definitions.resolve_asset_graph()
    settings_like = {key for key in definitions.resources if "settings" in key or key in ("order_flow", "stock_flow", "fulfilment")}
    assert settings_like == {"sync_settings"}
    for key in FLOW_ASSETS:
        node = graph.assets_def_for_key(dg.AssetKey.from_user_string(key))
        assert "sync_settings" in node.required_resource_keys, key
    assert "sync_settings" in definitions.resolve_sensor_def("brightpearl_order_status_changes").required_resource_keys


def client(sandbox) -> BrightpearlClient:
    creds = sandbox.world.credentials
    return BrightpearlClient(sandbox.urls.brightpearl_base_url, app_ref=creds.brightpearl_app_ref,
                             account_token=creds.brightpearl_account_token)


def test_the_mapping_is_read_once_and_checked_once_per_flow_in_a_run(sandbox, monkeypatch):
    reads = []
    real_load = module.load_mapping_config
    monkeypatch.setattr(module, "load_mapping_config", lambda path=None: reads.append(path) or real_load(path))
    bp = client(sandbox)
    resource = SyncSettings()  # Dagster builds one per run
    first = resource.mapping(bp, flow="orders")
    calls_after_first_check = bp.call_count
    assert calls_after_first_check == len(FLOW_CHECKS["orders"][0])  # one read per reference set
    for flow in ("orders", "fulfilment", "stock", "orders"):
        assert resource.mapping(bp, flow=flow) is first
    assert resource.mapping() is first
    assert len(reads) == 1
    assert bp.call_count == calls_after_first_check  # statuses and warehouses already read for the order flow


def test_a_stock_run_refuses_a_counted_warehouse_the_account_lacks(sandbox, tmp_path):
    """The stock flow counts `stock.brightpearl_warehouses`: one the account does not have would
    count as zero stock, so the run stops naming the key (the sandbox has warehouses 1-3)."""
    data = yaml.safe_load(DEFAULT_MAPPING_FILE.read_text(encoding="utf-8"))
    data["stock"]["brightpearl_warehouses"] = [1, 3, 99]
    path = tmp_path / "mapping.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    bp = client(sandbox)
    with pytest.raises(MappingConfigError, match=r"stock\.brightpearl_warehouses\.2: Brightpearl warehouse 99"):
        SyncSettings(mapping_file=str(path)).mapping(bp, flow="stock")
    assert SyncSettings(mapping_file=str(path)).mapping(bp, flow="fulfilment").stock.brightpearl_warehouses == [1, 3, 99]
