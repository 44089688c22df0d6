"""order-service: orders (low-level POST + rows, GET, OPTIONS, PATCH, status PUT), sales orders and
sales credits (atomic POST, GET, credit close), purchase orders (low-level POST + rows),
order-search and sales-order-search, order reference data.

Sources (docs/reference/brightpearl-api.md section 5; recordings order_*.json):
- order GET as recorded (order_get_one.json); `updatedOn` is null in order-search and absent
  from GET for an order never modified since creation (order_search.json: every recorded row
  has `updatedOn` null; order_patch.json: a created-then-patched order has no `updatedOn`).
- Sales Order POST (api-docs.brightpearl.com/order/sales-order/post.html): `externalRef` +
  `installedIntegrationInstanceId` are a unique key; a repeat answers 200 and changes nothing.
  What its body carries is inferred (`FidelityOptions.duplicate_sales_order_reply`).
- A new sales order allocates available stock (see `warehouse.py`).
- Order PATCH (…/order/order/patch.html; order_patch.json, order_patch_error_operation.json):
  JSON-Patch on /reference (replace, remove), /warehouseId (replace; not once stock is
  allocated), /delivery/shippingMethodId (replace, remove), /delivery/deliveryDate (replace),
  /parties/customer/contactId and /parties/billing/contactId (replace); not on an invoiced order;
  at least one field must change; another op/path answers 500 CMNC-044 "Invalid patch operation
  (op) for given path (path)"; the reply is the order, its `updatedOn` and `version` untouched.
- Sales Credit POST / GET (…/order/sales-credit/post.html, get.html): the sales-order shape;
  `parentId` links "an existing order" (`FidelityOptions.credit_parent`); externalRef +
  installedIntegrationInstanceId are a unique key, the repeat's reply is inferred
  (`duplicate_sales_credit_reply`); a GET of an ID set answers 207 when only some credits exist.
- Sales Credit Close (…/order/sales-credit-close/post.html): `POST /sales-credit/{id}/close`
  `{}` or `{"taxDate"}` -> `{}`; the credit is invoiced at once (the sandbox's invoicing never
  fails, so it never stays "pending") and gets its reference SC-n (`credit_reference` says what n
  is); closing an invoiced credit is refused.
- Purchase orders (order_post_po.json, order_get_one_po.json; …/order/order/post.html): created
  with the low-level order POST (`orderTypeCode` PO, `parties.supplier.contactId` required: the
  recorded ORDC-022), rows by order-row POST; `delivery.deliveryDate` defaults to today plus the
  supplier's lead time; rows carry the cost as `itemCost` and no `productPrice` (as recorded). A
  purchase order's or credit's stock status is PON/POP/POA (SCN/SCP/SCA) from what goods-in notes
  received (help 211131986), its allocation ANR and shipping SNS (as recorded for a purchase order).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from bp_nop_dagster.sandbox.brightpearl.backend.common import (
    D0,
    Q2,
    Q4,
    STAFF_ID,
    UTC,
    BrightpearlApiError,
    Service,
    as_datetime,
    as_decimal,
    as_int,
    as_object,
    as_text,
    bad,
    day_start,
    fmt_dt,
    idset_ids,
    m2,
    m4,
    not_found,
    options_uris,
    reference_reply,
)
from bp_nop_dagster.sandbox.brightpearl.backend.reference import (
    ACCOUNTING_CURRENCY,
    CANCELLED_STATUSES,
    CHANNEL_IDS,
    CURRENCIES,
    DEFAULT_STATUS,
    ACCOUNT_PARTY,
    INVOICED_STATUS,
    NOMINAL_CODE_SET,
    ORDER_STATUSES,
    ORDER_TYPE_IDS,
    ORDER_TYPE_NAMES,
    ORDER_TYPES,
    PAYMENT_STATUS_IDS,
    PRICE_LISTS,
    SHIPPING_METHOD_IDS,
    SHIPPING_STATUS_IDS,
    SHIPPING_STATUSES,
    STATUS_NAMES,
    STOCK_STATUS_IDS,
    STOCK_STATUSES,
    TAX_CODES,
    find_tax_code,
)
from bp_nop_dagster.sandbox.brightpearl.backend.search import Col, SearchSpec


@dataclass(slots=True)
class OrderRow:
    id: int
    sequence: int
    product_id: int | None
    name: str
    sku: str
    quantity: Decimal
    net: Decimal
    tax: Decimal
    tax_code: str
    tax_rate: Decimal
    tax_class_id: int
    nominal_code: str
    external_ref: str | None
    price: Decimal
    cost: Decimal


@dataclass(slots=True)
class Order:
    id: int
    type_code: str
    reference: str
    external_ref: str | None
    integration_instance_id: int | None
    parent_id: int
    customer_id: int
    billing_contact_id: int
    status_id: int
    placed_on: datetime
    created_on: datetime
    updated_on: datetime | None  # None until the order is first modified
    tax_date: datetime
    warehouse_id: int
    channel_id: int
    price_list_id: int
    price_mode: str
    currency: str
    exchange_rate: Decimal
    delivery_date: datetime | None
    shipping_method_id: int
    parties: dict[str, dict]
    rows: dict[int, OrderRow] = field(default_factory=dict)
    version: int = 1
    staff_owner_id: int = 0
    lead_source_id: int = 0
    team_id: int = 0
    project_id: int = 0
    notes: list[dict] = field(default_factory=list)
    invoice_reference: str = ""
    closed_on: datetime | None = None


@dataclass(frozen=True, slots=True)
class Derived:
    """What an order's state is derived from its rows, payments, notes and reservations."""

    net: Decimal
    tax: Decimal
    gross: Decimal
    payment_status: str
    stock_code: str
    allocation: str
    shipping: str

    @property
    def stock_status_id(self) -> int:
        return STOCK_STATUS_IDS["NON" if self.stock_code == "NON" else self.stock_code[-1]]


