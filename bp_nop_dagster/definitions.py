"""The code location: every Dagster object under `defs/`, loaded by convention, with the sync
assets' freshness windows applied. Refuses to load when the configuration does not fit
`BP_NOP_ENV` (staging and production need PostgreSQL and real https endpoints)."""

from pathlib import Path

import dagster as dg

from bp_nop_dagster.environment import require_valid_environment
from bp_nop_dagster.freshness import with_freshness_policies


@dg.definitions
def defs() -> dg.Definitions:
    require_valid_environment()
    return with_freshness_policies(dg.load_from_defs_folder(path_within_project=Path(__file__).parent))
