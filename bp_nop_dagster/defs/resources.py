"""The two API resources, configured from the environment (README, "Configuration")."""

import dagster as dg

from bp_nop_dagster.brightpearl.resource import brightpearl_resource_from_env
from bp_nop_dagster.nopcommerce.resource import nopcommerce_resource_from_env


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "brightpearl": brightpearl_resource_from_env(),
            "nopcommerce": nopcommerce_resource_from_env(),
        }
    )
