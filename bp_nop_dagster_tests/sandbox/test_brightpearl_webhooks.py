"""The Brightpearl simulator calls registered webhooks like the real system.

Expected behaviour comes from the sources, stated per test:
- api-docs.brightpearl.com/integration/webhook/post.html: `idSetAccepted` sends an ID set, else
  events are sent individually; QoS 0 retries a failed request only after a 503, QoS 1 retries
  all but a 4xx;
- .../integration/webhook-simulate/post.html: with ID sets one request holds the ids, without one
  request per id; the template variables and their meaning;
- help 212644883: `sales-order.created` only for the sales-order POST; the event names.
The retry waits are set tiny through the control API (their real schedule is undocumented)."""

from __future__ import annotations

import json

import pytest
import requests

from bp_nop_dagster.brightpearl.client import BrightpearlClient
from bp_nop_dagster_tests.capture_server import Answer, Received, capture_server
from bp_nop_dagster_tests.clocks import wait_until

ON_HAND = "product.modified.on-hand-modified"
TEMPLATE = ('{"accountCode": "${account-code}", "resourceType": "${resource-type}", "id": "${resource-id}", '
            '"lifecycleEvent": "${lifecycle-event}", "fullEvent": "${full-event}", "raisedOn": "${raised-on}"}')


class Account:
    def __init__(self, sandbox) -> None:
        creds = sandbox.world.credentials
        self.root = sandbox.urls.brightpearl_root
        self.world = sandbox.world
        self.bp = BrightpearlClient(sandbox.urls.brightpearl_base_url, app_ref=creds.brightpearl_app_ref,
                                    account_token=creds.brightpearl_account_token)
        self.fidelity(webhook_retry_delays_seconds=[0.05, 0.05, 0.05])

    def fidelity(self, **changes) -> None:
        requests.put(f"{self.root}/__sandbox__/fidelity", json=changes, timeout=10).raise_for_status()

    def subscribe(self, url: str, event: str = ON_HAND, *, id_sets: bool = True, qos: int = 1) -> int:
        return self.bp.create_webhook({"subscribeTo": event, "httpMethod": "POST", "uriTemplate": url + "/hook",
                                       "bodyTemplate": TEMPLATE, "contentType": "application/json",
                                       "idSetAccepted": id_sets, "qualityOfService": qos})

    def tracked(self, n: int) -> list[int]:
        return sorted(p.id for p in self.world.brightpearl.products.values() if p.stock_tracked)[:n]

    def correct(self, product_ids: list[int], quantity: int = 3) -> None:
        """One stock-correction POST moving every product (one operation)."""
        body = {"corrections": [{"productId": p, "quantity": quantity, "reason": "count"} for p in product_ids]}
        self.bp.request("POST", "/warehouse-service/warehouse/1/stock-correction", json_body=body, idempotent=False)

    def deliveries(self) -> list[dict]:
        return requests.get(f"{self.root}/__sandbox__/webhook-deliveries", timeout=10).json()

    def settled(self, count: int) -> list[dict]:
        return wait_until(lambda: (d := self.deliveries()) and len(d) >= count and all(x["outcome"] != "pending" for x in d) and d,
                          10, f"{count} settled deliveries")


@pytest.fixture
def account(sandbox) -> Account:
    return Account(sandbox)


def bodies(received: list[Received]) -> list[dict]:
    return [json.loads(r.body) for r in received]


def test_an_id_set_subscription_gets_one_request_for_the_products_moved_together(account):
    """DOC integration/webhook/post.html and webhook-simulate/post.html (idSetAccepted: one request holds the ID
    set; the template variables); FIDELITY 'webhook request', 'webhook events raised' (a goods movement raises
    product.modified.on-hand-modified) and 'webhook ID set grouping' (inferred: one event's ids share a
    request)."""
    with capture_server() as server:
        account.subscribe(server.url)
        products = account.tracked(3)
        account.correct(products)
        (delivery,) = account.settled(1)
        (sent,) = bodies(server.received)
    assert delivery["outcome"] == "delivered" and delivery["ids"] == products
    assert sent["fullEvent"] == ON_HAND and sent["resourceType"] == "product" and sent["lifecycleEvent"] == "modified"
    assert sent["id"] == f"{products[0]}-{products[-1]}" if products[-1] - products[0] == 2 else ",".join(map(str, products))
    assert sent["accountCode"] == account.world.credentials.brightpearl_account_code
    assert server.received[0].headers["content-type"] == "application/json" and server.received[0].path == "/hook"


