"""Customers both ways: one person's fields in each system, which side wins each field, and the
writes that bring the other side in step. Pure: no I/O, no clock.

A person is a registered nopCommerce customer (its billing address) and a Brightpearl contact
(its default postal address). Their fields in one canonical form (`PersonFields`): what
Brightpearl can hold (names cut at 32 characters, phone at 50, address lines at 100, postcode at
20), so a value written to one side reads back equal from the other and nothing loops.

Equality per field (`same`): email by its matching key (`normalise_email`: case, Gmail dots,
+tags); names exactly after whitespace folding (a case change is an edit); phone by its digits
(and a leading +); address line by line, case-insensitive, postcode without spaces.

The rule per field (`resolve`), with the last values both sides agreed on (`last`, kept in the
ledger after every sync):

- both sides equal: in step;
- the field's owner (mapping `customers.<field>`) is one system: its value wins;
- owner `both`: the side that changed since `last` wins; both changed (or never synced): the
  later change wins, by timestamp (nopCommerce `LastActivityDateUtc`, the best the shop has:
  customers have no UpdatedOnUtc; Brightpearl `updatedOn`), a tie or a missing time to
  Brightpearl (the ERP); on a first sync an empty value never wins over a filled one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bp_nop_dagster.mapping.config import CustomerMapping
from bp_nop_dagster.mapping.contacts import (
    ADDRESS_LINE_LIMIT,
    NAME_LIMIT,
    PHONE_LIMIT,
    POSTAL_CODE_LIMIT,
    normalise_email,
)

FIELDS = ("email", "first_name", "last_name", "phone", "address")
ADDRESS_PARTS = ("address1", "address2", "city", "county", "postcode", "country_iso3")
IN_STEP, TO_BRIGHTPEARL, TO_NOPCOMMERCE = "in_step", "to_brightpearl", "to_nopcommerce"
NOPCOMMERCE, BRIGHTPEARL, BOTH = "nopcommerce", "brightpearl", "both"
EMAIL_LIMIT = 255

# Brightpearl contact PATCH paths (api-docs.brightpearl.com/contact/contact/patch.html)
PATCH_PATHS = {
    "email": "/communication/emails/PRI/email",
    "first_name": "/firstName",
    "last_name": "/lastName",
    "phone": "/communication/telephones/PRI",
}


def _text(value: Any, limit: int) -> str | None:
    text = " ".join(str(value or "").split())[:limit].rstrip()
    return text or None


def canonical_address(parts: Mapping[str, Any] | None) -> dict | None:
    """An address in the canonical form, or None without a first line."""
    if not parts:
        return None
    address = {
        "address1": _text(parts.get("address1"), ADDRESS_LINE_LIMIT),
        "address2": _text(parts.get("address2"), ADDRESS_LINE_LIMIT),
        "city": _text(parts.get("city"), ADDRESS_LINE_LIMIT),
        "county": _text(parts.get("county"), ADDRESS_LINE_LIMIT),
        "postcode": _text(parts.get("postcode"), POSTAL_CODE_LIMIT),
        "country_iso3": (_text(parts.get("country_iso3"), 3) or "").upper() or None,
    }
    return address if address["address1"] else None


@dataclass(frozen=True)
class PersonFields:
    """One side's view of a person, canonical (see the module docstring); `changed_at` is when
    that side last changed it, as well as that side can tell."""

    email: str | None
    first_name: str | None
    last_name: str | None
    phone: str | None
    address: dict | None
    changed_at: datetime | None = None

    def get(self, field: str) -> Any:
        return getattr(self, field)

    def as_dict(self) -> dict:
        return {field: self.get(field) for field in FIELDS}


def person(*, email: Any, first_name: Any, last_name: Any, phone: Any, address: Mapping[str, Any] | None,
           changed_at: datetime | None = None) -> PersonFields:
    return PersonFields(
        email=_text(email, EMAIL_LIMIT), first_name=_text(first_name, NAME_LIMIT), last_name=_text(last_name, NAME_LIMIT),
        phone=_text(phone, PHONE_LIMIT), address=canonical_address(address), changed_at=changed_at,
    )


def nop_person(customer, address, country_iso3: str | None) -> PersonFields:
    """A nopCommerce customer (names and phone are CustomerDto columns from 4.60) with its billing address."""
    parts = None
    if address is not None:
        parts = {"address1": address.address1, "address2": address.address2, "city": address.city, "county": address.county,
                 "postcode": address.zip_postal_code, "country_iso3": country_iso3}
    return person(email=customer.email, first_name=customer.first_name, last_name=customer.last_name, phone=customer.phone,
                  address=parts, changed_at=customer.last_activity_date_utc)


def bp_person(contact, address) -> PersonFields:
    """A Brightpearl contact with its default postal address (addressLine3 is the town and
    addressLine4 the county, as the order flow writes them)."""
    parts = None
    if address is not None:
        parts = {"address1": address.address_line1, "address2": address.address_line2, "city": address.address_line3,
                 "county": address.address_line4, "postcode": address.postal_code, "country_iso3": address.country_iso_code}
    return person(email=contact.primary_email, first_name=contact.first_name, last_name=contact.last_name,
                  phone=contact.telephone, address=parts, changed_at=contact.updated_on)


def _phone_key(value: str) -> str:
    return ("+" if value.strip().startswith("+") else "") + "".join(ch for ch in value if ch.isdigit())


def _address_key(value: Mapping[str, Any]) -> tuple:
    return tuple((value.get(part) or "").replace(" ", "" if part == "postcode" else " ").casefold() for part in ADDRESS_PARTS)


def same(field: str, a: Any, b: Any) -> bool:
    """Whether two canonical values of `field` are the same (module docstring)."""
    if not a or not b:
        return not a and not b
    if field == "email":
        return normalise_email(a) == normalise_email(b)
    if field == "phone":
        return _phone_key(a) == _phone_key(b)
    if field == "address":
        return _address_key(a) == _address_key(b)
    return a == b


@dataclass(frozen=True)
class FieldDecision:
    field: str
    action: str  # IN_STEP | TO_BRIGHTPEARL | TO_NOPCOMMERCE
    value: Any
    reason: str


def resolve(field: str, nop: PersonFields, bp: PersonFields, last: Mapping[str, Any] | None, owner: str) -> FieldDecision:
    """Which side's value of `field` wins (module docstring) and where it must be written."""
    a, b = nop.get(field), bp.get(field)
    if same(field, a, b):
        return FieldDecision(field, IN_STEP, a, "the same on both sides")
    if owner == NOPCOMMERCE:
        return FieldDecision(field, TO_BRIGHTPEARL, a, "nopCommerce owns it")
    if owner == BRIGHTPEARL:
        return FieldDecision(field, TO_NOPCOMMERCE, b, "Brightpearl owns it")
    known = last is not None and field in last
    nop_changed = not known or not same(field, a, last[field])
    bp_changed = not known or not same(field, b, last[field])
    if nop_changed and not bp_changed:
        return FieldDecision(field, TO_BRIGHTPEARL, a, "changed in nopCommerce only")
    if bp_changed and not nop_changed:
        return FieldDecision(field, TO_NOPCOMMERCE, b, "changed in Brightpearl only")
    if not known and bool(a) != bool(b):
        return (FieldDecision(field, TO_BRIGHTPEARL, a, "first sync: only nopCommerce has it") if a
                else FieldDecision(field, TO_NOPCOMMERCE, b, "first sync: only Brightpearl has it"))
    if nop.changed_at is not None and bp.changed_at is not None and nop.changed_at > bp.changed_at:
        return FieldDecision(field, TO_BRIGHTPEARL, a, "changed on both sides: nopCommerce's change is the later")
    return FieldDecision(field, TO_NOPCOMMERCE, b, "changed on both sides: Brightpearl's change is the later (or a tie)")


