"""Shared fixtures: one sandbox (both simulators over real HTTP on loopback, ports chosen by the
OS) per test process, so each pytest-xdist worker has its own; reset to the seeded small shop
before each test that asks for `sandbox`. Every test gets its own Dagster home, so no test sees
another's runs, sensor cursors or ledger, whatever the order (pytest-randomly) or the worker."""

from __future__ import annotations

import functools
from datetime import UTC, datetime

import hypothesis
import pytest
import requests

from bp_nop_dagster import settings
from bp_nop_dagster.ledger import resource as ledger_resource
from bp_nop_dagster.ledger.ledger import Ledger
from bp_nop_dagster.sandbox.server import RunningSandbox

# Hypothesis's per-example deadline (200 ms) is a wall-clock window: on two cores shared with other
# builds (or under mutmut's tracing) a pure example can take 600 ms and fail as "flaky" (seen on
# ledger/test_fate_policy.py). Hangs are pytest-timeout's job; no example is timed.
hypothesis.settings.register_profile("bp-nop", deadline=None)
hypothesis.settings.load_profile("bp-nop")
from bp_nop_dagster.sandbox.world import SandboxWorld
from bp_nop_dagster_tests.ledger.clock import Clock


@pytest.fixture(autouse=True)
def own_dagster_home(tmp_path_factory, monkeypatch):
    """`DAGSTER_HOME` is a new empty folder for each test, and `BP_NOP_LEDGER_URL` unset: an
    instance or a default ledger (`$DAGSTER_HOME/ledger.sqlite`) a test builds is its own, never
    the developer's `.dagster_home` nor a folder another test wrote to."""
    monkeypatch.setenv(settings.DAGSTER_HOME, str(tmp_path_factory.mktemp("dagster_home")))
    monkeypatch.delenv(settings.BP_NOP_LEDGER_URL, raising=False)


@pytest.fixture(scope="session")
def running_sandbox():
    with RunningSandbox(SandboxWorld(seed=42, scale="small")) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def private_sandbox():
    """A sandbox of the module's own, for tests that hold a request past their end (a latency
    fault of minutes): a reset does not end a request being held, so on the worker's shared
    sandbox the hold would still count in a later module's `holding` gauge and requests."""
    with RunningSandbox(SandboxWorld(seed=42, scale="small")) as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(running_sandbox: RunningSandbox) -> RunningSandbox:
    """The running sandbox, freshly reset to seed 42 / small, faults and counters cleared."""
    response = requests.post(f"{running_sandbox.urls.brightpearl_root}/__sandbox__/reset", json={"seed": 42, "scale": "small"}, timeout=30)
    response.raise_for_status()
    return running_sandbox


@pytest.fixture
def ledger_clock(monkeypatch) -> Clock:
    """The clock of every ledger built through `LedgerResource` in this test (its `clock=`): it
    stands at the time the test started and moves only when the test `advance`s it, so an
    intent's lease or a backoff expires exactly when the test says, never because a run was slow."""
    clock = Clock(datetime.now(UTC))
    monkeypatch.setattr(ledger_resource, "Ledger", functools.partial(Ledger, clock=clock))
    return clock


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Both cores busy to the end of `make test` (`-n 2 --dist loadfile --no-loadscope-reorder`): the
    `slow` tests (minutes each: `dagster dev` killed and restarted, the demo, the browser) go first,
    in pytest-randomly's shuffled order (its hook wraps this one; the sort is stable), so their files
    are the first units xdist hands out and the two workers share them from the start, the other
    files filling in behind. xdist's default order for `loadfile` (most tests first) handed out the
    files of one to three slow tests last, so one worker ran them alone while the other idled.
    (`--dist loadgroup` cannot split them finer: with pytest 9.2 its xdist_group suffix no longer
    reaches the scheduler, pytest-dev/pytest-xdist#1386.)"""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
