"""Cassettes: live replies recorded by `bp-nop probe --record DIR`, scrubbed, in the vendored
recordings' format (`{"source", "interactions": [{method, path, query, request_body, status,
headers, body}]}`), so the contract tests replay them like the recordings.

Scrubbing (before anything is written):
- no request headers are kept at all (no token, no Authorization); of the reply's headers only
  the content and Brightpearl quota ones;
- the account code in Brightpearl paths becomes `<ACCOUNT>`;
- every email address, anywhere, becomes `personN@example.invalid` (the same address the same N
  across the whole recording, so "two records share an email" survives);
- values of personal fields (names, phones, addresses, companies, IP addresses, free-text
  comments, card data) become `***` (dates: a fixed date), in objects by key and in Brightpearl
  search rows by column name;
- finally every secret value (tokens, password, app reference, API user email) is replaced by
  `***` in the serialized text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bp_nop_dagster.probe.endpoints import BRIGHTPEARL, ENDPOINTS, NOPCOMMERCE, Endpoint
from bp_nop_dagster.transport.transport import json_bytes

API_ROOT = {BRIGHTPEARL: "/public-api/<ACCOUNT>", NOPCOMMERCE: "/api-backend"}
KEPT_HEADERS = ("content-type", "message-type", "brightpearl-requests-remaining", "brightpearl-next-throttle-period")
EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
MASKED_EMAIL = re.compile(r"person\d+@example\.invalid")
MASK = "***"
MASKED_DATE = "2000-01-01T00:00:00"
# Personal fields, by key with case, `_` and `-` ignored (nopCommerce DTOs are snake_case,
# Brightpearl camelCase; Brightpearl contact-search columns pri/sec/mob are phone numbers).
PERSONAL_KEYS = frozenset({
    "firstname", "lastname", "fullname", "addressfullname", "username", "title", "salutation", "gender", "dateofbirth",
    "company", "companyname", "exactcompanyname", "address1", "address2", "addressline1", "addressline2", "addressline3",
    "addressline4", "streetaddress", "streetaddress2", "city", "county", "zippostalcode", "postalcode", "phone",
    "phonenumber", "fax", "faxnumber", "telephone", "mobiletelephone", "pri", "sec", "mob", "customerip",
    "lastipaddress", "ipaddress", "vatnumber", "admincomment", "customercomments", "staffnotes",
    "customattributes", "customcustomerattributesxml", "checkoutattributedescription", "customvaluesxml",
    "cardname", "cardnumber", "cardcvv2", "cardtype", "cardexpirationmonth", "cardexpirationyear", "maskedcreditcardnumber",
})


def _normal(key: str) -> str:
    return key.replace("_", "").replace("-", "").lower()


class Scrubber:
    """Masks personal data and secrets; one instance per recording, so email numbering is stable."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._emails: dict[str, str] = {}
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def email(self, address: str) -> str:
        key = address.lower()
        if key not in self._emails:
            self._emails[key] = f"person{len(self._emails) + 1}@example.invalid"
        return self._emails[key]

    def text(self, value: str) -> str:
        return EMAIL.sub(lambda m: m.group(0) if MASKED_EMAIL.fullmatch(m.group(0)) else self.email(m.group(0)), value)

    def value(self, value: Any, personal: bool = False) -> Any:
        if isinstance(value, dict):
            return self._object(value)
        if isinstance(value, list):
            return [self.value(v, personal) for v in value]
        if isinstance(value, str):
            if personal and value:
                return MASKED_DATE if _is_datetime(value) else MASK
            return self.text(value)
        return value

    def _object(self, value: dict) -> dict:
        search = value.get("metaData") if isinstance(value.get("metaData"), dict) else None
        if search is not None and isinstance(value.get("results"), list):
            return self._search(value, search)
        return {key: self.value(item, _normal(key) in PERSONAL_KEYS) for key, item in value.items()}

    def _search(self, value: dict, meta: dict) -> dict:
        names = [str(c.get("name")) if isinstance(c, dict) else "" for c in meta.get("columns") or []]
        personal = [_normal(name) in PERSONAL_KEYS for name in names]
        rows = [
            [self.value(cell, personal[i] if i < len(personal) else False) for i, cell in enumerate(row)] if isinstance(row, list) else row
            for row in value["results"]
        ]
        return {k: rows if k == "results" else self.value(v) for k, v in value.items()}

    def secrets(self, serialized: str) -> str:
        for secret in self._secrets:
            serialized = serialized.replace(secret, MASK)
        return serialized


def _is_datetime(value: str) -> bool:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Recorded:
    """One successful reply as the probe saw it (before scrubbing)."""

    endpoint: Endpoint
    path: str  # filled, relative to the API root
    params: Mapping[str, str]
    status: int
    headers: Mapping[str, str]
    body: Any


def cassette_name(endpoint: Endpoint) -> str:
    """`GET /product-service/product/{idset}` -> `get_product_service_product_idset.json`."""
    return re.sub(r"[^a-z0-9]+", "_", endpoint.name.lower()).strip("_") + ".json"


def interaction(recorded: Recorded, scrubber: Scrubber) -> dict[str, Any]:
    headers = {name: recorded.headers[name] for name in KEPT_HEADERS if name in recorded.headers}
    return {
        "method": recorded.endpoint.method,
        "path": API_ROOT[recorded.endpoint.system] + recorded.path,
        "query": scrubber.text(urlencode(dict(recorded.params))),
        "request_body": None,
        "status": recorded.status,
        "headers": headers,
        "body": scrubber.value(recorded.body),
    }


def write_cassettes(directory: Path, recordings: Iterable[Recorded], scrubber: Scrubber) -> list[Path]:
    """One cassette per endpoint under `directory/<system>/`; returns the files written."""
    written: list[Path] = []
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    for recorded in recordings:
        folder = Path(directory) / recorded.endpoint.system
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / cassette_name(recorded.endpoint)
        cassette = {"source": f"bp-nop probe --record, {stamp}, {recorded.endpoint.name}", "interactions": [interaction(recorded, scrubber)]}
        path.write_text(scrubber.secrets(json_bytes(cassette, indent=1).decode("utf-8")) + "\n", encoding="utf-8")
        written.append(path)
    return written


# --------------------------------------------------------------------------------- replay


def _pattern(endpoint: Endpoint) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", endpoint.path)
    body = "".join("[^/]+" if part.startswith("{") else re.escape(part) for part in parts)
    return re.compile(rf"{body}/?")


_PATTERNS = [(e, _pattern(e)) for e in ENDPOINTS]
_ROOT = re.compile(r"^(?:/public-api/[^/]+|/api-backend)")


def endpoint_for(method: str, path: str) -> Endpoint | None:
    """The probe's endpoint a recorded `method path` (with its API root) belongs to, if any."""
    system = BRIGHTPEARL if path.startswith("/public-api/") else NOPCOMMERCE if path.startswith("/api-backend") else None
    relative = _ROOT.sub("", path)
    for endpoint, pattern in _PATTERNS:
        if endpoint.system == system and endpoint.method == method and pattern.fullmatch(relative):
            return endpoint
    return None
