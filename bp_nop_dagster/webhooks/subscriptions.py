"""The webhook subscriptions the integration needs, and the plan that repairs an account's.

Sources: api-docs.brightpearl.com/integration/webhook/post.html (fields; `idSetAccepted` and
`qualityOfService` 1 are the recommended settings; QoS 1 = at-least-once, retried except on 4xx),
help.brightpearl.com 212644883 "Subscribable resource events" (the event names), the recorded
body template (contracts/brightpearl/recordings/webhook__post__create.json).

A subscription is ours when its `uriTemplate` is under our receiver's public URL
(`<public url>/brightpearl/...`); `sync` creates the missing ones and deletes ours that differ
(another secret, event, or settings), never anyone else's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

ON_HAND_MODIFIED = "product.modified.on-hand-modified"
GOODS_OUT_SHIPPED = "goods-out-note.modified.shipped"
ORDER_STATUS_MODIFIED = "order.modified.order-status"
SALES_ORDER_CREATED = "sales-order.created"
#: The events the integration subscribes to.
EVENTS = (ON_HAND_MODIFIED, GOODS_OUT_SHIPPED, ORDER_STATUS_MODIFIED, SALES_ORDER_CREATED)

#: The recorded body template: every variable, `id` an ID set (idSetAccepted).
BODY_TEMPLATE = (
    '{"accountCode": "${account-code}", "resourceType": "${resource-type}", "id": "${resource-id}", '
    '"lifecycleEvent": "${lifecycle-event}", "fullEvent": "${full-event}", "raisedOn": "${raised-on}", '
    '"brightpearlVersion": "${brightpearl-version}"}'
)
CALLBACK_PREFIX = "/brightpearl/"
_SECRET = re.compile(r"^[A-Za-z0-9_-]{24,128}$")


def check_secret(secret: str | None) -> str:
    """The secret, if it is 24 to 128 URL-safe characters (`secrets.token_urlsafe(32)` gives 43)."""
    if secret and "change-me" in secret:
        raise ValueError("the webhook secret is still the .env.example placeholder")
    if not secret or not _SECRET.match(secret):
        raise ValueError("the webhook secret must be 24 to 128 characters of A-Z a-z 0-9 _ - (e.g. python -c "
                         "'import secrets; print(secrets.token_urlsafe(32))')")
    return secret


def callback_url(public_url: str, secret: str) -> str:
    """Where Brightpearl calls back: `<public url>/brightpearl/<secret>`."""
    return public_url.rstrip("/") + CALLBACK_PREFIX + check_secret(secret)


def desired(public_url: str, secret: str) -> list[dict[str, Any]]:
    """The webhook POST bodies the integration needs, one per event."""
    url = callback_url(public_url, secret)
    return [
        {"subscribeTo": event, "httpMethod": "POST", "uriTemplate": url, "bodyTemplate": BODY_TEMPLATE,
         "contentType": "application/json", "idSetAccepted": True, "qualityOfService": 1}
        for event in EVENTS
    ]


def is_ours(webhook: Mapping[str, Any], public_url: str) -> bool:
    return str(webhook.get("uriTemplate", "")).startswith(public_url.rstrip("/") + CALLBACK_PREFIX)


def masked(uri: str) -> str:
    """A callback URL with its secret replaced by `***` (for output and logs)."""
    head, sep, _ = uri.partition(CALLBACK_PREFIX)
    return head + sep + "***" if sep else uri


_COMPARED = ("subscribeTo", "httpMethod", "uriTemplate", "bodyTemplate", "contentType", "idSetAccepted", "qualityOfService")


@dataclass
class Plan:
    """What `bp-nop webhooks sync` does: create `missing`, delete `stale` (ids); `kept` are fine."""

    missing: list[dict[str, Any]] = field(default_factory=list)
    stale: list[dict[str, Any]] = field(default_factory=list)
    kept: list[dict[str, Any]] = field(default_factory=list)


def plan(existing: Iterable[Mapping[str, Any]], public_url: str, secret: str) -> Plan:
    """Compare the account's subscriptions with the desired ones. Ours that match are kept (one
    per event; a duplicate is stale), ours that do not are stale, desired ones not kept are missing."""
    result = Plan()
    wanted = {body["subscribeTo"]: body for body in desired(public_url, secret)}
    matched: set[str] = set()
    for webhook in existing:
        if not is_ours(webhook, public_url):
            continue
        event = webhook.get("subscribeTo")
        body = wanted.get(event)
        same = body is not None and all(webhook.get(key) == body[key] for key in _COMPARED)
        if same and event not in matched:
            matched.add(event)
            result.kept.append(dict(webhook))
        else:
            result.stale.append(dict(webhook))
    result.missing = [body for event, body in wanted.items() if event not in matched]
    return result


def describe(webhook: Mapping[str, Any]) -> str:
    """One line per subscription of ours, its secret masked."""
    return (f"{webhook.get('id', '-'):>6}  {webhook.get('subscribeTo')}  {webhook.get('httpMethod')} "
            f"{masked(str(webhook.get('uriTemplate', '')))}  idSetAccepted={webhook.get('idSetAccepted')} "
            f"QoS={webhook.get('qualityOfService')}")


def describe_other(webhook: Mapping[str, Any]) -> str:
    """Another integration's subscription: its event and host only (its URL may hold its own secret)."""
    host = urlsplit(str(webhook.get("uriTemplate", ""))).netloc or "?"
    return f"{webhook.get('id', '-'):>6}  {webhook.get('subscribeTo')}  -> {host} (another integration's)"
