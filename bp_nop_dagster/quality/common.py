"""What every data-quality engine shares: severities, the issue row, and text normalisation."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass
from enum import StrEnum
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd



class Severity(StrEnum):
    """ERROR: the record should not go on unreviewed (a blocking check); WARN: worth a look."""

    ERROR = "ERROR"
    WARN = "WARN"


@dataclass(frozen=True)
class Issue:
    """One finding about one field of one record. `value` is the original, never rewritten;
    `suggestion` is what a person might change it to (empty when there is nothing to suggest)."""

    record_id: str
    field: str
    code: str
    severity: Severity
    message: str
    value: str | None = None
    suggestion: str | None = None


ISSUE_COLUMNS = ["record_id", "field", "code", "severity", "message", "value", "suggestion"]


def issues_frame(issues: list[Issue]) -> pd.DataFrame:
    """The issues table: one row per issue, columns `ISSUE_COLUMNS` (also when empty)."""
    import pandas as pd
    rows: list[dict[str, Any]] = [{**asdict(issue), "severity": issue.severity.value} for issue in issues]
    return pd.DataFrame(rows, columns=ISSUE_COLUMNS)


_NON_WORD = re.compile(r"[^0-9a-z]+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def ascii_fold(text: str | None) -> str:
    """Accents and compatibility forms removed (NFKD), lower-cased: "Zoë Groß" -> "zoe gross"."""
    folded = unicodedata.normalize("NFKD", (text or "").replace("ß", "ss").replace("ø", "o").replace("Ø", "O")
                                    .replace("ł", "l").replace("Ł", "L").replace("đ", "d").replace("æ", "ae"))
    return "".join(ch for ch in folded if not unicodedata.combining(ch)).lower()


def words(text: str | None, *, split_camel: bool = False) -> list[str]:
    """The words of `text`: camel case split on request ("CheckMoneyOrder" -> check money order),
    accents folded, anything but letters and digits a separator."""
    return list(_words(text or "", split_camel))


@lru_cache(maxsize=65536)
def _words(text: str, split_camel: bool) -> tuple[str, ...]:
    raw = _CAMEL.sub(" ", text) if split_camel else text
    return tuple(w for w in _NON_WORD.split(ascii_fold(raw)) if w)


__all__ = ["ISSUE_COLUMNS", "Issue", "Severity", "ascii_fold", "issues_frame", "words"]
