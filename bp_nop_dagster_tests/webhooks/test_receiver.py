"""The webhook receiver over real HTTP (loopback, port chosen by the OS).

Rules under test, stated here: the callback is authenticated by a secret in the URL path, so a
wrong secret must look like any unknown path (404) and store nothing; the secret must never reach
a log line; an event is durable before the 200 (a second ledger on the same database sees it);
Brightpearl's QoS 1 is at-least-once (webhook POST doc), so the same delivery twice is one row;
a storage failure answers 503, the one status both QoS levels retry (webhook POST doc)."""

from __future__ import annotations

import logging

import pytest
import requests
from sqlalchemy.exc import OperationalError

from bp_nop_dagster.ledger import Ledger
from bp_nop_dagster.webhooks.receiver import BadEvent, RunningReceiver, parse_id_set

SECRET = "k3Y-secret_" + "Q" * 30
ON_HAND = "product.modified.on-hand-modified"


def body(ids: str = "1001", event: str = ON_HAND, raised_on: str = "2026-12-01T10:00:00.000Z") -> dict:
    """What Brightpearl sends for the body template we register (the recorded one)."""
    return {"accountCode": "sandbox", "resourceType": event.split(".")[0], "id": ids, "lifecycleEvent": "modified",
            "fullEvent": event, "raisedOn": raised_on, "brightpearlVersion": "5"}


@pytest.fixture
def db(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.sqlite'}"


@pytest.fixture
def receiver(db):
    ledger = Ledger(db)
    with RunningReceiver(ledger, SECRET) as running:
        yield running, ledger
    ledger.close()


def post(url: str, secret: str, payload) -> requests.Response:
    return requests.post(f"{url}/brightpearl/{secret}", json=payload, timeout=10)


def test_a_wrong_secret_is_404_and_stores_nothing(receiver):
    running, ledger = receiver
    for wrong in ("x" * 41, SECRET[:-1], SECRET + "x", SECRET.upper()):
        assert post(running.public_url, wrong, body()).status_code == 404
    assert requests.post(f"{running.public_url}/brightpearl/", json=body(), timeout=10).status_code == 404
    assert ledger.webhook_events([ON_HAND]) == []


def test_an_event_is_durable_before_the_200(receiver, db):
    running, _ = receiver
    response = post(running.public_url, SECRET, body("1001-1003,1007"))
    assert response.status_code == 200
    with Ledger(db) as other_process_view:
        assert [r.resource_id for r in other_process_view.webhook_events([ON_HAND])] == [1001, 1002, 1003, 1007]


def test_the_same_event_twice_is_one_row(receiver):
    running, ledger = receiver
    assert post(running.public_url, SECRET, body("1001")).status_code == 200
    assert post(running.public_url, SECRET, body("1001")).status_code == 200  # a QoS 1 redelivery
    assert post(running.public_url, SECRET, body("1001", raised_on="2026-12-01T10:00:09.000Z")).status_code == 200
    assert [(r.resource_id, r.raised_on) for r in ledger.webhook_events([ON_HAND])] == [
        (1001, "2026-12-01T10:00:00.000Z"), (1001, "2026-12-01T10:00:09.000Z")]


def test_a_body_that_can_never_be_stored_is_400(receiver):
    running, ledger = receiver
    assert post(running.public_url, SECRET, {"id": "1"}).status_code == 400  # no event
    assert post(running.public_url, SECRET, body("")).status_code == 400  # no ids
    assert post(running.public_url, SECRET, body("5-1")).status_code == 400  # reversed range
    assert requests.post(f"{running.public_url}/brightpearl/{SECRET}", data=b"not json", timeout=10).status_code == 400
    assert ledger.webhook_events([ON_HAND]) == []


class BrokenLedger(Ledger):
    def record_webhook_events(self, *args, **kwargs):
        raise OperationalError("INSERT", {}, Exception("database is locked"))


def test_a_storage_failure_is_503_so_brightpearl_retries(db):
    with RunningReceiver(BrokenLedger(db), SECRET) as running:
        assert post(running.public_url, SECRET, body()).status_code == 503


def test_the_secret_never_reaches_a_log(db, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    with RunningReceiver(Ledger(db), SECRET) as running:
        post(running.public_url, SECRET, body())
        post(running.public_url, SECRET + "x", body())
        post(running.public_url, SECRET, {"no": "event"})
    with RunningReceiver(BrokenLedger(db), SECRET) as running:
        post(running.public_url, SECRET, body())
    out, err = capfd.readouterr()
    # Every log record of the process but the test's own HTTP client (urllib3 logs the URL it calls).
    server_side = [r for r in caplog.records if not r.name.startswith("urllib3")]
    logged = "\n".join(f"{r.name} {r.getMessage()}" for r in server_side) + out + err
    assert "webhook product.modified.on-hand-modified: 1 ids, 1 new" in logged  # the receiver does log
    assert SECRET not in logged and SECRET[:20] not in logged


def test_id_sets_parse_as_the_id_set_syntax_says():
    # help 211125046: comma-separated ids and inclusive ranges
    assert parse_id_set("1-3,7,10-11") == [1, 2, 3, 7, 10, 11]
    assert parse_id_set(42) == [42]
    for bad in ("", "a", "1-", "3-1", "1,,2", None, True):
        with pytest.raises(BadEvent):
            parse_id_set(bad)