def test_without_id_sets_each_id_is_its_own_request(account):
    """DOC integration/webhook-simulate/post.html: without idSetAccepted one request per id (FIDELITY 'webhook
    request')."""
    with capture_server() as server:
        account.subscribe(server.url, id_sets=False)
        products = account.tracked(3)
        account.correct(products)
        account.settled(3)
        assert sorted(int(b["id"]) for b in bodies(server.received)) == products


@pytest.mark.parametrize(("qos", "statuses", "attempts", "outcome"), [
    (1, [500, 502, 200], 3, "delivered"),  # QoS 1: retried until accepted
    (1, [400], 1, "gave_up"),  # QoS 1: a 4xx is not retried
    (1, [500, 500, 500, 500], 4, "gave_up"),  # retries run out (three waits set above)
    (0, [500], 1, "gave_up"),  # QoS 0: only a 503 is retried
    (0, [503, 200], 2, "delivered"),
])
def test_failed_deliveries_are_retried_as_the_quality_of_service_says(account, qos, statuses, attempts, outcome):
    """FIDELITY 'webhook retries' (DOC integration/webhook/post.html: QoS 0 retried only after a 503, QoS 1
    retried except after a 4xx); the number of retries is FIDELITY 'webhook retry schedule' (no source, set
    through the control API)."""
    answers = iter(statuses)
    with capture_server(lambda _: Answer(status=next(answers, 200))) as server:
        account.subscribe(server.url, qos=qos)
        account.correct(account.tracked(1))
        (delivery,) = account.settled(1)
        assert (len(delivery["attempts"]), delivery["outcome"]) == (attempts, outcome)
        assert len(server.received) == attempts
        assert len({r.body for r in server.received}) == 1  # a retry resends the same event


def test_a_dropped_event_is_never_sent(account):
    """FIDELITY 'webhook missed' (an integrator's note: no guarantee of a notification for every inventory
    change; the rate has no source, FidelityOptions.webhook_drop_chance)."""
    account.fidelity(webhook_drop_chance=1.0)
    with capture_server() as server:
        account.subscribe(server.url)
        account.correct(account.tracked(1))
        (delivery,) = wait_until(account.deliveries, 10, "the delivery log")
        assert delivery["outcome"] == "dropped" and server.received == []


def test_a_drop_chance_loses_some_events_and_not_others(account):
    """FIDELITY 'webhook missed' (FidelityOptions.webhook_drop_chance, no source for the rate): at 0.5, 40
    deliveries drop some and not all (5..35, a binomial far tail)."""
    account.fidelity(webhook_drop_chance=0.5)
    with capture_server() as server:
        account.subscribe(server.url, id_sets=False)
        products = account.tracked(40)
        account.correct(products)
        log = account.settled(40)
        dropped = [d for d in log if d["outcome"] == "dropped"]
        assert 5 <= len(dropped) <= 35 and len(server.received) == 40 - len(dropped)


def test_events_fire_where_the_help_page_says(account):
    """FIDELITY 'webhook events raised' (HELP 212644883). A phone order (control API: no sales-order
    POST, so no sales-order.created) shipped, its
    status changed, and a sales order created by POST: one call per event, for its id."""
    bp = account.world.brightpearl
    with capture_server() as server:
        for event in ("goods-out-note.modified.shipped", "order.modified.order-status", "sales-order.created"):
            account.subscribe(server.url, event)
        product = account.tracked(1)[0]
        requests.post(f"{account.root}/__sandbox__/stock", json={"product_id": product, "warehouse_id": 1, "on_hand": 50},
                      timeout=10).raise_for_status()
        placed = requests.post(f"{account.root}/__sandbox__/orders", timeout=10, json={
            "channel_id": 1, "warehouse_id": 1, "rows": [{"product_id": product, "quantity": 1}]})
        order_id = placed.json()["order_id"]
        note = requests.post(f"{account.root}/__sandbox__/orders/{order_id}/fulfil", json={"ship": True}, timeout=10).json()
        status = next(s for s in (1, 2, 3, 4) if s != bp.orders[order_id].status_id)
        account.bp.update_order_status(order_id, status)
        contact = next(iter(bp.contacts))
        created = account.bp.create_sales_order({"customer": {"id": contact}, "ref": "webhook-test"})
        account.settled(3)
        sent = sorted((b["fullEvent"], b["id"]) for b in bodies(server.received))
    assert sent == [("goods-out-note.modified.shipped", str(note["goods_note_id"])),
                    ("order.modified.order-status", str(order_id)), ("sales-order.created", str(created))]
