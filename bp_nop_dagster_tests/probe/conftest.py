"""Shared by the probe tests: data the seeded shop lacks (a payment, a shipment), and one probe
run through the project's clients against a running sandbox."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bp_nop_dagster.brightpearl.client import BrightpearlClient
from bp_nop_dagster.nopcommerce.client import NopCommerceClient
from bp_nop_dagster.nopcommerce.models import ShippingStatus
from bp_nop_dagster.probe.cassettes import Recorded
from bp_nop_dagster.probe.command import build_clients
from bp_nop_dagster.probe.endpoints import BRIGHTPEARL, ENDPOINTS, NOPCOMMERCE
from bp_nop_dagster.probe.runner import MAX_BRIGHTPEARL_PER_MINUTE, Pace, Row, run_probe
from bp_nop_dagster.sandbox.server import RunningSandbox
from bp_nop_dagster.settings import sandbox_environment


def populate(sandbox: RunningSandbox) -> None:
    """A customer payment in Brightpearl and a shipment in nopCommerce (the seeded small shop has
    neither), written with the project's clients so every by-id endpoint finds an id."""
    env = sandbox_environment(sandbox)
    bp = BrightpearlClient(env["BRIGHTPEARL_BASE_URL"], app_ref=env["BRIGHTPEARL_APP_REF"], account_token=env["BRIGHTPEARL_ACCOUNT_TOKEN"])
    order_id = bp.order_search({"orderTypeId": 1}, columns=["orderId"])[0].order_id
    bp.create_customer_payment({
        "transactionRef": "PROBE-TEST-1", "paymentMethodCode": "CARD", "paymentType": "RECEIPT", "orderId": order_id,
        "currencyIsoCode": "GBP", "exchangeRate": 1.0, "amountPaid": 1.0, "paymentDate": "2026-01-05T10:00:00.000+00:00",
    })
    with NopCommerceClient(env["NOPCOMMERCE_BASE_URL"], env["NOPCOMMERCE_EMAIL"], env["NOPCOMMERCE_PASSWORD"]) as nop:
        order = nop.search_orders(shipping_status_ids=[ShippingStatus.NOT_YET_SHIPPED], created_to_utc=datetime.now(timezone.utc))[0]
        item = nop.order_items(order.id)[0]
        shipment = nop.create_shipment(order.id, tracking_number="1ZPROBE0001", admin_comment="probe test")
        nop.add_shipment_item(shipment.id, item.id, 1)


def probe(sandbox: RunningSandbox, record: list[Recorded] | None = None) -> dict[str, Row]:
    """Every endpoint once, without waiting (the sandbox has no quota worth sparing), by name."""
    clients, unavailable = build_clients(sandbox_environment(sandbox), [BRIGHTPEARL, NOPCOMMERCE])
    assert not unavailable, unavailable
    rows = run_probe(ENDPOINTS, clients, Pace(0.0, MAX_BRIGHTPEARL_PER_MINUTE, sleep=lambda _: None), record=record)
    return {row.endpoint.name: row for row in rows}


@pytest.fixture
def populated(sandbox: RunningSandbox) -> RunningSandbox:
    populate(sandbox)
    return sandbox
