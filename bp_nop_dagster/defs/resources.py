"""The resources every flow shares: the two API clients and the ledger, configured from the
environment (README, "Configuration"), and the one settings resource (`sync_settings`)."""

import dagster as dg

from bp_nop_dagster.brightpearl.resource import brightpearl_resource_from_env
from bp_nop_dagster.defs.sync_settings import SyncSettings
from bp_nop_dagster.ledger.resource import LedgerResource
from bp_nop_dagster.nopcommerce.resource import nopcommerce_resource_from_env


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "brightpearl": brightpearl_resource_from_env(),
            "nopcommerce": nopcommerce_resource_from_env(),
            "ledger": LedgerResource(),
            "sync_settings": SyncSettings(),
        }
    )
