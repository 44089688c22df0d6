"""BrightpearlClient writes and natural-key lookups against the Brightpearl simulator over real HTTP.

Each test states one behaviour and can fail: what was created is checked with GETs (or the
sandbox's state counts), request counts come from the sandbox's own statistics. Each test names
the source of the server behaviour it relies on (DOC = api-docs.brightpearl.com page, REC = a
recording in bp_nop_dagster/contracts/brightpearl/recordings/, NOTES = docs/reference/brightpearl-api.md,
FIDELITY = a row of docs/fidelity.md) or the client RULE it checks (our own policy, stated in the
test). Error codes the sources do not give (the simulator's are illustrative) are never asserted:
the tests check that the client carries whatever code the reply holds.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
import requests

from bp_nop_dagster.brightpearl import client as client_module
from bp_nop_dagster.brightpearl.client import BrightpearlClient
from bp_nop_dagster.brightpearl.naive import NaiveBrightpearlClient
from bp_nop_dagster.transport.errors import NotFoundError, OutcomeUnknownError, ValidationError
from bp_nop_dagster.transport.retry import RetrySettings
from bp_nop_dagster_tests.clocks import VirtualSeconds, use_virtual_throttle

APP_REF = "sandbox_bpnop"
ACCOUNT_TOKEN = "sandbox-token"
INSTANCE = 77
SALES_ORDER_POST = "POST /order-service/sales-order"
PAYMENT_POST = "POST /accounting-service/customer-payment"


class SleepRecorder:
    """Records every wait, without waiting; given the sandbox throttle's virtual clock, each wait moves it."""

    def __init__(self, clock: VirtualSeconds | None = None) -> None:
        self.waits: list[float] = []
        self.clock = clock

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.clock is not None:
            self.clock.advance(seconds)


def make_client(sandbox, cls=BrightpearlClient, *, sleep=None, **kwargs) -> BrightpearlClient:
    return cls(
        sandbox.urls.brightpearl_base_url,
        app_ref=APP_REF,
        account_token=ACCOUNT_TOKEN,
        sleep=sleep or SleepRecorder(),
        retry=RetrySettings(max_attempts=4, initial_wait=0.01, max_wait=0.05, jitter=0.0),
        **kwargs,
    )


def control(sandbox, method: str, path: str, body=None) -> dict:
    response = requests.request(method, f"{sandbox.urls.brightpearl_root}/__sandbox__/{path}", json=body, timeout=10)
    response.raise_for_status()
    return response.json() if response.content else {}


def stats(sandbox) -> dict:
    return control(sandbox, "GET", "stats")


def reset_stats(sandbox) -> None:
    control(sandbox, "DELETE", "stats")


def faults(sandbox, *rules) -> None:
    control(sandbox, "PUT", "faults", {"rules": list(rules), "seed": 1})


def state(sandbox) -> dict:
    return control(sandbox, "GET", "state")


def raw_reply(sandbox, method: str, path: str, body=None) -> requests.Response:
    """The server's reply to a request sent without the client (to compare what the client made of it)."""
    return requests.request(method, f"{sandbox.urls.brightpearl_base_url}{path}", json=body, timeout=10,
                            headers={"brightpearl-app-ref": APP_REF, "brightpearl-account-token": ACCOUNT_TOKEN})


@pytest.fixture
def client(sandbox) -> BrightpearlClient:
    return make_client(sandbox)


@pytest.fixture
def shop(sandbox, client) -> dict:
    """A customer of our own and two stock-tracked products of the seeded shop."""
    address_id = client.create_postal_address({"addressLine1": "1 Test Street", "addressLine3": "Leeds", "postalCode": "LS1 1AA", "countryIsoCode": "GBR"})
    contact_id = client.create_contact({
        "firstName": "Ada", "lastName": "Writes", "postAddressIds": {"DEF": address_id, "BIL": address_id, "DEL": address_id},
        "communication": {"emails": {"PRI": {"email": "ada.writes@example.com"}}},
    })
    products = [row.product_id for row in client.product_search({"stockTracked": True})[:2]]
    assert len(products) == 2
    reset_stats(sandbox)
    return {"contact_id": contact_id, "address_id": address_id, "products": products}


