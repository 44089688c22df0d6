"""`Ledger.nop_keys`, the Brightpearl id -> nop key lookup (on SQLite and PostgreSQL, see conftest.py)."""

from __future__ import annotations

import pytest


def test_nop_keys_is_the_reverse_of_bp_ids(ledger):
    ledger.link("order", "101", 9001)
    ledger.link("order", "102", 9002)
    ledger.link("contact", "a@b.test", 9001)
    assert ledger.nop_keys("order", [9002, 9001, 9003, 9001]) == {9001: "101", 9002: "102"}
    assert ledger.nop_keys("contact", [9001, 9002]) == {9001: "a@b.test"}
    assert ledger.nop_keys("order", []) == {}


def test_nop_keys_beyond_one_in_list(ledger):
    for i in range(1, 1201):
        ledger.link("order", str(i), 50_000 + i)
    found = ledger.nop_keys("order", range(50_001, 51_301))
    assert len(found) == 1200 and found[50_600] == "600"


def test_nop_keys_refuses_a_bad_kind(ledger):
    with pytest.raises(ValueError):
        ledger.nop_keys("Order", [1])
