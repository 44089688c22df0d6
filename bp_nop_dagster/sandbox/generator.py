"""Deterministic shop generator: the same seed (and anchor day) always builds the same shop.

It seeds both simulators through their Python backends, the way a merchant's history would look
on the day the integration is switched on:

- a catalogue shared by SKU, with deliberate mismatches: SKUs only in nopCommerce, SKUs only in
  Brightpearl, SKUs that differ only by case or surrounding whitespace, one SKU duplicated in
  nopCommerce; most products tracked simply, some across several warehouses, some by attribute
  combination (each combination SKU is its own Brightpearl product), some not tracked at all;
- Brightpearl stock on several warehouses, set by stock corrections before the anchor day;
- customers with messy data: unicode names, mixed-case emails, a guest and a registered account
  sharing one email, missing phones, several countries; about a third already exist as
  Brightpearl contacts (phone customers), some under a differently-cased email;
- 35 days of nopCommerce orders before the anchor with one to four lines, several tax rates,
  payment methods and statuses, some discounted, some cancelled, a few deleted;
- a few Brightpearl phone orders, shipped, so the Brightpearl side has history of its own;
- a second nopCommerce store (no orders of its own yet) and a few customers who registered in
  the storefront without ordering, some in the second store (built last, after everything above
  drew from the random generator, so the ids and values of the rest of the shop do not move);
- the placeholder product `NOP-UNMAPPED` (not stock tracked) that order lines with an unknown SKU
  are booked against, flagged for review;
- appended after the rest (so nothing above changes; its own random stream): cost and trade price-list
  prices on every fifth Brightpearl product, two suppliers, purchase orders with expected
  deliveries (one received, one part received, the rest still due, some after the anchor day),
  and sales credits made by staff against shipped phone orders (closed, refunded by a PAYMENT;
  one's goods received to stock, one's into quarantine).

Nothing in here reads the clock or an unordered collection: dates are offsets from `anchor`
(default: today's midnight UTC, so the history ends just before today).
"""

from __future__ import annotations

import random
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bp_nop_dagster.sandbox.brightpearl.backend import BrightpearlBackend
    from bp_nop_dagster.sandbox.nopcommerce.backend import NopCommerceBackend


@dataclass(frozen=True)
class ScaleSpec:
    products: int
    customers: int
    orders: int
    phone_orders: int
    return_requests: int


SCALE_SPECS: dict[str, ScaleSpec] = {
    "small": ScaleSpec(products=60, customers=40, orders=140, phone_orders=8, return_requests=4),
    "medium": ScaleSpec(products=5_000, customers=3_000, orders=20_000, phone_orders=200, return_requests=100),
    "large": ScaleSpec(products=20_000, customers=10_000, orders=100_000, phone_orders=1_000, return_requests=500),
    # A big catalogue with a small order history (the stock benchmarks: 10,000 SKUs).
    "catalogue": ScaleSpec(products=10_000, customers=40, orders=140, phone_orders=8, return_requests=4),
    # The catalogue benchmark: 20,000 products, the same small order history.
    "catalogue_20k": ScaleSpec(products=20_000, customers=40, orders=140, phone_orders=8, return_requests=4),
}
HISTORY_DAYS = 35

