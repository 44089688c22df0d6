"""The customer flow's run report and review flag, left unpinned by the session-23 mutation sample
(issue 19 item 5; docs/mutation.md, "session 23"). Same set-up as test_customer_flow.py (its
fixtures); expected values from the rules in `sync/customers.py`'s docstrings, quoted below. Each
test names the break it was checked against (applied by hand: the test fails)."""

from __future__ import annotations

import logging

import pytest

from bp_nop_dagster_tests.defs.test_customer_flow import ADDRESS, flow, instance  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow


def test_a_run_counts_each_field_value_it_writes_once(flow, instance):  # noqa: F811
    """`CustomerReport`: "`to_brightpearl` / `to_nopcommerce` count field values written, by
    field". A customer changes their email in the shop: one value, the email, goes to Brightpearl
    in one contact update, nothing comes back. Break checked: the count `+ 2` per field."""
    customer_id = flow.register("ada.byrne@example.org", "Ada", "Byrne", address=ADDRESS)
    flow.tick(instance)
    flow.sync(instance)
    flow.control(flow.nop_root, "POST", f"customers/{customer_id}/edit", {"changes": {"email": "ada@byrne.example"}})
    flow.tick(instance)
    metadata = flow.sync(instance)
    assert flow.contact_of(customer_id).email == "ada@byrne.example"
    counts = {k: v.value for k, v in metadata.items() if k.startswith(("to_brightpearl/", "to_nopcommerce/"))}
    assert counts == {"to_brightpearl/email": 1}
    assert (metadata["updated_brightpearl"].value, metadata["updated_nopcommerce"].value) == (1, 0)


def test_a_flagged_customer_synced_again_in_step_stays_flagged(flow, instance, caplog):  # noqa: F811
    """A look-alike "is flagged for review (needs_review ...), never merged", and the flag clears
    only when a person judges the pair (test_customer_flow.py, the review job); the warning an
    operator reads names the customer and the Brightpearl contact(s) it looks like. Synced again
    with nothing to write, the customer keeps the flag. Breaks checked: the in-step `mark_synced`
    with `needs_review=None` instead of the flag; the warning's "Brightpearl" lower-cased."""
    elm_grove = {"address1": "8 Elm Grove", "city": "Leeds", "zip_postal_code": "LS6 2AB", "country_iso2": "GB"}
    first = flow.register("jon.pryce@work.example", "Jonathan", "Pryce", phone="+44 7700 900777", address=elm_grove)
    flow.tick(instance)
    flow.sync(instance)
    look_alike = flow.register("jpryce@home.example", "Jonathon", "Pryce", phone="07700 900777", address=elm_grove)
    flow.tick(instance)
    with caplog.at_level(logging.WARNING, logger="bp_nop_dagster.sync.customers"):
        flow.sync(instance)
    assert flow.ledger.status("customer", str(look_alike)).needs_review
    existing = flow.ledger.bp_id("customer", str(first))
    warnings = [r.getMessage() for r in caplog.records if r.name == "bp_nop_dagster.sync.customers"]
    assert warnings == [f"customer {look_alike} looks like Brightpearl contact(s) [{existing}]: flagged for review, not merged"]

    flow.clear_stats()
    flow.ledger.enqueue("customer", [str(look_alike)], requeue=True)
    metadata = flow.sync(instance)
    status = flow.ledger.status("customer", str(look_alike))
    assert (status.status, status.needs_review) == ("synced", True)
    assert metadata["in_step"].value == 1
    assert flow.writes(flow.bp_root) == {} and flow.writes(flow.nop_root) == {}
