"""The pair this code location serves (bp_nop_dagster/pairs.py), as Dagster names: asset keys,
the Brightpearl pool and run tags. Read once when the code location loads; without
`BP_NOP_PAIR` these are the single-pair names (unprefixed keys, pool `brightpearl`, no tag)."""

import dagster as dg

from bp_nop_dagster.pairs import current_pair

PAIR = current_pair()
BRIGHTPEARL_POOL = PAIR.brightpearl_pool
RUN_TAGS = PAIR.run_tags


def asset_key(*path: str) -> dg.AssetKey:
    """The key of asset `path` in this pair (the pair's name first when there is one)."""
    return dg.AssetKey(PAIR.asset_path(*path))
