"""Metadata for the Dagster UI: column schemas (with what each column means), row counts and
short markdown previews; and the report files analysts open (CSV, optionally an Excel-friendly copy).

Previews mask email addresses (`jo***@example.com`) and never include secrets or card data.
Every value in a preview is data, never markup: its Markdown punctuation is escaped, so a customer
named `[Refund here](https://...)` is shown as that text, not as a link.
"""

from __future__ import annotations

import csv
import os
import re
import string
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg

from bp_nop_dagster import settings
from bp_nop_dagster.pairs import current_pair

if TYPE_CHECKING:
    import pandas as pd
    from pandas import DataFrame
else:
    # The Dagster type of asset inputs that are frames. Annotating an asset's input with
    # `pd.DataFrame` would import pandas whenever the code location loads, i.e. in every run
    # worker, the syncs' included; this type checks the same (a pandas DataFrame) and imports
    # pandas only when a value is checked.
    DataFrame = dg.DagsterType(
        name="DataFrame",
        description="A pandas DataFrame.",
        type_check_fn=lambda _context, value: _is_data_frame(value),
    )

PREVIEW_ROWS = 10
_EMAIL = re.compile(r"([A-Za-z0-9._%+\-]{1,2})[A-Za-z0-9._%+\-]*@([A-Za-z0-9.\-]+\.[A-Za-z]{2,})")
_TYPES = {"i": "int", "u": "int", "f": "float", "b": "bool", "M": "datetime", "m": "timedelta"}
# CommonMark lets any ASCII punctuation be backslash-escaped; escaping all of it also breaks
# GFM's bare autolinks (`https://`, `www.`, `a@b.c`) and inline HTML.
_MARKDOWN_ESCAPES = str.maketrans({c: "\\" + c for c in string.punctuation})


def _is_data_frame(value: object) -> bool:
    import pandas as pd
    return isinstance(value, pd.DataFrame)


def mask_email(text: str) -> str:
    """Keep the first two characters of the local part and the domain: `jo***@example.com`."""
    return _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)


def escape_markdown(text: str) -> str:
    """`text` shown literally in Markdown: punctuation escaped, line breaks as spaces."""
    return " ".join(text.translate(_MARKDOWN_ESCAPES).split())


def column_schema(frame: pd.DataFrame, descriptions: Mapping[str, str] | None = None) -> dg.TableSchema:
    """The frame's columns with their types and, where given, what each holds."""
    descriptions = descriptions or {}
    return dg.TableSchema(columns=[
        dg.TableColumn(name=str(name), type=_TYPES.get(dtype.kind, "string"), description=descriptions.get(str(name)))
        for name, dtype in frame.dtypes.items()
    ])


def preview_markdown(frame: pd.DataFrame, rows: int = PREVIEW_ROWS) -> str:
    """The first rows as a markdown table, emails masked, every value escaped (shown as text)."""
    if frame.empty:
        return "_no rows_"
    head = frame.head(rows).astype(object).where(frame.head(rows).notna(), "")
    header = "| " + " | ".join(escape_markdown(str(c)) for c in head.columns) + " |"
    rule = "|" + "---|" * len(head.columns)
    lines = [header, rule]
    for values in head.itertuples(index=False):
        lines.append("| " + " | ".join(escape_markdown(mask_email(str(v))) for v in values) + " |")
    if len(frame) > rows:
        lines.append(f"\n_{len(frame) - rows} more rows_")
    return "\n".join(lines)


def table_metadata(
    frame: pd.DataFrame, descriptions: Mapping[str, str] | None = None, **extra: dg.RawMetadataValue
) -> dict[str, dg.RawMetadataValue]:
    """`dagster/column_schema`, `dagster/row_count` and a masked preview for one table."""
    return {
        "dagster/column_schema": column_schema(frame, descriptions),
        "dagster/row_count": dg.MetadataValue.int(len(frame)),
        "preview": dg.MetadataValue.md(preview_markdown(frame)),
        **extra,
    }


def reports_dir() -> Path:
    """`$BP_NOP_REPORTS_DIR`, else `$DAGSTER_HOME/reports`, else `./reports`; with many pairs,
    the pair's own folder inside it (`reports/<pair>/`, bp_nop_dagster/pairs.py)."""
    configured = os.environ.get(settings.BP_NOP_REPORTS_DIR)
    home = os.environ.get(settings.DAGSTER_HOME)
    folder = Path(configured) if configured else Path(home) / "reports" if home else Path("reports")
    pair = current_pair().name
    return folder / pair if pair else folder


def write_report(frame: pd.DataFrame, name: str, *, excel: bool = False) -> list[Path]:
    """`<reports dir>/<name>.csv` (replaced on rerun), and with `excel` also `<name>.excel.csv`;
    the paths written.

    The CSV is RFC 4180 with every text cell quoted (a SKU with spaces or leading zeros stays what
    it is), numbers as numbers, times in ISO 8601 UTC, empty cells for missing values. The
    Excel-friendly copy is the same in UTF-8 with a byte-order mark and CRLF line ends, which
    Excel needs to read accents and line breaks correctly."""
    folder = reports_dir()
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{name}.csv"]
    _to_csv(frame, paths[0], encoding="utf-8", line_end="\n")
    if excel:
        paths.append(folder / f"{name}.excel.csv")
        _to_csv(frame, paths[1], encoding="utf-8-sig", line_end="\r\n")
    return paths


def _to_csv(frame: pd.DataFrame, path: Path, *, encoding: str, line_end: str) -> None:
    import pandas as pd
    out = frame.copy()
    for column, dtype in out.dtypes.items():
        if dtype.kind == "M":
            out[column] = out[column].map(lambda t: t.isoformat() if pd.notna(t) else None)
        elif dtype.kind not in "iufb":
            out[column] = out[column].astype(object).where(out[column].notna(), None)
    out.to_csv(path, index=False, quoting=csv.QUOTE_NONNUMERIC, encoding=encoding, lineterminator=line_end, na_rep="")


def report_files_metadata(paths: list[Path], name: str = "csv") -> dict[str, dg.RawMetadataValue]:
    """The report files for the asset's page: `name` (the CSV's path) and `name_link` (a file://
    link to open it); the Excel-friendly copy, if written, as `excel_name` and `excel_name_link`."""
    metadata: dict[str, dg.RawMetadataValue] = {}
    for path in paths:
        label = f"excel_{name}" if path.name.endswith(".excel.csv") else name
        resolved = path.resolve()
        metadata[label] = dg.MetadataValue.path(str(resolved))
        metadata[f"{label}_link"] = dg.MetadataValue.url(resolved.as_uri())
    return metadata