def order_body(shop: dict, external_ref: str, *, instance: int | None = INSTANCE, **changes) -> dict:
    body = {
        "customer": {"id": shop["contact_id"]},
        "ref": f"#{external_ref}",
        "externalRef": external_ref,
        "installedIntegrationInstanceId": instance,
        "placedOn": "2026-01-05T10:00:00+00:00",
        "statusId": 2,
        "priceModeCode": "EXC",
        "currency": {"code": "GBP"},
        "delivery": {"shippingMethodId": 1, "address": {"addressFullName": "Ada Writes", "addressLine1": "1 Test Street",
                                                         "postalCode": "LS1 1AA", "countryIsoCode": "GBR", "email": "ada.writes@example.com"}},
        "billing": {"contactId": shop["contact_id"]},
        "rows": [
            {"productId": shop["products"][0], "quantity": 2, "taxCode": "T1", "net": "20.00", "tax": "4.00", "nominalCode": "4000"},
            {"productId": shop["products"][1], "quantity": 1, "taxCode": "T5", "net": "10.00", "tax": "0.50", "nominalCode": "4000"},
            {"name": "Shipping: courier", "quantity": 1, "taxCode": "T1", "net": "5.00", "tax": "1.00", "nominalCode": "4040"},
        ],
    }
    if instance is None:
        del body["installedIntegrationInstanceId"]
    body.update(changes)
    return body


def payment_body(order_id: int, ref: str, *, method: str = "CARD", amount: str = "40.50") -> dict:
    return {"transactionRef": ref, "paymentMethodCode": method, "paymentType": "RECEIPT", "orderId": order_id,
            "currencyIsoCode": "GBP", "amountPaid": amount, "paymentDate": "2026-01-05T10:05:00+00:00"}


def posts(sandbox, template: str) -> int:
    return stats(sandbox)["requests"].get(template, 0)


# --- creates ------------------------------------------------------------------------------------


def test_create_postal_address_and_contact_are_readable_back(client):
    """DOC contact/postal-address/post.html (addressLine1..4, postalCode, countryIsoCode -> id); NOTES §6
    and REC customer__get__simple_get.json (communication.emails.PRI.email, postAddressIds.DEF); RULE: the
    client's email lookup compares the fuzzy contact-search's rows exactly, ignoring case and spaces."""
    address_id = client.create_postal_address({"addressLine1": "9 Rue Test", "addressLine3": "Paris", "postalCode": "75001", "countryIsoCode": "FRA"})
    contact_id = client.create_contact({
        "firstName": "Zoé", "lastName": "Écrit", "postAddressIds": {"DEF": address_id},
        "communication": {"emails": {"PRI": {"email": "zoe@example.fr"}}},
    })
    [address] = client.postal_addresses([address_id])
    assert (address.address_line1, address.postal_code, address.country_iso_code) == ("9 Rue Test", "75001", "FRA")
    contact = client.contact(contact_id)
    assert (contact.first_name, contact.last_name, contact.primary_email) == ("Zoé", "Écrit", "zoe@example.fr")
    assert contact.default_address_id == address_id
    assert [row.contact_id for row in client.find_contacts_by_email("ZOE@example.fr ")] == [contact_id]


def test_create_sales_order_is_one_request_and_creates_the_order_with_its_rows(sandbox, client, shop):
    """DOC order/sales-order/post.html (atomic order with rows -> {response: id}: nothing to re-GET) and
    order/sales-order/get.html (rows, total); the total is the rule sum(net + tax) of the rows sent
    (priceModeCode EXC: net excludes tax): 20 + 4 + 10 + 0.50 + 5 + 1 = 40.50."""
    order_id = client.create_sales_order(order_body(shop, "NOP-1001"))
    assert stats(sandbox)["requests"] == {SALES_ORDER_POST: 1}  # no re-GET after the create
    order = client.order(order_id)
    assert order.order_type_code == "SO" and order.customer_contact_id == shop["contact_id"] and order.status_id == 2
    assert [(r.product_id or None, r.quantity, r.row_net, r.row_tax, r.tax_code) for r in order.rows] == [
        (shop["products"][0], Decimal(2), Decimal("20"), Decimal("4"), "T1"),
        (shop["products"][1], Decimal(1), Decimal("10"), Decimal("0.5"), "T5"),
        (None, Decimal(1), Decimal("5"), Decimal("1"), "T1"),
    ]
    assert order.totals is not None and order.totals.total == Decimal("40.50")
    assert client.find_sales_orders_by_external_ref("NOP-1001", INSTANCE) == [order_id]


