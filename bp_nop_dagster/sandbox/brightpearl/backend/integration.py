"""integration-service and the OAuth installation: webhook subscriptions and access tokens.

Webhooks (api-docs.brightpearl.com/integration/webhook/{post,get}.html; recordings
webhook__*.json): POST `{subscribeTo, httpMethod, uriTemplate, bodyTemplate, contentType,
idSetAccepted, qualityOfService}` -> `{"response": id}`; an event that cannot be subscribed to
answers 400 INTC-064 "<event> either does not exist or cannot be subscribed too" (recorded);
GET without an ID set lists every subscription, with one answers those (404 CMNC-404 "No webhooks
available in ID Set <ids>" when none, recorded); DELETE `/webhook/{id}` -> `{}` (404 "Cannot find
webhook: <id>", recorded). Subscriptions are stored; their delivery comes later.

OAuth (docs/reference/brightpearl-api.md section 1; recordings auth_*.json): tokens are opaque
strings; a refresh token rotates; the refresh reply lacks `installation_instance_id`.
"""

from __future__ import annotations

from collections.abc import Mapping
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
