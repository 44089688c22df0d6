"""Tables the source assets and the reports share (pure: models in, DataFrames out), so a report's
targeted look-up yields exactly the rows the source asset would have had."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING


from bp_nop_dagster.brightpearl import models as m

if TYPE_CHECKING:
    import pandas as pd

SALES_ORDER_COLUMNS = [
    "order_id", "reference", "external_ref", "created_on", "placed_on", "contact_id", "status_id", "status_name",
    "payment_status", "shipping_status_code", "channel_id", "warehouse_id", "currency", "net", "tax", "total",
    "row_id", "product_id", "sku", "row_name", "row_external_ref", "quantity", "row_net", "row_tax", "tax_code",
]
SALES_ORDER_DESCRIPTIONS = {
    "order_id": "Brightpearl order id",
    "reference": "the order's reference (nopCommerce's order number for orders from the shop)",
    "external_ref": "externalRef: `nop-<nopCommerce order id>` for orders the integration created",
    "created_on": "when the order was created in Brightpearl (UTC)",
    "placed_on": "when the customer placed it (for shop orders: nopCommerce's created time)",
    "contact_id": "the customer's Brightpearl contact id",
    "status_id": "Brightpearl order status id (per account; see status_name)",
    "status_name": "Brightpearl order status name",
    "payment_status": "Brightpearl payment status: PAID, PARTIALLY_PAID, UNPAID or NOT_APPLICABLE",
    "shipping_status_code": "NST no stock items, SNS not shipped, SPS part shipped, ASS all shipped",
    "channel_id": "Brightpearl sales channel id",
    "warehouse_id": "Brightpearl warehouse id",
    "currency": "the order's currency (ISO 4217)",
    "net": "order net total, in `currency`",
    "tax": "order tax total, in `currency`",
    "total": "order gross total, in `currency`",
    "row_id": "Brightpearl order row id (one table row per order row)",
    "product_id": "Brightpearl product id of the row",
    "sku": "the row product's SKU (the placeholder SKU for lines whose SKU Brightpearl did not know)",
    "row_name": "the row's product name (placeholder rows carry the shop's SKU and name here)",
    "row_external_ref": "the row's externalRef: the nopCommerce order item id for rows the integration created",
    "quantity": "units on the row",
    "row_net": "row net value, in `currency`",
    "row_tax": "row tax value, in `currency`",
    "tax_code": "Brightpearl tax code of the row",
}
_INTS = ("order_id", "contact_id", "status_id", "channel_id", "warehouse_id", "row_id", "product_id")
_FLOATS = ("net", "tax", "total", "quantity", "row_net", "row_tax")
_TIMES = ("created_on", "placed_on")


def _number(value) -> float | None:
    return float(value) if value is not None else None


def _table(rows: list[dict]) -> pd.DataFrame:
    import pandas as pd
    frame = pd.DataFrame(rows, columns=SALES_ORDER_COLUMNS)
    for column in _INTS:
        frame[column] = frame[column].astype("Int64")
    for column in _FLOATS:
        frame[column] = frame[column].astype("float64")
    for column in _TIMES:
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def sales_order_rows(orders: Iterable[m.SalesOrder], status_names: Mapping[int, str]) -> pd.DataFrame:
    """One row per order row of sales orders in the sales-order GET shape (an order without rows
    keeps one row with empty row columns); `status_names` names the account's status ids."""
    rows = []
    for order in orders:
        header = {
            "order_id": order.id, "reference": order.ref, "external_ref": order.external_ref, "created_on": order.created_on,
            "placed_on": order.placed_on, "contact_id": order.customer_id, "status_id": order.status_id,
            "status_name": status_names.get(order.status_id), "payment_status": order.payment_status,
            "shipping_status_code": order.shipping_status_code, "channel_id": order.channel_id,
            "warehouse_id": order.warehouse_id, "currency": order.currency_code, "net": _number(order.net),
            "tax": _number(order.tax), "total": _number(order.total),
        }
        for row in order.rows or [None]:
            rows.append({
                **header,
                "row_id": row.id if row else None, "product_id": row.product_id if row else None,
                "sku": row.sku if row else None, "row_name": row.name if row else None,
                "row_external_ref": row.external_ref if row else None, "quantity": _number(row.quantity) if row else None,
                "row_net": _number(row.net) if row else None, "row_tax": _number(row.tax) if row else None,
                "tax_code": row.tax_code if row else None,
            })
    return _table(rows)


def order_rows(orders: Iterable[m.Order]) -> pd.DataFrame:
    """The same table from the low-level order GET shape (sales credits): it has status names
    and row values but no externalRef (that column stays empty)."""
    rows = []
    for order in orders:
        header = {
            "order_id": order.id, "reference": order.reference, "external_ref": order.external_ref,
            "created_on": order.created_on, "placed_on": order.placed_on, "contact_id": order.customer_contact_id,
            "status_id": order.status_id, "status_name": order.status_name, "payment_status": order.order_payment_status,
            "shipping_status_code": order.shipping_status_code, "channel_id": order.channel_id,
            "warehouse_id": order.warehouse_id, "currency": order.currency_code,
            "net": _number(order.totals.net) if order.totals else None,
            "tax": _number(order.totals.tax_amount) if order.totals else None,
            "total": _number(order.totals.total) if order.totals else None,
        }
        for row in order.rows or [None]:
            rows.append({
                **header,
                "row_id": row.id if row else None, "product_id": row.product_id if row else None,
                "sku": row.product_sku if row else None, "row_name": row.product_name if row else None,
                "row_external_ref": row.external_ref if row else None,
                "quantity": _number(row.quantity) if row else None,
                "row_net": _number(row.row_net) if row else None, "row_tax": _number(row.row_tax) if row else None,
                "tax_code": row.tax_code if row else None,
            })
    return _table(rows)