def test_order_summaries_read_status_payment_shipping_total_and_external_ref_in_one_request(sandbox, client, shop):
    """DOC order/sales-order/get.html (statusId, orderPaymentStatus, shippingStatusCode, total, externalRef);
    FIDELITY 'derived order state' (NOTES §9: a RECEIPT of the whole total makes it PAID, no payment UNPAID);
    REC order_shipping_status_get.json (SNS = 'Stock not shipped': stock-tracked rows, no goods-out note);
    REC order_get_empty_not_found.json (ids that do not exist are left out, no error)."""
    first = client.create_sales_order(order_body(shop, "NOP-2001"))
    second = client.create_sales_order(order_body(shop, "NOP-2002", statusId=3))
    client.create_customer_payment(payment_body(first, "TX-2001"))
    reset_stats(sandbox)
    summaries = client.order_summaries([second, first, 999_999])
    assert stats(sandbox)["total"] == 1
    assert set(summaries) == {first, second}  # a missing id is simply absent
    one, two = summaries[first], summaries[second]
    assert (one.status_id, one.payment_status, one.shipping_status_code, one.total, one.external_ref) == (
        2, "PAID", "SNS", Decimal("40.50"), "NOP-2001")
    assert (two.status_id, two.payment_status, two.external_ref) == (3, "UNPAID", "NOP-2002")
    assert client.order_summaries([]) == {}


def test_order_summaries_chunk_id_sets_at_200(sandbox, client, shop):
    """FIDELITY 'ID sets' (HELP 211125046; sales-order GET caps ID sets at 200): 300 ids are ceil(300 / 200) = 2 requests."""
    order_id = client.create_sales_order(order_body(shop, "NOP-2101"))
    reset_stats(sandbox)
    summaries = client.order_summaries([order_id, *range(order_id + 1, order_id + 300)])
    assert list(summaries) == [order_id]
    assert stats(sandbox)["requests"] == {"GET /order-service/sales-order/{idset}": 2}


def test_update_order_status_sets_the_status_with_one_put(sandbox, client, shop):
    """DOC order/order-status-update/put.html and REC order_status_update_put.json ({orderStatusId, orderNote}
    -> {}); status 5 is a sales-order status of the seeded account (order statuses are per account, NOTES §5).
    The same PUT again leaves the status as it is (PUT is idempotent: RFC 9110 §9.2.2)."""
    order_id = client.create_sales_order(order_body(shop, "NOP-3001"))
    reset_stats(sandbox)
    assert client.update_order_status(order_id, 5, note="nopCommerce order cancelled") is None
    assert stats(sandbox)["requests"] == {"PUT /order-service/order/{orderId}/status": 1}
    assert client.order(order_id).status_id == 5
    client.update_order_status(order_id, 5)  # the same status again: harmless
    assert client.order(order_id).status_id == 5


def test_update_order_status_is_retried_after_a_lost_reply_because_put_is_idempotent(sandbox, client, shop):
    """RULE (transport/retry.py): an idempotent method (PUT, RFC 9110 §9.2.2) is resent after a lost reply;
    the lost reply is injected by the sandbox's fault rules, not a server behaviour."""
    order_id = client.create_sales_order(order_body(shop, "NOP-3101"))
    faults(sandbox, {"method": "PUT", "path": "/order-service/order/*/status", "drop_reply_rate": 1.0, "drop_reply_mode": "502", "max_hits": 1})
    client.update_order_status(order_id, 7)
    assert posts(sandbox, "PUT /order-service/order/{orderId}/status") == 2
    assert client.order(order_id).status_id == 7


def test_update_order_status_with_a_status_of_another_order_type_is_a_validation_error(sandbox, client, shop):
    """DOC order/order-status-update/put.html: 'An order status can be updated if ... the new order status is
    one of those available to that type of order'; NOTES §3: validation refusals are 400 {errors: [{code,
    message}]}. The code is illustrative (no source gives it): the test checks the client carries the
    reply's own code, read from the same request sent without the client."""
    order_id = client.create_sales_order(order_body(shop, "NOP-3201"))
    credit_status = 10  # a sales-credit (SC) status of the seeded account
    with pytest.raises(ValidationError) as caught:
        client.update_order_status(order_id, credit_status)
    raw = raw_reply(sandbox, "PUT", f"/order-service/order/{order_id}/status", {"orderStatusId": credit_status})
    assert raw.status_code == caught.value.status == 400
    assert caught.value.code == raw.json()["errors"][0]["code"]
    assert client.order(order_id).status_id == 2  # not changed


