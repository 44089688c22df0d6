"""Shared fixtures: one sandbox (both simulators over real HTTP on loopback) per test session,
reset to the seeded small shop before each test that asks for `sandbox`."""

from __future__ import annotations

import pytest
import requests

from bp_nop_dagster.sandbox.server import RunningSandbox
from bp_nop_dagster.sandbox.world import SandboxWorld


@pytest.fixture(scope="session")
def running_sandbox():
    with RunningSandbox(SandboxWorld(seed=42, scale="small")) as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(running_sandbox: RunningSandbox) -> RunningSandbox:
    """The running sandbox, freshly reset to seed 42 / small, faults and counters cleared."""
    response = requests.post(f"{running_sandbox.urls.brightpearl_root}/__sandbox__/reset", json={"seed": 42, "scale": "small"}, timeout=30)
    response.raise_for_status()
    return running_sandbox
