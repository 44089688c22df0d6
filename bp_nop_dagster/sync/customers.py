"""The customer flow, without Dagster: registered nopCommerce customers and Brightpearl contacts
kept in step both ways (DESIGN principles 1, 2 and 12; rules in `mapping/customers.py`).

Work is the ledger's pending `customer` records (key: the nopCommerce customer id), put there by:

- `discover_nop_changes`: registered customers active in the shop since the watermark
  (`Customer/GetAll?lastActivityFromUtc=`; a registration and every My-account change move
  LastActivityDateUtc; customers have no UpdatedOnUtc);
- `discover_bp_changes`: contacts changed since the watermark (`contact-search?updatedOn=`), mapped
  back through the ledger's links; a row whose `updatedOn` is the one our own last PATCH returned
  is our own echo (the origin marker kept per person) and is left alone;
- `sweep_brightpearl`: every linked contact and its default address read by ID sets (200 a
  request) and compared with the values last agreed; differing ones re-queued. A postal-address
  PUT need not move the contact's `updatedOn` (UNCONFIRMED), so this sweep is what finds address
  edits made in Brightpearl.

For each customer (one run reads customers, contacts and addresses in batches):

1. not linked yet (a registration): the contact the order flow keys by the same email (guests and
   registered accounts sharing an email are one contact), else an exact primary-email match,
   else a new postal address and contact, each under a write-ahead intent with a natural-key
   lookup (email). Before creating, Brightpearl contacts with the same last name or phone are
   compared with the duplicate engine (`quality/duplicates.py`): a suspect is flagged for
   review (needs_review, listed in `reconciliation/customers`), never merged;
2. linked: each field resolved by its owner and last-writer-wins rule against the values both
   sides last agreed (kept in the ledger, `customer_fields/<id>`), then at most one contact PATCH
   and one postal-address PUT to Brightpearl, and one Customer/Update and one Address/Update
   (read, change, write back whole) to nopCommerce; the agreed values are stored after the writes,
   so a change that reached the other side is never sent back (no ping-pong).

Every record ends synced (maybe needs-review), skipped (the customer is gone), or dead-lettered
through `sync/fate.py` (a contact another customer is linked to: `duplicate`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bp_nop_dagster.brightpearl.client import BrightpearlClient
from bp_nop_dagster.ledger import DEFAULT_LEASE_SECONDS, DEFAULT_POLICY, Ledger, RecordKind, RetryPolicy
from bp_nop_dagster.mapping.config import MappingConfig, MappingError
from bp_nop_dagster.mapping.contacts import ISO2_TO_ISO3, country_iso3, normalise_email
from bp_nop_dagster.mapping.customers import (
    IN_STEP,
    TO_BRIGHTPEARL,
    TO_NOPCOMMERCE,
    FieldDecision,
    PersonFields,
    address_changes,
    agreed,
    bp_person,
    contact_patch,
    customer_changes,
    new_contact_body,
    nop_person,
    postal_address_put,
    resolve_all,
    same,
    snapshot,
)
from bp_nop_dagster.nopcommerce.client import NopCommerceClient
from bp_nop_dagster.quality.duplicates import BRIGHTPEARL, NOPCOMMERCE, CustomerRecord, find_duplicates
from bp_nop_dagster.sync.calls import calls_into
from bp_nop_dagster.sync.cursor import SensorCursor
from bp_nop_dagster.sync.exactly_once import Deferred, WriteAhead
from bp_nop_dagster.sync.fate import DEAD_LETTERED, POSTPONED, RETRYING, SKIPPED, Fates, Outcome, mapping_of
from bp_nop_dagster.transport.errors import ValidationError

log = logging.getLogger("bp_nop_dagster.sync.customers")

CUSTOMER, CONTACT = RecordKind.CUSTOMER, RecordKind.CONTACT
FLOW = "customers"
CHUNK = 200  # customers per batch of reads (Brightpearl ID sets hold 200)
SNAPSHOT_PREFIX = "customer_fields/"
LAST_ACTIVITY_MINUTES = timedelta(minutes=15)  # nopCommerce CustomerSettings.LastActivityMinutes, as installed
NOP_OVERLAP = LAST_ACTIVITY_MINUTES + timedelta(minutes=5)
BP_OVERLAP = timedelta(minutes=5)


@dataclass
class CustomerReport:
    """What one run did (numeric metadata in the UI). `to_brightpearl` / `to_nopcommerce`
    count field values written, by field."""

    processed: int = 0
    created: int = 0
    linked: int = 0
    updated_brightpearl: int = 0
    updated_nopcommerce: int = 0
    in_step: int = 0
    needs_review: int = 0
    dead_lettered: int = 0
    pending: int = 0
    skipped: int = 0
    brightpearl_calls: int = 0
    nopcommerce_calls: int = 0
    to_brightpearl: dict[str, int] = field(default_factory=dict)
    to_nopcommerce: dict[str, int] = field(default_factory=dict)

    def as_metadata(self) -> dict[str, int]:
        flat = {k: v for k, v in self.__dict__.items() if isinstance(v, int)}
        flat.update({f"to_brightpearl/{k}": v for k, v in self.to_brightpearl.items()})
        flat.update({f"to_nopcommerce/{k}": v for k, v in self.to_nopcommerce.items()})
        return flat


# ------------------------------------------------------------------------------ ledger state
def read_snapshot(ledger: Ledger, key: str) -> dict | None:
    raw = ledger.get_watermark(SNAPSHOT_PREFIX + key)
    return json.loads(raw) if raw else None


def write_snapshot(ledger: Ledger, key: str, values: dict, bp_updated_on: datetime | None) -> None:
    ledger.set_watermark(SNAPSHOT_PREFIX + key, json.dumps(snapshot(values, bp_updated_on=bp_updated_on)))


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# ------------------------------------------------------------------------------ discovery
def discover_nop_changes(nop: NopCommerceClient, ledger: Ledger, cursor: SensorCursor, now: datetime) -> tuple[list[str], SensorCursor]:
    """Registered customers active since the watermark minus `NOP_OVERLAP`, whose shop values
    differ from the values last agreed (or that have none: a registration), into the ledger
    (re-queued when synced). Reads nopCommerce only (no quota): the customers page and each
    active customer's billing address. An edit is dated by LastActivityDateUtc at most
    `LAST_ACTIVITY_MINUTES` before it (nopCommerce moves it only on GET pages, and only once
    older than that), so the overlap covers it, and the comparison, not the date, says what
    changed. Returns the keys handed on and the next cursor."""
    since = (cursor.watermark or now - timedelta(days=1)) - NOP_OVERLAP
    role = nop.customer_role_id("Registered")
    customers = [c for c in nop.customers(last_activity_from_utc=since, role_ids=[role]) if is_shopper(nop, c)]
    iso = nop.country_iso_codes() if customers else {}
    keys = []
    for customer in sorted(customers, key=lambda c: c.id):
        state = read_snapshot(ledger, str(customer.id))
        if state is not None:
            address = nop.customer_billing_address(customer.id) if customer.billing_address_id else None
            now_fields = nop_person(customer, address, _iso3(iso, address.country_id) if address else None)
            if all(same(f, now_fields.get(f), value) for f, value in state["values"].items()):
                continue
        keys.append(str(customer.id))
    if keys:
        ledger.enqueue(CUSTOMER, keys, requeue=True)
    return keys, SensorCursor(watermark=now)


def _iso3(codes: dict[int, tuple[str | None, str | None]], country_id: int | None) -> str | None:
    """The shop's own three-letter code for a country id, else the alpha-2 code's in `ISO2_TO_ISO3`."""
    two, three = codes.get(country_id or 0, (None, None))
    return three or ISO2_TO_ISO3.get((two or "").upper())


def is_shopper(nop: NopCommerceClient, customer) -> bool:
    """Not the integration's own API user (every API call moves its LastActivityDateUtc) nor a
    system account (search engine, background task)."""
    return not customer.is_system_account and (customer.email or "").strip().lower() != nop.email.lower()


def discover_bp_changes(bp: BrightpearlClient, ledger: Ledger, cursor: SensorCursor, now: datetime) -> tuple[list[str], SensorCursor]:
    """Linked contacts changed in Brightpearl since the watermark (minus an overlap), into the
    ledger, except our own writes' echoes (origin marker). Contacts no customer is linked to
    (phone customers, suppliers) are not the flow's: `reconciliation/customers` lists them."""
    since = (cursor.watermark or now - timedelta(days=1)) - BP_OVERLAP
    rows = bp.contacts_updated_since(since)
    tokens = {f"{r.contact_id}@{_utc(r.updated_on).isoformat() if r.updated_on else ''}": r for r in rows}
    fresh = [tokens[t] for t in tokens if t not in cursor.seen]
    linked = ledger.nop_keys(CUSTOMER, [r.contact_id for r in fresh])
    keys = []
    for row in fresh:
        key = linked.get(row.contact_id)
        if key is None:
            continue
        state = read_snapshot(ledger, key) or {}
        if row.updated_on is not None and state.get("bp_updated_on") == _utc(row.updated_on).isoformat():
            continue  # our own write, already agreed
        keys.append(key)
    keys = list(dict.fromkeys(keys))
    if keys:
        ledger.enqueue(CUSTOMER, keys, requeue=True)
    newest = max((_utc(r.updated_on) for r in rows if r.updated_on), default=None)
    watermark = min(newest, now) if newest else (cursor.watermark or now)
    return keys, SensorCursor(watermark=watermark, seen=set(tokens))


