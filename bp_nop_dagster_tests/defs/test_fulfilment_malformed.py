"""The fulfilment flow with nopCommerce orders that no longer parse (session-23 mutation sample,
issue 19 item 5; docs/mutation.md, "session 23"). Same set-up as test_fulfilment_flow.py (its
fixtures). The poison goes straight into the simulated shop, as test_one_bad_record.py does for the
order flow: a `tax_rates` string that is not `rate:amount` pairs, an item quantity of 1.5.

Rules: a record whose source data the models reject is dead-lettered under its own kind and key as
`malformed_record`, with what was wrong (`sync/fate.py`, `FulfilmentSync._malformed`); an API
error's message starts with the system it came from (`transport/errors.py`: `"{system}: ..."`);
the other records of the run go on. Breaks checked: the note's `_malformed(None, key, ...)` for a
nopCommerce order that does not parse; the order-item problems joined from `None`; the status
change's `_malformed(..., None, ...)` (no system)."""

from __future__ import annotations

from bp_nop_dagster_tests.defs.test_fulfilment_flow import fulfilment, instance  # noqa: F401 (fixtures)


def test_notes_and_status_changes_of_orders_that_do_not_parse_are_dead_lettered_and_the_rest_ship(fulfilment):  # noqa: F811
    bad_tax, bad_item, good = fulfilment.booked_orders(3)
    (cancelled,) = fulfilment.booked_orders(1, all_unpaid=True)  # Brightpearl cancels no order with goods-out notes
    notes = {name: fulfilment.fulfil(order, f"1Z{name}") for name, order in
             (("tax", bad_tax), ("item", bad_item), ("good", good))}
    shop = fulfilment.flow.world.nopcommerce
    for order in (bad_tax, cancelled):
        shop.orders[order["id"]]["tax_rates"] = "20:3.33;twenty:oops;"
    item = min((i for i in shop.order_items.values() if i["order_id"] == bad_item["id"]), key=lambda i: i["id"])
    item["quantity"] = 1.5
    fulfilment.flow.bp_client().update_order_status(fulfilment.bp_id(cancelled), 5, note="customer called to cancel")
    fulfilment.tick()
    fulfilment.tick_statuses()
    fulfilment.sync()

    ledger = fulfilment.resources["ledger"].get_ledger()
    letters = {(d.kind, d.nop_key): d for d in ledger.dead_letters()}
    assert set(letters) == {("goods_out_note", str(notes["tax"])), ("goods_out_note", str(notes["item"])),
                            ("bp_order_status", str(fulfilment.bp_id(cancelled)))}
    assert {d.reason for d in letters.values()} == {"malformed_record"}
    tax_note = letters[("goods_out_note", str(notes["tax"]))]
    assert tax_note.message.startswith(f"nopCommerce: nopCommerce order {bad_tax['id']}: ") and "tax_rates" in tax_note.message
    assert tax_note.payload == {"goods_out_note_id": notes["tax"], "bp_order_id": fulfilment.bp_id(bad_tax)}
    item_note = letters[("goods_out_note", str(notes["item"]))]
    assert f"nopCommerce order {bad_item['id']}: order item {item['id']}: quantity" in item_note.message
    status = letters[("bp_order_status", str(fulfilment.bp_id(cancelled)))]
    assert status.message.startswith(f"nopCommerce: nopCommerce order {cancelled['id']}: ")
    assert shop.orders[cancelled["id"]]["order_status_id"] != 40  # not cancelled in the shop

    assert [s["tracking_number"] for s in fulfilment.shipments(good)] == ["1Zgood"]
    assert fulfilment.shipments(bad_tax) == [] and fulfilment.shipments(bad_item) == []
