"""Refunds and returns between nopCommerce and Brightpearl: pure rules (no I/O, no clock).
docs/reference/returns-refunds.md §1, §2, §5 (pitfalls 1, 2, 5, 8, 10).

nopCommerce keeps no refund lines, only the order's cumulative `refunded_amount`; a refund is the
rise of that amount (`RefundPlan.amount`, cents). What it was for is explained, where possible, by
the order's return requests. The sales credit of one refund is built from the Brightpearl sales
order's own rows (the order flow wrote them: nop item id in `externalRef`, `shipping` for the
shipping row), so tax is reversed at the rates the order was booked at, never zero-rated:

1. **Full refund** (nothing refunded before and the refund is the whole order total): every
   sales-order row is credited as booked (Brightpearl's "clone to credit"), every open return
   request belongs to it.
2. **Otherwise**, the open return requests, oldest first, while their goods fit in the refund:
   each becomes one row for its quantity, net and tax prorated from the order row
   (`round_half_up(row net x qty / row qty)` to the cent, tax likewise). The shipping row is
   credited when what is left equals the shipping row's gross exactly, or when this refund
   completes the order total and what is left covers it (and no earlier refund credited it).
3. **Difference**: whatever is left (refund - rows, positive or negative: rounding, an
   amount-only refund, a goodwill amount) becomes one "Refund difference" row per tax code of
   the order, split by the order's gross per tax code (largest remainder, `allocate`), each part
   net = `round_half_up(part / (1 + rate))`, tax = part - net. So the credit's gross equals the
   money refunded to the cent and its VAT is the order's mix.

Keys: externalRef and transactionRef of refund `n` of order `o` are `<prefix><o>-refund-<n>`
(`nop-<o>-refund-<n>` with the default prefix); a goods-in note's userBatchReference is
`<prefix>return-<request id>`. A credit whose externalRef has the refund form is ours (the origin
marker): the Brightpearl -> nopCommerce direction never refunds it back.

Brightpearl -> nopCommerce: the amount is what the credit paid out (PAYMENT), capped at
`order_total - refunded_amount` (`nop_refund_cents`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from bp_nop_dagster.mapping.config import MappingConfig, MappingError
from bp_nop_dagster.mapping.orders import allocate, cents, money_text, plain_number

SHIPPING_REF = "shipping"  # the order flow's externalRef of the shipping row (mapping/orders.py)
DIFFERENCE_NAME = "Refund difference"
#: nop return request statuses that never explain a refund (RETURNS §4: RequestRejected 50, Cancelled 60).
CLOSED_REQUEST_STATUSES = (50, 60)
#: nop return request statuses that mean the goods came back (Received 10 and every later step but
#: Rejected/Cancelled: ReturnAuthorized 20, ItemsRepaired 30, ItemsRefunded 40).
RECEIVED_REQUEST_STATUSES = (10, 20, 30, 40)


@dataclass(frozen=True)
class OrderRow:
    """A Brightpearl sales-order row as a credit needs it (amounts are row totals)."""

    external_ref: str | None
    product_id: int | None
    name: str | None
    quantity: Decimal
    net: Decimal
    tax: Decimal
    tax_code: str | None
    nominal_code: str | None = None

    @property
    def gross_cents(self) -> int:
        return cents(self.net) + cents(self.tax)


@dataclass(frozen=True)
class ReturnLine:
    """An open nop return request: `request_id`, the order item it returns and how many."""

    request_id: int
    order_item_id: int
    quantity: int


@dataclass(frozen=True)
class RefundPlan:
    """What one refund credits: its amount (cents), the return requests it covers, whether it
    credits the shipping row, and whether it is the full refund of the order."""

    amount: int
    requests: tuple[ReturnLine, ...] = ()
    shipping: bool = False
    full: bool = False

    def as_json(self) -> dict:
        return {"amount": self.amount, "shipping": self.shipping, "full": self.full,
                "requests": [[r.request_id, r.order_item_id, r.quantity] for r in self.requests]}

    @classmethod
    def from_json(cls, data: Mapping) -> RefundPlan:
        return cls(int(data["amount"]), tuple(ReturnLine(*map(int, r)) for r in data.get("requests", ())),
                   bool(data.get("shipping")), bool(data.get("full")))


@dataclass
class CreditRows:
    rows: list[dict] = field(default_factory=list)

    @property
    def gross_cents(self) -> int:
        return sum(cents(r["net"]) + cents(r["tax"]) for r in self.rows)

    @property
    def tax_cents(self) -> int:
        return sum(cents(r["tax"]) for r in self.rows)


# --------------------------------------------------------------------------------------- keys


def refund_ref(order_id: int, n: int, config: MappingConfig) -> str:
    """externalRef of the credit and transactionRef of the payment of refund `n` of a nop order."""
    return f"{config.external_ref_prefix}{order_id}-refund-{n}"


def return_batch_ref(request_id: int, config: MappingConfig) -> str:
    """The goods-in note's userBatchReference for a nop return request (unique, so a receipt whose
    outcome is unknown is found again)."""
    return f"{config.external_ref_prefix}return-{request_id}"


def is_our_credit(external_ref: str | None, config: MappingConfig) -> bool:
    """The origin marker: a credit this integration made for a nop refund."""
    pattern = rf"^{re.escape(config.external_ref_prefix)}\d+-refund-\d+$"
    return bool(external_ref and re.match(pattern, external_ref))


def refund_key(order_id: int, n: int) -> str:
    """The ledger key of refund `n` of a nop order."""
    return f"{order_id}:{n}"


def parse_refund_key(key: str) -> tuple[int, int]:
    order, n = key.split(":")
    return int(order), int(n)


# --------------------------------------------------------------------------------------- plan


def prorated(row: OrderRow, quantity: int) -> tuple[int, int]:
    """(net, tax) in cents of `quantity` units of an order row: row totals x qty / row qty, half up."""
    if row.quantity <= 0:
        raise MappingError("validation_error", f"sales order row {row.external_ref} has quantity {row.quantity}")
    share = Decimal(quantity) / row.quantity
    return (cents((row.net * share).quantize(Decimal("0.01"), ROUND_HALF_UP)),
            cents((row.tax * share).quantize(Decimal("0.01"), ROUND_HALF_UP)))


def plan_refund(
    *,
    amount: int,
    order_total: int,
    refunded_before: int,
    order_rows: Sequence[OrderRow],
    open_requests: Sequence[ReturnLine],
    shipping_credited_before: bool,
) -> RefundPlan:
    """Which return requests and whether the shipping row a refund of `amount` cents covers (rules
    1 and 2 of the module docstring). `open_requests` are the order's requests not Rejected or
    Cancelled and not covered by an earlier refund."""
    by_item = {row.external_ref: row for row in order_rows}
    requests = sorted(open_requests, key=lambda r: r.request_id)
    if refunded_before == 0 and amount == order_total:
        return RefundPlan(amount, tuple(requests), shipping=SHIPPING_REF in by_item, full=True)
    taken: list[ReturnLine] = []
    used = 0
    for request in requests:
        row = by_item.get(str(request.order_item_id))
        if row is None:
            continue
        net, tax = prorated(row, request.quantity)
        if used + net + tax > amount:
            continue
        taken.append(request)
        used += net + tax
    left = amount - used
    shipping_row = by_item.get(SHIPPING_REF)
    shipping = False
    if shipping_row is not None and not shipping_credited_before and shipping_row.gross_cents > 0:
        completes = refunded_before + amount == order_total
        shipping = left == shipping_row.gross_cents or (completes and left >= shipping_row.gross_cents)
    return RefundPlan(amount, tuple(taken), shipping=shipping)


# --------------------------------------------------------------------------------------- rows


def tax_rate_of(code: str | None, config: MappingConfig) -> Decimal:
    """The rate (percent) of a Brightpearl tax code the mapping knows (`tax_codes`; the exempt code is 0)."""
    if code == config.exempt_tax_code:
        return Decimal("0")
    for rate, known in config.tax_codes.items():
        if known == code:
            return Decimal(rate)
    raise MappingError("validation_error", f"tax code {code!r} of the sales order has no rate in the mapping (tax_codes)")


def _row(source: OrderRow, quantity: Decimal | int, net: int, tax: int, ref: str, config: MappingConfig) -> dict:
    body: dict = {"quantity": str(quantity), "net": money_text(net), "tax": money_text(tax),
                  "taxCode": source.tax_code, "nominalCode": source.nominal_code or config.nominal_codes.sales, "externalRef": ref}
    if source.product_id is not None:
        body["productId"] = source.product_id
    if source.name and (source.product_id is None or source.external_ref == SHIPPING_REF):
        body["name"] = source.name
    return body


def difference_rows(left: int, order_rows: Sequence[OrderRow], config: MappingConfig) -> list[dict]:
    """Rule 3: `left` cents split over the order's tax codes by their gross, each at its rate."""
    if left == 0:
        return []
    gross: dict[str, int] = {}
    for row in order_rows:
        if row.tax_code:
            gross[row.tax_code] = gross.get(row.tax_code, 0) + max(0, row.gross_cents)
    if not gross:
        raise MappingError("validation_error", "the sales order has no taxed rows to reverse a refund difference at")
    codes = sorted(gross)
    rows = []
    for code, part in zip(codes, allocate(left, [gross[c] for c in codes])):
        if part == 0:
            continue
        rate = tax_rate_of(code, config)
        net = int((Decimal(part) * 100 / (100 + rate)).quantize(Decimal("1"), ROUND_HALF_UP))
        rows.append({"name": DIFFERENCE_NAME if len(codes) == 1 else f"{DIFFERENCE_NAME} ({plain_number(rate)}% VAT)",
                     "quantity": "1", "net": money_text(net), "tax": money_text(part - net), "taxCode": code,
                     "nominalCode": config.nominal_codes.sales, "externalRef": f"difference-{code}"})
    return rows


