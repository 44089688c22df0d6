"""How fresh each sync asset must be: the order flow within 10 minutes, stock within 15.

`with_freshness_policies` applies the windows to whichever of these assets the code location has,
so a stalled sync shows as stale in the UI (the daemon evaluates freshness), and the
`freshness_alerts` sensor posts to the alert webhook when one fails its window.
"""

import warnings
from datetime import timedelta

import dagster as dg
from bp_nop_dagster.defs.pairing import asset_key

ORDER_SYNC_WINDOW = timedelta(minutes=10)
STOCK_SYNC_WINDOW = timedelta(minutes=15)

FRESHNESS_WINDOWS: dict[dg.AssetKey, timedelta] = {
    asset_key("brightpearl", "contacts_from_nop"): ORDER_SYNC_WINDOW,
    asset_key("brightpearl", "sales_orders_from_nop"): ORDER_SYNC_WINDOW,
    asset_key("brightpearl", "payments_from_nop"): ORDER_SYNC_WINDOW,
    asset_key("nopcommerce", "stock_from_brightpearl"): STOCK_SYNC_WINDOW,
}


def _with_policy(spec: dg.AssetSpec) -> dg.AssetSpec:
    window = FRESHNESS_WINDOWS.get(spec.key)
    if window is None:
        return spec
    return dg.apply_freshness_policy(spec, dg.FreshnessPolicy.time_window(fail_window=window))


def with_freshness_policies(defs: dg.Definitions) -> dg.Definitions:
    """`defs` with the freshness window set on every sync asset it defines (others unchanged).

    `map_asset_specs` is marked preview in Dagster 1.13 (pinned) and is the way its docs apply a
    policy to loaded specs; its warning is silenced for this one call only, since the code
    location loads in every run and sensor process and would repeat it dozens of times a minute."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return defs.map_asset_specs(func=_with_policy)


def describe_window(window: timedelta) -> str:
    minutes = int(window.total_seconds() // 60)
    return f"{minutes} minutes"
