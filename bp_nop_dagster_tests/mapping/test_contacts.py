from __future__ import annotations

import pytest

from bp_nop_dagster.mapping.config import load_mapping_config
from bp_nop_dagster.mapping.contacts import MappingError, contact_body, country_iso3, normalise_email, postal_address_body
from bp_nop_dagster_tests.mapping.nop_orders import address

CONFIG = load_mapping_config()


@pytest.mark.parametrize(
    "email, key",
    [
        (None, None),
        ("", None),
        ("   ", None),
        ("  Ada@Example.COM ", "ada@example.com"),
        ("A.Da.Love+shop@Gmail.com", "adalove@gmail.com"),
        ("a.da@googlemail.com", "ada@gmail.com"),
        ("jo+news@outlook.com", "jo@outlook.com"),
        ("jo+news@hotmail.co.uk", "jo@hotmail.co.uk"),
        ("Jo.Smith+x@icloud.com", "jo.smith@icloud.com"),
        ("jo.smith+x@yahoo.com", "jo.smith+x@yahoo.com"),  # yahoo: no plus addressing; only lower-cased
        ("jo.smith+x@example.org", "jo.smith+x@example.org"),  # unknown provider: +tag kept
        ("first.last@company.co.uk", "first.last@company.co.uk"),
        ("not-an-email", "not-an-email"),
        ("+tag@gmail.com", "+tag@gmail.com"),
        ("zoë@exämple.de", "zoë@exämple.de"),
    ],
)
def test_normalise_email(email, key):
    assert normalise_email(email) == key
    if key is not None:
        assert normalise_email(key) == key  # idempotent


@pytest.mark.parametrize(
    "iso2, config_countries, iso3",
    [
        ("GB", {}, "GBR"), ("gb", {}, "GBR"), (" US ", {}, "USA"), ("DE", {}, "DEU"), ("FR", {}, "FRA"), ("IE", {}, "IRL"),
        ("ES", {}, "ESP"), ("NL", {}, "NLD"), ("SE", {}, "SWE"), ("IT", {}, "ITA"), ("BE", {}, "BEL"), ("CA", {}, "CAN"),
        ("AU", {}, "AUS"), ("CR", {}, "CRI"), ("PL", {}, "POL"), ("HR", {}, "HRV"), ("GBR", {}, "GBR"),
        ("XK", {"XK": "XKX"}, "XKX"), ("GB", {"GB": "GBX"}, "GBX"),
    ],
)
def test_country_iso3(iso2, config_countries, iso3):
    config = CONFIG.model_copy(update={"countries": config_countries})
    assert country_iso3(iso2, config) == iso3


@pytest.mark.parametrize("iso2", [None, "", "ZZ", "XK", "GBX"])
def test_unknown_country_is_an_invalid_address(iso2):
    with pytest.raises(MappingError) as caught:
        country_iso3(iso2, CONFIG)
    assert caught.value.reason == "invalid_address"


@pytest.mark.parametrize(
    "overrides, expected",
    [
        ({}, {"addressLine1": "1 High Street", "addressLine3": "London", "postalCode": "N1 9GU", "countryIsoCode": "GBR"}),
        (
            {"address1": " Rue de la Paix  12 ", "address2": "Bâtiment B", "city": "Besançon", "county": "Doubs", "zip_postal_code": "25000"},
            {"addressLine1": "Rue de la Paix 12", "addressLine2": "Bâtiment B", "addressLine3": "Besançon",
             "addressLine4": "Doubs", "postalCode": "25000", "countryIsoCode": "GBR"},
        ),
        ({"city": None, "zip_postal_code": None}, {"addressLine1": "1 High Street", "countryIsoCode": "GBR"}),
        ({"address1": "x" * 150}, {"addressLine1": "x" * 100, "addressLine3": "London", "postalCode": "N1 9GU", "countryIsoCode": "GBR"}),
    ],
)
def test_postal_address_body(overrides, expected):
    assert postal_address_body(address(1, **overrides), "GBR") == expected


@pytest.mark.parametrize("overrides", [{"address1": None}, {"address1": "   "}, {"zip_postal_code": "1" * 21}])
def test_postal_address_errors(overrides):
    with pytest.raises(MappingError) as caught:
        postal_address_body(address(1, **overrides), "GBR")
    assert caught.value.reason == "invalid_address"


def test_postal_address_needs_an_iso3():
    with pytest.raises(MappingError) as caught:
        postal_address_body(address(1), "GB")
    assert caught.value.reason == "invalid_address"


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        pytest.param(
            dict(first_name="Ada", last_name="Lovelace", email=" Ada@Example.com ", phone="020 7946 0000", company="Analytical Engines"),
            {"firstName": "Ada", "lastName": "Lovelace", "postAddressIds": {"DEF": 9, "BIL": 9, "DEL": 9},
             "communication": {"emails": {"PRI": {"email": "Ada@Example.com"}}, "telephones": {"PRI": "020 7946 0000"}},
             "organisation": {"name": "Analytical Engines"}},
            id="everything",
        ),
        pytest.param(
            dict(first_name="Łukasz", last_name="Nguyễn", email=None, phone=None, company=None),
            {"firstName": "Łukasz", "lastName": "Nguyễn", "postAddressIds": {"DEF": 9, "BIL": 9, "DEL": 9}},
            id="unicode, no email, phone or company",
        ),
        pytest.param(
            dict(first_name="Mary Ann Smith", last_name=None, email="m@x.org", phone="", company=None),
            {"firstName": "Mary Ann", "lastName": "Smith", "postAddressIds": {"DEF": 9, "BIL": 9, "DEL": 9},
             "communication": {"emails": {"PRI": {"email": "m@x.org"}}}},
            id="last name from a multi-word first name",
        ),
        pytest.param(
            dict(first_name="Cher", last_name=" ", email=None, phone=None, company="Acme Ltd"),
            {"firstName": "Cher", "lastName": "Acme Ltd", "postAddressIds": {"DEF": 9, "BIL": 9, "DEL": 9},
             "organisation": {"name": "Acme Ltd"}},
            id="last name from the company",
        ),
        pytest.param(
            dict(first_name=None, last_name=None, email="solo@x.org", phone=None, company=None),
            {"lastName": "solo", "postAddressIds": {"DEF": 9, "BIL": 9, "DEL": 9},
             "communication": {"emails": {"PRI": {"email": "solo@x.org"}}}},
            id="last name from the email",
        ),
        pytest.param(
            dict(first_name=None, last_name=None, email=None, phone=None, company=None),
            {"lastName": "Customer", "postAddressIds": {"DEF": 9, "BIL": 9, "DEL": 9}},
            id="nothing at all",
        ),
        pytest.param(
            dict(first_name="Maximiliane-Alexandrina Theodora X", last_name="von Hohenzollern-Sigmaringen-Württemberg",
                 email=None, phone=None, company=None),
            {"firstName": "Maximiliane-Alexandrina Theodora", "lastName": "von Hohenzollern-Sigmaringen-Wür",
             "postAddressIds": {"DEF": 9, "BIL": 9, "DEL": 9}},
            id="long names truncated to 32",
        ),
    ],
)
def test_contact_body(kwargs, expected):
    body = contact_body(**kwargs, postal_address_id=9)
    assert body == expected
    assert len(body.get("firstName", "")) <= 32 and len(body["lastName"]) <= 32
