"""Data quality in the graph (issue 16; README, "Data quality"): contact validation of recent
orders, order anomalies (flagged in Brightpearl per the mapping), the duplicate-customer review
queue and the product checks. Wiring only: the reads and writes are `sync/quality.py`, the
judgements `quality/`. Nothing here rewrites or merges a record; a person decides."""

import json
from collections import Counter
from datetime import timedelta
from typing import TYPE_CHECKING

import dagster as dg
from pydantic import Field

from bp_nop_dagster.brightpearl.resource import BrightpearlResource
from bp_nop_dagster.defs.sync_settings import SyncSettings
from bp_nop_dagster.ledger.resource import LedgerResource
from bp_nop_dagster.nopcommerce.resource import NopCommerceResource
from bp_nop_dagster.quality import products as product_rules
from bp_nop_dagster.quality.anomalies import AnomalyRules, frames_from_nop, score_orders
from bp_nop_dagster.quality.contacts import ContactValidator
from bp_nop_dagster.quality.duplicates import find_duplicates
from bp_nop_dagster.quality.products import check_products, product_records_from_nop
from bp_nop_dagster.reporting import escape_markdown, mask_email, table_metadata
from bp_nop_dagster.sync.contact_check import contact_rules, contacts_of, describe
from bp_nop_dagster.sync.cursor import utcnow
from bp_nop_dagster.sync.quality import AnomalyFlagger, customer_records, recent_order_details
from bp_nop_dagster.defs.pairing import BRIGHTPEARL_POOL, asset_key

if TYPE_CHECKING:
    import pandas as pd

GROUP = "data_quality"
OWNERS = ["team:integrations"]
NOP_ORDERS = asset_key("nopcommerce", "orders")
NOP_CUSTOMERS = asset_key("nopcommerce", "customers")
NOP_PRODUCTS = asset_key("nopcommerce", "products")
BP_CONTACTS = asset_key("brightpearl", "contacts")
BP_PRODUCTS = asset_key("brightpearl", "products")
SALES_ORDERS = asset_key("brightpearl", "sales_orders_from_nop")

CONTACT_VALIDATION = asset_key(GROUP, "contact_validation")
CONTACT_ISSUES = asset_key(GROUP, "contact_issues")
ORDER_ANOMALIES = asset_key(GROUP, "order_anomalies")
DUPLICATE_CUSTOMERS = asset_key(GROUP, "duplicate_customers")
PRODUCT_ISSUES = asset_key(GROUP, "product_issues")
CONTACT_ERRORS_CHECK = "contact_errors"

ISSUE_DESCRIPTIONS = {
    "record_id": "the record: order:<id>/billing or /shipping, product:<id>, combination:<id>",
    "field": "the field the issue is about",
    "code": "the rule that fired (README, 'Data quality')",
    "severity": "ERROR: should not go on unreviewed; WARN: worth a look",
    "message": "what is wrong, in words",
    "value": "the original value, never rewritten",
    "suggestion": "what a person might change it to (empty when there is nothing to suggest)",
}


def _iso2(nop):
    codes = nop.country_iso_codes()
    return lambda country_id: codes.get(country_id or 0, (None, None))[0]


