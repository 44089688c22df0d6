"""The Brightpearl simulator's control routes (not part of the real API; never counted, throttled
or faulted), beside the shared ones of `sandbox/control.py`:

- `GET /__sandbox__/throttle` -> `{"quota","window_seconds","requests_in_window","remaining","next_throttle_period_ms"}`;
  `PUT /__sandbox__/throttle` `{"quota": 200, "window_seconds": 60}` sets it and empties the window.
- `GET /__sandbox__/fidelity` -> the `FidelityOptions` (the inferred behaviours' switches);
  `PUT /__sandbox__/fidelity` `{"duplicate_sales_order_reply": "empty", ...}` changes the given ones.
  A reset restores the throttle and the options to their defaults.
- `POST /__sandbox__/oauth/expire` `{"access_token": optional}`: mark that (default: every live)
  bearer token expired -> `{"expired": [...]}`.
- `POST /__sandbox__/oauth/token` `{}` -> a new valid token set.
- `POST /__sandbox__/stock` `{"sku": "X" | "product_id": 1, "warehouse_id": 2, "quantity": -3 (delta) |
  "on_hand": 10 (absolute), "reason": optional}` -> `{"product_id","warehouse_id","on_hand","goods_note_id"}`
  (a stock correction, so it shows in goods-movement-search; `goods_note_id` null when nothing changes).
- `POST /__sandbox__/orders` `{"channel_id": 2, "rows": [{"sku" | "product_id", "quantity"}],
  "warehouse_id": optional, "contact_id": optional, "status_id": optional, "ref": optional}` ->
  `{"order_id", "allocation_status"}`: a sales order entered in Brightpearl itself (a phone or
  marketplace order), through the same rules as the API POST, allocation on create included.
- `POST /__sandbox__/goods-out-notes/{noteId}/ship` `{"tracking_reference": "1Z...", "at": optional ISO date}`
  -> the note as the API renders it.
- `POST /__sandbox__/orders/{orderId}/fulfil` `{"warehouse_id": optional, "tracking_reference": optional,
  "ship": true, "rows": optional [{"row_id", "quantity"}]}` -> `{"goods_note_id", "shipped"}`.
- `POST /__sandbox__/sales-credits` `{"parent_order_id": optional, "contact_id": optional, "rows": [{"sku" |
  "product_id" | "name", "quantity", "net": optional, "tax": optional, "tax_code": optional}], "warehouse_id":
  optional, "ref": optional, "close": false, "refund": optional {"amount", "method": "CARD",
  "transaction_ref": optional}}` -> `{"credit_id", "reference", "payment_id"}`: a credit made by staff in
  Brightpearl (a row of a product on the parent order is valued like that row, pro rata), through the
  sales-credit POST's rules, optionally closed (SC-n) and refunded (a PAYMENT).
- `POST /__sandbox__/purchase-orders` `{"supplier_id": optional, "warehouse_id": optional, "delivery_date":
  optional ISO date, "rows": [{"sku" | "product_id", "quantity", "unit_cost": optional}], "ref": optional}`
  -> `{"order_id", "row_ids"}`: a purchase order raised by staff (rows at the cost price unless given).
- `POST /__sandbox__/orders/{orderId}/receive` `{"warehouse_id": optional, "rows": optional [{"row_id",
  "quantity"}], "quarantine": false}` -> `{"goods_note_id"}`: goods received against a purchase order or a
  sales credit (every outstanding stock-tracked row by default), through the goods-in POST's rules.
- `PUT /__sandbox__/products/{productId}` `{"name", "status", "prices": {"<priceListId>": "12.50"}}` (each
  optional) -> `{"product_id", "updated_on", "version"}`: a product edited by staff, through the product
  PUT and product-price PUT rules.
- `PUT /__sandbox__/contacts/{contactId}` `{"first_name", "last_name", "email", "phone", "address":
  {"address_line1", "address_line2", "city", "state", "postal_code", "country_iso3"}}` (each optional) ->
  the contact as the API renders it: a contact edited by staff, through the contact PATCH and
  postal-address PUT rules (an address is created when the contact has none).
- `GET /__sandbox__/state` -> counts of every kind of record.
- `GET /__sandbox__/webhook-deliveries` -> every webhook delivery (event, ids, attempts, outcome).
Control errors answer 400 (404 for unknown ids) `{"error": "..."}`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, Field, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bp_nop_dagster.sandbox.brightpearl.backend import BrightpearlApiError, FidelityOptions
from bp_nop_dagster.sandbox.control import ControlError, control_endpoint, control_error, control_json, read_control_body
from bp_nop_dagster.sandbox.instrumentation import CONTROL_PREFIX
from bp_nop_dagster.sandbox.world import SandboxWorld


class ThrottleBody(BaseModel):
    quota: int = Field(200, ge=1)
    window_seconds: float = Field(60.0, gt=0)


class ExpireBody(BaseModel):
    access_token: str | None = None


class StockBody(BaseModel):
    sku: str | None = None
    product_id: int | None = None
    warehouse_id: int
    quantity: int | None = None
    on_hand: int | None = Field(None, ge=0)
    reason: str = "Sandbox stock change"


class OrderRowBody(BaseModel):
    sku: str | None = None
    product_id: int | None = None
    quantity: int = Field(gt=0)


class OrderBody(BaseModel):
    channel_id: int
    rows: list[OrderRowBody] = Field(min_length=1)
    warehouse_id: int | None = None
    contact_id: int | None = None
    status_id: int | None = None
    ref: str | None = None


class CreditRowBody(BaseModel):
    sku: str | None = None
    product_id: int | None = None
    name: str | None = None
    quantity: Decimal = Field(gt=0)
    net: Decimal | None = None
    tax: Decimal | None = None
    tax_code: str | None = None


class RefundBody(BaseModel):
    amount: Decimal = Field(gt=0)
    method: str = "CARD"
    transaction_ref: str | None = None


class CreditBody(BaseModel):
    parent_order_id: int | None = None
    contact_id: int | None = None
    rows: list[CreditRowBody] = Field(min_length=1)
    warehouse_id: int | None = None
    ref: str | None = None
    close: bool = False
    refund: RefundBody | None = None


class PurchaseRowBody(BaseModel):
    sku: str | None = None
    product_id: int | None = None
    quantity: int = Field(gt=0)
    unit_cost: Decimal | None = Field(None, ge=0)


class PurchaseOrderBody(BaseModel):
    supplier_id: int | None = None
    warehouse_id: int | None = None
    delivery_date: datetime | None = None
    rows: list[PurchaseRowBody] = Field(min_length=1)
    ref: str | None = None


class ReceiveRow(BaseModel):
    row_id: int
    quantity: int = Field(gt=0)


class ReceiveBody(BaseModel):
    warehouse_id: int | None = None
    rows: list[ReceiveRow] | None = None
    quarantine: bool = False


class ProductEditBody(BaseModel):
    name: str | None = None
    status: str | None = None
    prices: dict[int, Decimal] | None = None


class AddressEdit(BaseModel):
    address_line1: str
    address_line2: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country_iso3: str | None = None


class ContactEditBody(BaseModel):
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    address: AddressEdit | None = None


class ShipBody(BaseModel):
    tracking_reference: str | None = None
    at: datetime | None = None


class FulfilRow(BaseModel):
    row_id: int
    quantity: int = Field(gt=0)


class FulfilBody(BaseModel):
    warehouse_id: int | None = None
    tracking_reference: str | None = None
    ship: bool = True
    rows: list[FulfilRow] | None = None


def _control(handler: Callable) -> Callable:
    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except BrightpearlApiError as error:
            return control_error(f"{error.code}: {error.message}", 404 if error.status == 404 else 400)

    return control_endpoint(run)


def brightpearl_control_routes(world: SandboxWorld) -> list[Route]:
    async def get_throttle(request: Request) -> Response:
        return control_json(world.brightpearl.throttle.snapshot())

    async def put_throttle(request: Request) -> Response:
        body = await read_control_body(request, ThrottleBody)
        throttle = world.brightpearl.throttle
        throttle.configure(body.quota, body.window_seconds)
        return control_json(throttle.snapshot())

    async def get_fidelity(request: Request) -> Response:
        return control_json(world.brightpearl.options.model_dump())

    async def put_fidelity(request: Request) -> Response:
        changes = await read_control_body(request)
        if not isinstance(changes, dict):
            raise ControlError("body must be an object of FidelityOptions fields")
        current = world.brightpearl.options.model_dump()
        try:
            world.brightpearl.options = FidelityOptions.model_validate({**current, **changes})
        except ValidationError as error:
            raise ControlError("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())) from error
        return control_json(world.brightpearl.options.model_dump())

    async def expire(request: Request) -> Response:
        body = await read_control_body(request, ExpireBody)
        return control_json({"expired": world.brightpearl.integration_service.expire_tokens(body.access_token)})

    async def token(request: Request) -> Response:
        await read_control_body(request)
        return control_json(world.brightpearl.integration_service.issue_tokens())

    async def stock(request: Request) -> Response:
        body = await read_control_body(request, StockBody)
        bp = world.brightpearl
        if (body.sku is None) == (body.product_id is None):
            raise ControlError("give exactly one of sku, product_id")
        if (body.quantity is None) == (body.on_hand is None):
            raise ControlError("give exactly one of quantity (a delta), on_hand (absolute)")
        product_id = _product_id(bp, body.sku, body.product_id)
        if body.warehouse_id not in bp.warehouses:
            raise KeyError(f"warehouse {body.warehouse_id}")
        current = bp.on_hand(product_id, body.warehouse_id)
        delta = body.quantity if body.quantity is not None else (body.on_hand or 0) - current
        note_id = bp.correct_stock(body.warehouse_id, product_id, delta, body.reason) if delta else None
        return control_json({"product_id": product_id, "warehouse_id": body.warehouse_id,
                             "on_hand": bp.on_hand(product_id, body.warehouse_id), "goods_note_id": note_id})

    async def order(request: Request) -> Response:
        body = await read_control_body(request, OrderBody)
        bp = world.brightpearl
        contact_id = body.contact_id if body.contact_id is not None else next(iter(bp.contacts), None)
        if contact_id is None:
            raise ControlError("the account has no contact to place the order for")
        sales_order: dict = {"customer": {"id": contact_id}, "channelId": body.channel_id,
                             "rows": [{"productId": _product_id(bp, r.sku, r.product_id), "quantity": r.quantity}
                                      for r in body.rows]}
        for key, value in (("warehouseId", body.warehouse_id), ("statusId", body.status_id), ("ref", body.ref)):
            if value is not None:
                sales_order[key] = value
        order_id = bp.create_sales_order(sales_order)
        allocation = bp.order_service.memoised(lambda: bp.order_service.derived(bp.orders[order_id]).allocation)
        return control_json({"order_id": order_id, "allocation_status": allocation})

    async def ship(request: Request) -> Response:
        body = await read_control_body(request, ShipBody)
        bp = world.brightpearl
        note_id = int(request.path_params["noteId"])
        if note_id not in bp.notes:
            raise KeyError(f"goods-out note {note_id}")
        bp.ship_goods_out_note(note_id, body.tracking_reference, body.at)
        return control_json({str(note_id): bp.goods_out_service.note_dict(bp.notes[note_id])})

    async def fulfil(request: Request) -> Response:
        body = await read_control_body(request, FulfilBody)
        bp = world.brightpearl
        order_id = int(request.path_params["orderId"])
        if order_id not in bp.orders:
            raise KeyError(f"order {order_id}")
        rows = [r.model_dump() for r in body.rows] if body.rows else None
        note_id = bp.goods_out_service.fulfil_order(order_id, body.warehouse_id, rows, body.tracking_reference, body.ship)
        return control_json({"goods_note_id": note_id, "shipped": bp.notes[note_id].shipped})

    async def sales_credit(request: Request) -> Response:
        body = await read_control_body(request, CreditBody)
        bp = world.brightpearl
        parent = bp.orders.get(body.parent_order_id) if body.parent_order_id is not None else None
        if body.parent_order_id is not None and parent is None:
            raise KeyError(f"order {body.parent_order_id}")
        contact_id = body.contact_id or (parent.customer_id if parent else next(iter(bp.contacts), None))
        if contact_id is None:
            raise ControlError("the account has no contact to credit")
        credit: dict = {"customer": {"id": contact_id}, "rows": [_credit_row(bp, row, parent) for row in body.rows]}
        if parent is not None:
            credit.update(parentId=parent.id, warehouseId=parent.warehouse_id, channelId=parent.channel_id,
                          currency={"code": parent.currency})
        for key, value in (("warehouseId", body.warehouse_id), ("ref", body.ref)):
            if value is not None:
                credit[key] = value
        credit_id = bp.create_sales_credit(credit)
        if body.close:
            bp.order_service.api_close_sales_credit(str(credit_id), {})
        payment_id = None
        if body.refund is not None:
            payment = {"paymentMethodCode": body.refund.method, "paymentType": "PAYMENT", "orderId": credit_id,
                       "currencyIsoCode": bp.orders[credit_id].currency, "amountPaid": str(body.refund.amount),
                       "paymentDate": bp.now().isoformat()}
            if body.refund.transaction_ref:
                payment["transactionRef"] = body.refund.transaction_ref
            payment_id = bp.accounting_service.create_customer_payment(payment)
        return control_json({"credit_id": credit_id, "reference": bp.orders[credit_id].invoice_reference or None,
                             "payment_id": payment_id})

    async def purchase_order(request: Request) -> Response:
        body = await read_control_body(request, PurchaseOrderBody)
        bp = world.brightpearl
        supplier_id = body.supplier_id or next((c.id for c in bp.contacts.values() if c.is_supplier), None)
        if supplier_id is None:
            raise ControlError("the account has no supplier (give supplier_id)")
        rows = []
        for row in body.rows:
            product_id = _product_id(bp, row.sku, row.product_id)
            line: dict = {"productId": product_id, "quantity": row.quantity}
            if row.unit_cost is not None:
                line["net"] = str(row.unit_cost * row.quantity)
            rows.append(line)
        order: dict = {"customer": {"id": supplier_id}, "rows": rows}
        for key, value in (("warehouseId", body.warehouse_id), ("ref", body.ref)):
            if value is not None:
                order[key] = value
        if body.delivery_date is not None:
            order["delivery"] = {"date": body.delivery_date.isoformat()}
        order_id = bp.order_service.create_purchase_order(order)
        return control_json({"order_id": order_id, "row_ids": list(bp.orders[order_id].rows)})

    async def receive(request: Request) -> Response:
        body = await read_control_body(request, ReceiveBody)
        bp = world.brightpearl
        order_id = int(request.path_params["orderId"])
        order = bp.orders.get(order_id)
        if order is None:
            raise KeyError(f"order {order_id}")
        wid = body.warehouse_id or order.warehouse_id
        stock = bp.warehouse_service
        location = stock.quarantine_location(wid) if body.quarantine else stock.default_location(wid)
        goods_in = bp.goods_in_service
        if body.rows is not None:
            wanted = [(r.row_id, r.quantity) for r in body.rows]
        else:
            wanted = [(row.id, int(row.quantity) - goods_in.received(order.id, row.id)) for row in order.rows.values()
                      if bp.product_service.is_stock_tracked(row.product_id)]
        moved = [{"productId": order.rows[row_id].product_id if row_id in order.rows else 0, "purchaseOrderRowId": row_id,
                  "quantity": quantity, "destinationLocationId": location} for row_id, quantity in wanted if quantity > 0]
        if not moved:
            raise ControlError(f"nothing left to receive on order {order.id}")
        note_id = bp.create_goods_in_note(order.id, {"warehouseId": wid, "goodsMoved": moved})
        return control_json({"goods_note_id": note_id})

    async def edit_product(request: Request) -> Response:
        body = await read_control_body(request, ProductEditBody)
        bp = world.brightpearl
        product_id = int(request.path_params["productId"])
        if product_id not in bp.products:
            raise KeyError(f"product {product_id}")
        put: dict = {}
        if body.name is not None:
            put["salesChannels"] = [{"salesChannelName": "Brightpearl", "productName": body.name}]
        if body.status is not None:
            put["status"] = body.status
        if put:
            bp.product_service.api_update_product(str(product_id), put, None)
        if body.prices:
            bp.product_service.set_prices(product_id, {list_id: {1: price} for list_id, price in body.prices.items()})
        product = bp.products[product_id]
        return control_json({"product_id": product_id, "updated_on": product.updated_on.isoformat(),
                             "version": product.version})

    async def edit_contact(request: Request) -> Response:
        body = await read_control_body(request, ContactEditBody)
        bp = world.brightpearl
        contacts = bp.contact_service
        contact_id = int(request.path_params["contactId"])
        contact = bp.contacts.get(contact_id)
        if contact is None:
            raise KeyError(f"contact {contact_id}")
        operations = [{"op": "replace", "path": path, "value": value} for path, value in (
            ("/firstName", body.first_name), ("/lastName", body.last_name),
            ("/communication/emails/PRI/email", body.email), ("/communication/telephones/PRI", body.phone))
            if value is not None]
        if body.address is not None:
            fields = {"addressLine1": body.address.address_line1, "addressLine2": body.address.address_line2,
                      "addressLine3": body.address.city, "addressLine4": body.address.state,
                      "postalCode": body.address.postal_code, "countryIsoCode": body.address.country_iso3}
            fields = {k: v for k, v in fields.items() if v is not None}
            if contact.addresses.get("DEF"):
                contacts.api_update_postal_address(str(contact.addresses["DEF"]), fields)
            else:
                address_id = contacts.create_postal_address(fields)
                contact.addresses = {"DEF": address_id, "BIL": address_id, "DEL": address_id}
                contacts.addresses[address_id]["contactId"] = contact.id
        if operations:
            return control_json(contacts.api_patch_contact(str(contact_id), operations)["response"])
        return control_json(contacts.api_get_contacts(str(contact_id), {})["response"][0])

    async def state(request: Request) -> Response:
        return control_json(world.brightpearl.state_counts())

    async def webhook_deliveries(request: Request) -> Response:
        """Every webhook delivery of the account: event, ids, attempts, outcome (the URL is left out)."""
        return control_json([{k: v for k, v in d.items() if k not in ("url", "body")}
                             for d in list(world.brightpearl.integration_service.deliveries)])

    c = CONTROL_PREFIX
    return [
        Route(f"{c}/throttle", _control(get_throttle), methods=["GET"]),
        Route(f"{c}/throttle", _control(put_throttle), methods=["PUT"]),
        Route(f"{c}/fidelity", _control(get_fidelity), methods=["GET"]),
        Route(f"{c}/fidelity", _control(put_fidelity), methods=["PUT"]),
        Route(f"{c}/oauth/expire", _control(expire), methods=["POST"]),
        Route(f"{c}/oauth/token", _control(token), methods=["POST"]),
        Route(f"{c}/stock", _control(stock), methods=["POST"]),
        Route(f"{c}/orders", _control(order), methods=["POST"]),
        Route(f"{c}/goods-out-notes/{{noteId:int}}/ship", _control(ship), methods=["POST"]),
        Route(f"{c}/orders/{{orderId:int}}/fulfil", _control(fulfil), methods=["POST"]),
        Route(f"{c}/sales-credits", _control(sales_credit), methods=["POST"]),
        Route(f"{c}/purchase-orders", _control(purchase_order), methods=["POST"]),
        Route(f"{c}/orders/{{orderId:int}}/receive", _control(receive), methods=["POST"]),
        Route(f"{c}/products/{{productId:int}}", _control(edit_product), methods=["PUT"]),
        Route(f"{c}/contacts/{{contactId:int}}", _control(edit_contact), methods=["PUT"]),
        Route(f"{c}/state", _control(state), methods=["GET"]),
        Route(f"{c}/webhook-deliveries", _control(webhook_deliveries), methods=["GET"]),
    ]


def _product_id(bp, sku: str | None, product_id: int | None) -> int:
    if (sku is None) == (product_id is None):
        raise ControlError("give exactly one of sku, product_id")
    found = product_id if product_id is not None else bp.sku_to_product_id().get(sku or "")
    if found is None or found not in bp.products:
        raise KeyError(f"product {sku or product_id}")
    return found



def _credit_row(bp, row: CreditRowBody, parent) -> dict:
    """A credit row as staff enter it: a product row of the parent order is valued like that row, pro rata."""
    line: dict = {"quantity": str(row.quantity)}
    if row.sku is not None or row.product_id is not None:
        line["productId"] = _product_id(bp, row.sku, row.product_id)
    elif row.name:
        line["name"] = row.name
    else:
        raise ControlError("a credit row needs sku, product_id or name")
    source = next((r for r in parent.rows.values() if r.product_id == line.get("productId")), None) if parent else None
    if source is not None and row.net is None:
        share = row.quantity / source.quantity
        line.update(net=str((source.net * share).quantize(Decimal("0.0001"))), tax=str((source.tax * share).quantize(
            Decimal("0.01"))), taxCode=source.tax_code, nominalCode=source.nominal_code)
    for key, value in (("net", row.net), ("tax", row.tax), ("taxCode", row.tax_code)):
        if value is not None:
            line[key] = str(value) if isinstance(value, Decimal) else value
    return line
