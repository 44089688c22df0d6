"""Daily partitions on the day an order was created (UTC)."""

import os

import dagster as dg

HISTORY_START_ENV = "BP_NOP_HISTORY_START"

daily_partitions = dg.DailyPartitionsDefinition(start_date=os.environ.get(HISTORY_START_ENV, "2025-01-01"), timezone="UTC")
