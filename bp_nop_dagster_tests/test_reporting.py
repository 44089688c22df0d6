import csv
import html
import re

import pandas as pd
import pytest
from markdown_it import MarkdownIt

from bp_nop_dagster.reporting import column_schema, mask_email, preview_markdown, table_metadata, write_report
from bp_nop_dagster.sync.report_table import Column, typed_frame


def rendered_cells(preview: str) -> tuple[list[str], str]:
    """The preview through a CommonMark renderer with GFM tables (markdown-it-py, which Dagster's
    `rich` dependency installs): each body cell's text, and the whole HTML."""
    page = MarkdownIt("commonmark").enable("table").render(preview)
    return [html.unescape(cell) for cell in re.findall(r"<td>(.*?)</td>", page)], page


@pytest.mark.parametrize(
    "text, masked",
    [
        ("jane.doe@example.com", "ja***@example.com"),
        ("J@Example.COM", "J***@Example.COM"),
        ("contact: Zoë <zoe.x+tag@mail.test>", "contact: Zoë <zo***@mail.test>"),
        ("no email here", "no email here"),
    ],
)
def test_mask_email(text, masked):
    assert mask_email(text) == masked


def test_preview_masks_emails_and_escapes_pipes():
    frame = pd.DataFrame({"email": ["anna.smith@example.com"], "note": ["a|b"]})
    preview = preview_markdown(frame)
    assert "anna.smith" not in preview
    assert rendered_cells(preview)[0] == ["an***@example.com", "a|b"]


@pytest.mark.parametrize("name", [
    "[Refund here](https://evil.example/pay)", "![x](https://evil.example/t.png)", "<a href='https://evil.example'>hi</a>",
    "**Urgent** _call_ `now`", "# Heading", "https://evil.example/bare", "www.evil.example", "Tom & Jerry &amp; co",
])
def test_a_customer_name_is_shown_as_text_never_as_markup(name):
    """Rule (issue 12, E): a value is data. Rendered, the cell's text is exactly the value, and the
    HTML holds no link, image, emphasis, code or tag made from it."""
    cells, page = rendered_cells(preview_markdown(pd.DataFrame({"customer": [name], "total": ["12.50"]})))
    assert cells == [name, "12.50"]
    assert not re.search(r"<(a|img|strong|em|code|h1)\b", page)


def test_preview_says_how_many_rows_are_not_shown():
    assert "_5 more rows_" in preview_markdown(pd.DataFrame({"n": range(15)}))
    assert preview_markdown(pd.DataFrame({"n": []})) == "_no rows_"


def test_table_metadata_has_schema_and_row_count():
    frame = pd.DataFrame({"id": [1, 2], "price": [1.5, 2.0], "sku": ["a", "b"]})
    metadata = table_metadata(frame)
    assert metadata["dagster/row_count"].value == 2
    assert [(c.name, c.type) for c in column_schema(frame).columns] == [("id", "int"), ("price", "float"), ("sku", "string")]


def test_report_csv_quotes_text_keeps_numbers_and_the_excel_copy_has_a_bom(tmp_path, monkeypatch):
    """RFC 4180: a quoted field keeps its spaces and leading zeros; Excel reads UTF-8 only with a byte-order mark."""
    monkeypatch.setenv("BP_NOP_REPORTS_DIR", str(tmp_path))
    columns = [Column("sku", "str", "SKU"), Column("units", "int", "units"), Column("amount", "float", "money"),
               Column("ok", "bool", "flag"), Column("at", "datetime", "time")]
    frame = typed_frame([{"sku": " 007 Blue ", "units": 3, "amount": "1.10", "ok": True, "at": "2026-03-02T10:00:00Z"},
                         {"sku": "Zoë", "units": None, "amount": None, "ok": None, "at": None}], columns)
    plain, excel = write_report(frame, "r", excel=True)
    assert plain.read_bytes().splitlines()[1] == b'" 007 Blue ",3,1.1,True,"2026-03-02T10:00:00+00:00"'
    rows = list(csv.reader(plain.open(encoding="utf-8")))
    assert rows[1][0] == " 007 Blue " and rows[2][0] == "Zoë"
    assert excel.read_bytes().startswith(b"\xef\xbb\xbf") and b"\r\n" in excel.read_bytes()
    assert [str(t) for t in frame.dtypes] == ["string", "Int64", "float64", "boolean", str(frame["at"].dtype)]


def test_column_descriptions_reach_the_schema():
    schema = column_schema(pd.DataFrame({"a": [1]}), {"a": "what a holds"})
    assert [(c.name, c.type, c.description) for c in schema.columns] == [("a", "int", "what a holds")]
