"""Many pairs from one deployment (README, "Many pairs and scale").

The rules (bp_nop_dagster/pairs.py) are stated here and checked on their own; then two pairs, each
its own code location loaded from this package in its own process with its own environment, sync
an order each into their own Brightpearl account through Dagster against ONE Dagster instance:
each order lands in its own account only, each pair's ledger is its own file, each run carries its
pair's tag, each pair's Brightpearl step took its own pool, and each pair's asset keys start with
its name. The sensors' view of runs is per pair: another pair's queued run does not make a sensor
skip, and another pair's STARTED run (whose worker this code server cannot see) is never failed.
"""

from __future__ import annotations

import json
import uuid
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
import requests
import yaml

from bp_nop_dagster import settings
from bp_nop_dagster.defs import sensor_support
from bp_nop_dagster.ledger.ledger import Ledger
from bp_nop_dagster.pairs import PAIR_TAG, Pair, apply_pair_environment, current_pair, pair_variable
from bp_nop_dagster.sandbox.server import RunningSandbox
from bp_nop_dagster.sandbox.world import SandboxWorld
from bp_nop_dagster.transport.errors import ConfigurationError

ADDRESS = {"address1": "1 Mill Road", "city": "Leeds", "zip_postal_code": "LS1 4AB", "country_iso2": "GB"}


def test_without_a_pair_every_name_stays_what_it_was():
    pair = current_pair({})
    assert pair == Pair()
    assert pair.brightpearl_pool == "brightpearl"
    assert pair.asset_path("brightpearl", "products") == ["brightpearl", "products"]
    assert pair.run_tags == {}
    assert pair.file_suffix == ""
    assert pair.label(":warning: bp-nop: x grew") == ":warning: bp-nop: x grew"


def test_a_pair_prefixes_keys_and_names_its_pool_tag_files_and_alerts():
    pair = current_pair({settings.BP_NOP_PAIR: "acme"})
    assert pair.asset_path("brightpearl", "products") == ["acme", "brightpearl", "products"]
    assert pair.brightpearl_pool == "brightpearl_acme"  # the account defaults to the pair's name
    assert pair.run_tags == {"bp_nop/pair": "acme"}
    assert pair.file_suffix == "-acme"
    assert pair.label(":warning: bp-nop: x grew") == ":warning: bp-nop [pair acme]: x grew"
    assert pair.label("plain text") == "bp-nop [pair acme]: plain text"


def test_two_stores_booking_into_one_account_share_its_pool():
    """The quota is per Brightpearl account: two pairs naming the same account share one pool."""
    one = current_pair({settings.BP_NOP_PAIR: "shop_uk", settings.BP_NOP_BRIGHTPEARL_ACCOUNT: "acme"})
    two = current_pair({settings.BP_NOP_PAIR: "shop_ie", settings.BP_NOP_BRIGHTPEARL_ACCOUNT: "acme"})
    assert one.brightpearl_pool == two.brightpearl_pool == "brightpearl_acme"
    assert one.run_tags != two.run_tags


@pytest.mark.parametrize("environ", [
    {settings.BP_NOP_PAIR: "Acme"},
    {settings.BP_NOP_PAIR: "acme-uk"},
    {settings.BP_NOP_PAIR: "1acme"},
    {settings.BP_NOP_PAIR: "a" * 41},
    {settings.BP_NOP_BRIGHTPEARL_ACCOUNT: "acme"},
])
def test_a_malformed_pair_is_refused_in_words(environ):
    with pytest.raises(ConfigurationError):
        current_pair(environ)


