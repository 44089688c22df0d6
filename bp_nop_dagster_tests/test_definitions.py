"""The code location loads: every asset, check, job, sensor and schedule resolves."""

import dagster as dg

from bp_nop_dagster.definitions import defs


def test_definitions_are_loadable():
    dg.Definitions.validate_loadable(defs())
