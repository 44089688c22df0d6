"""The pair this code location serves (bp_nop_dagster/pairs.py), as Dagster names: asset keys,
the Brightpearl pool and run tags. Read once when the code location loads; without
`BP_NOP_PAIR` these are the single-pair names (unprefixed keys, pool `brightpearl`, no tag).

The order sync's runs also carry Dagster's run priority tag: the QueuedRunCoordinator launches
higher-priority runs first, and a step's claim on a pool slot carries its run's priority (the
`brightpearl` pool hands its free slot to the highest claim). So after an outage or a restart,
the orders (the flow whose delay costs money) go ahead of every other flow's runs."""

import dagster as dg

from bp_nop_dagster.pairs import current_pair

PAIR = current_pair()
BRIGHTPEARL_POOL = PAIR.brightpearl_pool
RUN_TAGS = PAIR.run_tags
#: Dagster's run priority tag (higher first; runs without it are 0).
PRIORITY_TAG = "dagster/priority"
ORDER_SYNC_PRIORITY = 10
#: The tags of the order sync's runs: the pair's, plus the priority. Filters of this pair's runs
#: use RUN_TAGS alone.
ORDER_RUN_TAGS = {**RUN_TAGS, PRIORITY_TAG: str(ORDER_SYNC_PRIORITY)}


def asset_key(*path: str) -> dg.AssetKey:
    """The key of asset `path` in this pair (the pair's name first when there is one)."""
    return dg.AssetKey(PAIR.asset_path(*path))
