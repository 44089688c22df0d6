"""The nopcommerce simulator's fidelity facts (placeholder: the simulator's own branch fills it in)."""

from __future__ import annotations

from bp_nop_dagster.sandbox.fidelity import Fact

FACTS: list[Fact] = []