def resolve_all(nop: PersonFields, bp: PersonFields, last: Mapping[str, Any] | None, rules: CustomerMapping) -> list[FieldDecision]:
    return [resolve(field, nop, bp, last, rules.owner(field)) for field in FIELDS]


def agreed(decisions: list[FieldDecision]) -> dict:
    """The values both sides hold once the decisions are written (the ledger's `last`)."""
    return {d.field: d.value for d in decisions}


# ------------------------------------------------------------------------------ the writes
def contact_patch(decisions: list[FieldDecision], bp: PersonFields) -> list[dict]:
    """JSON-Patch operations for the contact fields Brightpearl must take: `replace` where it
    has a value, `add` where it has none, `remove` for a value cleared in the shop (phone and
    email only; Brightpearl allows no remove on names, so a cleared name is left as it is)."""
    ops = []
    for d in decisions:
        if d.action != TO_BRIGHTPEARL or d.field not in PATCH_PATHS:
            continue
        path, had = PATCH_PATHS[d.field], bp.get(d.field)
        if d.value:
            ops.append({"op": "replace" if had else "add", "path": path, "value": d.value})
        elif had and d.field in ("email", "phone"):
            ops.append({"op": "remove", "path": path})
    return ops


def postal_address_put(address: Mapping[str, Any]) -> dict:
    """`PUT /contact-service/postal-address/{id}` body for a canonical address (the POST's fields)."""
    body = {"addressLine1": address["address1"]}
    for key, part in (("addressLine2", "address2"), ("addressLine3", "city"), ("addressLine4", "county"), ("postalCode", "postcode")):
        body[key] = address.get(part) or ""
    if address.get("country_iso3"):
        body["countryIsoCode"] = address["country_iso3"]
    return body


