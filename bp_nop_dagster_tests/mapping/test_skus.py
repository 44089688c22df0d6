import pandas as pd
import pytest

from bp_nop_dagster.mapping.skus import duplicate_skus, match_skus, normalise_sku


@pytest.mark.parametrize(
    "raw, key",
    [("BPN-00001", "bpn-00001"), (" BPN-00001 ", "bpn-00001"), ("bpn-00001\t", "bpn-00001"), (None, ""), ("Straße", "strasse")],
)
def test_normalise_sku(raw, key):
    assert normalise_sku(raw) == key


@pytest.mark.parametrize(
    "nop, bp, expected",
    [
        (["A"], ["A"], [("A", "A", "exact")]),
        (["a"], ["A"], [("a", "A", "normalised_only")]),
        ([" A "], ["A"], [(" A ", "A", "normalised_only")]),
        (["A"], [], [("A", None, "nop_only")]),
        ([], ["B"], [(None, "B", "brightpearl_only")]),
        (["A", "A", "", None], ["A"], [("A", "A", "exact")]),
        (["A", "b"], ["A", "B", "C"], [("A", "A", "exact"), ("b", "B", "normalised_only"), (None, "C", "brightpearl_only")]),
    ],
)
def test_match_skus(nop, bp, expected):
    frame = match_skus(nop, bp)
    rows = [tuple(None if pd.isna(v) else v for v in row) for row in frame.itertuples(index=False)]
    assert rows == expected


def test_duplicate_skus_lists_every_holder_of_a_repeated_sku():
    frame = pd.DataFrame({"id": [1, 2, 3, 4, 5], "sku": ["X", "Y", "X", "", None]})
    assert duplicate_skus(frame).to_dict("records") == [{"sku": "X", "id": 1}, {"sku": "X", "id": 3}]


def test_duplicate_skus_is_case_sensitive_exact():
    frame = pd.DataFrame({"id": [1, 2], "sku": ["X", "x"]})
    assert duplicate_skus(frame).empty


def test_duplicate_skus_leaves_out_rows_without_a_sku():
    """Rows without a SKU are not "the same SKU" (a missing SKU is no duplicate of another one)."""
    frame = pd.DataFrame({"sku": [None, "", None, "A", "A"], "id": [1, 2, 3, 4, 5]})
    assert duplicate_skus(frame).to_dict("records") == [{"sku": "A", "id": 4}, {"sku": "A", "id": 5}]
