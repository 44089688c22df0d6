"""Brightpearl API simulator: in-memory backend (`backend.py`), throttle (`throttle.py`) and
the Starlette app (`app.py`) that speaks the real wire format."""

from bp_nop_dagster.sandbox.brightpearl.backend import BrightpearlApiError, BrightpearlBackend
from bp_nop_dagster.sandbox.brightpearl.throttle import Throttle

__all__ = ["BrightpearlApiError", "BrightpearlBackend", "Throttle"]
