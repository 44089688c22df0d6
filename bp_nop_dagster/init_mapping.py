"""`bp-nop init`: write a first mapping file from both systems (issue 16; README, "Data quality").

Reads nopCommerce's side (stores, warehouses, countries, and from the orders of the last
`--days`: payment methods, shipping methods, tax rates, the primary currency = the currency of
orders at rate 1) and Brightpearl's reference data (order statuses, payment and shipping methods,
tax codes, warehouses, channels, price lists, nominal codes), plus the orders already in both
systems (Brightpearl orders whose externalRef starts with the prefix, `nop-<id>`, up to
`--linked`): their statuses, channel, warehouse, price list, shipping method, payment method
codes and rows (tax rate -> tax code, row kind -> nominal code) are the co-occurrence evidence. `quality.mapping_suggestions` suggests, `quality.mapping_yaml`
writes the commented YAML: each value with its score and evidence, ties and low scores left as
`# key: ?  UNMAPPED ...` comments (the file then fails to load naming them until a person fills
them in). The file written turns `quality.require_mapped_values` on: a value of a new order the
file does not map fails the order run's blocking check, naming it. Reads only; writes one file.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TextIO

from bp_nop_dagster import settings
from bp_nop_dagster.brightpearl.client import BrightpearlClient
from bp_nop_dagster.nopcommerce.client import NopCommerceClient
from bp_nop_dagster.quality.mapping_suggestions import (
    ABSTAIN,
    CONFIDENT,
    BrightpearlReference,
    LinkedOrder,
    MappingSuggestions,
    NominalCode,
    NopCountry,
    NopPaymentMethod,
    NopReference,
    NopStore,
    NopWarehouse,
    suggest_mapping,
)
from bp_nop_dagster.quality.mapping_yaml import render_mapping_yaml

#: nopCommerce's own payment plugins: SystemName -> FriendlyName (each plugin's plugin.json,
#: nopSolutions/nopCommerce src/Plugins/Nop.Plugin.Payments.*). Other plugins are read by their system name.
KNOWN_PAYMENT_PLUGINS = {
    "Payments.Manual": "Credit Card",
    "Payments.PayPalStandard": "PayPal Standard",
    "Payments.CheckMoneyOrder": "Check / Money Order",
    "Payments.PurchaseOrder": "Purchase Order",
}
QUALITY_SECTION = """
# Data quality (see default_mapping.yaml): a value of a new order this file does not map fails the
# order run's blocking check `pending_orders_are_mapped`, naming it, and nothing is sent until it is.
quality:
  require_mapped_values: true
  hold_invalid_contacts: false
"""
SANDBOX_DOMAINS = "  allow_test_domains: true   # the sandbox's shoppers use .test domains\n"


def nop_reference(nop: NopCommerceClient, orders) -> NopReference:
    """nopCommerce's side from its stores, warehouses, countries and `orders` (their values)."""
    methods = sorted({o.payment_method_system_name for o in orders if o.payment_method_system_name} | set(KNOWN_PAYMENT_PLUGINS))
    primary = Counter(o.customer_currency_code for o in orders if o.customer_currency_code and o.currency_rate == 1)
    return NopReference(
        currency_code=primary.most_common(1)[0][0] if primary else "",
        payment_methods=tuple(NopPaymentMethod(m, KNOWN_PAYMENT_PLUGINS.get(m)) for m in methods),
        shipping_methods=tuple(sorted({o.shipping_method for o in orders if o.shipping_method})),
        tax_rates=tuple(sorted({Decimal(r) for o in orders for r in o.tax_rates}, reverse=True)),
        stores=tuple(NopStore(s.id, s.name or "", s.url) for s in nop.stores()),
        warehouses=tuple(NopWarehouse(w.id, w.name or "") for w in nop.warehouses()),
        countries=tuple(NopCountry(c.two_letter_iso_code, c.three_letter_iso_code, c.name or "") for c in nop.countries()
                        if c.two_letter_iso_code and c.three_letter_iso_code),
    )


