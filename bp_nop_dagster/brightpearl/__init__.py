"""Brightpearl API client: typed models, quota pacing, the HTTP client and its Dagster resource."""

from bp_nop_dagster.brightpearl.client import (
    BrightpearlClient,
    SearchPage,
    chunk_ids,
    compact_id_set,
    oauth_refresh_callback,
    period,
)
from bp_nop_dagster.brightpearl.pacing import QuotaPacer
from bp_nop_dagster.brightpearl.resource import BrightpearlResource, brightpearl_resource_from_env

__all__ = [
    "BrightpearlClient",
    "BrightpearlResource",
    "QuotaPacer",
    "SearchPage",
    "brightpearl_resource_from_env",
    "chunk_ids",
    "compact_id_set",
    "oauth_refresh_callback",
    "period",
]
