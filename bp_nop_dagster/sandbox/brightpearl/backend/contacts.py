"""contact-service: postal addresses (POST, PUT, GET), contacts (POST, PATCH, GET by ID set or
paged, OPTIONS, search) and the order parties built from a contact and its addresses.

Contact PATCH (api-docs.brightpearl.com/contact/contact/patch.html; customer__patch__simple_patch.json):
JSON-Patch on /salutation (test, add, replace, remove), /firstName and /lastName (test, add,
replace), /communication/telephones/{PRI,SEC,MOB,FAX} and /communication/emails/{PRI,SEC,TER}/email
(every operation: test, add, replace, remove, move, copy), /marketingDetails/isReceiveEmailNewsletter
(test, replace), /leadTime and /companyId (replace); the POST's validation; the reply is the
contact, its `updatedOn` set (recorded: 15:19:52 after the same day's GET said 14:59:22). Another
op or path answers the order PATCH's recorded 500 CMNC-044 (its use for contacts is inferred, like
the 400 for a failed `test`). Postal Address PUT (…/contact/postal-address/put.html): the POST's
fields, `addressLine1` required, -> `{}`; whether it moves the contact's `updatedOn` is inferred
(`FidelityOptions.contact_updated_on_by_address`).

Sources: Postal Address POST (api-docs.brightpearl.com/contact/postal-address/post.html:
`addressLine1` is the only required field; country by `countryIsoCode` or `countryId`), contact
GET and search as recorded (customer__get__simple_get.json, customer__search__simple_search.json:
`communication.emails.PRI.email`), Contact POST (docs/reference/brightpearl-api.md section 6).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bp_nop_dagster.sandbox.brightpearl.backend.common import (
    STAFF_ID,
    BrightpearlApiError,
    Service,
    as_int,
    as_object,
    as_text,
    bad,
    fmt_dt,
    idset_ids,
    not_found,
)
from bp_nop_dagster.sandbox.brightpearl.backend.reference import COUNTRY_BY_KEY, find_country
from bp_nop_dagster.sandbox.brightpearl.backend.search import Col, SearchSpec

ALL_OPS = ("test", "add", "replace", "remove", "move", "copy")
# PATCH path -> (Contact attribute, operations, value kind: max length of a string, "bool" or "int")
CONTACT_PATCH_PATHS: dict[str, tuple[str, tuple[str, ...], Any]] = {
    "/salutation": ("salutation", ("test", "add", "replace", "remove"), 32),
    "/firstName": ("first_name", ("test", "add", "replace"), 32),
    "/lastName": ("last_name", ("test", "add", "replace"), 32),
    "/communication/telephones/PRI": ("phone", ALL_OPS, 50),
    "/communication/telephones/SEC": ("phone2", ALL_OPS, 50),
    "/communication/telephones/MOB": ("mobile", ALL_OPS, 50),
    "/communication/telephones/FAX": ("fax", ALL_OPS, 50),
    "/communication/emails/PRI/email": ("email", ALL_OPS, 255),
    "/communication/emails/SEC/email": ("email2", ALL_OPS, 255),
    "/communication/emails/TER/email": ("email3", ALL_OPS, 255),
    "/marketingDetails/isReceiveEmailNewsletter": ("newsletter", ("test", "replace"), "bool"),
    "/leadTime": ("lead_time", ("replace",), "int"),
    "/companyId": ("company_id", ("replace",), "int"),
}
PARTY_KEYS = ("addressFullName", "companyName", "addressLine1", "addressLine2", "addressLine3", "addressLine4",
              "postalCode", "telephone", "mobileTelephone", "fax", "email")


@dataclass(slots=True)
class Contact:
    id: int
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    created_on: datetime
    updated_on: datetime
    addresses: dict[str, int] = field(default_factory=dict)
    salutation: str = ""
    company: str = ""
    is_supplier: bool = False
    is_staff: bool = False
    email2: str = ""
    email3: str = ""
    phone2: str = ""
    mobile: str = ""
    price_list_id: int = 2
    newsletter: bool = False
    fax: str = ""
    lead_time: int = 0  # days (PATCH /leadTime); a purchase order's default delivery date adds it
    company_id: int = 0


class ContactService(Service):
    """Postal addresses and contacts."""

    def __init__(self, account) -> None:
        super().__init__(account)
        self.addresses: dict[int, dict] = {}
        self.contacts: dict[int, Contact] = {}

    # ------------------------------------------------------------ postal addresses

    def _address_fields(self, body: Any) -> dict:
        """The fields of a postal address POST or PUT body. Only `addressLine1` is required
        (documented); without a country the address takes the account's own
        (`default_country_iso3`, inferred)."""
        body = as_object(body, "body")
        line1 = as_text(body.get("addressLine1"), "addressLine1", 100, "CONC-010")
        if not line1:
            raise bad("CONC-010", "addressLine1 is required")
        if body.get("countryIsoCode") is not None:
            country = find_country(body["countryIsoCode"], "countryIsoCode", "CONC-011")
        elif body.get("countryId") is not None:
            country = find_country(as_int(body["countryId"], "countryId", "CONC-011"), "countryId", "CONC-011")
        else:
            country = find_country(self.options.default_country_iso3, "default country", "CONC-011")
        return {
            "addressLine1": line1,
            "addressLine2": as_text(body.get("addressLine2"), "addressLine2", 100, "CONC-010") or "",
            "addressLine3": as_text(body.get("addressLine3"), "addressLine3", 100, "CONC-010") or "",
            "addressLine4": as_text(body.get("addressLine4"), "addressLine4", 100, "CONC-010") or "",
            "postalCode": as_text(body.get("postalCode"), "postalCode", 20, "CONC-010") or "",
            "countryId": country[2], "countryIsoCode": country[1], "countryIsoCode2": country[0],
        }

    def create_postal_address(self, body: Any) -> int:
        """`POST /contact-service/postal-address` -> the new address id."""
        fields = self._address_fields(body)
        address_id = self.next_id("address")
        self.addresses[address_id] = {"addressId": address_id, "contactId": 0, **fields}
        return address_id

    def api_update_postal_address(self, address_id: str, body: Any) -> dict:
        """`PUT /contact-service/postal-address/{id}` -> `{}`: the address's fields replaced."""
        aid = as_int(address_id, "addressId", "CMNC-011")
        address = self.addresses.get(aid)
        if address is None:
            raise not_found(f"Postal address {aid} not found")
        address.update(self._address_fields(body))
        contact = self.contacts.get(address["contactId"])
        if contact is not None and self.options.contact_updated_on_by_address:
            contact.updated_on = self.now()
        return {}

    def api_get_addresses(self, idset: str) -> dict:
        found = [dict(self.addresses[i]) for i in idset_ids(idset, 200) if i in self.addresses]
        if not found:
            raise not_found("No Postal Addresses Found")
        return {"response": found}

    # ------------------------------------------------------------ contacts

    def add_contact(self, *, first_name: str, last_name: str, email: str | None, phone: str | None = None,
                    address: dict | None = None, created_on: datetime | None = None, company: str | None = None,
                    supplier: bool = False) -> int:
        """Generator interface: a customer (or a supplier, on the cost price list) with an optional
        address, through the POST rules."""
        body: dict[str, Any] = {"firstName": first_name, "lastName": last_name,
                                "communication": {"emails": {"PRI": {"email": email}} if email else {},
                                                  "telephones": {"PRI": phone} if phone else {}}}
        if company:
            body["organisation"] = {"name": company}
        if supplier:
            body["relationshipToAccount"] = {"isSupplier": True}
            body["financialDetails"] = {"priceListId": 1}
        if address:
            address_id = self.create_postal_address(address)
            body["postAddressIds"] = {"DEF": address_id, "BIL": address_id, "DEL": address_id}
        return self.create_contact(body, created_on=created_on)

    def create_contact(self, body: Any, created_on: datetime | None = None) -> int:
        """`POST /contact-service/contact`. Emails are read from `communication.emails.{PRI,SEC,TER}.email`
        (the recorded shape); a top-level `emails` is refused or stored (`contact_flat_emails`,
        inferred), never dropped silently."""
        body = as_object(body, "body")
        first = as_text(body.get("firstName"), "firstName", 32, "CONC-004") or ""
        last = as_text(body.get("lastName"), "lastName", 32, "CONC-004") or ""
        organisation = as_object(body.get("organisation"), "organisation")
        company = as_text(organisation.get("name"), "organisation.name", 100, "CONC-004") or ""
        if not (first or last or company):
            raise bad("CONC-003", "You must supply a first name, last name or company name")
        addresses = as_object(body.get("postAddressIds"), "postAddressIds")
        address_ids: dict[str, int] = {}
        for key in ("DEF", "BIL", "DEL"):
            if addresses.get(key) is None:
                continue
            address_id = as_int(addresses[key], f"postAddressIds.{key}", "CONC-005")
            if address_id not in self.addresses:
                raise bad("CONC-005", f"Postal address {address_id} does not exist")
            address_ids[key] = address_id
        if address_ids:
            default = address_ids.get("DEF") or next(iter(address_ids.values()))
            for key in ("DEF", "BIL", "DEL"):
                address_ids.setdefault(key, default)
        communication = as_object(body.get("communication"), "communication")
        emails = as_object(communication.get("emails"), "communication.emails")
        if body.get("emails") is not None:
            if self.options.contact_flat_emails == "refuse":
                raise bad("CONC-009", "emails belongs in communication.emails ({\"PRI\": {\"email\": ...}})")
            emails = {**as_object(body["emails"], "emails"), **emails}
        phones = as_object(communication.get("telephones"), "communication.telephones")

        def email(key: str) -> str:
            return as_text(as_object(emails.get(key), f"communication.emails.{key}").get("email"),
                           f"communication.emails.{key}.email", 255, "CONC-006") or ""

        relationship = as_object(body.get("relationshipToAccount"), "relationshipToAccount")
        financial = as_object(body.get("financialDetails"), "financialDetails")
        when = created_on or self.now()
        contact_id = self.next_id("contact")
        contact = Contact(
            id=contact_id, first_name=first, last_name=last, email=email("PRI") or None,
            phone=as_text(phones.get("PRI"), "telephones.PRI", 50, "CONC-007") or None,
            created_on=when, updated_on=when, addresses=address_ids,
            salutation=as_text(body.get("salutation"), "salutation", 20, "CONC-004") or "", company=company,
            is_supplier=bool(relationship.get("isSupplier", False)), is_staff=bool(relationship.get("isStaff", False)),
            email2=email("SEC"), email3=email("TER"),
            phone2=as_text(phones.get("SEC"), "telephones.SEC", 50, "CONC-007") or "",
            mobile=as_text(phones.get("MOB"), "telephones.MOB", 50, "CONC-007") or "",
            price_list_id=as_int(financial.get("priceListId", 2), "financialDetails.priceListId", "CONC-008"),
            newsletter=bool(as_object(body.get("marketingDetails"), "marketingDetails").get("isReceiveEmailNewsletter", False)),
        )
        self.contacts[contact_id] = contact
        for address_id in set(address_ids.values()):
            if not self.addresses[address_id]["contactId"]:
                self.addresses[address_id]["contactId"] = contact_id
        return contact_id

    def _contact_dict(self, c: Contact) -> dict:
        emails = {}
        if c.email:
            emails["PRI"] = {"email": c.email}
        if c.email2:
            emails["SEC"] = {"email": c.email2}
        if c.email3:
            emails["TER"] = {"email": c.email3}
        phones = {k: v for k, v in (("PRI", c.phone), ("SEC", c.phone2), ("MOB", c.mobile), ("FAX", c.fax)) if v}
        organisation: dict[str, Any] = {"organisationId": c.id}
        if c.company:
            organisation["name"] = c.company
        return {
            "contactId": c.id, "isPrimaryContact": True, "salutation": c.salutation, "firstName": c.first_name,
            "lastName": c.last_name, "postAddressIds": dict(c.addresses),
            "communication": {"emails": emails, "telephones": phones, "messagingVoips": {}, "websites": {}},
            "contactStatus": {"current": {"contactStatusId": 0}},
            "relationshipToAccount": {"isSupplier": c.is_supplier, "isStaff": c.is_staff},
            "marketingDetails": {"isReceiveEmailNewsletter": c.newsletter},
            "financialDetails": {"priceListId": c.price_list_id, "nominalCode": "4000", "creditLimit": 0,
                                 "creditTermDays": 0, "currencyId": 1, "discountPercentage": 0.0, "creditTermTypeId": 1},
            "assignment": {"current": {}}, "organisation": organisation, "tradeStatus": "RETAIL",
            "createdByid": STAFF_ID, "createdOn": fmt_dt(c.created_on), "updatedOn": fmt_dt(c.updated_on),
            "contactTags": "", "aliases": {}, "companyId": c.company_id,
        }

    def api_patch_contact(self, contact_id: str, body: Any) -> dict:
        """`PATCH /contact-service/contact/{id}` (see the module docstring) -> the contact."""
        cid = as_int(contact_id, "contactId", "CMNC-011")
        contact = self.contacts.get(cid)
        if contact is None:
            raise not_found(f"Contact {cid} not found")
        if not isinstance(body, list) or not body:
            raise bad("CMNC-010", "You must supply a JSON formatted body with your request")
        values = {path: "" if getattr(contact, attr) is None else getattr(contact, attr)
                  for path, (attr, _, _) in CONTACT_PATCH_PATHS.items()}
        for operation in body:
            if not isinstance(operation, dict):
                raise bad("CMNC-010", "A JSON-Patch body is an array of operation objects")
            op, path = operation.get("op"), operation.get("path")
            allowed = CONTACT_PATCH_PATHS.get(path, (None, (), None))[1]
            source = operation.get("from")
            if op not in allowed or (op in ("move", "copy") and CONTACT_PATCH_PATHS.get(source, (None, ()))[1] != ALL_OPS):
                raise BrightpearlApiError(500, "CMNC-044", f"Invalid patch operation ({op}) for given path ({path})")
            if op == "test":
                if values[path] != self._patch_value(path, operation.get("value")):
                    raise bad("CMNC-045", f"Test operation failed for path ({path})")
            elif op == "remove":
                values[path] = "" if isinstance(values[path], str) else values[path]
            elif op in ("move", "copy"):
                values[path] = values[source]
                if op == "move":
                    values[source] = ""
            else:
                values[path] = self._patch_value(path, operation.get("value"))
        if not (values["/firstName"] or values["/lastName"] or contact.company):
            raise bad("CONC-003", "You must supply a first name, last name or company name")
        for path, (attr, _, _) in CONTACT_PATCH_PATHS.items():
            setattr(contact, attr, values[path] if values[path] != "" or attr not in ("email", "phone") else None)
        contact.updated_on = self.now()
        return {"response": self._contact_dict(contact)}

    @staticmethod
    def _patch_value(path: str, value: Any) -> Any:
        """A PATCH value read with the contact POST's rules for its field."""
        kind = CONTACT_PATCH_PATHS[path][2]
        if kind == "bool":
            if not isinstance(value, bool):
                raise bad("CONC-012", f"{path} must be a boolean")
            return value
        if kind == "int":
            return as_int(value, path, "CONC-012")
        return as_text(value, path, kind, "CONC-004") or ""

    def api_get_contacts(self, idset: str | None, query: Mapping[str, str]) -> dict:
        """`GET /contact-service/contact[/{idset}]`: without an ID set, pages of 200 by firstResult / pageSize."""
        if idset is None:
            try:
                first = int(query.get("firstResult", 1))
                size = min(int(query.get("pageSize", 200)), 200)
            except ValueError:
                raise bad("CMNC-020", "pageSize and firstResult must be integers") from None
            if first < 1 or size < 1:
                raise bad("CMNC-020", "pageSize and firstResult must be at least 1")
            ids = list(self.contacts)
            chosen = ids[first - 1 : first - 1 + size]
            more = first - 1 + len(chosen) < len(ids)
        else:
            chosen = [i for i in idset_ids(idset, 200) if i in self.contacts]
            first, more = 1, False
        if not chosen:
            raise not_found("No Contact Found")
        return {
            "response": [self._contact_dict(self.contacts[i]) for i in chosen],
            "pagination": {"morePagesAvailable": more, "resultsReturned": len(chosen), "firstResult": first,
                           "lastResult": first + len(chosen) - 1},
            "sorting": [{"field": "contactId", "direction": "ASC"}],
        }

    # ------------------------------------------------------------ order parties

    def party(self, contact: Contact | None, address: dict | None, what: str, error_code: str) -> dict:
        """An order party (customer / delivery / billing) from a body address or the contact's."""
        source: dict[str, Any] = {}
        if contact is not None:
            role = {"customer": "DEF", "delivery": "DEL", "billing": "BIL"}.get(what, "DEF")
            stored = self.addresses.get(contact.addresses.get(role, 0))
            if stored:
                source.update(stored)
            source["addressFullName"] = f"{contact.first_name} {contact.last_name}".strip()
            source["companyName"] = contact.company
            source["telephone"] = contact.phone or ""
            source["mobileTelephone"] = contact.mobile
            source["email"] = contact.email or ""
        if address:
            given = as_object(address, f"{what}.address")
            for key in PARTY_KEYS:
                if key in given and given[key] is not None:
                    source[key] = as_text(given[key], f"{what}.address.{key}", 255, error_code)
            if given.get("countryIsoCode") is not None:
                source["countryIsoCode"] = find_country(given["countryIsoCode"], f"{what}.address.countryIsoCode", error_code)[1]
            elif given.get("countryId") is not None:
                source["countryIsoCode"] = find_country(as_int(given["countryId"], "countryId", error_code), "countryId",
                                                        error_code)[1]
        party = {key: source.get(key) or "" for key in PARTY_KEYS[:7]}
        country = COUNTRY_BY_KEY.get(source.get("countryIsoCode") or self.options.default_country_iso3)
        party["country"] = country[3]
        party["telephone"] = source.get("telephone") or ""
        party["mobileTelephone"] = source.get("mobileTelephone") or ""
        party["fax"] = source.get("fax") or ""
        party["email"] = source.get("email") or ""
        party["countryId"] = country[2]
        party["countryIsoCode"] = country[0]
        party["countryIsoCode3"] = country[1]
        return party

    # ------------------------------------------------------------ search

    def search_specs(self) -> dict[str, SearchSpec]:
        cols = [
            Col("contactId", "IDSET", lambda c: c.id),
            Col("primaryEmail", "SEARCH_STRING", lambda c: c.email or ""),
            Col("secondaryEmail", "SEARCH_STRING", lambda c: c.email2),
            Col("tertiaryEmail", "SEARCH_STRING", lambda c: c.email3),
            Col("firstName", "SEARCH_STRING", lambda c: c.first_name),
            Col("lastName", "SEARCH_STRING", lambda c: c.last_name),
            Col("isSupplier", "BOOLEAN", lambda c: c.is_supplier, sortable=False),
            Col("companyName", "SEARCH_STRING", lambda c: c.company),
            Col("isStaff", "BOOLEAN", lambda c: c.is_staff, sortable=False),
            Col("isCustomer", "BOOLEAN", lambda c: not (c.is_supplier or c.is_staff), sortable=False),
            Col("createdOn", "PERIOD", lambda c: c.created_on),
            Col("updatedOn", "PERIOD", lambda c: c.updated_on),
            Col("lastContactedOn", "PERIOD", lambda c: None),
            Col("lastOrderedOn", "PERIOD", lambda c: None),
            Col("nominalCode", "INTEGER", lambda c: 4000),
            Col("isPrimary", "BOOLEAN", lambda c: True),
            Col("pri", "STRING", lambda c: c.phone or "", sortable=False),
            Col("sec", "STRING", lambda c: c.phone2, sortable=False),
            Col("mob", "STRING", lambda c: c.mobile, sortable=False),
            Col("exactCompanyName", "STRING", lambda c: c.company),
            Col("title", "STRING", lambda c: c.salutation or None),
        ]
        return {"contact": SearchSpec(cols, lambda: list(self.contacts.values()))}
