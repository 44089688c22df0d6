"""Orders, order items, order notes and the order workflow (plugin Controllers/Orders/
{Order,OrderItem,OrderNote,OrderProcessing}Controller.cs over core OrderService and
OrderProcessingService, nopCommerce 4.70).

Checkout (`place_order`, `shopper_checkout`) is the storefront's, used by the control API and the
generator: unit prices rounded to 2dp, line = unit x quantity, the subtotal discount spread over
the tax rates in proportion (OrderTotalCalculationService), `tax_rates` formatted as nop does:
`"5:0.50;   20:3.33;   "` (ascending rates, three spaces after each `;`, zero-tax rates left out).
"""

from __future__ import annotations

import bisect
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from bp_nop_dagster.sandbox.nopcommerce.backend.state import (
    CENT,
    INV_BY_ATTRIBUTES,
    INV_STOCK,
    ORDER_CANCELLED,
    ORDER_COMPLETE,
    ORDER_PENDING,
    ORDER_PROCESSING,
    PAY_AUTHORIZED,
    PAY_PAID,
    PAY_PENDING,
    PAY_REFUNDED,
    PAY_VOIDED,
    SHIP_DELIVERED,
    SHIP_NOT_REQUIRED,
    SHIP_NOT_YET,
    SHIP_PARTIAL,
    SHIP_SHIPPED,
    NopError,
    NotFound,
    ShopState,
    by_ids,
    contains,
    money,
    round_price,
)
from bp_nop_dagster.sandbox.nopcommerce.wire import INT_MAX, new_entity

# Offline payment methods: no gateway, so no transaction ids. Every other method is "card-like".
OFFLINE_PAYMENT_METHODS = {"Payments.CheckMoneyOrder", "Payments.PurchaseOrder", "Payments.CashOnDelivery", "Payments.BankTransfer"}


def _dec_text(value: Decimal) -> str:
    """C# decimal.ToString(InvariantCulture) of a rate like 20 or 17.5 (no exponent)."""
    text = format(value, "f")
    if "." in text and value == value.to_integral_value():
        text = text.split(".")[0]
    return text


