"""`sync_settings`: the one settings resource every flow uses (README, "Configuration").

It loads the mapping once per run (a run gets its own resource instance) and checks it against
the Brightpearl account once per run, reading only the reference data the flow at hand relies on
(reads cached per run by the client): the order flow every id and code, fulfilment the order
statuses it maps, stock the warehouses it counts. Per-flow knobs (batch sizes, leases) are nested.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta
from typing import Literal

import dagster as dg
from pydantic import Field, PrivateAttr

from bp_nop_dagster import settings
from bp_nop_dagster.brightpearl.client import BrightpearlClient
from bp_nop_dagster.ledger import DEFAULT_LEASE_SECONDS, Ledger
from bp_nop_dagster.mapping.config import MappingConfig, MappingConfigError, load_mapping_config, validate_against_reference
from bp_nop_dagster.nopcommerce.client import NopCommerceClient
from bp_nop_dagster.sync.stock import IN_FLIGHT_LOOKBACK, StockSync

Flow = Literal["orders", "fulfilment", "stock"]

# Per flow: the account's reference sets its run checks, and the mapping sections whose problems
# stop it (None: every section). The reads are cached per run by the client.
_REFERENCE: dict[str, Callable[[BrightpearlClient], set]] = {
    "order_status_ids": lambda bp: {s.id for s in bp.order_statuses()},
    "channel_ids": lambda bp: {c.id for c in bp.channels()},
    "warehouse_ids": lambda bp: {w.id for w in bp.warehouses()},
    "price_list_ids": lambda bp: {p.id for p in bp.price_lists()},
    "tax_codes": lambda bp: {t.code for t in bp.tax_codes()},
    "shipping_method_ids": lambda bp: {m.id for m in bp.shipping_methods()},
}
FLOW_CHECKS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "orders": (tuple(_REFERENCE), None),
    "fulfilment": (("order_status_ids",), "fulfilment."),
    "stock": (("warehouse_ids",), "stock."),
}


class OrderFlowKnobs(dg.Config):
    batch_size: int = Field(default=500, ge=1, description="Pending orders drained per run (the rest wait for the next run)")
    intent_lease_seconds: float = Field(
        default=DEFAULT_LEASE_SECONDS, gt=0, description="Lease on a record being written, renewed while the run works on it: how long a killed run blocks it"
    )


class FulfilmentKnobs(dg.Config):
    batch_size: int = Field(default=500, ge=1, description="Pending goods-out notes (and status changes) drained per run")
    intent_lease_seconds: float = Field(
        default=DEFAULT_LEASE_SECONDS, gt=0, description="Lease on a record being written, renewed while the run works on it: how long a killed run blocks it"
    )


class StockKnobs(dg.Config):
    in_flight_lookback_hours: float = Field(
        default=IN_FLIGHT_LOOKBACK.total_seconds() / 3600, gt=0,
        description="nopCommerce orders created this many hours back and not in Brightpearl count as in flight "
        "(the order flow's discovery reaches 24 h back)",
    )

    @property
    def in_flight_lookback(self) -> timedelta:
        return timedelta(hours=self.in_flight_lookback_hours)


class SyncSettings(dg.ConfigurableResource):
    """How the flows run. The mapping file defaults to `$BP_NOP_MAPPING_FILE`, else the packaged
    defaults (which fit the sandbox)."""

    mapping_file: str | None = Field(default=None, description="YAML mapping file; default $BP_NOP_MAPPING_FILE or the packaged defaults")
    orders: OrderFlowKnobs = Field(default_factory=OrderFlowKnobs, description="The order flow")
    fulfilment: FulfilmentKnobs = Field(default_factory=FulfilmentKnobs, description="The fulfilment flow")
    stock: StockKnobs = Field(default_factory=StockKnobs, description="The stock flow")
    customers: OrderFlowKnobs = Field(default_factory=OrderFlowKnobs, description="The customer flow (pending customers per run, lease)")

    _mapping: MappingConfig | None = PrivateAttr(default=None)
    _checked: set[str] = PrivateAttr(default_factory=set)

    def mapping(self, bp: BrightpearlClient | None = None, *, flow: Flow | None = None) -> MappingConfig:
        """The validated mapping, read once per run (a bad file fails naming the key). With `bp`
        and `flow`, also checked once per run against the account's reference data that flow
        relies on: an id or code the account lacks fails the run in words."""
        if self._mapping is None:
            self._mapping = load_mapping_config(self.mapping_file or os.environ.get(settings.BP_NOP_MAPPING_FILE))
        if bp is not None and flow is not None and flow not in self._checked:
            references, section = FLOW_CHECKS[flow]
            problems = validate_against_reference(self._mapping, **{name: _REFERENCE[name](bp) for name in references})
            problems = [p for p in problems if section is None or p.startswith(section)]
            if problems:
                raise MappingConfigError("the mapping does not fit this Brightpearl account: " + "; ".join(problems))
            self._checked.add(flow)
        return self._mapping

    def stock_engine(self, *, nop: NopCommerceClient, bp: BrightpearlClient, ledger: Ledger) -> StockSync:
        """The stock engine with the checked mapping's `stock:` section."""
        return StockSync(nop=nop, bp=bp, ledger=ledger, stock=self.mapping(bp, flow="stock").stock,
                         in_flight_lookback=self.stock.in_flight_lookback)