# (name, ISO2, ISO3, city, postcode pattern) for the countries the shop ships to.
COUNTRIES = [
    ("United Kingdom", "GB", "GBR", ["London", "Leeds", "Sheffield", "Glasgow", "Cardiff"], "LS{d} {d}AB"),
    ("United States", "US", "USA", ["Austin", "Portland", "Boston"], "{d}{d}{d}{d}{d}"),
    ("Germany", "DE", "DEU", ["München", "Köln", "Düsseldorf"], "{d}{d}{d}{d}{d}"),
    ("France", "FR", "FRA", ["Besançon", "Lyon", "Orléans"], "{d}{d}{d}{d}{d}"),
    ("Ireland", "IE", "IRL", ["Dublin", "Cork"], "D{d}{d} X{d}Y{d}"),
    ("Spain", "ES", "ESP", ["A Coruña", "Málaga"], "{d}{d}{d}{d}{d}"),
    ("Netherlands", "NL", "NLD", ["Utrecht", "Den Haag"], "{d}{d}{d}{d} AB"),
    ("Sweden", "SE", "SWE", ["Göteborg", "Malmö"], "{d}{d}{d} {d}{d}"),
]
COUNTRY_WEIGHTS = [60, 10, 8, 7, 5, 4, 3, 3]
# The seeded US cities' states and a ZIP prefix of each (USPS: Austin 787xx, Portland OR 972xx,
# Boston 021xx): a seeded US address names its city's state and a ZIP of that state.
US_CITY_STATES = {"Austin": ("TX", "787"), "Portland": ("OR", "972"), "Boston": ("MA", "021")}
FIRST_NAMES = [
    "Oliver", "Amelia", "José", "Zoë", "Łukasz", "Søren", "Chloé", "Siobhán", "Ólafur", "Renée",
    "Mohammed", "Aoife", "François", "Björn", "Nuño", "Priya", "Jürgen", "Élodie", "Wei", "Hannah",
    "Jack", "Isla", "Noah", "Freya", "Ümit", "Dvořák", "Anaïs", "Seán", "Mia", "Théo",
]
LAST_NAMES = [
    "Smith", "O'Brien", "García", "Müller", "Nowak", "Jørgensen", "Dubois", "Ní Bhriain", "Jónsson",
    "Lefèvre", "Khan", "Murphy", "Öztürk", "Svensson", "Peña", "Patel", "Groß", "Brontë", "王",
    "Williams", "Taylor-Jones", "van der Berg", "d'Arcy", "Kowalczyk", "MacDonald", "Nguyễn",
]
STREETS = ["High Street", "Station Road", "Church Lane", "Mill Road", "Queen's Avenue", "Rue de la Paix", "Hauptstraße", "Calle Mayor"]
ADJECTIVES = ["Classic", "Organic", "Merino", "Vintage", "Recycled", "Linen", "Waxed", "Bamboo", "Alpine", "Coastal", "Heritage", "Ultralight"]
NOUNS = ["Scarf", "Beanie", "Tote Bag", "Water Bottle", "Notebook", "Mug", "Candle", "Socks", "Apron", "Backpack", "Gloves", "Throw Blanket"]
SIZES = ["S", "M", "L"]
NOP_PAYMENT_METHODS = [
    ("Payments.Manual", 55),
    ("Payments.PayPalStandard", 25),
    ("Payments.CheckMoneyOrder", 12),
    ("Payments.PurchaseOrder", 8),
]
SHIPPING_OPTIONS = [("Ground", Decimal("4.95")), ("Next Day Air", Decimal("9.95")), ("In-Store Pickup", Decimal("0.00"))]
PLACEHOLDER_SKU = "NOP-UNMAPPED"
BP_WAREHOUSES = [("Main warehouse", "MAIN"), ("Outlet store", "OUT"), ("3PL Leeds", "3PL")]
NOP_WAREHOUSES = ["Main warehouse", "3PL Leeds"]
TAX = [(1, "T1", 80), (2, "T5", 15), (3, "T0", 5)]  # (nop tax category, Brightpearl tax code, weight)


def default_anchor(now: datetime | None = None) -> datetime:
    """Today's midnight UTC (today in UTC, whatever the machine's time zone): generated history
    ends just before it. `now` (aware) stands for the current time."""
    now = datetime.now(UTC) if now is None else now
    if now.tzinfo is None:
        raise ValueError("default_anchor needs a timezone-aware time")
    return datetime.combine(now.astimezone(UTC).date(), time.min, tzinfo=UTC)


def generate_shop(
    brightpearl: BrightpearlBackend,
    nopcommerce: NopCommerceBackend,
    *,
    seed: int,
    scale: str,
    anchor: datetime | None = None,
) -> None:
    """Fill both (empty) backends with the shop for `seed` at `scale`."""
    if scale not in SCALE_SPECS:
        raise ValueError(f"scale must be one of {', '.join(SCALE_SPECS)}, not {scale!r}")
    _ShopBuilder(brightpearl, nopcommerce, random.Random(seed), SCALE_SPECS[scale], anchor or default_anchor(),
                 history_rng=random.Random(f"{seed}:brightpearl-history")).build()


def sku_for(index: int) -> str:
    return f"BPN-{index:05d}"


