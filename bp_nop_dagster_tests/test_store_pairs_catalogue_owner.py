"""Which pair creates products (session-23 mutation sample, issue 19 item 5; docs/mutation.md,
"session 23"). Set-up as test_store_pairs.py (its `catalogue_run`): one installation with stores 1
and 2, the pair of store 1 is the catalogue owner.

Rule (`pairs.py`, `CatalogueSync._creates_products`): "A created product is limited to no store, so
shared: only the catalogue owner creates." A product only Brightpearl has is reported
`brightpearl_only` by every pair; the other pairs' rows say that the catalogue owner creates it, so
nobody waits for them to. Break checked: the note left empty for every pair."""

from __future__ import annotations

from bp_nop_dagster_tests.test_store_pairs import catalogue_run


def test_a_product_only_brightpearl_has_is_left_to_the_catalogue_owner_and_the_other_pair_says_so(sandbox, tmp_path, monkeypatch):
    owner = catalogue_run(sandbox, sandbox, tmp_path, "north", "1", monkeypatch, None).rows
    other = catalogue_run(sandbox, sandbox, tmp_path, "south", "2", monkeypatch, None).rows
    owner_notes = {row.note for row in owner if row.verdict == "brightpearl_only"}
    other_notes = {row.note for row in other if row.verdict == "brightpearl_only"}
    assert owner_notes == {""}  # the owner creates them once create_in_nop is on (off by default)
    assert len(other_notes) == 1 and "catalogue owner" in other_notes.pop()