def credit_rows(plan: RefundPlan, order_rows: Sequence[OrderRow], config: MappingConfig) -> CreditRows:
    """The credit's rows for a plan: their gross always equals `plan.amount` (module docstring)."""
    out = CreditRows()
    if plan.full:  # rows keep the order row's reference: goods-in finds a request's row by `row-<item id>`
        for index, row in enumerate(order_rows):
            ref = SHIPPING_REF if row.external_ref == SHIPPING_REF else f"row-{row.external_ref or index}"
            out.rows.append(_row(row, plain_number(row.quantity), cents(row.net), cents(row.tax), ref, config))
    else:
        by_item = {row.external_ref: row for row in order_rows}
        for request in plan.requests:
            row = by_item[str(request.order_item_id)]
            net, tax = prorated(row, request.quantity)
            out.rows.append(_row(row, request.quantity, net, tax, f"return-{request.request_id}", config))
        if plan.shipping:
            row = by_item[SHIPPING_REF]
            out.rows.append(_row(row, 1, cents(row.net), cents(row.tax), SHIPPING_REF, config))
    out.rows.extend(difference_rows(plan.amount - out.gross_cents, order_rows, config))
    return out


def sales_credit_body(
    *,
    order_id: int,
    n: int,
    plan: RefundPlan,
    order_rows: Sequence[OrderRow],
    sales_order_id: int,
    customer_id: int,
    config: MappingConfig,
    placed_on: datetime,
) -> dict:
    """The `POST /order-service/sales-credit` body of refund `n` of nop order `order_id`."""
    rows = credit_rows(plan, order_rows, config)
    if rows.gross_cents != plan.amount:  # the rules guarantee it; a broken rule must not reach Brightpearl
        raise MappingError("validation_error", f"credit rows add up to {money_text(rows.gross_cents)}, not {money_text(plan.amount)}")
    body = {
        "customer": {"id": customer_id},
        "parentId": sales_order_id,
        "ref": f"{order_id}-R{n}",
        "externalRef": refund_ref(order_id, n, config),
        "placedOn": placed_on.isoformat(timespec="seconds"),
        "channelId": config.channel_id,
        "warehouseId": config.warehouse_id,
        "priceListId": config.price_list_id,
        "priceModeCode": "EXC",
        "currency": {"code": config.currency_code},
        "rows": rows.rows,
    }
    if config.installed_integration_instance_id is not None:
        body["installedIntegrationInstanceId"] = config.installed_integration_instance_id
    return body


