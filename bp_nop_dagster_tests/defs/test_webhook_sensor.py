"""The webhook sensor, and the whole webhook path end to end through Dagster against the sandbox.

Rules under test, stated here: the sensor reads only the local queue (no Brightpearl request: the
webhooks' point is to cost no quota) and asks for runs for exactly the ids received; an event is
handed on once, even when rows become visible out of id order; the end-to-end path is the
production one: `bp-nop webhooks sync` registers the subscriptions, the simulator calls the
receiver, the sensor's run request is executed, and nopCommerce shows the Brightpearl change."""

from __future__ import annotations

import argparse
import io
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
import requests
import sqlalchemy as sa

from bp_nop_dagster import settings
from bp_nop_dagster.defs.fulfilment.assets import shipments_from_brightpearl
from bp_nop_dagster.defs.reconciliation.stock_drift import stock_drift
from bp_nop_dagster.defs.stock.assets import stock_from_brightpearl
from bp_nop_dagster.defs.webhooks.sensors import STOCK_OP, brightpearl_webhooks
from bp_nop_dagster.ledger import Ledger
from bp_nop_dagster.ledger.resource import LedgerResource
from bp_nop_dagster.sync.fulfilment import BP_ORDER_STATUS, GOODS_OUT_NOTE
from bp_nop_dagster.webhooks.command import run_webhooks_command
from bp_nop_dagster.webhooks.receiver import RunningReceiver
from bp_nop_dagster.webhooks.subscriptions import GOODS_OUT_SHIPPED, ON_HAND_MODIFIED, ORDER_STATUS_MODIFIED, SALES_ORDER_CREATED
from bp_nop_dagster_tests.clocks import wait_until
from bp_nop_dagster_tests.defs.test_fulfilment_flow import Fulfilment
from bp_nop_dagster_tests.defs.test_order_flow import Flow

SECRET = "e2e-" + "s" * 40


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


class Sensor:
    """The webhook sensor ticking as the daemon ticks it, with its cursor kept between ticks."""

    def __init__(self, resources: dict) -> None:
        self.resources = resources
        self.cursor: str | None = None

    def tick(self, instance) -> dg.SensorResult:
        with dg.build_sensor_context(instance=instance, cursor=self.cursor, resources=self.resources) as context:
            result = brightpearl_webhooks(context)
        assert isinstance(result, dg.SensorResult)
        self.cursor = result.cursor
        return result


def by_job(result: dg.SensorResult) -> dict[str, dg.RunRequest]:
    return {r.job_name: r for r in result.run_requests or []}


def test_a_stock_run_for_exactly_the_products_and_orders_received(tmp_path, instance):
    ledger_url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    sensor = Sensor({"ledger": LedgerResource(url=ledger_url)})
    book = Ledger(ledger_url)
    assert not sensor.tick(instance).run_requests
    book.record_webhook_events(ON_HAND_MODIFIED, [1005, 1001], "t1")
    book.record_webhook_events(ON_HAND_MODIFIED, [1001], "t1")  # a redelivery
    book.record_webhook_events(SALES_ORDER_CREATED, [300777, 300041], "t1")
    book.link("order", "41", 300041)  # created by this integration: its units are in flight, not re-read
    request = by_job(sensor.tick(instance))["stock_sync_job"]
    assert request.run_config["ops"][STOCK_OP]["config"] == {"product_ids": [1001, 1005], "order_ids": [300777]}
    assert request.tags["bp_nop/trigger"] == "webhook"
    assert not sensor.tick(instance).run_requests  # handed on once
    book.record_webhook_events(SALES_ORDER_CREATED, [300041], "t2")
    assert not sensor.tick(instance).run_requests  # only our own order: no stock run (and no quota) for it
    book.record_webhook_events(ON_HAND_MODIFIED, [1001], "t2")  # a later change of the same product
    assert by_job(sensor.tick(instance))["stock_sync_job"].run_config["ops"][STOCK_OP]["config"]["product_ids"] == [1001]


