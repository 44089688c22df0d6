"""bp-nop-dagster: nopCommerce <-> Brightpearl integration as a Dagster code location."""
