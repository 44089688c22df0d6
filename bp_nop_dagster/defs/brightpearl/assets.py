"""Brightpearl source assets: what the ERP holds, read through its public API.

Brightpearl is the master of products, stock and fulfilment. Every asset here only reads, shares
the `brightpearl` pool (one account quota for all steps) and makes every call count: searches
return the columns needed, ID-set GETs take up to the resource's cap per request.
"""

from typing import TYPE_CHECKING

import dagster as dg

from bp_nop_dagster.brightpearl.resource import BrightpearlResource
from bp_nop_dagster.defs.partitions import daily_partitions
from bp_nop_dagster.reporting import DataFrame, table_metadata
from bp_nop_dagster.sync.source_tables import SALES_ORDER_DESCRIPTIONS, order_rows, sales_order_rows
from bp_nop_dagster.defs.pairing import BRIGHTPEARL_POOL, asset_key

if TYPE_CHECKING:
    import pandas as pd

GROUP = "brightpearl"
OWNERS = ["team:integrations"]
KINDS = {"brightpearl", "pandas"}
POOL = BRIGHTPEARL_POOL
# What the order flow writes, so the lineage runs from the shop to Brightpearl and on to the reports.
CONTACTS_FROM_NOP = asset_key("brightpearl", "contacts_from_nop")
SALES_ORDERS_FROM_NOP = asset_key("brightpearl", "sales_orders_from_nop")
PAYMENTS_FROM_NOP = asset_key("brightpearl", "payments_from_nop")


def _frame(rows: list[dict], columns: list[str], *, ints: tuple[str, ...] = (), times: tuple[str, ...] = ()) -> "pd.DataFrame":
    import pandas as pd
    frame = pd.DataFrame(rows, columns=columns)
    for column in ints:
        frame[column] = frame[column].astype("Int64")
    for column in times:
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def _result(frame: "pd.DataFrame", api_calls: int, descriptions: dict[str, str] | None = None, **extra) -> dg.MaterializeResult:
    return dg.MaterializeResult(value=frame, metadata=table_metadata(frame, descriptions, api_calls=dg.MetadataValue.int(api_calls), **extra))


@dg.asset(key=asset_key("brightpearl", "products"), group_name=GROUP, owners=OWNERS, kinds=KINDS, pool=POOL)
def brightpearl_products(brightpearl: BrightpearlResource) -> dg.MaterializeResult:
    """Every product: id, SKU (`identity.sku`, the master SKU), name, whether stock is tracked,
    status. One product-search page per 500 products, nothing else."""
    client = brightpearl.get_client()
    before = client.call_count
    rows = [
        {"product_id": r.product_id, "sku": r.sku, "name": r.product_name, "stock_tracked": bool(r.stock_tracked),
         "status": r.product_status, "updated_on": r.updated_on}
        for r in client.product_search()
    ]
    frame = _frame(rows, ["product_id", "sku", "name", "stock_tracked", "status", "updated_on"], times=("updated_on",))
    return _result(frame, client.call_count - before)


@dg.asset(
    key=asset_key("brightpearl", "stock"),
    group_name=GROUP,
    owners=OWNERS,
    kinds=KINDS,
    pool=POOL,
    ins={"products": dg.AssetIn(key=asset_key("brightpearl", "products"))},
)
def brightpearl_stock(context: dg.AssetExecutionContext, brightpearl: BrightpearlResource, products: DataFrame) -> dg.MaterializeResult:
    """Availability per product and warehouse (one row each): on hand, allocated, in stock, in
    transit. Only stock-tracked products have availability; one ID-set GET per 200 of them."""
    client = brightpearl.get_client()
    before = client.call_count
    tracked = sorted(int(i) for i in products.loc[products["stock_tracked"], "product_id"])
    context.log.info(f"Brightpearl availability for {len(tracked):,} stock-tracked products")
    availability = client.product_availability(tracked)
    rows = [
        {"product_id": product_id, "warehouse_id": warehouse_id, "on_hand": levels.on_hand, "allocated": levels.allocated,
         "in_stock": levels.in_stock, "in_transit": levels.in_transit}
        for product_id, entry in sorted(availability.items())
        for warehouse_id, levels in sorted(entry.warehouses.items())
    ]
    frame = _frame(rows, ["product_id", "warehouse_id", "on_hand", "allocated", "in_stock", "in_transit"])
    return _result(frame, client.call_count - before, products_with_stock=dg.MetadataValue.int(len(availability)))


