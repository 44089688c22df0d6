"""The per-field rules of the customer flow (mapping/customers.py), each expected value from the
rule stated in that module's docstring: equal values are in step; an owning system wins; with
`both`, the side that changed since the values last agreed wins, and when both changed the later
timestamp (a tie to Brightpearl); on a first sync an empty value never wins over a filled one."""

from __future__ import annotations

from datetime import UTC, datetime

from bp_nop_dagster.mapping.config import CustomerMapping
from bp_nop_dagster.mapping.customers import (
    IN_STEP,
    TO_BRIGHTPEARL,
    TO_NOPCOMMERCE,
    contact_patch,
    person,
    resolve,
    resolve_all,
    same,
)

EARLY, LATE = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
ADDRESS = {"address1": "1 High St", "city": "Leeds", "postcode": "LS1 1AA", "country_iso3": "GBR"}


def fields(when=EARLY, **values):
    base = {"email": "a@x.test", "first_name": "Ann", "last_name": "Lee", "phone": "+44 7700 900001", "address": ADDRESS}
    return person(**{**base, **values}, changed_at=when)


def test_equal_values_are_in_step_by_each_fields_notion_of_equal():
    assert same("email", "Jo.Smith@Gmail.com", "josmith@gmail.com")  # matching key: case, Gmail dots
    assert same("phone", "+44 7700 900001", "+447700900001")
    assert same("address", {**ADDRESS, "postcode": "ls11aa"}, ADDRESS)
    assert not same("first_name", "ann", "Ann")  # a case change is an edit
    assert resolve("email", fields(email="A@X.test"), fields(), None, "both").action == IN_STEP


def test_the_owner_wins_whatever_changed():
    nop, bp = fields(phone="+44 1"), fields(phone="+44 2")
    last = {"phone": "+44 1"}  # only Brightpearl changed
    assert resolve("phone", nop, bp, last, "nopcommerce") == resolve("phone", nop, bp, last, "nopcommerce")
    assert resolve("phone", nop, bp, last, "nopcommerce").action == TO_BRIGHTPEARL
    assert resolve("phone", nop, bp, last, "brightpearl").action == TO_NOPCOMMERCE


def test_both_the_side_that_changed_wins_then_the_later_change():
    last = {"last_name": "Lee"}
    assert resolve("last_name", fields(last_name="Lee-Park"), fields(), last, "both").action == TO_BRIGHTPEARL
    assert resolve("last_name", fields(), fields(last_name="Leigh"), last, "both").action == TO_NOPCOMMERCE
    later_shop = resolve("last_name", fields(LATE, last_name="A"), fields(EARLY, last_name="B"), last, "both")
    assert (later_shop.action, later_shop.value) == (TO_BRIGHTPEARL, "A")
    tie = resolve("last_name", fields(EARLY, last_name="A"), fields(EARLY, last_name="B"), last, "both")
    assert (tie.action, tie.value) == (TO_NOPCOMMERCE, "B")


def test_first_sync_fills_blanks_instead_of_clearing():
    decision = resolve("phone", fields(LATE, phone=None), fields(EARLY), None, "both")
    assert (decision.action, decision.value) == (TO_NOPCOMMERCE, "+44 7700 900001")


def test_the_patch_adds_missing_values_and_replaces_present_ones():
    decisions = resolve_all(fields(email="b@x.test", phone="+44 9"), fields(phone=None), {"email": "a@x.test", "phone": None,
                            "first_name": "Ann", "last_name": "Lee", "address": ADDRESS}, CustomerMapping())
    ops = contact_patch(decisions, fields(phone=None))
    assert ops == [{"op": "replace", "path": "/communication/emails/PRI/email", "value": "b@x.test"},
                   {"op": "add", "path": "/communication/telephones/PRI", "value": "+44 9"}]


def test_values_are_cut_to_what_brightpearl_holds_so_they_read_back_equal():
    long = "x" * 40
    assert person(email=None, first_name=long, last_name=None, phone=None, address=None).first_name == "x" * 32
