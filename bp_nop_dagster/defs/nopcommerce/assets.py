"""nopCommerce source assets: what the shop holds, read through the Web API Backend.

nopCommerce is the master of orders, customers (shoppers) and shipments' existence on the shop
side; Brightpearl is the master of stock. Every asset here only reads: materializing it again
reads the shop again and changes nothing in either system.
"""

import json
from datetime import timedelta
from typing import TYPE_CHECKING

import dagster as dg

from bp_nop_dagster.defs.partitions import daily_partitions
from bp_nop_dagster.nopcommerce.models import OrderDetails
from bp_nop_dagster.nopcommerce.resource import NopCommerceResource
from bp_nop_dagster.progress import ProgressLog
from bp_nop_dagster.reporting import DataFrame, table_metadata
from bp_nop_dagster.defs.pairing import asset_key

if TYPE_CHECKING:
    import pandas as pd

GROUP = "nopcommerce"
OWNERS = ["team:integrations"]
KINDS = {"nopcommerce", "pandas"}
# What the flows from Brightpearl write into the shop, so the lineage comes back to nopCommerce.
STOCK_FROM_BRIGHTPEARL = asset_key("nopcommerce", "stock_from_brightpearl")
SHIPMENTS_FROM_BRIGHTPEARL = asset_key("nopcommerce", "shipments_from_brightpearl")
PRODUCTS_FROM_BRIGHTPEARL = asset_key("nopcommerce", "products_from_brightpearl")
PRICES_FROM_BRIGHTPEARL = asset_key("nopcommerce", "prices_from_brightpearl")
PAYMENT_DESCRIPTIONS = {
    "order_id": "nopCommerce order id",
    "payment_method_system_name": "the payment plugin's system name (mapped to a Brightpearl payment method code)",
    "payment_status_id": "10 Pending, 20 Authorized, 30 Paid, 35 PartiallyRefunded, 40 Refunded, 50 Voided",
    "order_total": "order total in the store's primary currency (nopCommerce keeps every amount in it)",
    "refunded_amount": "refunded so far, in the store's primary currency",
    "currency": "the currency the customer saw (customer_currency_code); amounts are in the primary currency",
    "paid_date_utc": "when the payment was taken (UTC)",
    "authorization_transaction_id": "the gateway's authorization id (no card data)",
    "capture_transaction_id": "the gateway's capture id (no card data)",
}
ORDER_DESCRIPTIONS = {
    **PAYMENT_DESCRIPTIONS,
    "custom_order_number": "the order number the shopper sees",
    "created_on_utc": "when the shopper placed the order (UTC); the partition's day",
    "order_status_id": "10 Pending, 20 Processing, 30 Complete, 40 Cancelled",
    "shipping_status_id": "10 not required, 20 not yet shipped, 25 partially shipped, 30 shipped, 40 delivered",
    "item_id": "order item id (one row per order line)",
    "product_id": "nopCommerce product id of the line",
    "attributes_xml": "the line's product attributes (selects an attribute combination and its SKU)",
}

ORDER_COLUMNS = [
    "order_id", "custom_order_number", "created_on_utc", "customer_id", "billing_email", "billing_country",
    "shipping_country", "order_status_id", "payment_status_id", "shipping_status_id", "payment_method_system_name",
    "currency", "order_subtotal_excl_tax", "order_shipping_incl_tax", "order_discount", "order_tax", "order_total",
    "refunded_amount", "paid_date_utc", "authorization_transaction_id", "capture_transaction_id", "order_guid",
    "item_id", "product_id", "attributes_xml", "quantity", "unit_price_excl_tax", "price_excl_tax", "price_incl_tax",
]


