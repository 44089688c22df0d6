"""Finding fulfilment work in Brightpearl (the sensors' logic) against the sandbox: watermark,
overlap, de-duplication, and only orders that came from nopCommerce."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests
import yaml

from bp_nop_dagster.brightpearl.resource import BrightpearlResource
from bp_nop_dagster.ledger import Ledger
from bp_nop_dagster.mapping.config import DEFAULT_MAPPING_FILE, parse_mapping_config
from bp_nop_dagster.sync.cursor import SensorCursor
from bp_nop_dagster.sync.fulfilment import (
    BP_ORDER_STATUS,
    GOODS_OUT_NOTE,
    discover_shipped_notes,
    discover_status_changes,
)


@pytest.fixture
def bp(sandbox):
    creds = sandbox.world.credentials
    return BrightpearlResource(
        base_url=sandbox.urls.brightpearl_base_url, app_ref=creds.brightpearl_app_ref, account_token=creds.brightpearl_account_token
    ).build_client()


@pytest.fixture
def ledger(tmp_path):
    with Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}") as book:
        yield book


def test_cursor_round_trip():
    cursor = SensorCursor(watermark=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), seen={"7@2026-01-02T03:04:00+00:00"})
    assert SensorCursor.parse(cursor.dumps()) == cursor
    assert SensorCursor.parse(None) == SensorCursor() == SensorCursor.parse(SensorCursor().dumps())


def test_status_changes_of_nop_orders_only_each_change_once(bp, ledger):
    data = yaml.safe_load(DEFAULT_MAPPING_FILE.read_text(encoding="utf-8"))
    data["fulfilment"]["on_order_status"] = {7: "deliver"}
    config = parse_mapping_config(data)
    ours, theirs = (row.order_id for row in bp.order_search({"orderTypeId": 1}, columns=["orderId"])[:2])
    ledger.link("order", "4242", ours)  # as if the order flow had booked nop order 4242 as `ours`
    start = SensorCursor(watermark=datetime.now(UTC) - timedelta(seconds=1))
    for order_id in (ours, theirs):
        bp.update_order_status(order_id, 7)
    new, cursor = discover_status_changes(bp, ledger, config, start, datetime.now(UTC))
    assert new == [ours] and ledger.pending(BP_ORDER_STATUS) == [str(ours)]
    ledger.mark_synced(BP_ORDER_STATUS, str(ours))
    assert discover_status_changes(bp, ledger, config, cursor, datetime.now(UTC))[0] == []  # inside the overlap: seen
    bp.update_order_status(ours, 6)
    bp.update_order_status(ours, 7)
    new, _ = discover_status_changes(bp, ledger, config, cursor, datetime.now(UTC))
    assert new == [ours] and ledger.pending(BP_ORDER_STATUS) == [str(ours)]  # a new change re-opens the record


def test_shipped_notes_are_found_once_and_unshipped_ones_not_at_all(sandbox, bp, ledger):
    order_id = bp.order_search({"orderTypeId": 1}, columns=["orderId"])[0].order_id
    root = sandbox.urls.brightpearl_root
    products = [r.product_id for r in bp.order(order_id).rows if r.product_id]
    for product_id in products:
        requests.post(f"{root}/__sandbox__/stock", json={"product_id": product_id, "warehouse_id": 1, "on_hand": 50}, timeout=10)
    start = SensorCursor(watermark=datetime.now(UTC) - timedelta(seconds=1))
    unshipped = requests.post(f"{root}/__sandbox__/orders/{order_id}/fulfil", json={"warehouse_id": 1, "ship": False}, timeout=10)
    assert unshipped.status_code == 200, unshipped.text
    assert discover_shipped_notes(bp, ledger, start, datetime.now(UTC))[0] == []
    note_id = unshipped.json()["goods_note_id"]
    requests.post(f"{root}/__sandbox__/goods-out-notes/{note_id}/ship", json={"tracking_reference": "1ZS"}, timeout=10).raise_for_status()
    new, cursor = discover_shipped_notes(bp, ledger, start, datetime.now(UTC))
    assert new == [note_id] and ledger.pending(GOODS_OUT_NOTE) == [str(note_id)]
    assert discover_shipped_notes(bp, ledger, cursor, datetime.now(UTC))[0] == []
