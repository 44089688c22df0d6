"""`sync_settings`: the one settings resource every flow uses (README, "Configuration").

It loads the mapping once per run (a run gets its own resource instance) and checks it against
the Brightpearl account, reading only the reference data the flow at hand relies on (reads cached
per run by the client): the order flow every id and code, fulfilment the order statuses it maps,
stock the warehouses it counts. Given the ledger, a passed check is kept there across runs for
`reference_check_ttl_seconds` (`sync/reference_check.py`): a run within it reads no reference
data. Per-flow knobs (batch sizes, leases) are nested.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Literal

import dagster as dg
from pydantic import Field, PrivateAttr

from bp_nop_dagster import settings
from bp_nop_dagster.brightpearl.client import BrightpearlClient
from bp_nop_dagster.ledger import DEFAULT_LEASE_SECONDS, Ledger
from bp_nop_dagster.sync.catalogue import CatalogueSync
from bp_nop_dagster.sync.orders import CREATED_ON_MARGIN
from bp_nop_dagster.mapping.config import MappingConfig, MappingConfigError, load_mapping_config, validate_against_reference
from bp_nop_dagster.nopcommerce.client import NopCommerceClient
from bp_nop_dagster.sync import reference_check
from bp_nop_dagster.sync.stock import IN_FLIGHT_LOOKBACK, StockSync

Flow = Literal["orders", "fulfilment", "stock", "catalogue"]

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
    "catalogue": ((), None),  # its price lists are checked from the product-price replies (sync/catalogue.py)
}


class RecordFlowKnobs(dg.Config):
    """A flow that drains pending records from the ledger under write-ahead intents."""

    batch_size: int = Field(default=500, ge=1, description="Pending records (orders, customers) drained per run (the rest wait for the next run)")
    intent_lease_seconds: float = Field(
        default=DEFAULT_LEASE_SECONDS, gt=0, description="Lease on a record being written, renewed while the run works on it: how long a killed run blocks it"
    )


class OrderFlowKnobs(RecordFlowKnobs):
    created_on_margin_hours: float = Field(
        default=CREATED_ON_MARGIN.total_seconds() / 3600, gt=0,
        description="The bulk lookup of orders whose create's outcome is unknown reads Brightpearl orders created since "
        "the first such attempt less this margin (covers the createdOn filter's time zone and clock skew; inferred)",
    )

    @property
    def created_on_margin(self) -> timedelta:
        return timedelta(hours=self.created_on_margin_hours)


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
    customers: RecordFlowKnobs = Field(default_factory=RecordFlowKnobs, description="The customer flow (pending customers per run, lease)")
    reference_check_ttl_seconds: float = Field(
        default=reference_check.DEFAULT_TTL.total_seconds(), ge=0,
        description="How long a passed check of the mapping against the Brightpearl account's reference data is kept "
        "(ledger) for later runs of the same flow and mapping; 0: every run reads the reference data",
    )

    _mapping: MappingConfig | None = PrivateAttr(default=None)
    _checked: set[str] = PrivateAttr(default_factory=set)

    def mapping(self, bp: BrightpearlClient | None = None, *, flow: Flow | None = None, ledger: Ledger | None = None) -> MappingConfig:
        """The validated mapping, read once per run (a bad file fails naming the key). With `bp`
        and `flow`, also checked once per run against the account's reference data that flow
        relies on: an id or code the account lacks fails the run in words. With the `ledger`,
        a check of this flow and mapping that passed within the TTL stands (no reads), and a
        passed check is kept for the runs after this one."""
        if self._mapping is None:
            self._mapping = load_mapping_config(self.mapping_file or os.environ.get(settings.BP_NOP_MAPPING_FILE))
        if bp is not None and flow is not None and flow not in self._checked:
            self._check(bp, flow, ledger)
            self._checked.add(flow)
        return self._mapping

    def _check(self, bp: BrightpearlClient, flow: Flow, ledger: Ledger | None) -> None:
        """Check the mapping against the reference data `flow` relies on, unless the ledger keeps
        a pass of this flow and mapping younger than the TTL; keep a pass."""
        references, section = FLOW_CHECKS[flow]
        if not references:
            return
        ttl = timedelta(seconds=self.reference_check_ttl_seconds)
        kept = ledger is not None and ttl > timedelta(0)
        digest = reference_check.mapping_digest(self._mapping, references)
        if kept and reference_check.checked_recently(ledger, flow, digest, _now(), ttl):
            return
        problems = validate_against_reference(self._mapping, **{name: _REFERENCE[name](bp) for name in references})
        problems = [p for p in problems if section is None or p.startswith(section)]
        if problems:
            raise MappingConfigError("the mapping does not fit this Brightpearl account: " + "; ".join(problems))
        if kept:
            reference_check.remember(ledger, flow, digest, _now())

    def catalogue_engine(self, *, nop: NopCommerceClient, bp: BrightpearlClient, ledger: Ledger) -> CatalogueSync:
        """The catalogue engine with the mapping (its price lists are checked by the engine from the
        product-price replies it reads anyway: no reference read per run)."""
        return CatalogueSync(nop=nop, bp=bp, ledger=ledger, mapping=self.mapping(bp, flow="catalogue", ledger=ledger))

    def stock_engine(self, *, nop: NopCommerceClient, bp: BrightpearlClient, ledger: Ledger) -> StockSync:
        """The stock engine with the checked mapping's `stock:` section."""
        mapping = self.mapping(bp, flow="stock", ledger=ledger)
        return StockSync(nop=nop, bp=bp, ledger=ledger, stock=mapping.stock, in_flight_lookback=self.stock.in_flight_lookback,
                         stores={store_id: mapping.for_store(store_id).stock for store_id in mapping.stores})


def _now() -> datetime:
    return datetime.now(UTC)
