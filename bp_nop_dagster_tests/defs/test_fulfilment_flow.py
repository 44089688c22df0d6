"""The fulfilment flow end to end through Dagster against the sandbox: shipped goods-out notes
become nopCommerce shipments (partial ones included), each shipped exactly once, under faults and
after a crash; Brightpearl cancellations and a mapped "delivered" status reach nopCommerce once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
import requests
import yaml

from bp_nop_dagster.brightpearl.client import BrightpearlClient
from bp_nop_dagster.defs.fulfilment.assets import shipments_from_brightpearl
from bp_nop_dagster.defs.sync_settings import FulfilmentKnobs, OrderFlowKnobs, SyncSettings
from bp_nop_dagster.defs.fulfilment.sensors import (
    brightpearl_order_status_changes,
    brightpearl_shipped_goods_out_notes,
    fulfilment_catch_up_sweep,
)
from bp_nop_dagster.mapping.config import DEFAULT_MAPPING_FILE
from bp_nop_dagster.mapping.fulfilment import note_id_in_comment
from bp_nop_dagster.nopcommerce.client import NopCommerceClient
from bp_nop_dagster.sandbox.nopcommerce.wire import new_entity
from bp_nop_dagster.sync.cursor import SensorCursor
from bp_nop_dagster.ledger import DEFAULT_POLICY
from bp_nop_dagster.sync.fulfilment import BP_ORDER_STATUS, GOODS_OUT_NOTE, NOTE_NOT_FOUND
from bp_nop_dagster.transport.errors import TransientError
from bp_nop_dagster_tests.defs.test_order_flow import Flow, linked_orders

SHIP = "GET /OrderProcessing/Ship/{shipmentId}"
DELIVER = "GET /OrderProcessing/Deliver/{shipmentId}"
CANCEL = "GET /OrderProcessing/CancelOrder/{orderId}"


def flow_settings(mapping_file: str | None) -> SyncSettings:
    return SyncSettings(mapping_file=mapping_file, orders=OrderFlowKnobs(intent_lease_seconds=1.0),
                        fulfilment=FulfilmentKnobs(intent_lease_seconds=1.0))


class Fulfilment:
    """Orders placed in nopCommerce and booked in Brightpearl by the order flow, then fulfilled in
    Brightpearl; the fulfilment sensors and asset run as the daemon would run them."""

    def __init__(self, flow: Flow, instance, mapping_file: str | None = None) -> None:
        self.flow = flow
        self.instance = instance
        self.resources = {**flow.resources, "sync_settings": flow_settings(mapping_file)}
        self.cursor = SensorCursor(watermark=datetime.now(UTC) - timedelta(seconds=1)).dumps()
        self.status_cursor = self.cursor

    def booked_orders(self, n: int, **place) -> list[dict]:
        """`n` nop orders (two lines: 1 x BPN-00001, 2 x BPN-00002) synced into Brightpearl, with
        enough stock in the Brightpearl warehouse to fulfil them."""
        for sku in ("BPN-00001", "BPN-00002"):
            body = {"sku": sku, "warehouse_id": 1, "on_hand": 100}
            requests.post(f"{self.flow.bp_root}/__sandbox__/stock", json=body, timeout=10).raise_for_status()
        placed = self.flow.place(n, **place)
        self.flow.tick(self.instance)
        self.flow.sync(self.instance)
        return placed

    def bp_id(self, nop_order: dict) -> int:
        return linked_orders(self.flow)[str(nop_order["id"])]

    def fulfil(self, nop_order: dict, tracking: str, quantities: list[int] | None = None) -> int:
        """A shipped goods-out note in Brightpearl for the order's product rows (all of each row, or
        `quantities` row by row); returns the note id."""
        bp_id = self.bp_id(nop_order)
        rows = [r for r in self.flow.bp_client().order_summaries([bp_id])[bp_id].rows if (r.external_ref or "").isdigit()]
        body = {"tracking_reference": tracking, "ship": True}
        if quantities is not None:
            body["rows"] = [{"row_id": r.id, "quantity": q} for r, q in zip(rows, quantities, strict=True) if q]
        response = requests.post(f"{self.flow.bp_root}/__sandbox__/orders/{bp_id}/fulfil", json=body, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()["goods_note_id"]

    def tick(self):
        with dg.build_sensor_context(instance=self.instance, cursor=self.cursor, resources=self.resources) as context:
            result = brightpearl_shipped_goods_out_notes(context)
            self.cursor = context.cursor
        return result

    def tick_statuses(self):
        with dg.build_sensor_context(instance=self.instance, cursor=self.status_cursor, resources=self.resources) as context:
            result = brightpearl_order_status_changes(context)
            self.status_cursor = context.cursor
        return result

    def sync(self) -> dict:
        """One materialization; its numeric metadata, plus whether the dead-letter check passed."""
        result = dg.materialize([shipments_from_brightpearl], resources=self.resources, instance=self.instance)
        metadata = result.asset_materializations_for_node("nopcommerce__shipments_from_brightpearl")[0].metadata
        (check,) = result.get_asset_check_evaluations()
        return {**{k: v.value for k, v in metadata.items()}, "check_passed": check.passed}

    def sync_until_drained(self, runs: int = 8) -> None:
        ledger = self.resources["ledger"].get_ledger()
        for _ in range(runs):
            self.sync()
            if not ledger.pending(GOODS_OUT_NOTE) and not ledger.pending(BP_ORDER_STATUS):
                return
        raise AssertionError(f"still pending after {runs} runs: {ledger.pending(GOODS_OUT_NOTE)} {ledger.pending(BP_ORDER_STATUS)}")

    # -- nopCommerce side, read straight from the simulator's state
    def shipments(self, nop_order: dict) -> list[dict]:
        nop = self.flow.world.nopcommerce
        return sorted((s for s in nop.shipments.values() if s["order_id"] == nop_order["id"]), key=lambda s: s["id"])

    def items(self, shipment: dict) -> dict[int, int]:
        return {i["order_item_id"]: i["quantity"] for i in self.flow.world.nopcommerce.items_of_shipment(shipment["id"])}

    def order(self, nop_order: dict) -> dict:
        return self.flow.world.nopcommerce.orders[nop_order["id"]]

    def nop_calls(self) -> dict[str, int]:
        return self.flow.stats(self.flow.nop_root)["requests"]


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


@pytest.fixture
def fulfilment(sandbox, tmp_path, monkeypatch, instance, ledger_clock) -> Fulfilment:
    monkeypatch.setenv("BP_NOP_REPORTS_DIR", str(tmp_path / "reports"))
    flow = Flow(sandbox, tmp_path)
    flow.ledger_clock = ledger_clock  # the ledger's clock: `advance` expires a lease without sleeping
    return Fulfilment(flow, instance)


def test_partial_shipments_one_shipment_per_note_shipped_once_and_a_rerun_writes_nothing(fulfilment):
    (order,) = fulfilment.booked_orders(1)
    first = fulfilment.fulfil(order, "1ZFIRST", [1, 1])
    assert isinstance(fulfilment.tick(), dg.RunRequest)
    requests.delete(f"{fulfilment.flow.nop_root}/__sandbox__/stats", timeout=10)
    metadata = fulfilment.sync()
    assert (metadata["notes_seen"], metadata["shipments_created"], metadata["ship_calls"]) == (1, 1, 1)
    assert metadata["check_passed"] is True
    (shipment,) = fulfilment.shipments(order)
    assert (shipment["tracking_number"], note_id_in_comment(shipment["admin_comment"])) == ("1ZFIRST", first)
    assert shipment["shipped_date_utc"] is not None and fulfilment.order(order)["shipping_status_id"] == 25  # partially shipped
    items = sorted(fulfilment.flow.world.nopcommerce.items_of_order(order["id"]), key=lambda i: i["id"])
    assert fulfilment.items(shipment) == {items[0]["id"]: 1, items[1]["id"]: 1}
    nop_warehouses = {i["warehouse_id"] for i in fulfilment.flow.world.nopcommerce.items_of_shipment(shipment["id"])}
    assert nop_warehouses == {1}  # Brightpearl warehouse 1 is nop warehouse 1 in the default stock mapping

    second = fulfilment.fulfil(order, "1ZSECOND")  # the rest: one more of the second line
    fulfilment.tick()
    fulfilment.sync()
    shipments = fulfilment.shipments(order)
    assert [note_id_in_comment(s["admin_comment"]) for s in shipments] == [first, second]
    assert fulfilment.items(shipments[1]) == {items[1]["id"]: 1}
    assert fulfilment.order(order)["shipping_status_id"] == 30  # shipped

    assert not isinstance(fulfilment.tick(), dg.RunRequest)  # the overlap re-reads both notes: de-duplicated
    fulfilment.resources["ledger"].get_ledger().enqueue(GOODS_OUT_NOTE, [str(first), str(second)], requeue=True)
    rerun = fulfilment.sync()
    assert (rerun["shipments_created"], rerun["ship_calls"]) == (0, 0)
    writes = {k: n for k, n in fulfilment.nop_calls().items() if (not k.startswith("GET") or "OrderProcessing" in k) and "GetToken" not in k}
    assert writes == {"POST /Shipment/Create": 2, "POST /ShipmentItem/Create": 3, SHIP: 2}


def test_faults_and_token_expiry_still_give_one_shipment_per_note_and_one_ship_call(fulfilment):
    placed = fulfilment.booked_orders(4)
    notes = {fulfilment.fulfil(order, f"1ZF{order['id']}", [1, 1]): order for order in placed[:2]}
    notes.update({fulfilment.fulfil(order, f"1ZF{order['id']}-2"): order for order in placed[:2]})
    notes.update({fulfilment.fulfil(order, f"1ZW{order['id']}"): order for order in placed[2:]})
    fulfilment.tick()
    requests.delete(f"{fulfilment.flow.nop_root}/__sandbox__/stats", timeout=10)
    fulfilment.flow.faults(
        fulfilment.flow.nop_root,
        {"method": "POST", "path": "/Shipment/Create", "error_rate": 0.3, "error_status": 500},
        {"method": "POST", "path": "/Shipment/Create", "drop_reply_rate": 0.4, "drop_reply_mode": "502"},
        {"method": "POST", "path": "/ShipmentItem/Create", "error_rate": 0.2, "error_status": 503},
        {"method": "POST", "path": "/ShipmentItem/Create", "drop_reply_rate": 0.3, "drop_reply_mode": "502"},
        {"method": "GET", "path": "/OrderProcessing/Ship/*", "drop_reply_rate": 0.5, "drop_reply_mode": "502"},
        {"method": "GET", "path": "/Shipment/GetAll", "error_rate": 0.2, "error_status": 502},
    )
    fulfilment.flow.faults(fulfilment.flow.bp_root, {"method": "GET", "path": "*", "error_rate": 0.15, "error_status": 503})
    requests.put(f"{fulfilment.flow.nop_root}/__sandbox__/token-lifetime", json={"seconds": 2}, timeout=10).raise_for_status()
    requests.post(f"{fulfilment.flow.nop_root}/__sandbox__/expire-tokens", timeout=10).raise_for_status()
    fulfilment.sync_until_drained()
    injected = requests.get(f"{fulfilment.flow.nop_root}/__sandbox__/faults", timeout=10).json()["injected"]
    fulfilment.flow.faults(fulfilment.flow.nop_root)
    fulfilment.flow.faults(fulfilment.flow.bp_root)

    assert injected.get("drop_reply_502", 0) > 0 and sum(injected.values()) > injected["drop_reply_502"]
    by_note: dict[int, list[dict]] = {}
    for order in placed:
        for shipment in fulfilment.shipments(order):
            by_note.setdefault(note_id_in_comment(shipment["admin_comment"]), []).append(shipment)
    assert {note: len(found) for note, found in by_note.items()} == dict.fromkeys(notes, 1)
    for order in placed:
        ordered = {i["id"]: i["quantity"] for i in fulfilment.flow.world.nopcommerce.items_of_order(order["id"])}
        shipped: dict[int, int] = {}
        for shipment in fulfilment.shipments(order):
            assert shipment["shipped_date_utc"] is not None
            for item_id, quantity in fulfilment.items(shipment).items():
                shipped[item_id] = shipped.get(item_id, 0) + quantity
        assert shipped == ordered and fulfilment.order(order)["shipping_status_id"] == 30
    assert fulfilment.nop_calls()[SHIP] == len(notes)  # each applied once, never re-sent after a lost reply


def test_a_run_killed_right_after_ship_does_not_ship_again(fulfilment, monkeypatch):
    (order,) = fulfilment.booked_orders(1)
    fulfilment.fulfil(order, "1ZKILL")
    fulfilment.tick()
    real_ship = NopCommerceClient.ship

    def ship_then_die(self, shipment_id, **kwargs):
        real_ship(self, shipment_id, **kwargs)
        raise SystemExit("killed after nopCommerce shipped, before the ledger knew")

    monkeypatch.setattr(NopCommerceClient, "ship", ship_then_die)
    with pytest.raises(SystemExit, match="killed after nopCommerce shipped"):
        fulfilment.sync()
    monkeypatch.setattr(NopCommerceClient, "ship", real_ship)
    # No wait: the unwound run released its intent's lease (WriteAhead.intent); the ledger's clock stands still.
    requests.delete(f"{fulfilment.flow.nop_root}/__sandbox__/stats", timeout=10)
    metadata = fulfilment.sync()
    assert metadata["ship_calls"] == 0 and SHIP not in fulfilment.nop_calls()
    (shipment,) = fulfilment.shipments(order)
    assert shipment["shipped_date_utc"] is not None


def test_a_brightpearl_cancellation_cancels_the_nop_order_once(fulfilment):
    cancelled, kept = fulfilment.booked_orders(2, all_unpaid=True)
    fulfilment.flow.bp_client().update_order_status(fulfilment.bp_id(cancelled), 5, note="customer called to cancel")
    assert isinstance(fulfilment.tick_statuses(), dg.RunRequest)
    requests.delete(f"{fulfilment.flow.nop_root}/__sandbox__/stats", timeout=10)
    assert fulfilment.sync()["cancel_calls"] == 1
    assert fulfilment.order(cancelled)["order_status_id"] == 40 and fulfilment.order(kept)["order_status_id"] != 40
    # RecordKind.ORDER_CANCELLED: "nopCommerce order id → Brightpearl order id, once cancelled" (break
    # checked, session 23 mutation sample: `_cancel` passing None as the linked id)
    assert fulfilment.resources["ledger"].get_ledger().bp_id("order_cancelled", str(cancelled["id"])) == fulfilment.bp_id(cancelled)

    assert not isinstance(fulfilment.tick_statuses(), dg.RunRequest)  # seen already
    fulfilment.resources["ledger"].get_ledger().enqueue(BP_ORDER_STATUS, [str(fulfilment.bp_id(cancelled))], requeue=True)
    assert fulfilment.sync()["cancel_calls"] == 0
    assert fulfilment.nop_calls()[CANCEL] == 1


def deliver_on_dispatched(fulfilment: Fulfilment, tmp_path) -> None:
    """Run the flow with a mapping where Brightpearl status 8 means "delivered"."""
    mapping = yaml.safe_load(DEFAULT_MAPPING_FILE.read_text(encoding="utf-8"))
    mapping["fulfilment"]["on_order_status"] = {5: "cancel", 8: "deliver"}
    path = tmp_path / "mapping.yaml"
    path.write_text(yaml.safe_dump(mapping), encoding="utf-8")
    fulfilment.resources["sync_settings"] = flow_settings(str(path))


def test_a_mapped_delivered_status_delivers_each_shipment_once(fulfilment, tmp_path):
    deliver_on_dispatched(fulfilment, tmp_path)
    (order,) = fulfilment.booked_orders(1, all_unpaid=True)
    fulfilment.fulfil(order, "1ZPART", [1, 0])
    fulfilment.fulfil(order, "1ZREST")
    fulfilment.tick()
    fulfilment.flow.bp_client().update_order_status(fulfilment.bp_id(order), 8, note="carrier confirmed delivery")
    fulfilment.tick_statuses()
    requests.delete(f"{fulfilment.flow.nop_root}/__sandbox__/stats", timeout=10)
    metadata = fulfilment.sync()
    assert (metadata["ship_calls"], metadata["deliver_calls"]) == (2, 2)
    assert all(s["delivery_date_utc"] is not None for s in fulfilment.shipments(order))
    assert fulfilment.order(order)["shipping_status_id"] == 40  # delivered
    fulfilment.resources["ledger"].get_ledger().enqueue(BP_ORDER_STATUS, [str(fulfilment.bp_id(order))], requeue=True)
    assert fulfilment.sync()["deliver_calls"] == 0
    assert fulfilment.nop_calls()[DELIVER] == 2


def test_a_note_whose_rows_match_no_nop_item_is_dead_lettered_and_the_rest_ship(fulfilment):
    broken, good = fulfilment.booked_orders(2)
    nop = fulfilment.flow.world.nopcommerce
    for item in [i for i in nop.order_items.values() if i["order_id"] == broken["id"] and i["quantity"] == 1]:
        del nop.order_items[item["id"]]  # the BPN-00001 line is gone from nopCommerce
    bad_note = fulfilment.fulfil(broken, "1ZBAD")
    fulfilment.fulfil(good, "1ZGOOD")
    fulfilment.tick()
    metadata = fulfilment.sync()
    assert (metadata["dead_lettered"], metadata["shipments_created"], metadata["ship_calls"]) == (1, 1, 1)
    assert metadata["check_passed"] is False
    ledger = fulfilment.resources["ledger"].get_ledger()
    (letter,) = ledger.dead_letters()
    assert (letter.kind, letter.nop_key, letter.reason) == (GOODS_OUT_NOTE, str(bad_note), "unknown_sku")
    assert letter.payload["nop_order_id"] == broken["id"]
    assert fulfilment.shipments(broken) == [] and ledger.open_intents() == []
    assert [s["tracking_number"] for s in fulfilment.shipments(good)] == ["1ZGOOD"]


def test_a_status_change_that_never_settles_is_dead_lettered_after_the_give_up_limit(fulfilment, tmp_path):
    deliver_on_dispatched(fulfilment, tmp_path)
    (order,) = fulfilment.booked_orders(1, all_unpaid=True)
    key = str(fulfilment.bp_id(order))
    fulfilment.flow.bp_client().update_order_status(int(key), 8)  # "delivered", but nothing was ever shipped
    fulfilment.tick_statuses()
    ledger = fulfilment.resources["ledger"].get_ledger()
    assert fulfilment.sync()["pending"] == 1
    for _ in range(DEFAULT_POLICY.give_up_after - 2):  # earlier runs, one failed attempt each
        ledger.mark_failed(BP_ORDER_STATUS, key, "an earlier run")
    # Its backoff is over (waited out with a fake clock in sync/test_fate.py, not here on the real one).
    ledger.requeue(BP_ORDER_STATUS, [key])
    metadata = fulfilment.sync()
    assert (metadata["pending"], metadata["dead_lettered"], metadata["deliver_calls"]) == (0, 1, 0)
    (letter,) = ledger.dead_letters()
    assert (letter.kind, letter.nop_key, letter.reason) == (BP_ORDER_STATUS, key, "gave_up") and "no goods-out note" in letter.message
    assert letter.payload == {"bp_order_id": int(key), "nop_order_id": order["id"]}


def test_a_note_shipping_what_nop_already_shipped_is_dead_lettered_and_no_item_is_written(fulfilment):
    """ShipmentItem/Create is a plain insert that checks no quantity (WAPI ShipmentItemController.Create):
    the flow itself never ships more of an item than ordered minus what the order's shipments
    already hold (mapping.fulfilment.shipment_lines)."""
    (order,) = fulfilment.booked_orders(1)
    nop = fulfilment.flow.world.nopcommerce
    shipment = nop.insert_shipment(new_entity("shipment", order_id=order["id"], tracking_number="BYHAND"))
    for item in nop.items_of_order(order["id"]):  # shipped in full by hand in nopCommerce
        nop.insert_shipment_item(new_entity("shipment_item", shipment_id=shipment["id"], order_item_id=item["id"], quantity=item["quantity"]))
    note = fulfilment.fulfil(order, "1ZTWICE")
    fulfilment.tick()
    metadata = fulfilment.sync()
    assert (metadata["dead_lettered"], metadata["shipments_created"], metadata["shipment_items_created"]) == (1, 0, 0)
    (letter,) = fulfilment.resources["ledger"].get_ledger().dead_letters()
    assert (letter.nop_key, letter.reason) == (str(note), "validation_error") and "left to ship" in letter.message
    assert [s["id"] for s in fulfilment.shipments(order)] == [shipment["id"]]
    assert sum(fulfilment.items(shipment).values()) == 3  # 1 x BPN-00001 + 2 x BPN-00002, nothing more


def test_a_note_for_a_deleted_nop_order_is_skipped_with_the_get_by_ids_reason(fulfilment):
    """Order/GetByIds leaves soft-deleted orders out (CORE OrderService.GetOrdersByIdsAsync,
    includeDeleted: false); the flow confirms with Order/GetById and records why it skips."""
    (order,) = fulfilment.booked_orders(1)
    requests.post(f"{fulfilment.flow.nop_root}/__sandbox__/orders/{order['id']}/delete", timeout=10).raise_for_status()
    note = fulfilment.fulfil(order, "1ZGONE")
    fulfilment.tick()
    metadata = fulfilment.sync()
    assert (metadata["skipped"], metadata["shipments_created"]) == (1, 0)
    record = fulfilment.resources["ledger"].get_ledger().status(GOODS_OUT_NOTE, str(note))
    assert record.status == "skipped"
    assert record.last_error.endswith(f"nopCommerce order {order['id']} absent from Order/GetByIds (deleted or not found): "
                                      "Order/GetById says deleted")


def test_a_shipment_shipped_by_someone_else_meanwhile_settles_by_reading_it_back(fulfilment, monkeypatch):
    """Ship of a shipment already shipped answers 500 (CORE ShipAsync throws a plain Exception;
    WAPI ErrorHandlerMiddleware): the flow never resends the state-changing GET, reads the
    shipment back, finds it shipped and settles the note, without a dead letter."""
    (order,) = fulfilment.booked_orders(1)
    fulfilment.fulfil(order, "1ZRACE")
    fulfilment.tick()
    real_ship = NopCommerceClient.ship
    backend = fulfilment.flow.world.nopcommerce

    def shipped_by_someone_else_first(self, shipment_id, **kwargs):
        backend.ship(shipment_id, notify_customer=False)  # e.g. a warehouse clerk in the nopCommerce admin
        real_ship(self, shipment_id, **kwargs)

    monkeypatch.setattr(NopCommerceClient, "ship", shipped_by_someone_else_first)
    requests.delete(f"{fulfilment.flow.nop_root}/__sandbox__/stats", timeout=10)
    metadata = fulfilment.sync()
    assert (metadata["ship_calls"], metadata["dead_lettered"], metadata["pending"]) == (1, 0, 0)
    assert fulfilment.nop_calls()[SHIP] == 1
    ledger = fulfilment.resources["ledger"].get_ledger()
    assert [r.status for r in ledger.statuses(GOODS_OUT_NOTE)] == ["synced"] and ledger.dead_letters() == []


# ------------------------------------------------------------------------- issue 12, items 4 to 6
def test_a_shipment_deleted_in_nopcommerce_meanwhile_is_dead_lettered_not_found(fulfilment):
    """The one fate rule (sync/fate.py): a NotFoundError is `not_found`, in this flow as in every
    other (it was `other`, and handled in this flow only)."""
    (order,) = fulfilment.booked_orders(1)
    note = fulfilment.fulfil(order, "1ZGONE")
    fulfilment.tick()
    fulfilment.flow.faults(fulfilment.flow.nop_root, {"method": "GET", "path": "/OrderProcessing/Ship/*", "error_rate": 1.0})
    assert fulfilment.sync()["pending"] == 1  # created, not shipped: retried later
    fulfilment.flow.faults(fulfilment.flow.nop_root)
    (shipment,) = fulfilment.shipments(order)
    del fulfilment.flow.world.nopcommerce.shipments[shipment["id"]]  # deleted by someone in the nopCommerce admin
    ledger = fulfilment.resources["ledger"].get_ledger()
    ledger.requeue(GOODS_OUT_NOTE, [str(note)])  # its backoff is over
    assert fulfilment.sync()["dead_lettered"] == 1
    (letter,) = ledger.dead_letters()
    assert (letter.nop_key, letter.reason, letter.error_code) == (str(note), "not_found", "404")


def test_a_note_brightpearl_did_not_return_is_skipped_only_when_a_re_check_agrees(fulfilment):
    """One reply without the note is not final (issue 12, item 5): the record is retried, and
    skipped when the next read does not find it either."""
    ledger = fulfilment.resources["ledger"].get_ledger()
    ledger.enqueue(GOODS_OUT_NOTE, ["987654"])
    assert fulfilment.sync()["skipped"] == 0
    record = ledger.status(GOODS_OUT_NOTE, "987654")
    assert (record.status, record.last_error) == ("failed", NOTE_NOT_FOUND)
    ledger.requeue(GOODS_OUT_NOTE, ["987654"])  # its backoff is over
    assert fulfilment.sync()["skipped"] == 1
    assert ledger.status(GOODS_OUT_NOTE, "987654").status == "skipped"


def test_a_note_skipped_as_not_shipped_is_re_opened_when_brightpearl_ships_it(fulfilment):
    (order,) = fulfilment.booked_orders(1)
    bp_id = fulfilment.bp_id(order)
    response = requests.post(f"{fulfilment.flow.bp_root}/__sandbox__/orders/{bp_id}/fulfil", json={"ship": False}, timeout=10)
    note = response.json()["goods_note_id"]
    ledger = fulfilment.resources["ledger"].get_ledger()
    ledger.enqueue(GOODS_OUT_NOTE, [str(note)])  # e.g. handed on by a search reply that ran ahead of the note
    for _ in range(2):  # skipped once the re-check agrees
        fulfilment.sync()
        ledger.requeue(GOODS_OUT_NOTE, [str(note)])
    assert ledger.status(GOODS_OUT_NOTE, str(note)).status == "skipped"
    requests.post(f"{fulfilment.flow.bp_root}/__sandbox__/goods-out-notes/{note}/ship", json={"tracking_reference": "1ZLATE"},
                  timeout=10).raise_for_status()
    assert isinstance(fulfilment.tick(), dg.RunRequest)
    assert fulfilment.sync()["shipments_created"] == 1
    assert ledger.status(GOODS_OUT_NOTE, str(note)).status == "synced"


def test_the_hourly_sweep_finds_a_note_whose_shipping_was_posted_before_the_sensors_window(fulfilment):
    """`shippedOn` is the shipping event's `occured`, set by whoever posts it (goods-out-note event
    POST doc): a note shipped "two hours ago" is outside the sensor's 5-minute overlap. The
    catch-up sweep re-reads the last 24 hours (issue 12, item 6)."""
    (order,) = fulfilment.booked_orders(1)
    bp_id = fulfilment.bp_id(order)
    note = requests.post(f"{fulfilment.flow.bp_root}/__sandbox__/orders/{bp_id}/fulfil", json={"ship": False},
                         timeout=10).json()["goods_note_id"]
    fulfilment.tick()
    backdated = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    requests.post(f"{fulfilment.flow.bp_root}/__sandbox__/goods-out-notes/{note}/ship",
                  json={"tracking_reference": "1ZPOSTED", "at": backdated}, timeout=10).raise_for_status()
    assert not isinstance(fulfilment.tick(), dg.RunRequest)  # the sensor's window misses it
    ledger = fulfilment.resources["ledger"].get_ledger()
    assert ledger.status(GOODS_OUT_NOTE, str(note)) is None
    with dg.build_schedule_context(instance=fulfilment.instance, resources=fulfilment.resources) as context:
        request = fulfilment_catch_up_sweep(context)
    assert isinstance(request, dg.RunRequest)
    assert fulfilment.sync()["shipments_created"] == 1
    assert [s["tracking_number"] for s in fulfilment.shipments(order)] == ["1ZPOSTED"]


def test_a_note_brightpearl_cannot_serve_delays_only_itself(fulfilment, monkeypatch):
    """One bad record stops nothing (issue 12, item 3): the bulk read of the notes fails whenever it
    includes the poison note (a reply Brightpearl cannot build for it); the flow reads the notes
    one by one, ships the others, and retries the poison one under the policy."""
    orders = fulfilment.booked_orders(3)
    notes = [fulfilment.fulfil(order, f"1Z{n}") for n, order in enumerate(orders)]
    poison = notes[1]
    fulfilment.tick()
    real = BrightpearlClient.goods_out_notes

    def fails_with_the_poison(self, order_ids="*", note_ids=None):
        if note_ids is not None and poison in list(note_ids):
            raise TransientError("Brightpearl", "server error", status=500, method="GET", path="/warehouse-service/order/*/goods-note/goods-out")
        return real(self, order_ids, note_ids)

    monkeypatch.setattr(BrightpearlClient, "goods_out_notes", fails_with_the_poison)
    metadata = fulfilment.sync()
    assert (metadata["shipments_created"], metadata["pending"]) == (2, 1)
    ledger = fulfilment.resources["ledger"].get_ledger()
    assert {key: ledger.status(GOODS_OUT_NOTE, str(key)).status for key in notes} == {
        notes[0]: "synced", poison: "failed", notes[2]: "synced"}
    assert ledger.status(GOODS_OUT_NOTE, str(poison)).attempts == 1
