"""Every run pays for what the code location imports (issue 17, latency): the default run launcher
starts each run in a new process (the code server spawns it, dagster/_grpc/server.py) that imports
the whole code location before the first step, so a stock or shipment sync that reaches
nopCommerce seconds after the webhook waits for every module the definitions import.

Rules: loading the definitions does not import the report-only libraries (pandas and numpy,
about a quarter of the code location's import time); the report assets and engines import them
inside the functions that use them. Checked in a fresh Python, as a run worker starts. And
Dagster, which calls `defs()` each time it reconstructs the repository (six times in one
`dagster job execute`), gets the definitions walked once per process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPORT_ONLY = ("pandas", "numpy")

LOAD_DEFINITIONS = textwrap.dedent(
    """
    import importlib, json, sys

    from bp_nop_dagster.definitions import defs

    defs()
    for name in sys.argv[2:]:
        importlib.import_module(name)
    print(json.dumps(sorted(name for name in json.loads(sys.argv[1]) if name in sys.modules)))
    """
)


def report_libraries_loaded(tmp_path, *also_import: str) -> list[str]:
    """The report-only libraries in `sys.modules` of a new Python after it loaded the definitions
    (and then imported `also_import`)."""
    result = subprocess.run(
        [sys.executable, "-c", LOAD_DEFINITIONS, json.dumps(REPORT_ONLY), *also_import],
        capture_output=True, text=True, env={**os.environ, "DAGSTER_HOME": str(tmp_path)}, timeout=240,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_check_sees_a_report_library_once_imported(tmp_path):
    """The check itself works: importing pandas after the definitions shows both libraries."""
    assert report_libraries_loaded(tmp_path, "pandas") == ["numpy", "pandas"]


def test_loading_the_code_location_imports_no_report_library(tmp_path):
    assert report_libraries_loaded(tmp_path) == []


def test_the_defs_folder_is_walked_once_per_process(monkeypatch):
    """Every call still applies the pair's values and checks the environment; the walk of the
    defs folder (the same modules, imported once per process) is not repeated."""
    import dagster as dg

    from bp_nop_dagster import definitions

    checks = []
    monkeypatch.setattr(definitions, "require_valid_environment", lambda: checks.append(1))
    walks = []
    real_walk = dg.load_from_defs_folder
    monkeypatch.setattr(dg, "load_from_defs_folder", lambda **kwargs: walks.append(1) or real_walk(**kwargs))
    first, second = definitions.defs(), definitions.defs()
    assert first is second
    assert len(checks) == 2 and len(walks) <= 1  # 0 when an earlier test in this process walked it


def test_every_shipped_instance_reads_the_run_queue_every_second():
    """A run waits in the queue until the daemon's next dequeue: every second in each instance
    this project ships (production, the Docker run launcher, the Helm chart, the demo), not
    Dagster's default 5 s (QueuedRunCoordinator's `dequeue_interval_seconds`)."""
    import yaml

    from bp_nop_dagster.demo import DEMO_INSTANCE_YAML

    root = Path(__file__).parents[1]
    instances = {
        "dagster.yaml": yaml.safe_load((root / "dagster.yaml").read_text()),
        "deploy/docker/dagster.yaml": yaml.safe_load((root / "deploy/docker/dagster.yaml").read_text()),
        "bp-nop demo": yaml.safe_load(DEMO_INSTANCE_YAML),
    }
    for name, instance in instances.items():
        coordinator = instance["run_coordinator"]
        assert coordinator["class"] == "QueuedRunCoordinator", name
        assert coordinator["config"]["dequeue_interval_seconds"] == 1, name
    helm = yaml.safe_load((root / "deploy/helm/values.yaml").read_text())["dagsterDaemon"]["runCoordinator"]
    assert helm["type"] == "QueuedRunCoordinator"
    assert helm["config"]["queuedRunCoordinator"]["dequeueIntervalSeconds"] == 1
