"""Headless part of `bp-nop demo`: materialize every asset once and print a summary."""

from __future__ import annotations

import time
from collections import defaultdict

from datetime import UTC, date, datetime, timedelta

import dagster as dg

from bp_nop_dagster.sync.discovery import enqueue_orders_created_between


QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


def materialize_everything(sandbox, started: float) -> int:
    """Materialize all assets of the code location on the DAGSTER_HOME instance.

    The orders of the demo day (yesterday, UTC: the last complete day) are handed to the ledger
    first, as the new-order sensor would, so the order flow books them into Brightpearl.
    Unpartitioned assets run together; each partitioned set runs for the demo day (the month
    set for the demo day's month).
    """
    from bp_nop_dagster.definitions import defs as load_defs

    definitions = load_defs()
    instance = dg.DagsterInstance.get()
    graph = definitions.resolve_asset_graph()
    demo_day = datetime.now(UTC).date() - timedelta(days=1)
    queued = queue_orders_of_the_day(definitions, demo_day)
    print(f"{queued} nopCommerce orders of {demo_day} queued for the order flow", flush=True)
    keys = sorted(graph.materializable_asset_keys, key=lambda key: key.to_user_string())
    groups: dict[object, list[dg.AssetKey]] = defaultdict(list)
    for key in keys:
        groups[graph.get(key).partitions_def].append(key)
    rows: dict[str, int | None] = {}
    ok = True
    noon = datetime.combine(demo_day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=12)
    for partitions_def, group_keys in groups.items():
        # the demo day's partition: the day itself, or the month that holds it
        partition_key = partitions_def.get_partition_key_for_timestamp(noon.timestamp()) if partitions_def else None
        job = definitions.resolve_implicit_job_def_def_for_assets(group_keys)
        label = f" (partition {partition_key})" if partition_key else ""
        print(f"Materializing {len(group_keys)} asset(s){label}...", flush=True)
        result = job.get_subset(asset_selection=set(group_keys)).execute_in_process(
            instance=instance, partition_key=partition_key, raise_on_error=False, run_config=QUIET_LOGS
        )
        ok = ok and result.success
        for event in result.get_asset_materialization_events():
            materialization = event.materialization
            count = materialization.metadata.get("dagster/row_count")
            rows[materialization.asset_key.to_user_string()] = count.value if count is not None else None
    print(summary(rows, sandbox, time.monotonic() - started), flush=True)
    return 0 if ok else 1


def queue_orders_of_the_day(definitions: dg.Definitions, day: date) -> int:
    """Enqueue the orders created on `day` (UTC) in the ledger; returns how many were new."""
    wanted = {key: definitions.resources[key] for key in ("nopcommerce", "ledger")}
    start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    with dg.build_resources(wanted) as resources:
        return enqueue_orders_created_between(
            resources.nopcommerce.get_client(), resources.ledger.get_ledger(), start, start + timedelta(days=1)
        )


def summary(rows: dict[str, int | None], sandbox, wall_seconds: float) -> str:
    lines = ["", f"{'asset':<48} rows"]
    for key, count in sorted(rows.items()):
        lines.append(f"{key:<48} {'-' if count is None else count}")
    bp = sandbox.world.brightpearl_stats.snapshot()
    nop = sandbox.world.nopcommerce_stats.snapshot()
    lines += [
        "",
        f"assets materialized: {len(rows)}",
        f"API calls: Brightpearl {bp['total']} (throttled {bp['throttled']}), nopCommerce {nop['total']}",
        f"wall time: {wall_seconds:.1f} s",
    ]
    return "\n".join(lines)