# ------------------------------------------------------------------------------ contacts
@dg.multi_asset(
    outs={
        "contact_validation": dg.AssetOut(
            key=CONTACT_VALIDATION, group_name=GROUP, owners=OWNERS, kinds={"nopcommerce", "pandas"},
            description="The addresses of recent orders with their checked values beside the originals."),
        "contact_issues": dg.AssetOut(
            key=CONTACT_ISSUES, group_name=GROUP, owners=OWNERS, kinds={"nopcommerce", "pandas"},
            description="Contact issues of recent orders: code, severity, message, suggestion."),
    },
    deps=[NOP_ORDERS],
    check_specs=[dg.AssetCheckSpec(CONTACT_ERRORS_CHECK, asset=CONTACT_ISSUES,
                                   description="No recent order's address has an ERROR-level issue.")],
)
def contact_validation(nopcommerce: NopCommerceResource, sync_settings: SyncSettings):
    """Postcode (and its agreement with the country and the state), phone and email of the billing and shipping
    addresses of the orders of the last `quality.lookback_days`, checked offline
    (`quality/contacts.py`): normalised postcode, E.164 phone and normalised email beside the
    originals, and one issue row per finding. Nothing is rewritten; with
    `quality.hold_invalid_contacts` the order flow holds new orders with ERROR issues."""
    quality = sync_settings.mapping().quality
    nop = nopcommerce.get_client()
    details = recent_order_details(nop, utcnow(), quality.lookback_days)
    validation = ContactValidator(contact_rules(quality)).validate(contacts_of(details, _iso2(nop), nop.state_abbreviation))
    checked, issues = validation.frame(), validation.issues()
    errors = issues[issues["severity"] == "ERROR"]
    yield dg.Output(checked, output_name="contact_validation", metadata=table_metadata(
        checked, orders=dg.MetadataValue.int(len(details)), addresses=dg.MetadataValue.int(len(checked))))
    yield dg.Output(issues, output_name="contact_issues", metadata=table_metadata(
        issues, ISSUE_DESCRIPTIONS, errors=dg.MetadataValue.int(len(errors)),
        warnings=dg.MetadataValue.int(int((issues["severity"] == "WARN").sum()))))
    yield dg.AssetCheckResult(
        check_name=CONTACT_ERRORS_CHECK, asset_key=CONTACT_ISSUES, passed=errors.empty, severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "errors": dg.MetadataValue.int(len(errors)),
            "by_code": dg.MetadataValue.json(dict(Counter(errors["code"]))),
            "hold_invalid_contacts": dg.MetadataValue.bool(quality.hold_invalid_contacts),
            "issues": dg.MetadataValue.md("\n".join(f"- {r.record_id}: {escape_markdown(mask_email(describe(r)))}"
                                                    for r in errors.head(50).itertuples()) or "_none_"),
        },
    )


# ------------------------------------------------------------------------------ anomalies
class AnomalyConfig(dg.Config):
    history_days: int = Field(default=30, ge=1, le=365, description="Days of orders read as the statistics' history "
                              "(one item read per order and one per distinct address)")


ANOMALY_DESCRIPTIONS = {
    "order_id": "nopCommerce order id",
    "created": "when it was placed (UTC)",
    "score": "risk score 0-100 (sum of the fired rules' points)",
    "action": "ACCEPT, FLAG (at quality.anomaly_flag_at) or HOLD (80): advice, nothing is cancelled",
    "reason_codes": "the rules that fired, strongest first",
    "evidence": "JSON: per rule its points, value, threshold and message",
    "ruleset_version": "the AnomalyRules version that scored it",
    "flagged_note_id": "the Brightpearl order note that flags it (empty: not flagged, or not in Brightpearl yet)",
}


def alerts_per_day(frame: "pd.DataFrame", flag_at: int) -> tuple[dict[str, int], str]:
    """Alerts (score at or above `flag_at`) per day of the order, and a bar chart of them in markdown."""
    import pandas as pd
    alerts = frame[frame["score"] >= flag_at]
    days = pd.to_datetime(frame["created"], utc=True).dt.strftime("%Y-%m-%d")
    per_day = {day: int((days[alerts.index] == day).sum()) for day in sorted(set(days))}
    top = max(per_day.values(), default=0) or 1
    lines = ["| day | alerts | |", "|---|---:|---|"]
    lines += [f"| {day} | {n} | {'█' * round(20 * n / top)} |" for day, n in per_day.items()]
    return per_day, "\n".join(lines)


@dg.asset(key=ORDER_ANOMALIES, group_name=GROUP, owners=OWNERS, kinds={"nopcommerce", "brightpearl", "pandas"},
          deps=[NOP_ORDERS, SALES_ORDERS], pool=BRIGHTPEARL_POOL,
          check_specs=[dg.AssetCheckSpec("orders_at_risk", asset=ORDER_ANOMALIES,
                                         description="No recent order scores at or above quality.anomaly_flag_at.")])
