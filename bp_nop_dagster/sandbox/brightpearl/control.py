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
- `GET /__sandbox__/state` -> counts of every kind of record.
Control errors answer 400 (404 for unknown ids) `{"error": "..."}`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

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

    async def state(request: Request) -> Response:
        return control_json(world.brightpearl.state_counts())

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
        Route(f"{c}/state", _control(state), methods=["GET"]),
    ]


def _product_id(bp, sku: str | None, product_id: int | None) -> int:
    if (sku is None) == (product_id is None):
        raise ControlError("give exactly one of sku, product_id")
    found = product_id if product_id is not None else bp.sku_to_product_id().get(sku or "")
    if found is None or found not in bp.products:
        raise KeyError(f"product {sku or product_id}")
    return found

