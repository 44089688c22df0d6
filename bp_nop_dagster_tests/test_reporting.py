import pandas as pd
import pytest

from bp_nop_dagster.reporting import column_schema, mask_email, preview_markdown, table_metadata


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
    assert "an***@example.com" in preview
    assert "a\\|b" in preview


def test_preview_says_how_many_rows_are_not_shown():
    assert "_5 more rows_" in preview_markdown(pd.DataFrame({"n": range(15)}))
    assert preview_markdown(pd.DataFrame({"n": []})) == "_no rows_"


def test_table_metadata_has_schema_and_row_count():
    frame = pd.DataFrame({"id": [1, 2], "price": [1.5, 2.0], "sku": ["a", "b"]})
    metadata = table_metadata(frame)
    assert metadata["dagster/row_count"].value == 2
    assert [(c.name, c.type) for c in column_schema(frame).columns] == [("id", "int"), ("price", "float"), ("sku", "string")]
