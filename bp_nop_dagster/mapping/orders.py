"""nopCommerce order → Brightpearl `POST /order-service/sales-order` body (notes §5). Pure: no I/O,
no clock.

Money (the invariant the tests hold with generated orders):

- every row carries `net` and `tax` (priceModeCode EXC) as 2-dp strings (ROUND_HALF_UP);
- Σ(net + tax) over the rows == the nop `order_total`, to the cent;
- for every tax rate, Σ row tax == that rate's entry in the nop `tax_rates` (rounded to the cent;
  a rate missing there, like nop's omitted 0%, sums to 0).

How: each row's tax rate is inferred from its excl/incl prices (the candidate rates are the
mapping's `tax_codes` and the order's `tax_rates`; rates that carry tax on the order win ties).
Shipping and payment-fee rows keep their own tax (incl − excl); the rest of a rate's tax is
spread over the product rows at that rate in proportion to their net, by largest remainder.
The nets then take what is left of the total: `order_total − Σ tax − Σ(line, shipping, fee
nets)` is (up to cents of nop rounding) minus the sub-total discount (excl tax) and the order
discount, and is spread over the product rows in proportion to their net, again by largest
remainder (over every row if it is larger than the products' net). With
`discount_allocation: rows` a negative part goes to one "Discount" row per tax rate instead
(net only, tax 0.00, the discount nominal code), leaving the product rows at their nop prices.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from bp_nop_dagster.mapping.config import MappingConfig, MappingError
from bp_nop_dagster.mapping.contacts import ADDRESS_LINE_LIMIT, phone_text, postal_code_text
from bp_nop_dagster.nopcommerce.models import Address, Order, OrderDetails, OrderItem

CENT = Decimal("0.01")
MAX_ORDER_TOTAL = Decimal("1000000")
TOTAL_TOLERANCE = Decimal("0.05")
REF_LIMIT = 64
ROW_NAME_LIMIT = 255


@dataclass(frozen=True)
class SalesOrderMapping:
    body: dict
    unknown_skus: list[str] = field(default_factory=list)
    needs_review: bool = False
    review_reasons: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# money helpers


def money(value: Decimal | int | str) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def cents(value: Decimal | int | str) -> int:
    return int(money(value) * 100)


def money_text(amount_cents: int) -> str:
    return str((Decimal(amount_cents) / 100).quantize(CENT))


def plain_number(value: Decimal) -> str:
    """A rate or quantity as people write it: 20, 17.5, 0 (`Decimal.normalize` alone gives "2E+1")."""
    return format(Decimal(value).normalize(), "f")


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split `total` (cents) into integer parts proportional to `weights` (negative weights count
    as 0) by largest remainder: the parts always sum to `total`. All weights 0 → all on the first."""
    if not weights:
        raise ValueError("allocate needs at least one weight")
    weights = [max(0, w) for w in weights]
    weight_sum = sum(weights)
    if weight_sum == 0:
        return [total] + [0] * (len(weights) - 1)
    sign, amount = (1, total) if total >= 0 else (-1, -total)
    products = [amount * w for w in weights]
    parts = [p // weight_sum for p in products]
    remainders = [p % weight_sum for p in products]
    left = amount - sum(parts)
    for index in sorted(range(len(weights)), key=lambda i: (-remainders[i], -weights[i], i))[:left]:
        parts[index] += 1
    return [sign * p for p in parts]


# ---------------------------------------------------------------------------------------------
# small pieces


def external_ref(order_id: int, config: MappingConfig) -> str:
    """The Brightpearl externalRef of a nop order (unique with installedIntegrationInstanceId)."""
    return f"{config.external_ref_prefix}{order_id}"


def order_status_id(order: Order, config: MappingConfig) -> int:
    """The Brightpearl order status for the nop order and payment status."""
    mapping = config.order_status
    status = mapping.by_order_status.get(order.order_status_id)
    if status is None:
        raise MappingError("validation_error", f"nop order status {order.order_status_id} has no mapping (order_status.by_order_status)")
    if (
        mapping.awaiting_payment_status_id is not None
        and order.payment_status_id in mapping.awaiting_payment_when_payment_status
        and order.order_status_id in mapping.awaiting_payment_for_order_status
    ):
        return mapping.awaiting_payment_status_id
    return status


def _clean(value: str | None, limit: int = ADDRESS_LINE_LIMIT) -> str | None:
    text = " ".join((value or "").split())
    return text[:limit] if text else None


def order_address(address: Address, country_iso3: str, *, what: str) -> dict:
    """An order party address (delivery / billing): empty fields are left out."""
    line1 = _clean(address.address1)
    if not line1:
        raise MappingError("invalid_address", f"the {what} address ({address.id}) has no first address line")
    full_name = _clean(f"{address.first_name or ''} {address.last_name or ''}")
    body: dict = {}
    for key, value in (
        ("addressFullName", full_name),
        ("companyName", _clean(address.company)),
        ("addressLine1", line1),
        ("addressLine2", _clean(address.address2)),
        ("addressLine3", _clean(address.city)),
        ("addressLine4", _clean(address.county)),
        ("postalCode", postal_code_text(address)),
        ("countryIsoCode", country_iso3),
        ("telephone", phone_text(address.phone_number)),
        ("email", _clean(address.email, 255)),
    ):
        if value:
            body[key] = value
    return body


def _iso3(iso3_for: Callable[[int | None], str], address: Address, what: str) -> str:
    try:
        code = iso3_for(address.country_id)
    except MappingError:
        raise
    except (LookupError, ValueError, TypeError) as error:
        raise MappingError("invalid_address", f"the {what} address ({address.id}) has an unknown country {address.country_id}: {error}") from None
    if not code or len(code) != 3:
        raise MappingError("invalid_address", f"the {what} address ({address.id}) has no ISO alpha-3 country ({code!r})")
    return code


# ---------------------------------------------------------------------------------------------
# validation


def _malformed(order: Order, message: str) -> MappingError:
    return MappingError("malformed_order", f"order {order.id}: {message}")


def _validate(details: OrderDetails) -> None:
    order = details.order
    if not details.items:
        raise _malformed(order, "has no items")
    for item in details.items:
        if item.quantity <= 0:
            raise _malformed(order, f"item {item.id} has quantity {item.quantity}")
        for name in ("unit_price_excl_tax", "unit_price_incl_tax", "price_excl_tax", "price_incl_tax"):
            value = getattr(item, name)
            if not value.is_finite() or value < 0:
                raise _malformed(order, f"item {item.id} has a negative or invalid {name} ({value})")
    amounts = {
        "order_total": order.order_total,
        "order_subtotal_incl_tax": order.order_subtotal_incl_tax,
        "order_subtotal_excl_tax": order.order_subtotal_excl_tax,
        "order_sub_total_discount_incl_tax": order.order_sub_total_discount_incl_tax,
        "order_sub_total_discount_excl_tax": order.order_sub_total_discount_excl_tax,
        "order_shipping_incl_tax": order.order_shipping_incl_tax,
        "order_shipping_excl_tax": order.order_shipping_excl_tax,
        "payment_method_additional_fee_incl_tax": order.payment_method_additional_fee_incl_tax,
        "payment_method_additional_fee_excl_tax": order.payment_method_additional_fee_excl_tax,
        "order_discount": order.order_discount,
    }
    for name, value in amounts.items():
        if not value.is_finite() or value < 0:
            raise _malformed(order, f"{name} is negative or invalid ({value})")
    if order.order_total > MAX_ORDER_TOTAL:
        raise _malformed(order, f"order_total {order.order_total} is above the {MAX_ORDER_TOTAL} sanity limit")
    for rate, amount in order.tax_rates.items():
        if rate < 0 or rate > 100:
            raise _malformed(order, f"tax_rates has an impossible rate {rate}%")
    expected = (
        order.order_subtotal_incl_tax + order.order_shipping_incl_tax + order.payment_method_additional_fee_incl_tax
        - order.order_sub_total_discount_incl_tax - order.order_discount
    )
    if abs(expected - order.order_total) > TOTAL_TOLERANCE:
        raise _malformed(
            order,
            f"order_total {money(order.order_total)} is not subtotal + shipping + fee − discounts = {money(expected)} "
            "(gift cards or reward points are not supported)",
        )
    items_excl = sum((item.price_excl_tax for item in details.items), Decimal("0"))
    tolerance = max(TOTAL_TOLERANCE, CENT * len(details.items))
    if abs(items_excl - order.order_subtotal_excl_tax) > tolerance:
        raise _malformed(order, f"its items add up to {money(items_excl)} but order_subtotal_excl_tax is {money(order.order_subtotal_excl_tax)}")


# ---------------------------------------------------------------------------------------------
# tax rates


def _consistent(rate: Decimal, excl: Decimal, incl: Decimal, slack: Decimal) -> bool:
    factor = 1 + rate / 100
    forward = abs(excl * factor - incl)  # nop computed incl from excl
    backward = abs(incl / factor - excl)  # ... or excl from incl (prices entered incl. tax)
    return min(forward, backward) <= slack


UNIT_SLACK = Decimal("0.0051")


def infer_rate(excl_unit: Decimal, incl_unit: Decimal, candidates: Sequence[Decimal], taxed: set[Decimal],
               slack: Decimal = UNIT_SLACK) -> Decimal | None:
    """The tax rate of a line among `candidates` whose unit prices are consistent with it (nop
    rounds the unit price to the cent, prices are stored with 4 decimals: slack 0.0051 per unit).
    Ties go to rates that carry tax on the order (`taxed`), then to the closest. A zero-price
    line is 0% when 0% is a candidate. None if no candidate fits."""
    if excl_unit == 0 and incl_unit == 0 and Decimal("0") in candidates:
        return Decimal("0")
    fitting = [r for r in candidates if _consistent(r, excl_unit, incl_unit, slack)]
    if not fitting:
        return None
    return min(fitting, key=lambda r: (r not in taxed, abs(excl_unit * (1 + r / 100) - incl_unit), r))


def _raw_rate(excl: Decimal, incl: Decimal) -> str:
    if excl == 0:
        return "?"
    return f"{((incl - excl) / excl * 100).quantize(CENT)}"


@dataclass
class _Row:
    kind: str  # item | shipping | fee | discount
    rate: Decimal
    base_net: int  # cents, before discounts
    tax: int = 0
    net: int = 0
    fixed_tax: int | None = None  # shipping / fee: incl − excl
    body: dict = field(default_factory=dict)


def _tax_code(rate: Decimal, order: Order, config: MappingConfig, where: str) -> str:
    if rate == 0 and order.order_tax == 0 and (order.vat_number or "").strip():
        return config.exempt_tax_code
    code = config.tax_code_for(rate)
    if code is None:
        known = ", ".join(f"{plain_number(r)}%" for r in config.tax_codes)
        raise MappingError("validation_error", f"order {order.id}: {where} is taxed at {plain_number(rate)}%, which has no tax code in the mapping (tax_codes: {known})")
    return code


def _product_name(item: OrderItem, product_names: Mapping[int, str] | None) -> str:
    name = (product_names or {}).get(item.product_id)
    if not name:
        name = f"nopCommerce product {item.product_id}"
    if item.attribute_description:
        name = f"{name} ({' '.join(item.attribute_description.split())})"
    return name


# ---------------------------------------------------------------------------------------------
# the body


def sales_order_body(
    details: OrderDetails,
    *,
    contact_id: int,
    sku_to_product_id: Mapping[str, int],
    line_skus: Mapping[int, str | None],
    config: MappingConfig,
    iso3_for: Callable[[int | None], str],
    product_names: Mapping[int, str] | None = None,
) -> SalesOrderMapping:
    """The `POST /order-service/sales-order` body for one nop order (see the module docstring
    for the money rules). `line_skus` maps order_item_id → the SKU sold; `sku_to_product_id` maps
    Brightpearl SKUs to product ids and must hold `config.placeholder_sku` when a line's SKU is
    unknown; `iso3_for(country_id)` gives an address's ISO alpha-3 country. `product_names`
    (nop product id → name, optional) names placeholder rows.
    Raises MappingError (malformed_order | invalid_address | validation_error | unknown_store:
    the order's store is not in the mapping's `stores:`, when it has any)."""
    _validate(details)
    order = details.order
    config = config.for_store(order.store_id)  # the store's channel, warehouse and price list

    # ---- addresses
    billing_address = details.billing_address or details.shipping_address
    if billing_address is None:
        raise MappingError("invalid_address", f"order {order.id} has no billing or shipping address")
    delivery_address = details.shipping_address or billing_address
    billing = order_address(billing_address, _iso3(iso3_for, billing_address, "billing"), what="billing")
    delivery = order_address(delivery_address, _iso3(iso3_for, delivery_address, "delivery"), what="delivery")

    # ---- rates
    nop_tax = {Decimal(rate): cents(amount) for rate, amount in order.tax_rates.items()}
    taxed = {rate for rate, amount in nop_tax.items() if amount != 0}
    candidates = sorted(set(config.tax_codes) | set(nop_tax))

    rows: list[_Row] = []
    unknown_skus: list[str] = []
    reasons: list[str] = []
    for item in details.items:
        rate = infer_rate(item.unit_price_excl_tax, item.unit_price_incl_tax, candidates, taxed)
        if rate is None:  # unit prices missing or odd: the line totals, with a slack per unit
            rate = infer_rate(item.price_excl_tax, item.price_incl_tax, candidates, taxed, UNIT_SLACK * item.quantity)
        if rate is None:
            raise MappingError(
                "validation_error",
                f"order {order.id}: item {item.id} is taxed at about {_raw_rate(item.unit_price_excl_tax, item.unit_price_incl_tax)}%, "
                f"which matches no rate in tax_codes or the order's tax_rates",
            )
        sku = line_skus.get(item.id)
        product_id = sku_to_product_id.get(sku) if sku else None
        body: dict = {}
        if product_id is None:
            placeholder = sku_to_product_id.get(config.placeholder_sku)
            if placeholder is None:
                raise MappingError(
                    "validation_error",
                    f"order {order.id}: item {item.id} has {'SKU ' + repr(sku) if sku else 'no SKU'} unknown to Brightpearl and "
                    f"the placeholder product {config.placeholder_sku!r} does not exist there",
                )
            label = sku or "(no SKU)"
            if sku and sku not in unknown_skus:
                unknown_skus.append(sku)
            reasons.append(f"item {item.id}: {'SKU ' + repr(sku) if sku else 'no SKU'} (nop product {item.product_id}) is not in Brightpearl")
            body["productId"] = placeholder
            body["name"] = f"{label} {_product_name(item, product_names)}"[:ROW_NAME_LIMIT]
        else:
            body["productId"] = product_id
        body["quantity"] = int(item.quantity)
        body["taxCode"] = _tax_code(rate, order, config, f"item {item.id}")
        body["nominalCode"] = config.nominal_codes.sales
        body["externalRef"] = str(item.id)
        rows.append(_Row("item", rate, cents(item.price_excl_tax), body=body))

    def extra_row(kind: str, excl: Decimal, incl: Decimal, name: str, nominal: str, ref: str) -> None:
        if money(excl) <= 0 and money(incl) <= 0:
            return
        rate = infer_rate(excl, incl, candidates, taxed)
        if rate is None:
            raise MappingError("validation_error", f"order {order.id}: {kind} is taxed at about {_raw_rate(excl, incl)}%, which matches no rate in tax_codes")
        body = {"name": name[:ROW_NAME_LIMIT], "quantity": 1, "taxCode": _tax_code(rate, order, config, kind),
                "nominalCode": nominal, "externalRef": ref}
        rows.append(_Row(kind, rate, cents(excl), fixed_tax=cents(incl) - cents(excl), body=body))

    extra_row("shipping", order.order_shipping_excl_tax, order.order_shipping_incl_tax,
              f"Shipping: {order.shipping_method or 'shipping'}", config.nominal_codes.shipping, "shipping")
    extra_row("fee", order.payment_method_additional_fee_excl_tax, order.payment_method_additional_fee_incl_tax,
              f"Payment fee: {order.payment_method_system_name or 'payment method'}", config.nominal_codes.payment_fee, "payment-fee")

    # ---- tax per rate
    rates_in_rows = {row.rate for row in rows}
    for rate, amount in nop_tax.items():
        if amount != 0 and rate not in rates_in_rows:
            raise _malformed(order, f"tax_rates has {money_text(amount)} at {plain_number(rate)}% but no line is taxed at that rate")
    for rate in rates_in_rows:
        at_rate = [row for row in rows if row.rate == rate]
        target = nop_tax.get(rate, 0)
        fixed = [row for row in at_rate if row.fixed_tax is not None]
        for row in fixed:
            row.tax = row.fixed_tax or 0
        remainder = target - sum(row.tax for row in fixed)
        items = [row for row in at_rate if row.kind == "item"]
        if items:
            for row, part in zip(items, allocate(remainder, [row.base_net for row in items])):
                row.tax = part
        elif fixed:
            fixed[-1].tax += remainder

    # ---- nets
    for row in rows:
        row.net = row.base_net
    total_cents = cents(order.order_total)
    delta = total_cents - sum(row.tax for row in rows) - sum(row.net for row in rows)
    if delta:
        items = [row for row in rows if row.kind == "item"]
        item_net = sum(row.base_net for row in items)
        spread_over = items if delta > 0 or -delta <= item_net else rows
        parts = allocate(delta, [row.base_net for row in spread_over])
        if config.discount_allocation == "rows" and delta < 0:
            by_rate: dict[Decimal, int] = {}
            for row, part in zip(spread_over, parts):
                by_rate[row.rate] = by_rate.get(row.rate, 0) + part
            for rate in sorted(by_rate):
                if by_rate[rate]:
                    rows.append(_Row("discount", rate, 0, tax=0, net=by_rate[rate], body={
                        "name": f"Discount ({plain_number(rate)}% VAT)" if rate else "Discount",
                        "quantity": 1, "taxCode": _tax_code(rate, order, config, "discount"),
                        "nominalCode": config.nominal_codes.discount, "externalRef": f"discount-{plain_number(rate)}",
                    }))
        else:
            for row, part in zip(spread_over, parts):
                row.net += part

    out_rows = []
    for row in rows:
        body = dict(row.body)
        body["net"] = money_text(row.net)
        body["tax"] = money_text(row.tax)
        out_rows.append(body)

    ref = (order.custom_order_number or str(order.id)).strip() or str(order.id)
    body = {
        "customer": {"id": contact_id},
        "ref": ref[:REF_LIMIT],
        "externalRef": external_ref(order.id, config)[:REF_LIMIT],
        "placedOn": order.created_on_utc.isoformat(timespec="seconds"),
        "statusId": order_status_id(order, config),
        "channelId": config.channel_id,
        "warehouseId": config.warehouse_id,
        "priceListId": config.price_list_id,
        "priceModeCode": config.price_mode,
        # nop stores every amount in the store's primary currency (customer_currency_code and
        # currency_rate only describe what the customer saw), so the mapping's currency is used.
        "currency": {"code": config.currency_code},
        "delivery": {"address": delivery, "shippingMethodId": config.shipping_method_id(order.shipping_method)},
        "billing": {"contactId": contact_id, "address": billing},
        "rows": out_rows,
    }
    if config.installed_integration_instance_id is not None:  # the externalRef's unique key partner
        body["installedIntegrationInstanceId"] = config.installed_integration_instance_id
    return SalesOrderMapping(body=body, unknown_skus=unknown_skus, needs_review=bool(reasons), review_reasons=reasons)


__all__ = [
    "MappingError",
    "SalesOrderMapping",
    "allocate",
    "external_ref",
    "infer_rate",
    "money",
    "order_address",
    "order_status_id",
    "plain_number",
    "sales_order_body",
]
