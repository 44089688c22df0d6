"""The mapping file written from suggestions: the shape of `mapping/default_mapping.yaml`, every
value commented with where it came from (confirmed by a person, or suggested with its score and
evidence). A value nothing settles is written as a comment (`# 20: ?  UNMAPPED ...` with the
candidates), so the file fails to load naming exactly that key until a person fills it in
(`load_mapping_config` / `parse_mapping_config` say which). Policy keys that are not reference
data (payment actions, shipping status codes, price mode, ...) get the documented defaults.

`config_values(config)` is the inverse: every (table, source) -> value of a loaded mapping, to
compare suggestions with what is confirmed (a confirmed value never changes silently).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import yaml

from bp_nop_dagster.mapping.config import NOP_ORDER_STATUSES, MappingConfig
from bp_nop_dagster.mapping.contacts import ISO2_TO_ISO3
from bp_nop_dagster.quality.mapping_suggestions import (
    AWAITING_PAYMENT_STATUS,
    CHANNEL,
    COUNTRY,
    CURRENCY,
    EXEMPT_TAX_CODE,
    NOMINAL_CODE,
    NOMINAL_ROWS,
    NOP_WAREHOUSE,
    ORDER_STATUS,
    PAYMENT_METHOD,
    PRICE_LIST,
    SHIPPING_DEFAULT,
    SHIPPING_METHOD,
    TAX_RATE,
    WAREHOUSE,
    MappingSuggestions,
    Suggestion,
)

Key = tuple[str, Any]


def _scalar(value: Any) -> str:
    """A YAML scalar that reads back as `value` (bare when safe, else a JSON string)."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    if isinstance(value, str):
        try:
            if yaml.safe_load(value) == value and value.strip() == value and value:
                return value
        except yaml.YAMLError:
            pass
        return json.dumps(value)
    return json.dumps(value)


def _comment(text: str) -> str:
    return " ".join(text.split()).replace("#", "No.")


class _Writer:
    def __init__(self, suggestions: MappingSuggestions, confirmed: Mapping[Key, Any]) -> None:
        self.suggestions = suggestions
        self.confirmed = dict(confirmed)
        self.lines: list[str] = []

    def value(self, table: str, source: Any) -> tuple[Any, str] | None:
        """(value, comment) for one entry, or None when unmapped."""
        if (table, source) in self.confirmed:
            return self.confirmed[(table, source)], "confirmed"
        found = self.suggestions.get(table, source)
        if found is None or found.choice is None:
            return None
        choice = found.choice
        return choice.target, f"{found.source_label} -> {choice.label} (suggested, score {choice.score:.2f}: {'; '.join(choice.evidence)})"

    def unmapped(self, table: str, source: Any) -> str:
        found = self.suggestions.get(table, source)
        if found is None:
            return "UNMAPPED: no suggestion"
        options = ", ".join(f"{c.target} {c.label} {c.score:.2f}" for c in found.candidates) or "no candidates"
        return f"UNMAPPED ({found.status}: {found.note}); candidates: {options}"

    def entry(self, indent: int, key: Any, table: str, source: Any) -> Any:
        pad = " " * indent
        got = self.value(table, source)
        if got is None:
            self.lines.append(f"{pad}# {_scalar(key)}: ?   # {_comment(self.unmapped(table, source))}")
            return None
        value, note = got
        self.lines.append(f"{pad}{_scalar(key)}: {_scalar(value)}   # {_comment(note)}")
        return value

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)


