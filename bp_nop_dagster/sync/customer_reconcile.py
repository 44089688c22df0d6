"""`reconciliation/customers`: every registered nopCommerce customer against Brightpearl, per person.

For each registered customer (the integration's API user and system accounts left out): the linked
contact, the fields that differ now with the side that owns each (`mapping/customers.py`), the
suspected duplicates the duplicate engine finds among shop customers and Brightpearl contacts
(pairs a link already joins are the same person, not duplicates), the ledger's state, and a
verdict:

- `in_step`: linked, every field the same on both sides;
- `pending`: differs or not linked yet, and the ledger has it pending or failed (the flow is on it);
- `needs_review`: a suspected duplicate, flagged when its contact was created or found here;
- `dead_lettered`, `skipped`: in the ledger's dead-letter queue / skipped with its reason;
- `not_followed`: not linked, no ledger record, and not active since the flow started (the sensors
  would have seen it): the catch-up job (`customer_catch_up_job`) enqueues every customer;
- `differs` and `missing` (UNEXPLAINED): linked and synced yet different, or active since the flow
  started and never linked: a person should look.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING


from bp_nop_dagster.brightpearl.client import BrightpearlClient
from bp_nop_dagster.ledger import Ledger
from bp_nop_dagster.mapping.config import MappingConfig, MappingError
from bp_nop_dagster.mapping.contacts import country_iso3
from bp_nop_dagster.mapping.customers import IN_STEP, bp_person, nop_person, resolve_all
from bp_nop_dagster.nopcommerce.client import NopCommerceClient
from bp_nop_dagster.quality.duplicates import BRIGHTPEARL, NOPCOMMERCE, CustomerRecord, find_duplicates
from bp_nop_dagster.sync.customers import CUSTOMER, _record, is_shopper, read_snapshot, reviewed_distinct, suspects_of
from bp_nop_dagster.sync.report_table import Column, typed_frame

if TYPE_CHECKING:
    import pandas as pd

COLUMNS = [
    Column("nop_customer_id", "int", "nopCommerce customer id (registered)"),
    Column("email", "str", "the customer's email in nopCommerce"),
    Column("contact_id", "int", "the Brightpearl contact linked to the customer (the ledger's link)"),
    Column("linked", "bool", "whether the customer has a Brightpearl contact"),
    Column("differing_fields", "str", "fields that differ now, each with the side that owns it (`both`: last writer wins)"),
    Column("suspected_duplicates", "str", "records the duplicate engine judges the same person (band, record)"),
    Column("ledger_status", "str", "the customer flow's record in the ledger (none: never seen)"),
    Column("verdict", "str", "in_step, pending, needs_review, dead_lettered, skipped, not_followed, differs, missing"),
    Column("reason", "str", "why this verdict, in words"),
]
VERDICTS = ("in_step", "pending", "needs_review", "dead_lettered", "skipped", "not_followed", "differs", "missing")
UNEXPLAINED = ("differs", "missing")
ACTIONS = {
    "pending": "nothing: the customer flow's next run settles it",
    "needs_review": "compare the records named in suspected_duplicates and merge by hand in Brightpearl if they are one person",
    "dead_lettered": "read the dead letter's reason (customers_in_step dead letters), fix, replay",
    "skipped": "nothing unless the reason is wrong",
    "not_followed": "run customer_catch_up_job once to bring customers from before the flow into it",
    "differs": "materialize customers/customers_in_step after enqueueing the customer; report it if it stays",
    "missing": "check the customer flow's sensors: this customer was active but never linked",
}


@dataclass
class CustomerReconciliation:
    frame: pd.DataFrame
    brightpearl_only: int  # customer contacts no shop customer is linked to (phone customers)
    brightpearl_calls: int
    nopcommerce_calls: int


def reconcile_customers(nop: NopCommerceClient, bp: BrightpearlClient, ledger: Ledger, config: MappingConfig,
                        contact_rows: pd.DataFrame | None = None) -> CustomerReconciliation:
    """The per-person table (module docstring). `contact_rows`: the brightpearl/contacts table
    (contact_id, primary_email, first_name, last_name, is_customer), for contacts no customer is linked to."""
    bp_before, nop_before = bp.call_count, nop.call_count
    role = nop.customer_role_id("Registered")
    customers = sorted((c for c in nop.customers(role_ids=[role]) if is_shopper(nop, c)), key=lambda c: c.id)
    iso = nop.country_iso_codes()
    people = {}
    for customer in customers:
        address = nop.customer_billing_address(customer.id) if customer.billing_address_id else None
        iso2, three = iso.get(address.country_id or 0, (None, None)) if address is not None else (None, None)
        try:
            three = three or (country_iso3(iso2, config) if iso2 else None)  # as the customer flow reads it
        except MappingError:
            three = None
        people[str(customer.id)] = (customer, nop_person(customer, address, three))
    links = ledger.bp_ids(CUSTOMER, people)
    contacts = {c.id: c for c in bp.contacts(links.values())} if links else {}
    address_ids = {c.default_address_id for c in contacts.values() if c.default_address_id}
    addresses = {a.id: a for a in bp.postal_addresses(address_ids)} if address_ids else {}
    statuses = {r.nop_key: r for r in ledger.statuses(CUSTOMER)}
    started = min((r.first_seen for r in statuses.values()), default=None)
    flagged = suspects_of(ledger, people)

    records = [_record(f"nop:{key}", NOPCOMMERCE, fields) for key, (_, fields) in people.items()]
    bp_fields = {cid: bp_person(c, addresses.get(c.default_address_id or 0)) for cid, c in contacts.items()}
    records += [_record(f"bp:{cid}", BRIGHTPEARL, fields) for cid, fields in bp_fields.items()]
    unlinked = 0
    if contact_rows is not None and not contact_rows.empty:
        for row in contact_rows.itertuples():
            if int(row.contact_id) in contacts or not bool(row.is_customer):
                continue
            unlinked += 1
            records.append(CustomerRecord(record_id=f"bp:{int(row.contact_id)}", source=BRIGHTPEARL, email=row.primary_email,
                                          first_name=row.first_name, last_name=row.last_name))
    same_person = {(f"nop:{key}", f"bp:{cid}") for key, cid in links.items()}
    suspects: dict[str, list[str]] = {}
    for pair in find_duplicates(records).queue.itertuples():
        left, right = sorted((pair.left, pair.right), key=lambda r: not r.startswith("nop:"))
        if (left, right) in same_person:
            continue
        for me, other in ((left, right), (right, left)):
            if me.startswith("nop:"):
                suspects.setdefault(me[4:], []).append(f"{pair.band} {other}")
    for key, found in flagged.items():
        suspects.setdefault(key, []).extend(f"{s['band']} bp:{s['contact_id']} (flagged at creation)" for s in found)
    for key, distinct in reviewed_distinct(ledger, people).items():  # a person judged them someone else
        suspects[key] = [s for s in suspects.get(key, []) if s.split(" ")[1] not in distinct]

    rows = []
    for key, (customer, nop_fields) in people.items():
        contact_id = links.get(key)
        record = statuses.get(key)
        differing = []
        if contact_id is not None and contact_id in contacts:
            state = read_snapshot(ledger, key)
            decisions = resolve_all(nop_fields, bp_fields[contact_id], state["values"] if state else None, config.customers)
            differing = [f"{d.field} (owner: {config.customers.owner(d.field)})" for d in decisions if d.action != IN_STEP]
        verdict, reason = _verdict(contact_id, differing, record, bool(suspects.get(key)), customer, started)
        rows.append({
            "nop_customer_id": int(key), "email": customer.email, "contact_id": contact_id, "linked": contact_id is not None,
            "differing_fields": ", ".join(differing), "suspected_duplicates": "; ".join(sorted(set(suspects.get(key, [])))),
            "ledger_status": record.status if record else "none", "verdict": verdict, "reason": reason,
        })
    return CustomerReconciliation(typed_frame(rows, COLUMNS), unlinked, bp.call_count - bp_before, nop.call_count - nop_before)


def _verdict(contact_id, differing, record, suspected: bool, customer, started: datetime | None) -> tuple[str, str]:
    status = record.status if record else None
    if status == "dead_lettered":
        return "dead_lettered", f"in the dead-letter queue: {record.last_error or ''}".strip()
    if status == "skipped":
        return "skipped", record.last_error or "skipped"
    if status in ("pending", "failed") and (differing or contact_id is None):
        return "pending", f"the customer flow has it {status}"
    if suspected:
        return "needs_review", "looks like another record of the same person (never merged by the integration)"
    if contact_id is not None:
        if differing:
            return "differs", f"linked and synced, yet {len(differing)} field(s) differ"
        return "in_step", "linked, every field the same"
    active = customer.last_activity_date_utc
    active = active.replace(tzinfo=UTC) if active is not None and active.tzinfo is None else active
    if record is None and (started is None or (active is not None and active < started)):
        return "not_followed", "not active since the customer flow started"
    return "missing", "active since the customer flow started, never linked"
