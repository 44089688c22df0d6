"""The refunds flow as Dagster assets (group `returns`): return requests in the shop, the refunds
it made, the Brightpearl credits and payments they became, goods received back, refunds made in
the shop for staff credits; and `reconciliation/refunds`, the daily comparison of both sides.

One step does both directions (they share each order's refund watermark, `sync/refunds.py`), in
the `brightpearl` pool like every other Brightpearl writer; it is safe to rerun at any time
(exactly once through the ledger's intents and Brightpearl's natural keys)."""

import json
from datetime import UTC, datetime, timedelta

import dagster as dg

from bp_nop_dagster.brightpearl.resource import BrightpearlResource
from bp_nop_dagster.defs.orders.assets import SALES_ORDERS
from bp_nop_dagster.defs.partitions import daily_partitions
from bp_nop_dagster.defs.reconciliation.common import ReportConfig, actions_markdown, inputs_metadata, safe_url, verdict_counts
from bp_nop_dagster.defs.sync_settings import SyncSettings
from bp_nop_dagster.ledger.resource import LedgerResource
from bp_nop_dagster.mapping.orders import cents
from bp_nop_dagster.nopcommerce.resource import NopCommerceResource
from bp_nop_dagster.reporting import escape_markdown, report_files_metadata, table_metadata, write_report
from bp_nop_dagster.sync.fate import SystemicOutage
from bp_nop_dagster.sync.refund_reconcile import ACTIONS, COLUMNS, UNEXPLAINED, VERDICTS, OrderRefunds, report_rows
from bp_nop_dagster.sync.refunds import REFUNDED_PAYMENT_STATUSES, RefundSync, order_state_name, plan_name
from bp_nop_dagster.defs.pairing import BRIGHTPEARL_POOL, asset_key

GROUP = "returns"
OWNERS = ["team:integrations"]
KINDS = {"brightpearl", "nopcommerce"}

NOP_ORDERS = asset_key("nopcommerce", "orders")
RETURN_REQUESTS = asset_key("nopcommerce", "return_requests")  # defs/nopcommerce/assets.py
SHOP_REFUNDS = asset_key("nopcommerce", "refunds")
CREDITS = asset_key("brightpearl", "credits_from_nop")
RETURNS_RECEIVED = asset_key("brightpearl", "returns_received")
STAFF_CREDITS = asset_key("brightpearl", "staff_credits")
REFUNDS_FROM_BP = asset_key("nopcommerce", "refunds_from_brightpearl")
REFUNDS_REPORT = asset_key("reconciliation", "refunds")
REFUNDS_RECONCILED_CHECK = "refunds_reconciled"


@dg.asset(key=SHOP_REFUNDS, group_name=GROUP, owners=OWNERS, kinds={"nopcommerce"}, deps=[NOP_ORDERS])
def nopcommerce_refunds(nopcommerce: NopCommerceResource, sync_settings: SyncSettings) -> dg.MaterializeResult:
    """Orders of the watched window the shop refunded (payment status PartiallyRefunded or
    Refunded) and their cumulative refunded amount: nopCommerce's only record of a refund."""
    days = sync_settings.mapping().returns.lookback_days
    orders = nopcommerce.get_client().search_orders(created_from_utc=datetime.now(UTC) - timedelta(days=days),
                                                     payment_status_ids=REFUNDED_PAYMENT_STATUSES)
    total = sum(cents(o.refunded_amount) for o in orders)
    return dg.MaterializeResult(metadata={"refunded_orders": len(orders), "refunded_total": f"{total / 100:.2f}"})


