"""SKU matching between the two catalogues. Brightpearl is the master of SKUs (`identity.sku`);
nopCommerce products and attribute combinations are matched to it exactly, and SKUs that match only
after trimming and case-folding are reported, never matched silently."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


EXACT = "exact"
NORMALISED_ONLY = "normalised_only"
NOP_ONLY = "nop_only"
BRIGHTPEARL_ONLY = "brightpearl_only"


def normalise_sku(sku: str | None) -> str:
    """The comparison key for near matches: surrounding whitespace removed, case folded."""
    return (sku or "").strip().casefold()


def match_skus(nop_skus: Iterable[str | None], brightpearl_skus: Iterable[str | None]) -> pd.DataFrame:
    """One row per distinct SKU on either side: `nop_sku`, `brightpearl_sku`, `match`.

    `match` is `exact` (same string), `normalised_only` (equal only after trim + case-fold),
    `nop_only` or `brightpearl_only`. Empty SKUs are ignored.
    """
    import pandas as pd
    nop = sorted({s for s in nop_skus if s})
    bp = sorted({s for s in brightpearl_skus if s})
    bp_exact = set(bp)
    bp_by_key: dict[str, list[str]] = {}
    for sku in bp:
        bp_by_key.setdefault(normalise_sku(sku), []).append(sku)
    rows = []
    matched_bp: set[str] = set()
    for sku in nop:
        if sku in bp_exact:
            rows.append((sku, sku, EXACT))
            matched_bp.add(sku)
            continue
        candidates = bp_by_key.get(normalise_sku(sku), [])
        if candidates:
            rows.append((sku, candidates[0], NORMALISED_ONLY))
            matched_bp.update(candidates)
        else:
            rows.append((sku, None, NOP_ONLY))
    rows.extend((None, sku, BRIGHTPEARL_ONLY) for sku in bp if sku not in matched_bp)
    return pd.DataFrame(rows, columns=["nop_sku", "brightpearl_sku", "match"])


def duplicate_skus(frame: pd.DataFrame, sku_column: str = "sku", id_column: str = "id") -> pd.DataFrame:
    """Rows whose SKU (exactly) appears more than once, sorted by SKU then id."""
    present = frame[frame[sku_column].fillna("") != ""]
    duplicated = present[present.duplicated(sku_column, keep=False)]
    return duplicated.sort_values([sku_column, id_column])[[sku_column, id_column]].reset_index(drop=True)
