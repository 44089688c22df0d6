"""Alert messages and their delivery to a Slack-compatible incoming webhook (no Dagster here).

The body is `{"text": ...}`, which Slack, Mattermost, Rocket.Chat and most chat bridges accept.
Every message passes through `redact` first: the value of any secret setting (tokens, passwords,
the ledger URL's password, the webhook URL itself) is replaced by `***` wherever it appears.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from urllib.parse import quote, urlsplit

import requests

from bp_nop_dagster import settings
from bp_nop_dagster.transport.transport import is_redirect, redirect_error

log = logging.getLogger("bp_nop_dagster.alerts")

MAX_REASON_CHARS = 600
# Shorter values are not masked: replacing every "p" would garble the text and hide nothing.
MIN_SECRET_CHARS = 4
TIMEOUT = (5.0, 10.0)


def secret_values(environ: Mapping[str, str] = os.environ) -> list[str]:
    """The values to mask: every secret setting, and the password inside any URL among them."""
    values = []
    for name in settings.SECRET_VARIABLES:
        value = environ.get(name, "")
        if value:
            values.append(value)
            password = urlsplit(value).password if "://" in value else None
            if password:
                values.append(password)
    return sorted(set(values), key=len, reverse=True)


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret value (of at least MIN_SECRET_CHARS) replaced by `***`."""
    for secret in secrets:
        if len(secret) >= MIN_SECRET_CHARS:
            text = text.replace(secret, "***")
    return text


def shorten(text: str, limit: int = MAX_REASON_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def run_url(ui_base_url: str, run_id: str) -> str:
    return f"{ui_base_url.rstrip('/')}/runs/{run_id}"


def asset_url(ui_base_url: str, asset_path: str) -> str:
    return f"{ui_base_url.rstrip('/')}/assets/{quote(asset_path)}"


def run_failure_message(*, job_name: str, run_id: str, reason: str, assets: Iterable[str], ui_base_url: str) -> str:
    """A failed run: the job, the assets it did not materialize, why, and where to look."""
    names = ", ".join(sorted(assets))
    not_done = f" (not materialized: {names})" if names else ""
    return f":rotating_light: bp-nop: run of job {job_name} failed{not_done}: {shorten(reason)}\nRun: {run_url(ui_base_url, run_id)}"


def dead_letter_growth_message(
    *, asset: str, previous: int, current: int, new_by_reason: Mapping[str, int], run_id: str, ui_base_url: str
) -> str:
    """More records in the dead-letter queue than at its last refresh."""
    reasons = ", ".join(f"{count} {reason}" for reason, count in sorted(new_by_reason.items()) if count > 0)
    return (
        f":warning: bp-nop: {asset} grew from {previous} to {current} dead letters"
        + (f" (new: {reasons})" if reasons else "")
        + ". They will not be retried by themselves: fix the cause, then run replay_dead_letters."
        + f"\nRun: {run_url(ui_base_url, run_id)}\nTable: {asset_url(ui_base_url, asset)}"
    )


def stale_asset_message(*, asset: str, window: str, last_update: str | None, ui_base_url: str) -> str:
    """A sync asset missed its freshness window: the flow has stalled."""
    since = f"last materialized {last_update}" if last_update else "never materialized"
    return (
        f":hourglass: bp-nop: {asset} is stale: not materialized within {window} ({since}). "
        "Check the daemon, the sensors and the latest runs."
        f"\nAsset: {asset_url(ui_base_url, asset)}"
    )


class WebhookError(RuntimeError):
    """The webhook did not accept the alert (the message says why, never the URL)."""


def post_alert(webhook_url: str | None, text: str, *, secrets: Iterable[str] = ()) -> bool:
    """Send `text` (redacted) to the webhook. No URL: nothing is sent and False is returned.
    A refused or unreachable webhook raises WebhookError naming only the host; a redirect is a
    ConfigurationError (never followed)."""
    if not webhook_url:
        return False
    secrets = [*secrets, webhook_url]
    body = {"text": redact(text, secrets)}
    host = urlsplit(webhook_url).hostname or "the webhook"
    try:
        # Never followed: the webhook URL is a secret, and a redirect would re-post the message elsewhere.
        response = requests.post(webhook_url, json=body, timeout=TIMEOUT, allow_redirects=False)
    except requests.RequestException as error:
        raise WebhookError(f"alert webhook at {host} unreachable: {type(error).__name__}") from None
    if is_redirect(response):
        raise redirect_error("alert webhook", response, "POST")
    if response.status_code >= 300:
        raise WebhookError(f"alert webhook at {host} answered HTTP {response.status_code}")
    log.info("alert sent to %s", host)
    return True
