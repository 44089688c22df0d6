"""The data-quality work that reads or writes the systems (issue 16), without Dagster: recent
orders for the quality assets, anomaly flags in Brightpearl (exactly once), the values of pending
orders the mapping does not map, and the customer records for the duplicate review queue. The
judgements themselves are `quality/`'s pure engines.

Anomaly flags: an order of nopCommerce scoring at least `quality.anomaly_flag_at`, once it is in
Brightpearl (the ledger links it), gets a private order note (`POST /order-service/order/{id}/note`,
Order Note POST doc) and, with `anomaly_flag: status`, first the status `anomaly_status_id`
(`PUT .../status` without a note: a PUT is resent after a lost reply, and Brightpearl adds a PUT's
note each time). Exactly once: a write-ahead intent per order (kind `anomaly_flag`) and, after an
unknown outcome, a natural-key lookup among the order's notes (Order Note GET doc) for the note's
first words `[bp-nop risk nop-<id>]`. Failures take the one fate rule (`sync/fate.py`); an order
not yet in Brightpearl is flagged by a later materialization.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING


from bp_nop_dagster.brightpearl.client import BrightpearlClient
from bp_nop_dagster.ledger import Ledger, RecordKind
from bp_nop_dagster.mapping.config import MappingConfig
from bp_nop_dagster.nopcommerce.client import NopCommerceClient
from bp_nop_dagster.nopcommerce.models import Order, OrderDetails
from bp_nop_dagster.quality.duplicates import CustomerRecord
from bp_nop_dagster.sync.exactly_once import WriteAhead
from bp_nop_dagster.sync.fate import DONE, Fates
from bp_nop_dagster.transport.errors import ValidationError

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger("bp_nop_dagster.sync.quality")

ANOMALY_FLAG, ORDER = RecordKind.ANOMALY_FLAG, RecordKind.ORDER
FLAG_FLOW = "anomaly_flags"


# ------------------------------------------------------------------------------ reading orders
def recent_order_details(nop: NopCommerceClient, now: datetime, days: float) -> list[OrderDetails]:
    """Orders created in the `days` before `now` with their items and addresses (one item read
    per order, one read per distinct address). An order whose items or addresses the models
    reject is left out (the order flow dead-letters it); a failed read fails the asset."""
    orders = nop.orders_created_between(now - timedelta(days=days), now)
    read = nop.read_order_details(list(orders), stop_after_failures=1)
    if read.failed:
        raise next(iter(read.failed.values()))
    if read.malformed:
        log.warning("%d orders left out: their items or addresses do not parse (%s)", len(read.malformed),
                    ", ".join(str(k) for k in list(read.malformed)[:10]))
    return read.details


# ------------------------------------------------------------------------------ anomaly flags
def flag_marker(nop_order_id: int | str) -> str:
    """The first words of the note: the natural key a lookup finds the flag by."""
    return f"[bp-nop risk nop-{nop_order_id}]"


def flag_text(nop_order_id: int | str, score: int, reasons: Sequence[dict], ruleset: str) -> str:
    why = "; ".join(f"{r['code']} (+{r['points']}): {r['message']}" for r in reasons)
    return (f"{flag_marker(nop_order_id)} risk score {score} (rules {ruleset}): {why}. Check the order before it ships; "
            "nothing was changed or cancelled.")[:10_000]


@dataclass
class FlagReport:
    flagged: list[str] = field(default_factory=list)  # flagged by this run
    already: list[str] = field(default_factory=list)  # flagged before
    not_in_brightpearl: list[str] = field(default_factory=list)  # not synced yet: flagged by a later run
    failed: list[str] = field(default_factory=list)  # dead-lettered or left for a retry (`sync/fate.py`)


class AnomalyFlagger:
    """Flags risky orders in Brightpearl per the mapping's `quality` section."""

    def __init__(self, *, bp: BrightpearlClient, ledger: Ledger, config: MappingConfig, owner: str,
                 lease_seconds: float = 60.0) -> None:
        self.bp, self.ledger, self.quality = bp, ledger, config.quality
        self.writes = WriteAhead(ledger, owner=owner, lease_seconds=lease_seconds, permanent=(ValidationError,))
        self.fates = Fates(ledger, flow=FLAG_FLOW, probes={bp.system: bp.ping}, lease_seconds=lease_seconds)

    def flag(self, scores: pd.DataFrame) -> FlagReport:
        """Flag every order of `scores` (`quality.anomalies.SCORE_COLUMNS`) at or above the threshold."""
        report = FlagReport()
        if self.quality.anomaly_flag == "none":
            return report
        risky = scores[scores["score"] >= self.quality.anomaly_flag_at]
        for row in risky.itertuples(index=False):
            key = str(row.order_id)
            bp_order_id = self.ledger.bp_id(ORDER, key)
            if bp_order_id is None:
                report.not_in_brightpearl.append(key)
                continue
            if self.ledger.bp_id(ANOMALY_FLAG, key) is not None:
                report.already.append(key)
                continue
            text = flag_text(row.order_id, int(row.score), row.reasons, row.ruleset_version)
            with self.fates.settle(ANOMALY_FLAG, key, payload={"order_id": int(row.order_id), "bp_order_id": bp_order_id,
                                                               "score": int(row.score)}) as outcome:
                self._flag_one(key, bp_order_id, text)
            (report.flagged if outcome.fate == DONE else report.failed).append(key)
        self.fates.finish()
        return report

    def _flag_one(self, key: str, bp_order_id: int, text: str) -> None:
        marker = flag_marker(key)

        def lookup() -> int | None:
            return min((n.id for n in self.bp.order_notes(bp_order_id) if (n.text or "").startswith(marker)), default=None)

        def create() -> int:
            if self.quality.anomaly_flag == "status":
                # the status without a note: the PUT may be resent after a lost reply, and Brightpearl
                # adds a PUT's note each time; the note goes alone, once
                self.bp.update_order_status(bp_order_id, self.quality.anomaly_status_id)
            return self.bp.add_order_note(bp_order_id, text)

        with self.writes.intent(ANOMALY_FLAG, key) as claim:
            note_id = self.writes.resume_or_create(claim, create, lookup)
            self.writes.complete(ANOMALY_FLAG, key, note_id)
        log.info("order %s flagged in Brightpearl order %s (note %s)", key, bp_order_id, note_id)