def test_a_pair_takes_its_own_prefixed_values_and_no_other_pairs():
    environ = {
        settings.BP_NOP_PAIR: "north",
        "BP_NOP_NORTH__BRIGHTPEARL_ACCOUNT_TOKEN": "north-token",
        "BP_NOP_SOUTH__BRIGHTPEARL_ACCOUNT_TOKEN": "south-token",
        "BP_NOP_NORTH__DAGSTER_PG_PASSWORD": "not-a-pair-setting",
        settings.BRIGHTPEARL_APP_REF: "shared-app",
    }
    assert pair_variable("north", settings.BRIGHTPEARL_ACCOUNT_TOKEN) == "BP_NOP_NORTH__BRIGHTPEARL_ACCOUNT_TOKEN"
    assert apply_pair_environment(environ) == [settings.BRIGHTPEARL_ACCOUNT_TOKEN]
    assert environ[settings.BRIGHTPEARL_ACCOUNT_TOKEN] == "north-token"
    assert environ[settings.BRIGHTPEARL_APP_REF] == "shared-app"
    assert settings.DAGSTER_PG_PASSWORD not in environ  # the instance's settings are not per pair
    assert apply_pair_environment({"BP_NOP_NORTH__BRIGHTPEARL_ACCOUNT_TOKEN": "x"}) == []  # no pair: nothing


# One pair's code location in its own process: what a compose service or a Helm user-code
# deployment runs, sharing the Dagster instance at $DAGSTER_HOME with the other pairs.
PAIR_PROCESS = """
import json, sys
import dagster as dg
from bp_nop_dagster.definitions import defs
definitions = defs()
for every_job in definitions.get_repository_def().get_all_jobs():
    every_job.run_config_schema  # each job's config (defaults naming ops by the pair's keys) is valid
job = definitions.resolve_job_def("order_sync_job")
with dg.DagsterInstance.get() as instance:
    result = job.execute_in_process(instance=instance)
    graph = definitions.resolve_asset_graph()
    pools = sorted({graph.get(key).pools and next(iter(graph.get(key).pools)) for key in graph.get_all_asset_keys()
                    if graph.get(key).pools})
    print(json.dumps({"success": result.success, "run_id": result.run_id, "pools": pools,
                      "keys": sorted(k.to_user_string() for k in graph.get_all_asset_keys())}))
"""


def place_order(sandbox: RunningSandbox, email: str) -> int:
    response = requests.post(f"{sandbox.urls.nopcommerce_root}/__sandbox__/orders", timeout=30, json={
        "email": email, "first_name": "Pair", "last_name": "Shopper", "address": ADDRESS,
        "items": [{"sku": "BPN-00020", "quantity": 1}], "payment_method_system_name": "Payments.CheckMoneyOrder", "paid": False})
    response.raise_for_status()
    return int(response.json()["id"])


