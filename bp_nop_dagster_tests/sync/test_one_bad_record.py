"""One bad record stops nothing (issue 12, item 3): each poison input below is parked by id with a
typed reason while the other orders of the same tick and run sync. Engines against the sandbox
over real HTTP, no Dagster.

The poison is put straight into the simulated shop (as `test_order_flow` does for malformed
orders): a `tax_rates` string that is not `rate:amount` pairs (nop writes `"20:3.3333;"`:
models.parse_tax_rates), an item quantity of 1.5 (OrderItemDto.Quantity is an int in the
plugin's contract), an email and a SKU over the ledger's 255-character keys, a NUL character
(PostgreSQL refuses it in text), an order whose items nopCommerce cannot serve (500), and an
error no rule classifies.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests

from bp_nop_dagster.brightpearl.resource import BrightpearlResource
from bp_nop_dagster.ledger import Ledger, RecordKind
from bp_nop_dagster.mapping.config import load_mapping_config
from bp_nop_dagster.nopcommerce.client import NopCommerceClient
from bp_nop_dagster.sync import orders as order_flow
from bp_nop_dagster.sync.cursor import SensorCursor
from bp_nop_dagster.sync.discovery import OVERLAP, discover_new_orders
from bp_nop_dagster.sync.orders import OrderSync
from bp_nop_dagster.transport.retry import RetrySettings
from bp_nop_dagster_tests.postgres import fresh_databases

ORDER = RecordKind.ORDER
ADDRESS = {"address1": "1 Mill Road", "city": "Leeds", "zip_postal_code": "LS1 4AB", "country_iso2": "GB"}
QUICK_RETRIES = RetrySettings(max_attempts=2, initial_wait=0.0, max_wait=0.0)  # a 500 fails in ms, not 15 s


class Shop:
    def __init__(self, sandbox, ledger: Ledger) -> None:
        creds = sandbox.world.credentials
        self.sandbox, self.world, self.ledger = sandbox, sandbox.world, ledger
        self.nop_root = sandbox.urls.nopcommerce_root
        self.nop = NopCommerceClient(sandbox.urls.nopcommerce_base_url, creds.nopcommerce_email, creds.nopcommerce_password,
                                     retry=QUICK_RETRIES)
        self.bp = BrightpearlResource(base_url=sandbox.urls.brightpearl_base_url, app_ref=creds.brightpearl_app_ref,
                                      account_token=creds.brightpearl_account_token).build_client()
        latest = max(o["created_on_utc"] for o in self.world.nopcommerce.orders.values()).replace(tzinfo=UTC)
        self.cursor = SensorCursor(watermark=max(datetime.now(UTC) - timedelta(seconds=1), latest + OVERLAP + timedelta(seconds=1)))

    def place(self, n: int, *, email: str | None = None, sku: str = "BPN-00001") -> list[int]:
        ids = []
        for i in range(n):
            body = {"email": email or f"poison{i}@flow.test", "first_name": "Po", "last_name": f"Ison {i}", "address": ADDRESS,
                    "items": [{"sku": sku, "quantity": 1}], "paid": True}
            response = requests.post(f"{self.nop_root}/__sandbox__/orders", json=body, timeout=10)
            assert response.status_code == 201, response.text
            ids.append(response.json()["id"])
        return ids

    def discover(self) -> list[int]:
        new, self.cursor = discover_new_orders(self.nop, self.ledger, self.cursor, datetime.now(UTC))
        return new

    def sync(self):
        return OrderSync(nop=self.nop, bp=self.bp, ledger=self.ledger, config=load_mapping_config(), owner="test").run()

    def letters(self) -> dict[str, tuple[str, str | None]]:
        return {d.nop_key: (d.reason, d.error_code) for d in self.ledger.dead_letters()}

    def statuses(self, ids) -> dict[int, str]:
        return {i: self.ledger.status(ORDER, str(i)).status for i in ids}


@pytest.fixture
def shop(sandbox, tmp_path):
    with Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}") as ledger:
        yield Shop(sandbox, ledger)


def test_an_order_whose_tax_rates_do_not_parse_stops_neither_the_sensor_nor_the_others(shop):
    bad, *good = shop.place(3)
    shop.world.nopcommerce.orders[bad]["tax_rates"] = "20:3.33;twenty:oops;"
    assert sorted(shop.discover()) == sorted([bad, *good])  # the tick hands on all three
    report = shop.sync()
    assert shop.statuses([bad, *good]) == {bad: "dead_lettered", **{g: "synced" for g in good}}
    (letter,) = shop.ledger.dead_letters()
    assert (letter.reason, letter.payload) == ("malformed_record", {"order_id": bad}) and "tax_rates" in letter.message
    assert (report.orders.created, report.orders.dead_lettered) == (2, 1)


def test_an_item_with_a_fractional_quantity_parks_its_order_only(shop):
    bad, *good = shop.place(3)
    item = next(i for i in shop.world.nopcommerce.order_items.values() if i["order_id"] == bad)
    item["quantity"] = 1.5
    shop.discover()
    shop.sync()
    assert shop.statuses([bad, *good]) == {bad: "dead_lettered", **{g: "synced" for g in good}}
    (letter,) = shop.ledger.dead_letters()
    assert letter.reason == "malformed_record" and f"order item {item['id']}: quantity" in letter.message


def test_an_error_no_rule_classifies_is_that_order_s_alone(shop, monkeypatch):
    bad, *good = shop.place(3)
    real = order_flow.sales_order_body

    def broken_for_one(detail, **kwargs):
        if detail.order.id == bad:
            raise ZeroDivisionError("a bug the mapping has for this order only")
        return real(detail, **kwargs)

    monkeypatch.setattr(order_flow, "sales_order_body", broken_for_one)
    shop.discover()
    shop.sync()
    assert shop.statuses([bad, *good]) == {bad: "dead_lettered", **{g: "synced" for g in good}}
    (letter,) = shop.ledger.dead_letters()
    assert (letter.reason, letter.error_code) == ("unexpected", "ZeroDivisionError") and "for this order only" in letter.message


def test_an_order_nopcommerce_cannot_serve_is_retried_alone_while_the_others_sync(shop):
    bad, *good = shop.place(3)
    rule = {"method": "GET", "path": f"/OrderItem/GetOrderItems/{bad}", "error_rate": 1.0, "error_status": 500}
    requests.put(f"{shop.nop_root}/__sandbox__/faults", json={"rules": [rule]}, timeout=10).raise_for_status()
    shop.discover()
    shop.sync()
    assert shop.statuses([bad, *good]) == {bad: "failed", **{g: "synced" for g in good}}
    record = shop.ledger.status(ORDER, str(bad))
    assert record.attempts == 1 and record.next_attempt_at is not None and "HTTP 500" in record.last_error


@pytest.mark.postgres
def test_long_keys_and_a_nul_settle_end_to_end_on_postgresql(sandbox):
    """Keys over 255 characters are hashed and NUL characters dropped by the ledger
    (`stored_key`, `clean_text`); here through the whole flow on the database that refuses them."""
    long_sku = "LONG-" + "x" * 296
    requests.post(f"{sandbox.urls.nopcommerce_root}/__sandbox__/products", json={"sku": long_sku, "stock_quantity": 5},
                  timeout=10).raise_for_status()
    with fresh_databases("ledger") as (database,), Ledger(database.url) as ledger:
        shop = Shop(sandbox, ledger)
        (long_email,) = shop.place(1, email="e" * 300 + "@flow.test")
        (nul_email,) = shop.place(1, email="nul\x00byte@flow.test")
        (long_item,) = shop.place(1, sku=long_sku)
        shop.discover()
        shop.sync()
        statuses = shop.statuses([long_email, nul_email, long_item])
        # Brightpearl refuses a 300-character email (contact POST, emails up to 255): parked with its code.
        assert shop.letters() == {str(long_email): ("validation_error", "CONC-006")}
        assert statuses == {long_email: "dead_lettered", nul_email: "synced", long_item: "synced"}
        assert ledger.status(ORDER, str(long_item)).needs_review  # a SKU Brightpearl lacks: the placeholder line
        assert ledger.bp_id(RecordKind.CONTACT, "e" * 300 + "@flow.test") is None
        assert ledger.bp_id(RecordKind.CONTACT, "nulbyte@flow.test") is not None
