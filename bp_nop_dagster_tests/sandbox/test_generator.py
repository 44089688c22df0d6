"""The generated shop over real HTTP: same seed, same shop; and it has the messy parts on purpose.

The generator is ours (no external source): these tests pin its own promises (determinism, a UTC
anchor, the deliberate data-quality problems listed in docs/reference/data-quality.md)."""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone

import pytest
import requests

from bp_nop_dagster.sandbox.generator import HISTORY_DAYS, SCALE_SPECS, default_anchor

BP_HEADERS = {"brightpearl-app-ref": "sandbox_bpnop", "brightpearl-account-token": "sandbox-token"}


class Shop:
    """Reads the whole small shop through both public APIs."""

    def __init__(self, sandbox) -> None:
        self.bp = sandbox.urls.brightpearl_base_url
        self.nop = sandbox.urls.nopcommerce_base_url
        token = requests.post(f"{self.nop}/Authenticate/GetToken", json={"email": "admin@sandbox.test", "password": "sandbox"}, timeout=10).json()["token"]
        self.nop_headers = {"Authorization": f"Bearer {token}"}

    def bp_get(self, path: str, **params) -> object:
        response = requests.get(f"{self.bp}{path}", params=params, headers=BP_HEADERS, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()["response"]

    def nop_get(self, path: str, **params) -> object:
        response = requests.get(f"{self.nop}{path}", params=params, headers=self.nop_headers, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def snapshot(self) -> dict:
        products = self.bp_get("/product-service/product-search", pageSize=500)["results"]
        # availability of non-stock-tracked products answers 400 WHSC-097 (Airbyte source-brightpearl): tracked only
        ids = ",".join(str(row[0]) for row in products[:200] if row[8])
        return {
            "bp_products": products,
            "bp_availability": self.bp_get(f"/warehouse-service/product-availability/{ids}"),
            "bp_contacts": self.bp_get("/contact-service/contact-search", pageSize=500)["results"],
            "bp_orders": self.bp_get("/order-service/order-search", pageSize=500)["results"],
            "bp_movements": self.bp_get("/warehouse-service/goods-movement-search", pageSize=500)["results"],
            "nop_products": self.nop_get("/Product/GetAll", pageSize=1000)["items"],
            # the admin's last activity moves with every API login: not part of the generated shop
            "nop_customers": [c for c in self.nop_get("/Customer/GetAll", pageSize=1000)["items"] if c["id"] != 1],
            "nop_orders": self.nop_get("/Order/Search", pageSize=1000)["items"],
            "nop_returns": self.nop_get("/ReturnRequest/Search", pageSize=1000)["items"],
        }


def reset(sandbox, seed: int) -> None:
    requests.post(f"{sandbox.urls.brightpearl_root}/__sandbox__/reset", json={"seed": seed, "scale": "small"}, timeout=30).raise_for_status()


def fingerprint(snapshot: dict) -> str:
    return hashlib.sha256(json.dumps(snapshot, sort_keys=True, default=str).encode()).hexdigest()


def test_same_seed_same_shop_and_another_seed_another_shop(sandbox):
    shop = Shop(sandbox)
    reset(sandbox, 7)
    first = shop.snapshot()
    reset(sandbox, 8)
    other = shop.snapshot()
    reset(sandbox, 7)
    again = shop.snapshot()
    assert fingerprint(first) == fingerprint(again)
    assert fingerprint(first) != fingerprint(other)


@pytest.fixture
def snapshot(sandbox) -> dict:
    return Shop(sandbox).snapshot()


def test_catalogue_shares_skus_with_deliberate_mismatches(snapshot):
    bp_skus = {row[2] for row in snapshot["bp_products"]}
    nop_skus = [p["sku"] for p in snapshot["nop_products"]]
    assert len([s for s in nop_skus if s in bp_skus]) > len(nop_skus) * 0.8
    only_nop = [s for s in nop_skus if s.strip().upper() not in {b.upper() for b in bp_skus}]
    assert len(only_nop) >= 3
    assert len(bp_skus - {s.strip().upper() for s in nop_skus} - {f"{s.strip()}-{size}" for s in nop_skus for size in "SML"}) >= 3
    assert any(s != s.upper() and s.upper() in bp_skus for s in nop_skus)  # differs by case
    assert any(s != s.strip() and s.strip() in bp_skus for s in nop_skus)  # differs by whitespace
    assert any(count > 1 for count in Counter(nop_skus).values())  # duplicated in nopCommerce
    methods = Counter(p["manage_inventory_method_id"] for p in snapshot["nop_products"])
    assert methods[0] and methods[1] and methods[2]
    assert any(p["use_multiple_warehouses"] for p in snapshot["nop_products"])


def test_brightpearl_has_several_warehouses_with_stock(snapshot):
    warehouses = {wh for entry in snapshot["bp_availability"].values() for wh in entry["warehouses"]}
    assert len(warehouses) >= 2
    assert snapshot["bp_movements"]


def test_customers_are_messy(snapshot):
    customers = snapshot["nop_customers"]
    assert len(customers) >= SCALE_SPECS["small"].customers
    emails = [c["email"] for c in customers if c["email"]]
    assert any(e != e.lower() for e in emails)  # mixed case
    folded = Counter(e.lower() for e in emails)
    assert any(n > 1 for n in folded.values())  # a guest and a registered account share an email
    assert any(not c["phone"] for c in customers)
    assert any(any(ord(ch) > 127 for ch in (c["first_name"] or "") + (c["last_name"] or "")) for c in customers)
    assert len({c["country_id"] for c in customers}) >= 3
    assert snapshot["bp_contacts"]  # some customers already exist in Brightpearl


def test_order_history_spans_thirty_days_with_variety(snapshot):
    orders = snapshot["nop_orders"]
    assert len(orders) >= SCALE_SPECS["small"].orders * 0.9  # deleted ones are excluded from search
    created = sorted(datetime.fromisoformat(o["created_on_utc"]).replace(tzinfo=UTC) for o in orders)
    assert created[-1] - created[0] >= timedelta(days=30)
    assert created[-1] < datetime.now(UTC)
    assert HISTORY_DAYS >= 30
    assert len({o["payment_method_system_name"] for o in orders}) >= 3
    assert len({o["payment_status_id"] for o in orders}) >= 3
    assert any(o["order_status_id"] == 40 for o in orders)  # cancelled
    assert len({rate.split(":")[0].strip() for o in orders for rate in o["tax_rates"].split(";") if rate.strip()}) >= 2
    assert snapshot["nop_returns"]
    assert snapshot["bp_orders"]  # Brightpearl has phone orders of its own


def test_some_orders_are_deleted(sandbox, snapshot):
    state = requests.get(f"{sandbox.urls.nopcommerce_root}/__sandbox__/state", timeout=10).json()
    assert state["deleted_orders"] >= 1


def test_brightpearl_has_prices_purchase_orders_and_credits(sandbox):
    """The seeded shop's Brightpearl history for the catalogue and returns flows (generator docstring): cost and
    trade prices on some products, purchase orders with expected deliveries (received, part received, due, some
    after the anchor day), and staff-made credits of shipped phone orders, closed (SC-n) and refunded (a PAYMENT),
    one received to stock and one into quarantine. Read through the public API."""
    shop = Shop(sandbox)
    products = [row[0] for row in shop.bp_get("/product-service/product-search", pageSize=500)["results"]]
    prices = shop.bp_get(f"/product-service/product-price/{','.join(map(str, products[:200]))}/price-list/1,3")
    priced = [p for p in prices if all(pl["quantityPrice"] for pl in p["priceLists"])]
    assert len(priced) >= 5
    assert any(len(pl["quantityPrice"]) > 1 for p in priced for pl in p["priceLists"])  # a quantity break
    pos = shop.bp_get("/order-service/order-search", orderTypeId=2, columns="orderId")["results"]
    orders = shop.bp_get(f"/order-service/order/{','.join(str(r[0]) for r in pos)}")
    assert {o["stockStatusCode"] for o in orders} >= {"POA", "POP", "PON"}
    today = datetime.now(UTC).date().isoformat()
    assert all(o["delivery"].get("deliveryDate") for o in orders)
    assert any(o["delivery"]["deliveryDate"][:10] >= today for o in orders)  # still expected
    assert all(o["parties"]["supplier"]["contactId"] for o in orders)
    credits = shop.bp_get("/order-service/order-search", orderTypeId=3, columns="orderId,parentOrderId")["results"]
    assert credits and all(parent for _, parent in credits)
    documents = shop.bp_get(f"/order-service/order/{','.join(str(c[0]) for c in credits)}")
    assert all(d["invoices"][0]["invoiceReference"].startswith("SC-") and d["orderPaymentStatus"] == "PAID" for d in documents)
    refunds = shop.bp_get("/accounting-service/customer-payment-search", paymentType="PAYMENT")["results"]
    assert len(refunds) == len(credits)
    notes = shop.bp_get(f"/warehouse-service/order/{','.join(str(c[0]) for c in credits)}/goods-note/goods-in")
    movements = [m for note in notes.values() for m in note["goodsMoved"]]
    warehouses = {m["warehouseId"] for m in movements}
    quarantine = {shop.bp_get(f"/warehouse-service/warehouse/{w}/location/quarantine") for w in warehouses}
    assert any(m["destinationLocationId"] in quarantine for m in movements)
    assert any(m["destinationLocationId"] not in quarantine for m in movements)


def test_a_second_store_and_registrations_without_orders(sandbox, snapshot):
    """The generator's promise (module docstring): a second store, and customers who registered in
    the storefront (role Registered, CustomerRegistrationService) without ordering, some in it."""
    shop = Shop(sandbox)
    stores = shop.nop_get("/Store/GetAll")
    assert [s["id"] for s in stores] == [1, 2]
    registered_role = shop.nop_get("/CustomerRole/GetCustomerRoleBySystemName", systemName="Registered")["id"]
    registered = shop.nop_get("/Customer/GetAll", customerRoleIds=registered_role, pageSize=1000)["items"]
    ordering = {o["customer_id"] for o in snapshot["nop_orders"]}
    without_orders = [c for c in registered if c["id"] not in ordering and c["id"] > 2]  # 1, 2: the API users
    assert len(without_orders) >= 3
    assert {c["registered_in_store_id"] for c in without_orders} == {1, 2}
    assert all(c["username"] == c["email"] for c in without_orders)


# -- the anchor is today's midnight in UTC (README: "35 days of history ending at today's midnight UTC")
def test_the_anchor_is_midnight_of_the_utc_date_for_a_given_time():
    late_evening_in_honolulu = datetime(2024, 5, 1, 23, 30, tzinfo=timezone(timedelta(hours=-10)))  # 2024-05-02 09:30 UTC
    assert default_anchor(late_evening_in_honolulu) == datetime(2024, 5, 2, tzinfo=UTC)
    with pytest.raises(ValueError, match="timezone-aware"):
        default_anchor(datetime(2024, 5, 2, 9, 30))


@pytest.fixture
def local_zone_on_another_date(monkeypatch):
    """The process's local time zone set so that the local date differs from the UTC date right
    now: UTC+14 in the UTC afternoon (local date tomorrow), UTC-12 in the morning (yesterday)."""
    zone = "Etc/GMT-14" if datetime.now(UTC).hour >= 12 else "Etc/GMT+12"  # POSIX names: the sign is reversed
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_the_default_anchor_ignores_the_machines_time_zone(local_zone_on_another_date):
    before = datetime.now(UTC).date()
    anchor = default_anchor()
    after = datetime.now(UTC).date()
    assert anchor.tzinfo == UTC and anchor.time() == datetime.min.time()
    assert anchor.date() in {before, after}  # both reads agree except across a UTC midnight
    assert time.localtime().tm_mday != before.day or after != before  # the local date really is another


# USPS: the first three ZIP digits of each state the seeded US cities are in (TX 750-799, OR 970-979, MA 010-027).
USPS_PREFIXES = {"TX": range(750, 800), "OR": range(970, 980), "MA": range(10, 28)}


def test_seeded_us_order_addresses_name_a_state_their_zip_belongs_to(sandbox):
    shop = Shop(sandbox)
    us = next(c["id"] for c in shop.nop_get("/Country/GetAllCountries") if c["two_letter_iso_code"] == "US")
    address_ids = {o["billing_address_id"] for o in shop.nop_get("/Order/Search", pageSize=1000)["items"]}
    addresses = [shop.nop_get(f"/Address/GetById/{address_id}") for address_id in sorted(address_ids)]
    american = [a for a in addresses if a["country_id"] == us]
    assert american, "the small shop has US orders"
    for address in american:
        state = shop.nop_get(f"/StateProvince/GetById/{address['state_province_id']}")
        assert state["country_id"] == us
        assert int(address["zip_postal_code"][:3]) in USPS_PREFIXES[state["abbreviation"]], (address, state)