def test_two_pairs_share_one_instance_and_keep_their_orders_ledgers_tags_pools_and_keys_apart(sandbox, tmp_path):
    home = Path(os.environ[settings.DAGSTER_HOME])
    # One instance for both pairs, every pool limited (dagster.yaml's own setting).
    (home / "dagster.yaml").write_text("concurrency:\n  pools:\n    default_limit: 1\n    granularity: op\ntelemetry:\n  enabled: false\n")
    with dg.DagsterInstance.from_config(str(home)):
        pass  # its SQLite storage created once, not by two processes at the same moment
    with RunningSandbox(SandboxWorld(seed=42, scale="small")) as other:
        sandboxes = {"north": sandbox, "south": other}
        place_order(other, "first@pairs.test")  # south's order gets another id than north's (same seed)
        orders = {name: place_order(box, f"{name}-shopper@pairs.test") for name, box in sandboxes.items()}
        assert orders["north"] != orders["south"]
        before = {name: set(box.world.brightpearl.orders) for name, box in sandboxes.items()}
        processes = {}
        for name, box in sandboxes.items():
            # The rule: a pair without BP_NOP_LEDGER_URL keeps its ledger in $DAGSTER_HOME/ledger-<pair>.sqlite.
            Ledger(f"sqlite:///{home / f'ledger-{name}.sqlite'}").enqueue("order", [str(orders[name])])
            environment = {**os.environ, **settings.sandbox_environment(box), settings.BP_NOP_PAIR: name}
            processes[name] = subprocess.Popen([sys.executable, "-c", PAIR_PROCESS], env=environment, text=True,
                                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        outputs = {}
        for name, process in processes.items():
            stdout, stderr = process.communicate(timeout=240)
            assert process.returncode == 0, stderr[-3000:]
            outputs[name] = json.loads(stdout.strip().splitlines()[-1])

        for name, box in sandboxes.items():
            other_name = "south" if name == "north" else "north"
            assert outputs[name]["success"]
            # Each order reached its own Brightpearl account, and nothing reached the other.
            new = [box.world.brightpearl.orders[i] for i in set(box.world.brightpearl.orders) - before[name]]
            # externalRef is the mapping's prefix (default_mapping.yaml: "nop-") and the nopCommerce id.
            assert [o.external_ref for o in new] == [f"nop-{orders[name]}"], (name, [o.external_ref for o in new])
            # Each pair's ledger is its own file and links only its own order.
            ledger = Ledger(f"sqlite:///{home / f'ledger-{name}.sqlite'}")
            assert [link.nop_key for link in ledger.links("order")] == [str(orders[name])]
            assert not (home / "ledger.sqlite").exists(), "a pair must not use the single pair's ledger"
            # Keys start with the pair's name; the Brightpearl steps are in the pair's own pool.
            assert outputs[name]["keys"] and all(key.startswith(f"{name}/") for key in outputs[name]["keys"])
            assert outputs[name]["pools"] == [f"brightpearl_{name}"]
            assert not any(key.startswith(f"{other_name}/") for key in outputs[name]["keys"])

    with dg.DagsterInstance.from_config(str(home)) as instance:
        for name in sandboxes:
            [run] = instance.get_runs(dg.RunsFilter(tags={PAIR_TAG: name}))
            assert run.run_id == outputs[name]["run_id"] and run.status == dg.DagsterRunStatus.SUCCESS
            materialized = instance.get_latest_materialization_event(dg.AssetKey([name, "brightpearl", "sales_orders_from_nop"]))
            assert materialized is not None and materialized.run_id == run.run_id
        # Both pools were claimed in the one instance: each pair's steps took its own.
        assert {"brightpearl_north", "brightpearl_south"} <= set(instance.event_log_storage.get_concurrency_keys())
        assert "brightpearl" not in instance.event_log_storage.get_concurrency_keys()


def add_run(instance: dg.DagsterInstance, pair: str, status: dg.DagsterRunStatus) -> dg.DagsterRun:
    run = instance.add_run(dg.DagsterRun(job_name="order_sync_job", run_id=str(uuid.uuid4()), tags={PAIR_TAG: pair}, status=status))
    return run


def test_a_sensor_sees_only_its_own_pairs_runs(monkeypatch):
    monkeypatch.setattr(sensor_support, "RUN_TAGS", {PAIR_TAG: "north"})
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance)
        add_run(instance, "south", dg.DagsterRunStatus.STARTING)
        assert not sensor_support.run_in_flight(context, "order_sync_job"), "south's starting run must not hold north back"
        add_run(instance, "north", dg.DagsterRunStatus.STARTING)
        assert sensor_support.run_in_flight(context, "order_sync_job")


def test_a_sensor_never_fails_another_pairs_started_run(monkeypatch):
    """South's worker runs in south's code server: north's sensor cannot see its process, so it
    must not judge it (it would find no such pid and fail a healthy run)."""
    monkeypatch.setattr(sensor_support, "RUN_TAGS", {PAIR_TAG: "north"})
    monkeypatch.setattr(sensor_support, "dead_run_reason", lambda instance, run_id, now=None: "its run worker is gone")
    with dg.instance_for_test() as instance:
        south = add_run(instance, "south", dg.DagsterRunStatus.STARTED)
        north = add_run(instance, "north", dg.DagsterRunStatus.STARTED)
        failed = sensor_support.fail_dead_runs(dg.build_sensor_context(instance=instance))
        assert failed == [north.run_id]
        assert instance.get_run_by_id(south.run_id).status == dg.DagsterRunStatus.STARTED


