"""The webhook receiver (`bp-nop webhooks serve`): Starlette on uvicorn.

`POST /brightpearl/{secret}` with the body `subscriptions.BODY_TEMPLATE` renders:

- the secret is compared in constant time (`hmac.compare_digest`); a wrong one answers 404, as
  for any unknown path, so the endpoint does not reveal itself. The path is never logged
  (uvicorn's access log is off; our own lines name the event and the counts only);
- each resource id of the event's ID set is written to the ledger (`webhook_events`, unique per
  event, id and raisedOn, so a redelivery adds nothing) BEFORE the 200: once Brightpearl has a
  200 the event is durable. If the ledger cannot be written the answer is 503, which Brightpearl
  retries under either quality of service (webhook POST doc: QoS 0 retries only a 503, QoS 1
  everything but a 4xx);
- a body that can never be stored (not JSON, no event, no ids) answers 400, which no QoS retries.

Nothing else happens here: no Brightpearl call, no sync. The webhook sensors read the queue.
`GET /healthz` answers 200 for the container's health check.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
import socket
import threading
from datetime import UTC, datetime

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from bp_nop_dagster.ledger import Ledger

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1_000_000
MAX_IDS = 10_000
_EVENT = re.compile(r"^[a-z][a-z-]*(\.[a-z][a-z-]*){0,2}$")
_ID_PART = re.compile(r"^(\d+)(?:-(\d+))?$")


class BadEvent(ValueError):
    """A body the receiver can never store (answered 400, never retried)."""


def parse_id_set(text: object) -> list[int]:
    """`"1-5,99,202"` (or a number) -> [1, 2, 3, 4, 5, 99, 202]; BadEvent if malformed or over MAX_IDS."""
    if isinstance(text, int) and not isinstance(text, bool):
        text = str(text)
    if not isinstance(text, str) or not text.strip():
        raise BadEvent("no resource id")
    ids: list[int] = []
    for part in text.replace(" ", "").split(","):
        match = _ID_PART.match(part)
        if not match:
            raise BadEvent("malformed resource id set")
        start, end = int(match[1]), int(match[2] or match[1])
        if end < start or len(ids) + end - start + 1 > MAX_IDS:
            raise BadEvent("resource id set too large or reversed")
        ids.extend(range(start, end + 1))
    return ids


def parse_event(body: bytes, received_at: datetime) -> tuple[str, list[int], str]:
    """(full event, resource ids, raisedOn) of a delivery; raisedOn falls back to the receive time."""
    try:
        data = json.loads(body)
    except ValueError:
        raise BadEvent("body is not JSON") from None
    if not isinstance(data, dict):
        raise BadEvent("body is not a JSON object")
    event = data.get("fullEvent")
    if not isinstance(event, str) or not _EVENT.match(event) or len(event) > 64:
        raise BadEvent("no valid fullEvent")
    raised_on = data.get("raisedOn")
    if not isinstance(raised_on, str) or not raised_on.strip():
        raised_on = received_at.isoformat()
    return event, parse_id_set(data.get("id")), raised_on.strip()


def build_receiver_app(ledger: Ledger, secret: str) -> Starlette:
    """The receiver for one Brightpearl account's events, writing to `ledger`."""
    expected = secret.encode()

    async def brightpearl(request: Request):
        if not hmac.compare_digest(request.path_params["secret"].encode(), expected):
            return PlainTextResponse("Not Found", status_code=404)
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return PlainTextResponse("body too large", status_code=413)
        try:
            event, ids, raised_on = parse_event(body, datetime.now(UTC))
        except BadEvent as error:
            log.warning("webhook refused (400): %s", error)
            return PlainTextResponse(str(error), status_code=400)
        try:
            added = await run_in_threadpool(ledger.record_webhook_events, event, ids, raised_on)
        except Exception as error:  # noqa: BLE001 - any storage failure: ask Brightpearl to retry
            log.error("webhook %s not stored (503, Brightpearl retries): %s", event, type(error).__name__)
            return PlainTextResponse("not stored, retry", status_code=503)
        log.info("webhook %s: %d ids, %d new", event, len(ids), added)
        return JSONResponse({"stored": len(ids), "new": added})

    async def healthz(_request: Request):
        return PlainTextResponse("ok")

    return Starlette(routes=[
        Route("/brightpearl/{secret}", brightpearl, methods=["POST", "PUT"]),
        Route("/healthz", healthz, methods=["GET"]),
    ])


def uvicorn_config(app: Starlette, *, host: str, port: int) -> uvicorn.Config:
    """No access log: the path holds the secret."""
    return uvicorn.Config(app, host=host, port=port, access_log=False, log_level="info", lifespan="off",
                          timeout_graceful_shutdown=2)


class RunningReceiver:
    """The receiver in a daemon thread on a port the OS chooses (tests, benchmarks)."""

    def __init__(self, ledger: Ledger, secret: str, host: str = "127.0.0.1") -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._socket.bind((host, 0))
        self._socket.listen(128)
        self._socket.setblocking(False)
        self.server = uvicorn.Server(uvicorn_config(build_receiver_app(ledger, secret), host=host, port=0))
        self._thread = threading.Thread(target=lambda: asyncio.run(self.server.serve(sockets=[self._socket])),
                                        name="bp-nop-webhooks", daemon=True)

    @property
    def public_url(self) -> str:
        host, port = self._socket.getsockname()[:2]
        return f"http://{host}:{port}"

    def start(self) -> RunningReceiver:
        self._thread.start()
        for _ in range(3000):
            if self.server.started:
                return self
            self._thread.join(0.01)
        raise RuntimeError("webhook receiver did not start")

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(8)
        self._socket.close()

    def __enter__(self) -> RunningReceiver:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
