"""NopCommerceClient's fulfilment writes against the simulator: shipments, items and the
state-changing OrderProcessing GETs, which are never resent after they may have been applied."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import requests

from bp_nop_dagster.transport.errors import OutcomeUnknownError, ValidationError
from bp_nop_dagster_tests.nopcommerce.test_client import clear_stats, count, faults, make_client

SHIP = "GET /OrderProcessing/Ship/{shipmentId}"


@pytest.fixture
def order(sandbox) -> dict:
    body = {"email": "writes@nop.test", "first_name": "Wri", "last_name": "Tes",
            "address": {"address1": "1 Mill Road", "city": "Leeds", "zip_postal_code": "LS1 4AB", "country_iso2": "GB"},
            "items": [{"sku": "BPN-00001", "quantity": 2}], "paid": True}
    response = requests.post(f"{sandbox.urls.nopcommerce_root}/__sandbox__/orders", json=body, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()


def test_create_ship_deliver_and_cancel(sandbox, order):
    with make_client(sandbox) as nop:
        (item,) = nop.order_items(order["id"])
        shipment = nop.create_shipment(order["id"], tracking_number="1Z1", admin_comment="Brightpearl goods-out note #5")
        added = nop.add_shipment_item(shipment.id, item.id, 2)
        assert (shipment.tracking_number, shipment.admin_comment, shipment.shipped_date_utc) == ("1Z1", "Brightpearl goods-out note #5", None)
        assert (added.shipment_id, added.order_item_id, added.quantity) == (shipment.id, item.id, 2)
        nop.ship(shipment.id, notify_customer=False)
        assert nop.shipment(shipment.id).shipped_date_utc is not None
        # CORE ShipAsync throws a plain Exception for a shipped shipment; WAPI ErrorHandlerMiddleware
        # answers it 500, which for a GET that changes state is an unknown outcome (never resent)
        clear_stats(sandbox)
        with pytest.raises(OutcomeUnknownError) as raised:
            nop.ship(shipment.id, notify_customer=False)
        assert raised.value.status == 500 and count(sandbox, SHIP) == 1
        nop.deliver(shipment.id, notify_customer=False)
        assert nop.shipment(shipment.id).delivery_date_utc is not None
        nop.cancel_order(order["id"], notify_customer=False)
        assert nop.order(order["id"]).order_status_id == 40
        # CORE CancelOrderAsync throws a NopException for a cancelled order: 400, a ValidationError
        with pytest.raises(ValidationError, match="Cannot do cancel for order"):
            nop.cancel_order(order["id"], notify_customer=False)


def test_shipment_create_sends_its_date(sandbox, order):
    """Shipment/Create is a plain insert that stamps no date (WAPI ShipmentController.Create): the
    client sends created_on_utc, so the shipment is found by date windows (Shipment/GetAll)."""
    session_start = datetime.now(timezone.utc) - timedelta(seconds=5)
    with make_client(sandbox) as nop:
        shipment = nop.create_shipment(order["id"], tracking_number="1Z9", admin_comment="")
        assert shipment.created_on_utc is not None and shipment.created_on_utc >= session_start
        window = nop.shipments(session_start, datetime.now(timezone.utc) + timedelta(seconds=5))
        assert shipment.id in {s.id for s in window}


@pytest.mark.parametrize("fault", [
    {"error_rate": 1.0, "error_status": 503, "max_hits": 1},
    {"drop_reply_rate": 1.0, "drop_reply_mode": "502", "max_hits": 1},
])
def test_a_state_changing_get_is_not_resent_after_an_unknown_outcome(sandbox, order, fault):
    """FIDELITY 'GET /OrderProcessing/Ship/{shipmentId}' (WAPI OrderProcessingController.cs: a GET that changes
    state, ShipAsync); RULE: such a GET is not resent after a 503 or a lost reply (outcome unknown). Injected
    faults."""
    with make_client(sandbox) as nop:
        (item,) = nop.order_items(order["id"])
        shipment = nop.create_shipment(order["id"], tracking_number="1Z2", admin_comment="")
        nop.add_shipment_item(shipment.id, item.id, 2)
        faults(sandbox, {"method": "GET", "path": "/OrderProcessing/Ship/*", **fault})
        clear_stats(sandbox)
        with pytest.raises(OutcomeUnknownError):
            nop.ship(shipment.id, notify_customer=True)
        assert count(sandbox, SHIP) == 1


def test_a_create_with_a_lost_reply_is_not_resent(sandbox, order):
    """FIDELITY 'POST /Shipment/Create' (WAPI ShipmentController.cs: a plain insert, no idempotency key); RULE:
    a POST is not resent after a lost reply (injected)."""
    with make_client(sandbox) as nop:
        faults(sandbox, {"method": "POST", "path": "/Shipment/Create", "drop_reply_rate": 1.0, "max_hits": 1})
        clear_stats(sandbox)
        with pytest.raises(OutcomeUnknownError):
            nop.create_shipment(order["id"], tracking_number="1Z3", admin_comment="")
        assert count(sandbox, "POST /Shipment/Create") == 1
        assert [s.tracking_number for s in nop.shipments(order_id=order["id"])] == ["1Z3"]  # it was committed
