"""Sandbox profiles: `faithful` serves the simulators as they are; `drifted` serves them through a
thin ASGI wrapper that rewrites routes and JSON replies the way our old guesses about the real
APIs were wrong. It exists to prove that `bp-nop probe` notices such drift (each drift below must
show as `differs`), independently of the simulators' internals: nothing here imports them.

The drifts (the real API, per the contracts, in brackets):
- Brightpearl goods-out-note search names its id column `goodsNoteId` [`goodsOutNoteId`,
  api-docs.brightpearl.com/warehouse/goods-out-note/search.html];
- Brightpearl payment methods are `{id, name}` only [also `code`, `isActive`, `bankAccounts`,
  `installedIntegrationId`, api-docs.brightpearl.com/accounting/payment-method/get.html];
- nopCommerce CountryDto says `allow_billing` / `allow_shipping` [`allows_billing` /
  `allows_shipping`, plugin CountryDto.cs];
- nopCommerce ProductDto says `show_on_home_page` [`show_on_homepage`, plugin ProductDto.cs];
- nopCommerce `ReturnRequest/Search` is served as `ReturnRequest/List`, so the real route 404s
  [plugin ReturnRequestController.cs].
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTROL_PREFIX = "/__sandbox__"
Rewrite = Callable[[Any], Any]


@dataclass(frozen=True)
class Drift:
    """One wrong guess: a reply rewrite for the routes matching `route` (a glob on the path
    relative to the API root, case-insensitive), or a route served under another name."""

    system: str
    description: str
    route: str
    rewrite: Rewrite | None = None
    served_as: str | None = None


def rename_keys(renames: dict[str, str]) -> Rewrite:
    """Rename object keys wherever they occur."""

    def rewrite(value: Any) -> Any:
        if isinstance(value, dict):
            return {renames.get(k, k): rewrite(v) for k, v in value.items()}
        if isinstance(value, list):
            return [rewrite(v) for v in value]
        return value

    return rewrite


def rename_search_column(old: str, new: str) -> Rewrite:
    """Rename a Brightpearl search column in `response.metaData.columns`."""

    def rewrite(body: Any) -> Any:
        for column in body.get("response", {}).get("metaData", {}).get("columns", []):
            if column.get("name") == old:
                column["name"] = new
        return body

    return rewrite


def keep_item_keys(*keys: str) -> Rewrite:
    """Keep only `keys` in each item of a Brightpearl `{"response": [...]}` list."""

    def rewrite(body: Any) -> Any:
        items = body.get("response")
        if isinstance(items, list):
            body["response"] = [{k: v for k, v in item.items() if k in keys} if isinstance(item, dict) else item for item in items]
        return body

    return rewrite


DRIFTED: tuple[Drift, ...] = (
    Drift("brightpearl", "goods-out-note search id column goodsNoteId", "/warehouse-service/goods-note/goods-out-search",
          rewrite=rename_search_column("goodsOutNoteId", "goodsNoteId")),
    Drift("brightpearl", "payment methods with only id and name", "/accounting-service/payment-method*",
          rewrite=keep_item_keys("id", "name")),
    Drift("nopcommerce", "CountryDto allow_billing / allow_shipping", "/Country/*",
          rewrite=rename_keys({"allows_billing": "allow_billing", "allows_shipping": "allow_shipping"})),
    Drift("nopcommerce", "ProductDto show_on_home_page", "/Product/*", rewrite=rename_keys({"show_on_homepage": "show_on_home_page"})),
    Drift("nopcommerce", "ReturnRequest/Search served as ReturnRequest/List", "/ReturnRequest/Search", served_as="/ReturnRequest/List"),
)
DRIFTS: dict[str, tuple[Drift, ...]] = {"faithful": (), "drifted": DRIFTED}


def with_profile(app: ASGIApp, profile: str, system: str) -> ASGIApp:
    """`app` as served under `profile` (unchanged when the profile has no drift for `system`)."""
    drifts = tuple(d for d in DRIFTS[profile] if d.system == system)
    return ProfileMiddleware(app, system, drifts) if drifts else app


def _api_root(system: str, path: str) -> str | None:
    """`/public-api/{account}` or `/api-backend` when `path` is under it, else None."""
    if system == "brightpearl":
        parts = path.split("/", 3)
        return f"/{parts[1]}/{parts[2]}" if len(parts) >= 3 and parts[1] == "public-api" else None
    return "/api-backend" if path.lower().startswith("/api-backend/") else None


def _matches(pattern: str, relative: str) -> bool:
    return fnmatch.fnmatchcase(relative.lower(), pattern.lower())


class ProfileMiddleware:
    """Renames routes on the way in and rewrites 200 JSON replies on the way out."""

    def __init__(self, app: ASGIApp, system: str, drifts: tuple[Drift, ...]) -> None:
        self.app = app
        self.system = system
        self.renamed = [d for d in drifts if d.served_as]
        self.rewrites = [d for d in drifts if d.rewrite]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        root = _api_root(self.system, scope["path"]) if scope["type"] == "http" else None
        if root is None or CONTROL_PREFIX in scope["path"]:
            await self.app(scope, receive, send)
            return
        relative = scope["path"][len(root):]
        for drift in self.renamed:
            if _matches(drift.route, relative):  # the real name is not served any more
                relative = "/__drifted__" + relative
            elif _matches(drift.served_as, relative):
                relative = drift.route
        path = root + relative
        scope = {**scope, "path": path, "raw_path": path.encode()}
        rewrites = [d.rewrite for d in self.rewrites if _matches(d.route, relative)]
        if not rewrites:
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, _Rewriting(send, rewrites))


class _Rewriting:
    """Buffers a reply; a 200 JSON one goes out rewritten, with its content-length corrected."""

    def __init__(self, send: Send, rewrites: list[Rewrite]) -> None:
        self.send = send
        self.rewrites = rewrites
        self.start: Message | None = None
        self.body = b""

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.start = message
            return
        if message["type"] != "http.response.body" or self.start is None:
            await self.send(message)
            return
        self.body += message.get("body", b"")
        if message.get("more_body"):
            return
        body = self._rewritten()
        headers = [(k, v) for k, v in self.start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await self.send({**self.start, "headers": headers})
        await self.send({"type": "http.response.body", "body": body, "more_body": False})

    def _rewritten(self) -> bytes:
        headers = {k.lower(): v for k, v in self.start.get("headers", [])}
        if self.start.get("status") != 200 or b"json" not in headers.get(b"content-type", b""):
            return self.body
        try:
            value = json.loads(self.body)
        except ValueError:
            return self.body
        for rewrite in self.rewrites:
            value = rewrite(value)
        return json.dumps(value).encode()
