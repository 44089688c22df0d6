"""Brightpearl API client: typed models, quota pacing and the HTTP client. No Dagster here: the
Dagster resource is `bp_nop_dagster.brightpearl.resource` (imported by the wiring only)."""

from bp_nop_dagster.brightpearl.client import (
    BrightpearlClient,
    SearchPage,
    chunk_ids,
    compact_id_set,
    oauth_refresh_callback,
    period,
)
from bp_nop_dagster.brightpearl.pacing import QuotaPacer

__all__ = [
    "BrightpearlClient",
    "QuotaPacer",
    "SearchPage",
    "chunk_ids",
    "compact_id_set",
    "oauth_refresh_callback",
    "period",
]
