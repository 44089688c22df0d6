"""Posting alerts: Slack-compatible JSON to the webhook, secrets masked, nothing without a URL."""

from __future__ import annotations

import pytest

from bp_nop_dagster.alerts import WebhookError, post_alert, run_failure_message, secret_values


def test_nothing_is_sent_without_a_webhook_url(webhook):
    assert post_alert(None, "hello") is False
    assert post_alert("", "hello") is False
    assert webhook.messages == []


def test_the_alert_arrives_as_slack_json(webhook):
    assert post_alert(webhook.url, "sync stalled") is True
    assert webhook.messages == [{"text": "sync stalled"}]


def test_secret_settings_are_masked_wherever_they_appear(monkeypatch, webhook):
    monkeypatch.setenv("NOPCOMMERCE_PASSWORD", "hunter2-nop")
    monkeypatch.setenv("BRIGHTPEARL_ACCOUNT_TOKEN", "bp-token-123")
    monkeypatch.setenv("BP_NOP_LEDGER_URL", "postgresql+psycopg2://ledger:ledger-pw-9@db:5432/bp_nop_ledger")
    text = run_failure_message(
        job_name="order_sync_job", run_id="abc", assets=["brightpearl/sales_orders_from_nop"], ui_base_url="http://ui.test",
        reason=f"login hunter2-nop refused; token bp-token-123; could not connect as ledger:ledger-pw-9@db; hook {webhook.url}",
    )
    post_alert(webhook.url, text, secrets=secret_values())
    sent = webhook.texts[0]
    for secret in ("hunter2-nop", "bp-token-123", "ledger-pw-9", "secret-hook-path"):
        assert secret not in sent
    assert sent.count("***") == 4
    assert "order_sync_job failed (not materialized: brightpearl/sales_orders_from_nop)" in sent
    assert "http://ui.test/runs/abc" in sent


def test_a_refusing_webhook_raises_without_showing_its_url(webhook):
    webhook.status = 500
    with pytest.raises(WebhookError) as raised:
        post_alert(webhook.url, "x")
    assert "HTTP 500" in str(raised.value)
    assert "secret-hook-path" not in str(raised.value)