def brightpearl_reference(bp: BrightpearlClient) -> BrightpearlReference:
    nominal = bp.get("/accounting-service/nominal-code") or []
    return BrightpearlReference(
        order_statuses=tuple(bp.order_statuses()), payment_methods=tuple(bp.payment_methods()),
        shipping_methods=tuple(bp.shipping_methods()), tax_codes=tuple(bp.tax_codes()), warehouses=tuple(bp.warehouses()),
        channels=tuple(bp.channels()), price_lists=tuple(bp.price_lists()),
        nominal_codes=tuple(NominalCode(str(n["code"]), n.get("name") or "") for n in nominal if isinstance(n, dict) and n.get("code")),
    )


def linked_orders(nop: NopCommerceClient, bp: BrightpearlClient, *, prefix: str = "nop-", limit: int = 200) -> list[LinkedOrder]:
    """Orders present in both systems: Brightpearl sales orders whose externalRef is
    `<prefix><nop order id>`, newest first, up to `limit`."""
    rows = bp.search("/order-service/order-search", columns=["orderId", "externalRef"], sort="orderId.DESC")
    pairs: dict[int, int] = {}
    for row in rows:
        ref = str(row.get("externalRef") or "")
        if ref.startswith(prefix) and ref[len(prefix):].isdigit():
            pairs.setdefault(int(ref[len(prefix):]), int(row["orderId"]))
        if len(pairs) >= limit:
            break
    if not pairs:
        return []
    nop_orders = nop.lookup_orders(pairs).found
    bp_orders = {o.id: o for o in bp.orders(pairs.values())}
    codes: dict[int, str] = {}
    for payment in bp.customer_payment_search(order_ids=pairs.values()):
        if payment.order_id is not None and payment.payment_method_code:
            codes.setdefault(payment.order_id, payment.payment_method_code)
    out = []
    for nop_id, bp_id in pairs.items():
        order, bp_order = nop_orders.get(nop_id), bp_orders.get(bp_id)
        if order is None or bp_order is None:
            continue
        out.append(LinkedOrder(
            nop_order_status_id=order.order_status_id, nop_payment_status_id=order.payment_status_id,
            nop_payment_method=order.payment_method_system_name, nop_shipping_method=order.shipping_method,
            nop_store_id=order.store_id, bp_status_id=bp_order.status_id, bp_payment_method_code=codes.get(bp_id),
            bp_shipping_method_id=bp_order.shipping_method_id, bp_channel_id=bp_order.channel_id,
            bp_warehouse_id=bp_order.warehouse_id, bp_price_list_id=bp_order.price_list_id,
            **row_pairs(bp_order),
        ))
    return out


#: Row kinds as this integration books them (mapping/orders.py: product rows, then rows whose
#: externalRef is "shipping", "payment-fee" or "discount-<rate>").
ROW_KINDS = {"shipping": "shipping", "payment-fee": "payment_fee"}


def row_pairs(order) -> dict:
    """The rows' (tax rate, tax code) and (row kind, nominal code) pairs of one Brightpearl order.
    The rate is the row's own taxRate, else its tax over its net (to 0.01 %)."""
    tax, nominal = [], []
    for row in order.rows:
        ref = row.external_ref or ""
        kind = ROW_KINDS.get(ref) or ("discount" if ref.startswith("discount") else "sales" if row.product_id else None)
        if kind and row.nominal_code:
            nominal.append((kind, str(row.nominal_code)))
        rate = row.tax_rate if row.tax_rate is not None else (row.row_tax / row.row_net * 100 if row.row_net else None)
        if rate is not None and row.tax_code and kind != "discount":
            tax.append((Decimal(rate).quantize(Decimal("0.01")).normalize(), row.tax_code))
    return {"tax_pairs": tuple(tax), "nominal_pairs": tuple(nominal)}


def suggest_from_systems(nop: NopCommerceClient, bp: BrightpearlClient, *, days: int = 90, linked: int = 200,
                         now: datetime | None = None) -> tuple[MappingSuggestions, int, int]:
    """(suggestions, orders read, linked orders used)."""
    now = now or datetime.now(UTC)
    orders = list(nop.orders_created_between(now - timedelta(days=days), now))
    both = linked_orders(nop, bp, limit=linked) if linked else []
    return suggest_mapping(nop_reference(nop, orders), brightpearl_reference(bp), both), len(orders), len(both)