class OrderService(Service):
    """Orders, sales orders and sales credits."""

    def __init__(self, account) -> None:
        super().__init__(account)
        self.orders: dict[int, Order] = {}
        self._external_refs: dict[tuple[str, str, int | None], int] = {}  # (type, externalRef, instance)
        self._memo: dict[int, Derived] | None = None
        self._credit_numbers = 0

    # ------------------------------------------------------------ reference data

    def api_reference(self, kind: str, idset: str | None) -> dict:
        if kind == "order-status":
            return reference_reply(ORDER_STATUSES, idset, "order status", key="statusId")
        items = {"order-type": [{"id": t["id"], "name": t["name"]} for t in ORDER_TYPES],
                 "order-stock-status": STOCK_STATUSES, "order-shipping-status": SHIPPING_STATUSES}[kind]
        return reference_reply(items, idset, kind.replace("-", " "))

    # ------------------------------------------------------------ lookups

    def order(self, order_id: Any) -> Order:
        oid = as_int(order_id, "orderId", "CMNC-011")
        order = self.orders.get(oid)
        if order is None:
            raise not_found(f"Order {oid} not found")
        return order

    def touch(self, order: Order, cause: str) -> None:
        """An order modified by `cause` (a `FidelityOptions.order_modified_by` kind): updatedOn, version."""
        if cause in self.options.order_modified_by:
            order.updated_on = self.now()
            order.version += 1

    # ------------------------------------------------------------ rows

    def _validate_rows(self, rows: Any, price_mode: str, price_list_id: int) -> list[dict]:
        if rows is None:
            return []
        if not isinstance(rows, list):
            raise bad("ORDC-016", "rows must be an array")
        products = self.account.product_service.products
        planned = []
        for index, row in enumerate(rows):
            where = f"rows[{index}]"
            if not isinstance(row, dict):
                raise bad("ORDC-016", f"{where} must be an object")
            product = None
            if row.get("productId") is not None:
                product_id = as_int(row["productId"], f"{where}.productId", "ORDC-013")
                product = products.get(product_id)
                if product is None:
                    raise bad("ORDC-013", f"{where}: product {product_id} does not exist")
            name = as_text(row.get("name"), f"{where}.name", 255, "ORDC-017")
            if product is None and not name:
                raise bad("ORDC-017", f"{where}: a row needs a productId or a name")
            quantity = as_decimal(row.get("quantity"), f"{where}.quantity", "ORDC-015")
            if quantity <= 0:
                raise bad("ORDC-015", f"{where}.quantity must be positive")
            if product is not None and product.stock_tracked and quantity != quantity.to_integral_value():
                raise bad("ORDC-015", f"{where}.quantity must be a whole number for stock-tracked products")
            tax_code = row.get("taxCode")
            tax = find_tax_code(tax_code, where, "ORDC-014") if tax_code is not None else (
                TAX_CODES[product.tax_code_id - 1] if product else TAX_CODES[0])
            rate = Decimal(str(tax.get("rate") or 0))
            if row.get("net") is not None:
                net = as_decimal(row["net"], f"{where}.net", "ORDC-016").quantize(Q4)
            elif product is not None:  # priced from the order's price list
                amount = product.unit_price(price_list_id) * quantity
                net = (amount / (1 + rate / 100) if price_mode == "INC" else amount).quantize(Q4)
            else:
                raise bad("ORDC-016", f"{where}.net is required for a row without a product")
            if row.get("tax") is not None:
                tax_value = as_decimal(row["tax"], f"{where}.tax", "ORDC-016").quantize(Q2)
            else:
                tax_value = (net * rate / 100).quantize(Q2)
            nominal = row.get("nominalCode")
            nominal_code = "4000" if nominal is None else as_text(nominal, f"{where}.nominalCode", 10, "ORDC-018")
            if nominal_code not in NOMINAL_CODE_SET:
                raise bad("ORDC-018", f"{where}: nominal code {nominal_code} does not exist")
            planned.append({
                "product": product, "name": name or (product.name if product else ""), "quantity": quantity,
                "net": net, "tax": tax_value, "tax_code": tax["code"], "rate": rate, "tax_id": tax["id"],
                "nominal": nominal_code, "external_ref": as_text(row.get("externalRef"), f"{where}.externalRef", 64, "ORDC-016"),
            })
        return planned

    def _add_row(self, order: Order, planned: dict) -> OrderRow:
        row_id = self.next_id("row")
        product = planned["product"]
        quantity = planned["quantity"]
        if order.type_code == "PO":  # recorded: itemCost is the unit net, productPrice 0
            price, cost = D0, (planned["net"] / quantity).quantize(Q4) if quantity else D0
        else:
            price = product.price if product else (planned["net"] / quantity if quantity else D0)
            cost = product.cost if product else D0
        row = order.rows[row_id] = OrderRow(
            id=row_id, sequence=10 * (len(order.rows) + 1), product_id=product.id if product else None,
            name=planned["name"], sku=product.sku if product else "", quantity=quantity, net=planned["net"],
            tax=planned["tax"], tax_code=planned["tax_code"], tax_rate=planned["rate"], tax_class_id=planned["tax_id"],
            nominal_code=planned["nominal"], external_ref=planned["external_ref"], price=price, cost=cost,
        )
        return row

    # ------------------------------------------------------------ create

    def create_sales_order(self, body: dict) -> int:
        """Generator / control interface: a new sales order's id (a repeat's existing id)."""
        return self._create_order_document(body, "SO")[0]

    def api_create_sales_order(self, body: Any) -> dict:
        """`POST /order-service/sales-order`: `{"response": id}`; a repeat of an externalRef +
        installedIntegrationInstanceId answers 200 with the existing id or `{}` (inferred)."""
        order_id, created = self._create_order_document(body, "SO")
        if created:  # only this POST raises it (help 212644883)
            self.account.integration_service.raise_event("sales-order.created", [order_id])
        if not created and self.options.duplicate_sales_order_reply == "empty":
            return {}
        return {"response": order_id}

    def create_sales_credit(self, body: dict) -> int:
        """Generator / control interface: a new sales credit's id (a repeat's existing id)."""
        return self._create_order_document(body, "SC")[0]

    def create_purchase_order(self, body: dict) -> int:
        """Generator / control interface: a purchase order with its rows (`customer` names the
        supplier), through the same rules as the low-level order POST and its row POSTs."""
        return self._create_order_document(body, "PO")[0]

    def api_create_sales_credit(self, body: Any) -> dict:
        """`POST /order-service/sales-credit`: `{"response": id}`; a repeat of an externalRef +
        installedIntegrationInstanceId answers as `duplicate_sales_credit_reply` says (inferred)."""
        credit_id, created = self._create_order_document(body, "SC")
        if not created:
            reply = self.options.duplicate_sales_credit_reply
            if reply == "error":
                raise bad("ORDC-028", f"A sales credit with this externalRef and installedIntegrationInstanceId "
                                      f"already exists: {credit_id}")
            if reply == "empty":
                return {}
        return {"response": credit_id}

    def api_close_sales_credit(self, credit_id: str, body: Any) -> dict:
        """`POST /order-service/sales-credit/{id}/close` -> `{}`: invoices the credit (reference SC-n,
        closedOn, optional taxDate); an invoiced credit is refused (code illustrative)."""
        order = self.order(credit_id)
        if order.type_code != "SC":
            raise not_found(f"Sales credit {order.id} not found")
        body = as_object(body, "body")
        tax_date = as_datetime(body["taxDate"], "taxDate", "ORDC-026") if body.get("taxDate") else None
        if order.invoice_reference:
            raise bad("ORDC-050", f"Sales credit {order.id} is already invoiced ({order.invoice_reference})")
        if self.options.credit_reference == "credit_id":
            number = order.id
        else:
            self._credit_numbers += 1
            number = self._credit_numbers
        order.invoice_reference = f"SC-{number}"
        order.closed_on = self.now()
        if tax_date is not None:
            order.tax_date = tax_date
        self.touch(order, "close")
        return {}

    def _create_order_document(self, body: Any, type_code: str) -> tuple[int, bool]:
        """Validate everything, then commit; (order id, whether it was created)."""
        body = as_object(body, "body")
        external_ref = as_text(body.get("externalRef"), "externalRef", 64, "ORDC-028")
        instance = body.get("installedIntegrationInstanceId")
        instance_id = None if instance is None else as_int(instance, "installedIntegrationInstanceId", "ORDC-028")
        if external_ref and (type_code, external_ref, instance_id) in self._external_refs:
            return self._external_refs[(type_code, external_ref, instance_id)], False  # documented: 200, no change
        contacts = self.account.contact_service
        customer = as_object(body.get("customer"), "customer")
        raw_customer = customer.get("id", body.get("customerId"))
        if raw_customer is None:
            raise bad("ORDC-010", "You must supply a customer (customer.id)")
        customer_id = as_int(raw_customer, "customer.id", "ORDC-011")
        contact = contacts.contacts.get(customer_id)
        if contact is None:
            raise bad("ORDC-011", f"Customer {customer_id} does not exist")
        billing = as_object(body.get("billing"), "billing")
        billing_id = as_int(billing.get("contactId", customer_id), "billing.contactId", "ORDC-011")
        billing_contact = contacts.contacts.get(billing_id)
        if billing_contact is None:
            raise bad("ORDC-011", f"Billing contact {billing_id} does not exist")
        status_id = as_int(body.get("statusId", DEFAULT_STATUS[type_code]), "statusId", "ORDC-012")
        status = next((s for s in ORDER_STATUSES if s["statusId"] == status_id), None)
        if status is None or status["orderTypeCode"] != type_code:
            raise bad("ORDC-012", f"Order status {status_id} does not exist for order type {type_code}")
        parent_id = 0
        if body.get("parentId") is not None:
            parent_id = as_int(body["parentId"], "parentId", "ORDC-019")
            parent = self.orders.get(parent_id)
            if parent is None:
                raise bad("ORDC-019", f"Parent order {parent_id} does not exist")
            if type_code == "SC" and self.options.credit_parent == "customer_sales_order" and (
                    parent.type_code != "SO" or parent.customer_id != customer_id):
                raise bad("ORDC-019", f"Parent order {parent_id} is not a sales order of customer {customer_id}")
        warehouses = self.account.warehouse_service.warehouses
        warehouse_id = as_int(body.get("warehouseId", next(iter(warehouses), 0)), "warehouseId", "ORDC-020")
        if warehouse_id not in warehouses:
            raise bad("ORDC-020", f"Warehouse {warehouse_id} does not exist")
        channel_id = as_int(body.get("channelId", 1), "channelId", "ORDC-021")
        if channel_id not in CHANNEL_IDS:
            raise bad("ORDC-021", f"Channel {channel_id} does not exist")
        price_list_id = as_int(body.get("priceListId", contact.price_list_id), "priceListId", "ORDC-023")
        price_list = next((p for p in PRICE_LISTS if p["id"] == price_list_id), None)
        if price_list is None:
            raise bad("ORDC-023", f"Price list {price_list_id} does not exist")
        price_mode = body.get("priceModeCode", price_list["priceModeCode"])
        if price_mode not in ("INC", "EXC"):
            raise bad("ORDC-024", "priceModeCode must be INC or EXC")
        currency_body = as_object(body.get("currency"), "currency")
        currency = currency_body.get("code", ACCOUNTING_CURRENCY)
        if currency not in CURRENCIES:
            raise bad("ORDC-025", f"Currency {currency!r} is not set up on this account")
        exchange_rate = as_decimal(currency_body.get("exchangeRate", 1), "currency.exchangeRate", "ORDC-025")
        now = self.now()
        placed_on = as_datetime(body["placedOn"], "placedOn", "ORDC-026") if body.get("placedOn") else now
        tax_date = as_datetime(body["taxDate"], "taxDate", "ORDC-026") if body.get("taxDate") else placed_on
        delivery = as_object(body.get("delivery"), "delivery")
        delivery_date = as_datetime(delivery["date"], "delivery.date", "ORDC-026") if delivery.get("date") else None
        if delivery_date is None and type_code == "PO":  # "today's Date plus the contact's lead time" (Order POST doc)
            delivery_date = day_start(now) + timedelta(days=contact.lead_time)
        shipping_method_id = as_int(delivery.get("shippingMethodId", 0), "delivery.shippingMethodId", "ORDC-027")
        if shipping_method_id and shipping_method_id not in SHIPPING_METHOD_IDS:
            raise bad("ORDC-027", f"Shipping method {shipping_method_id} does not exist")
        reference = as_text(body.get("ref"), "ref", 64, "ORDC-029") or ""
        if type_code == "PO":  # the supplier's party; goods are delivered to the account itself
            parties = {
                "supplier": contacts.party(contact, customer.get("address"), "customer", "ORDC-030"),
                "delivery": contacts.party(None, delivery.get("address") or ACCOUNT_PARTY, "delivery", "ORDC-030"),
                "billing": contacts.party(billing_contact, billing.get("address"), "billing", "ORDC-030"),
            }
        else:
            parties = {
                "customer": contacts.party(contact, customer.get("address"), "customer", "ORDC-030"),
                "delivery": contacts.party(contact, delivery.get("address"), "delivery", "ORDC-030"),
                "billing": contacts.party(billing_contact, billing.get("address"), "billing", "ORDC-030"),
            }
        planned = self._validate_rows(body.get("rows"), price_mode, price_list_id)
        staff_owner = as_int(body.get("staffOwnerId", 0), "staffOwnerId")
        # ---- everything valid: commit (no exception can happen past this point)
        order = Order(
            id=self.next_id("order"), type_code=type_code, reference=reference, external_ref=external_ref,
            integration_instance_id=instance_id, parent_id=parent_id, customer_id=customer_id,
            billing_contact_id=billing_id, status_id=status_id, placed_on=placed_on, created_on=now, updated_on=None,
            tax_date=tax_date, warehouse_id=warehouse_id, channel_id=channel_id, price_list_id=price_list_id,
            price_mode=price_mode, currency=currency, exchange_rate=exchange_rate, delivery_date=delivery_date,
            shipping_method_id=shipping_method_id, parties=parties, staff_owner_id=staff_owner,
        )
        rows = [self._add_row(order, item) for item in planned]
        self.orders[order.id] = order
        if external_ref:
            self._external_refs[(type_code, external_ref, instance_id)] = order.id
        if type_code == "SO":
            self.account.warehouse_service.allocate_new_order(order, rows)
        return order.id, True

    def api_create_order(self, body: Any) -> dict:
        """Legacy `POST /order-service/order`: the header only (rows are posted one by one)."""
        body = as_object(body, "body")
        type_code = body.get("orderTypeCode")
        if not type_code:
            raise bad("ORDC-005", "You have not supplied an order type code")
        if type_code not in ORDER_TYPE_IDS:
            raise bad("ORDC-006", "You have supplied an invalid order type code")
        parties = as_object(body.get("parties"), "parties")
        if type_code in ("PO", "PC"):
            if not as_object(parties.get("supplier"), "parties.supplier").get("contactId"):
                raise bad("ORDC-022", "Suppllier ID Required.")
            if type_code == "PC":
                raise bad("ORDC-007", "Purchase credits are not supported by the sandbox")
            customer = as_object(parties["supplier"], "parties.supplier")
        else:
            customer = as_object(parties.get("customer"), "parties.customer")
        if customer.get("contactId") is None:
            raise bad("ORDC-010", "Customer ID Required.")
        status = as_object(body.get("orderStatus"), "orderStatus")
        delivery = as_object(body.get("delivery"), "delivery")
        currency = as_object(body.get("currency"), "currency")
        assignment = as_object(as_object(body.get("assignment"), "assignment").get("current"), "assignment.current")
        invoices = body.get("invoices") if isinstance(body.get("invoices"), list) else []
        translated: dict[str, Any] = {
            "customer": {"id": customer["contactId"], "address": {k: v for k, v in customer.items() if k != "contactId"} or None},
            "ref": body.get("reference"),
            "placedOn": body.get("placedOn"),
            "statusId": status.get("orderStatusId", DEFAULT_STATUS[type_code]),
            "currency": {"code": currency.get("orderCurrencyCode", ACCOUNTING_CURRENCY),
                         "exchangeRate": currency.get("exchangeRate", 1)},
            "delivery": {"date": delivery.get("deliveryDate"), "shippingMethodId": delivery.get("shippingMethodId", 0),
                         "address": as_object(parties.get("delivery"), "parties.delivery") or None},
            "billing": {"address": as_object(parties.get("billing"), "parties.billing") or None},
        }
        for source, target in (("priceListId", "priceListId"), ("priceModeCode", "priceModeCode"),
                               ("warehouseId", "warehouseId"), ("parentOrderId", "parentId")):
            if body.get(source) is not None and not (source == "parentOrderId" and body[source] == 0):
                translated[target] = body[source]
        if assignment.get("channelId"):
            translated["channelId"] = assignment["channelId"]
        if invoices and isinstance(invoices[0], dict) and invoices[0].get("taxDate"):
            translated["taxDate"] = invoices[0]["taxDate"]
        return {"response": self._create_order_document(translated, type_code)[0]}

    def api_add_order_row(self, order_id: str, body: Any) -> dict:
        """`POST /order-service/order/{id}/row` (recorded order_row_post.json); a sales order's new
        row is allocated like a new order's."""
        order = self.order(order_id)
        body = as_object(body, "body")
        quantity = as_object(body.get("quantity"), "quantity")
        row_value = as_object(body.get("rowValue"), "rowValue")
        row = {
            "productId": body.get("productId"), "name": body.get("productName"),
            "quantity": quantity.get("magnitude"), "taxCode": row_value.get("taxCode"),
            "net": as_object(row_value.get("rowNet"), "rowValue.rowNet").get("value"),
            "tax": as_object(row_value.get("rowTax"), "rowValue.rowTax").get("value"),
            "nominalCode": body.get("nominalCode"),
        }
        added = self._add_row(order, self._validate_rows([row], order.price_mode, order.price_list_id)[0])
        if order.type_code == "SO":
            self.account.warehouse_service.allocate_new_order(order, [added])
        self.touch(order, "row")
        return {"response": added.id}

    # ------------------------------------------------------------ derived state

    def derived(self, order: Order) -> Derived:
        memo = self._memo
        if memo is not None and order.id in memo:
            return memo[order.id]
        net = sum((r.net for r in order.rows.values()), D0)
        tax = sum((r.tax for r in order.rows.values()), D0)
        gross = net + tax
        paid = D0
        for payment in self.account.accounting_service.payments_of(order.id):
            if payment.type in ("RECEIPT", "CAPTURE"):
                paid += payment.amount_paid
            elif payment.type == "PAYMENT":
                paid -= payment.amount_paid
        if order.type_code == "SC":
            paid = -paid  # a credit is settled by money going out (PAYMENT)
        if gross == 0:
            payment_status = "NOT_APPLICABLE"
        elif paid >= gross:
            payment_status = "PAID"
        elif paid > 0:
            payment_status = "PARTIALLY_PAID"
        else:
            payment_status = "UNPAID"
        products = self.account.product_service
        required = sum((row.quantity for row in order.rows.values() if products.is_stock_tracked(row.product_id)), D0)
        if order.type_code in ("SC", "PO"):  # stock comes in: what goods-in notes received (help 211131986)
            received = self.account.goods_in_service.units_received(order.id)
            if required == 0:
                stock_code, shipping = "NON", "NST"
            else:
                level = "A" if received >= required else "P" if received > 0 else "N"
                stock_code, shipping = f"{order.type_code}{level}", "SNS"
            result = Derived(net, tax, gross, payment_status, stock_code, "ANR", shipping)
            if memo is not None:
                memo[order.id] = result
            return result
        noted = shipped = 0
        for note in self.account.goods_out_service.notes_of(order.id):
            noted += note.quantity
            if note.shipped:
                shipped += note.quantity
        reserved = sum(line["quantity"] for wh in self.account.warehouse_service.reserved_on(order.id).values()
                       for line in wh.values())
        covered = noted + reserved
        if required == 0:
            stock_code, allocation, shipping = "NON", "ANR", "NST"
        else:
            level = "A" if covered >= required else "P" if covered > 0 else "N"
            stock_code = f"{order.type_code}{level}"
            allocation = {"A": "AAA", "P": "APA", "N": "ANA"}[level]
            shipping = "ASS" if shipped >= required else "SPS" if shipped > 0 else "SNS"
        result = Derived(net, tax, gross, payment_status, stock_code, allocation, shipping)
        if memo is not None:
            memo[order.id] = result
        return result

    def memoised(self, work):
        """Run `work()` with derived state memoised (one request's worth)."""
        self._memo = {}
        try:
            return work()
        finally:
            self._memo = None

    # ------------------------------------------------------------ read

    def _order_dict(self, order: Order) -> dict:
        d = self.derived(order)
        currency = order.currency
        rate = order.exchange_rate
        rows = {}
        for row in order.rows.values():
            rows[str(row.id)] = {
                "orderRowSequence": str(row.sequence), "productId": row.product_id or 0, "productName": row.name,
                "productSku": row.sku, "quantity": {"magnitude": m4(row.quantity)},
                "itemCost": {"currencyCode": currency, "value": m4(row.cost)},
                "productPrice": {"currencyCode": currency, "value": m4(row.price)},
                "discountPercentage": "0.00",
                "rowValue": {"taxRate": m4(row.tax_rate), "taxCode": row.tax_code, "taxCalculator": "brightpearl",
                             "rowNet": {"currencyCode": currency, "value": m4(row.net)},
                             "rowTax": {"currencyCode": currency, "value": m2(row.tax)}, "taxClassId": row.tax_class_id},
                "nominalCode": row.nominal_code,
                "composition": {"bundleParent": False, "bundleChild": False, "parentOrderRowId": 0},
                "clonedFromId": 0,
            }
        first = "supplier" if order.type_code == "PO" else "customer"
        parties = {
            first: {"contactId": order.customer_id, **order.parties[first]},
            "delivery": dict(order.parties["delivery"]),
            "billing": {"contactId": order.billing_contact_id, **order.parties["billing"]},
        }
        delivery: dict[str, Any] = {"shippingMethodId": order.shipping_method_id}
        if order.delivery_date:
            delivery = {"deliveryDate": fmt_dt(order.delivery_date), **delivery}
        tax_day = day_start(order.tax_date)
        data = {
            "id": order.id, "parentOrderId": order.parent_id, "orderTypeCode": order.type_code,
            "reference": order.reference, "version": order.version,
            "state": {"tax": "INVOICED" if order.status_id == INVOICED_STATUS or order.invoice_reference else "READY"},
            "orderStatus": {"orderStatusId": order.status_id, "name": STATUS_NAMES[order.status_id]},
            "tax": {"errors": []}, "orderPaymentStatus": d.payment_status, "stockStatusCode": d.stock_code,
            "allocationStatusCode": d.allocation, "shippingStatusCode": d.shipping,
            "placedOn": fmt_dt(order.placed_on), "createdOn": fmt_dt(order.created_on),
            "updatedOn": fmt_dt(order.updated_on) if order.updated_on else None,
            "closedOn": fmt_dt(order.closed_on) if order.closed_on else None, "createdById": STAFF_ID,
            "priceListId": order.price_list_id, "priceModeCode": order.price_mode, "delivery": delivery,
            "invoices": [{"invoiceReference": order.invoice_reference or (
                              f"SI-{order.id}" if order.status_id == INVOICED_STATUS else ""),
                          "taxDate": fmt_dt(tax_day), "dueDate": fmt_dt(tax_day + timedelta(days=30))}],
            "currency": {"accountingCurrencyCode": ACCOUNTING_CURRENCY, "orderCurrencyCode": currency,
                         "exchangeRate": f"{rate:.6f}", "fixedExchangeRate": currency != ACCOUNTING_CURRENCY},
            "totalValue": {"net": m2(d.net), "taxAmount": m2(d.tax), "baseNet": m2(d.net / rate),
                           "baseTaxAmount": m2(d.tax / rate), "baseTotal": m2(d.gross / rate), "total": m2(d.gross)},
            "assignment": {"current": {"staffOwnerContactId": order.staff_owner_id, "projectId": order.project_id,
                                       "channelId": order.channel_id, "leadSourceId": order.lead_source_id,
                                       "teamId": order.team_id}},
            "parties": parties, "orderRows": rows, "warehouseId": order.warehouse_id, "acknowledged": 0,
            "costPriceListId": 1, "historicalOrder": False, "orderWeighting": 100, "isDropship": False,
        }
        return {k: v for k, v in data.items() if v is not None}  # nulls are omitted

    def api_get_orders(self, idset: str) -> dict:
        # Missing ids are simply left out: an order GET with nothing found is 200 {"response":[]}.
        return self.memoised(lambda: {"response": [self._order_dict(self.orders[i]) for i in idset_ids(idset, 200)
                                                   if i in self.orders]})

    def _sales_document_dict(self, order: Order) -> dict:
        d = self.derived(order)
        rate = order.exchange_rate

        def address(party: dict) -> dict:
            return {k: party[k] for k in ("addressFullName", "companyName", "addressLine1", "addressLine2", "addressLine3",
                                          "addressLine4", "postalCode", "countryIsoCode", "telephone", "mobileTelephone",
                                          "fax", "email")}

        rows = [{
            "id": row.id, "productId": row.product_id, "name": row.name, "sku": row.sku,
            "quantity": str(row.quantity.normalize() if row.quantity == row.quantity.to_integral_value() else row.quantity),
            "taxCode": row.tax_code, "net": m2(row.net), "tax": m2(row.tax), "nominalCode": row.nominal_code,
            "externalRef": row.external_ref, "bundleChild": False, "bundleParent": False, "parentRowId": None,
        } for row in order.rows.values()]
        rows = [{k: v for k, v in row.items() if v is not None} for row in rows]  # nulls are omitted
        data = {
            "id": order.id, "customer": {"id": order.customer_id, "address": address(order.parties["customer"])},
            "billing": {"contactId": order.billing_contact_id, "address": address(order.parties["billing"])},
            "ref": order.reference, "externalRef": order.external_ref,
            "installedIntegrationInstanceId": order.integration_instance_id,
            "placedOn": fmt_dt(order.placed_on), "taxDate": fmt_dt(order.tax_date),
            "parentId": order.parent_id or None, "statusId": order.status_id, "warehouseId": order.warehouse_id,
            "channelId": order.channel_id, "staffOwnerId": order.staff_owner_id, "priceListId": order.price_list_id,
            "priceModeCode": order.price_mode,
            "currency": {"code": order.currency, "fixedExchangeRate": order.currency != ACCOUNTING_CURRENCY,
                         "exchangeRate": f"{rate:.6f}"},
            "delivery": {"address": address(order.parties["delivery"]), "shippingMethodId": order.shipping_method_id},
            "rows": rows, "createdOn": fmt_dt(order.created_on), "createdBy": STAFF_ID,
            "updatedOn": fmt_dt(order.updated_on) if order.updated_on else None,
            "total": {"net": m2(d.net), "tax": m2(d.tax), "gross": m2(d.gross), "baseNet": m2(d.net / rate),
                      "baseTax": m2(d.tax / rate), "baseGross": m2(d.gross / rate)},
            "isCanceled": order.status_id in CANCELLED_STATUSES, "orderPaymentStatus": d.payment_status,
            "stockStatusCode": d.stock_code, "allocationStatusCode": d.allocation, "shippingStatusCode": d.shipping,
        }
        if order.delivery_date:
            data["delivery"]["date"] = fmt_dt(order.delivery_date)
        return {k: v for k, v in data.items() if v is not None}

    def api_get_sales_documents(self, idset: str, type_code: str) -> dict | tuple[int, dict]:
        """Sales orders / credits of an ID set. A credit GET answers 207 when only some of the ID set
        exist (Sales Credit GET doc: "207 if some of the requested sales credits were found, 200
        otherwise"); nothing found is 200 with an empty list."""
        wanted = idset_ids(idset, 200)
        found = [i for i in wanted if i in self.orders and self.orders[i].type_code == type_code]
        body = self.memoised(lambda: {"response": [self._sales_document_dict(self.orders[i]) for i in found]})
        if type_code == "SC" and found and len(found) < len(wanted):
            return 207, body
        return body

    def api_order_options(self, type_code: str | None, resource: str, idset: str | None) -> dict:
        ids = self.orders if type_code is None else [i for i, o in self.orders.items() if o.type_code == type_code]
        return options_uris(resource, ids, idset)

    # ------------------------------------------------------------ change

    def api_set_order_status(self, order_id: str, body: Any) -> dict:
        """`PUT /order-service/order/{id}/status` (recorded order_status_update_put.json). Cancelling
        needs no goods-out notes, not paid (payments reversed to a net zero are fine), not invoiced;
        it releases the allocation."""
        order = self.order(order_id)
        body = as_object(body, "body")
        if body.get("orderStatusId") is None:
            raise bad("ORDC-012", "You must supply an orderStatusId")
        status_id = as_int(body["orderStatusId"], "orderStatusId", "ORDC-012")
        status = next((s for s in ORDER_STATUSES if s["statusId"] == status_id), None)
        if status is None or status["orderTypeCode"] != order.type_code:
            raise bad("ORDC-012", f"Order status {status_id} does not exist for order type {order.type_code}")
        note = as_object(body.get("orderNote"), "orderNote")
        if status_id in CANCELLED_STATUSES and status_id != order.status_id:
            if self.account.goods_out_service.notes_of(order.id):
                raise bad("ORDC-032", "The order cannot be cancelled: it has goods-out notes")
            if self._net_paid(order.id):
                raise bad("ORDC-033", "The order cannot be cancelled: it has payments (reverse them first)")
            if order.status_id == INVOICED_STATUS:
                raise bad("ORDC-034", "The order cannot be cancelled: it is invoiced")
            self.account.warehouse_service.release_reservations(order.id)
        if note.get("text") is not None:
            order.notes.append({"text": as_text(note["text"], "orderNote.text", 10_000, "ORDC-035"),
                                "isPublic": bool(note.get("isPublic", False)), "addedOn": fmt_dt(self.now())})
        changed = order.status_id != status_id
        order.status_id = status_id
        self.touch(order, "status")
        if changed:
            self.account.integration_service.raise_event("order.modified.order-status", [order.id])
        return {}

    def _net_paid(self, order_id: int) -> bool:
        """Whether an order still counts as paid for a cancellation: money in (RECEIPT, CAPTURE)
        not reversed by money out (PAYMENT), or an authorisation neither voided nor captured
        (help 211131486: "a reverse payment can be entered to set the order back to being
        unpaid", then cancel). `cancel_after_reversal: refused` keeps any payment a refusal."""
        payments = self.account.accounting_service.payments_of(order_id)
        if self.options.cancel_after_reversal == "refused":
            return any(p.amount_paid or p.amount_authorized for p in payments)
        paid = sum((p.amount_paid or 0) * (-1 if p.type == "PAYMENT" else 1)
                   for p in payments if p.type in ("RECEIPT", "CAPTURE", "PAYMENT"))
        open_auth = sum((p.amount_authorized or 0) * (-1 if p.type == "VOID" else 1) for p in payments if p.type in ("AUTH", "VOID"))
        open_auth -= sum(p.amount_paid or 0 for p in payments if p.type == "CAPTURE")
        return paid != 0 or open_auth > 0

    def api_patch_order(self, order_id: str, body: Any) -> dict:
        """`PATCH /order-service/order/{id}` (JSON-Patch, see the module docstring) -> the order."""
        order = self.order(order_id)
        if not isinstance(body, list) or not body:
            raise bad("CMNC-010", "You must supply a JSON formatted body with your request")
        changes: dict[str, Any] = {}
        for operation in body:
            if not isinstance(operation, dict):
                raise bad("CMNC-010", "A JSON-Patch body is an array of operation objects")
            op, path = operation.get("op"), operation.get("path")
            if (op, path) not in PATCHABLE:
                raise BrightpearlApiError(500, "CMNC-044", f"Invalid patch operation ({op}) for given path ({path})")
            changes[path] = self._patched_value(order, op, path, operation.get("value"))
        if order.status_id == INVOICED_STATUS:
            raise bad("ORDC-040", f"Order {order.id} is invoiced and cannot be changed")
        current = {"/reference": order.reference, "/warehouseId": order.warehouse_id,
                   "/delivery/shippingMethodId": order.shipping_method_id, "/delivery/deliveryDate": order.delivery_date,
                   "/parties/customer/contactId": order.customer_id, "/parties/billing/contactId": order.billing_contact_id}
        if all(current[path] == value for path, value in changes.items()):
            raise bad("ORDC-041", "At least one of the fields must be changed")
        if "/warehouseId" in changes and changes["/warehouseId"] != order.warehouse_id and (
                self.account.warehouse_service.reserved_on(order.id) or self.account.goods_out_service.notes_of(order.id)):
            raise bad("ORDC-042", "The warehouse cannot be changed: stock has been allocated for the order")
        contacts = self.account.contact_service
        for path, value in changes.items():
            if path == "/reference":
                order.reference = value
            elif path == "/warehouseId":
                order.warehouse_id = value
            elif path == "/delivery/shippingMethodId":
                order.shipping_method_id = value
            elif path == "/delivery/deliveryDate":
                order.delivery_date = value
            elif path == "/parties/customer/contactId":
                order.customer_id = value
                order.parties["customer"] = contacts.party(contacts.contacts[value], None, "customer", "ORDC-030")
            else:
                order.billing_contact_id = value
                order.parties["billing"] = contacts.party(contacts.contacts[value], None, "billing", "ORDC-030")
        return self.memoised(lambda: {"response": self._order_dict(order)})

    def _patched_value(self, order: Order, op: str, path: str, value: Any) -> Any:
        if path == "/reference":
            return "" if op == "remove" else (as_text(value, "reference", 64, "ORDC-029") or "")
        if path == "/warehouseId":
            warehouse_id = as_int(value, "warehouseId", "ORDC-020")
            if warehouse_id not in self.account.warehouse_service.warehouses:
                raise bad("ORDC-020", f"Warehouse {warehouse_id} does not exist")
            return warehouse_id
        if path == "/delivery/shippingMethodId":
            if op == "remove":
                return 0
            method = as_int(value, "delivery.shippingMethodId", "ORDC-027")
            if method not in SHIPPING_METHOD_IDS:
                raise bad("ORDC-027", f"Shipping method {method} does not exist")
            return method
        if path == "/delivery/deliveryDate":
            return as_datetime(value, "delivery.deliveryDate", "ORDC-026")
        contact_id = as_int(value, path.strip("/").replace("/", "."), "ORDC-011")
        contact = self.account.contact_service.contacts.get(contact_id)
        if contact is None or contact.is_supplier or contact.is_staff:
            raise bad("ORDC-011", f"Customer {contact_id} does not exist")
        return contact_id

    # ------------------------------------------------------------ search

    def search_specs(self) -> dict[str, SearchSpec]:
        d = self.derived

        def order_reference(page: list) -> dict:
            stock, payment, shipping = {}, {}, {}
            for o in page:
                derived = d(o)
                stock[str(derived.stock_status_id)] = next(s["name"] for s in STOCK_STATUSES if s["id"] == derived.stock_status_id)
                payment[str(PAYMENT_STATUS_IDS[derived.payment_status])] = derived.payment_status
                shipping[str(SHIPPING_STATUS_IDS[derived.shipping])] = next(
                    s["description"] for s in SHIPPING_STATUSES if s["code"] == derived.shipping)
            return {"orderShippingStatusNames": shipping, "orderTypeNames": dict(ORDER_TYPE_NAMES),
                    "orderPaymentStatusNames": payment, "orderStockStatusNames": stock,
                    "orderStatusNames": {str(o.status_id): STATUS_NAMES[o.status_id] for o in page}}

        order_cols = [
            Col("orderId", "IDSET", lambda o: o.id),
            Col("orderTypeId", "IDSET", lambda o: ORDER_TYPE_IDS[o.type_code], ref=("orderTypeNames",)),
            Col("contactId", "INTEGER", lambda o: o.customer_id),
            Col("orderStatusId", "INTEGER", lambda o: o.status_id, ref=("orderStatusNames",)),
            Col("orderStockStatusId", "INTEGER", lambda o: d(o).stock_status_id, ref=("orderStockStatusNames",)),
            Col("createdOn", "PERIOD", lambda o: o.created_on),
            Col("createdById", "INTEGER", lambda o: STAFF_ID),
            Col("customerRef", "STRING", lambda o: o.reference),
            Col("orderPaymentStatusId", "INTEGER", lambda o: PAYMENT_STATUS_IDS[d(o).payment_status],
                ref=("orderPaymentStatusNames",)),
            Col("updatedOn", "PERIOD", lambda o: o.updated_on),
            Col("parentOrderId", "IDSET", lambda o: o.parent_id),
            Col("orderShippingStatusId", "INTEGER", lambda o: SHIPPING_STATUS_IDS[d(o).shipping],
                ref=("orderShippingStatusNames",)),
            Col("externalRef", "STRING", lambda o: o.external_ref),
            Col("installedIntegrationInstanceId", "INTEGER", lambda o: o.integration_instance_id),
            Col("warehouseId", "IDSET", lambda o: o.warehouse_id),
            Col("staffOwnerContactId", "INTEGER", lambda o: o.staff_owner_id),
            Col("taxDate", "PERIOD", lambda o: datetime.combine(o.tax_date.date(), time.min, tzinfo=UTC)),
            Col("departmentId", "INTEGER", lambda o: 0),
            Col("deliveryDate", "PERIOD", lambda o: o.delivery_date),
        ]
        sales_order_cols = [
            Col("salesOrderId", "IDSET", lambda o: o.id),
            Col("customerId", "IDSET", lambda o: o.customer_id),
            Col("orderStatusId", "IDSET", lambda o: o.status_id, ref=("orderStatusNames",)),
            Col("orderStockStatus", "STRING", lambda o: d(o).stock_code),
            Col("orderPaymentStatus", "STRING", lambda o: d(o).payment_status),
            Col("orderShippingStatus", "STRING", lambda o: d(o).shipping),
            Col("createdOn", "PERIOD", lambda o: o.created_on),
            Col("updatedOn", "PERIOD", lambda o: o.updated_on),
            Col("placedOn", "PERIOD", lambda o: o.placed_on),
            Col("customerRef", "STRING", lambda o: o.reference),
            Col("externalRef", "STRING", lambda o: o.external_ref),
            Col("installedIntegrationInstanceId", "INTEGER", lambda o: o.integration_instance_id),
            Col("parentOrderId", "IDSET", lambda o: o.parent_id),
            Col("warehouseId", "IDSET", lambda o: o.warehouse_id),
            Col("staffOwnerId", "INTEGER", lambda o: o.staff_owner_id),
            Col("channelId", "IDSET", lambda o: o.channel_id),
            Col("taxDate", "PERIOD", lambda o: o.tax_date),
            Col("deliveryDate", "PERIOD", lambda o: o.delivery_date),
        ]
        return {
            # externalRefSearchString: a filter, not a column (MAG Model/Api.php serchSalesCreditByExternalRef)
            "order": SearchSpec(order_cols, lambda: list(self.orders.values()), reference=order_reference,
                                extra_filters={"externalRefSearchString": ("SEARCH_STRING",
                                                                           lambda o, check: check(o.external_ref))}),
            "sales-order": SearchSpec(
                sales_order_cols, lambda: [o for o in self.orders.values() if o.type_code == "SO"],
                reference=lambda page: {"orderStatusNames": {str(o.status_id): STATUS_NAMES[o.status_id] for o in page}},
                extra_filters={"productIds": ("IDSET", lambda o, check: any(check(r.product_id) for r in o.rows.values())),
                               "customerRefs": ("STRING_SET", lambda o, check: check(o.reference)),
                               "isHistoricalOrder": ("BOOLEAN", lambda o, check: check(False))}),
        }


PATCHABLE = {
    ("replace", "/reference"), ("remove", "/reference"), ("replace", "/warehouseId"),
    ("replace", "/delivery/shippingMethodId"), ("remove", "/delivery/shippingMethodId"),
    ("replace", "/delivery/deliveryDate"), ("replace", "/parties/customer/contactId"),
    ("replace", "/parties/billing/contactId"),
}