def sweep_brightpearl(bp: BrightpearlClient, ledger: Ledger) -> list[str]:
    """Every linked contact and its default address against the values last agreed; the
    customers whose contact differs are re-queued. About 2 requests per 200 customers."""
    links = {link.bp_id: link.nop_key for link in ledger.links(CUSTOMER)}
    contacts = bp.contacts(links) if links else []
    addresses = {a.id: a for a in bp.postal_addresses({c.default_address_id for c in contacts if c.default_address_id})} if contacts else {}
    keys = []
    for contact in contacts:
        key = links[contact.id]
        state = read_snapshot(ledger, key)
        if state is None:
            keys.append(key)
            continue
        now = bp_person(contact, addresses.get(contact.default_address_id or 0))
        if any(not same(f, now.get(f), value) for f, value in state["values"].items()):
            keys.append(key)
    if keys:
        ledger.enqueue(CUSTOMER, keys, requeue=True)
    return keys


def enqueue_registered(nop: NopCommerceClient, ledger: Ledger) -> int:
    """Every registered customer into the ledger (a first run, or a full catch-up); known ones
    are left as they are. Returns how many were new."""
    role = nop.customer_role_id("Registered")
    shoppers = [c for c in nop.customers(role_ids=[role]) if is_shopper(nop, c)]
    return ledger.enqueue(CUSTOMER, [str(c.id) for c in sorted(shoppers, key=lambda c: c.id)])


