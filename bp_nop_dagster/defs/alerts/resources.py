"""`alerts`: where alert messages go (a Slack-compatible incoming webhook) and the UI base URL
their links point at. Without `BP_NOP_ALERT_WEBHOOK_URL` nothing is sent."""

import os

import dagster as dg
from pydantic import Field

from bp_nop_dagster import settings
from bp_nop_dagster.alerts import post_alert, secret_values
from bp_nop_dagster.defs.pairing import PAIR

DEFAULT_UI_BASE_URL = "http://localhost:3000"


class AlertWebhook(dg.ConfigurableResource):
    """Posts `{"text": ...}` to the webhook, secrets masked; a missing URL means alerts are off."""

    webhook_url: str | None = Field(
        default=None,
        repr=False,
        json_schema_extra={"dagster__is_secret": True},
        description=f"Incoming-webhook URL (Slack or compatible); ${settings.BP_NOP_ALERT_WEBHOOK_URL}. Unset: no alerts.",
    )
    ui_base_url: str = Field(
        default=DEFAULT_UI_BASE_URL,
        description=f"Dagster UI address used in links to runs and assets; ${settings.BP_NOP_DAGSTER_UI_URL}.",
    )

    @property
    def enabled(self) -> bool:
        return bool(self.webhook_url)

    def send(self, text: str) -> bool:
        """Post `text`, naming the pair when there are many; False when no webhook is configured
        (nothing sent)."""
        return post_alert(self.webhook_url, PAIR.label(text), secrets=secret_values())


def alert_webhook_from_env() -> AlertWebhook:
    """The resource reading the webhook URL and UI base URL from the environment when a run or a
    sensor tick starts. Variables unset when the code location loads fall back to alerts off and
    http://localhost:3000 (restart the code server after setting them)."""
    webhook = settings.BP_NOP_ALERT_WEBHOOK_URL
    ui = settings.BP_NOP_DAGSTER_UI_URL
    return AlertWebhook(
        webhook_url=dg.EnvVar(webhook) if os.environ.get(webhook) else None,
        ui_base_url=dg.EnvVar(ui) if os.environ.get(ui) else DEFAULT_UI_BASE_URL,
    )


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources={"alerts": alert_webhook_from_env()})