@dg.asset(key=asset_key("brightpearl", "contacts"), deps=[CONTACTS_FROM_NOP], group_name=GROUP, owners=OWNERS, kinds=KINDS, pool=POOL)
def brightpearl_contacts(brightpearl: BrightpearlResource) -> dg.MaterializeResult:
    """Every contact (customers, suppliers, staff flagged) with primary email and names, from
    contact-search: one request per 500 contacts."""
    client = brightpearl.get_client()
    before = client.call_count
    rows = [
        {"contact_id": r.contact_id, "primary_email": r.primary_email, "first_name": r.first_name, "last_name": r.last_name,
         "company_name": r.company_name, "is_customer": r.is_customer, "is_supplier": r.is_supplier, "is_staff": r.is_staff,
         "created_on": r.created_on, "updated_on": r.updated_on}
        for r in client.contact_search()
    ]
    columns = ["contact_id", "primary_email", "first_name", "last_name", "company_name", "is_customer", "is_supplier",
               "is_staff", "created_on", "updated_on"]
    return _result(_frame(rows, columns, times=("created_on", "updated_on")), client.call_count - before)


@dg.asset(
    key=asset_key("brightpearl", "sales_orders"),
    group_name=GROUP,
    owners=OWNERS,
    kinds=KINDS,
    pool=POOL,
    partitions_def=daily_partitions,
    deps=[SALES_ORDERS_FROM_NOP],
)
def brightpearl_sales_orders(context: dg.AssetExecutionContext, brightpearl: BrightpearlResource) -> dg.MaterializeResult:
    """Sales orders created on the partition's day (UTC), one row per order row, with externalRef,
    status (id and name), payment and shipping status, currency and totals. order-search finds
    the ids (createdOn window, sales orders only), then one sales-order GET per 200 orders (the
    shape that carries externalRef and row names); status names from the account's order
    statuses (cached per run)."""
    client = brightpearl.get_client()
    before = client.call_count
    window = context.partition_time_window
    ids = client.sales_order_ids_created_between(window.start, window.end)
    context.log.info(f"Brightpearl: {len(ids):,} sales orders created {context.partition_key}")
    names = {s.id: s.name for s in client.order_statuses()}
    frame = sales_order_rows(client.sales_orders(ids), names)
    return _result(frame, client.call_count - before, SALES_ORDER_DESCRIPTIONS, orders=dg.MetadataValue.int(len(ids)))


@dg.asset(key=asset_key("brightpearl", "goods_out_notes"), group_name=GROUP, owners=OWNERS, kinds=KINDS, pool=POOL)
def brightpearl_goods_out_notes(brightpearl: BrightpearlResource) -> dg.MaterializeResult:
    """Every goods-out note, one row per note line: order, warehouse, shipped flag and date,
    shipping reference (the tracking number nopCommerce shipments carry). goods-out-search finds
    the ids, then one GET per 500 notes."""
    client = brightpearl.get_client()
    before = client.call_count
    note_ids = client.goods_out_note_ids()
    rows = [
        {"note_id": note.id, "order_id": note.order_id, "warehouse_id": note.warehouse_id, "shipped": note.shipped,
         "shipped_on": note.shipped_on, "shipping_reference": note.shipping_reference, "created_on": note.created_on,
         "order_row_id": row_id, "product_id": line.product_id, "quantity": line.quantity}
        for note_id, note in sorted(client.goods_out_notes("*", note_ids).items() if note_ids else ())
        for row_id, lines in sorted(note.rows.items())
        for line in lines
    ]
    columns = ["note_id", "order_id", "warehouse_id", "shipped", "shipped_on", "shipping_reference", "created_on",
               "order_row_id", "product_id", "quantity"]
    return _result(_frame(rows, columns, times=("shipped_on", "created_on")), client.call_count - before)