def write_mapping(suggestions: MappingSuggestions, path: Path, *, sandbox: bool = False) -> str:
    text = render_mapping_yaml(suggestions) + QUALITY_SECTION + (SANDBOX_DOMAINS if sandbox else "")
    path.write_text(text, encoding="utf-8")
    return text


def summary(suggestions: MappingSuggestions) -> list[str]:
    """One line per value left to a person (review or abstain), then the counts."""
    lines = []
    statuses = Counter(s.status for s in suggestions.suggestions)
    for s in suggestions.suggestions:
        if s.status != CONFIDENT:
            options = ", ".join(f"{c.label} ({c.score:.2f})" for c in s.candidates) or "no candidates"
            lines.append(f"  {'UNMAPPED' if s.status == ABSTAIN else 'CHOOSE'}  {s.table} {s.source_label!r}: {s.note}; {options}")
    lines.append(f"{statuses.get(CONFIDENT, 0)} values suggested with confidence, {statuses.get('review', 0)} to choose, "
                 f"{statuses.get(ABSTAIN, 0)} with no candidate")
    return lines


def add_init_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", type=Path, default=Path("mapping.yaml"), help="where to write the mapping (default mapping.yaml)")
    parser.add_argument("--sandbox", action="store_true", help="read a sandbox started for the purpose (seed 42, small) instead of "
                        "the systems the environment configures")
    parser.add_argument("--days", type=int, default=90, help="days of nopCommerce orders whose values are read (default 90)")
    parser.add_argument("--linked", type=int, default=200, help="orders already in both systems read as evidence (default 200; 0: none)")
    parser.add_argument("--force", action="store_true", help="overwrite --output if it exists")


def run_init(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    if args.output.exists() and not args.force:
        print(f"bp-nop init: {args.output} exists; use --force to overwrite it", file=sys.stderr)
        return 2
    if args.sandbox:
        from bp_nop_dagster.sandbox.server import RunningSandbox
        from bp_nop_dagster.sandbox.world import SandboxWorld

        with RunningSandbox(SandboxWorld(seed=42, scale="small")) as sandbox:
            environ = settings.sandbox_environment(sandbox)
            return _init(environ, args, out, sandbox=True)
    return _init(os.environ, args, out)


def _init(environ, args: argparse.Namespace, out: TextIO, *, sandbox: bool = False) -> int:
    missing = [name for name in (settings.BRIGHTPEARL_BASE_URL, settings.BRIGHTPEARL_APP_REF, settings.BRIGHTPEARL_ACCOUNT_TOKEN,
                                 settings.NOPCOMMERCE_BASE_URL, settings.NOPCOMMERCE_EMAIL, settings.NOPCOMMERCE_PASSWORD)
               if not environ.get(name)]
    if missing:
        print(f"bp-nop init: set {', '.join(missing)} (README, 'Configuration'), or use --sandbox", file=sys.stderr)
        return 2
    bp = BrightpearlClient(environ[settings.BRIGHTPEARL_BASE_URL], app_ref=environ[settings.BRIGHTPEARL_APP_REF],
                           account_token=environ[settings.BRIGHTPEARL_ACCOUNT_TOKEN])
    nop = NopCommerceClient(environ[settings.NOPCOMMERCE_BASE_URL], environ[settings.NOPCOMMERCE_EMAIL], environ[settings.NOPCOMMERCE_PASSWORD])
    try:
        suggestions, orders, linked = suggest_from_systems(nop, bp, days=args.days, linked=args.linked)
    finally:
        nop.close()
    write_mapping(suggestions, args.output, sandbox=sandbox)
    print(f"read {orders} nopCommerce orders and {linked} orders linked in both systems", file=out)
    for line in summary(suggestions):
        print(line, file=out)
    print(f"wrote {args.output}: check each suggested value, fill in any UNMAPPED line, then run `bp-nop doctor` "
          f"with {settings.BP_NOP_MAPPING_FILE}={args.output}", file=out)
    return 0
