"""Headless part of `bp-nop demo`: materialize every asset once and print a summary."""

from __future__ import annotations

import time
from collections import defaultdict

import dagster as dg


QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


def materialize_everything(sandbox, started: float) -> int:
    """Materialize all assets of the code location on the DAGSTER_HOME instance.

    Unpartitioned assets run together; each partitioned set runs for its latest partition.
    """
    from bp_nop_dagster.definitions import defs as load_defs

    definitions = load_defs()
    instance = dg.DagsterInstance.get()
    graph = definitions.resolve_asset_graph()
    keys = sorted(graph.materializable_asset_keys, key=lambda key: key.to_user_string())
    groups: dict[object, list[dg.AssetKey]] = defaultdict(list)
    for key in keys:
        groups[graph.get(key).partitions_def].append(key)
    rows: dict[str, int | None] = {}
    ok = True
    for partitions_def, group_keys in groups.items():
        partition_key = partitions_def.get_last_partition_key() if partitions_def else None
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