def order_rows(details: list[OrderDetails], iso_codes: dict[int, tuple[str | None, str | None]]) -> "pd.DataFrame":
    """One row per order line (an order without lines keeps one row with empty line columns)."""
    import pandas as pd

    def iso2(address) -> str | None:
        return iso_codes.get(address.country_id, (None, None))[0] if address and address.country_id else None

    rows = []
    for detail in details:
        order = detail.order
        header = {
            "order_id": order.id,
            "custom_order_number": order.custom_order_number,
            "created_on_utc": order.created_on_utc,
            "customer_id": order.customer_id,
            "billing_email": detail.billing_address.email if detail.billing_address else None,
            "billing_country": iso2(detail.billing_address),
            "shipping_country": iso2(detail.shipping_address),
            "order_status_id": order.order_status_id,
            "payment_status_id": order.payment_status_id,
            "shipping_status_id": order.shipping_status_id,
            "payment_method_system_name": order.payment_method_system_name,
            "currency": order.customer_currency_code,
            "order_subtotal_excl_tax": float(order.order_subtotal_excl_tax),
            "order_shipping_incl_tax": float(order.order_shipping_incl_tax),
            "order_discount": float(order.order_discount),
            "order_tax": float(order.order_tax),
            "order_total": float(order.order_total),
            "refunded_amount": float(order.refunded_amount),
            "paid_date_utc": order.paid_date_utc,
            "authorization_transaction_id": order.authorization_transaction_id,
            "capture_transaction_id": order.capture_transaction_id,
            "order_guid": order.order_guid,
        }
        for item in detail.items or [None]:
            rows.append({
                **header,
                "item_id": item.id if item else None,
                "product_id": item.product_id if item else None,
                "attributes_xml": item.attributes_xml if item else None,
                "quantity": item.quantity if item else None,
                "unit_price_excl_tax": float(item.unit_price_excl_tax) if item else None,
                "price_excl_tax": float(item.price_excl_tax) if item else None,
                "price_incl_tax": float(item.price_incl_tax) if item else None,
            })
    frame = pd.DataFrame(rows, columns=ORDER_COLUMNS)
    for column in ("item_id", "product_id", "quantity"):
        frame[column] = frame[column].astype("Int64")
    for column in ("created_on_utc", "paid_date_utc"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


@dg.asset(
    key=asset_key("nopcommerce", "orders"),
    group_name=GROUP,
    owners=OWNERS,
    kinds=KINDS,
    partitions_def=daily_partitions,
)
def nopcommerce_orders(context: dg.AssetExecutionContext, nopcommerce: NopCommerceResource) -> dg.MaterializeResult:
    """Orders created on the partition's day (UTC), one row per order line, with billing email and
    countries from the order's addresses. Read by a closed created-date window (newest-first paging
    cannot shift under a closed window); deleted orders are excluded by the API. Costs one search
    page per `page_size` orders, one item read per order and one read per distinct address."""
    client = nopcommerce.get_client()
    calls_before = client.call_count
    window = context.partition_time_window
    orders = client.orders_created_between(window.start, window.end - timedelta(microseconds=1))
    progress = ProgressLog(context.log.info, f"nopCommerce order details for {len(orders):,} orders")
    details = client.orders_with_details(orders, on_progress=progress)
    frame = order_rows(details, client.country_iso_codes())
    return dg.MaterializeResult(
        value=frame,
        metadata=table_metadata(
            frame,
            ORDER_DESCRIPTIONS,
            orders=dg.MetadataValue.int(len(orders)),
            api_calls=dg.MetadataValue.int(client.call_count - calls_before),
        ),
    )


@dg.asset(
    key=asset_key("nopcommerce", "payments"),
    group_name=GROUP,
    owners=OWNERS,
    kinds=KINDS,
    partitions_def=daily_partitions,
    ins={"orders": dg.AssetIn(key=asset_key("nopcommerce", "orders"))},
)
def nopcommerce_payments(orders: DataFrame) -> dg.MaterializeResult:
    """One row per order of the day with its payment: method, status, amount, paid date and the
    gateway's transaction ids (nopCommerce keeps payments on the order; there is no payment table).
    No card data: only ids the gateway returned."""
    columns = [
        "order_id", "order_guid", "payment_method_system_name", "payment_status_id", "order_total", "refunded_amount",
        "currency", "paid_date_utc", "authorization_transaction_id", "capture_transaction_id",
    ]
    frame = orders.drop_duplicates("order_id")[columns].reset_index(drop=True)
    return dg.MaterializeResult(value=frame, metadata=table_metadata(frame, PAYMENT_DESCRIPTIONS))


@dg.asset(key=asset_key("nopcommerce", "customers"), group_name=GROUP, owners=OWNERS, kinds=KINDS)
def nopcommerce_customers(context: dg.AssetExecutionContext, nopcommerce: NopCommerceResource) -> dg.MaterializeResult:
    """Every customer account (registered and guest), with country as ISO codes. Guests may have no
    email or share one with a registered account: matching to Brightpearl contacts is by normalised
    email, done by the order flow, never by merging here."""
    import pandas as pd
    client = nopcommerce.get_client()
    calls_before = client.call_count
    iso_codes = client.country_iso_codes()
    customers = client.customers()
    frame = pd.DataFrame(
        [
            {
                "customer_id": c.id,
                "email": c.email,
                "first_name": c.first_name,
                "last_name": c.last_name,
                "company": c.company,
                "city": c.city,
                "zip_postal_code": c.zip_postal_code,
                "country": iso_codes.get(c.country_id, (None, None))[0] if c.country_id else None,
                "has_phone": bool(c.phone),
                "active": c.active,
                "deleted": c.deleted,
                "created_on_utc": c.created_on_utc,
            }
            for c in customers
        ],
        columns=["customer_id", "email", "first_name", "last_name", "company", "city", "zip_postal_code", "country",
                 "has_phone", "active", "deleted", "created_on_utc"],
    )
    frame["created_on_utc"] = pd.to_datetime(frame["created_on_utc"], utc=True)
    return dg.MaterializeResult(value=frame, metadata=table_metadata(frame, api_calls=dg.MetadataValue.int(client.call_count - calls_before)))


PRODUCT_COLUMNS = [
    "product_id", "kind", "combination_id", "attributes_xml", "sku", "name", "manage_inventory_method_id", "use_multiple_warehouses",
    "stock_quantity", "warehouse_stock", "published", "deleted", "price", "updated_on_utc",
]


@dg.asset(key=asset_key("nopcommerce", "products"), deps=[STOCK_FROM_BRIGHTPEARL, PRODUCTS_FROM_BRIGHTPEARL, PRICES_FROM_BRIGHTPEARL], group_name=GROUP, owners=OWNERS, kinds=KINDS)
def nopcommerce_products(context: dg.AssetExecutionContext, nopcommerce: NopCommerceResource) -> dg.MaterializeResult:
    """Every product with its inventory method and the stock the shop sells from:
    `stock_quantity` is the product's own for simple tracked products, the sum of
    (stock - reserved) over warehouses for multi-warehouse products (per warehouse in
    `warehouse_stock`), and empty for products tracked by attribute combination, which get one
    row each (`kind = combination`, their own SKU and stock). Untracked products have no stock."""
    import pandas as pd
    client = nopcommerce.get_client()
    calls_before = client.call_count
    products = client.products()
    needs_detail = [p for p in products if (p.manage_inventory_method_id == 1 and p.use_multiple_warehouses) or p.manage_inventory_method_id == 2]
    progress = ProgressLog(context.log.info, "nopCommerce per-warehouse and combination stock")
    rows = []
    done = 0
    for product in products:
        base = {
            "product_id": product.id, "kind": "product", "combination_id": None, "attributes_xml": None, "sku": product.sku, "name": product.name,
            "manage_inventory_method_id": product.manage_inventory_method_id,
            "use_multiple_warehouses": product.use_multiple_warehouses, "stock_quantity": None, "warehouse_stock": None,
            "published": product.published, "deleted": product.deleted, "price": float(product.price),
            "updated_on_utc": product.updated_on_utc,
        }
        method = product.manage_inventory_method_id
        if method == 1 and product.use_multiple_warehouses:
            records = client.product_warehouse_inventory(product.id)
            base["warehouse_stock"] = json.dumps({str(r.warehouse_id): r.stock_quantity - r.reserved_quantity for r in records})
            base["stock_quantity"] = sum(r.stock_quantity - r.reserved_quantity for r in records)
        elif method == 1:
            base["stock_quantity"] = product.stock_quantity
        rows.append(base)
        if method == 2:
            for combination in client.attribute_combinations(product.id):
                rows.append({**base, "kind": "combination", "combination_id": combination.id,
                             "attributes_xml": combination.attributes_xml, "sku": combination.sku,
                             "stock_quantity": combination.stock_quantity})
        if product in needs_detail:
            done += 1
            progress(done, len(needs_detail))
    frame = pd.DataFrame(rows, columns=PRODUCT_COLUMNS)
    for column in ("combination_id", "stock_quantity"):
        frame[column] = frame[column].astype("Int64")
    frame["updated_on_utc"] = pd.to_datetime(frame["updated_on_utc"], utc=True)
    return dg.MaterializeResult(value=frame, metadata=table_metadata(frame, api_calls=dg.MetadataValue.int(client.call_count - calls_before)))


@dg.asset(key=asset_key("nopcommerce", "shipments"), deps=[SHIPMENTS_FROM_BRIGHTPEARL], group_name=GROUP, owners=OWNERS, kinds=KINDS)
def nopcommerce_shipments(context: dg.AssetExecutionContext, nopcommerce: NopCommerceResource) -> dg.MaterializeResult:
    """Every shipment with its items (one row per shipment item), tracking number and the shipped
    and delivered dates. The integration creates these from Brightpearl goods-out notes."""
    import pandas as pd
    client = nopcommerce.get_client()
    calls_before = client.call_count
    shipments = client.shipments()
    progress = ProgressLog(context.log.info, "nopCommerce shipment items")
    rows = []
    for index, shipment in enumerate(shipments, start=1):
        header = {
            "shipment_id": shipment.id, "order_id": shipment.order_id, "tracking_number": shipment.tracking_number,
            "created_on_utc": shipment.created_on_utc, "shipped_date_utc": shipment.shipped_date_utc,
            "delivery_date_utc": shipment.delivery_date_utc,
        }
        items = client.shipment_items(shipment.id)
        for item in items or [None]:
            rows.append({**header, "order_item_id": item.order_item_id if item else None, "quantity": item.quantity if item else None})
        progress(index, len(shipments))
    frame = pd.DataFrame(rows, columns=["shipment_id", "order_id", "tracking_number", "created_on_utc", "shipped_date_utc",
                                        "delivery_date_utc", "order_item_id", "quantity"])
    for column in ("order_item_id", "quantity"):
        frame[column] = frame[column].astype("Int64")
    for column in ("created_on_utc", "shipped_date_utc", "delivery_date_utc"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return dg.MaterializeResult(value=frame, metadata=table_metadata(frame, api_calls=dg.MetadataValue.int(client.call_count - calls_before)))


@dg.asset(key=asset_key("nopcommerce", "return_requests"), group_name=GROUP, owners=OWNERS, kinds=KINDS)
def nopcommerce_return_requests(nopcommerce: NopCommerceResource) -> dg.MaterializeResult:
    """Every return request: the order item, quantity, reason, requested action and status. The
    returns flow turns accepted ones into Brightpearl sales credits."""
    import pandas as pd
    client = nopcommerce.get_client()
    calls_before = client.call_count
    requests_ = client.return_requests()
    frame = pd.DataFrame(
        [
            {
                "return_request_id": r.id, "custom_number": r.custom_number, "order_item_id": r.order_item_id,
                "customer_id": r.customer_id, "quantity": r.quantity, "returned_quantity": r.returned_quantity,
                "reason_for_return": r.reason_for_return, "requested_action": r.requested_action,
                "return_request_status_id": r.return_request_status_id, "created_on_utc": r.created_on_utc,
                "updated_on_utc": r.updated_on_utc,
            }
            for r in requests_
        ],
        columns=["return_request_id", "custom_number", "order_item_id", "customer_id", "quantity", "returned_quantity",
                 "reason_for_return", "requested_action", "return_request_status_id", "created_on_utc", "updated_on_utc"],
    )
    for column in ("created_on_utc", "updated_on_utc"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return dg.MaterializeResult(value=frame, metadata=table_metadata(frame, api_calls=dg.MetadataValue.int(client.call_count - calls_before)))
