"""The code location: every Dagster object under `defs/`, loaded by convention, with the sync
assets' freshness windows applied. With `BP_NOP_PAIR` set, the pair's own `BP_NOP_<PAIR>__X`
values are applied first (bp_nop_dagster/pairs.py). Refuses to load when the configuration does not fit
`BP_NOP_ENV` (staging and production need PostgreSQL and real https endpoints)."""

from functools import cache
from pathlib import Path

import dagster as dg

from bp_nop_dagster.environment import require_valid_environment
from bp_nop_dagster.freshness import with_freshness_policies
from bp_nop_dagster.pairs import apply_pair_environment


@dg.definitions
def defs() -> dg.Definitions:
    apply_pair_environment()
    require_valid_environment()
    return _definitions_in_this_process()


@cache
def _definitions_in_this_process() -> dg.Definitions:
    """The defs folder walked once per process. Dagster calls `defs` each time it reconstructs
    the repository (six times in one `dagster job execute`; once in a run worker the code server
    starts), and a second walk could only collect the same objects again: the modules it imports
    are imported once per process. Each walk costs about 0.15 s of CPU."""
    return with_freshness_policies(dg.load_from_defs_folder(path_within_project=Path(__file__).parent))
