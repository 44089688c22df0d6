"""Brightpearl API simulator: per-service backends (`backend/`), throttle (`throttle.py`), the
Starlette app (`app.py`) that speaks the real wire format, its control routes (`control.py`) and
the fidelity table of every route and behaviour (`fidelity.py`)."""

from bp_nop_dagster.sandbox.brightpearl.backend import BrightpearlApiError, BrightpearlBackend, FidelityOptions
from bp_nop_dagster.sandbox.brightpearl.throttle import Throttle

__all__ = ["BrightpearlApiError", "BrightpearlBackend", "FidelityOptions", "Throttle"]
