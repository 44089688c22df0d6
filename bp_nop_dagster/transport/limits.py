"""Bounds on what a server may ask of a client: how long to wait, how many pages, how many bytes.

A server (or anything in front of it) is not trusted to be sane: a throttle header of `1e12` ms
must not put a run to sleep for 31 years while it holds the `brightpearl` pool slot, `inf` must
not crash it, a list that never says "last page" must not page forever, and a reply of a gigabyte
must not be read into memory.
"""

from __future__ import annotations

import math

from bp_nop_dagster.transport.errors import ApiError

# Brightpearl blocks for "the rest of the rolling minute" (reference notes, section 2), so a true
# throttle period is at most 60 s; twice that leaves room for clock skew and still ends the wait.
MAX_SERVER_WAIT_SECONDS = 120.0
# The largest reply body read into memory (Transport.max_reply_bytes; the resources' max_reply_mb).
DEFAULT_MAX_REPLY_BYTES = 64 * 1024 * 1024
# Pages one list read may take: 5 million Brightpearl search rows, 2.5 million nopCommerce rows.
MAX_PAGES = 10_000


def capped_wait(seconds: float) -> float:
    """`seconds` bounded to [0, MAX_SERVER_WAIT_SECONDS]; a non-finite value counts as the cap."""
    if math.isnan(seconds):
        return MAX_SERVER_WAIT_SECONDS
    return min(max(0.0, seconds), MAX_SERVER_WAIT_SECONDS)


def server_wait(value: object, *, unit_seconds: float = 1.0) -> float | None:
    """A wait a server asked for (a header value, in units of `unit_seconds`), in seconds and
    capped at MAX_SERVER_WAIT_SECONDS; None when absent, unreadable, negative or not finite, so
    the caller falls back to its own wait as if the server had said nothing."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    if not math.isfinite(number) or number < 0:
        return None
    return capped_wait(number * unit_seconds)


class PageGuard:
    """Bounds one paging walk: at most `max_pages` pages, and each page must move the walk on
    (a server that ignores the page parameter would otherwise be read forever)."""

    def __init__(self, system: str, path: str, max_pages: int | None = None) -> None:
        self.system = system
        self.path = path
        self.max_pages = max_pages or MAX_PAGES
        self.pages = 0

    def page(self, *, progressed: bool) -> None:
        """Count one page; `progressed` says whether it brought anything the walk had not seen."""
        self.pages += 1
        if not progressed:
            raise ApiError(self.system, f"paging made no progress on page {self.pages} (a page repeated)", method="GET", path=self.path)
        if self.pages > self.max_pages:
            raise ApiError(self.system, f"paging did not end within {self.max_pages} pages", method="GET", path=self.path)
