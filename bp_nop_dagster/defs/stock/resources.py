"""Settings of the stock flow (plain config: no secrets here; the mapping's `stock:` section holds
the counted warehouses, the nopCommerce warehouse mapping and the buffer)."""

import os
from datetime import timedelta

import dagster as dg
from pydantic import Field

from bp_nop_dagster.brightpearl.client import BrightpearlClient
from bp_nop_dagster.ledger import Ledger
from bp_nop_dagster.mapping.config import MAPPING_FILE_ENV, load_mapping_config
from bp_nop_dagster.nopcommerce.client import NopCommerceClient
from bp_nop_dagster.sync.stock import IN_FLIGHT_LOOKBACK, StockSync


class StockFlowSettings(dg.ConfigurableResource):
    """How the stock flow runs. The mapping file defaults to `$BP_NOP_MAPPING_FILE`, else the
    packaged defaults (which fit the sandbox)."""

    mapping_file: str | None = Field(default=None, description="YAML mapping file; default $BP_NOP_MAPPING_FILE or the packaged defaults")
    in_flight_lookback_hours: float = Field(
        default=IN_FLIGHT_LOOKBACK.total_seconds() / 3600, gt=0,
        description="nopCommerce orders created this many hours back and not in Brightpearl count as in flight "
        "(the order flow's discovery reaches 24 h back)",
    )

    def engine(self, *, nop: NopCommerceClient, bp: BrightpearlClient, ledger: Ledger) -> StockSync:
        """The stock engine with the validated mapping's `stock:` section (a bad file fails here, naming the key)."""
        config = load_mapping_config(self.mapping_file or os.environ.get(MAPPING_FILE_ENV))
        return StockSync(nop=nop, bp=bp, ledger=ledger, stock=config.stock,
                         in_flight_lookback=timedelta(hours=self.in_flight_lookback_hours))


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources={"stock_flow": StockFlowSettings()})