@pytest.mark.parametrize("instance_file", ["dagster.yaml", "deploy/docker/dagster.yaml"])
def test_the_run_queue_holds_a_pairs_fourth_run_but_never_another_pairs_run(instance_file):
    """The rule (README, "Many pairs and scale"): at most 3 runs of one pair at once. Checked with
    the run queue daemon's own counter on the limits Dagster reads from the instance file: with 3
    runs of p1 in progress, a 4th of p1 waits, while p2's run and an untagged single-pair run go."""
    from dagster._utils.tags import TagConcurrencyLimitsCounter

    config = yaml.safe_load((Path(__file__).resolve().parents[1] / instance_file).read_text())
    overrides = {"run_coordinator": config["run_coordinator"], "concurrency": {"runs": config["concurrency"]["runs"]}}
    with dg.instance_for_test(overrides=overrides) as instance:
        limits = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits

    def run(tags: dict[str, str]) -> dg.DagsterRun:
        return dg.DagsterRun(job_name="order_sync_job", run_id=str(uuid.uuid4()), tags=tags)

    in_progress = [run({PAIR_TAG: "p1", "dagster/code_location": "bp_nop_p1"}) for _ in range(3)]
    counter = TagConcurrencyLimitsCounter(limits, in_progress)
    assert counter.is_blocked(run({PAIR_TAG: "p1", "dagster/code_location": "bp_nop_p1"}))
    assert not counter.is_blocked(run({PAIR_TAG: "p2", "dagster/code_location": "bp_nop_p2"}))
    assert not counter.is_blocked(run({})), "the single pair's runs carry no pair tag"
    two = TagConcurrencyLimitsCounter(limits, in_progress[:2])
    assert not two.is_blocked(run({PAIR_TAG: "p1", "dagster/code_location": "bp_nop_p1"}))


def test_doctor_sees_the_pairs_own_values_and_names_a_malformed_pair(monkeypatch):
    from bp_nop_dagster.doctor import FAIL, Doctor

    monkeypatch.setenv(settings.BP_NOP_PAIR, "acme")
    monkeypatch.setenv("BP_NOP_ACME__BRIGHTPEARL_BASE_URL", "https://use1.brightpearlconnect.com/public-api/acme")
    # Set here so that monkeypatch restores it after the doctor overwrote it (no leak to other tests).
    monkeypatch.setenv(settings.BRIGHTPEARL_BASE_URL, "https://example.invalid/not-this-pair")
    doctor = Doctor()
    assert doctor.environ[settings.BRIGHTPEARL_BASE_URL] == "https://use1.brightpearlconnect.com/public-api/acme"
    monkeypatch.setenv(settings.BP_NOP_PAIR, "Acme-UK")
    status, text = Doctor().check_environment()
    assert status == FAIL and settings.BP_NOP_PAIR in text


def test_a_pairs_alert_and_report_name_the_pair(monkeypatch, tmp_path):
    """What the alert webhook receives starts `bp-nop [pair acme]:`; the report lands in the
    pair's own folder. Unchanged for the single pair."""
    import pandas as pd

    from bp_nop_dagster.alerts import dead_letter_growth_message
    from bp_nop_dagster.defs.alerts import resources as alert_resources
    from bp_nop_dagster.reporting import write_report
    from bp_nop_dagster_tests.capture_server import capture_server

    text = dead_letter_growth_message(asset="acme/order_flow/dead_letters", previous=1, current=2, new_by_reason={"mapping": 1},
                                      run_id="r1", ui_base_url="http://localhost:3000")
    monkeypatch.setenv(settings.BP_NOP_REPORTS_DIR, str(tmp_path))
    for pair, prefix, folder in ((Pair(), ":warning: bp-nop: ", tmp_path), (Pair("acme"), ":warning: bp-nop [pair acme]: ", tmp_path / "acme")):
        monkeypatch.setattr(alert_resources, "PAIR", pair)
        if pair.name:
            monkeypatch.setenv(settings.BP_NOP_PAIR, pair.name)
        with capture_server() as server:
            assert alert_resources.AlertWebhook(webhook_url=server.url).send(text)
            [received] = server.received
        assert json.loads(received.body)["text"].startswith(prefix)
        assert write_report(pd.DataFrame({"a": [1]}), "order_sync") == [folder / "order_sync.csv"]