def test_shipped_notes_and_status_changes_of_our_orders_go_to_the_fulfilment_queue(tmp_path, instance):
    ledger_url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    sensor = Sensor({"ledger": LedgerResource(url=ledger_url)})
    book = Ledger(ledger_url)
    book.link("order", "41", 300041)  # a nopCommerce order this integration booked
    book.record_webhook_events(GOODS_OUT_SHIPPED, [900007], "t1")
    book.record_webhook_events(ORDER_STATUS_MODIFIED, [300041, 300099], "t1")  # 300099: another channel's order
    requests_ = by_job(sensor.tick(instance))
    assert set(requests_) == {"fulfilment_job"}
    assert book.pending(GOODS_OUT_NOTE) == ["900007"] and book.pending(BP_ORDER_STATUS) == ["300041"]


def test_a_row_that_becomes_visible_after_a_higher_one_is_handed_on_once(tmp_path, instance):
    """PostgreSQL assigns ids at insert and shows rows at commit: id 5 can be read before id 3."""
    ledger_url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    sensor = Sensor({"ledger": LedgerResource(url=ledger_url)})
    book = Ledger(ledger_url)
    now = datetime.now(UTC)

    def insert(row_id: int, product_id: int) -> None:
        with book.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO webhook_events (id, event, resource_id, raised_on, received_at) "
                                 "VALUES (:id, :event, :rid, 't', :at)"),
                         {"id": row_id, "event": ON_HAND_MODIFIED, "rid": product_id, "at": now.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")})

    insert(5, 1005)
    assert by_job(sensor.tick(instance))["stock_sync_job"].run_config["ops"][STOCK_OP]["config"]["product_ids"] == [1005]
    insert(3, 1003)
    assert by_job(sensor.tick(instance))["stock_sync_job"].run_config["ops"][STOCK_OP]["config"]["product_ids"] == [1003]
    assert not sensor.tick(instance).run_requests


# ------------------------------------------------------------------------------------ end to end
def sync_subscriptions(sandbox, public_url: str, action: str = "sync") -> tuple[int, str]:
    creds = sandbox.world.credentials
    environ = {settings.BRIGHTPEARL_BASE_URL: sandbox.urls.brightpearl_base_url,
               settings.BRIGHTPEARL_APP_REF: creds.brightpearl_app_ref,
               settings.BRIGHTPEARL_ACCOUNT_TOKEN: creds.brightpearl_account_token,
               settings.BP_NOP_WEBHOOK_SECRET: SECRET, settings.BP_NOP_WEBHOOK_PUBLIC_URL: public_url}
    out = io.StringIO()
    code = run_webhooks_command(argparse.Namespace(action=action), out, environ)
    return code, out.getvalue()


@pytest.mark.timeout(120)
def test_brightpearl_changes_reach_nopcommerce_through_webhooks_and_the_sensor(sandbox, tmp_path, monkeypatch, instance, ledger_clock):
    monkeypatch.setenv("BP_NOP_REPORTS_DIR", str(tmp_path / "reports"))
    flow = Flow(sandbox, tmp_path)
    fulfilment = Fulfilment(flow, instance)
    nop_order = fulfilment.booked_orders(1)[0]
    sensor = Sensor(fulfilment.resources)
    with RunningReceiver(Ledger(flow.ledger_url), SECRET) as receiver:
        assert sync_subscriptions(sandbox, receiver.public_url)[0] == 0
        assert sensor.tick(instance).run_requests == []  # the booking's own events are not ours to wait for here
        # Stock moved in Brightpearl (a stock-take correction).
        sku = "BPN-00003"
        requests.post(f"{flow.bp_root}/__sandbox__/stock", json={"sku": sku, "warehouse_id": 1, "quantity": 7},
                      timeout=10).raise_for_status()
        product_id = sandbox.world.brightpearl.sku_to_product_id()[sku]
        book = fulfilment.resources["ledger"].get_ledger()
        wait_until(lambda: book.webhook_received(ON_HAND_MODIFIED, [product_id]), 10, "the on-hand webhook in the ledger")
        stock_run = by_job(sensor.tick(instance))["stock_sync_job"]
        assert product_id in stock_run.run_config["ops"][STOCK_OP]["config"]["product_ids"]
        result = dg.materialize([stock_from_brightpearl], resources=fulfilment.resources, instance=instance,
                                run_config=stock_run.run_config)
        assert result.success
        bp, nop = sandbox.world.brightpearl, sandbox.world.nopcommerce
        product = nop.product_by_sku(sku)
        on_hand = sum(bp.on_hand(product_id, w) for w in (1, 3))  # the default mapping's warehouses
        assert nop.total_stock_quantity(product["id"]) == on_hand  # no nop order of this SKU is in flight
        # The drift report says which path found the change: this product by webhook, the rest by polling.
        drift = dg.materialize([stock_drift], resources=fulfilment.resources, instance=instance)
        frame = drift.output_for_node("reconciliation__stock_drift")
        found = dict(zip(frame["bp_product_id"].dropna().astype(int), frame.loc[frame["bp_product_id"].notna(), "found_by"]))
        assert found[product_id] == "webhook" and set(found.values()) == {"webhook", "poll"}

        # A goods-out note shipped in Brightpearl becomes a nopCommerce shipment.
        note_id = fulfilment.fulfil(nop_order, "TRACK-WH-1")
        wait_until(lambda: book.webhook_received(GOODS_OUT_SHIPPED, [note_id]), 10, "the shipped webhook in the ledger")
        run = by_job(sensor.tick(instance))["fulfilment_job"]
        assert run.tags["bp_nop/webhook_goods_out_notes"] == "1"
        assert dg.materialize([shipments_from_brightpearl], resources=fulfilment.resources, instance=instance).success
        (shipment,) = fulfilment.shipments(nop_order)
        assert shipment["tracking_number"] == "TRACK-WH-1" and shipment["shipped_date_utc"] is not None


def test_subscriptions_are_shown_repaired_and_removed(sandbox):
    public_url = "https://hooks.example.test"
    code, out = sync_subscriptions(sandbox, public_url, "status")
    assert code == 1 and out.count("  missing ") == 4
    other = {"subscribeTo": "product", "httpMethod": "GET", "uriTemplate": "https://someone.else/x?token=THEIRS",
             "idSetAccepted": True, "qualityOfService": 0}
    stale = {"subscribeTo": ON_HAND_MODIFIED, "httpMethod": "POST", "uriTemplate": f"{public_url}/brightpearl/old-secret-0123456789abcdef",
             "bodyTemplate": "{}", "contentType": "application/json", "idSetAccepted": True, "qualityOfService": 1}
    integration = sandbox.world.brightpearl.integration_service
    other_id = integration.api_create_webhook(other)["response"]
    integration.api_create_webhook(stale)
    code, out = sync_subscriptions(sandbox, public_url)
    assert code == 0 and out.count("\ncreated ") + out.startswith("created ") == 4 and out.count("deleted ") == 1
    hooks = list(integration.webhooks.values())
    ours = [w for w in hooks if w["uriTemplate"].startswith(public_url)]
    assert sorted(w["subscribeTo"] for w in ours) == sorted([ON_HAND_MODIFIED, GOODS_OUT_SHIPPED, ORDER_STATUS_MODIFIED, SALES_ORDER_CREATED])
    assert all(w["uriTemplate"] == f"{public_url}/brightpearl/{SECRET}" and w["qualityOfService"] == 1 and w["idSetAccepted"]
               for w in ours)
    code, out = sync_subscriptions(sandbox, public_url, "status")
    assert code == 0 and SECRET not in out and "***" in out
    assert "someone.else" in out and "THEIRS" not in out  # another integration's URL may hold its secret
    assert "created " not in sync_subscriptions(sandbox, public_url)[1]  # in step: nothing to do
    code, out = sync_subscriptions(sandbox, public_url, "remove")
    assert code == 0 and list(integration.webhooks) == [other_id]
