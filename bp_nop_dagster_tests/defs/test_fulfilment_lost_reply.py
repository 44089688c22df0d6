"""A Ship call whose reply is lost but which nopCommerce applied (session-23 mutation sample, issue
19 item 5; docs/mutation.md, "session 23"). Same set-up as test_fulfilment_flow.py (its fixtures).

Rule (`FulfilmentSync._once`): an outcome-unknown call is read back; when the read-back shows it was
applied, the record is done without calling again, and the warning says which record it was (the
kind and the key), the line an operator matches with the lost reply. Break checked: the warning
logged with the key `None`."""

from __future__ import annotations

import logging

import requests

from bp_nop_dagster_tests.defs.test_fulfilment_flow import SHIP, fulfilment, instance  # noqa: F401 (fixtures)


def test_a_ship_whose_reply_is_lost_is_read_back_and_the_warning_names_the_note(fulfilment, caplog):  # noqa: F811
    (order,) = fulfilment.booked_orders(1)
    note = fulfilment.fulfil(order, "1ZLOST")
    fulfilment.flow.faults(fulfilment.flow.nop_root, {"method": "GET", "path": "/OrderProcessing/Ship/*", "drop_reply_rate": 1.0,
                                                     "drop_reply_mode": "502", "max_hits": 1})
    fulfilment.tick()
    requests.delete(f"{fulfilment.flow.nop_root}/__sandbox__/stats", timeout=10).raise_for_status()  # count this run's calls only
    with caplog.at_level(logging.WARNING, logger="bp_nop_dagster.sync.fulfilment"):
        fulfilment.sync()
    fulfilment.flow.faults(fulfilment.flow.nop_root)
    (shipment,) = fulfilment.shipments(order)
    assert shipment["shipped_date_utc"] is not None and fulfilment.nop_calls()[SHIP] == 1
    lost = [r.getMessage() for r in caplog.records if r.name == "bp_nop_dagster.sync.fulfilment" and "reply lost" in r.getMessage()]
    assert lost == [f"shipment_shipped {note}: reply lost, the read-back shows it was applied"]