class _ShopBuilder:
    def __init__(self, bp: BrightpearlBackend, nop: NopCommerceBackend, rng: random.Random, spec: ScaleSpec, anchor: datetime,
                 history_rng: random.Random) -> None:
        self.bp = bp
        self.nop = nop
        self.rng = rng
        self.history_rng = history_rng  # only for what is appended last: the main stream stays as it was
        self.spec = spec
        self.anchor = anchor.astimezone(UTC)
        self.history_start = self.anchor - timedelta(days=HISTORY_DAYS)
        self.nop_product_ids: list[int] = []
        self.nop_customer_ids: list[int] = []
        self.bp_products_by_sku: dict[str, int] = {}
        self.bp_contacts: list[int] = []

    def build(self) -> None:
        """Build the shop with both backends' clocks on simulated time (`self.now`), so every
        timestamp they stamp is a function of the seed; the real clocks are back afterwards."""
        real_clocks = self.bp.clock, self.nop.clock
        self.now = self.history_start
        self.bp.clock = lambda: self.now
        self.nop.clock = lambda: self.now.replace(tzinfo=None)
        try:
            bp_warehouses = [self.bp.add_warehouse(name, code) for name, code in BP_WAREHOUSES]
            nop_warehouses = [self.nop.add_warehouse(name) for name in NOP_WAREHOUSES]
            self._catalogue(bp_warehouses, nop_warehouses)
            self.bp.add_product(PLACEHOLDER_SKU, "Unmapped nopCommerce item (review)", price=Decimal("0"), stock_tracked=False,
                                created_on=self.history_start - timedelta(days=400))
            self._customers()
            orders = self._orders()
            phone_orders = self._phone_orders(bp_warehouses[0])
            self._return_requests(orders)
            self._brightpearl_purchasing_and_returns(bp_warehouses[0], phone_orders)
            self._second_store_and_registrations()
        finally:
            self.bp.clock, self.nop.clock = real_clocks

    def _when(self, day_offset_max: int = HISTORY_DAYS) -> datetime:
        return self.history_start + timedelta(seconds=self.rng.randrange(day_offset_max * 86_400))

    def _catalogue(self, bp_warehouses: list[int], nop_warehouses: list[int]) -> None:
        count = self.spec.products
        only_nop = set(range(count - 3, count))
        only_bp = set(range(count - 6, count - 3))
        case_differs = {7, 17}
        whitespace_differs = {9, 19}
        duplicated_in_nop = 11
        for index in range(1, count + 1):
            rng = self.rng
            sku = sku_for(index)
            name = f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} {index}"
            price = Decimal(rng.randrange(300, 25_000)) / 100
            tax_category, tax_code, _ = rng.choices(TAX, weights=[w for *_, w in TAX])[0]
            kind = rng.choices(["simple", "multi_warehouse", "combinations", "untracked"], weights=[78, 10, 6, 6])[0]
            created = self.history_start - timedelta(days=rng.randrange(30, 400))
            bp_stock = {wh: rng.choice([0, 0, 3, 8, 15, 40, 120]) for wh in bp_warehouses}

            if index - 1 not in only_nop:
                skus = [f"{sku}-{size}" for size in SIZES] if kind == "combinations" else [sku]
                for bp_sku in skus:
                    product_id = self.bp.add_product(
                        bp_sku, name, price=price, tax_code=tax_code, stock_tracked=kind != "untracked", created_on=created
                    )
                    self.bp_products_by_sku[bp_sku] = product_id
                    if kind != "untracked":
                        for warehouse_id, quantity in bp_stock.items():
                            if quantity:
                                self.bp.correct_stock(warehouse_id, product_id, quantity, "Opening stock", at=created)
            if index - 1 in only_bp:
                continue

            nop_sku = sku.lower() if index in case_differs else f" {sku} " if index in whitespace_differs else sku
            mapped_stock = sum(bp_stock[wh] for wh in (bp_warehouses[0], bp_warehouses[2]))
            drifted = max(0, mapped_stock + rng.choice([0, 0, 0, 0, -2, 1, 5]))
            common = dict(price=price, tax_category_id=tax_category, created_on=created.replace(tzinfo=None))
            if kind == "multi_warehouse":
                product_id = self.nop.add_product(
                    nop_sku, name, use_multiple_warehouses=True, warehouse_id=nop_warehouses[0],
                    warehouse_stock={nop_warehouses[0]: bp_stock[bp_warehouses[0]], nop_warehouses[1]: bp_stock[bp_warehouses[2]]},
                    **common,
                )
            elif kind == "combinations":
                product_id = self.nop.add_product(
                    nop_sku, name, manage_inventory_method_id=2,
                    combinations=[
                        {"sku": f"{sku}-{size}", "attributes_xml": _size_xml(size), "stock_quantity": max(0, drifted // 3)}
                        for size in SIZES
                    ],
                    **common,
                )
            elif kind == "untracked":
                product_id = self.nop.add_product(nop_sku, name, manage_inventory_method_id=0, **common)
            else:
                product_id = self.nop.add_product(nop_sku, name, stock_quantity=drifted, **common)
            self.nop_product_ids.append(product_id)
            if index == duplicated_in_nop:
                self.nop_product_ids.append(self.nop.add_product(sku, f"{name} (old listing)", stock_quantity=0, **common))

    def _customers(self) -> None:
        rng = self.rng
        shared_email = None
        for index in range(self.spec.customers):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            country, iso2, iso3, cities, postcode = rng.choices(COUNTRIES, weights=COUNTRY_WEIGHTS)[0]
            local = f"{_ascii(first)}.{_ascii(last)}{index}".lower()
            email = rng.choice([local, local.title(), local.upper()]) + rng.choice(["@example.com", "@Example.COM", "@mail.test"])
            address = dict(
                address1=f"{rng.randrange(1, 250)} {rng.choice(STREETS)}",
                city=rng.choice(cities),
                zip_postal_code=re.sub(r"\{d\}", lambda _: str(rng.randrange(10)), postcode),
                country_iso2=iso2,
            )
            phone = None if rng.random() < 0.3 else f"+44 7{rng.randrange(100_000_000, 999_999_999)}"
            guest = index % 9 == 4
            if index == 1:
                shared_email = email
            if index == 2 and shared_email:
                email, guest = shared_email.upper(), True  # a guest checkout under a registered customer's email
            created = self._when(HISTORY_DAYS) - timedelta(days=rng.randrange(0, 300))
            state = US_CITY_STATES.get(address["city"]) if iso2 == "US" else None
            if state is not None:  # the drawn digits stay (the random sequence is unchanged), the prefix is the city's
                address["zip_postal_code"] = state[1] + address["zip_postal_code"][3:]
            customer_id = self.nop.add_customer(
                email=email, first_name=first, last_name=last, phone=phone, is_guest=guest,
                created_on=created.replace(tzinfo=None), **address,
            )
            if state is not None:
                billing_id = self.nop.customers[customer_id]["billing_address_id"]
                self.nop.addresses[billing_id]["state_province_id"] = self.nop.state_province_id("US", state[0])
            self.nop_customer_ids.append(customer_id)
            if index % 3 == 0:
                bp_email = email if index % 6 == 0 else email.swapcase()
                self.bp_contacts.append(
                    self.bp.add_contact(
                        first_name=first, last_name=last, email=bp_email, phone=phone, created_on=created,
                        address={
                            "addressLine1": address["address1"], "addressLine3": address["city"],
                            "postalCode": address["zip_postal_code"], "countryIsoCode": iso3,
                        },
                    )
                )

    def _orders(self) -> list[int]:
        rng = self.rng
        order_ids = []
        times = sorted(self._when() for _ in range(self.spec.orders))
        methods, weights = zip(*NOP_PAYMENT_METHODS)
        for placed in times:
            self.now = placed
            lines = {rng.choice(self.nop_product_ids): rng.choice([1, 1, 1, 2, 3]) for _ in range(rng.choice([1, 1, 2, 2, 3, 4]))}
            method = rng.choices(methods, weights=weights)[0]
            payment_status = {
                "Payments.Manual": rng.choices([30, 20, 10], weights=[70, 20, 10])[0],
                "Payments.PayPalStandard": 30,
                "Payments.CheckMoneyOrder": rng.choice([10, 10, 30]),
                "Payments.PurchaseOrder": rng.choice([10, 30]),
            }[method]
            shipping_method, shipping = rng.choice(SHIPPING_OPTIONS)
            discount = Decimal(rng.choice([0, 0, 0, 0, 0, 500, 1000])) / 100
            order_id = self.nop.place_order(
                customer_id=rng.choice(self.nop_customer_ids),
                items=list(lines.items()),
                payment_method_system_name=method,
                payment_status_id=payment_status,
                created_on=placed.replace(tzinfo=None),
                shipping_method=shipping_method,
                shipping_excl_tax=shipping,
                discount_excl_tax=discount,
                payment_fee_excl_tax=Decimal("1.50") if method == "Payments.CheckMoneyOrder" else Decimal("0"),
            )
            order_ids.append(order_id)
            roll = rng.random()
            if roll < 0.03:
                self.nop.cancel_order(order_id)
            elif roll < 0.04:
                self.nop.delete_order(order_id)
        return order_ids

    def _phone_orders(self, warehouse_id: int) -> list[int]:
        """Phone orders entered in Brightpearl; their ids."""
        rng = self.rng
        order_ids: list[int] = []
        if not self.bp_contacts:
            return order_ids
        skus = sorted(self.bp_products_by_sku)
        for number in range(self.spec.phone_orders):
            placed = self._when()
            self.now = placed
            rows = []
            for sku in rng.sample(skus, k=min(len(skus), rng.choice([1, 2]))):
                net = Decimal(rng.randrange(500, 9_000)) / 100
                rows.append({"productId": self.bp_products_by_sku[sku], "quantity": 1, "taxCode": "T1",
                             "net": str(net), "tax": str((net * Decimal("0.2")).quantize(Decimal("0.01")))})
            order_id = self.bp.create_sales_order({
                "customer": {"id": rng.choice(self.bp_contacts)},
                "ref": f"PHONE-{number + 1:04d}",
                "placedOn": placed.isoformat(),
                "statusId": 3,
                "channelId": 2,
                "warehouseId": warehouse_id,
                "currency": {"code": "GBP"},
                "rows": rows,
            })
            order_ids.append(order_id)
            if rng.random() < 0.6:
                notes = self.bp.create_goods_out_note(order_id, {"warehouses": [{"warehouseId": warehouse_id, "products": []}]})
                for note_id in notes:
                    self.bp.ship_goods_out_note(note_id, f"PH{rng.randrange(10**9, 10**10)}", at=placed + timedelta(days=1))
        return order_ids

    def _brightpearl_purchasing_and_returns(self, warehouse_id: int, phone_orders: list[int]) -> None:
        """Prices, suppliers, purchase orders and staff-made credits (see the module docstring)."""
        rng = self.history_rng
        bp = self.bp
        self.now = self.history_start
        for index, (sku, product_id) in enumerate(sorted(self.bp_products_by_sku.items())):
            if index % 5 == 0:
                retail = bp.products[product_id].price
                bp.product_service.set_prices(product_id, {
                    1: {1: (retail * Decimal("0.45")).quantize(Decimal("0.01"))},
                    3: {1: (retail * Decimal("0.70")).quantize(Decimal("0.01")),
                        10: (retail * Decimal("0.62")).quantize(Decimal("0.01"))},
                })
        suppliers = [
            bp.add_contact(first_name="Nadia", last_name="Okafor", email="orders@northwind-textiles.test",
                           company="Northwind Textiles", supplier=True, created_on=self.history_start,
                           address={"addressLine1": "4 Mill Lane", "addressLine3": "Bradford", "postalCode": "BD1 4AA",
                                    "countryIsoCode": "GBR"}),
            bp.add_contact(first_name="Lars", last_name="Berg", email="sales@fjord-goods.test", company="Fjord Goods AB",
                           supplier=True, created_on=self.history_start,
                           address={"addressLine1": "Hamngatan 2", "addressLine3": "Göteborg", "postalCode": "411 06",
                                    "countryIsoCode": "SWE"}),
        ]
        tracked = sorted(sku for sku, pid in self.bp_products_by_sku.items() if bp.products[pid].stock_tracked)
        for number in range(min(5, len(tracked))):
            self.now = self.anchor - timedelta(days=rng.randrange(3, HISTORY_DAYS - 5), seconds=rng.randrange(86_400))
            rows = [{"productId": self.bp_products_by_sku[sku], "quantity": rng.choice([6, 12, 24])}
                    for sku in rng.sample(tracked, k=min(len(tracked), rng.choice([1, 2, 3])))]
            order_id = bp.order_service.create_purchase_order({
                "customer": {"id": suppliers[number % len(suppliers)]}, "ref": f"PO-{number + 1:04d}",
                "warehouseId": warehouse_id, "delivery": {"date": (self.now + timedelta(days=rng.randrange(5, 21))).isoformat()},
                "rows": rows,
            })
            order = bp.orders[order_id]
            if number in (0, 1):  # received (the first), part received (the second)
                self.now += timedelta(days=2)
                moved = [{"productId": row.product_id, "purchaseOrderRowId": row.id,
                          "quantity": int(row.quantity) if number == 0 else int(row.quantity) // 2}
                         for row in order.rows.values()]
                bp.create_goods_in_note(order_id, {"warehouseId": warehouse_id, "goodsMoved": moved})
        shipped = [oid for oid in phone_orders if bp.order_service.derived(bp.orders[oid]).shipping == "ASS"]
        stock = bp.warehouse_service
        for number, order_id in enumerate(shipped[:3]):
            order = bp.orders[order_id]
            when = max(order.placed_on + timedelta(days=1, hours=2), self.anchor - timedelta(days=3 - number))
            self.now = min(when, self.anchor - timedelta(minutes=10 * (3 - number)))  # never after the anchor
            row = next(iter(order.rows.values()))
            credit_id = bp.create_sales_credit({
                "customer": {"id": order.customer_id}, "parentId": order.id, "warehouseId": order.warehouse_id,
                "channelId": order.channel_id, "ref": f"{order.reference}-R",
                "rows": [{"productId": row.product_id, "quantity": 1, "net": str(row.net / row.quantity),
                          "tax": str((row.tax / row.quantity).quantize(Decimal("0.01"))), "taxCode": row.tax_code}],
            })
            bp.order_service.api_close_sales_credit(str(credit_id), {})
            credit = bp.orders[credit_id]
            total = sum((r.net + r.tax for r in credit.rows.values()), Decimal(0)).quantize(Decimal("0.01"))
            bp.accounting_service.create_customer_payment({
                "paymentMethodCode": "CARD", "paymentType": "PAYMENT", "orderId": credit_id, "currencyIsoCode": "GBP",
                "amountPaid": str(total), "paymentDate": self.now.isoformat(), "transactionRef": f"REFUND-{credit_id}",
            })
            if number < 2 and bp.product_service.is_stock_tracked(row.product_id):
                location = stock.default_location(credit.warehouse_id) if number == 0 else stock.quarantine_location(
                    credit.warehouse_id)
                credit_row = next(iter(credit.rows.values()))
                bp.create_goods_in_note(credit_id, {"warehouseId": credit.warehouse_id, "goodsMoved": [
                    {"productId": row.product_id, "purchaseOrderRowId": credit_row.id, "quantity": 1,
                     "destinationLocationId": location}]})

    def _return_requests(self, order_ids: list[int]) -> None:
        rng = self.rng
        for order_id in rng.sample(order_ids[: len(order_ids) // 2], k=min(self.spec.return_requests, len(order_ids) // 2)):
            self.now = self.anchor - timedelta(days=rng.randrange(1, 10))
            item = self.nop.first_order_item_id(order_id)
            if item is not None:
                self.nop.create_return_request(
                    order_item_id=item, quantity=1, reason=rng.choice(["Wrong size", "Damaged", "Not as described"]),
                    action=rng.choice(["Refund", "Replacement", "Store credit"]), created_on=self.now.replace(tzinfo=None),
                )


    def _second_store_and_registrations(self) -> None:
        rng = self.rng
        outlet = self.nop.add_store("Outlet Store", url="https://outlet.sandbox.test/", hosts="outlet.sandbox.test")
        for index in range(max(3, self.spec.customers // 10)):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            first_visit = self._when()
            self.now = first_visit + timedelta(minutes=rng.randrange(1, 120))
            _, iso2, _, cities, postcode = rng.choices(COUNTRIES, weights=COUNTRY_WEIGHTS)[0]
            address = None
            if index % 2 == 0:
                address = dict(address1=f"{rng.randrange(1, 250)} {rng.choice(STREETS)}", city=rng.choice(cities),
                               zip_postal_code=re.sub(r"\{d\}", lambda _: str(rng.randrange(10)), postcode), country_iso2=iso2)
            self.nop.register_customer(
                email=f"{_ascii(first)}.{_ascii(last)}.registered{index}@example.com".lower(), first_name=first, last_name=last,
                first_visit_on=first_visit.replace(tzinfo=None), store_id=outlet if index % 3 == 1 else 1, address=address,
            )


def _size_xml(size: str) -> str:
    return f'<Attributes><ProductAttribute ID="1"><ProductAttributeValue><Value>{SIZES.index(size) + 1}</Value></ProductAttributeValue></ProductAttribute></Attributes>'


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded if ch.isalnum()) or "x"
