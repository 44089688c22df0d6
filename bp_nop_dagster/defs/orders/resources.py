"""Resources of the order flow: the ledger and the flow's settings (mapping file, batch size, lease)."""

import os

import dagster as dg
from pydantic import Field

from bp_nop_dagster.brightpearl.client import BrightpearlClient
from bp_nop_dagster.ledger.resource import LedgerResource
from bp_nop_dagster.mapping.config import MappingConfig, MappingConfigError, load_mapping_config, validate_against_reference

MAPPING_FILE_ENV = "BP_NOP_MAPPING_FILE"


class OrderFlowSettings(dg.ConfigurableResource):
    """How the order flow runs. The mapping file defaults to `$BP_NOP_MAPPING_FILE`, else the
    packaged defaults (which fit the sandbox)."""

    mapping_file: str | None = Field(default=None, description="YAML mapping file; default $BP_NOP_MAPPING_FILE or the packaged defaults")
    batch_size: int = Field(default=500, ge=1, description="Pending orders drained per run (the rest wait for the next run)")
    intent_lease_seconds: float = Field(default=300.0, gt=0, description="How long an interrupted create blocks a takeover")

    def load_mapping(self, bp: BrightpearlClient) -> MappingConfig:
        """The validated mapping, checked against this Brightpearl account's reference data (cached
        per run): a status, channel or code that does not exist there fails the run in words."""
        config = load_mapping_config(self.mapping_file or os.environ.get(MAPPING_FILE_ENV))
        problems = validate_against_reference(
            config,
            order_status_ids={s.id for s in bp.order_statuses()},
            channel_ids={c.id for c in bp.channels()},
            warehouse_ids={w.id for w in bp.warehouses()},
            price_list_ids={p.id for p in bp.price_lists()},
            tax_codes={t.code for t in bp.tax_codes()},
            shipping_method_ids={m.id for m in bp.shipping_methods()},
            nominal_codes=None,
        )
        if problems:
            raise MappingConfigError("the mapping does not fit this Brightpearl account: " + "; ".join(problems))
        return config


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources={"ledger": LedgerResource(), "order_flow": OrderFlowSettings()})


__all__ = ["LedgerResource", "OrderFlowSettings"]
