"""Contacts and postal addresses: nopCommerce customer/address → Brightpearl bodies (notes §6).

Pure functions: no I/O, no clock. The email key (`normalise_email`) is for *matching* only; the
contact is always created with the email as the customer typed it (data-quality notes §3).
"""

from __future__ import annotations

from bp_nop_dagster.mapping.config import MappingConfig, MappingError
from bp_nop_dagster.nopcommerce.models import Address

NAME_LIMIT = 32  # Brightpearl firstName / lastName (notes §6)
ADDRESS_LINE_LIMIT = 100  # address lines (and organisation.name), as the sandbox enforces
POSTAL_CODE_LIMIT = 20
PHONE_LIMIT = 50

# ISO 3166-1 alpha-2 → alpha-3: the EU 27, EEA/EFTA, UK and Crown dependencies, North America,
# Oceania and other common shipping destinations. `countries:` in the mapping adds or overrides.
ISO2_TO_ISO3: dict[str, str] = {
    # EU
    "AT": "AUT", "BE": "BEL", "BG": "BGR", "HR": "HRV", "CY": "CYP", "CZ": "CZE", "DK": "DNK", "EE": "EST",
    "FI": "FIN", "FR": "FRA", "DE": "DEU", "GR": "GRC", "HU": "HUN", "IE": "IRL", "IT": "ITA", "LV": "LVA",
    "LT": "LTU", "LU": "LUX", "MT": "MLT", "NL": "NLD", "PL": "POL", "PT": "PRT", "RO": "ROU", "SK": "SVK",
    "SI": "SVN", "ES": "ESP", "SE": "SWE",
    # rest of Europe
    "GB": "GBR", "IM": "IMN", "JE": "JEY", "GG": "GGY", "GI": "GIB", "IS": "ISL", "LI": "LIE", "NO": "NOR",
    "CH": "CHE", "MC": "MCO", "AD": "AND", "SM": "SMR", "VA": "VAT", "AL": "ALB", "BA": "BIH", "ME": "MNE",
    "MK": "MKD", "RS": "SRB", "MD": "MDA", "UA": "UKR", "TR": "TUR", "FO": "FRO", "GL": "GRL",
    # Americas
    "US": "USA", "CA": "CAN", "MX": "MEX", "BR": "BRA", "AR": "ARG", "CL": "CHL", "CO": "COL", "PE": "PER",
    "CR": "CRI", "PR": "PRI",
    # Asia-Pacific, Middle East, Africa
    "AU": "AUS", "NZ": "NZL", "JP": "JPN", "CN": "CHN", "HK": "HKG", "SG": "SGP", "KR": "KOR", "TW": "TWN",
    "IN": "IND", "MY": "MYS", "TH": "THA", "PH": "PHL", "ID": "IDN", "VN": "VNM", "AE": "ARE", "SA": "SAU",
    "IL": "ISR", "QA": "QAT", "ZA": "ZAF", "EG": "EGY", "NG": "NGA", "KE": "KEN", "MA": "MAR",
}

# Providers whose mailboxes ignore a `+tag` in the local part (subaddressing), so
# `jo+shop@outlook.com` reaches `jo@outlook.com`. Only Gmail also ignores dots. Yahoo is NOT
# here on purpose: its disposable addresses use `-` with a base name that is not the account
# name, so stripping would merge different people; Yahoo keys are only lower-cased.
PLUS_TAG_DOMAINS = frozenset({
    "gmail.com",
    "outlook.com", "hotmail.com", "hotmail.co.uk", "hotmail.fr", "hotmail.de", "live.com", "live.co.uk", "msn.com",
    "icloud.com", "me.com", "mac.com",
    "fastmail.com", "fastmail.fm",
    "protonmail.com", "proton.me", "pm.me",
})
GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})


def normalise_email(email: str | None) -> str | None:
    """The matching key of an email: stripped and lower-cased; for Gmail (and googlemail.com,
    folded to gmail.com) the dots of the local part are dropped; for the providers in
    `PLUS_TAG_DOMAINS` a `+tag` is dropped. None or blank → None. A value without exactly one
    `@` is only stripped and lower-cased (it is still a usable, if odd, key)."""
    if email is None:
        return None
    text = email.strip().lower()
    if not text:
        return None
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain or "@" in local:
        return text
    if domain in GMAIL_DOMAINS:
        domain = "gmail.com"
        local = local.replace(".", "")
    if domain in PLUS_TAG_DOMAINS:
        local = local.split("+", 1)[0]
    if not local:
        return text
    return f"{local}@{domain}"