# ------------------------------------------------------------------------------ the engine
@dataclass
class _Person:
    key: str
    customer: object
    nop: PersonFields
    nop_address_id: int | None


class CustomerSync:
    """Drains the ledger's pending customers, both ways. One instance per run."""

    def __init__(
        self,
        *,
        nop: NopCommerceClient,
        bp: BrightpearlClient,
        ledger: Ledger,
        config: MappingConfig | Callable[[], MappingConfig],
        owner: str,
        intent_lease_seconds: float = DEFAULT_LEASE_SECONDS,
        policy: RetryPolicy = DEFAULT_POLICY,
    ) -> None:
        self.nop, self.bp, self.ledger, self._config = nop, bp, ledger, config
        self.report = CustomerReport()
        self.writes = WriteAhead(ledger, owner=owner, lease_seconds=intent_lease_seconds, permanent=(ValidationError, MappingError))
        self.fates = Fates(ledger, flow=FLOW, probes={bp.system: bp.ping, nop.system: nop.ping}, policy=policy,
                           lease_seconds=intent_lease_seconds)
        self._outcomes: list[Outcome] = []
        self._countries: dict[int, tuple[str | None, str | None]] | None = None

    def run(self, limit: int | None = None) -> CustomerReport:
        """Sync up to `limit` due customers. Raises SystemicOutage (after counting) on an outage."""
        with calls_into(self.report, self.bp, self.nop):
            try:
                self.config = mapping_of(self._config, self.fates)
                keys = self.ledger.pending(CUSTOMER, limit)
                for start in range(0, len(keys), CHUNK):
                    self._chunk(keys[start : start + CHUNK])
                self.fates.finish()
            finally:
                fates = [o.fate for o in {o.key: o for o in self._outcomes}.values()]
                self.report.dead_lettered = fates.count(DEAD_LETTERED)
                self.report.pending = fates.count(RETRYING) + fates.count(POSTPONED)
                self.report.skipped = fates.count(SKIPPED)
        return self.report

    # ------------------------------------------------------------------ reads
    def _iso(self, country_id: int | None) -> tuple[str | None, str | None]:
        if self._countries is None:
            self._countries = self.nop.country_iso_codes()
        return self._countries.get(country_id or 0, (None, None))

    def _country_id(self, iso3: str | None) -> int | None:
        self._iso(None)
        return next((cid for cid, (_, three) in (self._countries or {}).items() if three and iso3 and three.upper() == iso3), None)

    def _nop_people(self, keys: list[str]) -> tuple[dict[str, _Person], list[str]]:
        customers = {c.id: c for c in self.nop.customers_by_ids(int(k) for k in keys)}
        people, gone = {}, []
        for key in keys:
            customer = customers.get(int(key))
            if customer is None:
                gone.append(key)
                continue
            address = self.nop.customer_billing_address(customer.id) if customer.billing_address_id else None
            iso2, iso3 = self._iso(address.country_id) if address is not None else (None, None)
            iso3 = iso3 or (country_iso3(iso2, self.config) if iso2 else None)
            people[key] = _Person(key, customer, nop_person(customer, address, iso3), address.id if address else None)
        return people, gone

    def _chunk(self, keys: list[str]) -> None:
        people, gone = self._nop_people(keys)
        for key in gone:
            self._outcomes.append(self.fates.skip(CUSTOMER, key, "the customer is deleted or unknown in nopCommerce", confirmed=False))
        linked = self.ledger.bp_ids(CUSTOMER, people)
        contacts = {c.id: c for c in self.bp.contacts(linked.values())} if linked else {}
        address_ids = {c.default_address_id for c in contacts.values() if c.default_address_id}
        addresses = {a.id: a for a in self.bp.postal_addresses(address_ids)} if address_ids else {}
        for key, who in people.items():
            with self.fates.settle(CUSTOMER, key, payload={"customer_id": int(key)}) as outcome:
                self._outcomes.append(outcome)
                self.report.processed += 1
                contact_id = linked.get(key)
                if contact_id is None:
                    self._link_or_create(who)
                    continue
                contact = contacts.get(contact_id)
                if contact is None:
                    contact = self.bp.contact(contact_id)  # NotFoundError: dead-lettered not_found
                self._bring_in_step(who, contact, addresses.get(contact.default_address_id or 0))

    # ------------------------------------------------------------------ new registrations
    def _link_or_create(self, who: _Person) -> None:
        """The contact for a customer not linked yet: the one the order flow keyed by the same
        email, an exact email match, or a new one (flagged when it looks like someone's double)."""
        if not self.config.customers.sync_registrations:
            self.ledger.mark_skipped(CUSTOMER, who.key, "registrations are not synced (mapping customers.sync_registrations)")
            return
        email_key = normalise_email(who.nop.email)
        contact_key = email_key or f"customer:{who.key}"
        contact_id = self.ledger.bp_id(CONTACT, contact_key)
        if contact_id is None and email_key:
            contact_id = min((r.contact_id for r in self.bp.find_contacts_by_email(who.nop.email or "")), default=None)
        if contact_id is None:
            self._create_contact(who, contact_key)
            return
        self._refuse_shared(who.key, contact_id)
        self._link_contact_key(contact_key, contact_id)
        self.ledger.link(CUSTOMER, who.key, contact_id)
        contact = self.bp.contact(contact_id)
        address = self.bp.postal_addresses([contact.default_address_id])[0] if contact.default_address_id else None
        self._bring_in_step(who, contact, address)
        self.report.linked += 1

    def _refuse_shared(self, key: str, contact_id: int) -> None:
        other = self.ledger.nop_keys(CUSTOMER, [contact_id]).get(contact_id)
        if other is not None and other != key:
            raise MappingError("duplicate", f"Brightpearl contact {contact_id} is already linked to nopCommerce customer {other} "
                                            f"(same email key): review and merge by hand")

    def _link_contact_key(self, contact_key: str, contact_id: int) -> None:
        """The order flow's email key for the contact, unless the contact has one already."""
        if not self.ledger.nop_keys(CONTACT, [contact_id]) and self.ledger.bp_id(CONTACT, contact_key) is None:
            self.ledger.link(CONTACT, contact_key, contact_id)

    def _create_contact(self, who: _Person, contact_key: str) -> None:
        """A new contact under the customer's write-ahead intent: an earlier attempt's contact is
        found by its email before anything is created. Contacts that look like the same person
        are flagged (needs review), never merged. A postal address whose create had an unknown
        outcome may be left unused (harmless; Brightpearl has no address search)."""
        email = who.nop.email
        lookup = (lambda: min((r.contact_id for r in self.bp.find_contacts_by_email(email)), default=None)) if email else (lambda: None)
        with self.writes.intent(CUSTOMER, who.key) as claim:
            contact_id = lookup() if claim.previous_attempt else None
            suspects = []
            if contact_id is None:
                suspects = self._suspects(who.nop)
                address_id = None
                if who.nop.address is not None:
                    address_id = self.bp.create_postal_address(postal_address_put(who.nop.address))
                contact_id = self.writes.create_once(lambda: self.bp.create_contact(new_contact_body(who.nop, address_id)), lookup)
            self._refuse_shared(who.key, contact_id)
            self._link_contact_key(contact_key, contact_id)
            contact = self.bp.contact(contact_id)
            values = {**bp_person(contact, None).as_dict(), "address": who.nop.address}  # the address was made from the shop's
            write_snapshot(self.ledger, who.key, values, bp_updated_on=_utc(contact.updated_on))
            self._remember_suspects(who.key, suspects)
            self.writes.complete(CUSTOMER, who.key, contact_id, needs_review=bool(suspects))
        self.report.created += 1
        if suspects:
            self.report.needs_review += 1

    def _suspects(self, fields: PersonFields) -> list[dict]:
        """Brightpearl contacts with the same last name or phone that the duplicate engine judges
        the same person (any band): [{contact_id, band, reasons}]."""
        rows = {}
        if fields.last_name:
            rows.update({r.contact_id: r for r in self.bp.contact_search({"lastName": fields.last_name})})
        if fields.phone:
            rows.update({r.contact_id: r for r in self.bp.contact_search({"pri": fields.phone})})
        rows = {i: r for i, r in rows.items() if not r.is_supplier and not r.is_staff}
        if not rows:
            return []
        contacts = self.bp.contacts(rows)
        addresses = {a.id: a for a in self.bp.postal_addresses({c.default_address_id for c in contacts if c.default_address_id})} \
            if any(c.default_address_id for c in contacts) else {}
        new = _record("new", NOPCOMMERCE, fields)
        others = [_record(f"bp:{c.id}", BRIGHTPEARL, bp_person(c, addresses.get(c.default_address_id or 0))) for c in contacts]
        queue = find_duplicates([new, *others]).queue
        found = []
        for row in queue.itertuples():
            if "new" in (row.left, row.right):
                other = row.right if row.left == "new" else row.left
                found.append({"contact_id": int(other.split(":", 1)[1]), "band": row.band, "reasons": list(row.reasons)})
        return found

    def _remember_suspects(self, key: str, suspects: list[dict]) -> None:
        if suspects:
            self.ledger.set_watermark(f"customer_suspects/{key}", json.dumps(suspects))
            log.warning("customer %s looks like Brightpearl contact(s) %s: flagged for review, not merged", key,
                        [s["contact_id"] for s in suspects])

    # ------------------------------------------------------------------ both ways
    def _bring_in_step(self, who: _Person, contact, address) -> None:
        state = read_snapshot(self.ledger, who.key)
        bp_fields = bp_person(contact, address)
        decisions = resolve_all(who.nop, bp_fields, state["values"] if state else None, self.config.customers)
        bp_updated_on = _utc(contact.updated_on)  # the contact as compared: its own row in contact-search is no news
        review = bool(self.ledger.get_watermark(f"customer_suspects/{who.key}"))
        if all(d.action == IN_STEP for d in decisions):  # nothing to write: no intent needed
            if state is None or state["values"] != agreed(decisions):
                write_snapshot(self.ledger, who.key, agreed(decisions), bp_updated_on=bp_updated_on)
            self.ledger.mark_synced(CUSTOMER, who.key, bp_id=contact.id, needs_review=review, unchanged=True)
            self.report.in_step += 1
            return
        with self.writes.intent(CUSTOMER, who.key):
            wrote_bp = self._write_brightpearl(decisions, contact, bp_fields)
            if wrote_bp is not None:
                bp_updated_on = wrote_bp
            wrote_nop = self._write_nopcommerce(who, decisions)
            write_snapshot(self.ledger, who.key, agreed(decisions), bp_updated_on=bp_updated_on)
            self.writes.complete(CUSTOMER, who.key, contact.id, needs_review=review)
        self._rekey_contact(decisions, who.nop, bp_fields, contact.id)

    def _write_brightpearl(self, decisions: list[FieldDecision], contact, bp_fields: PersonFields) -> datetime | None:
        """The contact PATCH and address PUT; Brightpearl's `updatedOn` after them (None: nothing written)."""
        wanted = [d for d in decisions if d.action == TO_BRIGHTPEARL]
        if not wanted:
            return None
        updated_on = None
        ops = contact_patch(wanted, bp_fields)
        if ops:
            updated_on = _utc(self.bp.patch_contact(contact.id, ops).updated_on)
        address = next((d for d in wanted if d.field == "address" and d.value), None)
        if address is not None:
            if not contact.default_address_id:
                raise MappingError("invalid_address", f"Brightpearl contact {contact.id} has no default postal address to update")
            self.bp.update_postal_address(contact.default_address_id, postal_address_put(address.value))
            if updated_on is None:
                updated_on = _utc(self.bp.contact(contact.id).updated_on)  # moved by the PUT or not: the marker to expect
        for d in wanted:
            self.report.to_brightpearl[d.field] = self.report.to_brightpearl.get(d.field, 0) + 1
        self.report.updated_brightpearl += 1
        return updated_on

    def _write_nopcommerce(self, who: _Person, decisions: list[FieldDecision]) -> bool:
        wanted = [d for d in decisions if d.action == TO_NOPCOMMERCE]
        if not wanted:
            return False
        changes = customer_changes(wanted)
        if changes:
            expected = {name: getattr(who.customer, name) for name in changes}
            if not self.nop.update_customer(who.customer.id, changes, expected=expected):
                raise Deferred(f"customer {who.key} changed in nopCommerce while it was being updated: read again next run")
        address = next((d for d in wanted if d.field == "address" and d.value), None)
        if address is not None:
            fields = address_changes(address.value, self._country_id(address.value.get("country_iso3")))
            if who.nop_address_id is not None:
                self.nop.update_address(who.nop_address_id, fields)
            else:
                created = self.nop.create_address({**fields, "first_name": who.nop.first_name, "last_name": who.nop.last_name,
                                                   "email": who.nop.email})
                self.nop.attach_address(who.customer.id, created.id)
                self.nop.update_customer(who.customer.id, {"billing_address_id": created.id, "shipping_address_id": created.id})
        for d in wanted:
            self.report.to_nopcommerce[d.field] = self.report.to_nopcommerce.get(d.field, 0) + 1
        self.report.updated_nopcommerce += 1
        return True

    def _rekey_contact(self, decisions: list[FieldDecision], nop: PersonFields, bp: PersonFields, contact_id: int) -> None:
        """The order flow finds a contact by its email key: after an email change the link follows."""
        email = next(d for d in decisions if d.field == "email")
        if email.action == IN_STEP or not email.value:
            return
        old = normalise_email(bp.email if email.action == TO_BRIGHTPEARL else nop.email)
        new = normalise_email(email.value)
        if old and new and self.ledger.bp_id(CONTACT, old) == contact_id:
            self.ledger.rekey(CONTACT, old, new)