@dg.multi_asset(
    specs=[
        dg.AssetSpec(CREDITS, group_name=GROUP, owners=OWNERS, kinds=KINDS, deps=[SHOP_REFUNDS, RETURN_REQUESTS, SALES_ORDERS],
                     description="Brightpearl sales credits (externalRef nop-<order>-refund-<n>), closed and paid out, for "
                                 "refunds made in the shop; a full refund before shipping cancels the sales order instead."),
        dg.AssetSpec(RETURNS_RECEIVED, group_name=GROUP, owners=OWNERS, kinds=KINDS, deps=[CREDITS, RETURN_REQUESTS],
                     description="Goods-in notes against the credits for return requests the shop marked received."),
        dg.AssetSpec(STAFF_CREDITS, group_name=GROUP, owners=OWNERS, kinds={"brightpearl"}, deps=[SALES_ORDERS],
                     description="Sales credits made by staff in Brightpearl on orders from the shop (not ours)."),
        dg.AssetSpec(REFUNDS_FROM_BP, group_name=GROUP, owners=OWNERS, kinds=KINDS, deps=[STAFF_CREDITS, NOP_ORDERS],
                     description="Partial refunds made in the shop for staff credits paid out in Brightpearl."),
    ],
    pool=BRIGHTPEARL_POOL,
)
def refund_sync(context: dg.AssetExecutionContext, nopcommerce: NopCommerceResource, brightpearl: BrightpearlResource,
                ledger: LedgerResource, sync_settings: SyncSettings):
    """Refunds both ways: shop refunds into Brightpearl credits and payments, returned goods into
    Brightpearl stock, staff credits into shop refunds. Idempotent: a rerun writes nothing twice."""
    bp = brightpearl.get_client()
    engine = RefundSync(nop=nopcommerce.get_client(), bp=bp, ledger=ledger.get_ledger(),
                        config=lambda: sync_settings.mapping(bp, flow="orders", ledger=ledger.get_ledger()), owner=context.run.run_id)
    try:
        report = engine.run()
    except SystemicOutage as outage:
        context.log.warning(f"stopped early: {outage}; so far: {engine.report}")
        raise
    for refusal in report.gateway_refusals:  # dead-lettered `gateway_refused`; the dead-letter check alerts too
        context.log.error(f"payment gateway refused a refund: {refusal}")
    calls = {"brightpearl_calls": report.brightpearl_calls, "nopcommerce_calls": report.nopcommerce_calls}
    yield dg.MaterializeResult(asset_key=CREDITS, metadata={
        "refunds_detected": report.detected, "credits_created": report.credits_created, "credits_closed": report.credits_closed,
        "payments_created": report.payments_created, "orders_cancelled": report.orders_cancelled, **calls,
        **{f"fate/{k}": v for k, v in report.fates.items()}})
    yield dg.MaterializeResult(asset_key=RETURNS_RECEIVED, metadata={"goods_in_notes": report.goods_received})
    yield dg.MaterializeResult(asset_key=STAFF_CREDITS, metadata={"refunded_in_shop": report.shop_refunds})
    yield dg.MaterializeResult(asset_key=REFUNDS_FROM_BP, metadata={
        "shop_refunds": report.shop_refunds, "gateway_refusals": len(report.gateway_refusals)})


