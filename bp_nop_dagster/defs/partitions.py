"""Daily partitions on the day an order was created (UTC).

`end_offset=1` makes today a partition too: the day in progress can be read and reconciled while
it happens (a rerun after midnight gives the complete day)."""

import os

import dagster as dg

from bp_nop_dagster import settings

daily_partitions = dg.DailyPartitionsDefinition(
    start_date=os.environ.get(settings.BP_NOP_HISTORY_START) or "2025-01-01", timezone="UTC", end_offset=1
)
