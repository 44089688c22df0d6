"""A person's verdict on a customer flagged as a suspected duplicate (reconciliation/customers,
`suspected_duplicates`): "these are other people". The flag is cleared and the report stops
listing those records for the customer. Merging one person's records stays a person's job in
Brightpearl; the integration never merges."""

import dagster as dg
from pydantic import Field

from bp_nop_dagster.ledger.resource import LedgerResource
from bp_nop_dagster.sync.customers import mark_reviewed
from bp_nop_dagster.defs.pairing import RUN_TAGS


class CustomerReviewConfig(dg.Config):
    customer_id: int = Field(gt=0, description="The nopCommerce customer id (reconciliation/customers: nop_customer_id)")
    distinct_from: list[str] = Field(default_factory=list, description="Records judged other people, as the report names them "
                                     "(bp:<contact id>, nop:<customer id>); those flagged when the contact was created are included")


@dg.op(description="Record that a flagged customer's suspected duplicates are other people, and clear the flag.")
def record_customer_review(context: dg.OpExecutionContext, config: CustomerReviewConfig, ledger: LedgerResource) -> None:
    mark_reviewed(ledger.get_ledger(), str(config.customer_id), config.distinct_from)
    context.log.info(f"customer {config.customer_id}: reviewed, not the same person as {config.distinct_from or 'the flagged contacts'}")


@dg.job(tags=RUN_TAGS, description="A person's review of a suspected duplicate customer: 'other people' (config: customer_id, distinct_from).")
def customer_review_job():
    record_customer_review()