def country_iso3(iso2: str | None, config: MappingConfig) -> str:
    """ISO alpha-3 for an alpha-2 code (config overrides first); an alpha-3 code the mapping
    knows is passed through. Unknown or missing → MappingError("invalid_address")."""
    code = (iso2 or "").strip().upper()
    if not code:
        raise MappingError("invalid_address", "the address has no country")
    if code in config.countries:
        return config.countries[code]
    if code in ISO2_TO_ISO3:
        return ISO2_TO_ISO3[code]
    if len(code) == 3 and (code in ISO2_TO_ISO3.values() or code in config.countries.values()):
        return code
    raise MappingError(
        "invalid_address",
        f"country {code!r} has no ISO alpha-3 code in the mapping (add it under `countries:`)",
    )


def _text(value: str | None, limit: int = ADDRESS_LINE_LIMIT) -> str | None:
    if value is None:
        return None
    text = " ".join(value.split())
    return text[:limit] if text else None


def postal_code_text(address: Address) -> str | None:
    """The address's postcode, whitespace-normalised; longer than Brightpearl's 20 characters →
    MappingError("invalid_address") (a truncated postcode would be a wrong one)."""
    text = " ".join((address.zip_postal_code or "").split())
    if len(text) > POSTAL_CODE_LIMIT:
        raise MappingError("invalid_address", f"address {address.id}: postcode {text[:40]!r} is longer than {POSTAL_CODE_LIMIT} characters")
    return text or None


def phone_text(phone: str | None) -> str | None:
    text = " ".join((phone or "").split())
    return text[:PHONE_LIMIT] or None


def postal_address_body(address: Address, country_iso3: str) -> dict:
    """`POST /contact-service/postal-address` body. addressLine1 is required by Brightpearl:
    a blank `address1` raises MappingError("invalid_address"). Empty optional fields are left out."""
    line1 = _text(address.address1)
    if not line1:
        raise MappingError("invalid_address", f"address {address.id} has no first address line")
    iso3 = (country_iso3 or "").strip().upper()
    if len(iso3) != 3 or not iso3.isalpha():
        raise MappingError("invalid_address", f"address {address.id}: {country_iso3!r} is not an ISO alpha-3 country code")
    body: dict = {"addressLine1": line1}
    for key, value in (
        ("addressLine2", address.address2),
        ("addressLine3", address.city),
        ("addressLine4", address.county),
    ):
        text = _text(value)
        if text:
            body[key] = text
    postal_code = postal_code_text(address)
    if postal_code:
        body["postalCode"] = postal_code
    body["countryIsoCode"] = iso3
    return body


def _name(value: str | None) -> str:
    return " ".join((value or "").split())


def split_name(first_name: str | None, last_name: str | None, *, company: str | None = None,
               email: str | None = None) -> tuple[str, str]:
    """(firstName, lastName) for Brightpearl, each at most 32 characters. A missing last name is
    taken from a multi-word first name ("Mary Ann Smith" → "Mary Ann", "Smith"), else the company,
    else the email's local part, else "Customer"; a missing first name stays empty."""
    first, last = _name(first_name), _name(last_name)
    if not last:
        if " " in first:
            first, last = first.rsplit(" ", 1)
        elif _name(company):
            last = _name(company)
        elif email and "@" in email and email.strip().split("@", 1)[0]:
            last = email.strip().split("@", 1)[0]
        else:
            last = "Customer"
    return first[:NAME_LIMIT].rstrip(), last[:NAME_LIMIT].rstrip()


def contact_body(*, first_name: str | None, last_name: str | None, email: str | None, phone: str | None,
                 company: str | None, postal_address_id: int) -> dict:
    """`POST /contact-service/contact` body: names (≤32), the one postal address as default,
    billing and delivery address, the email as typed (stripped), phone and company if given."""
    first, last = split_name(first_name, last_name, company=company, email=email)
    body: dict = {}
    if first:
        body["firstName"] = first
    body["lastName"] = last
    body["postAddressIds"] = {"DEF": postal_address_id, "BIL": postal_address_id, "DEL": postal_address_id}
    communication: dict = {}
    if email and email.strip():
        communication["emails"] = {"PRI": {"email": email.strip()}}
    if phone_text(phone):
        communication["telephones"] = {"PRI": phone_text(phone)}
    if communication:
        body["communication"] = communication
    if company and _name(company):
        body["organisation"] = {"name": _name(company)[:ADDRESS_LINE_LIMIT]}
    return body


__all__ = [
    "ISO2_TO_ISO3",
    "MappingError",
    "PLUS_TAG_DOMAINS",
    "contact_body",
    "country_iso3",
    "normalise_email",
    "phone_text",
    "postal_address_body",
    "postal_code_text",
    "split_name",
]
