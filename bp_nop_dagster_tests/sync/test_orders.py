"""The order flow (sync/orders.py, no Dagster) against the sandbox: an order that Order/GetByIds
leaves out is confirmed with Order/GetById before it is skipped, with the reason saying so.

Source: CORE OrderService.GetOrdersByIdsAsync calls `GetByIdsAsync(orderIds, includeDeleted:
false)`, GetOrderByIdAsync returns soft-deleted orders flagged `deleted: true` (notes, corrections)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests

from bp_nop_dagster.brightpearl.resource import BrightpearlResource
from bp_nop_dagster.ledger import Ledger
from bp_nop_dagster.mapping.config import load_mapping_config
from bp_nop_dagster.nopcommerce.client import ABSENT_FROM_GET_BY_IDS, NopCommerceClient
from bp_nop_dagster.sync.discovery import requeue_open_orders
from bp_nop_dagster.sync.orders import ORDER, OrderSync
from bp_nop_dagster.transport.parsing import Items

ADDRESS = {"address1": "1 Mill Road", "city": "Leeds", "zip_postal_code": "LS1 4AB", "country_iso2": "GB"}


@pytest.fixture
def ledger(tmp_path):
    with Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}") as book:
        yield book


@pytest.fixture
def clients(sandbox):
    creds = sandbox.world.credentials
    nop = NopCommerceClient(sandbox.urls.nopcommerce_base_url, creds.nopcommerce_email, creds.nopcommerce_password)
    bp = BrightpearlResource(base_url=sandbox.urls.brightpearl_base_url, app_ref=creds.brightpearl_app_ref,
                             account_token=creds.brightpearl_account_token).build_client()
    with nop:
        yield nop, bp


def place(sandbox) -> int:
    body = {"email": "absent@flow.test", "first_name": "Ab", "last_name": "Sent", "address": ADDRESS,
            "items": [{"sku": "BPN-00001", "quantity": 1}]}
    response = requests.post(f"{sandbox.urls.nopcommerce_root}/__sandbox__/orders", json=body, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def delete(sandbox, order_id: int) -> None:
    requests.post(f"{sandbox.urls.nopcommerce_root}/__sandbox__/orders/{order_id}/delete", timeout=10).raise_for_status()


def run(clients, ledger):
    nop, bp = clients
    return OrderSync(nop=nop, bp=bp, ledger=ledger, config=load_mapping_config(), owner="test").run()


def test_a_deleted_or_unknown_pending_order_is_skipped_with_the_reason(sandbox, clients, ledger):
    deleted = place(sandbox)
    delete(sandbox, deleted)
    ledger.enqueue(ORDER, [str(deleted), "999999"])
    report = run(clients, ledger)
    assert report.orders.skipped == 2 and report.orders.created == 0
    assert ledger.status(ORDER, str(deleted)).last_error == f"{ABSENT_FROM_GET_BY_IDS}: Order/GetById says deleted"
    assert ledger.status(ORDER, "999999").last_error == f"{ABSENT_FROM_GET_BY_IDS}: Order/GetById answers 404"
    assert ledger.status(ORDER, str(deleted)).status == "skipped"


def test_an_order_a_short_get_by_ids_reply_left_out_is_still_synced(sandbox, clients, ledger, monkeypatch):
    live = place(sandbox)
    ledger.enqueue(ORDER, [str(live)])
    nop, _ = clients
    monkeypatch.setattr(nop, "orders_by_ids", lambda ids, chunk_size=100: Items())  # GetByIds answered without it
    report = run(clients, ledger)
    assert report.orders.created == 1 and report.orders.skipped == 0
    assert ledger.status(ORDER, str(live)).status == "synced"


def test_an_order_deleted_after_it_reached_brightpearl_stays_synced_and_is_not_repolled(sandbox, clients, ledger):
    order_id = place(sandbox)
    ledger.enqueue(ORDER, [str(order_id)])
    assert run(clients, ledger).orders.created == 1
    bp_order = ledger.bp_id(ORDER, str(order_id))
    delete(sandbox, order_id)
    nop, _ = clients
    assert requeue_open_orders(nop, ledger, datetime.now(UTC)) == 0  # absent from GetByIds: like deleted
    ledger.requeue(ORDER, [str(order_id)])  # e.g. an operator's replay
    report = run(clients, ledger)
    record = ledger.status(ORDER, str(order_id))
    assert (record.status, ledger.bp_id(ORDER, str(order_id))) == ("synced", bp_order)
    assert report.orders.skipped == 0 and report.orders.unchanged == 1
