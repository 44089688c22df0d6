"""The layers are true (docs/DESIGN.md, "Layout"; brief: "pure modules must import without
Dagster"): the flows (`sync/`), the pure rules (`mapping/`), the durable state (`ledger/`), the
clients (`brightpearl/`, `nopcommerce/`, `transport/`) and the simulators (`sandbox/`) import in a
Python where `dagster` cannot be imported at all. Only the Dagster resources of those packages
(`*/resource.py`) and the wiring (`defs/`, `definitions.py`, ...) may need it."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
import textwrap
from pathlib import Path

import bp_nop_dagster

PURE_PACKAGES = ("mapping", "sync", "ledger", "transport", "brightpearl", "nopcommerce", "sandbox", "webhooks")
PURE_MODULES = ("settings", "environment", "alerts", "progress")
DAGSTER_MODULES = {"resource"}  # each client/ledger package's Dagster resource

BLOCK_DAGSTER = textwrap.dedent(
    """
    import importlib, importlib.abc, sys

    class RefuseDagster(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "dagster" or name.startswith(("dagster.", "dagster_")):
                raise ImportError(f"blocked: {name} imported by a module that must not need Dagster")
            return None

    sys.meta_path.insert(0, RefuseDagster())
    for name in sys.argv[1:]:
        importlib.import_module(name)
    leaked = sorted(m for m in sys.modules if m == "dagster" or m.startswith("dagster."))
    assert not leaked, leaked
    print("imported", len(sys.argv) - 1, "modules")
    """
)


def pure_modules() -> list[str]:
    root = Path(bp_nop_dagster.__file__).parent
    names = [f"bp_nop_dagster.{name}" for name in PURE_MODULES]
    for package in PURE_PACKAGES:
        names.append(f"bp_nop_dagster.{package}")
        for info in pkgutil.walk_packages([str(root / package)], prefix=f"bp_nop_dagster.{package}."):
            if info.name.rsplit(".", 1)[1] not in DAGSTER_MODULES:
                names.append(info.name)
    return sorted(names)


def test_the_guard_refuses_dagster():
    """The guard itself works: a module that needs Dagster fails to import under it."""
    result = subprocess.run([sys.executable, "-c", BLOCK_DAGSTER, "bp_nop_dagster.brightpearl.resource"], capture_output=True, text=True)
    assert result.returncode != 0 and "blocked: dagster" in result.stderr


def test_pure_layers_import_without_dagster():
    modules = pure_modules()
    assert "bp_nop_dagster.sync.orders" in modules and "bp_nop_dagster.mapping.orders" in modules
    result = subprocess.run([sys.executable, "-c", BLOCK_DAGSTER, *modules], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
