"""NopCommerceClient's refunds, return-request, catalogue, customer and store methods against the
simulator over real HTTP. What the server does comes from the plugin and core sources (cited per
test); what the client must do on top of it is stated as a rule in each test:

- the refund GETs change state and are not idempotent: sent once, never resent after a reply that
  may have been lost (OutcomeUnknownError), amounts exact and positive;
- full-replace writes send back every property read, changing only what was asked, and skip the
  write when the record moved (`expected`, `if_updated_on`);
- creates stamp the dates the plain-insert actions do not.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
import requests

from bp_nop_dagster.nopcommerce.models import ReturnRequestStatus
from bp_nop_dagster.transport.errors import OutcomeUnknownError, ValidationError
from bp_nop_dagster_tests.nopcommerce.test_client import clear_stats, client, control, count, faults, make_client  # noqa: F401

UTC = timezone.utc


@pytest.fixture
def paid_order(sandbox) -> dict:
    body = {"email": "refunds@nop.test", "first_name": "Re", "last_name": "Fund",
            "address": {"address1": "1 Mill Road", "city": "Leeds", "zip_postal_code": "LS1 4AB", "country_iso2": "GB"},
            "items": [{"sku": "BPN-00001", "quantity": 2}], "paid": True, "payment_method_system_name": "Payments.PayPalCommerce"}
    response = requests.post(f"{sandbox.urls.nopcommerce_root}/__sandbox__/orders", json=body, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()


# -- refunds ---------------------------------------------------------------------------------------
def test_partial_then_offline_refunds(sandbox, paid_order):
    """CORE OrderProcessingService: PartiallyRefund returns the gateway's (empty) error list and
    leaves PartiallyRefunded; a full Refund is refused once anything was refunded (NopException
    400 -> ValidationError); PartiallyRefundOffline of the rest gives Refunded."""
    total = Decimal(str(paid_order["order_total"]))
    with make_client(sandbox) as nop:
        oid = paid_order["id"]
        assert nop.can_partially_refund(oid, Decimal("5.00")) is True
        assert nop.partially_refund(oid, Decimal("5.00")) == []
        order = nop.order(oid)
        assert (order.refunded_amount, order.payment_status_id) == (Decimal("5"), 35)
        assert nop.can_refund(oid) is False and nop.can_refund_offline(oid) is False
        with pytest.raises(ValidationError, match="Cannot do refund for order"):
            nop.refund(oid)
        nop.partially_refund_offline(oid, total - 5)
        assert (nop.order(oid).refunded_amount, nop.order(oid).payment_status_id) == (total, 40)


def test_full_refund_and_gateway_refusal(sandbox, paid_order):
    """A refusing gateway's errors come back as the 200 reply's list (WAPI OrderProcessingController.cs Refund `return
    Ok(errors)`), and nothing changed; then the refund goes through."""
    control(sandbox, "PUT", "/payment-gateways", {"system_name": "Payments.PayPalCommerce", "refund_errors": ["Declined"]})
    with make_client(sandbox) as nop:
        assert nop.refund(paid_order["id"]) == ["Declined"]
        assert nop.order(paid_order["id"]).refunded_amount == 0
        control(sandbox, "PUT", "/payment-gateways", {"system_name": "Payments.PayPalCommerce", "refund_errors": []})
        assert nop.refund(paid_order["id"]) == []
        assert nop.order(paid_order["id"]).payment_status_id == 40


@pytest.mark.parametrize(("call", "path"), [
    (lambda nop, oid: nop.refund(oid), "GET /OrderProcessing/Refund/{orderId}"),
    (lambda nop, oid: nop.refund_offline(oid), "GET /OrderProcessing/RefundOffline/{orderId}"),
    (lambda nop, oid: nop.partially_refund(oid, Decimal("1")), "GET /OrderProcessing/PartiallyRefund/{orderId}"),
    (lambda nop, oid: nop.partially_refund_offline(oid, Decimal("1")), "GET /OrderProcessing/PartiallyRefundOffline/{orderId}"),
])
@pytest.mark.parametrize("fault", [{"error_rate": 1.0, "error_status": 503, "max_hits": 1},
                                   {"drop_reply_rate": 1.0, "drop_reply_mode": "502", "max_hits": 1}])
def test_refunds_are_never_resent_after_an_unknown_outcome(sandbox, paid_order, call, path, fault):
    """FIDELITY 'GET /OrderProcessing/Refund/{orderId}' and its offline / partial twins (WAPI
    OrderProcessingController.cs: GETs that refund); RULE (DESIGN principle 4): a refund GET that may have been
    applied is never resent after a 503 or a lost reply (injected)."""
    with make_client(sandbox) as nop:
        faults(sandbox, {"method": "GET", "path": "/OrderProcessing/*Refund*", **fault})
        clear_stats(sandbox)
        with pytest.raises(OutcomeUnknownError):
            call(nop, paid_order["id"])
        assert count(sandbox, path) == 1


def test_can_refund_twins_are_retried_like_reads(sandbox, paid_order):
    """WAPI OrderProcessingController.cs CanRefundOffline (CORE CanRefundOfflineAsync changes nothing); RULE:
    retried like any read (injected 503)."""
    with make_client(sandbox) as nop:
        faults(sandbox, {"method": "GET", "path": "/OrderProcessing/CanRefundOffline/*", "error_rate": 1.0, "error_status": 503,
                         "max_hits": 1})
        clear_stats(sandbox)
        assert nop.can_refund_offline(paid_order["id"]) is True
        assert count(sandbox, "GET /OrderProcessing/CanRefundOffline/{orderId}") == 2


@pytest.mark.parametrize(("amount", "error"), [(Decimal("0"), ValueError), (Decimal("-1"), ValueError), (1.5, TypeError),
                                               (Decimal("NaN"), ValueError)])
def test_refund_amounts_are_exact_and_positive(client, amount, error):
    """RULE: CORE refunds a zero or negative amount (it would lower RefundedAmount); the client refuses."""
    with pytest.raises(error):
        client.partially_refund_offline(1, amount)


def test_refund_amount_travels_exactly(sandbox, paid_order):
    """FIDELITY 'refund amount text in notes' (CORE PartiallyRefundOfflineAsync: the note carries the amount as
    sent) and 'GET /OrderProcessing/PartiallyRefundOffline/{orderId}'."""
    with make_client(sandbox) as nop:
        nop.partially_refund_offline(paid_order["id"], Decimal("0.10"))
        assert nop.order(paid_order["id"]).refunded_amount == Decimal("0.1")
        notes = control(sandbox, "GET", f"/orders/{paid_order['id']}")["notes"]
        assert notes[-1]["note"] == "Order has been marked as partially refunded. Amount = 0.10"


# -- return requests -------------------------------------------------------------------------------
def test_return_request_filters_update_and_lookups(sandbox, client):
    """FIDELITY 'GET /ReturnRequest/Search' (CORE SearchReturnRequestsAsync: rs, orderItemId, customNumber
    equal) and 'full-replace Update' (WAPI ReturnRequestController.cs Update maps the DTO onto a new entity:
    RULE: the client sends back every property read)."""
    order = client.search_orders()[-1]
    created = control(sandbox, "POST", "/return-requests", {"order_id": order.id})
    found = client.return_requests(status=ReturnRequestStatus.PENDING, order_item_id=created["order_item_id"])
    assert [r.id for r in found] == [created["id"]]
    assert client.return_requests(custom_number=created["custom_number"])[0].id == created["id"]
    before = client._get(f"/ReturnRequest/GetById/{created['id']}")  # the raw DTO
    assert client.update_return_request(created["id"], {"return_request_status_id": ReturnRequestStatus.RECEIVED},
                                        expected={"return_request_status_id": 0}) is True
    after = client.return_request(created["id"])
    assert after.return_request_status is ReturnRequestStatus.RECEIVED
    assert after.updated_on_utc > datetime.fromisoformat(before["updated_on_utc"]).replace(tzinfo=UTC)  # touched: the API stamps nothing
    assert (after.reason_for_return, after.quantity, after.custom_number) == (before["reason_for_return"], before["quantity"],
                                                                             before["custom_number"])
    assert client.update_return_request(created["id"], {"staff_notes": "x"}, expected={"return_request_status_id": 0}) is False
    assert [r.name for r in client.return_request_reasons()][0] == "Received Wrong Product"
    assert [a.name for a in client.return_request_actions()] == ["Repair", "Replacement", "Store Credit"]


# -- products, combinations, stores ----------------------------------------------------------------
def test_create_product_stamps_its_dates(sandbox, client):
    """Product/Create is a plain insert (WAPI ProductController.Create): the client sends the dates."""
    start = datetime.now(UTC) - timedelta(seconds=5)
    product = client.create_product({"name": "Client mug", "sku": "CLI-MUG", "price": Decimal("7.50"), "published": True,
                                     "order_maximum_quantity": 100, "manage_inventory_method_id": 1, "stock_quantity": 3})
    assert product.created_on_utc >= start and product.updated_on_utc == product.created_on_utc
    assert client.product(product.id).price == Decimal("7.5")


def test_update_product_keeps_an_admin_edit(sandbox, client):
    """RULE: a product write based on an older read is skipped when an admin edited the product
    since (the admin's Edit stamps UpdatedOnUtc); the API's Update stamps nothing, so the client
    stamps it."""
    product = client.products()[0]
    control(sandbox, "POST", f"/products/{product.id}/admin-edit", {"changes": {"name": "Admin's name"}})
    assert client.update_product(product.id, {"name": "Integration's name"}, if_updated_on=product.updated_on_utc) is None
    assert client.product(product.id).name == "Admin's name"
    fresh = client.product(product.id)
    written = client.update_product(product.id, {"price": Decimal("12.34")}, if_updated_on=fresh.updated_on_utc)
    assert written is not None and written.updated_on_utc > fresh.updated_on_utc
    stored = client.product(product.id)
    assert (stored.name, stored.price, stored.updated_on_utc) == ("Admin's name", Decimal("12.34"), written.updated_on_utc)


def test_combinations_by_sku(sandbox, client):
    """FIDELITY 'GET /ProductAttributeCombination/GetBySku' and 'PUT /ProductAttributeCombination/Update' (full
    replace); RULE: the client writes only when the stored value is the expected one."""
    product = next(p for p in client.products() if p.manage_inventory_method_id == 2)
    created = client.create_combination(product.id, sku="CLI-VAR-1", attributes_xml="<Attributes/>", stock_quantity=4)
    assert client.combination_by_sku("CLI-VAR-1").id == created.id
    assert client.update_combination(created.id, {"stock_quantity": 9}, expected={"stock_quantity": 4}) is True
    assert client.combination(created.id).stock_quantity == 9
    assert client.update_combination(created.id, {"stock_quantity": 1}, expected={"stock_quantity": 4}) is False


def test_stores_and_product_stores(sandbox, client):
    """Product/UpdateProductStoreMappings saves mappings but not LimitedToStores (CORE
    ProductService.UpdateProductStoreMappingsAsync); the client sets the flag with a full replace."""
    store = control(sandbox, "POST", "/stores", {"name": "Outlet", "url": "https://outlet.test/"})
    assert [s.id for s in client.stores()][0] == 1 and [s.id for s in client.stores()][-1] == store["id"]
    assert client.store(store["id"]).name == "Outlet"
    product = client.products()[0]
    client.set_product_stores(product.id, [store["id"]])
    assert client.product_store_ids(product.id) == [store["id"]] and client.product(product.id).limited_to_stores is True
    client.set_product_stores(product.id, [])
    assert client.product_store_ids(product.id) == [] and client.product(product.id).limited_to_stores is False
    order = control(sandbox, "POST", "/orders", {"email": "outlet@nop.test", "items": [{"sku": product.sku.strip(), "quantity": 1}],
                                                 "address": {"address1": "1 Road", "city": "Leeds", "zip_postal_code": "LS1",
                                                             "country_iso2": "GB"}, "store_id": store["id"]})
    assert [o.id for o in client.search_orders(store_id=store["id"])] == [order["id"]]


# -- customers -------------------------------------------------------------------------------------
def test_registered_customers_resolve_the_role_by_system_name(sandbox, client):
    """FIDELITY 'registration' (CORE: role Registered by its system name) and 'GET /Customer/GetAll'
    (customerRoleIds filter, CreatedOnUtc window); guests are left out."""
    start = datetime.now(UTC) - timedelta(seconds=5)
    registered = control(sandbox, "POST", "/customers/register", {"email": "reg@nop.test", "first_name": "Reg"})
    control(sandbox, "POST", "/orders", {"email": None, "guest": True, "items": [{"sku": "BPN-00001", "quantity": 1}],
                                         "address": {"address1": "1 Road", "city": "Leeds", "zip_postal_code": "LS1", "country_iso2": "GB"}})
    clear_stats(sandbox)
    found = client.registered_customers(start)
    assert [c.id for c in found] == [registered["id"]]
    client.registered_customers(start)
    assert count(sandbox, "GET /CustomerRole/GetCustomerRoleBySystemName") == 1  # cached per client
    assert client.customer_role_ids(registered["id"]) == [client.customer_role_id("Registered")]


def test_customer_and_address_writes(sandbox, client):
    """FIDELITY 'full-replace Update' (WAPI CustomerController.cs Update: omitted properties reset, so RULE: the
    client sends back every property read) and 'plain inserts' (Address/Create)."""
    customer = client.customers(email="reg2@nop.test") or None
    assert customer is None
    created = control(sandbox, "POST", "/customers/register", {"email": "reg2@nop.test", "first_name": "Old", "phone": "1"})
    assert client.update_customer(created["id"], {"first_name": "New"}, expected={"first_name": "Old"}) is True
    stored = client.customer(created["id"])
    assert (stored.first_name, stored.email, stored.phone, stored.created_on_utc) == (
        "New", "reg2@nop.test", "1", datetime.fromisoformat(created["created_on_utc"]).replace(tzinfo=UTC))
    address = client.create_address({"first_name": "New", "address1": "5 Lane", "city": "York", "country_id": 3})
    assert address.created_on_utc is not None
    client.attach_address(created["id"], address.id)
    client.attach_address(created["id"], address.id)
    assert [a.id for a in client.customer_addresses(created["id"])] == [address.id]
    assert client.update_address(address.id, {"city": "Hull"}) is True
    assert client.customer_addresses(created["id"])[0].city == "Hull"
    client.update_customer(created["id"], {"billing_address_id": address.id})
    assert client.customer_billing_address(created["id"]).id == address.id
    client.detach_address(created["id"], address.id)
    assert client.customer_addresses(created["id"]) == [] and client.customer_billing_address(created["id"]) is None
