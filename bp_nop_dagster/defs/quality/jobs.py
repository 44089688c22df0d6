"""When the data-quality assets run by themselves: the recent orders' risk scores and contact
issues every hour (a risky order is flagged in Brightpearl within the hour), the duplicate review
queue and the catalogue checks every night. Both schedules start STOPPED: `order_quality_job` writes
flags into Brightpearl, so a person turns them on (UI: Automation, or `dagster schedule start`)
once the mapping's `quality` section says how. Any asset can be materialized from the UI at any time."""

import dagster as dg

from bp_nop_dagster.defs.quality.assets import CONTACT_ISSUES, CONTACT_VALIDATION, DUPLICATE_CUSTOMERS, ORDER_ANOMALIES, PRODUCT_ISSUES
from bp_nop_dagster.defs.pairing import RUN_TAGS

order_quality_job = dg.define_asset_job(
    "order_quality_job",
    tags=RUN_TAGS,
    selection=dg.AssetSelection.assets(CONTACT_VALIDATION, CONTACT_ISSUES, ORDER_ANOMALIES),
    executor_def=dg.in_process_executor,
    description="Contact issues and risk scores of recent orders; risky orders flagged in Brightpearl per the mapping.",
)

master_data_quality_job = dg.define_asset_job(
    "master_data_quality_job",
    tags=RUN_TAGS,
    selection=dg.AssetSelection.assets(DUPLICATE_CUSTOMERS, PRODUCT_ISSUES),
    executor_def=dg.in_process_executor,
    description="The duplicate-customer review queue and the product checks.",
)

hourly_order_quality = dg.ScheduleDefinition(
    name="hourly_order_quality", cron_schedule="37 * * * *", job=order_quality_job, execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Hourly: contact issues and risk scores of recent orders (flags risky ones in Brightpearl).",
)

nightly_master_data_quality = dg.ScheduleDefinition(
    name="nightly_master_data_quality", cron_schedule="45 4 * * *", job=master_data_quality_job, execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Nightly: duplicate customers to review and the product checks.",
)