def test_create_customer_payment_is_found_by_transaction_ref(sandbox, client, shop):
    """DOC accounting/customer-payment/post.html (-> {response: id}); REC customer_payment__search__simple_search.json
    (columns paymentId, transactionRef, paymentMethodCode, paymentType, orderId, amountPaid); FIDELITY 'derived
    order state' (a RECEIPT of the whole 40.50 total: PAID)."""
    order_id = client.create_sales_order(order_body(shop, "NOP-4001"))
    payment_id = client.create_customer_payment(payment_body(order_id, "TX-4001"))
    [payment] = client.find_customer_payments("TX-4001", "CARD")
    assert (payment.payment_id, payment.order_id, payment.payment_type, payment.amount_paid) == (payment_id, order_id, "RECEIPT", Decimal("40.50"))
    assert client.order_summaries([order_id])[order_id].payment_status == "PAID"


# --- duplicates ---------------------------------------------------------------------------------


def test_repeated_external_ref_is_the_same_order_and_creates_nothing(sandbox, client, shop):
    """DOC order/sales-order/post.html: a repeat of externalRef + installedIntegrationInstanceId answers 200
    and changes nothing. With the existing id in the reply (the sandbox's default reading) the
    client gets that id; with an empty reply, an unknown outcome for the caller to look up."""
    order_id = client.create_sales_order(order_body(shop, "NOP-5001"))
    before = state(sandbox)
    assert client.create_sales_order(order_body(shop, "NOP-5001")) == order_id
    assert state(sandbox) == before
    assert posts(sandbox, SALES_ORDER_POST) == 2
    control(sandbox, "PUT", "fidelity", {"duplicate_sales_order_reply": "empty"})
    with pytest.raises(OutcomeUnknownError):
        client.create_sales_order(order_body(shop, "NOP-5001"))
    assert state(sandbox) == before
    assert client.find_sales_orders_by_external_ref("NOP-5001", INSTANCE) == [order_id]


def test_same_external_ref_under_another_instance_is_another_order(client, shop):
    """DOC order/sales-order/post.html: externalRef + installedIntegrationInstanceId is the duplicate key
    (FIDELITY 'duplicate sales-order POST'), so another instance (or none) is another order; REC order_search.json
    (externalRef and installedIntegrationInstanceId columns). RULE: instance None looks up orders without one."""
    ours = client.create_sales_order(order_body(shop, "NOP-5101"))
    theirs = client.create_sales_order(order_body(shop, "NOP-5101", instance=78))
    unset = client.create_sales_order(order_body(shop, "NOP-5101", instance=None))
    assert len({ours, theirs, unset}) == 3
    assert client.find_sales_orders_by_external_ref("NOP-5101", INSTANCE) == [ours]
    assert client.find_sales_orders_by_external_ref("NOP-5101", 78) == [theirs]
    assert client.find_sales_orders_by_external_ref("NOP-5101") == [unset]  # None = no instance, not "any"


def test_duplicate_transaction_ref_is_refused_and_creates_nothing(sandbox, client, shop):
    """DOC accounting/customer-payment/post.html: transactionRef + paymentMethodCode are checked for uniqueness
    (FIDELITY 'customer payment rules': the refusal's code is illustrative, so only its kind is asserted)."""
    order_id = client.create_sales_order(order_body(shop, "NOP-5201"))
    payment_id = client.create_customer_payment(payment_body(order_id, "TX-5201"))
    before = state(sandbox)
    with pytest.raises(ValidationError):
        client.create_customer_payment(payment_body(order_id, "TX-5201"))
    assert state(sandbox) == before
    assert [p.payment_id for p in client.find_customer_payments("TX-5201", "CARD")] == [payment_id]
    # unique per payment method: the same reference under another method is another payment
    other = client.create_customer_payment(payment_body(order_id, "TX-5201", method="PAYPAL", amount="1.00"))
    assert [p.payment_id for p in client.find_customer_payments("TX-5201")] == [payment_id, other]
    assert [p.payment_id for p in client.find_customer_payments("TX-5201", "PAYPAL")] == [other]


