"""The alert sensors and the dead-letter growth check, run through Dagster against a local webhook:
a failed order-sync run (wrong Brightpearl token against the sandbox), a dead-letter queue that
grows, a sync asset that turns stale; nothing is sent when no webhook is configured."""

from __future__ import annotations

import time

import dagster as dg
import pytest
# Not exported at the top level in 1.13: the event the freshness daemon writes.
from dagster._core.definitions.freshness import FreshnessState, FreshnessStateChange

from bp_nop_dagster.brightpearl.resource import BrightpearlResource
from bp_nop_dagster.defs.alerts.checks import dead_letters_not_growing
from bp_nop_dagster.defs.alerts.resources import AlertWebhook
from bp_nop_dagster.defs.alerts.sensors import freshness_alerts, run_failure_alert
from bp_nop_dagster.defs.orders.assets import SALES_ORDERS, order_sync
from bp_nop_dagster.defs.orders.dead_letters import dead_letters
from bp_nop_dagster.defs.sync_settings import SyncSettings
from bp_nop_dagster.ledger.resource import LedgerResource
from bp_nop_dagster.freshness import FRESHNESS_WINDOWS
from bp_nop_dagster.nopcommerce.resource import NopCommerceResource

UI = "http://dagster.example:3000"


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


def _failed_order_sync(sandbox, tmp_path, instance) -> dg.ExecuteInProcessResult:
    creds = sandbox.world.credentials
    resources = {
        "brightpearl": BrightpearlResource(base_url=sandbox.urls.brightpearl_base_url, app_ref=creds.brightpearl_app_ref, account_token="wrong-token"),
        "nopcommerce": NopCommerceResource(base_url=sandbox.urls.nopcommerce_base_url, email=creds.nopcommerce_email, password=creds.nopcommerce_password),
        "ledger": LedgerResource(url=f"sqlite:///{tmp_path / 'ledger.sqlite'}"),
        "sync_settings": SyncSettings(),
    }
    result = dg.materialize([order_sync, dead_letters], resources=resources, instance=instance, raise_on_error=False)
    assert not result.success
    return result


def _failure_context(result, instance, alerts: AlertWebhook) -> dg.RunFailureSensorContext:
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE)
    return dg.build_run_status_sensor_context(
        sensor_name="run_failure_alert", dagster_event=failure, dagster_instance=instance,
        dagster_run=result.dagster_run, resources={"alerts": alerts},
    ).for_run_failure()


def test_a_failed_run_is_posted_with_its_job_assets_reason_and_link(sandbox, tmp_path, instance, webhook):
    result = _failed_order_sync(sandbox, tmp_path, instance)
    run_failure_alert(_failure_context(result, instance, AlertWebhook(webhook_url=webhook.url, ui_base_url=UI)))
    [text] = webhook.texts
    assert "brightpearl/sales_orders_from_nop" in text
    assert "step order_sync:" in text and "HTTP 401" in text
    assert f"{UI}/runs/{result.run_id}" in text
    assert "wrong-token" not in text


def test_a_failed_run_sends_nothing_without_a_webhook(sandbox, tmp_path, instance, webhook):
    result = _failed_order_sync(sandbox, tmp_path, instance)
    run_failure_alert(_failure_context(result, instance, AlertWebhook(ui_base_url=UI)))
    assert webhook.messages == []


def _refresh_dead_letters(instance, ledger_url: str, alerts: AlertWebhook) -> tuple[dg.AssetCheckEvaluation, str]:
    """Materialize the dead-letter table with its growth check: the check's evaluation and the run id."""
    result = dg.materialize(
        [dead_letters, dead_letters_not_growing],
        resources={"ledger": LedgerResource(url=ledger_url), "alerts": alerts},
        instance=instance,
    )
    [evaluation] = result.get_asset_check_evaluations()
    return evaluation, result.run_id


def test_dead_letter_growth_alerts_once_per_growth(tmp_path, instance, webhook):
    ledger_url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    alerts = AlertWebhook(webhook_url=webhook.url, ui_base_url=UI)
    assert _refresh_dead_letters(instance, ledger_url, alerts)[0].passed
    assert webhook.messages == []

    book = LedgerResource(url=ledger_url).get_ledger()
    book.dead_letter("order", "101", reason="invalid_address", error_code="CMNC-042", message="postcode missing", payload={})
    book.dead_letter("order", "102", reason="validation_error", error_code="ORDC-007", message="bad status", payload={})
    grown, run_id = _refresh_dead_letters(instance, ledger_url, alerts)
    assert not grown.passed and grown.severity == dg.AssetCheckSeverity.WARN
    [text] = webhook.texts
    assert "order_flow/dead_letters grew from 0 to 2" in text
    assert "1 invalid_address, 1 validation_error" in text
    assert f"{UI}/runs/{run_id}" in text

    assert _refresh_dead_letters(instance, ledger_url, alerts)[0].passed
    assert len(webhook.messages) == 1


def test_dead_letter_growth_sends_nothing_without_a_webhook(tmp_path, instance, webhook):
    ledger_url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    LedgerResource(url=ledger_url).get_ledger().dead_letter("order", "7", reason="other", error_code=None, message="x", payload={})
    evaluation, _ = _refresh_dead_letters(instance, ledger_url, AlertWebhook())
    assert not evaluation.passed
    assert webhook.messages == []


def _freshness(instance, key: dg.AssetKey, new: str, previous: str) -> None:
    """A freshness state change as the daemon's freshness evaluation records it."""
    instance.report_runless_asset_event(
        FreshnessStateChange(key=key, new_state=FreshnessState(new), previous_state=FreshnessState(previous), state_change_timestamp=time.time())
    )


def _tick(instance, alerts: AlertWebhook, cursor: str | None) -> str | None:
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources={"alerts": alerts}) as context:
        freshness_alerts(context)
        return context.cursor


def test_a_stale_sync_asset_alerts_once_per_lapse(instance, webhook):
    alerts = AlertWebhook(webhook_url=webhook.url, ui_base_url=UI)
    assert SALES_ORDERS in FRESHNESS_WINDOWS
    cursor = _tick(instance, alerts, None)
    assert webhook.messages == []

    _freshness(instance, SALES_ORDERS, "FAIL", "PASS")
    cursor = _tick(instance, alerts, cursor)
    [text] = webhook.texts
    assert "brightpearl/sales_orders_from_nop is stale: not materialized within 10 minutes (never materialized)" in text
    assert f"{UI}/assets/brightpearl/sales_orders_from_nop" in text

    cursor = _tick(instance, alerts, cursor)
    assert len(webhook.messages) == 1

    _freshness(instance, SALES_ORDERS, "PASS", "FAIL")
    cursor = _tick(instance, alerts, cursor)
    _freshness(instance, SALES_ORDERS, "FAIL", "PASS")
    _tick(instance, alerts, cursor)
    assert len(webhook.messages) == 2


def test_a_stale_sync_asset_sends_nothing_without_a_webhook(instance, webhook):
    _freshness(instance, SALES_ORDERS, "FAIL", "PASS")
    _tick(instance, AlertWebhook(), None)
    assert webhook.messages == []
