"""Metadata for the Dagster UI: column schemas, row counts and short markdown previews.

Previews mask email addresses (`jo***@example.com`) and never include secrets or card data.
Every value in a preview is data, never markup: its Markdown punctuation is escaped, so a customer
named `[Refund here](https://...)` is shown as that text, not as a link.
"""

from __future__ import annotations

import re
import string

import dagster as dg
import pandas as pd

PREVIEW_ROWS = 10
_EMAIL = re.compile(r"([A-Za-z0-9._%+\-]{1,2})[A-Za-z0-9._%+\-]*@([A-Za-z0-9.\-]+\.[A-Za-z]{2,})")
_TYPES = {"i": "int", "u": "int", "f": "float", "b": "bool", "M": "datetime", "m": "timedelta"}
# CommonMark lets any ASCII punctuation be backslash-escaped; escaping all of it also breaks
# GFM's bare autolinks (`https://`, `www.`, `a@b.c`) and inline HTML.
_MARKDOWN_ESCAPES = str.maketrans({c: "\\" + c for c in string.punctuation})


def mask_email(text: str) -> str:
    """Keep the first two characters of the local part and the domain: `jo***@example.com`."""
    return _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)


def escape_markdown(text: str) -> str:
    """`text` shown literally in Markdown: punctuation escaped, line breaks as spaces."""
    return " ".join(text.translate(_MARKDOWN_ESCAPES).split())


def column_schema(frame: pd.DataFrame) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[dg.TableColumn(name=str(name), type=_TYPES.get(dtype.kind, "string")) for name, dtype in frame.dtypes.items()]
    )


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


def table_metadata(frame: pd.DataFrame, **extra: dg.RawMetadataValue) -> dict[str, dg.RawMetadataValue]:
    """`dagster/column_schema`, `dagster/row_count` and a masked preview for one table."""
    return {
        "dagster/column_schema": column_schema(frame),
        "dagster/row_count": dg.MetadataValue.int(len(frame)),
        "preview": dg.MetadataValue.md(preview_markdown(frame)),
        **extra,
    }