def order_anomalies(context: dg.AssetExecutionContext, config: AnomalyConfig, nopcommerce: NopCommerceResource,
                    brightpearl: BrightpearlResource, ledger: LedgerResource, sync_settings: SyncSettings):
    """Risk score, reason codes and evidence for each order of the last `quality.lookback_days`,
    against `history_days` of history (robust statistics per channel and customer, velocity,
    first-order value, country mismatch, quantities, price below cost: `quality/anomalies.py`).
    Orders at `quality.anomaly_flag_at` or above are flagged in Brightpearl once (an order note,
    or a status per `quality.anomaly_flag`) when they are there; the plot shows alerts per day."""
    import pandas as pd
    bp = brightpearl.get_client()
    mapping = sync_settings.mapping(bp, flow="orders", ledger=ledger.get_ledger())  # a status flag must name a status the account has
    quality = mapping.quality
    nop = nopcommerce.get_client()
    now = utcnow()
    details = recent_order_details(nop, now, config.history_days)
    product_ids = {item.product_id for d in details for item in d.items}
    skus = {p.id: p.sku for p in nop.products_by_ids(product_ids)} if product_ids else {}
    codes = {cid: iso2 for cid, (iso2, _) in nop.country_iso_codes().items() if iso2}
    orders, lines = frames_from_nop(details, country_iso2=codes, product_skus=skus)
    since = now - timedelta(days=quality.lookback_days)
    recent = [d.order.id for d in details if d.order.created_on_utc >= since]
    rules = AnomalyRules(flag_at=quality.anomaly_flag_at, hold_at=max(80, quality.anomaly_flag_at))
    if orders.empty:
        scores = pd.DataFrame(columns=["order_id", "score", "action", "reasons", "ruleset_version"])
    else:
        scores = score_orders(orders, lines, now=now, rules=rules, score_ids=recent).scores
    report = AnomalyFlagger(bp=bp, ledger=ledger.get_ledger(), config=mapping, owner=context.run.run_id).flag(scores)
    book = ledger.get_ledger()
    notes = book.bp_ids("anomaly_flag", [str(i) for i in scores["order_id"]]) if len(scores) else {}
    created = orders.set_index("order_id")["created"] if len(orders) else pd.Series(dtype="datetime64[ns, UTC]")
    frame = pd.DataFrame({
        "order_id": scores["order_id"].astype("Int64"),
        "created": pd.to_datetime([created.get(i) for i in scores["order_id"]], utc=True),
        "score": scores["score"].astype("Int64"),
        "action": scores["action"].astype("string"),
        "reason_codes": pd.Series([", ".join(r["code"] for r in reasons) for reasons in scores["reasons"]], dtype="string"),
        "evidence": pd.Series([json.dumps(reasons, default=str) for reasons in scores["reasons"]], dtype="string"),
        "ruleset_version": scores["ruleset_version"].astype("string"),
        "flagged_note_id": pd.Series([notes.get(str(i)) for i in scores["order_id"]], dtype="Int64"),
    }).sort_values(["score", "order_id"], ascending=[False, True]).reset_index(drop=True)
    per_day, chart = alerts_per_day(frame, quality.anomaly_flag_at)
    risky = frame[frame["score"] >= quality.anomaly_flag_at]
    yield dg.MaterializeResult(value=frame, metadata=table_metadata(
        frame, ANOMALY_DESCRIPTIONS,
        alerts_per_day=dg.MetadataValue.md(chart),
        alerts=dg.MetadataValue.int(len(risky)),
        flagged_now=dg.MetadataValue.int(len(report.flagged)),
        flagged_before=dg.MetadataValue.int(len(report.already)),
        not_in_brightpearl_yet=dg.MetadataValue.int(len(report.not_in_brightpearl)),
        flag_failures=dg.MetadataValue.int(len(report.failed)),
        threshold=dg.MetadataValue.int(quality.anomaly_flag_at),
        flag_in_brightpearl=dg.MetadataValue.text(quality.anomaly_flag),
        history_orders=dg.MetadataValue.int(len(orders)),
    ))
    yield dg.AssetCheckResult(
        check_name="orders_at_risk", passed=risky.empty and not report.failed, severity=dg.AssetCheckSeverity.WARN,
        metadata={"alerts": dg.MetadataValue.int(len(risky)), "alerts_per_day": dg.MetadataValue.json(per_day),
                  "orders": dg.MetadataValue.md("\n".join(f"- order {r.order_id}: score {r.score} ({r.reason_codes})"
                                                          for r in risky.head(50).itertuples()) or "_none_")},
    )


# ------------------------------------------------------------------------------ duplicates
class DuplicateConfig(dg.Config):
    order_days: int = Field(default=30, ge=1, le=730, description="Days of orders whose billing addresses fill in guests' blanks "
                            "(one item read per order and one per distinct address)")


@dg.asset(key=DUPLICATE_CUSTOMERS, group_name=GROUP, owners=OWNERS, kinds={"nopcommerce", "brightpearl", "pandas"},
          deps=[NOP_CUSTOMERS, BP_CONTACTS], pool=BRIGHTPEARL_POOL)