def render_mapping_yaml(suggestions: MappingSuggestions, confirmed: Mapping[Key, Any] | None = None) -> str:
    """The mapping file's text (see the module docstring). `confirmed` holds a person's choices
    by (table, source) and wins over any suggestion."""
    w = _Writer(suggestions, confirmed or {})
    w.add("# nopCommerce -> Brightpearl mapping, written from suggestions (bp_nop_dagster/quality).",
          "# Every value says where it came from: `confirmed` (a person chose it) or `suggested` with its score",
          "# and evidence. Check each suggested value; an UNMAPPED line must be filled in before the file loads.",
          "# The keys are documented in bp_nop_dagster/mapping/default_mapping.yaml.",
          "",
          "order_status:",
          "  by_order_status:")
    statuses = {s: w.entry(4, s, ORDER_STATUS, s) for s in NOP_ORDER_STATUSES}
    w.add("  # Orders whose payment has not arrived yet (policy: the documented default lists).")
    awaiting = w.value(AWAITING_PAYMENT_STATUS, "awaiting")
    if awaiting is None:
        w.add(f"  # awaiting_payment_status_id: ?   # {_comment(w.unmapped(AWAITING_PAYMENT_STATUS, 'awaiting'))}")
    else:
        w.add(f"  awaiting_payment_status_id: {_scalar(awaiting[0])}   # {_comment(awaiting[1])}",
              "  awaiting_payment_when_payment_status: [10]    # 10 Pending",
              "  awaiting_payment_for_order_status: [10, 20]   # Pending, Processing")
    w.add("",
          "# Policy, not reference data: the documented defaults (see default_mapping.yaml).",
          "payment_status:", "  10: none", "  20: auth", "  30: receipt", "  35: receipt", "  40: none", "  50: none",
          "shipping_status:",
          "  to_brightpearl: {10: NST, 20: SNS, 25: SPS, 30: ASS, 40: ASS}",
          "  from_brightpearl: {NST: 10, SNS: 20, SPS: 25, ASS: 30}",
          "",
          "fulfilment:")
    if statuses.get(40) is not None:
        w.add("  on_order_status:", f"    {_scalar(statuses[40])}: cancel   # the status nopCommerce's Cancelled maps to")
    else:
        w.add("  on_order_status: {}   # no cancelled status mapped yet")
    w.add("  notify_customer: true", "")
    w.entry(0, "channel_id", CHANNEL, "web")
    w.entry(0, "warehouse_id", WAREHOUSE, "default")
    w.entry(0, "price_list_id", PRICE_LIST, "retail")
    w.add("price_mode: EXC   # policy: rows carry net and tax")
    w.entry(0, "currency_code", CURRENCY, "primary")
    w.add("", "tax_codes:")
    for s in w.suggestions.table(TAX_RATE):
        w.entry(2, s.source, TAX_RATE, s.source)
    for (table, source), _ in w.confirmed.items():
        if table == TAX_RATE and w.suggestions.get(table, source) is None:
            w.entry(2, source, TAX_RATE, source)
    w.entry(0, "exempt_tax_code", EXEMPT_TAX_CODE, "exempt")
    w.add("", "shipping_methods:")
    w.entry(2, "default", SHIPPING_DEFAULT, "default")
    names = [s.source for s in w.suggestions.table(SHIPPING_METHOD)]
    mapped = [n for n in names if w.value(SHIPPING_METHOD, n) is not None]
    w.add("  by_name:" if mapped else "  by_name: {}")
    for name in names:
        w.entry(4, name, SHIPPING_METHOD, name)
    methods = [s.source for s in w.suggestions.table(PAYMENT_METHOD)]
    w.add("", "payment_methods:" if any(w.value(PAYMENT_METHOD, m) for m in methods) else "payment_methods: {}")
    for method in methods:
        w.entry(2, method, PAYMENT_METHOD, method)
    w.add("authorization_expiry_days: 7   # policy", "", "nominal_codes:")
    for row in NOMINAL_ROWS:
        w.entry(2, row, NOMINAL_CODE, row)
    w.add("discount_allocation: spread   # policy", "placeholder_sku: NOP-UNMAPPED   # policy: create this product in Brightpearl")
    extra = [s for s in w.suggestions.table(COUNTRY) if s.choice and ISO2_TO_ISO3.get(s.source) != s.choice.target]
    w.add("countries:" if extra else "countries: {}   # every nopCommerce country is built in")
    for s in extra:
        w.entry(2, s.source, COUNTRY, s.source)
    w.add("installed_integration_instance_id:   # empty: the one Brightpearl names in its replies",
          'external_ref_prefix: "nop-"', "", "stock:")
    nop_warehouses = [s.source for s in w.suggestions.table(NOP_WAREHOUSE)]
    targets = {n: w.value(NOP_WAREHOUSE, n) for n in nop_warehouses}
    counted = sorted({v[0] for v in targets.values() if v is not None})
    if counted:
        w.add(f"  brightpearl_warehouses: {json.dumps(counted)}   # the warehouses nopCommerce's warehouses map to")
    else:
        default = w.value(WAREHOUSE, "default")
        w.add(f"  brightpearl_warehouses: [{default[0]}]   # the default warehouse" if default else
              "  # brightpearl_warehouses: ?   # UNMAPPED: no warehouse mapped")
    if any(v is not None for v in targets.values()):
        w.add("  nop_warehouses:")
        for nop_id in nop_warehouses:
            got = targets[nop_id]
            if got is None:
                w.add(f"    # {nop_id}: ?   # {_comment(w.unmapped(NOP_WAREHOUSE, nop_id))}")
            else:
                w.add(f"    {nop_id}: [{_scalar(got[0])}]   # {_comment(got[1])}")
    w.add("  buffer: 0", "")
    return "\n".join(w.lines)


def config_values(config: MappingConfig) -> dict[Key, Any]:
    """Every (table, source) -> value the mapping holds, in the suggestions' terms."""
    out: dict[Key, Any] = {(ORDER_STATUS, k): v for k, v in config.order_status.by_order_status.items()}
    if config.order_status.awaiting_payment_status_id is not None:
        out[(AWAITING_PAYMENT_STATUS, "awaiting")] = config.order_status.awaiting_payment_status_id
    out[(CHANNEL, "web")] = config.channel_id
    out[(WAREHOUSE, "default")] = config.warehouse_id
    for nop_id, bp_ids in config.stock.nop_warehouses.items():
        if len(bp_ids) == 1:
            out[(NOP_WAREHOUSE, nop_id)] = bp_ids[0]
    out[(PRICE_LIST, "retail")] = config.price_list_id
    out[(CURRENCY, "primary")] = config.currency_code
    out.update({(TAX_RATE, Decimal(rate)): code for rate, code in config.tax_codes.items()})
    out[(EXEMPT_TAX_CODE, "exempt")] = config.exempt_tax_code
    out[(SHIPPING_DEFAULT, "default")] = config.shipping_methods.default
    out.update({(SHIPPING_METHOD, name): method for name, method in config.shipping_methods.by_name.items()})
    out.update({(PAYMENT_METHOD, name): code for name, code in config.payment_methods.items()})
    out.update({(NOMINAL_CODE, row): code for row, code in config.nominal_codes.model_dump().items()})
    for iso2, iso3 in {**ISO2_TO_ISO3, **config.countries}.items():
        out[(COUNTRY, iso2)] = iso3
    return out


def changed_values(suggestions: MappingSuggestions, config: MappingConfig) -> list[tuple[Suggestion, Any]]:
    """Confident suggestions that differ from what `config` already holds: each is a change a
    person must confirm, never one to apply silently."""
    current = config_values(config)
    return [(s, current[(s.table, s.source)]) for s in suggestions.suggestions
            if s.choice is not None and (s.table, s.source) in current and current[(s.table, s.source)] != s.choice.target]


__all__ = ["changed_values", "config_values", "render_mapping_yaml"]