# --- commit, then the reply is lost ---------------------------------------------------------------


@pytest.mark.parametrize("mode", ["502", "timeout"])
def test_sales_order_committed_but_reply_lost_is_outcome_unknown_and_found_exactly_once(sandbox, shop, mode):
    """RULE (transport/retry.py): a POST that may have reached the server is never resent, its outcome is
    unknown; REC order_search.json (externalRef column) finds it; DOC order/sales-order/post.html: a repeat of
    externalRef + instance answers 200 with no change (FIDELITY 'duplicate sales-order POST')."""
    client = make_client(sandbox, read_timeout=0.5)
    faults(sandbox, {"method": "POST", "path": "/order-service/sales-order", "drop_reply_rate": 1.0,
                     "drop_reply_mode": mode, "drop_reply_hold_seconds": 2.0})
    orders_before = state(sandbox)["orders"]
    with pytest.raises(OutcomeUnknownError):
        client.create_sales_order(order_body(shop, f"NOP-6{mode}"))
    assert posts(sandbox, SALES_ORDER_POST) == 1  # never resent
    control(sandbox, "DELETE", "faults")
    assert state(sandbox)["orders"] == orders_before + 1
    [order_id] = client.find_sales_orders_by_external_ref(f"NOP-6{mode}", INSTANCE)
    assert client.order(order_id).customer_contact_id == shop["contact_id"]
    # and a second create of the same externalRef is the same order (200, no change: Sales Order POST doc)
    assert client.create_sales_order(order_body(shop, f"NOP-6{mode}")) == order_id
    assert state(sandbox)["orders"] == orders_before + 1


@pytest.mark.parametrize("mode", ["502", "timeout"])
def test_payment_committed_but_reply_lost_is_outcome_unknown_and_found_exactly_once(sandbox, shop, mode):
    """RULE (transport/retry.py): a POST is never resent after a lost reply; REC
    customer_payment__search__simple_search.json (transactionRef, paymentMethodCode columns) finds the payment."""
    client = make_client(sandbox, read_timeout=0.5)
    order_id = client.create_sales_order(order_body(shop, f"NOP-7{mode}"))
    faults(sandbox, {"method": "POST", "path": "/accounting-service/customer-payment", "drop_reply_rate": 1.0,
                     "drop_reply_mode": mode, "drop_reply_hold_seconds": 2.0})
    with pytest.raises(OutcomeUnknownError):
        client.create_customer_payment(payment_body(order_id, f"TX-7{mode}"))
    assert posts(sandbox, PAYMENT_POST) == 1
    control(sandbox, "DELETE", "faults")
    [payment] = client.find_customer_payments(f"TX-7{mode}", "CARD")
    assert payment.order_id == order_id


def test_contact_committed_but_reply_lost_is_outcome_unknown_and_found_by_email(sandbox, client):
    """RULE (transport/retry.py): a POST is never resent after a lost reply; REC customer__search__simple_search.json
    (primaryEmail column) and NOTES §6 (nested communication.emails.PRI.email) find the contact."""
    address_id = client.create_postal_address({"addressLine1": "2 Lost Lane", "countryIsoCode": "GBR"})
    faults(sandbox, {"method": "POST", "path": "/contact-service/contact", "drop_reply_rate": 1.0, "drop_reply_mode": "502"})
    with pytest.raises(OutcomeUnknownError):
        client.create_contact({"firstName": "Lost", "lastName": "Reply", "postAddressIds": {"DEF": address_id},
                               "communication": {"emails": {"PRI": {"email": "lost.reply@example.com"}}}})
    assert posts(sandbox, "POST /contact-service/contact") == 1
    control(sandbox, "DELETE", "faults")
    assert len(client.find_contacts_by_email("lost.reply@example.com")) == 1


def test_malformed_create_reply_is_outcome_unknown(sandbox, client, shop):
    """RULE: a create whose reply cannot be read as the documented {response: id} (NOTES §3) may have been
    applied, so its outcome is unknown (the order is there, found by REC order_search.json's externalRef)."""
    faults(sandbox, {"method": "POST", "path": "/order-service/sales-order", "malformed_rate": 1.0})
    with pytest.raises(OutcomeUnknownError):
        client.create_sales_order(order_body(shop, "NOP-7501"))
    control(sandbox, "DELETE", "faults")
    assert len(client.find_sales_orders_by_external_ref("NOP-7501", INSTANCE)) == 1