@dg.asset(key=asset_key("brightpearl", "customer_payments"), deps=[PAYMENTS_FROM_NOP], group_name=GROUP, owners=OWNERS, kinds=KINDS, pool=POOL)
def brightpearl_customer_payments(brightpearl: BrightpearlResource) -> dg.MaterializeResult:
    """Every customer payment (RECEIPT, AUTH, CAPTURE, PAYMENT = refund, VOID) with its order,
    method, transaction reference and amounts, from customer-payment-search."""
    client = brightpearl.get_client()
    before = client.call_count
    rows = [
        {"payment_id": p.payment_id, "order_id": p.order_id, "payment_type": p.payment_type,
         "payment_method_code": p.payment_method_code, "transaction_ref": p.transaction_ref,
         "currency_code": p.currency_code,
         "amount_authorized": float(p.amount_authorized) if p.amount_authorized is not None else None,
         "amount_paid": float(p.amount_paid) if p.amount_paid is not None else None,
         "payment_date": p.payment_date, "created_on": p.created_on, "journal_id": p.journal_id}
        for p in client.customer_payment_search()
    ]
    columns = ["payment_id", "order_id", "payment_type", "payment_method_code", "transaction_ref", "currency_code",
               "amount_authorized", "amount_paid", "payment_date", "created_on", "journal_id"]
    descriptions = {
        "payment_type": "RECEIPT and CAPTURE bring money in, PAYMENT pays it out (a refund), AUTH and VOID move none",
        "amount_authorized": "AUTH / VOID amount, in currency_code", "amount_paid": "RECEIPT / CAPTURE / PAYMENT amount, in currency_code",
        "journal_id": "the Sales Receipt journal Brightpearl made for the payment (empty: none, e.g. the method has no bank account)",
    }
    frame = _frame(rows, columns, ints=("order_id", "journal_id"), times=("payment_date", "created_on"))
    return _result(frame, client.call_count - before, descriptions)


@dg.asset(key=asset_key("brightpearl", "sales_credits"), group_name=GROUP, owners=OWNERS, kinds=KINDS, pool=POOL)
def brightpearl_sales_credits(brightpearl: BrightpearlResource) -> dg.MaterializeResult:
    """Every sales credit (refunds and returns), one row per credit row, with the sales order it
    credits (`parent_order_id`) and its totals."""
    import pandas as pd
    client = brightpearl.get_client()
    before = client.call_count
    credits = client.sales_credits()
    frame = order_rows(credits)
    frame.insert(1, "parent_order_id", pd.array([c.parent_order_id for c in credits for _ in (c.rows or [None])], dtype="Int64"))
    return _result(frame, client.call_count - before)


REFERENCE_TABLES = {
    "warehouses": "Warehouses: where stock is held and goods-out notes ship from.",
    "channels": "Sales channels (the nopCommerce web store is one).",
    "order_statuses": "Order statuses, per account: the status map's targets.",
    "tax_codes": "Tax codes and rates: order rows carry the code.",
    "payment_methods": "Payment methods: customer payments carry the code.",
    "shipping_methods": "Shipping methods: orders and goods-out notes carry the id.",
}


@dg.multi_asset(
    outs={
        name: dg.AssetOut(key=asset_key("brightpearl", name), description=text, group_name=GROUP, owners=OWNERS, kinds=KINDS)
        for name, text in REFERENCE_TABLES.items()
    },
    pool=POOL,
)
def brightpearl_reference_data(brightpearl: BrightpearlResource):
    """Per-account reference data the mappings point at, one request per table (cached per run)."""
    import pandas as pd
    client = brightpearl.get_client()
    tables = {
        "warehouses": client.warehouses(),
        "channels": client.channels(),
        "order_statuses": client.order_statuses(),
        "tax_codes": client.tax_codes(),
        "payment_methods": client.payment_methods(),
        "shipping_methods": client.shipping_methods(),
    }
    for name, models in tables.items():
        frame = pd.DataFrame([model.model_dump(mode="json") for model in models])
        yield dg.Output(frame, output_name=name, metadata=table_metadata(frame))
