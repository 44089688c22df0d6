"""The Brightpearl simulator over HTTP: `/public-api/{accountCode}/{service}-service/...`.

Layers, outermost first: `InstrumentationMiddleware` (request counts per route template, fault
injection), `_Gate` (rolling-window throttle, then authentication, then the
`brightpearl-requests-remaining` / `brightpearl-next-throttle-period` headers on every API
response, 401 and 4xx/5xx included), the Starlette router. State lives in `world.brightpearl`,
looked up at request time (a reset replaces it).

Authentication (as the recordings show: 401, `Message-Type: api-proxy`, plain-string body):
- private app: `brightpearl-app-ref` + `brightpearl-account-token` (system) or
  `brightpearl-staff-token` (staff);
- OAuth: `Authorization: Bearer <token>` + `brightpearl-app-ref` + `brightpearl-dev-ref`; an
  expired bearer answers `{"response":"Authorization token expired"}`, anything else invalid
  `{"response":"Invalid instance token: <token>"}`.
- another account code in the path with valid credentials: 401 `Invalid instance token` too
  (tokens belong to one account; chosen over 404 because it is what the proxy checks first).
OAuth token endpoint (not throttled): `POST /oauth/token/{account}` (also `/token/{account}`,
the recorded path), form-urlencoded. `grant_type=authorization_code` takes `code=sandbox-auth-code`
(single use), `client_id` = the app ref, any non-empty `redirect_uri`; `grant_type=refresh_token`
takes a refresh token issued earlier (`sandbox-oauth-refresh-token` at start) and rotates it.

Control routes (not part of the real API; never counted, throttled or faulted):
- shared: `POST /__sandbox__/reset`, `GET|DELETE /__sandbox__/stats`, `GET|PUT|DELETE /__sandbox__/faults`.
- `GET /__sandbox__/throttle` -> `{"quota","window_seconds","requests_in_window","remaining","next_throttle_period_ms"}`;
  `PUT /__sandbox__/throttle` `{"quota": 200, "window_seconds": 60}` sets it and empties the window.
  A reset restores 200 / 60 s.
- `POST /__sandbox__/oauth/expire` `{"access_token": optional}`: mark that (default: every live)
  bearer token expired -> `{"expired": [...]}`.
- `POST /__sandbox__/oauth/token` `{}` -> a new valid token set
  `{"access_token","refresh_token","installation_instance_id","api_domain","token_type","expires_in"}`.
- `POST /__sandbox__/stock` `{"sku": "X" | "product_id": 1, "warehouse_id": 2, "quantity": -3 (delta) |
  "on_hand": 10 (absolute), "reason": optional}` -> `{"product_id","warehouse_id","on_hand","goods_note_id"}`
  (a stock correction, so it shows in goods-movement-search; `goods_note_id` null when nothing changes).
- `POST /__sandbox__/goods-out-notes/{noteId}/ship` `{"tracking_reference": "1Z...", "at": optional ISO date}`
  -> the note as the API renders it.
- `POST /__sandbox__/orders/{orderId}/fulfil` `{"warehouse_id": optional, "tracking_reference": optional,
  "ship": true, "rows": optional [{"row_id", "quantity"}]}` -> `{"goods_note_id", "shipped"}`: a goods-out
  note for the given rows (default: everything outstanding that is reserved or on hand), shipped if asked.
- `GET /__sandbox__/state` -> counts of warehouses, products, contacts, orders, credits, payments,
  goods-out notes, reservations, goods movements.
Control errors answer 400 (404 for unknown ids) `{"error": "..."}`.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime
from typing import Any, Callable
from urllib.parse import parse_qsl

from pydantic import BaseModel, Field
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bp_nop_dagster.sandbox.brightpearl.backend import BrightpearlApiError, BrightpearlBackend, options_uris
from bp_nop_dagster.sandbox.control import (
    ControlError,
    control_endpoint,
    control_error,
    control_json,
    read_control_body,
    shared_control_routes,
)
from bp_nop_dagster.sandbox.instrumentation import CONTROL_PREFIX, InstrumentationMiddleware, json_bytes
from bp_nop_dagster.sandbox.world import SandboxWorld

log = logging.getLogger(__name__)

JSON_TYPE = b"application/json;charset=UTF-8"
THROTTLE_BODY = {"response": "You have sent too many requests. Please wait before sending another request"}
_PREFIX = re.compile(r"^/public-api/[^/]+")
P = "/public-api/{account}"


def api_prefix(path: str) -> str:
    match = _PREFIX.match(path)
    return match.group(0) if match else ""


class _Route(Route):
    """A route that also matches with a trailing slash (the recordings use `/channel/`)."""

    def __init__(self, path: str, endpoint: Callable, methods: list[str]) -> None:
        super().__init__(path, endpoint, methods=methods)
        self.path_regex = re.compile(self.path_regex.pattern[:-1] + "/?$")


def _json(body: Any, status: int = 200) -> Response:
    response = Response(body if isinstance(body, bytes) else json_bytes(body), status_code=status)
    response.headers["content-type"] = JSON_TYPE.decode()
    return response


def _error(status: int, code: str, message: str) -> Response:
    return _json({"errors": [{"code": code, "message": message}]}, status)


def render_error(status: int, message: str) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """Injected faults, in the API's own envelope."""
    code = "CMNU-003" if status >= 500 else f"CMNC-{status}"
    return json_bytes({"errors": [{"code": code, "message": message}]}), [(b"content-type", JSON_TYPE)]


