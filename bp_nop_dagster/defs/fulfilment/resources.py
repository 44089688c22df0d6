"""Settings of the fulfilment flow (mapping file, batch size, intent lease)."""

import os

import dagster as dg
from pydantic import Field

from bp_nop_dagster.brightpearl.client import BrightpearlClient
from bp_nop_dagster.ledger import DEFAULT_LEASE_SECONDS
from bp_nop_dagster.mapping.config import MAPPING_FILE_ENV, MappingConfig, MappingConfigError, load_mapping_config, validate_against_reference


class FulfilmentSettings(dg.ConfigurableResource):
    """How the fulfilment flow runs. The mapping file defaults to `$BP_NOP_MAPPING_FILE`, else the
    packaged defaults (which fit the sandbox)."""

    mapping_file: str | None = Field(default=None, description="YAML mapping file; default $BP_NOP_MAPPING_FILE or the packaged defaults")
    batch_size: int = Field(default=500, ge=1, description="Pending goods-out notes (and status changes) drained per run")
    intent_lease_seconds: float = Field(
        default=DEFAULT_LEASE_SECONDS, gt=0, description="Lease on a record being written, renewed while the run works on it: how long a killed run blocks it"
    )

    def load_mapping(self, bp: BrightpearlClient | None = None) -> MappingConfig:
        """The validated mapping; with a client, its `fulfilment.on_order_status` ids are checked
        against the account's order statuses (one cached request per run)."""
        config = load_mapping_config(self.mapping_file or os.environ.get(MAPPING_FILE_ENV))
        if bp is not None:
            problems = [
                p for p in validate_against_reference(config, order_status_ids={s.id for s in bp.order_statuses()})
                if p.startswith("fulfilment.")
            ]
            if problems:
                raise MappingConfigError("the mapping does not fit this Brightpearl account: " + "; ".join(problems))
        return config


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources={"fulfilment": FulfilmentSettings()})
