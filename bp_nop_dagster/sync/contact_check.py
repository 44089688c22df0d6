"""Contact validation of nopCommerce orders, between the order flow and `quality.contacts`: the
records an order's addresses make, and the hold of an order whose contact has an ERROR-level issue
(mapping `quality.hold_invalid_contacts`; README, "Data quality").

An order makes one `ContactRecord` per address: `order:<id>/billing` and, when it differs,
`order:<id>/shipping`. The address names its state by id only (`state_province_id`); `state` turns
it into the state's abbreviation (the client's cached `StateProvince/GetById`), so the postcode is
checked against its country and, where the address data has per-state prefixes (US, CA, ...),
against its state (POSTCODE_STATE_MISMATCH, an ERROR).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from bp_nop_dagster.mapping.config import MappingError, QualityMapping
from bp_nop_dagster.nopcommerce.models import Address, OrderDetails
from bp_nop_dagster.quality.common import Issue, Severity
from bp_nop_dagster.quality.contacts import ContactRecord, ContactRules, ContactValidator


def contact_rules(quality: QualityMapping) -> ContactRules:
    return ContactRules(allow_test_domains=quality.allow_test_domains)


Lookup = Callable[[int | None], str | None]


def _record(record_id: str, address: Address, iso2: Lookup, state: Lookup) -> ContactRecord:
    return ContactRecord(record_id=record_id, country_iso2=iso2(address.country_id), state=state(address.state_province_id),
                         zip_postal_code=address.zip_postal_code, city=address.city, phone=address.phone_number, email=address.email)


def order_contacts(detail: OrderDetails, iso2: Lookup, state: Lookup) -> list[ContactRecord]:
    """The order's billing address and, when it is another address, its shipping address;
    `iso2` names a country id, `state` a state/province id (its abbreviation)."""
    out = []
    billing, shipping = detail.billing_address, detail.shipping_address
    if billing is not None:
        out.append(_record(f"order:{detail.order.id}/billing", billing, iso2, state))
    if shipping is not None and (billing is None or shipping.id != billing.id):
        out.append(_record(f"order:{detail.order.id}/shipping", shipping, iso2, state))
    return out


def contacts_of(details: Iterable[OrderDetails], iso2: Lookup, state: Lookup) -> list[ContactRecord]:
    return [record for detail in details for record in order_contacts(detail, iso2, state)]


def describe(issue: Issue) -> str:
    """One issue in words, with its suggestion: what the dead letter and the issues table say."""
    where = issue.record_id.rpartition("/")[2]
    text = f"{where} {issue.field} {issue.code}: {issue.message}"
    return text + (f" (suggestion: {issue.suggestion})" if issue.suggestion else "")


class ContactGate:
    """Holds orders whose contacts have ERROR-level issues (one validator per run: it caches
    per distinct value)."""

    def __init__(self, quality: QualityMapping, iso2: Lookup, state: Lookup) -> None:
        self.validator = ContactValidator(contact_rules(quality))
        self.iso2, self.state = iso2, state

    def errors(self, detail: OrderDetails) -> list[Issue]:
        return [issue for record in order_contacts(detail, self.iso2, self.state) for issue in self.validator.check(record).issues
                if issue.severity is Severity.ERROR]

    def check(self, detail: OrderDetails) -> None:
        """Raises MappingError `invalid_address` naming each ERROR issue and its suggestion."""
        errors = self.errors(detail)
        if errors:
            raise MappingError("invalid_address", f"order {detail.order.id} held for review: " + "; ".join(describe(i) for i in errors)
                               + ". Correct the address in nopCommerce, then replay")


__all__ = ["ContactGate", "contact_rules", "contacts_of", "describe", "order_contacts"]
