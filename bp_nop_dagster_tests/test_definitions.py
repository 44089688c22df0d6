"""The code location loads: every asset, check, job, sensor and schedule resolves."""

import dagster as dg

from bp_nop_dagster.definitions import defs


def test_definitions_are_loadable():
    definitions = defs()
    dg.Definitions.validate_loadable(definitions)  # raises on any definition that does not resolve
    graph = definitions.resolve_asset_graph()
    assert graph.materializable_asset_keys and graph.asset_check_keys
    assert definitions.resolve_all_job_defs() and definitions.sensors and definitions.schedules


def test_order_flow_is_wired_as_the_issue_asks():
    definitions = defs()
    graph = definitions.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert {"brightpearl/contacts_from_nop", "brightpearl/sales_orders_from_nop", "brightpearl/payments_from_nop",
            "order_flow/dead_letters", "reconciliation/order_sync"} <= keys
    for key in ("brightpearl/contacts_from_nop", "brightpearl/sales_orders_from_nop", "brightpearl/payments_from_nop"):
        node = graph.get(dg.AssetKey.from_user_string(key))
        assert node.pools == {"brightpearl"}, key
    sensor = definitions.resolve_sensor_def("new_nopcommerce_orders")
    assert sensor.minimum_interval_seconds == 2  # issue 17: as often as the daemon ticks (5 s), no quota cost
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert definitions.resolve_schedule_def("orders_catch_up_sweep").cron_schedule == "7 * * * *"
    assert definitions.resolve_job_def("replay_dead_letters") is not None
