"""The Brightpearl simulator over HTTP: `/public-api/{accountCode}/{service}-service/...`, thin
routes (parse, route, render) over the per-service backends in `backend/`.

Layers, outermost first: `InstrumentationMiddleware` (request counts per route template, fault
injection), `_Gate` (rolling-window throttle, then authentication, then the
`brightpearl-requests-remaining` / `brightpearl-next-throttle-period` headers, and
`brightpearl-installed-integration-instance-id` where the account sends it, on every API
response, 401 and 4xx/5xx included), the Starlette router. State lives in `world.brightpearl`,
looked up at request time (a reset replaces it).

Authentication (as the recordings show: 401, `Message-Type: api-proxy`, plain-string body):
- private app: `brightpearl-app-ref` + `brightpearl-account-token` (system) or
  `brightpearl-staff-token` (staff);
- OAuth: `Authorization: Bearer <token>` + `brightpearl-app-ref` + `brightpearl-dev-ref`; an
  expired bearer answers `{"response":"Authorization token expired"}`, anything else invalid
  `{"response":"Invalid instance token: <token>"}`.
- another account code in the path with valid credentials: 401 `Invalid instance token` too.
OAuth token endpoint (not throttled): `POST /oauth/token/{account}` (also `/token/{account}`,
the recorded path), form-urlencoded. `grant_type=authorization_code` takes `code=sandbox-auth-code`
(single use), `client_id` = the app ref, any non-empty `redirect_uri`; `grant_type=refresh_token`
takes a refresh token issued earlier (`sandbox-oauth-refresh-token` at start) and rotates it.

Every API route has a fact in `fidelity.py` (its source and confidence); the control routes
under `/__sandbox__/` are in `control.py`.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any, Callable
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bp_nop_dagster.sandbox.brightpearl.backend import BrightpearlApiError, BrightpearlBackend, options_uris
from bp_nop_dagster.sandbox.brightpearl.control import brightpearl_control_routes
from bp_nop_dagster.sandbox.control import shared_control_routes
from bp_nop_dagster.sandbox.instrumentation import InstrumentationMiddleware, json_bytes
from bp_nop_dagster.sandbox.world import SandboxWorld

log = logging.getLogger(__name__)

JSON_TYPE = b"application/json;charset=UTF-8"
INSTANCE_HEADER = b"brightpearl-installed-integration-instance-id"
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
            if isinstance(result, tuple):  # (status, body): a 2xx other than 200 (e.g. 207)
                return _json(result[1], result[0])
            return result if isinstance(result, Response) else _json(result)  # bytes: already JSON
        except BrightpearlApiError as error:
            return _error(error.status, error.code, error.message)
        except Exception:  # never a traceback on the wire
            log.exception("brightpearl sandbox: unexpected error on %s %s", request.method, request.url.path)
            return _error(500, "CMNU-003", "An unexpected error occurred")

    return run


class _Gate:
    """Throttle, then auth, then the throttle (and installation) headers on every API response."""

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
        if problem is not None and backend.options.other_account_code == 404 and self._other_account(scope, backend):
            await _send(send, 404, json_bytes({"errors": [{"code": "CMNC-404", "message": "No such account"}]}),
                        extra + [(b"content-type", JSON_TYPE)])
            return
        if problem is not None:
            await _send(send, 401, json_bytes({"response": problem}),
                        extra + [(b"content-type", JSON_TYPE), (b"message-type", b"api-proxy")])
            return
        instance_id = backend.options.installed_integration_instance_id
        if instance_id is not None:  # the caller's installation, once authenticated (as recorded)
            extra.append((INSTANCE_HEADER, str(instance_id).encode()))

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": list(message.get("headers", [])) + extra}
            await send(message)

        await self.app(scope, receive, with_headers)

    @staticmethod
    def _other_account(scope: Scope, backend: BrightpearlBackend) -> bool:
        return scope["path"].split("/", 3)[2] != backend.credentials.brightpearl_account_code

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
            state = backend.integration_service.access_tokens.get(token)
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

    def reference(service: str, kind: str, owner: Callable[[BrightpearlBackend], Any]) -> None:
        add("GET", f"/{service}/{kind}", lambda b, r, _: owner(b).api_reference(kind, None))
        add("GET", f"/{service}/{kind}/{{idset}}", lambda b, r, _: owner(b).api_reference(kind, _pp(r, "idset")))

    def options(path: str, resource: str, ids: Callable[[BrightpearlBackend], Any]) -> None:
        add("OPTIONS", path, lambda b, r, _: options_uris(resource, ids(b), None))
        add("OPTIONS", f"{path}/{{idset}}", lambda b, r, _: options_uris(resource, ids(b), _pp(r, "idset")))

    products = lambda b: b.product_service  # noqa: E731
    warehouse = lambda b: b.warehouse_service  # noqa: E731
    goods_out = lambda b: b.goods_out_service  # noqa: E731
    goods_in = lambda b: b.goods_in_service  # noqa: E731
    contacts = lambda b: b.contact_service  # noqa: E731
    orders = lambda b: b.order_service  # noqa: E731
    accounting = lambda b: b.accounting_service  # noqa: E731
    integration = lambda b: b.integration_service  # noqa: E731

    # hot paths first (template matching is linear)
    add("GET", "/product-service/product/{idset}", lambda b, r, _: products(b).api_get_products_json(_pp(r, "idset")))
    search("product-service", "product", "product")
    add("GET", "/warehouse-service/product-availability/{idset}", lambda b, r, _: warehouse(b).api_availability(_pp(r, "idset")))
    search("warehouse-service", "goods-movement", "goods-movement")
    search("order-service", "order", "order")
    search("order-service", "sales-order", "sales-order")
    search("contact-service", "contact", "contact")
    search("accounting-service", "customer-payment", "customer-payment")
    search("accounting-service", "journal", "journal")
    search("accounting-service", "currency", "currency")
    search("warehouse-service", "goods-note/goods-out", "goods-out")

    # product-service
    options("/product-service/product", "product", lambda b: b.products)
    add("POST", "/product-service/product", lambda b, r, body: products(b).api_create_product(body), body=True)
    add("PUT", "/product-service/product/{productId}",
        lambda b, r, body: products(b).api_update_product(_pp(r, "productId"), body, r.headers.get("if-match")), body=True)
    add("GET", "/product-service/product-price/{idset}", lambda b, r, _: products(b).api_product_price(_pp(r, "idset")))
    add("GET", "/product-service/product-price/{idset}/price-list/{priceListIds}",
        lambda b, r, _: products(b).api_product_price(_pp(r, "idset"), _pp(r, "priceListIds")))
    add("PUT", "/product-service/product-price/{productId}/price-list",
        lambda b, r, body: products(b).api_put_product_price(_pp(r, "productId"), body), body=True)
    options("/product-service/product-price", "product-price", lambda b: b.products)
    for kind in ("channel", "price-list", "brand"):
        reference("product-service", kind, products)

    # warehouse-service: warehouses, stock, reservations, goods-out notes
    for kind in ("warehouse", "shipping-method"):
        reference("warehouse-service", kind, warehouse)
    add("GET", "/warehouse-service/warehouse/{warehouseId}/location/default",
        lambda b, r, _: warehouse(b).api_default_location(_pp(r, "warehouseId")))
    add("GET", "/warehouse-service/warehouse/{warehouseId}/location/quarantine",
        lambda b, r, _: warehouse(b).api_quarantine_location(_pp(r, "warehouseId")))
    add("POST", "/warehouse-service/warehouse/{warehouseId}/quarantine/release",
        lambda b, r, body: warehouse(b).api_quarantine_release(_pp(r, "warehouseId"), body), body=True)
    add("POST", "/warehouse-service/warehouse/{warehouseId}/stock-correction",
        lambda b, r, body: warehouse(b).api_stock_correction(_pp(r, "warehouseId"), body), body=True)
    add("GET", "/warehouse-service/warehouse/{warehouseId}/stock-correction/{idset}",
        lambda b, r, _: warehouse(b).api_get_stock_corrections(_pp(r, "warehouseId"), _pp(r, "idset")))
    reservation = "/warehouse-service/order/{orderId}/reservation/warehouse/{warehouseId}"
    add("POST", reservation, lambda b, r, body: warehouse(b).api_reserve(_pp(r, "orderId"), _pp(r, "warehouseId"), body),
        body=True)
    add("PUT", reservation,
        lambda b, r, body: warehouse(b).api_reserve(_pp(r, "orderId"), _pp(r, "warehouseId"), body, replace=True), body=True)
    add("DELETE", reservation, lambda b, r, _: warehouse(b).api_delete_reservation(_pp(r, "orderId"), _pp(r, "warehouseId")))
    add("GET", "/warehouse-service/order/{orderId}/reservation", lambda b, r, _: warehouse(b).api_get_reservations(_pp(r, "orderId")))
    add("POST", "/warehouse-service/order/{orderId}/goods-note/goods-out",
        lambda b, r, body: goods_out(b).api_create_goods_out_note(_pp(r, "orderId"), body), body=True)
    add("GET", "/warehouse-service/order/{orderIds}/goods-note/goods-out",
        lambda b, r, _: goods_out(b).api_get_goods_out_notes(_pp(r, "orderIds"), None))
    add("GET", "/warehouse-service/order/{orderIds}/goods-note/goods-out/{noteIds}",
        lambda b, r, _: goods_out(b).api_get_goods_out_notes(_pp(r, "orderIds"), _pp(r, "noteIds")))
    add("POST", "/warehouse-service/order/{orderId}/goods-note/goods-in",
        lambda b, r, body: goods_in(b).api_create_goods_in_note(_pp(r, "orderId"), body), body=True)
    add("GET", "/warehouse-service/order/{orderIds}/goods-note/goods-in",
        lambda b, r, _: goods_in(b).api_get_goods_in_notes(_pp(r, "orderIds"), None))
    add("GET", "/warehouse-service/order/{orderIds}/goods-note/goods-in/{noteIds}",
        lambda b, r, _: goods_in(b).api_get_goods_in_notes(_pp(r, "orderIds"), _pp(r, "noteIds")))
    add("DELETE", "/warehouse-service/order/{orderId}/goods-note/goods-out/{noteId}",
        lambda b, r, _: goods_out(b).api_delete_goods_out_note(_pp(r, "orderId"), _pp(r, "noteId")))
    add("PUT", "/warehouse-service/goods-note/goods-out/{noteId}",
        lambda b, r, body: goods_out(b).api_update_goods_out_note(_pp(r, "noteId"), body), body=True)
    add("POST", "/warehouse-service/goods-note/goods-out/{noteId}/event",
        lambda b, r, body: goods_out(b).api_goods_out_events(_pp(r, "noteId"), body, r.headers.get("if-match")), body=True)

    # contact-service
    add("POST", "/contact-service/postal-address", lambda b, r, body: {"response": contacts(b).create_postal_address(body)},
        body=True)
    add("GET", "/contact-service/postal-address/{idset}", lambda b, r, _: contacts(b).api_get_addresses(_pp(r, "idset")))
    add("PUT", "/contact-service/postal-address/{addressId}",
        lambda b, r, body: contacts(b).api_update_postal_address(_pp(r, "addressId"), body), body=True)
    add("PATCH", "/contact-service/contact/{contactId}",
        lambda b, r, body: contacts(b).api_patch_contact(_pp(r, "contactId"), body), body=True)
    add("POST", "/contact-service/contact", lambda b, r, body: {"response": contacts(b).create_contact(body)}, body=True)
    add("GET", "/contact-service/contact", lambda b, r, _: contacts(b).api_get_contacts(None, _q(r)))
    add("GET", "/contact-service/contact/{idset}", lambda b, r, _: contacts(b).api_get_contacts(_pp(r, "idset"), _q(r)))
    options("/contact-service/contact", "contact", lambda b: b.contacts)

    # order-service
    add("POST", "/order-service/order", lambda b, r, body: orders(b).api_create_order(body), body=True)
    add("POST", "/order-service/order/{orderId}/row", lambda b, r, body: orders(b).api_add_order_row(_pp(r, "orderId"), body),
        body=True)
    add("GET", "/order-service/order/{idset}", lambda b, r, _: orders(b).api_get_orders(_pp(r, "idset")))
    add("PATCH", "/order-service/order/{orderId}", lambda b, r, body: orders(b).api_patch_order(_pp(r, "orderId"), body),
        body=True)
    add("OPTIONS", "/order-service/order", lambda b, r, _: orders(b).api_order_options(None, "order", None))
    add("OPTIONS", "/order-service/order/{idset}", lambda b, r, _: orders(b).api_order_options(None, "order", _pp(r, "idset")))
    add("POST", "/order-service/order/{orderId}/note", lambda b, r, body: orders(b).api_add_order_note(_pp(r, "orderId"), body),
        body=True)
    add("GET", "/order-service/order/{orderId}/note", lambda b, r, _: orders(b).api_get_order_notes(_pp(r, "orderId")))
    add("PUT", "/order-service/order/{orderId}/status",
        lambda b, r, body: orders(b).api_set_order_status(_pp(r, "orderId"), body), body=True)
    add("POST", "/order-service/sales-order", lambda b, r, body: orders(b).api_create_sales_order(body), body=True)
    add("GET", "/order-service/sales-order/{idset}", lambda b, r, _: orders(b).api_get_sales_documents(_pp(r, "idset"), "SO"))
    add("OPTIONS", "/order-service/sales-order", lambda b, r, _: orders(b).api_order_options("SO", "sales-order", None))
    add("OPTIONS", "/order-service/sales-order/{idset}",
        lambda b, r, _: orders(b).api_order_options("SO", "sales-order", _pp(r, "idset")))
    add("POST", "/order-service/sales-credit", lambda b, r, body: orders(b).api_create_sales_credit(body), body=True)
    add("POST", "/order-service/sales-credit/{creditId}/close",
        lambda b, r, body: orders(b).api_close_sales_credit(_pp(r, "creditId"), body), body=True)
    add("GET", "/order-service/sales-credit/{idset}", lambda b, r, _: orders(b).api_get_sales_documents(_pp(r, "idset"), "SC"))
    for kind in ("order-status", "order-shipping-status", "order-stock-status", "order-type"):
        reference("order-service", kind, orders)

    # accounting-service
    for kind in ("tax-code", "payment-method", "nominal-code"):
        reference("accounting-service", kind, accounting)
    add("POST", "/accounting-service/customer-payment",
        lambda b, r, body: {"response": accounting(b).create_customer_payment(body)}, body=True)
    add("DELETE", "/accounting-service/customer-payment/{paymentId}",
        lambda b, r, _: accounting(b).api_delete_payment(_pp(r, "paymentId")))
    add("GET", "/accounting-service/sale-payment-total/{idset}",
        lambda b, r, _: accounting(b).api_sale_payment_total(_pp(r, "idset")))
    add("POST", "/accounting-service/journal", lambda b, r, body: {"response": accounting(b).create_journal(body)}, body=True)
    add("GET", "/accounting-service/journal/{idset}", lambda b, r, _: accounting(b).api_get_journals(_pp(r, "idset")))

    # integration-service
    add("POST", "/integration-service/webhook", lambda b, r, body: integration(b).api_create_webhook(body), body=True)
    add("GET", "/integration-service/webhook", lambda b, r, _: integration(b).api_get_webhooks(None))
    add("GET", "/integration-service/webhook/{idset}", lambda b, r, _: integration(b).api_get_webhooks(_pp(r, "idset")))
    add("DELETE", "/integration-service/webhook/{webhookId}",
        lambda b, r, _: integration(b).api_delete_webhook(_pp(r, "webhookId")))
    return routes


def _oauth_routes(world: SandboxWorld) -> list[Route]:
    async def token(request: Request) -> Response:
        raw = await request.body()
        form = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        bp = world.brightpearl
        if request.path_params["account"] != bp.credentials.brightpearl_account_code:
            return _json({"error": "invalid_client"}, 400)
        status, body = bp.integration_service.oauth_token(form)
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
        routes=api_routes + shared_control_routes(world, "brightpearl") + brightpearl_control_routes(world) + _oauth_routes(world),
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
