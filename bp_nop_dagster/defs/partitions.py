"""Partitions of the reports and the dated source tables: daily on the day an order was created
(UTC), monthly for the month-end summary.

They start at `BP_NOP_HISTORY_START` (YYYY-MM-DD: the shop's first order day; `bp-nop doctor`
says which day that is, `bp-nop demo` sets it from the sandbox shop), else at 2025-01-01.
`end_offset=1` makes today (and this month) a partition too: the day in progress can be read and
reconciled while it happens (a rerun after midnight gives the complete day)."""

import os
from datetime import date

import dagster as dg

from bp_nop_dagster import settings

DEFAULT_HISTORY_START = "2025-01-01"


def history_start() -> date:
    """The first day of the partitions (a bad value fails the code location naming the variable)."""
    text = os.environ.get(settings.BP_NOP_HISTORY_START) or DEFAULT_HISTORY_START
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{settings.BP_NOP_HISTORY_START}={text!r} is not a day (YYYY-MM-DD)") from None


daily_partitions = dg.DailyPartitionsDefinition(start_date=history_start().isoformat(), timezone="UTC", end_offset=1)
monthly_partitions = dg.MonthlyPartitionsDefinition(
    start_date=history_start().replace(day=1).isoformat(), timezone="UTC", end_offset=1
)