@dg.asset(
    key=REFUNDS_REPORT, partitions_def=daily_partitions, group_name="reconciliation", owners=["team:finance-ops"],
    kinds={"pandas", "csv"}, deps=[SHOP_REFUNDS, CREDITS, REFUNDS_FROM_BP], pool=BRIGHTPEARL_POOL,
    check_specs=[dg.AssetCheckSpec(REFUNDS_RECONCILED_CHECK, asset=REFUNDS_REPORT,
                                   description="Every refunded or credited order matches in both systems; fails (ERROR) otherwise.")],
)
def refunds_reconciliation(context: dg.AssetExecutionContext, config: ReportConfig, nopcommerce: NopCommerceResource,
                           brightpearl: BrightpearlResource, ledger: LedgerResource, sync_settings: SyncSettings):
    """Per nopCommerce order with a refund in the shop or a staff credit in Brightpearl (orders of
    the watched window the integration follows, as of the report's run): refunded in the shop against credited and paid out
    in Brightpearl, with a verdict (matched, amount_differs, missing_credit, missing_refund,
    dead_lettered), the reason in words and what to do. Written as CSV to the reports folder."""
    import pandas as pd
    mapping = sync_settings.mapping()
    nop, bp, book = nopcommerce.get_client(), brightpearl.get_client(), ledger.get_ledger()
    since = datetime.now(UTC) - timedelta(days=mapping.returns.lookback_days)
    shop = nop.search_orders(created_from_utc=since, payment_status_ids=REFUNDED_PAYMENT_STATUSES)
    followed = {r.nop_key for r in book.statuses("order", [str(o.id) for o in shop])}  # orders the integration follows
    refunded = {o.id: cents(o.refunded_amount) for o in shop if str(o.id) in followed}
    order_links = {int(k): v for k, v in book.bp_ids("order", [str(i) for i in refunded]).items()}
    staff = {int(r.nop_key) for r in book.statuses("staff_credit")}
    staff_orders = set()
    if staff:
        for credit in bp.sales_credit_documents(staff):
            if credit.parent_id:
                key = book.nop_keys("order", [credit.parent_id]).get(credit.parent_id)
                if key is not None:
                    staff_orders.add(int(key))
                    order_links[int(key)] = credit.parent_id
    for order_id in staff_orders - set(refunded):
        refunded[order_id] = cents(nop.order(order_id).refunded_amount)
    credits_by_order = bp.sales_credit_ids_by_parent(order_links.values()) if order_links else {}
    credit_ids = [c for ids in credits_by_order.values() for c in ids]
    documents = {c.id: c for c in bp.sales_credit_documents(credit_ids)} if credit_ids else {}
    totals = bp.sale_payment_totals(credit_ids + list(order_links.values())) if order_links else {}
    letters = [d for d in book.dead_letters() if d.kind in ("refund", "return_received", "staff_credit")]
    rows = []
    for order_id, amount in refunded.items():
        so_id = order_links.get(order_id)
        row = OrderRefunds(order_id, so_id, amount, credits=credits_by_order.get(so_id, []) if so_id else [])
        for credit_id in row.credits:
            row.bp_credited += cents(documents[credit_id].total_gross or 0) if credit_id in documents else 0
            row.bp_paid_out += -cents(totals[credit_id].amount_paid) if credit_id in totals else 0
        state = book.get_watermark(order_state_name(order_id))
        n = int(json.loads(state)["n"]) if state else 0
        for i in range(1, n + 1):
            key = f"{order_id}:{i}"
            status = book.status("refund", key)
            if book.bp_id("refund_cancelled", key) is not None:  # reversed on the sales order, then cancelled
                reversed_amount = int(json.loads(book.get_watermark(plan_name(key)))["amount"])
                row.bp_credited += reversed_amount
                row.bp_paid_out += reversed_amount
            elif status is not None and status.status not in ("synced", "dead_lettered"):
                row.in_progress.append(f"refund {i} {status.status}" + (f" ({status.last_error})" if status.last_error else ""))
        for letter in letters:
            credit_of_order = letter.kind == "staff_credit" and int(letter.nop_key) in row.credits
            if letter.nop_key.startswith(f"{order_id}:") or credit_of_order:
                row.dead_letters.append(f"{letter.kind} {letter.nop_key} dead-lettered ({letter.reason}): {letter.message}")
        rows.append(row)
    frame = pd.DataFrame(report_rows(rows), columns=list(COLUMNS))
    paths = write_report(frame, f"refunds_{context.partition_key}", excel=config.excel_copy)
    unexplained = frame[frame["verdict"].isin(UNEXPLAINED)]
    return dg.MaterializeResult(
        value=frame,
        metadata={
            "orders": dg.MetadataValue.int(len(frame)),
            "unexplained_differences": dg.MetadataValue.int(len(unexplained)),
            "what_to_do": actions_markdown(frame, ACTIONS),
            **table_metadata(frame, COLUMNS),
            **report_files_metadata(paths),
            **inputs_metadata(context, {"nopCommerce": f"orders created since {since.date()} with a refund",
                                        "ledger": safe_url(ledger.resolved_url()), "Brightpearl": brightpearl.base_url}),
            **verdict_counts(frame, VERDICTS),
        },
        check_results=[dg.AssetCheckResult(
            check_name=REFUNDS_RECONCILED_CHECK, passed=unexplained.empty, severity=dg.AssetCheckSeverity.ERROR,
            metadata={"orders": dg.MetadataValue.md("\n".join(
                f"- nopCommerce order {r.nop_order_id}: {r.verdict}, {escape_markdown(r.reason)}" for r in unexplained.head(50).itertuples())
                or "_none_")},
        )],
    )
