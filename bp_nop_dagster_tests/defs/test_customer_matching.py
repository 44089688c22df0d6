"""The customer flow through Dagster: who is one person (a guest checkout and a later registration
under the same email), and which side wins a field the mapping gives to one system."""

from __future__ import annotations

import dagster as dg
import pytest
import yaml

from bp_nop_dagster.defs.orders.assets import order_sync
from bp_nop_dagster.defs.sync_settings import SyncSettings
from bp_nop_dagster.mapping.config import DEFAULT_MAPPING_FILE
from bp_nop_dagster.mapping.contacts import normalise_email
from bp_nop_dagster_tests.defs.test_customer_flow import ADDRESS, CustomerFlow

pytestmark = pytest.mark.slow


@pytest.fixture
def flow(sandbox, tmp_path, ledger_clock, monkeypatch) -> CustomerFlow:
    monkeypatch.setenv("BP_NOP_REPORTS_DIR", str(tmp_path / "reports"))
    return CustomerFlow(sandbox, tmp_path)


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


def test_a_guest_checkout_and_a_later_registration_with_the_same_email_are_one_contact(flow, instance):
    """The order flow makes the guest's contact (keyed by the normalised email); the registration
    under the same email in other letter case finds it instead of creating a second one."""
    order = flow.control(flow.nop_root, "POST", "orders", {
        "email": "Pat.Guest@Example.org", "first_name": "Pat", "last_name": "Guest", "guest": True,
        "address": {"address1": "5 Dock Lane", "city": "Hull", "zip_postal_code": "HU1 1AA", "country_iso2": "GB"},
        "items": [{"sku": "BPN-00001", "quantity": 1}]})
    # A guest's email lives on the order's billing address; the guest record itself often has none
    # (nopCommerce notes §7.6), which is what lets the same person register later.
    flow.world.nopcommerce.customers[order["customer_id"]]["email"] = None
    flow.ledger.enqueue("order", [str(order["id"])])
    assert dg.materialize([order_sync], resources=flow.resources, instance=instance).success
    guest_contact = flow.ledger.bp_id("contact", normalise_email("pat.guest@example.org"))
    assert guest_contact is not None

    registered = flow.register("pat.guest@example.org", "Pat", "Guest", address=ADDRESS)
    flow.tick(instance)
    flow.sync(instance)
    assert flow.contact_of(registered).id == guest_contact
    assert sum(1 for c in flow.world.brightpearl.contacts.values() if normalise_email(c.email) == "pat.guest@example.org") == 1


def test_an_owned_field_is_put_back_on_the_side_that_does_not_own_it(flow, instance, tmp_path):
    """Mapping: Brightpearl owns the email, nopCommerce owns the phone. Rule: the owner's value wins
    on both sides, whichever side changed it."""
    mapping = yaml.safe_load(DEFAULT_MAPPING_FILE.read_text(encoding="utf-8"))
    mapping["customers"].update(email="brightpearl", phone="nopcommerce")
    path = tmp_path / "owners.yaml"
    path.write_text(yaml.safe_dump(mapping), encoding="utf-8")
    flow.resources["sync_settings"] = SyncSettings(mapping_file=str(path))

    customer_id = flow.register("ola.berg@example.org", "Ola", "Berg", phone="+44 7700 900555", address=ADDRESS)
    flow.tick(instance)
    flow.sync(instance)
    contact = flow.contact_of(customer_id)
    flow.control(flow.nop_root, "POST", f"customers/{customer_id}/edit", {"changes": {"email": "ola@elsewhere.example"}})
    flow.control(flow.bp_root, "PUT", f"contacts/{contact.id}", {"phone": "+44 7700 900999"})
    flow.tick(instance)
    flow.sync(instance)
    shop = flow.world.nopcommerce.customers[customer_id]
    assert shop["email"] == "ola.berg@example.org"  # Brightpearl's email put back in the shop
    assert flow.world.brightpearl.contacts[contact.id].phone == "+44 7700 900555"  # the shop's phone put back in Brightpearl