ISO3_TO_ISO2 = {three: two for two, three in ISO2_TO_ISO3.items()}


def _record(record_id: str, source: str, fields: PersonFields) -> CustomerRecord:
    """A person as the duplicate engine reads it (the country lets it read national phone numbers)."""
    address = fields.address or {}
    return CustomerRecord(record_id=record_id, source=source, email=fields.email, first_name=fields.first_name,
                          last_name=fields.last_name, phone=fields.phone, postcode=address.get("postcode"),
                          street=address.get("address1"), city=address.get("city"),
                          country_iso2=ISO3_TO_ISO2.get(address.get("country_iso3") or ""))


def suspects_of(ledger: Ledger, keys: Iterable[str]) -> dict[str, list[dict]]:
    """The suspected duplicates flagged when each customer's contact was created."""
    found = {}
    for key in keys:
        raw = ledger.get_watermark(f"customer_suspects/{key}")
        if raw:
            found[key] = json.loads(raw)
    return found


def reviewed_distinct(ledger: Ledger, keys: Iterable[str]) -> dict[str, set[str]]:
    """Per customer, the records a person judged to be someone else (`mark_reviewed`)."""
    found = {}
    for key in keys:
        raw = ledger.get_watermark(f"customer_reviewed/{key}")
        if raw:
            found[key] = set(json.loads(raw))
    return found


def mark_reviewed(ledger: Ledger, key: str, distinct_from: Iterable[str]) -> None:
    """A person reviewed customer `key`'s suspected duplicates and judged them other people: the
    flag is cleared and `reconciliation/customers` no longer lists those records for it. Record
    ids as the report names them (`bp:<contact id>`, `nop:<customer id>`). Merging the same person
    stays a person's job in Brightpearl."""
    flagged = suspects_of(ledger, [key]).get(key, [])
    judged = reviewed_distinct(ledger, [key]).get(key, set()) | set(distinct_from) | {f"bp:{s['contact_id']}" for s in flagged}
    ledger.set_watermark(f"customer_reviewed/{key}", json.dumps(sorted(judged)))
    ledger.set_watermark(f"customer_suspects/{key}", "")
    record = ledger.status(CUSTOMER, key)
    if record is not None and record.status == "synced" and record.needs_review:
        ledger.mark_synced(CUSTOMER, key, needs_review=False, unchanged=True)