class OrdersMixin(ShopState):
    # ----------------------------------------------------------------------------- storage and lookups
    def order(self, order_id: int) -> dict:
        """OrderService.GetOrderByIdAsync: soft-deleted orders too."""
        order = self.orders.get(order_id)
        if order is None:
            raise NotFound(f"Order Id={order_id} not found")
        return order

    def store_order(self, order: dict) -> None:
        """Insert or replace an order (keeps the created-on index current)."""
        self.orders[order["id"]] = order
        self.orders_version += 1

    def insert_order(self, entity: dict) -> dict:
        """Order/Create: InsertOrderAsync of the mapped DTO, a raw insert (no totals, no
        inventory, no number or GUID assigned)."""
        entity["id"] = self._next_id("order")
        self.store_order(entity)
        return entity

    def orders_by_ids(self, ids: list[int]) -> list[dict]:
        """OrderService.GetOrdersByIdsAsync: `GetByIdsAsync(orderIds, includeDeleted: false)`."""
        return by_ids(self.orders, ids, include_deleted=False)

    def order_by_guid(self, guid: str) -> dict | None:
        return next((o for o in self.orders.values() if o["order_guid"] == guid), None)

    def order_by_custom_number(self, number: str) -> dict | None:
        return next((o for o in sorted(self.orders.values(), key=lambda o: o["id"]) if o["custom_order_number"] == number), None)

    def order_by_order_item(self, order_item_id: int) -> dict | None:
        item = self.order_items.get(order_item_id)
        return self.orders.get(item["order_id"]) if item else None

    def orders_by_created(self) -> list[tuple[datetime, int]]:
        """(created_on_utc, id) of every order, ascending; cached until an order is stored."""
        if self._orders_by_created is None or self._orders_by_created[0] != self.orders_version:
            self._orders_by_created = (self.orders_version, sorted((o["created_on_utc"], o["id"]) for o in self.orders.values()))
        return self._orders_by_created[1]

    def search_orders(self, *, store_id: int = 0, vendor_id: int = 0, customer_id: int = 0, product_id: int = 0, affiliate_id: int = 0,
                      warehouse_id: int = 0, billing_country_id: int = 0, payment_method: str | None = None,
                      created_from: datetime | None = None, created_to: datetime | None = None, order_status_ids: list[int] | None = None,
                      payment_status_ids: list[int] | None = None, shipping_status_ids: list[int] | None = None,
                      billing_phone: str | None = None, billing_email: str | None = None, billing_last_name: str | None = None,
                      order_notes: str | None = None) -> list[dict]:
        """OrderService.SearchOrdersAsync: deleted always excluded, both date bounds inclusive,
        CreatedOnUtc DESC (ties by id DESC)."""
        items_by_order: dict[int, list[dict]] = {}
        if product_id or warehouse_id or vendor_id:
            for item in self.order_items.values():
                items_by_order.setdefault(item["order_id"], []).append(item)

        def item_in_warehouse(item: dict) -> bool:
            product = self.products.get(item["product_id"])
            if product is None:
                return False
            if product["manage_inventory_method_id"] == INV_STOCK and product["use_multiple_warehouses"]:
                return any(r["warehouse_id"] == warehouse_id for r in self.warehouse_records(product["id"]))  # type: ignore[attr-defined]
            return product["warehouse_id"] == warehouse_id

        def item_of_vendor(item: dict) -> bool:
            return self.products.get(item["product_id"], {}).get("vendor_id") == vendor_id

        index = self.orders_by_created()
        low = bisect.bisect_left(index, (created_from,)) if created_from else 0
        high = bisect.bisect_right(index, (created_to, INT_MAX)) if created_to else len(index)
        result = []
        for _, oid in reversed(index[low:high]):
            order = self.orders[oid]
            if order["deleted"]:
                continue
            if (store_id and order["store_id"] != store_id) or (customer_id and order["customer_id"] != customer_id) \
                    or (affiliate_id and order["affiliate_id"] != affiliate_id):
                continue
            if payment_method and order["payment_method_system_name"] != payment_method:
                continue
            if (order_status_ids and order["order_status_id"] not in order_status_ids) \
                    or (payment_status_ids and order["payment_status_id"] not in payment_status_ids) \
                    or (shipping_status_ids and order["shipping_status_id"] not in shipping_status_ids):
                continue
            items = items_by_order.get(oid, [])
            if (product_id and not any(i["product_id"] == product_id for i in items)) \
                    or (warehouse_id and not any(item_in_warehouse(i) for i in items)) \
                    or (vendor_id and not any(item_of_vendor(i) for i in items)):
                continue
            if billing_email or billing_last_name or billing_phone or billing_country_id:
                address = self.addresses.get(order["billing_address_id"], {})
                if not (contains(address.get("email"), billing_email) and contains(address.get("last_name"), billing_last_name)
                        and contains(address.get("phone_number"), billing_phone)
                        and (not billing_country_id or address.get("country_id") == billing_country_id)):
                    continue
            if order_notes and not any(contains(n["note"], order_notes) for n in self.notes_of_order(oid)):
                continue
            result.append(order)
        return result

    # ----------------------------------------------------------------------------- items and notes
    def items_of_order(self, order_id: int) -> list[dict]:
        return [self.order_items[i] for i in self._items_by_order.get(order_id, ()) if i in self.order_items]

    def order_items_of(self, order_id: int, *, not_returnable: bool | None = None, ship_enabled: bool | None = None,
                       vendor_id: int = 0) -> list[dict]:
        """OrderService.GetOrderItemsAsync: the items of an order (none for an unknown one),
        filtered by their product's NotReturnable / IsShipEnabled / VendorId."""
        items = sorted(self.items_of_order(order_id), key=lambda i: i["id"])
        product = lambda item: self.products.get(item["product_id"], {})  # noqa: E731
        if not_returnable is not None:
            items = [i for i in items if product(i).get("not_returnable", False) == not_returnable]
        if ship_enabled is not None:
            items = [i for i in items if product(i).get("is_ship_enabled", True) == ship_enabled]
        if vendor_id:
            items = [i for i in items if product(i).get("vendor_id") == vendor_id]
        return items

    def first_order_item_id(self, order_id: int) -> int | None:
        items = self.items_of_order(order_id)
        return min(item["id"] for item in items) if items else None

    def notes_of_order(self, order_id: int, display_to_customer: bool | None = None) -> list[dict]:
        notes = [self.order_notes[i] for i in self._notes_by_order.get(order_id, ()) if i in self.order_notes]
        notes = [n for n in notes if display_to_customer is None or n["display_to_customer"] == display_to_customer]
        return sorted(notes, key=lambda n: (n["created_on_utc"], n["id"]))

    def add_order_note(self, order_id: int, note: str, *, display_to_customer: bool = False, created_on: datetime | None = None) -> dict:
        """A note as core writes one (`AddOrderNoteAsync`: dated now, not shown to the customer)."""
        return self.insert_order_note(new_entity("order_note", order_id=order_id, note=note, display_to_customer=display_to_customer,
                                                 created_on_utc=created_on or self.now()))

    def insert_order_note(self, entity: dict) -> dict:
        """OrderNote/Create: InsertOrderNoteAsync of the mapped DTO, a plain insert."""
        entity["id"] = self._next_id("order_note")
        self.order_notes[entity["id"]] = entity
        self._notes_by_order.setdefault(entity["order_id"], []).append(entity["id"])
        return entity

    def delete_order_note(self, note_id: int) -> None:
        del self.order_notes[note_id]

    # ----------------------------------------------------------------------------- checkout (storefront)
    def _clone_address(self, address_id: int) -> int:
        clone = dict(self.addresses[address_id])
        clone["id"] = self._next_id("address")
        self.addresses[clone["id"]] = clone
        return clone["id"]

    def place_order(self, *, customer_id: int, items: list[tuple], payment_method_system_name: str = "Payments.Manual",
                    payment_status_id: int = PAY_PENDING, created_on: datetime | None = None, shipping_method: str = "Ground",
                    shipping_excl_tax: Decimal = Decimal("0"), shipping_tax_category_id: int = 1,
                    discount_excl_tax: Decimal = Decimal("0"), payment_fee_excl_tax: Decimal = Decimal("0"),
                    billing_address_id: int | None = None, shipping_address_id: int | None = None,
                    decrement_stock: bool = True, currency_code: str = "GBP", store_id: int = 1) -> int:
        """Place an order as nop's checkout would, in store `store_id`. `items` are (product_id,
        quantity) or (product_id, quantity, attributes_xml); a by-attributes product without
        attributes_xml gets its first combination."""
        customer = self.customers.get(customer_id)
        if customer is None:
            raise ValueError(f"unknown customer {customer_id}")
        if store_id not in self.stores or self.stores[store_id]["deleted"]:
            raise ValueError(f"unknown store {store_id}")
        if not items:
            raise ValueError("an order needs at least one item")
        created = created_on or self.now()
        billing_source = billing_address_id or customer["billing_address_id"]
        shipping_source = shipping_address_id or customer["shipping_address_id"] or billing_source
        if billing_source is None or billing_source not in self.addresses:
            raise ValueError(f"customer {customer_id} has no billing address")

        rates: dict[Decimal, Decimal] = {}
        lines: list[dict] = []
        subtotal_excl = subtotal_incl = Decimal("0")
        for entry in items:
            product_id, quantity = int(entry[0]), int(entry[1])
            attributes_xml = entry[2] if len(entry) > 2 else ""
            product = self.products.get(product_id)
            if product is None or product["deleted"]:
                raise ValueError(f"unknown product {product_id}")
            if quantity <= 0:
                raise ValueError("quantity must be positive")
            description = ""
            if product["manage_inventory_method_id"] == INV_BY_ATTRIBUTES:
                combination = self.find_combination(product_id, attributes_xml) if attributes_xml else None  # type: ignore[attr-defined]
                if combination is None and not attributes_xml:
                    combos = self.product_combinations(product_id)  # type: ignore[attr-defined]
                    combination = combos[0] if combos else None
                if combination is not None:
                    attributes_xml = combination["attributes_xml"]
                    description = combination.get("_attribute_description") or ""
            rate = self.tax_rate(product["tax_category_id"])  # type: ignore[attr-defined]
            unit_excl = round_price(product["price"])
            unit_incl = round_price(unit_excl * (1 + rate / 100))
            line_excl, line_incl = unit_excl * quantity, unit_incl * quantity
            subtotal_excl += line_excl
            subtotal_incl += line_incl
            if rate > 0 and line_incl - line_excl > 0:
                rates[rate] = rates.get(rate, Decimal("0")) + (line_incl - line_excl)
            lines.append({"product": product, "quantity": quantity, "attributes_xml": attributes_xml, "description": description,
                          "unit_excl": unit_excl, "unit_incl": unit_incl, "line_excl": line_excl, "line_incl": line_incl})

        # subtotal discount: spread over the tax rates in proportion (OrderTotalCalculationService)
        discount_excl = min(money(discount_excl_tax), subtotal_excl)
        discount_incl = discount_excl
        if discount_excl > 0 and subtotal_excl > 0:
            for rate in sorted(rates):
                discount_tax = round_price(rates[rate] * discount_excl / subtotal_excl)
                rates[rate] -= discount_tax
                discount_incl += discount_tax
        shipping_excl = money(shipping_excl_tax)
        shipping_rate = self.tax_rate(shipping_tax_category_id)  # type: ignore[attr-defined]
        shipping_incl = round_price(shipping_excl * (1 + shipping_rate / 100))
        if shipping_rate > 0 and shipping_incl > shipping_excl:
            rates[shipping_rate] = rates.get(shipping_rate, Decimal("0")) + (shipping_incl - shipping_excl)
        fee_excl = money(payment_fee_excl_tax)
        fee_rate = self.tax_rate(1)  # type: ignore[attr-defined]  # PaymentMethodAdditionalFeeTaxClassId: the standard category
        fee_incl = round_price(fee_excl * (1 + fee_rate / 100))
        if fee_rate > 0 and fee_incl > fee_excl:
            rates[fee_rate] = rates.get(fee_rate, Decimal("0")) + (fee_incl - fee_excl)
        order_tax = sum(rates.values(), Decimal("0"))
        order_total = subtotal_incl - discount_incl + shipping_incl + fee_incl
        tax_rates = "".join(f"{_dec_text(rate)}:{_dec_text(value.quantize(CENT))};   " for rate, value in sorted(rates.items()))

        order_id = self._next_id("order")
        card_like = payment_method_system_name not in OFFLINE_PAYMENT_METHODS
        paid = payment_status_id == PAY_PAID
        name = f"{customer['first_name'] or ''} {customer['last_name'] or ''}".strip()
        order = new_entity(
            "order", id=order_id, order_guid=self._guid(), store_id=store_id, customer_id=customer_id,
            billing_address_id=self._clone_address(billing_source),
            shipping_address_id=self._clone_address(shipping_source) if shipping_source else None,
            order_status_id=ORDER_PENDING, shipping_status_id=SHIP_NOT_YET, payment_status_id=payment_status_id,
            payment_method_system_name=payment_method_system_name, customer_currency_code=currency_code,
            currency_rate=Decimal("1"), customer_tax_display_type_id=0,
            order_subtotal_incl_tax=subtotal_incl, order_subtotal_excl_tax=subtotal_excl,
            order_sub_total_discount_incl_tax=discount_incl, order_sub_total_discount_excl_tax=discount_excl,
            order_shipping_incl_tax=shipping_incl, order_shipping_excl_tax=shipping_excl,
            payment_method_additional_fee_incl_tax=fee_incl, payment_method_additional_fee_excl_tax=fee_excl,
            tax_rates=tax_rates, order_tax=order_tax, order_discount=Decimal("0"), order_total=order_total,
            refunded_amount=Decimal("0"), customer_language_id=1, customer_ip=customer["last_ip_address"],
            shipping_method=shipping_method, shipping_rate_computation_method_system_name="Shipping.FixedByWeightByTotal",
            created_on_utc=created, custom_order_number=str(order_id), checkout_attribute_description="",
        )
        if card_like:
            token = uuid.UUID(order["order_guid"]).hex[:12].upper()
            if payment_status_id in (PAY_AUTHORIZED, PAY_PAID):
                order.update(authorization_transaction_id=f"AUTH-{token}", authorization_transaction_code="00",
                             authorization_transaction_result="Approved")
            if paid:
                order.update(capture_transaction_id=f"CAP-{token}", capture_transaction_result="Captured")
            if payment_method_system_name == "Payments.Manual":
                # Never a full card number: card_number and card_cvv2 stay null.
                order.update(card_type="Visa", card_name=name, masked_credit_card_number="************1111",
                             card_expiration_month="12", card_expiration_year=str(created.year + 3))
        if paid:
            order["paid_date_utc"] = created
        self.store_order(order)
        for line in lines:
            item_id = self._next_id("order_item")
            product = line["product"]
            self.order_items[item_id] = new_entity(
                "order_item", id=item_id, order_item_guid=self._guid(), order_id=order_id, product_id=product["id"],
                quantity=line["quantity"], unit_price_incl_tax=line["unit_incl"], unit_price_excl_tax=line["unit_excl"],
                price_incl_tax=line["line_incl"], price_excl_tax=line["line_excl"], original_product_cost=product["product_cost"],
                attribute_description=line["description"], attributes_xml=line["attributes_xml"],
                item_weight=product["weight"] * line["quantity"],
            )
            self._items_by_order.setdefault(order_id, []).append(item_id)
        self.add_order_note(order_id, "Order placed", created_on=created)
        if paid:
            self.add_order_note(order_id, "Order has been marked as paid", created_on=created)
        self._check_order_status(order)
        if decrement_stock:
            for line in lines:
                self.adjust_inventory(line["product"]["id"], -line["quantity"], line["attributes_xml"],  # type: ignore[attr-defined]
                                      f"The stock quantity has been reduced by placing the order #{order_id}")
        return order_id

    def shopper_checkout(self, *, email: str | None, first_name: str, last_name: str, address: dict, items: list[dict],
                         payment_method_system_name: str = "Payments.Manual", paid: bool = False, guest: bool = False,
                         shipping_excl_tax: Decimal = Decimal("4.95"), created_on: datetime | None = None, store_id: int = 1,
                         **extra: Any) -> int:
        """A shopper's checkout in store `store_id`: reuse the registered customer with that email
        (case-insensitive; customers are shared by all stores) or create one (a guest always gets
        a new guest customer, whose email may be null or shared with a registered account), reuse
        an identical address or add one, then place the order."""
        lines: list[tuple] = []
        for item in items:
            sku = str(item.get("sku", ""))
            quantity = int(item.get("quantity", 1))
            product = self.product_by_sku(sku)  # type: ignore[attr-defined]
            if product is not None:
                lines.append((product["id"], quantity, item.get("attributes_xml", "") or ""))
                continue
            combination = self.combination_by_sku(sku)  # type: ignore[attr-defined]
            if combination is not None and not self.products[combination["product_id"]]["deleted"]:
                lines.append((combination["product_id"], quantity, combination["attributes_xml"]))
                continue
            raise ValueError(f"unknown SKU {sku!r}")
        if not lines:
            raise ValueError("no items")
        created = created_on or self.now()
        fields = {
            "address1": address.get("address1"), "address2": address.get("address2"), "city": address.get("city"),
            "zip_postal_code": address.get("zip_postal_code"), "country_iso2": address.get("country_iso2", "GB"),
            "county": address.get("county"),
        }
        phone = address.get("phone") or address.get("phone_number")
        company = address.get("company")
        customer = None
        if not guest and email:
            customer = self.customer_by_email(email)  # type: ignore[attr-defined]
            if customer is not None and (self.is_guest(customer["id"]) or customer["deleted"]):  # type: ignore[attr-defined]
                customer = next((c for c in self.customers.values() if (c["email"] or "").lower() == email.lower()
                                 and not self.is_guest(c["id"]) and not c["deleted"]), None)  # type: ignore[attr-defined]
        if customer is None:
            customer_id = self.add_customer(email=email, first_name=first_name, last_name=last_name, phone=phone,  # type: ignore[attr-defined]
                                            company=company, is_guest=guest, created_on=created, store_id=store_id, **fields)
            address_id = self.customers[customer_id]["billing_address_id"]
        else:
            customer_id = customer["id"]
            country_id = self.country_id_by_iso2(fields["country_iso2"])  # type: ignore[attr-defined]
            wanted = {"first_name": first_name, "last_name": last_name, "email": email, "company": company, "country_id": country_id,
                      "county": fields["county"], "city": fields["city"], "address1": fields["address1"],
                      "address2": fields["address2"], "zip_postal_code": fields["zip_postal_code"], "phone_number": phone}
            address_id = next((aid for aid in self.customer_addresses[customer_id]
                               if all(self.addresses[aid].get(k) == v for k, v in wanted.items())), None)
            if address_id is None:
                address_id = self.create_address(created_on=created, **wanted)  # type: ignore[attr-defined]
                self.customer_addresses[customer_id].append(address_id)
            customer["billing_address_id"] = customer["shipping_address_id"] = address_id
            customer["last_activity_date_utc"] = max(customer["last_activity_date_utc"], created)
        options: dict[str, Any] = {"payment_status_id": PAY_PAID if paid else PAY_PENDING}
        options.update(extra)
        return self.place_order(customer_id=customer_id, items=lines, payment_method_system_name=payment_method_system_name,
                                shipping_excl_tax=shipping_excl_tax, created_on=created, billing_address_id=address_id,
                                shipping_address_id=address_id, store_id=store_id, **options)

    # ----------------------------------------------------------------------------- workflow (OrderProcessingService)
    def _check_order_status(self, order: dict) -> None:
        """OrderProcessingService.CheckOrderStatusAsync (CompleteOrderWhenDelivered = true):
        Pending becomes Processing once authorized/paid or (partly) shipped; Complete = paid and
        delivered, or paid and no shipping required."""
        if order["order_status_id"] == ORDER_PENDING and (
            order["payment_status_id"] in (PAY_AUTHORIZED, PAY_PAID)
            or order["shipping_status_id"] in (SHIP_PARTIAL, SHIP_SHIPPED, SHIP_DELIVERED)
        ):
            order["order_status_id"] = ORDER_PROCESSING
        if order["order_status_id"] not in (ORDER_CANCELLED, ORDER_COMPLETE) and order["payment_status_id"] == PAY_PAID and \
                order["shipping_status_id"] in (SHIP_NOT_REQUIRED, SHIP_DELIVERED):
            order["order_status_id"] = ORDER_COMPLETE

    def can_cancel_order(self, order: dict) -> bool:
        return order["order_status_id"] != ORDER_CANCELLED

    def cancel_order(self, order_id: int) -> None:
        """OrderProcessingService.CancelOrderAsync: NopException when already cancelled; status
        Cancelled; shipped multi-warehouse stock back (ReverseBookedInventoryAsync); every item's
        quantity back through AdjustInventoryAsync (ReturnOrderStockAsync)."""
        order = self.order(order_id)
        if not self.can_cancel_order(order):
            raise NopError("Cannot do cancel for order.")
        order["order_status_id"] = ORDER_CANCELLED
        self.add_order_note(order_id, "Order has been cancelled")
        for shipment in [s for s in self.shipments.values() if s["order_id"] == order_id and s["shipped_date_utc"] is not None]:
            for item in [i for i in self.shipment_items.values() if i["shipment_id"] == shipment["id"]]:
                order_item = self.order_items.get(item["order_item_id"])
                product = self.products.get(order_item["product_id"]) if order_item else None
                if product is not None:
                    self.reverse_booked_inventory(product, item["warehouse_id"], item["quantity"])  # type: ignore[attr-defined]
        for item in sorted(self.items_of_order(order_id), key=lambda i: i["id"]):
            if item["product_id"] in self.products:
                self.adjust_inventory(item["product_id"], item["quantity"], item["attributes_xml"] or "",  # type: ignore[attr-defined]
                                      f"The stock quantity has been increased by cancelling the order #{order_id}")

    def delete_order(self, order_id: int) -> None:
        """Order/Delete: OrderService.DeleteOrderAsync, a soft delete only, no restock (notes §7.1)."""
        self.order(order_id)["deleted"] = True

    def can_mark_order_paid(self, order: dict) -> bool:
        """OrderProcessingService.CanMarkOrderAsPaid: not cancelled, not paid, refunded or voided."""
        return order["order_status_id"] != ORDER_CANCELLED and order["payment_status_id"] not in (PAY_PAID, PAY_REFUNDED, PAY_VOIDED)

    def mark_order_paid(self, order_id: int) -> None:
        """OrderProcessingService.MarkOrderAsPaidAsync (NopException when it cannot)."""
        order = self.order(order_id)
        if not self.can_mark_order_paid(order):
            raise NopError("You can't mark this order as paid")
        order["payment_status_id"] = PAY_PAID
        order["paid_date_utc"] = self.now()
        self.add_order_note(order_id, "Order has been marked as paid")
        self._check_order_status(order)
