"""What both simulators share: request counting per path template, and fault injection.

The control API (`/__sandbox__/...`) is never counted and never faulted. Faults are drawn
from a seeded random generator so that a test with the same rules and the same requests sees
the same faults.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import random
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Literal

from pydantic import BaseModel, Field, field_validator
from starlette.requests import ClientDisconnect
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTROL_PREFIX = "/__sandbox__"


class FaultRule(BaseModel):
    """One fault rule. `path` is an fnmatch glob on the API-relative path (e.g.
    `/order-service/sales-order*` for Brightpearl, `/Order/Search*` for nopCommerce)."""

    method: str = "*"
    path: str = "*"
    error_rate: float = Field(0.0, ge=0.0, le=1.0)
    error_status: int = Field(500, ge=400, le=599)
    latency_ms: int = Field(0, ge=0, le=120_000)
    drop_reply_rate: float = Field(0.0, ge=0.0, le=1.0)
    drop_reply_mode: Literal["502", "timeout"] = "502"
    drop_reply_hold_seconds: float = Field(10.0, ge=0.0, le=600.0)
    malformed_rate: float = Field(0.0, ge=0.0, le=1.0)
    max_hits: int | None = Field(None, ge=1, description="stop applying after this many faults")

    @field_validator("method")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    def matches(self, method: str, path: str) -> bool:
        return (self.method in ("*", method)) and fnmatch.fnmatchcase(path, self.path)


#: The fault storm of issue 12 on a server's writes, as `PUT /__sandbox__/faults` rules: 20 % of
#: POSTs answer 503, 10 % answer 500, 10 % are committed and their reply replaced by a 502. Used by
#: the fault-and-crash suite and `bench/recovery.py`.
WRITE_STORM: tuple[dict, ...] = (
    {"method": "POST", "path": "*", "error_rate": 0.2, "error_status": 503},
    {"method": "POST", "path": "*", "error_rate": 0.1, "error_status": 500},
    {"method": "POST", "path": "*", "drop_reply_rate": 0.1, "drop_reply_mode": "502"},
)


@dataclass
class FaultDecision:
    latency_s: float = 0.0
    error_status: int | None = None
    drop_reply: Literal["502", "timeout"] | None = None
    drop_hold_s: float = 0.0
    malformed: bool = False


#: What `FaultInjector.holding` counts: requests waiting out a rule's `latency_ms` (not yet handed to
#: the simulator, so nothing is written), and replies held back by `drop_reply_mode: timeout` (the
#: write is committed, the client still waits).
HOLDING_LATENCY, HOLDING_REPLY = "latency", "reply"


class FaultInjector:
    """Holds the active rules; `decide` rolls the dice for one request. `holding` is a test
    control (it changes nothing on the wire): how many requests a fault holds right now, so a
    test can act (e.g. kill -9 the client) while a write is known to be in flight."""

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._hits: list[int] = []
        self._random = random.Random(seed)
        self.injected: Counter[str] = Counter()
        self._holding: Counter[str] = Counter({HOLDING_LATENCY: 0, HOLDING_REPLY: 0})

    @contextmanager
    def holding_request(self, what: str) -> Iterator[None]:
        """Count one request as held (`HOLDING_LATENCY` or `HOLDING_REPLY`) while the block runs."""
        with self._lock:
            self._holding[what] += 1
        try:
            yield
        finally:
            with self._lock:
                self._holding[what] -= 1

    @property
    def holding(self) -> dict[str, int]:
        with self._lock:
            return dict(self._holding)

    def set_rules(self, rules: list[FaultRule], seed: int | None = None) -> None:
        with self._lock:
            self._rules = list(rules)
            self._hits = [0] * len(rules)
            if seed is not None:
                self._random = random.Random(seed)

    def clear(self) -> None:
        self.set_rules([])

    @property
    def rules(self) -> list[FaultRule]:
        return list(self._rules)

    def decide(self, method: str, path: str) -> FaultDecision:
        decision = FaultDecision()
        with self._lock:
            for index, rule in enumerate(self._rules):
                if not rule.matches(method, path):
                    continue
                if rule.max_hits is not None and self._hits[index] >= rule.max_hits:
                    continue
                decision.latency_s = max(decision.latency_s, rule.latency_ms / 1000.0)
                hit = False
                if decision.error_status is None and self._random.random() < rule.error_rate:
                    decision.error_status = rule.error_status
                    self.injected[f"error_{rule.error_status}"] += 1
                    hit = True
                elif decision.drop_reply is None and self._random.random() < rule.drop_reply_rate:
                    decision.drop_reply = rule.drop_reply_mode
                    decision.drop_hold_s = rule.drop_reply_hold_seconds
                    self.injected[f"drop_reply_{rule.drop_reply_mode}"] += 1
                    hit = True
                elif not decision.malformed and self._random.random() < rule.malformed_rate:
                    decision.malformed = True
                    self.injected["malformed"] += 1
                    hit = True
                if hit:
                    self._hits[index] += 1
        return decision


@dataclass
class RequestStats:
    """Requests seen per `METHOD /path/template`, and how many the throttle refused."""

    by_template: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)
    throttled: int = 0
    generation: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, key: str, status: int, generation: int | None = None) -> None:
        """Count one request, unless it began before the last reset (a late, held request)."""
        with self._lock:
            if generation is not None and generation != self.generation:
                return
            self.by_template[key] += 1
            self.by_status[status] += 1

    def record_throttled(self) -> None:
        with self._lock:
            self.throttled += 1

    def reset(self) -> None:
        with self._lock:
            self.generation += 1
            self.by_template.clear()
            self.by_status.clear()
            self.throttled = 0

    def snapshot(self) -> dict:
        with self._lock:
            return {
                "total": sum(self.by_template.values()),
                "throttled": self.throttled,
                "requests": dict(sorted(self.by_template.items())),
                "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
            }


ErrorRenderer = Callable[[int, str], tuple[bytes, list[tuple[bytes, bytes]]]]


class InstrumentationMiddleware:
    """Outermost ASGI layer of a simulator: counts each API request under its route template,
    and applies the fault rules (latency, error status, commit-then-drop-reply, malformed JSON).

    `api_prefix` is stripped from the path before matching rules and templates, so rules read
    like the API notes (`/order-service/sales-order`), whatever the account code.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        routes: list[Route],
        stats: RequestStats,
        faults: FaultInjector,
        render_error: ErrorRenderer,
        api_prefix: Callable[[str], str] = lambda path: "",
    ) -> None:
        self.app = app
        self.routes = routes
        self.stats = stats
        self.faults = faults
        self.render_error = render_error
        self.api_prefix = api_prefix

    def _template(self, scope: Scope) -> str:
        for route in self.routes:
            match, _ = route.matches(scope)
            if match == Match.FULL:
                return route.path
        return scope["path"]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        path = scope["path"]
        relative = path[len(self.api_prefix(path)) :] or "/"
        template = self._template(scope)
        relative_template = template[len(self.api_prefix(template)) :] if template != path else relative
        key = f"{method} {relative_template}"
        generation = self.stats.generation
        decision = self.faults.decide(method, relative)
        if decision.latency_s:
            with self.faults.holding_request(HOLDING_LATENCY):
                await asyncio.sleep(decision.latency_s)
            if generation != self.stats.generation:
                # The sandbox was reset while this request was held: it belongs to a world that is gone.
                await _send_simple(send, 502, b"", [])
                return
        if decision.error_status is not None:
            body, headers = self.render_error(decision.error_status, "Injected fault")
            await _send_simple(send, decision.error_status, body, headers)
            self.stats.record(key, decision.error_status, generation)
            return

        captured: list[Message] = []
        status_holder = {"status": 500}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
            captured.append(message)

        try:
            await self.app(scope, receive, capture)
        except ClientDisconnect:
            return  # the client gave up (e.g. its read timeout): nothing to answer
        self.stats.record(key, status_holder["status"], generation)

        if decision.drop_reply == "502":
            await _send_simple(send, 502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", [(b"content-type", b"text/html")])
            return
        if decision.drop_reply == "timeout":
            with self.faults.holding_request(HOLDING_REPLY):
                await asyncio.sleep(decision.drop_hold_s)
            await _send_simple(send, 504, b"<html><body><h1>504 Gateway Time-out</h1></body></html>", [(b"content-type", b"text/html")])
            return
        if decision.malformed:
            captured = _truncate_body(captured)
        for message in captured:
            await send(message)


def _truncate_body(messages: list[Message]) -> list[Message]:
    """Cut the JSON body in half (as a proxy that drops the connection mid-body would)."""
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    cut = body[: max(1, len(body) // 2)]
    start = next(m for m in messages if m["type"] == "http.response.start")
    headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
    headers.append((b"content-length", str(len(cut)).encode()))
    return [
        {**start, "headers": headers},
        {"type": "http.response.body", "body": cut, "more_body": False},
    ]


async def _send_simple(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def json_bytes(payload: object) -> bytes:
    """Compact JSON as both real APIs send it (UTF-8, no spaces)."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
