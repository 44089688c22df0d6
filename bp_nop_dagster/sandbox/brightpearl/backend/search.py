"""The `*-search` engine every service's search resources share: columns, filters by column
type, sort, paging and the recorded reply shape (positional rows, `metaData`, `reference`).

Wire facts (docs/reference/brightpearl-api.md section 4; recordings order_search.json,
order_search_bad_param.json, product_search_bad_param.json): `columns=a,b`, `sort=col.ASC|DESC`,
`pageSize` (<= 500), 1-based `firstResult`; an empty result has no first/lastResult; a filter
value that does not parse as its column's type answers 500 CMNC-018 "The filter x=y cannot be
parsed as: TYPE". A column, sort or filter the resource does not have answers the same envelope
(the code and text for that case are inferred: `FidelityOptions.unknown_search_parameter`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bp_nop_dagster.sandbox.brightpearl.backend.common import (
    BrightpearlApiError,
    FidelityOptions,
    bad,
    fmt_value,
    in_ranges,
    parse_datetime,
    parse_idset,
)
from bp_nop_dagster.sandbox.instrumentation import json_bytes

RESERVED = {"columns", "sort", "pageSize", "firstResult"}
MAX_PAGE = 500


class Col:
    """One search column: name, report data type, how to read it from an item."""

    __slots__ = ("name", "type", "get", "sortable", "filterable", "meta")

    def __init__(self, name: str, type_: str, get: Callable[[Any], Any], *, sortable: bool = True,
                 filterable: bool = True, ref: tuple[str, ...] = ()) -> None:
        self.name = name
        self.type = type_
        self.get = get
        self.sortable = sortable
        self.filterable = filterable
        self.meta = {"name": name, "sortable": sortable, "filterable": filterable, "reportDataType": type_,
                     "referenceData": list(ref), "isFreeTextSearchable": False, "required": False}


class SearchSpec:
    """A search resource: its columns (in reply order), its items, the `reference` block of a
    page, and filters that are not columns (e.g. sales-order-search `productIds`)."""

    def __init__(self, cols: list[Col], items: Callable[[], list], *, reference: Callable[[list], dict] | None = None,
                 row: Callable[[Any], list] | None = None,
                 extra_filters: dict[str, tuple[str, Callable[[Any, Any], bool]]] | None = None,
                 row_json: Callable[[Any], bytes] | None = None,
                 presorted: dict[tuple[str, bool], Callable[[], list]] | None = None) -> None:
        self.cols = cols
        self.by_name = {c.name: c for c in cols}
        self.items = items
        self.reference = reference
        self.row = row or (lambda item: [fmt_value(c.get(item)) for c in cols])
        self.extra_filters = extra_filters or {}
        self.row_json = row_json  # cached serialized rows (immutable or versioned items)
        self.presorted = presorted or {}  # (column, descending) -> the items already in that order

    def meta_data(self) -> dict:
        """`GET /{resource}-search/meta-data`."""
        return {"response": {"columns": [c.meta for c in self.cols],
                             "sorting": [{"filterable": self.cols[0].meta, "direction": "ASC"}]}}


def _unparsable(name: str, raw: str, type_: str) -> BrightpearlApiError:
    return BrightpearlApiError(500, "CMNC-018", f"The filter {name}={raw} cannot be parsed as: {type_}")


def _unknown(what: str) -> BrightpearlApiError:
    # The recorded search-parameter error envelope; this text is inferred (no recording of the case).
    return BrightpearlApiError(500, "CMNC-018", f"{what} cannot be parsed: the resource has no such column")


def predicate(name: str, type_: str, raw: str, options: FidelityOptions) -> Callable[[Any], bool]:
    """Value predicate for a filter; unparsable -> 500 CMNC-018 (as recorded)."""
    if type_ == "IDSET":
        try:
            ranges = parse_idset(raw)
        except ValueError:
            raise _unparsable(name, raw, type_) from None
        return lambda v: v is not None and in_ranges(v, ranges)
    if type_ == "INTEGER":
        text = raw.strip()
        if not text.lstrip("-").isdigit():
            raise _unparsable(name, raw, type_)
        target = int(text)
        return lambda v: v == target
    if type_ == "BOOLEAN":
        low = raw.strip().lower()
        if low not in ("true", "false"):
            raise _unparsable(name, raw, type_)
        flag = low == "true"
        return lambda v: bool(v) == flag
    if type_ == "PERIOD":
        text = raw.strip()
        try:
            if "/" in text:
                start_s, _, end_s = text.partition("/")
                start = parse_datetime(start_s) if start_s.strip() else None
                end = parse_datetime(end_s, end_of_day=True) if end_s.strip() else None
                if start is None and end is None:
                    raise ValueError
            else:  # a single day/instant: that day (or exactly that instant)
                start = parse_datetime(text)
                end = parse_datetime(text, end_of_day=True)
        except (ValueError, TypeError):
            raise _unparsable(name, raw, type_) from None
        # The end bound is inferred (`period_filter_end`; inclusive is the safe reading for incremental
        # polling: a client re-reading its last timestamp sees a duplicate, never a gap).
        if options.period_filter_end == "exclusive":
            return lambda v: v is not None and (start is None or v >= start) and (end is None or v < end)
        return lambda v: v is not None and (start is None or v >= start) and (end is None or v <= end)
    if type_ == "SEARCH_STRING":
        needle = raw.strip().lower()
        return lambda v: v is not None and needle in str(v).lower()
    # STRING(_SET): exact match, ignoring case or not (inferred: `string_filter_case`).
    fold = str.lower if options.string_filter_case == "insensitive" else str
    if type_ == "STRING_SET":
        wanted = {fold(part.strip()) for part in raw.split(",")}
        return lambda v: v is not None and fold(str(v)) in wanted
    target = fold(raw.strip())
    return lambda v: v is not None and fold(str(v)) == target


def parse_sort(spec: SearchSpec, text: str, strict: bool) -> list[tuple[Col, bool]]:
    """`col.ASC,other.DESC` -> [(column, descending)]."""
    sorts: list[tuple[Col, bool]] = []
    for part in text.split(","):
        name, _, direction = part.strip().rpartition(".")
        if not name:
            name, direction = direction, "ASC"
        direction = direction.upper()
        col = spec.by_name.get(name)
        if col is None or direction not in ("ASC", "DESC") or not col.sortable:
            if strict:
                raise _unknown(f"The sort {part}")
            continue
        sorts.append((col, direction == "DESC"))
    return sorts


def run_search(spec: SearchSpec, query: Mapping[str, str], options: FidelityOptions, *, raw: bool = False) -> Any:
    """The search body as a dict, or (raw=True) as JSON bytes built from cached row bytes."""
    strict = options.unknown_search_parameter == "error"
    selected: list[int] | None = None
    if query.get("columns"):
        selected = []
        index = {c.name: i for i, c in enumerate(spec.cols)}
        for name in query["columns"].split(","):
            name = name.strip()
            if name in index:
                selected.append(index[name])
            elif strict:
                raise _unknown(f"The column {name}")
    sorts = parse_sort(spec, query["sort"], strict) if query.get("sort") else []
    # paging: a pageSize above 500 is clamped to 500 (inferred, `page_size_over_max`; clamping keeps
    # a client that paginates on morePagesAvailable correct either way).
    try:
        page_size = int(query.get("pageSize", MAX_PAGE))
        first = int(query.get("firstResult", 1))
    except ValueError:
        raise bad("CMNC-020", "pageSize and firstResult must be integers") from None
    if page_size < 1 or first < 1:
        raise bad("CMNC-020", "pageSize and firstResult must be at least 1")
    if page_size > MAX_PAGE and options.page_size_over_max == "error":
        raise bad("CMNC-020", f"pageSize must be at most {MAX_PAGE}")
    page_size = min(page_size, MAX_PAGE)
    predicates: list[Callable[[Any], bool]] = []
    for name, raw_value in query.items():
        if name in RESERVED:
            continue
        col = spec.by_name.get(name)
        if col is not None and col.filterable:
            check = predicate(name, col.type, raw_value, options)
            get = col.get
            predicates.append(lambda item, check=check, get=get: check(get(item)))
        elif name in spec.extra_filters:
            type_, fn = spec.extra_filters[name]
            check = predicate(name, type_, raw_value, options)
            predicates.append(lambda item, check=check, fn=fn: fn(item, check))
        elif strict:
            raise _unknown(f"The filter {name}={raw_value}")
    ready = spec.presorted.get((sorts[0][0].name, sorts[0][1])) if len(sorts) == 1 else None
    items = ready() if ready is not None else spec.items()
    if predicates:
        items = [item for item in items if all(p(item) for p in predicates)]
    for col, desc in reversed(sorts if ready is None else []):
        get = col.get
        present = [item for item in items if get(item) is not None]
        missing = [item for item in items if get(item) is None]
        present.sort(key=get, reverse=desc)
        items = present + missing
    total = len(items)
    page = items[first - 1 : first - 1 + page_size]
    fast = raw and spec.row_json is not None and selected is None
    rows = [] if fast else [spec.row(item) for item in page]
    cols = spec.cols
    if selected is not None:
        rows = [[row[i] for i in selected] for row in rows]
        cols = [spec.cols[i] for i in selected]
    meta: dict[str, Any] = {
        "morePagesAvailable": first - 1 + len(page) < total,
        "resultsAvailable": total,
        "resultsReturned": len(page),
    }
    if page:
        meta["firstResult"] = first
        meta["lastResult"] = first + len(page) - 1
    meta["columns"] = [c.meta for c in cols]
    meta["sorting"] = [{"filterable": c.meta, "direction": "DESC" if d else "ASC"} for c, d in sorts] or [
        {"filterable": spec.cols[0].meta, "direction": "ASC"}
    ]
    body: dict[str, Any] = {"response": {"results": rows, "metaData": meta}}
    body["reference"] = spec.reference(page) if spec.reference else {}
    if not raw:
        return body
    encoded = json_bytes(body)
    if fast and page:
        row_json = spec.row_json
        assert row_json is not None
        encoded = encoded.replace(b'"results":[]', b'"results":[' + b",".join([row_json(item) for item in page]) + b"]", 1)
    return encoded