# --- validation errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        lambda rows: rows[0].update(productId=999_999),
        lambda rows: rows[1].update(taxCode="NOPE"),
    ],
    ids=["unknown_product", "bad_tax_code"],
)
def test_refused_sales_order_is_a_validation_error_with_the_servers_code_after_one_request(sandbox, client, shop, change):
    """NOTES §3 (HELP 212644843): a refused body is 400 {errors: [{code, message}]}; DOC order/sales-order/post.html:
    the order is created with its rows or not at all. Which code the server gives is not documented (the
    simulator's are illustrative): the client must carry the reply's own code and message, read here from the
    same body sent without the client. RULE: a 400 is never resent."""
    body = order_body(shop, "NOP-8001")
    change(body["rows"])
    before, calls_before = state(sandbox), client.call_count
    with pytest.raises(ValidationError) as caught:
        client.create_sales_order(body)
    assert stats(sandbox)["requests"] == {SALES_ORDER_POST: 1} and client.call_count - calls_before == 1
    assert state(sandbox) == before
    [error] = raw_reply(sandbox, "POST", "/order-service/sales-order", body).json()["errors"]
    assert (caught.value.status, caught.value.code, caught.value.server_message) == (400, error["code"], error["message"])
    assert client.find_sales_orders_by_external_ref("NOP-8001", INSTANCE) == []


def test_refused_payment_is_a_validation_error_after_one_request(sandbox, client, shop):
    """DOC accounting/customer-payment/post.html: paymentType is one of AUTH, CAPTURE, PAYMENT, RECEIPT, VOID;
    NOTES §3: a refusal is 400 {errors: [{code, message}]}. The code is illustrative: the client must carry
    the reply's own, read from the same body sent without the client. RULE: a 400 is never resent."""
    order_id = client.create_sales_order(order_body(shop, "NOP-8101"))
    reset_stats(sandbox)
    body = {**payment_body(order_id, "TX-8101"), "paymentType": "GIFT"}
    with pytest.raises(ValidationError) as caught:
        client.create_customer_payment(body)
    assert stats(sandbox)["requests"] == {PAYMENT_POST: 1}
    [error] = raw_reply(sandbox, "POST", "/accounting-service/customer-payment", body).json()["errors"]
    assert (caught.value.status, caught.value.code) == (400, error["code"])
    assert client.find_customer_payments("TX-8101") == []


# --- throttling ---------------------------------------------------------------------------------


def test_throttled_post_is_retried_after_the_period_and_creates_exactly_one_order(sandbox, shop):
    """FIDELITY 'throttle' (HELP 212644823, NOTES §2): over the account's quota a request is refused with 503 and
    brightpearl-next-throttle-period (ms) and is not applied; RULE: the client waits that period, then resends."""
    clock = use_virtual_throttle(sandbox)  # the retry's wait moves the sandbox's window: no real sleep
    sleep = SleepRecorder(clock)
    client = make_client(sandbox, sleep=sleep)
    control(sandbox, "PUT", "throttle", {"quota": 2, "window_seconds": 1.5})
    for _ in range(2):  # another app of the account uses up the window: our pacer cannot know
        requests.get(f"{sandbox.urls.brightpearl_base_url}/warehouse-service/warehouse",
                     headers={"brightpearl-app-ref": APP_REF, "brightpearl-account-token": ACCOUNT_TOKEN}, timeout=10)
    reset_stats(sandbox)
    order_id = client.create_sales_order(order_body(shop, "NOP-9001"))
    snapshot = stats(sandbox)
    assert snapshot["throttled"] >= 1 and client.throttled_count >= 1
    assert snapshot["by_status"].get("200") == 1  # exactly one POST went through
    assert any(wait >= 1.5 for wait in sleep.waits)  # waited for the server's whole period (both requests at one instant)
    control(sandbox, "PUT", "throttle", {"quota": 200, "window_seconds": 60})
    assert client.find_sales_orders_by_external_ref("NOP-9001", INSTANCE) == [order_id]


# --- natural-key lookups are exact ---------------------------------------------------------------


