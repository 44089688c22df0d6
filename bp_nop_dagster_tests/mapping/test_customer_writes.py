"""The bodies the customer flow writes (mapping/customers.py), field by field: Brightpearl's
contact POST and postal-address PUT field names (Contact / Postal Address API docs, as the order
flow's contacts.py writes them), nopCommerce's Address/Update and CustomerDto names, and each
side read into the one canonical form. Expected values are written out from those names."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

from bp_nop_dagster.mapping.customers import (
    TO_BRIGHTPEARL,
    IN_STEP,
    TO_NOPCOMMERCE,
    FieldDecision,
    resolve,
    address_changes,
    bp_person,
    contact_patch,
    new_contact_body,
    nop_person,
    person,
    postal_address_put,
    snapshot,
)

WHEN = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CANONICAL = {"address1": "1 High St", "address2": "Flat 2", "city": "Leeds", "county": "West Yorkshire",
             "postcode": "LS1 1AA", "country_iso3": "GBR"}


def test_each_side_is_read_into_the_canonical_form():
    customer = SimpleNamespace(email=" a@x.test ", first_name="Ann", last_name="Lee", phone="0113 496 0000", last_activity_date_utc=WHEN)
    nop_address = SimpleNamespace(address1="1 High St", address2="Flat 2", city="Leeds", county="West Yorkshire", zip_postal_code="LS1 1AA")
    contact = SimpleNamespace(primary_email="a@x.test", first_name="Ann", last_name="Lee", telephone="0113 496 0000", updated_on=WHEN)
    bp_address = SimpleNamespace(address_line1="1 High St", address_line2="Flat 2", address_line3="Leeds",
                                 address_line4="West Yorkshire", postal_code="LS1 1AA", country_iso_code="gbr")
    expected = person(email="a@x.test", first_name="Ann", last_name="Lee", phone="0113 496 0000", address=CANONICAL, changed_at=WHEN)
    assert nop_person(customer, nop_address, "GBR") == expected
    assert bp_person(contact, bp_address) == expected
    assert expected.address == CANONICAL  # the country upper-cased, every part kept under its own name


def test_address_lines_are_cut_at_100_characters():
    long = "x" * 120
    address = person(email=None, first_name=None, last_name=None, phone=None,
                     address={**CANONICAL, "address2": long, "county": long}).address
    assert (address["address2"], address["county"]) == ("x" * 100, "x" * 100)


def test_the_postal_address_put_carries_every_line_blank_ones_as_empty_strings():
    assert postal_address_put(CANONICAL) == {"addressLine1": "1 High St", "addressLine2": "Flat 2", "addressLine3": "Leeds",
                                             "addressLine4": "West Yorkshire", "postalCode": "LS1 1AA", "countryIsoCode": "GBR"}
    assert postal_address_put({"address1": "1 High St"}) == {"addressLine1": "1 High St", "addressLine2": "", "addressLine3": "",
                                                             "addressLine4": "", "postalCode": ""}


def test_the_nop_address_update_uses_address_dto_names():
    assert address_changes(CANONICAL, 77) == {"address1": "1 High St", "address2": "Flat 2", "city": "Leeds",
                                              "county": "West Yorkshire", "zip_postal_code": "LS1 1AA", "country_id": 77}


def test_a_new_contact_body():
    fields = person(email="ann.lee@x.test", first_name="Ann", last_name=None, phone="0113", address=None)
    assert new_contact_body(fields, 9) == {
        "lastName": "ann.lee", "firstName": "Ann",
        "communication": {"emails": {"PRI": {"email": "ann.lee@x.test"}}, "telephones": {"PRI": "0113"}},
        "postAddressIds": {"DEF": 9, "BIL": 9, "DEL": 9},
    }


def test_a_cleared_phone_is_removed_but_a_cleared_name_is_left():
    had = person(email="a@x.test", first_name="Ann", last_name="Lee", phone="0113", address=None)
    decisions = [FieldDecision("phone", TO_BRIGHTPEARL, None, "nopCommerce owns it"),
                 FieldDecision("first_name", TO_BRIGHTPEARL, None, "nopCommerce owns it")]
    assert contact_patch(decisions, had) == [{"op": "remove", "path": "/communication/telephones/PRI"}]
    nothing = person(email="a@x.test", first_name=None, last_name="Lee", phone=None, address=None)
    assert contact_patch(decisions, nothing) == []


def test_the_snapshot_keeps_brightpearls_time_or_none():
    assert snapshot({"email": "a@x.test"}, bp_updated_on=WHEN) == {"values": {"email": "a@x.test"}, "bp_updated_on": "2026-03-01T12:00:00+00:00"}
    assert snapshot({}, bp_updated_on=None) == {"values": {}, "bp_updated_on": None}


# ------------------------------------------------------------------------------ decisions, in full


def _person(when, **values):
    base = {"email": "a@x.test", "first_name": "Ann", "last_name": "Lee", "phone": "0113", "address": None}
    return person(**{**base, **values}, changed_at=when)


EARLY, LATE = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)


def test_decisions_carry_the_field_the_value_both_sides_keep_and_why():
    """agreed() keeps each decision's value as the ledger's `last`: for an in-step field, the
    value both sides hold."""
    same_person = _person(EARLY)
    assert resolve("phone", same_person, same_person, None, "both") == FieldDecision("phone", IN_STEP, "0113", "the same on both sides")
    nop, bp = _person(EARLY, phone="1"), _person(EARLY, phone="2")
    assert resolve("phone", nop, bp, {"phone": "1"}, "nopcommerce") == FieldDecision("phone", TO_BRIGHTPEARL, "1", "nopCommerce owns it")
    assert resolve("phone", nop, bp, {"phone": "1"}, "both") == FieldDecision("phone", TO_NOPCOMMERCE, "2", "changed in Brightpearl only")
    only_shop = resolve("phone", _person(EARLY, phone="1"), _person(LATE, phone=None), None, "both")
    assert only_shop == FieldDecision("phone", TO_BRIGHTPEARL, "1", "first sync: only nopCommerce has it")


def test_a_first_sync_with_two_different_values_goes_by_the_later_change():
    decision = resolve("phone", _person(EARLY, phone="1"), _person(LATE, phone="2"), None, "both")
    assert (decision.action, decision.value) == (TO_NOPCOMMERCE, "2")
