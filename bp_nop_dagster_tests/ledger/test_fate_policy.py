"""The retry policy and the key form, pure (no database).

The expected values restate the rules in `fate.py` and `ledger.stored_key`:
delay(n, key) = min(cap, first_delay * 2**(n-1)) * (1 - jitter * u(key)), u(key) = first 8 bytes
of SHA-256(key) / 2**64; gives_up(n) = n >= give_up_after; a stored key is the key without NUL
characters, and over 255 characters its first 190, "#" and the 64 hex digits of its SHA-256.
"""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bp_nop_dagster.ledger import DEFAULT_POLICY, MAX_KEY_LENGTH, Fate, RetryPolicy, clean_text, stored_key


def u(key: str) -> float:
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") / 2**64


# ------------------------------------------------------------------------------ the schedule
def test_default_policy_numbers():
    """The numbers the docstring and README state: 5 s doubling to a 20 s cap, the 10th failure
    dead-letters (chosen for "after faults stop, every record settles within 60 s")."""
    assert DEFAULT_POLICY == RetryPolicy(
        first_delay=timedelta(seconds=5), cap=timedelta(seconds=20), give_up_after=10, jitter=0.2
    )
    unjittered = dataclasses.replace(DEFAULT_POLICY, jitter=0.0)  # the jitter only shortens
    waits = [unjittered.delay(n) for n in range(1, DEFAULT_POLICY.give_up_after)]
    assert max(waits) == timedelta(seconds=20)  # no record waits longer once the faults are over
    assert sum(waits, timedelta(0)) == timedelta(seconds=155)  # its own failures for at most 2.6 min


def test_schedule_without_jitter_doubles_to_the_cap():
    policy = RetryPolicy(first_delay=timedelta(seconds=30), cap=timedelta(minutes=15), give_up_after=8, jitter=0.0)
    assert [policy.delay(n).total_seconds() for n in range(1, 10)] == [30, 60, 120, 240, 480, 900, 900, 900, 900]
    assert [policy.gives_up(n) for n in range(1, 10)] == [False] * 7 + [True, True]


def test_jitter_comes_from_the_key_and_only_shortens():
    policy = DEFAULT_POLICY
    for key in ("1001", "1002", "a@example.com"):
        for n in (1, 3, 6, 40):
            base = min(20.0, 5.0 * 2 ** (n - 1))
            assert policy.delay(n, key) == timedelta(seconds=base * (1 - 0.2 * u(key)))
    assert policy.delay(1, "1001") != policy.delay(1, "1002")  # records that failed together spread out
    assert policy.delay(1, "1001") == policy.delay(1, "1001")  # and each one is deterministic


@pytest.mark.parametrize(
    "fields",
    [
        {"first_delay": timedelta(seconds=-1)},
        {"first_delay": timedelta(minutes=20)},  # above the default cap
        {"give_up_after": 0},
        {"give_up_after": 2.5},
        {"give_up_after": True},
        {"jitter": 1.0},
        {"jitter": -0.1},
    ],
)
def test_invalid_policies_are_refused(fields):
    with pytest.raises(ValueError):
        RetryPolicy(**fields)


def test_policy_durations_must_be_timedeltas():
    with pytest.raises(TypeError):
        RetryPolicy(first_delay=30)


@pytest.mark.parametrize("attempts", [0, -1, 1.0, True])
def test_attempts_start_at_one(attempts):
    with pytest.raises(ValueError):
        DEFAULT_POLICY.delay(attempts)
    with pytest.raises(ValueError):
        DEFAULT_POLICY.gives_up(attempts)


def test_fate_says_whether_the_record_was_dead_lettered():
    now = datetime(2024, 5, 1, tzinfo=UTC)
    assert not Fate(attempts=1, retry_at=now).dead_lettered
    assert Fate(attempts=8, retry_at=None, dead_letter_id=3).dead_lettered


policies = st.builds(
    lambda first, extra, n, jitter: RetryPolicy(
        first_delay=timedelta(seconds=first), cap=timedelta(seconds=first + extra), give_up_after=n, jitter=jitter
    ),
    st.integers(0, 3600),
    st.integers(0, 86_400),
    st.integers(1, 50),
    st.floats(0, 0.99),
)


@given(policy=policies, key=st.text(max_size=40))
def test_delays_never_shrink_and_never_pass_the_cap(policy, key):
    delays = [policy.delay(n, key) for n in range(1, 80)]
    assert all(a <= b for a, b in zip(delays, delays[1:]))
    assert all(timedelta(0) <= d <= policy.cap for d in delays)
    if policy.first_delay > timedelta(0):  # the cap is reached (up to the key's jitter) once the doubling passes it
        assert delays[-1] >= policy.cap * (1 - policy.jitter) - timedelta(microseconds=1)


@given(policy=policies, n=st.integers(1, 10_000))
def test_gives_up_exactly_from_the_limit(policy, n):
    assert policy.gives_up(n) == (n >= policy.give_up_after)


# ------------------------------------------------------------------------------ stored keys
def test_short_keys_are_kept_as_they_are():
    assert stored_key("1001") == "1001"
    assert stored_key("x" * MAX_KEY_LENGTH) == "x" * MAX_KEY_LENGTH


def test_long_keys_get_a_prefix_and_their_hash():
    key = "e" * 300 + "@example.com"
    expected = "e" * 190 + "#" + hashlib.sha256(key.encode()).hexdigest()
    assert stored_key(key) == expected and len(expected) == MAX_KEY_LENGTH


def test_nul_characters_and_lone_surrogates_are_removed_or_replaced():
    assert stored_key("10\x0001") == "1001"
    assert clean_text("bad \x00byte") == "bad byte"
    assert clean_text("half \ud800 pair") == "half ? pair"
    with pytest.raises(ValueError):
        stored_key("\x00")
    with pytest.raises(ValueError):
        stored_key("")


def test_many_long_keys_with_one_prefix_stay_distinct():
    """A naive cut at 255 characters would map all of these to one row."""
    prefix = "SKU-" + "x" * 260
    keys = [f"{prefix}-{n}" for n in range(20_000)]
    stored = {stored_key(k) for k in keys}
    assert len(stored) == len(keys)
    assert all(len(k) <= MAX_KEY_LENGTH for k in stored)


clean_keys = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), min_size=1, max_size=700)


@given(key=clean_keys)
def test_stored_keys_are_stable_short_and_idempotent(key):
    once = stored_key(key)
    assert once == stored_key(key)
    assert len(once) <= MAX_KEY_LENGTH
    assert stored_key(once) == once  # a key read back from the ledger addresses the same row
    assert (once == key) == (len(key) <= MAX_KEY_LENGTH)


@settings(max_examples=300)
@given(keys=st.sets(clean_keys, min_size=2, max_size=60))
def test_distinct_keys_stay_distinct(keys):
    assert len({stored_key(k) for k in keys}) == len(keys)