def _parse_body(raw: bytes) -> Any:
    if not raw.strip():
        raise BrightpearlApiError(400, "CMNC-010", "You must supply a JSON formatted body with your request")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BrightpearlApiError(400, "CMNC-010", "You must supply a JSON formatted body with your request") from None


Handler = Callable[[BrightpearlBackend, Request, Any], Any]


def _endpoint(world: SandboxWorld, handler: Handler, *, body: bool = False) -> Callable:
    async def run(request: Request) -> Response:
        raw = await request.body()  # the only await: state is touched synchronously below
        try:
            payload = _parse_body(raw) if body else None
            result = handler(world.brightpearl, request, payload)
            return result if isinstance(result, Response) else _json(result)  # bytes: already JSON
        except BrightpearlApiError as error:
            return _error(error.status, error.code, error.message)
        except Exception:  # never a traceback on the wire
            log.exception("brightpearl sandbox: unexpected error on %s %s", request.method, request.url.path)
            return _error(500, "CMNU-003", "An unexpected error occurred")

    return run


class _Gate:
    """Throttle, then auth, then the throttle headers on every API response."""

    def __init__(self, app: ASGIApp, world: SandboxWorld) -> None:
        self.app = app
        self.world = world

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/public-api/"):
            await self.app(scope, receive, send)
            return
        backend: BrightpearlBackend = self.world.brightpearl
        decision = backend.throttle.check()
        extra = decision.headers()
        if not decision.allowed:
            self.world.brightpearl_stats.record_throttled()
            await _send(send, 503, json_bytes(THROTTLE_BODY), extra + [(b"content-type", JSON_TYPE)])
            return
        problem = self._auth_problem(scope, backend)
        if problem is not None:
            await _send(send, 401, json_bytes({"response": problem}),
                        extra + [(b"content-type", JSON_TYPE), (b"message-type", b"api-proxy")])
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": list(message.get("headers", [])) + extra}
            await send(message)

        await self.app(scope, receive, with_headers)

    def _auth_problem(self, scope: Scope, backend: BrightpearlBackend) -> str | None:
        headers: dict[bytes, bytes] = {}
        for key, value in scope["headers"]:
            headers[key.lower()] = value
        creds = backend.credentials
        app_ref = headers.get(b"brightpearl-app-ref", b"").decode("latin-1")
        account = scope["path"].split("/", 3)[2]
        authorization = headers.get(b"authorization", b"").decode("latin-1")
        if authorization.lower().startswith("bearer "):
            token = authorization[7:].strip()
            state = backend.access_tokens.get(token)
            if state is not None and state["expired"]:
                return "Authorization token expired"
            dev_ref = headers.get(b"brightpearl-dev-ref", b"").decode("latin-1")
            if (state is None or app_ref != creds.brightpearl_app_ref or dev_ref != creds.brightpearl_dev_ref
                    or account != creds.brightpearl_account_code):
                return f"Invalid instance token: {token}"
            return None
        account_token = headers.get(b"brightpearl-account-token", b"").decode("latin-1")
        staff_token = headers.get(b"brightpearl-staff-token", b"").decode("latin-1")
        token = account_token or staff_token
        valid = (account_token == creds.brightpearl_account_token) if account_token else (
            bool(staff_token) and staff_token == creds.brightpearl_staff_token)
        if not valid or app_ref != creds.brightpearl_app_ref or account != creds.brightpearl_account_code:
            return f"Invalid instance token: {token}"
        return None