# ------------------------------------------------------------------------------ mapping coverage
@dataclass(frozen=True)
class UnmappedValue:
    """A value a pending order carries that the mapping does not map."""

    key: str  # the mapping key to fill in, e.g. "payment_methods"
    value: str
    orders: tuple[int, ...]


def unmapped_values(orders: Iterable[Order], config: MappingConfig) -> list[UnmappedValue]:
    """Payment methods (of orders that book a payment), shipping methods (by name, as
    `MappingConfig.shipping_method_id` matches them) and tax rates the mapping does not map."""
    found: dict[tuple[str, str], list[int]] = {}
    names = {n.strip().casefold() for n in config.shipping_methods.by_name}
    rates = {Decimal(r) for r in config.tax_codes}
    for order in orders:
        if config.payment_status.get(order.payment_status_id, "none") != "none" and order.payment_method_system_name not in config.payment_methods:
            found.setdefault(("payment_methods", order.payment_method_system_name or "(none)"), []).append(order.id)
        if order.shipping_method and order.shipping_method.strip().casefold() not in names:
            found.setdefault(("shipping_methods.by_name", order.shipping_method), []).append(order.id)
        for rate in order.tax_rates:
            if Decimal(rate) not in rates:
                found.setdefault(("tax_codes", format(Decimal(rate).normalize(), "f")), []).append(order.id)
    return [UnmappedValue(key, value, tuple(sorted(ids))) for (key, value), ids in sorted(found.items())]


def pending_orders(nop: NopCommerceClient, ledger: Ledger, limit: int | None = None) -> list[Order]:
    """The orders the next order run would work on (one Order/GetByIds call per 100)."""
    keys = ledger.pending(ORDER, limit)
    return list(nop.lookup_orders(int(k) for k in keys).found.values()) if keys else []


# ------------------------------------------------------------------------------ customers
def customer_records(nop: NopCommerceClient, bp: BrightpearlClient, details: Iterable[OrderDetails],
                     iso2: Callable[[int | None], str | None]) -> list[CustomerRecord]:
    """Every nopCommerce customer (`Customer/GetAll`, guests included: each guest checkout is its
    own record), its blanks (a guest's email and name) filled from its latest order's billing
    address among `details`, and every Brightpearl contact that is neither supplier nor staff."""
    orders: dict[int, list[OrderDetails]] = {}
    for detail in details:
        orders.setdefault(detail.order.customer_id, []).append(detail)
    records = []
    for customer in nop.customers():
        if customer.deleted or customer.is_system_account:
            continue
        seen = sorted(orders.get(customer.id, []), key=lambda d: d.order.created_on_utc)
        billing = seen[-1].billing_address if seen else None

        def pick(own, from_address):
            return own if own else (getattr(billing, from_address) if billing is not None else None)

        country = customer.country_id or (billing.country_id if billing is not None else None)
        record = CustomerRecord(
            record_id=f"nop:{customer.id}", source="nopcommerce", email=pick(customer.email, "email"),
            first_name=pick(customer.first_name, "first_name"), last_name=pick(customer.last_name, "last_name"),
            phone=pick(customer.phone, "phone_number"), country_iso2=iso2(country), postcode=pick(customer.zip_postal_code, "zip_postal_code"),
            city=pick(customer.city, "city"), street=pick(customer.street_address, "address1"),
            is_guest=not customer.username and not customer.email, orders=len(seen), created=customer.created_on_utc)
        if record.email or record.last_name or record.phone:
            records.append(record)
    for contact in bp.contact_search():
        if contact.is_supplier or contact.is_staff:
            continue
        records.append(CustomerRecord(
            record_id=f"bp:{contact.contact_id}", source="brightpearl", email=contact.primary_email,
            first_name=contact.first_name, last_name=contact.last_name, phone=contact.pri or contact.mob,
            created=contact.created_on))
    return records


__all__ = [
    "AnomalyFlagger",
    "FlagReport",
    "UnmappedValue",
    "customer_records",
    "flag_marker",
    "flag_text",
    "pending_orders",
    "recent_order_details",
    "unmapped_values",
]