def test_find_contacts_by_email_returns_only_the_exact_email_of_the_fuzzy_search(client):
    """REC customer__search__simple_search.json and NOTES §6: primaryEmail is a fuzzy SEARCH_STRING (a contains
    match, FIDELITY 'search filter types') that may return several contacts, so (MEDUSA's rule, ours too) the
    client compares each row's email exactly, ignoring case only."""
    ids = {}
    for email in ("sam@example.com", "SAM@Example.com", "sam@example.com.au", "xsam@example.com", "sam@example.co"):
        address_id = client.create_postal_address({"addressLine1": "1 Near Miss Road", "countryIsoCode": "GBR"})
        ids[email] = client.create_contact({"firstName": "Sam", "lastName": "Near", "postAddressIds": {"DEF": address_id},
                                            "communication": {"emails": {"PRI": {"email": email}}}})
    fuzzy = {row.contact_id for row in client.contact_search(primary_email="sam@example.co")}
    assert len(fuzzy) >= 4  # the sandbox's search is fuzzy, as the real one is
    found = [row.contact_id for row in client.find_contacts_by_email("sam@example.com")]
    assert found == sorted([ids["sam@example.com"], ids["SAM@Example.com"]])  # case-insensitive, else exact
    assert [row.contact_id for row in client.find_contacts_by_email("sam@example.co")] == [ids["sam@example.co"]]
    assert client.find_contacts_by_email("  ") == []


def test_find_sales_orders_by_external_ref_is_exact(client, shop):
    """REC order_search.json (externalRef column); FIDELITY 'STRING filter case' (inferred: the simulator's
    filter ignores case, the harder case for the client); RULE: the client keeps exact matches only."""
    exact = client.create_sales_order(order_body(shop, "NOP-10"))
    client.create_sales_order(order_body(shop, "nop-10"))   # the server's STRING filter matches this too
    client.create_sales_order(order_body(shop, "NOP-100"))
    assert client.find_sales_orders_by_external_ref("NOP-10", INSTANCE) == [exact]
    assert client.find_sales_orders_by_external_ref("NOP-1", INSTANCE) == []
    assert client.find_sales_orders_by_external_ref("", INSTANCE) == []


def test_find_customer_payments_is_exact(client, shop):
    """REC customer_payment__search__simple_search.json (transactionRef, paymentMethodCode columns); DOC
    accounting/customer-payment/post.html (transactionRef unique per paymentMethodCode); RULE: exact matches only."""
    order_id = client.create_sales_order(order_body(shop, "NOP-11"))
    exact = client.create_customer_payment(payment_body(order_id, "TX-11", amount="1.00"))
    client.create_customer_payment(payment_body(order_id, "tx-11", amount="1.00"))
    client.create_customer_payment(payment_body(order_id, "TX-110", amount="1.00"))
    assert [p.payment_id for p in client.find_customer_payments("TX-11", "CARD")] == [exact]
    assert [p.payment_id for p in client.find_customer_payments("TX-11")] == [exact]
    assert client.find_customer_payments("TX-11", "card") == []
    assert client.find_customer_payments("") == []


def _create_product(client: BrightpearlClient, sku: str) -> int:
    reply = client.request("POST", "/product-service/product", json_body={
        "brandId": 1, "salesChannels": [{"productName": f"Test {sku!r}"}], "identity": {"sku": sku}, "stock": {"stockTracked": True},
    })
    return int(reply.body["response"])


