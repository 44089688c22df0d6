"""The rolling-window throttle: unit tests with an injected clock, and its headers over HTTP.

Sources: 200 requests per rolling minute, HTTP 503 for the rest of the minute, and the
`brightpearl-requests-remaining` / `brightpearl-next-throttle-period` (milliseconds) headers on
every reply: help.brightpearl.com article 212644823 (API throttling) and the ruby-brightpearl
recordings (brightpearl-api notes, section 2; facts "throttle" in sandbox/brightpearl/fidelity.py).
The control route that reconfigures it is our own (no external source)."""

from __future__ import annotations

import pytest

from bp_nop_dagster.sandbox.brightpearl.throttle import Throttle
from bp_nop_dagster_tests.sandbox.test_brightpearl_api import BP, bp  # noqa: F401  (fixture)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_defaults_are_200_per_60_seconds():
    throttle = Throttle()
    assert (throttle.quota, throttle.window_seconds) == (200, 60.0)
    first = throttle.check()
    assert (first.allowed, first.remaining, first.next_period_ms) == (True, 199, 60_000)


def test_rolling_window_counts_and_releases_one_by_one():
    clock = FakeClock()
    throttle = Throttle(quota=3, window_seconds=10, clock=clock)
    decisions = []
    for step in range(3):
        decisions.append(throttle.check())
        clock.now += 2
    assert [d.remaining for d in decisions] == [2, 1, 0]
    assert [d.next_period_ms for d in decisions] == [10_000, 8_000, 6_000]  # until the oldest leaves
    refused = throttle.check()  # t = 1006
    assert (refused.allowed, refused.remaining, refused.next_period_ms) == (False, 0, 4_000)
    clock.now = 1009.999
    assert throttle.check().allowed is False
    clock.now = 1010.0  # the first request (t=1000) leaves the window
    allowed = throttle.check()
    assert (allowed.allowed, allowed.remaining, allowed.next_period_ms) == (True, 0, 2_000)
    assert throttle.check().allowed is False


def test_refused_requests_do_not_extend_the_block():
    clock = FakeClock()
    throttle = Throttle(quota=1, window_seconds=5, clock=clock)
    assert throttle.check().allowed
    for _ in range(50):
        clock.now += 0.05
        assert not throttle.check().allowed
    clock.now = 1005.0
    assert throttle.check().allowed


def test_configure_validates_and_clears_the_window():
    throttle = Throttle(quota=2, window_seconds=60, clock=FakeClock())
    throttle.check()
    throttle.check()
    assert not throttle.check().allowed
    throttle.configure(5, 2)
    assert throttle.snapshot() == {"quota": 5, "window_seconds": 2.0, "requests_in_window": 0, "remaining": 5,
                                   "next_throttle_period_ms": 2000}
    with pytest.raises(ValueError):
        throttle.configure(0, 10)
    with pytest.raises(ValueError):
        throttle.configure(5, 0)


def test_headers_render_as_strings():
    decision = Throttle(quota=10, window_seconds=1, clock=FakeClock()).check()
    assert dict(decision.headers()) == {b"brightpearl-requests-remaining": b"9", b"brightpearl-next-throttle-period": b"1000"}


def test_http_headers_count_down_and_next_period_shrinks(bp: BP):  # noqa: F811
    bp.control("PUT", "/throttle", {"quota": 50, "window_seconds": 60})
    first = bp.get("/warehouse-service/warehouse")
    second = bp.get("/warehouse-service/warehouse")
    assert (first.headers["brightpearl-requests-remaining"], second.headers["brightpearl-requests-remaining"]) == ("49", "48")
    assert int(second.headers["brightpearl-next-throttle-period"]) <= int(first.headers["brightpearl-next-throttle-period"]) <= 60_000
    snapshot = bp.control("GET", "/throttle")
    assert snapshot["requests_in_window"] == 2 and snapshot["remaining"] == 48
    # control routes are not throttled nor counted
    for _ in range(5):
        bp.control("GET", "/state")
    assert bp.control("GET", "/throttle")["requests_in_window"] == 2


def test_throttle_is_per_backend_and_reset_replaces_it(bp: BP):  # noqa: F811
    bp.control("PUT", "/throttle", {"quota": 1, "window_seconds": 60})
    assert bp.get("/warehouse-service/warehouse").status_code == 200
    assert bp.get("/warehouse-service/warehouse").status_code == 503
    bp.control("POST", "/reset", {"empty": True})
    response = bp.get("/warehouse-service/warehouse")
    assert response.status_code == 200 and response.headers["brightpearl-requests-remaining"] == "199"
