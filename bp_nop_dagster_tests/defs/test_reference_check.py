"""The mapping check against the account's reference data, kept in the ledger across runs
(sync/reference_check.py, SyncSettings.reference_check_ttl_seconds), and the order sync's run
priority (defs/pairing.py).

Rules: a run is one `SyncSettings` instance (Dagster builds one per run); the order flow's check
reads one list per reference set (`FLOW_CHECKS`); within the TTL a later run of the same flow and
mapping reads none; after it, or after a Brightpearl refusal naming reference data, it reads them
all again; a refusal naming other data keeps the check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import yaml

from bp_nop_dagster.brightpearl.client import BrightpearlClient
from bp_nop_dagster.definitions import defs
from bp_nop_dagster.defs.sync_settings import FLOW_CHECKS, SyncSettings
from bp_nop_dagster.ledger import Ledger, RecordKind
from bp_nop_dagster.mapping.config import DEFAULT_MAPPING_FILE, load_mapping_config
from bp_nop_dagster.sync import reference_check
from bp_nop_dagster.sync.fate import BRIGHTPEARL, Fates
from bp_nop_dagster.transport.errors import ValidationError

ORDER_REFERENCE_READS = len(FLOW_CHECKS["orders"][0])  # 6: statuses, channels, warehouses, price lists, tax codes, shipping methods


def client(sandbox) -> BrightpearlClient:
    creds = sandbox.world.credentials
    return BrightpearlClient(sandbox.urls.brightpearl_base_url, app_ref=creds.brightpearl_app_ref,
                             account_token=creds.brightpearl_account_token)


@pytest.fixture
def ledger(tmp_path):
    with Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}") as book:
        yield book


def reference_reads(sandbox, ledger, settings: SyncSettings | None = None, flow: str = "orders") -> int:
    """The Brightpearl calls one run's mapping check makes (a fresh client: no per-run cache)."""
    bp = client(sandbox)
    (settings or SyncSettings()).mapping(bp, flow=flow, ledger=ledger)
    return bp.call_count


def test_a_passed_check_stands_for_later_runs_within_the_ttl(sandbox, ledger):
    assert ORDER_REFERENCE_READS == 6
    assert reference_reads(sandbox, ledger) == ORDER_REFERENCE_READS
    assert reference_reads(sandbox, ledger) == 0
    assert reference_reads(sandbox, ledger, flow="fulfilment") == 1  # its own check: the order statuses
    assert reference_reads(sandbox, ledger, flow="fulfilment") == 0


def test_the_kept_check_expires_after_the_ttl(sandbox, ledger):
    settings = SyncSettings(reference_check_ttl_seconds=600)
    digest = reference_check.mapping_digest(load_mapping_config(), FLOW_CHECKS["orders"][0])
    reference_check.remember(ledger, "orders", digest, datetime.now(UTC) - timedelta(seconds=601))  # checked 10 min 1 s ago
    assert reference_reads(sandbox, ledger, settings) == ORDER_REFERENCE_READS
    reference_check.remember(ledger, "orders", digest, datetime.now(UTC) - timedelta(seconds=590))
    assert reference_reads(sandbox, ledger, settings) == 0
    assert reference_reads(sandbox, ledger, SyncSettings(reference_check_ttl_seconds=0)) == ORDER_REFERENCE_READS


def test_another_mapping_is_checked_again(sandbox, ledger, tmp_path):
    assert reference_reads(sandbox, ledger) == ORDER_REFERENCE_READS
    data = yaml.safe_load(DEFAULT_MAPPING_FILE.read_text(encoding="utf-8"))
    data["stock"]["buffer"] = data["stock"].get("buffer", 0) + 1
    path = tmp_path / "mapping.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert reference_reads(sandbox, ledger, SyncSettings(mapping_file=str(path))) == ORDER_REFERENCE_READS


@pytest.mark.parametrize(
    ("refusal", "forgets"),
    [
        (ValidationError(BRIGHTPEARL, "ORDC-020", "Warehouse 7 does not exist", status=400), True),
        (ValidationError(BRIGHTPEARL, "ORDC-021", "Channel 4 does not exist", status=400), True),
        (ValidationError(BRIGHTPEARL, "ORDC-012", "Order status 9 does not exist for order type SO", status=400), True),
        (ValidationError(BRIGHTPEARL, "ORDC-011", "Customer 5 does not exist", status=400), False),
        (ValidationError("nopCommerce", "", "The shipping method is required", status=400), False),
    ],
)
def test_a_refusal_naming_reference_data_makes_the_next_run_check_again(sandbox, ledger, refusal, forgets):
    assert reference_reads(sandbox, ledger) == ORDER_REFERENCE_READS
    ledger.enqueue(RecordKind.ORDER, ["1"])
    run = Fates(ledger, flow="orders", probes={})
    with run.settle(RecordKind.ORDER, "1"):
        raise refusal
    assert ledger.status(RecordKind.ORDER, "1").status == "dead_lettered"
    assert reference_reads(sandbox, ledger) == (ORDER_REFERENCE_READS if forgets else 0)


def test_the_order_sync_runs_go_first_in_the_run_queue_and_for_the_pool():
    """Dagster's QueuedRunCoordinator launches runs by `dagster/priority` (an integer, 0 when absent,
    higher first), and a step's pool claim carries its run's priority: every order sync job must
    outrank every other job of the code location."""
    definitions = defs()
    priority = {job.name: int(job.run_tags.get("dagster/priority", 0)) for job in definitions.resolve_all_job_defs()}
    order_jobs = {"order_sync_job", "checked_order_sync_job"}
    assert order_jobs <= set(priority)
    others = max(p for name, p in priority.items() if name not in order_jobs)
    assert all(priority[name] > others for name in order_jobs), priority
