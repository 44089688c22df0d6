"""The customer flow through Dagster against the sandbox: registrations become contacts; an email
changed in the shop and an address changed in Brightpearl each reach the other side; nothing
ping-pongs; a look-alike registration is flagged, not merged; all of it under injected faults.

Expected values come from the rules stated here (the default mapping: every field `both`, the
side that changed since the last sync wins), never from the code under test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
import requests

from bp_nop_dagster.brightpearl.resource import BrightpearlResource
from bp_nop_dagster.defs.brightpearl.assets import brightpearl_contacts
from bp_nop_dagster.defs.reconciliation.customers import customer_reconciliation
from bp_nop_dagster.defs.customers.assets import CUSTOMERS_IN_STEP, customers_in_step
from bp_nop_dagster.defs.customers.review import customer_review_job
from bp_nop_dagster.defs.customers.sensors import brightpearl_contact_changes, customer_address_sweep, nopcommerce_customer_changes
from bp_nop_dagster.defs.sync_settings import SyncSettings
from bp_nop_dagster.ledger.resource import LedgerResource
from bp_nop_dagster.mapping.contacts import normalise_email
from bp_nop_dagster.nopcommerce.resource import NopCommerceResource
from bp_nop_dagster.sync.cursor import SensorCursor

pytestmark = pytest.mark.slow


class CustomerFlow:
    def __init__(self, sandbox, tmp_path) -> None:
        creds = sandbox.world.credentials
        self.world = sandbox.world
        self.bp_root, self.nop_root = sandbox.urls.brightpearl_root, sandbox.urls.nopcommerce_root
        self.resources = {
            "brightpearl": BrightpearlResource(base_url=sandbox.urls.brightpearl_base_url, app_ref=creds.brightpearl_app_ref,
                                               account_token=creds.brightpearl_account_token),
            "nopcommerce": NopCommerceResource(base_url=sandbox.urls.nopcommerce_base_url, email=creds.nopcommerce_email,
                                               password=creds.nopcommerce_password),
            "ledger": LedgerResource(url=f"sqlite:///{tmp_path / 'ledger.sqlite'}"),
            "sync_settings": SyncSettings(),
        }
        start = SensorCursor(watermark=datetime.now(UTC) - timedelta(seconds=1)).dumps()
        self.cursors = {"nop": start, "bp": start}

    @property
    def ledger(self):
        return self.resources["ledger"].get_ledger()

    def control(self, root: str, method: str, path: str, body: dict | None = None) -> dict:
        response = requests.request(method, f"{root}/__sandbox__/{path}", json=body, timeout=30)
        response.raise_for_status()
        return response.json()

    def register(self, email: str, first: str, last: str, **extra) -> int:
        body = {"email": email, "first_name": first, "last_name": last, **extra}
        return self.control(self.nop_root, "POST", "customers/register", body)["id"]

    def tick(self, instance) -> dict:
        results = {}
        for name, sensor in (("nop", nopcommerce_customer_changes), ("bp", brightpearl_contact_changes)):
            with dg.build_sensor_context(instance=instance, cursor=self.cursors[name], resources=self.resources) as context:
                results[name] = sensor(context)
                self.cursors[name] = context.cursor
        return results

    def sweep(self, instance) -> None:
        with dg.build_schedule_context(instance=instance, resources=self.resources) as context:
            customer_address_sweep(context)

    def sync(self, instance) -> dict:
        result = dg.materialize([customers_in_step], resources=self.resources, instance=instance)
        assert result.success
        return result.asset_materializations_for_node("customers__customers_in_step")[0].metadata

    def reconcile(self, instance):
        result = dg.materialize([brightpearl_contacts, customer_reconciliation], resources=self.resources, instance=instance,
                                selection=[customer_reconciliation, brightpearl_contacts])
        assert result.success
        frame = result.output_for_node("reconciliation__customers")
        metadata = result.asset_materializations_for_node("reconciliation__customers")[0].metadata
        return frame.set_index("nop_customer_id"), metadata

    def contact_of(self, customer_id: int):
        contact_id = self.ledger.bp_id("customer", str(customer_id))
        assert contact_id is not None, f"customer {customer_id} is not linked"
        return self.world.brightpearl.contacts[contact_id]

    def writes(self, root: str) -> dict:
        counts = self.control(root, "GET", "stats")["requests"]
        return {k: n for k, n in counts.items() if not k.startswith("GET") and k != "POST /Authenticate/GetToken"}

    def clear_stats(self) -> None:
        for root in (self.bp_root, self.nop_root):
            requests.delete(f"{root}/__sandbox__/stats", timeout=10).raise_for_status()

    def faults(self, root: str, *rules: dict) -> None:
        self.control(root, "PUT", "faults", {"rules": list(rules), "seed": 3})


@pytest.fixture
def flow(sandbox, tmp_path, ledger_clock, monkeypatch) -> CustomerFlow:
    monkeypatch.setenv("BP_NOP_REPORTS_DIR", str(tmp_path / "reports"))
    return CustomerFlow(sandbox, tmp_path)


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


ADDRESS = {"address1": "12 Harbour Road", "city": "Bristol", "zip_postal_code": "BS1 5TT", "country_iso2": "GB"}


def test_registration_email_in_shop_address_in_brightpearl_no_ping_pong_under_faults(flow, instance):
    # 1. A visitor registers (no order yet): a Brightpearl contact with the same email, names, address.
    customer_id = flow.register("maren.holt@example.org", "Maren", "Holt", phone="+44 7700 900123", address=ADDRESS)
    flow.faults(flow.bp_root, {"method": "POST", "path": "/contact-service/contact", "drop_reply_rate": 1.0, "max_hits": 1})
    flow.tick(instance)
    flow.sync(instance)
    contact = flow.contact_of(customer_id)
    assert (contact.email, contact.first_name, contact.last_name) == ("maren.holt@example.org", "Maren", "Holt")
    assert sum(1 for c in flow.world.brightpearl.contacts.values() if c.email == "maren.holt@example.org") == 1  # lost reply: no double
    address = flow.world.brightpearl.contact_service.addresses[contact.addresses["DEF"]]
    assert (address["addressLine1"], address["addressLine3"], address["postalCode"]) == ("12 Harbour Road", "Bristol", "BS1 5TT")

    # 2. The customer changes their email in the shop; staff change the address in Brightpearl.
    flow.control(flow.nop_root, "POST", f"customers/{customer_id}/edit", {"changes": {"email": "maren@holt.example"}})
    flow.control(flow.bp_root, "PUT", f"contacts/{contact.id}", {"address": {
        "address_line1": "3 Quay Street", "city": "Bristol", "postal_code": "BS1 4DJ", "country_iso3": "GBR"}})
    flow.faults(flow.bp_root, {"method": "PATCH", "path": "/contact-service/contact/*", "error_rate": 1.0, "error_status": 503,
                               "max_hits": 2})
    flow.faults(flow.nop_root, {"method": "PUT", "path": "/Address/Update", "error_rate": 1.0, "error_status": 500, "max_hits": 1})
    flow.tick(instance)
    flow.sweep(instance)  # the address PUT need not move the contact's updatedOn: the sweep finds it
    flow.sync(instance)
    # Rule: each field changed on one side only, so that side's value wins on both.
    assert flow.world.brightpearl.contacts[contact.id].email == "maren@holt.example"
    shop = flow.world.nopcommerce
    billing = shop.addresses[shop.customers[customer_id]["billing_address_id"]]
    assert (billing["address1"], billing["city"], billing["zip_postal_code"]) == ("3 Quay Street", "Bristol", "BS1 4DJ")
    assert shop.customers[customer_id]["email"] == "maren@holt.example"
    # The order flow's email key follows the contact (a later order finds it, no second contact).
    assert flow.ledger.bp_id("contact", normalise_email("maren@holt.example")) == contact.id

    # 3. No ping-pong: the next ticks see our own writes and leave them; a run writes nothing.
    flow.faults(flow.bp_root)
    flow.faults(flow.nop_root)
    flow.clear_stats()
    for _ in range(2):
        ticks = flow.tick(instance)
        flow.sweep(instance)
        assert flow.ledger.pending("customer") == [], "our own writes came back as changes"
        assert not isinstance(ticks["nop"], dg.RunRequest) and not isinstance(ticks["bp"], dg.RunRequest), ticks
        flow.sync(instance)
    assert isinstance(ticks["nop"], dg.SensorResult) and "in step" in ticks["nop"].skip_reason.skip_message
    assert flow.writes(flow.bp_root) == {} and flow.writes(flow.nop_root) == {}
    assert flow.ledger.pending("customer") == []

    # 4. The reconciliation: this person linked and in step; nothing unexplained anywhere.
    frame, metadata = flow.reconcile(instance)
    assert frame.loc[customer_id, "verdict"] == "in_step" and frame.loc[customer_id, "contact_id"] == contact.id
    assert metadata["unexplained_differences"].value == 0, frame[frame["verdict"].isin(["differs", "missing"])]


def test_registrations_are_synced_and_a_look_alike_is_flagged_not_merged(flow, instance):
    elm_grove = {"address1": "8 Elm Grove", "city": "Leeds", "zip_postal_code": "LS6 2AB", "country_iso2": "GB"}
    first = flow.register("jon.pryce@work.example", "Jonathan", "Pryce", phone="+44 7700 900777", address=elm_grove)
    flow.tick(instance)
    flow.sync(instance)
    existing = flow.contact_of(first).id
    before = len(flow.world.brightpearl.contacts)
    look_alike = flow.register("jpryce@home.example", "Jonathon", "Pryce", phone="07700 900777", address=elm_grove)
    # the seeded visitors who registered without ordering, besides the look-alike
    registered = [c for c in flow.world.nopcommerce.customers.values() if ".registered" in (c["email"] or "")]
    assert registered and all(not flow.world.nopcommerce.is_guest(c["id"]) for c in registered)
    flow.ledger.enqueue("customer", [str(c["id"]) for c in registered])
    flow.tick(instance)
    metadata = flow.sync(instance)

    # Rule: every registered customer has a contact whose primary email has the same matching key.
    for customer in [*registered, flow.world.nopcommerce.customers[look_alike]]:
        contact = flow.contact_of(customer["id"])
        assert normalise_email(contact.email) == normalise_email(customer["email"]), customer["id"]
    # The look-alike (same phone and address, name one letter apart, other email) gets its own contact,
    # flagged for review: the existing contact is untouched.
    new_contact = flow.contact_of(look_alike)
    assert new_contact.id != existing
    assert flow.world.brightpearl.contacts[existing].email == "jon.pryce@work.example"
    status = flow.ledger.status("customer", str(look_alike))
    assert status.status == "synced" and status.needs_review
    assert metadata["needs_review"].value >= 1
    assert len(flow.world.brightpearl.contacts) == before + len(registered) + 1
    assert instance.get_latest_materialization_event(CUSTOMERS_IN_STEP) is not None

    frame, metadata = flow.reconcile(instance)
    assert frame.loc[look_alike, "verdict"] == "needs_review"
    assert {f"bp:{existing}", f"nop:{first}"} <= set(frame.loc[look_alike, "suspected_duplicates"].replace(";", " ").split())
    assert metadata["unexplained_differences"].value == 0, frame[frame["verdict"].isin(["differs", "missing"])]

    # A person judges them two people: the flag clears, the report stops listing the pair, and a
    # later sync of the customer does not raise the flag again.
    review = customer_review_job.execute_in_process(
        run_config={"ops": {"record_customer_review": {"config": {"customer_id": look_alike,
                                                                   "distinct_from": [f"bp:{existing}", f"nop:{first}"]}}}},
        resources={"ledger": flow.resources["ledger"]}, instance=instance)
    assert review.success and not flow.ledger.status("customer", str(look_alike)).needs_review
    frame, _ = flow.reconcile(instance)
    assert (frame.loc[look_alike, "verdict"], frame.loc[look_alike, "suspected_duplicates"]) == ("in_step", "")
    flow.ledger.enqueue("customer", [str(look_alike)], requeue=True)
    flow.sync(instance)
    assert not flow.ledger.status("customer", str(look_alike)).needs_review
