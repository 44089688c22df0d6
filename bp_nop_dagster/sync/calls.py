"""API calls a piece of sync work made, for the numeric metadata every sync asset records."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol


class Counted(Protocol):
    call_count: int


class Report(Protocol):
    brightpearl_calls: int
    nopcommerce_calls: int


@contextmanager
def calls_into(report: Report, bp: Counted, nop: Counted) -> Iterator[None]:
    """Record on `report` the Brightpearl and nopCommerce requests made inside the block."""
    bp_before, nop_before = bp.call_count, nop.call_count
    try:
        yield
    finally:
        report.brightpearl_calls = bp.call_count - bp_before
        report.nopcommerce_calls = nop.call_count - nop_before
