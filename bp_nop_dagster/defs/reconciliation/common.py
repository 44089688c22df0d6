"""What the reconciliation reports share: their group, the run config analysts may set, and the
record of a report's inputs (which tables, which ledger, which window, which instance), so two
runs that disagree can be told apart at a glance."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import dagster as dg
import sqlalchemy as sa
from pydantic import Field

from bp_nop_dagster.reporting import escape_markdown

GROUP = "reconciliation"
OWNERS = ["team:finance-ops"]
KINDS = {"pandas", "csv"}


class ReportConfig(dg.Config):
    """What an analyst may choose when materializing a report."""

    excel_copy: bool = Field(default=False, description="Also write <report>.excel.csv (UTF-8 with BOM, CRLF) for Excel")


def safe_url(url: str) -> str:
    """A database URL without its password."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "(unreadable URL)"


def input_materialization(context: dg.AssetExecutionContext, key: dg.AssetKey, partition: str | None) -> str:
    """When the input table a report read was materialized (and by which run)."""
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=[partition] if partition else None), limit=1
    ).records
    if not records:
        return "never materialized"
    record = records[0]
    at = datetime.fromtimestamp(record.timestamp, UTC).isoformat(timespec="seconds")
    return f"materialized {at} (run {record.run_id[:8] or 'none: reported by a sensor'})"


def inputs_metadata(context: dg.AssetExecutionContext, items: Mapping[str, str]) -> dict[str, dg.MetadataValue]:
    """`inputs`: a Markdown list of what the report read, plus the instance it ran on."""
    instance = context.instance
    lines = {**items, "Dagster instance": f"{instance.root_directory} ({type(instance.run_storage).__name__})"}
    text = "\n".join(f"- **{escape_markdown(name)}**: {escape_markdown(value)}" for name, value in lines.items())
    return {"inputs": dg.MetadataValue.md(text)}


def verdict_counts(frame, verdicts) -> dict[str, dg.MetadataValue]:
    return {f"verdict/{v}": dg.MetadataValue.int(int((frame["verdict"] == v).sum())) for v in verdicts}


def actions_markdown(frame, actions: Mapping[str, str]) -> dg.MetadataValue:
    """For each verdict present, how many and what a person should do."""
    present = [v for v in actions if (frame["verdict"] == v).any()]
    text = "\n".join(f"- **{v}** ({int((frame['verdict'] == v).sum())}): {escape_markdown(actions[v])}" for v in present)
    return dg.MetadataValue.md(text or "_no rows_")