async def _send(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": headers + [(b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body, "more_body": False})


# ------------------------------------------------------------------------------------- routes


def _q(request: Request) -> dict[str, str]:
    return dict(request.query_params)


def _pp(request: Request, name: str) -> str:
    return request.path_params[name]


def _api_routes(world: SandboxWorld) -> list[Route]:
    routes: list[Route] = []

    def add(method: str, path: str, handler: Handler, body: bool = False) -> None:
        routes.append(_Route(P + path, _endpoint(world, handler, body=body), methods=[method]))

    def search(service: str, resource: str, key: str) -> None:
        add("GET", f"/{service}/{resource}-search", lambda b, r, _: b.search(key, _q(r), raw=True))
        add("GET", f"/{service}/{resource}-search/meta-data", lambda b, r, _: b.search_meta(key))

    def reference(service: str, kind: str) -> None:
        add("GET", f"/{service}/{kind}", lambda b, r, _: b.api_reference(kind, None))
        add("GET", f"/{service}/{kind}/{{idset}}", lambda b, r, _: b.api_reference(kind, _pp(r, "idset")))

    # hot paths first (template matching is linear)
    add("GET", "/product-service/product/{idset}", lambda b, r, _: b.api_get_products_json(_pp(r, "idset")))
    search("product-service", "product", "product")
    add("GET", "/warehouse-service/product-availability/{idset}", lambda b, r, _: b.api_availability(_pp(r, "idset")))
    search("warehouse-service", "goods-movement", "goods-movement")
    search("order-service", "order", "order")
    search("order-service", "sales-order", "sales-order")
    search("contact-service", "contact", "contact")
    search("accounting-service", "customer-payment", "customer-payment")
    search("warehouse-service", "goods-note/goods-out", "goods-out")

    # products
    add("OPTIONS", "/product-service/product", lambda b, r, _: options_uris("product", b.products, None))
    add("OPTIONS", "/product-service/product/{idset}", lambda b, r, _: options_uris("product", b.products, _pp(r, "idset")))
    add("POST", "/product-service/product", lambda b, r, body: b.api_create_product(body), body=True)
    add("GET", "/product-service/product-price/{idset}", lambda b, r, _: b.api_product_price(_pp(r, "idset")))
    add("OPTIONS", "/product-service/product-price", lambda b, r, _: options_uris("product-price", b.products, None))
    add("OPTIONS", "/product-service/product-price/{idset}",
        lambda b, r, _: options_uris("product-price", b.products, _pp(r, "idset")))
    reference("product-service", "channel")
    reference("product-service", "price-list")

    # warehouses, stock, reservations, goods-out notes
    reference("warehouse-service", "warehouse")
    reference("warehouse-service", "shipping-method")
    add("GET", "/warehouse-service/warehouse/{warehouseId}/location/default",
        lambda b, r, _: b.api_default_location(_pp(r, "warehouseId")))
    add("POST", "/warehouse-service/warehouse/{warehouseId}/stock-correction",
        lambda b, r, body: b.api_stock_correction(_pp(r, "warehouseId"), body), body=True)
    add("GET", "/warehouse-service/warehouse/{warehouseId}/stock-correction/{idset}",
        lambda b, r, _: b.api_get_stock_corrections(_pp(r, "warehouseId"), _pp(r, "idset")))
    reservation = "/warehouse-service/order/{orderId}/reservation/warehouse/{warehouseId}"
    add("POST", reservation, lambda b, r, body: b.api_reserve(_pp(r, "orderId"), _pp(r, "warehouseId"), body), body=True)
    add("PUT", reservation, lambda b, r, body: b.api_reserve(_pp(r, "orderId"), _pp(r, "warehouseId"), body, replace=True),
        body=True)
    add("DELETE", reservation, lambda b, r, _: b.api_delete_reservation(_pp(r, "orderId"), _pp(r, "warehouseId")))
    add("GET", "/warehouse-service/order/{orderId}/reservation", lambda b, r, _: b.api_get_reservations(_pp(r, "orderId")))
    add("POST", "/warehouse-service/order/{orderId}/goods-note/goods-out",
        lambda b, r, body: b.api_create_goods_out_note(_pp(r, "orderId"), body), body=True)
    add("GET", "/warehouse-service/order/{orderIds}/goods-note/goods-out",
        lambda b, r, _: b.api_get_goods_out_notes(_pp(r, "orderIds"), None))
    add("GET", "/warehouse-service/order/{orderIds}/goods-note/goods-out/{noteIds}",
        lambda b, r, _: b.api_get_goods_out_notes(_pp(r, "orderIds"), _pp(r, "noteIds")))
    add("PUT", "/warehouse-service/goods-note/goods-out/{noteId}",
        lambda b, r, body: b.api_update_goods_out_note(_pp(r, "noteId"), body), body=True)
    add("POST", "/warehouse-service/goods-note/goods-out/{noteId}/event",
        lambda b, r, body: b.api_goods_out_events(_pp(r, "noteId"), body, r.headers.get("if-match")), body=True)

    # contacts
    add("POST", "/contact-service/postal-address", lambda b, r, body: {"response": b.create_postal_address(body)}, body=True)
    add("GET", "/contact-service/postal-address/{idset}", lambda b, r, _: b.api_get_addresses(_pp(r, "idset")))
    add("POST", "/contact-service/contact", lambda b, r, body: {"response": b.create_contact(body)}, body=True)
    add("GET", "/contact-service/contact", lambda b, r, _: b.api_get_contacts(None, _q(r)))
    add("GET", "/contact-service/contact/{idset}", lambda b, r, _: b.api_get_contacts(_pp(r, "idset"), _q(r)))
    add("OPTIONS", "/contact-service/contact", lambda b, r, _: options_uris("contact", b.contacts, None))
    add("OPTIONS", "/contact-service/contact/{idset}", lambda b, r, _: options_uris("contact", b.contacts, _pp(r, "idset")))

    # orders
    add("POST", "/order-service/order", lambda b, r, body: b.api_create_order(body), body=True)
    add("POST", "/order-service/order/{orderId}/row", lambda b, r, body: b.api_add_order_row(_pp(r, "orderId"), body), body=True)
    add("GET", "/order-service/order/{idset}", lambda b, r, _: b.api_get_orders(_pp(r, "idset")))
    add("OPTIONS", "/order-service/order", lambda b, r, _: b.api_order_options(None, "order", None))
    add("OPTIONS", "/order-service/order/{idset}", lambda b, r, _: b.api_order_options(None, "order", _pp(r, "idset")))
    add("PUT", "/order-service/order/{orderId}/status",
        lambda b, r, body: b.api_set_order_status(_pp(r, "orderId"), body), body=True)
    add("POST", "/order-service/sales-order", lambda b, r, body: {"response": b.create_sales_order(body)}, body=True)
    add("GET", "/order-service/sales-order/{idset}", lambda b, r, _: b.api_get_sales_documents(_pp(r, "idset"), "SO"))
    add("OPTIONS", "/order-service/sales-order", lambda b, r, _: b.api_order_options("SO", "sales-order", None))
    add("OPTIONS", "/order-service/sales-order/{idset}",
        lambda b, r, _: b.api_order_options("SO", "sales-order", _pp(r, "idset")))
    add("POST", "/order-service/sales-credit", lambda b, r, body: {"response": b.create_sales_credit(body)}, body=True)
    add("GET", "/order-service/sales-credit/{idset}", lambda b, r, _: b.api_get_sales_documents(_pp(r, "idset"), "SC"))
    for kind in ("order-status", "order-shipping-status", "order-stock-status", "order-type"):
        reference("order-service", kind)

    # accounting
    for kind in ("tax-code", "payment-method", "nominal-code"):
        reference("accounting-service", kind)
    add("POST", "/accounting-service/customer-payment",
        lambda b, r, body: {"response": b.create_customer_payment(body)}, body=True)
    add("DELETE", "/accounting-service/customer-payment/{paymentId}",
        lambda b, r, _: b.api_delete_payment(_pp(r, "paymentId")))
    return routes


# ------------------------------------------------------------------------------------- control


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


def _control_routes(world: SandboxWorld) -> list[Route]:
    async def get_throttle(request: Request) -> Response:
        return control_json(world.brightpearl.throttle.snapshot())

    async def put_throttle(request: Request) -> Response:
        body = await read_control_body(request, ThrottleBody)
        throttle = world.brightpearl.throttle
        throttle.configure(body.quota, body.window_seconds)
        return control_json(throttle.snapshot())

    async def expire(request: Request) -> Response:
        body = await read_control_body(request, ExpireBody)
        return control_json({"expired": world.brightpearl.expire_tokens(body.access_token)})

    async def token(request: Request) -> Response:
        await read_control_body(request)
        return control_json(world.brightpearl.issue_tokens())

    async def stock(request: Request) -> Response:
        body = await read_control_body(request, StockBody)
        bp = world.brightpearl
        if (body.sku is None) == (body.product_id is None):
            raise ControlError("give exactly one of sku, product_id")
        if (body.quantity is None) == (body.on_hand is None):
            raise ControlError("give exactly one of quantity (a delta), on_hand (absolute)")
        product_id = body.product_id if body.product_id is not None else bp.sku_to_product_id().get(body.sku or "")
        if product_id is None or product_id not in bp.products:
            raise KeyError(f"product {body.sku or body.product_id}")
        if body.warehouse_id not in bp.warehouses:
            raise KeyError(f"warehouse {body.warehouse_id}")
        current = bp.on_hand(product_id, body.warehouse_id)
        delta = body.quantity if body.quantity is not None else (body.on_hand or 0) - current
        note_id = bp.correct_stock(body.warehouse_id, product_id, delta, body.reason) if delta else None
        return control_json({"product_id": product_id, "warehouse_id": body.warehouse_id,
                             "on_hand": bp.on_hand(product_id, body.warehouse_id), "goods_note_id": note_id})

    async def ship(request: Request) -> Response:
        body = await read_control_body(request, ShipBody)
        bp = world.brightpearl
        note_id = int(request.path_params["noteId"])
        if note_id not in bp.notes:
            raise KeyError(f"goods-out note {note_id}")
        bp.ship_goods_out_note(note_id, body.tracking_reference, body.at)
        return control_json({str(note_id): bp.note_dict(bp.notes[note_id])})

    async def fulfil(request: Request) -> Response:
        body = await read_control_body(request, FulfilBody)
        bp = world.brightpearl
        order_id = int(request.path_params["orderId"])
        if order_id not in bp.orders:
            raise KeyError(f"order {order_id}")
        rows = [r.model_dump() for r in body.rows] if body.rows else None
        note_id = bp.fulfil_order(order_id, body.warehouse_id, rows, body.tracking_reference, body.ship)
        return control_json({"goods_note_id": note_id, "shipped": bp.notes[note_id].shipped})

    async def state(request: Request) -> Response:
        return control_json(world.brightpearl.state_counts())

    c = CONTROL_PREFIX
    return [
        Route(f"{c}/throttle", _control(get_throttle), methods=["GET"]),
        Route(f"{c}/throttle", _control(put_throttle), methods=["PUT"]),
        Route(f"{c}/oauth/expire", _control(expire), methods=["POST"]),
        Route(f"{c}/oauth/token", _control(token), methods=["POST"]),
        Route(f"{c}/stock", _control(stock), methods=["POST"]),
        Route(f"{c}/goods-out-notes/{{noteId:int}}/ship", _control(ship), methods=["POST"]),
        Route(f"{c}/orders/{{orderId:int}}/fulfil", _control(fulfil), methods=["POST"]),
        Route(f"{c}/state", _control(state), methods=["GET"]),
    ]


def _oauth_routes(world: SandboxWorld) -> list[Route]:
    async def token(request: Request) -> Response:
        raw = await request.body()
        form = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        bp = world.brightpearl
        if request.path_params["account"] != bp.credentials.brightpearl_account_code:
            return _json({"error": "invalid_client"}, 400)
        status, body = bp.oauth_token(form)
        return _json(body, status)

    return [
        Route("/oauth/token/{account}", token, methods=["POST"]),
        Route("/token/{account}", token, methods=["POST"]),
    ]


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 404:
        return _error(404, "CMNC-404", f"No resource found at {request.method} {request.url.path}")
    if status == 405:
        return _error(405, "CMNC-405", f"Method {request.method} is not allowed on {request.url.path}")
    return _error(status, "CMNU-003", "An unexpected error occurred")


async def _server_error(request: Request, exc: Exception) -> Response:
    return _error(500, "CMNU-003", "An unexpected error occurred")


def build_brightpearl_app(world: SandboxWorld) -> ASGIApp:
    api_routes = _api_routes(world)
    inner = Starlette(
        routes=api_routes + shared_control_routes(world, "brightpearl") + _control_routes(world) + _oauth_routes(world),
        exception_handlers={404: _http_error, 405: _http_error, 500: _server_error},
    )
    inner.router.redirect_slashes = False
    return InstrumentationMiddleware(
        _Gate(inner, world),
        routes=api_routes,
        stats=world.brightpearl_stats,
        faults=world.brightpearl_faults,
        render_error=render_error,
        api_prefix=api_prefix,
    )