def test_product_ids_by_sku_reads_the_catalogue_once_and_matches_exactly(sandbox, client, monkeypatch):
    """REC product_post.json (brandId required -> {response: id}); REC product_search.json (productId, SKU
    columns) and FIDELITY 'search paging' (firstResult = lastResult + 1 while morePagesAvailable): one request
    per page of 25 here; RULE: exact SKU matches only, a SKU held by two products is ambiguous."""
    monkeypatch.setattr(client_module, "SKU_SCAN_PAGE_SIZE", 25)  # several pages with the small shop
    plain = _create_product(client, "WR-PLAIN")
    lower = _create_product(client, "wr-plain")
    spaced = _create_product(client, " WR-SPACED ")
    twins = [_create_product(client, "WR-TWIN"), _create_product(client, "WR-TWIN")]
    products = client.product_search()
    assert len(products) > 50
    reset_stats(sandbox)
    found = client.product_ids_by_sku(["WR-PLAIN", "wr-plain", "WR-SPACED", "WR-TWIN", "NOT-THERE", ""])
    assert found == {"WR-PLAIN": plain, "wr-plain": lower}  # no trimmed, no ambiguous, no missing
    pages = -(-len(products) // 25)
    assert stats(sandbox)["requests"] == {"GET /product-service/product-search": pages}
    # cached per client: a second batch costs nothing; a new client (next run) reads again
    assert client.product_ids_by_sku([" WR-SPACED "]) == {" WR-SPACED ": spaced}
    assert stats(sandbox)["total"] == pages
    assert client.product_ids_by_sku([]) == {}
    assert twins[0] != twins[1]


def test_product_ids_by_sku_agrees_with_each_products_own_identity_sku(sandbox, client):
    """NOTES §7 and REC product_get_one.json: a product's SKU is identity.sku of GET /product-service/product/{id}.
    The expected map comes from that resource, read without the client, not from the product search the
    client's SKU map is built from."""
    some = [row.product_id for row in client.product_search()[:5]]  # which products: any five
    reply = raw_reply(sandbox, "GET", "/product-service/product/" + ",".join(map(str, some)))
    expected = {product["identity"]["sku"]: product["id"] for product in reply.json()["response"]}
    assert len(expected) == len(some)
    assert client.product_ids_by_sku(list(expected)) == expected


# --- the naive baseline -------------------------------------------------------------------------


def test_naive_client_books_an_equivalent_order_with_a_call_per_row(sandbox, shop):
    """DOC order/index.html (NOTES §5): the low-level order POST then one row POST per row, not atomic;
    REC order_post_so.json and order_row_post.json; DOC order/order/post.html has no externalRef field, so
    the baseline's order cannot be found by it; REC order_get_multiple.json (order GET by ID set)."""
    smart = make_client(sandbox)
    naive = make_client(sandbox, cls=NaiveBrightpearlClient)
    smart_id = smart.create_sales_order(order_body(shop, "NOP-12"))
    reset_stats(sandbox)
    body = order_body(shop, "NOP-12-naive", ref="#NOP-12")
    naive_id = naive.create_sales_order(body)
    rows = len(body["rows"])
    requests_seen = stats(sandbox)["requests"]
    assert requests_seen == {
        "GET /contact-service/contact-search": 1,
        "POST /order-service/order": 1,
        "POST /order-service/order/{orderId}/row": rows,
    }
    assert naive.call_count == rows + 2 and naive.calls["POST"] == rows + 1

    a, b = smart.order(smart_id), smart.order(naive_id)
    assert (b.customer_contact_id, b.status_id, b.reference, b.totals) == (a.customer_contact_id, a.status_id, a.reference, a.totals)
    assert (b.price_mode_code, b.currency_code, b.shipping_method_id, b.channel_id, b.warehouse_id) == (
        a.price_mode_code, a.currency_code, a.shipping_method_id, a.channel_id, a.warehouse_id)
    assert b.parties.delivery == a.parties.delivery
    assert [(r.product_id, r.quantity, r.row_net, r.row_tax, r.tax_code, r.nominal_code) for r in b.rows] == [
        (r.product_id, r.quantity, r.row_net, r.row_tax, r.tax_code, r.nominal_code) for r in a.rows]
    # the baseline's weakness: the low-level order carries no externalRef, so it cannot be found again
    assert smart.find_sales_orders_by_external_ref("NOP-12-naive", INSTANCE) == []
    # and it reads summaries one order per request
    reset_stats(sandbox)
    summaries = naive.order_summaries([smart_id, naive_id])
    assert stats(sandbox)["requests"] == {"GET /order-service/order/{idset}": 2}
    assert summaries[naive_id].total == summaries[smart_id].total == Decimal("40.50")


def test_naive_client_is_not_found_for_an_unknown_order_id(sandbox):
    """REC order_get_empty_not_found.json (order GET of a missing id: 200 {response: []}) and
    customer__get__empty_not_found.json (contact GET: 404 CMNC-404)."""
    naive = make_client(sandbox, cls=NaiveBrightpearlClient)
    assert naive.order_summaries([999_999]) == {}
    with pytest.raises(NotFoundError):
        naive.contact(999_999)
