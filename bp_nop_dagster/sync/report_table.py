"""Report tables (pure): each report column has a name, a type and a sentence saying what it holds,
so a report's DataFrame is typed the same way every time and the UI can show what each column means.

Types: `int` (nullable Int64), `float` (money and quantities, 2 decimals), `str` (pandas string),
`bool` (nullable boolean), `datetime` (UTC). Money is computed in Decimal and only rounded to a
float cell at the end.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


CENT = Decimal("0.01")
_DTYPES = {"int": "Int64", "float": "float64", "str": "string", "bool": "boolean"}


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str


def cents(value: Decimal | float | int | str | None) -> Decimal:
    """`value` as Decimal rounded to the cent (None counts as 0)."""
    import pandas as pd
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return Decimal(0).quantize(CENT)
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def typed_frame(rows: Iterable[Mapping[str, Any]], columns: Sequence[Column]) -> pd.DataFrame:
    """A DataFrame of `rows` with exactly `columns`, each cast to its type (Decimal money to float)."""
    import pandas as pd
    frame = pd.DataFrame(list(rows), columns=[c.name for c in columns])
    for column in columns:
        values = frame[column.name]
        if column.type == "datetime":
            frame[column.name] = pd.to_datetime(values, utc=True)
        elif column.type == "float":
            frame[column.name] = pd.to_numeric(values.map(lambda v: float(v) if isinstance(v, Decimal) else v), errors="raise").astype("float64")
        else:
            frame[column.name] = values.astype(_DTYPES[column.type])
    return frame


def described(columns: Sequence[Column]) -> dict[str, str]:
    """Column name -> description (for the UI's column schema)."""
    return {c.name: c.description for c in columns}