def refund_payment_body(*, order_id: int, n: int, amount: int, bp_order_id: int, payment_system_name: str | None,
                        config: MappingConfig, paid_on: datetime) -> dict:
    """The PAYMENT (money to the customer) of a refund: against the credit, or, for a full refund
    before shipping, against the sales order (the reversal before its cancellation)."""
    method = config.payment_methods.get(payment_system_name or "")
    if not method:
        raise MappingError("validation_error", f"order {order_id}: no payment method mapped for {payment_system_name or '(none)'!r} (payment_methods)")
    return {"paymentMethodCode": method, "paymentType": "PAYMENT", "orderId": bp_order_id,
            "currencyIsoCode": config.currency_code, "amountPaid": money_text(amount),
            "transactionRef": refund_ref(order_id, n, config), "paymentDate": paid_on.date().isoformat()}


def credit_row_for(request: ReturnLine, rows: Sequence) -> object | None:
    """The credit row a return request's goods are received against: its own row
    (`return-<request id>`), else, in a full refund's credit, its order item's row (`row-<item id>`).
    `rows` are the credit's rows as read back (with ids and `external_ref`)."""
    for wanted in (f"return-{request.request_id}", f"row-{request.order_item_id}"):
        found = next((row for row in rows if getattr(row, "external_ref", None) == wanted), None)
        if found is not None:
            return found
    return None


def goods_in_body(*, credit_row_id: int, product_id: int, quantity: int, warehouse_id: int, location_id: int,
                  unit_cost: Decimal, request_id: int, config: MappingConfig, received_on: datetime) -> dict:
    """The goods-in note receiving a return request's goods against its credit row: valued at the
    item's cost (nop `original_product_cost`, in the primary currency), never at its sale price."""
    return {"transfer": False, "warehouseId": warehouse_id, "receivedOn": received_on.isoformat(timespec="seconds"),
            "userBatchReference": return_batch_ref(request_id, config),
            "goodsMoved": [{"productId": product_id, "purchaseOrderRowId": credit_row_id, "quantity": quantity,
                            "destinationLocationId": location_id,
                            "productValue": {"currency": config.currency_code, "value": str(unit_cost.quantize(Decimal("0.0001")))}}]}


# --------------------------------------------------------------------------- the other way


def nop_refund_cents(paid_out: int, order_total: int, refunded: int) -> int:
    """What a staff credit's payment refunds in nop: the money paid out, capped at what the
    order still has to refund (`order_total - refunded_amount`); never negative."""
    return max(0, min(paid_out, order_total - refunded))


__all__ = [
    "CreditRows", "OrderRow", "credit_row_for", "RefundPlan", "ReturnLine", "credit_rows", "difference_rows", "goods_in_body",
    "is_our_credit", "nop_refund_cents", "parse_refund_key", "plan_refund", "prorated", "refund_key",
    "refund_payment_body", "refund_ref", "return_batch_ref", "sales_credit_body", "tax_rate_of",
]
