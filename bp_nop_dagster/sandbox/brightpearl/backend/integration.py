"""integration-service and the OAuth installation: webhook subscriptions and access tokens.

Webhooks (api-docs.brightpearl.com/integration/webhook/{post,get}.html; recordings
webhook__*.json): POST `{subscribeTo, httpMethod, uriTemplate, bodyTemplate, contentType,
idSetAccepted, qualityOfService}` -> `{"response": id}`; an event that cannot be subscribed to
answers 400 INTC-064 "<event> either does not exist or cannot be subscribed too" (recorded);
GET without an ID set lists every subscription, with one answers those (404 CMNC-404 "No webhooks
available in ID Set <ids>" when none, recorded); DELETE `/webhook/{id}` -> `{}` (404 "Cannot find
webhook: <id>", recorded).

Delivery (`raise_event`, `take_deliveries`; the HTTP sending is `sandbox/brightpearl/webhooks.py`):
the services raise resource events (`product.modified.on-hand-modified` on a goods movement or an
allocation, `goods-out-note.modified.<flag>` on a note event, `order.modified.order-status` on a
status change, `sales-order.created` on the sales-order POST only, as help 212644883 says). A
subscription to the event, or to its bare resource (help 212644863), gets it: with
`idSetAccepted` one request whose `${resource-id}` is the ID set of the ids raised together
(within one pick-up of the deliverer, inferred), else one request per id (the webhook-simulate
doc). The templates' variables are filled as the webhook-simulate doc lists them. Which failures
are retried is documented (QoS 0: only a 503; QoS 1: all but a 4xx); the schedule, the timeout and
the chance that an event is never sent are `FidelityOptions` (inferred).

OAuth (docs/reference/brightpearl-api.md section 1; recordings auth_*.json): tokens are opaque
strings; a refresh token rotates; the refresh reply lacks `installation_instance_id`.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

from bp_nop_dagster.sandbox.brightpearl.backend.common import Service, as_int, as_object, as_text, bad, idset_ids, not_found
from bp_nop_dagster.sandbox.brightpearl.backend.reference import WEBHOOK_EVENTS

HTTP_METHODS = ("GET", "POST", "PUT", "DELETE")
WEBHOOK_FIELDS = ("id", "subscribeTo", "httpMethod", "uriTemplate", "bodyTemplate", "contentType", "idSetAccepted",
                  "qualityOfService")


class IntegrationService(Service):
    """Webhook subscriptions and OAuth tokens of the account."""

    def __init__(self, account) -> None:
        super().__init__(account)
        self.webhooks: dict[int, dict] = {}
        # OAuth: access token -> {"expired": bool}; refresh tokens; authorization codes
        self.access_tokens: dict[str, dict] = {account.credentials.brightpearl_oauth_access_token: {"expired": False}}
        self.refresh_tokens: set[str] = {"sandbox-oauth-refresh-token"}
        self.auth_codes: set[str] = {"sandbox-auth-code"}
        # Webhook delivery: events raised and not yet picked up (event -> (raised on, ids)), and
        # the log of every delivery (control API, tests, benchmarks).
        self._raised: dict[str, tuple[Any, list[int]]] = {}
        self._raised_lock = threading.Lock()
        self._drop = random.Random(17)
        self.deliveries: list[dict] = []

    # ------------------------------------------------------------ webhooks

    def api_create_webhook(self, body: Any) -> dict:
        """`POST /integration-service/webhook` -> `{"response": id}` (field rules from the POST doc;
        codes other than the recorded INTC-064 are inferred)."""
        body = as_object(body, "body")
        event = as_text(body.get("subscribeTo"), "subscribeTo", 255, "INTC-064")
        if not event or event not in WEBHOOK_EVENTS:
            raise bad("INTC-064", f"{event} either does not exist or cannot be subscribed too")
        method = body.get("httpMethod")
        if method not in HTTP_METHODS:
            raise bad("INTC-060", f"httpMethod must be one of {', '.join(HTTP_METHODS)}")
        uri = as_text(body.get("uriTemplate"), "uriTemplate", 2048, "INTC-061")
        if not uri:
            raise bad("INTC-061", "You must supply a uriTemplate")
        webhook: dict[str, Any] = {"subscribeTo": event, "httpMethod": method, "uriTemplate": uri}
        if method in ("POST", "PUT"):
            body_template = as_text(body.get("bodyTemplate"), "bodyTemplate", 8192, "INTC-062")
            content_type = as_text(body.get("contentType"), "contentType", 255, "INTC-062")
            if not body_template or not content_type:
                raise bad("INTC-062", f"bodyTemplate and contentType are required when httpMethod is {method}")
            webhook["bodyTemplate"], webhook["contentType"] = body_template, content_type
        id_sets = body.get("idSetAccepted", False)
        if not isinstance(id_sets, bool):
            raise bad("INTC-063", "idSetAccepted must be a boolean")
        quality = as_int(body.get("qualityOfService", 0), "qualityOfService", "INTC-063")
        if quality not in (0, 1):
            raise bad("INTC-063", "qualityOfService must be 0 (at most once) or 1 (at least once)")
        webhook_id = self.next_id("webhook")
        self.webhooks[webhook_id] = {"id": webhook_id, **webhook, "idSetAccepted": id_sets, "qualityOfService": quality}
        return {"response": webhook_id}

    def api_get_webhooks(self, idset: str | None) -> dict:
        if idset is None:
            return {"response": [self._webhook_view(w) for w in self.webhooks.values()]}
        found = [self._webhook_view(self.webhooks[i]) for i in idset_ids(idset, 200) if i in self.webhooks]
        if not found:
            raise not_found(f"No webhooks available in ID Set {idset}")
        return {"response": found}

    def api_delete_webhook(self, webhook_id: str) -> dict:
        wid = as_int(webhook_id, "webhookId", "CMNC-011")
        if self.webhooks.pop(wid, None) is None:
            raise not_found(f"Cannot find webhook: {wid}")
        return {}

    @staticmethod
    def _webhook_view(webhook: dict) -> dict:
        return {key: webhook[key] for key in WEBHOOK_FIELDS if key in webhook}

    def raise_event(self, event: str, resource_ids: Iterable[int]) -> None:
        """A resource event happened (the services call this); cheap when nothing subscribes."""
        if not self.webhooks:
            return
        ids = [int(i) for i in resource_ids]
        with self._raised_lock:
            _, pending = self._raised.setdefault(event, (self.now(), []))
            pending.extend(i for i in ids if i not in pending)

    def take_deliveries(self) -> list[dict]:
        """The events raised since the last call as deliveries (one per request to send), each
        also appended to `deliveries`; those dropped (`webhook_drop_chance`) are logged only."""
        with self._raised_lock:
            raised, self._raised = self._raised, {}
        out: list[dict] = []
        for event, (raised_on, ids) in raised.items():
            for webhook in list(self.webhooks.values()):
                if webhook["subscribeTo"] not in (event, event.split(".", 1)[0]):
                    continue
                for batch in ([sorted(ids)] if webhook["idSetAccepted"] else [[i] for i in ids]):
                    delivery = self._delivery(webhook, event, batch, raised_on)
                    self.deliveries.append(delivery)
                    if self._drop.random() < self.options.webhook_drop_chance:
                        delivery["outcome"] = "dropped"
                    else:
                        out.append(delivery)
        return out

    def _delivery(self, webhook: dict, event: str, ids: list[int], raised_on) -> dict:
        parts = event.split(".")
        values = {
            "${account-code}": self.account.credentials.brightpearl_account_code, "${resource-type}": parts[0],
            "${resource-id}": id_set(ids), "${lifecycle-event}": parts[1] if len(parts) > 1 else "",
            "${resource-specifier}": parts[2] if len(parts) > 2 else "", "${full-event}": event,
            "${raised-on}": raised_on_text(raised_on), "${brightpearl-version}": "sandbox",
        }

        def render(template: str) -> str:
            for name, value in values.items():
                template = template.replace(name, str(value))
            return template

        return {"webhook_id": webhook["id"], "event": event, "ids": ids, "raised_on": raised_on_text(raised_on),
                "method": webhook["httpMethod"], "url": render(webhook["uriTemplate"]),
                "body": render(webhook["bodyTemplate"]) if "bodyTemplate" in webhook else None,
                "content_type": webhook.get("contentType"), "quality_of_service": webhook["qualityOfService"],
                "attempts": [], "outcome": "pending"}

    # ------------------------------------------------------------ OAuth

    def issue_tokens(self) -> dict:
        number = self.next_id("token")
        access = f"sandbox-access-{number:06d}"
        refresh = f"sandbox-refresh-{number:06d}"
        self.access_tokens[access] = {"expired": False}
        self.refresh_tokens.add(refresh)
        return {"access_token": access, "refresh_token": refresh, "installation_instance_id": "1",
                "api_domain": "sandbox", "token_type": "Bearer", "expires_in": 604800}

    def expire_tokens(self, token: str | None = None) -> list[str]:
        targets = [token] if token else [t for t, s in self.access_tokens.items() if not s["expired"]]
        for t in targets:
            if t in self.access_tokens:
                self.access_tokens[t]["expired"] = True
        return [t for t in targets if t in self.access_tokens]

    def oauth_token(self, form: Mapping[str, str]) -> tuple[int, dict]:
        """`POST /oauth/token/{account}` (form fields). Returns (status, body) as recorded."""
        if form.get("client_id") != self.account.credentials.brightpearl_app_ref:
            return 400, {"error": "invalid_client"}
        grant = form.get("grant_type")
        if grant == "authorization_code":
            code = form.get("code", "")
            if code not in self.auth_codes:
                return 400, {"error_description": "The auth token has either expired or does not exist", "error": "invalid_grant"}
            if not form.get("redirect_uri"):
                return 400, {"error_description": "Redirect uri does not match that used to request auth token", "error": "invalid_grant"}
            self.auth_codes.discard(code)
            return 200, self.issue_tokens()
        if grant == "refresh_token":
            refresh = form.get("refresh_token", "")
            if refresh not in self.refresh_tokens:
                return 400, {"error_description": "The auth token has either expired or does not exist", "error": "invalid_grant"}
            self.refresh_tokens.discard(refresh)  # refresh tokens rotate
            tokens = self.issue_tokens()
            tokens.pop("installation_instance_id")  # the recorded refresh reply lacks it
            return 200, tokens
        return 400, {"error": "unsupported_grant_type"}


def raised_on_text(at: datetime) -> str:
    """`2022-09-19T10:20:41.691Z`, as in a delivered body an integrator quotes (NOTES §10)."""
    at = at.astimezone(timezone.utc)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def id_set(ids: Iterable[int]) -> str:
    """`[1, 2, 3, 5]` -> `"1-3,5"` (the ID set syntax, help 211125046)."""
    values = sorted(set(ids))
    parts: list[str] = []
    start = 0
    while start < len(values):
        end = start
        while end + 1 < len(values) and values[end + 1] == values[end] + 1:
            end += 1
        parts.append(f"{values[start]}-{values[end]}" if end > start else str(values[start]))
        start = end + 1
    return ",".join(parts)