def customer_changes(decisions: list[FieldDecision]) -> dict:
    """`Customer/Update` changes (CustomerDto names) for the fields nopCommerce must take. The
    email goes to `email` only (as the shop's own SetEmailAsync does; Username is left)."""
    return {d.field: d.value for d in decisions if d.action == TO_NOPCOMMERCE and d.field in PATCH_PATHS}


def address_changes(address: Mapping[str, Any], country_id: int | None) -> dict:
    """`Address/Update` changes (AddressDto names) for a canonical address."""
    changes = {"address1": address["address1"], "address2": address.get("address2"), "city": address.get("city"),
               "county": address.get("county"), "zip_postal_code": address.get("postcode")}
    if country_id is not None:
        changes["country_id"] = country_id
    return changes


def new_contact_body(fields: PersonFields, postal_address_id: int | None) -> dict:
    """`POST /contact-service/contact` for a registration: names (a missing last name becomes
    the email's mailbox name, then "Customer": Brightpearl wants a name), the email as typed,
    phone, and the postal address as default, billing and delivery address when there is one."""
    last = fields.last_name or (fields.email.split("@", 1)[0][:NAME_LIMIT] if fields.email else None) or "Customer"
    body: dict = {"lastName": last}
    if fields.first_name:
        body["firstName"] = fields.first_name
    communication: dict = {}
    if fields.email:
        communication["emails"] = {"PRI": {"email": fields.email}}
    if fields.phone:
        communication["telephones"] = {"PRI": fields.phone}
    if communication:
        body["communication"] = communication
    if postal_address_id is not None:
        body["postAddressIds"] = {"DEF": postal_address_id, "BIL": postal_address_id, "DEL": postal_address_id}
    return body


def snapshot(values: Mapping[str, Any], *, bp_updated_on: datetime | None) -> dict:
    """What the ledger keeps per person after a sync: the agreed values, and Brightpearl's
    `updatedOn` after this integration's own write (its origin marker: a contact-search row with
    exactly that time is our own echo and is not worked on again)."""
    return {"values": dict(values), "bp_updated_on": bp_updated_on.isoformat() if bp_updated_on else None}


__all__ = [
    "BOTH", "BRIGHTPEARL", "FIELDS", "IN_STEP", "NOPCOMMERCE", "TO_BRIGHTPEARL", "TO_NOPCOMMERCE", "FieldDecision",
    "PersonFields", "address_changes", "agreed", "bp_person", "canonical_address", "contact_patch", "customer_changes",
    "new_contact_body", "nop_person", "person", "postal_address_put", "resolve", "resolve_all", "same", "snapshot",
]
