"""`docs/fidelity.md`: the fidelity table of both simulators, rendered by `bp-nop fidelity --write`
from their facts (`sandbox/brightpearl/fidelity.py`, `sandbox/nopcommerce/fidelity.py`, each a
`FACTS` list; a package without one contributes nothing) with `fidelity.render`. A test keeps
the committed document equal to `document()`.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from bp_nop_dagster.sandbox.fidelity import SYSTEMS, Fact, render

_CHECKOUT_DOCS = Path(__file__).resolve().parents[2] / "docs"
# docs/fidelity.md of a source checkout; None in an installed copy (no docs/ beside the package).
DOCUMENT: Path | None = _CHECKOUT_DOCS / "fidelity.md" if _CHECKOUT_DOCS.is_dir() else None


def all_facts() -> list[Fact]:
    """Every simulator's facts, Brightpearl first (imported here, lazily: they import `fidelity`)."""
    facts: list[Fact] = []
    for system in SYSTEMS:
        try:
            module = importlib.import_module(f"bp_nop_dagster.sandbox.{system}.fidelity")
        except ModuleNotFoundError as error:
            if error.name != f"bp_nop_dagster.sandbox.{system}.fidelity":
                raise
            continue
        facts += list(getattr(module, "FACTS", []))
    return facts


def document() -> str:
    return render(all_facts())