def duplicate_customers(config: DuplicateConfig, nopcommerce: NopCommerceResource, brightpearl: BrightpearlResource) -> dg.MaterializeResult:
    """The review queue of likely duplicate customers across nopCommerce (guest checkouts make
    separate records) and Brightpearl contacts: bands strong / likely / possible, each pair with
    its reasons and a suggested survivor; households set aside. Nothing is merged: a person
    decides (`quality/duplicates.py`)."""
    nop = nopcommerce.get_client()
    details = recent_order_details(nop, utcnow(), config.order_days)
    records = customer_records(nop, brightpearl.get_client(), details, _iso2(nop))
    review = find_duplicates(records)
    queue = review.queue.copy()
    if "reasons" in queue:
        queue["reasons"] = queue["reasons"].map(lambda r: "; ".join(r) if isinstance(r, (list, tuple)) else r)
    bands = Counter(queue["band"]) if "band" in queue else Counter()
    return dg.MaterializeResult(value=queue, metadata=table_metadata(
        queue, records=dg.MetadataValue.int(review.records), pairs_compared=dg.MetadataValue.int(review.pairs_compared),
        households_set_aside=dg.MetadataValue.int(len(review.households)),
        **{f"band/{band}": dg.MetadataValue.int(bands.get(band, 0)) for band in ("strong", "likely", "possible")}))


# ------------------------------------------------------------------------------ products
PRODUCT_CHECKS = {
    "products_gtin_and_weight": ({product_rules.GTIN_INVALID, product_rules.GTIN_MISSING, product_rules.WEIGHT_MISSING},
                                 "Published products have a valid GTIN; shippable ones a weight."),
    "products_price_below_cost": ({product_rules.PRICE_BELOW_COST}, "No product's price is below its cost."),
    "products_sku_will_match": ({product_rules.SKU_MISSING, product_rules.SKU_WHITESPACE, product_rules.SKU_NEAR_MATCH,
                                 product_rules.SKU_DUPLICATE, product_rules.SKU_NOT_IN_BRIGHTPEARL},
                                "Every SKU will match a Brightpearl product exactly."),
    "products_stock_without_price": ({product_rules.STOCK_WITHOUT_PRICE}, "No published product has stock but no price."),
}


@dg.asset(key=PRODUCT_ISSUES, group_name=GROUP, owners=OWNERS, kinds={"nopcommerce", "brightpearl", "pandas"},
          deps=[NOP_PRODUCTS, BP_PRODUCTS], pool=BRIGHTPEARL_POOL,
          check_specs=[dg.AssetCheckSpec(name, asset=PRODUCT_ISSUES, description=text) for name, (_, text) in PRODUCT_CHECKS.items()])
def product_issues(nopcommerce: NopCommerceResource, brightpearl: BrightpearlResource):
    """The nopCommerce catalogue checked before it causes trouble downstream: missing GTIN or
    weight, price below cost, SKUs that will not match Brightpearl's (spaces, case, missing,
    duplicated), stock without a price (`quality/products.py`). One asset check per family: an
    ERROR fails it (WARN severity: nothing is blocked), warnings are listed."""
    nop_products = nopcommerce.get_client().products()
    bp_skus = [row.sku for row in brightpearl.get_client().product_search() if row.sku]
    issues = check_products(product_records_from_nop(nop_products), bp_skus)
    yield dg.MaterializeResult(value=issues, metadata=table_metadata(
        issues, ISSUE_DESCRIPTIONS, products=dg.MetadataValue.int(len(nop_products)),
        errors=dg.MetadataValue.int(int((issues["severity"] == "ERROR").sum()))))
    for name, (codes, _) in PRODUCT_CHECKS.items():
        found = issues[issues["code"].isin(codes)]
        errors = found[found["severity"] == "ERROR"]
        yield dg.AssetCheckResult(
            check_name=name, passed=errors.empty, severity=dg.AssetCheckSeverity.WARN,
            metadata={"errors": dg.MetadataValue.int(len(errors)), "warnings": dg.MetadataValue.int(len(found) - len(errors)),
                      "by_code": dg.MetadataValue.json({c: int(n) for c, n in Counter(found["code"]).items()}),
                      "issues": dg.MetadataValue.md("\n".join(
                          f"- {r.record_id} {r.code}: " + escape_markdown(r.message + (f" (suggestion: {r.suggestion})" if r.suggestion else ""))
                          for r in found.head(50).itertuples()) or "_none_")},
        )

