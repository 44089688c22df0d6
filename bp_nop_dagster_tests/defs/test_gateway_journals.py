"""Issue 13, item 3: gateway fee and clearing transfer journals, through Dagster against the
sandbox. Off by default; when the mapping enables them, each (kind, day, payment method) is posted
exactly once, even when Brightpearl applies the POST and the reply is lost (drop-reply); a refusal
dead-letters it; the payments reconciliation's journal-search sees them.

Expected amounts come from the rule stated in default_mapping.yaml (`journals`, its CARD example), computed here:
per captured order, fee = round-half-up-to-the-penny(total × 1.4 % + 0.20); transfer = Σ totals
(rounded to the penny) − Σ fees. Journal shape: the Journal POST doc example
(api-docs.brightpearl.com/accounting/journal/post(deprecated).html)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import dagster as dg
import requests
import yaml

from bp_nop_dagster.defs.nopcommerce.assets import nopcommerce_orders, nopcommerce_payments
from bp_nop_dagster.defs.reconciliation.gateway_journals import gateway_journals
from bp_nop_dagster.defs.reconciliation.order_sync import order_sync_reconciliation
from bp_nop_dagster.defs.reconciliation.payments import payments_reconciliation
from bp_nop_dagster.defs.brightpearl.assets import brightpearl_sales_orders
from bp_nop_dagster.defs.sync_settings import SyncSettings
from bp_nop_dagster.mapping.config import DEFAULT_MAPPING_FILE
from bp_nop_dagster_tests.defs.test_reports import Shop, instance, shop  # noqa: F401 - fixtures

JOURNAL_ASSETS = [nopcommerce_orders, nopcommerce_payments, gateway_journals]
PENNY = Decimal("0.01")


def enabled_mapping(tmp_path: Path) -> SyncSettings:
    data = yaml.safe_load(DEFAULT_MAPPING_FILE.read_text())
    data["journals"]["enabled"] = True
    data["journals"]["by_payment_method"] = {  # the example of default_mapping.yaml
        "CARD": {"clearing_nominal": "1200", "bank_nominal": "1201", "fee_nominal": "7900", "fee_percent": "1.4", "fee_fixed": "0.20"}}
    path = tmp_path / "mapping.yaml"
    path.write_text(yaml.safe_dump(data))
    return SyncSettings(mapping_file=str(path))


def gateway_journals_in_brightpearl(shop) -> list:
    return [j for j in shop.world.brightpearl.accounting_service.journals.values() if j.type_code in ("JJ", "BT")]


def expected(totals: list) -> tuple[Decimal, Decimal]:
    """The documented rule, computed independently of mapping/journals.py."""
    rounded = [Decimal(str(t)).quantize(PENNY, rounding=ROUND_HALF_UP) for t in totals]
    fee = sum(((t * Decimal("1.4") / 100 + Decimal("0.20")).quantize(PENNY, rounding=ROUND_HALF_UP) for t in rounded), Decimal(0))
    return fee, sum(rounded, Decimal(0)) - fee


def faults(shop, *rules) -> None:
    requests.put(f"{shop.bp_root}/__sandbox__/faults", json={"rules": list(rules), "seed": 1}, timeout=10).raise_for_status()


def test_disabled_by_default_posts_nothing(shop, instance):
    shop.place("Payments.Manual", True)
    result = dg.materialize(JOURNAL_ASSETS, resources=shop.resources, instance=instance, partition_key=shop.day)
    meta = result.asset_materializations_for_node("brightpearl__gateway_journals")[0].metadata
    assert meta["enabled"].value is False and meta["posted"].value == 0
    assert gateway_journals_in_brightpearl(shop) == []


def test_posted_exactly_once_although_brightpearl_applied_the_post_and_lost_the_reply(shop, instance, tmp_path):
    """Break checked: with `create_once`'s natural-key lookup after an unknown outcome skipped
    (the create simply sent again), Brightpearl ends with three JJ journals and this test fails."""
    placed = [shop.place("Payments.Manual", True), shop.place("Payments.Manual", True), shop.place("Payments.Manual", False)]
    settings = enabled_mapping(tmp_path)
    resources = {**shop.resources, "sync_settings": settings}
    # every journal POST is applied but its reply replaced by a 502, once each for the first two
    faults(shop, {"method": "POST", "path": "/accounting-service/journal", "drop_reply_rate": 1.0, "max_hits": 2})
    try:
        first = dg.materialize(JOURNAL_ASSETS, resources=resources, instance=instance, partition_key=shop.day)
    finally:
        faults(shop)
    again = dg.materialize(JOURNAL_ASSETS, resources=resources, instance=instance, partition_key=shop.day)

    fee, transfer = expected([o["order_total"] for o in placed if o["payment_status_id"] == 30])
    journals = gateway_journals_in_brightpearl(shop)
    by_type = {j.type_code: j for j in journals}
    assert sorted(j.type_code for j in journals) == ["BT", "JJ"]  # one of each, never two
    assert [(l.nominal_code, l.value) for l in by_type["JJ"].debits] == [("7900", fee)]
    assert [(l.nominal_code, l.value) for l in by_type["JJ"].credits] == [("1200", fee)]
    assert [(l.nominal_code, l.value) for l in by_type["BT"].debits] == [("1201", transfer)]
    assert [(l.nominal_code, l.value) for l in by_type["BT"].credits] == [("1200", transfer)]
    assert all(j.tax_date.date().isoformat() == shop.day for j in journals)
    first_meta = first.asset_materializations_for_node("brightpearl__gateway_journals")[0].metadata
    again_meta = again.asset_materializations_for_node("brightpearl__gateway_journals")[0].metadata
    assert first_meta["posted"].value == 2 and again_meta["posted"].value == 0 and again_meta["already_posted"].value == 2
    ledger = shop.resources["ledger"].get_ledger()
    assert {link.nop_key: link.bp_id for link in ledger.links("gateway_journal")} == {
        f"fee:{shop.day}:CARD": by_type["JJ"].id, f"transfer:{shop.day}:CARD": by_type["BT"].id}

    # the payments reconciliation's journal-search sees them
    shop.sync(instance)
    report = dg.materialize([nopcommerce_orders, nopcommerce_payments, brightpearl_sales_orders, order_sync_reconciliation,
                             payments_reconciliation], resources=resources, instance=instance, partition_key=shop.day)
    meta = report.asset_materializations_for_node("reconciliation__payments")[0].metadata
    assert meta["gateway_journals"].value == 2
    assert Decimal(str(meta["gateway_fee/CARD"].value)) == fee and Decimal(str(meta["gateway_transfer/CARD"].value)) == transfer


def test_a_refused_journal_is_dead_lettered_with_the_server_code_and_not_posted_again(shop, instance, tmp_path):
    """Break checked: Fates.settle's ValidationError branch turned into `pass` (the refusal
    dropped): no dead letter, and this test fails. And `run`'s skip of a journal "dead-lettered,
    skipped or waiting out its backoff" made `linked and not pending` (session 23 mutation sample):
    the second run tries both again."""
    shop.place("Payments.Manual", True)
    resources = {**shop.resources, "sync_settings": enabled_mapping(tmp_path)}
    faults(shop, {"method": "POST", "path": "/accounting-service/journal", "error_rate": 1.0, "error_status": 400})
    try:
        result = dg.materialize(JOURNAL_ASSETS, resources=resources, instance=instance, partition_key=shop.day)
        again = dg.materialize(JOURNAL_ASSETS, resources=resources, instance=instance, partition_key=shop.day)
    finally:
        faults(shop)
    meta = result.asset_materializations_for_node("brightpearl__gateway_journals")[0].metadata
    assert meta["fates"].value == {"dead_lettered": 2}
    again_meta = again.asset_materializations_for_node("brightpearl__gateway_journals")[0].metadata
    assert again_meta["posted"].value == 0 and not any(again_meta["fates"].value.values())  # not tried again
    ledger = shop.resources["ledger"].get_ledger()
    letters = ledger.dead_letters()
    assert sorted(d.nop_key for d in letters if d.kind == "gateway_journal") == sorted([f"fee:{shop.day}:CARD", f"transfer:{shop.day}:CARD"])
    assert {d.reason for d in letters if d.kind == "gateway_journal"} == {"validation_error"}
    assert gateway_journals_in_brightpearl(shop) == []
