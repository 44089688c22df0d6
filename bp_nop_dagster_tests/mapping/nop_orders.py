"""Test builders: nopCommerce orders whose money is computed the way nopCommerce computes it
(as the sandbox's `place_order` does): unit price excl → incl at the line's rate rounded to the
cent, line = unit × quantity, tax per rate summed from the lines; a sub-total discount (excl tax)
reduces each rate's tax in proportion; the order-total discount is taken off the total and leaves
the tax alone; shipping and the payment fee are taxed at their own rate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal

from bp_nop_dagster.nopcommerce.models import Address, Order, OrderDetails, OrderItem

CENT = Decimal("0.01")
FOUR = Decimal("0.0001")
PLACED = datetime(2024, 3, 5, 14, 30, tzinfo=timezone.utc)


def r2(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def r4(value: Decimal) -> Decimal:
    return value.quantize(FOUR, rounding=ROUND_HALF_UP)


@dataclass
class Line:
    unit: str  # unit price excl tax (or incl tax when prices_include_tax)
    quantity: int = 1
    rate: str = "20"
    sku: str | None = "SKU-1"


def address(address_id: int = 1, **overrides) -> Address:
    values = dict(
        id=address_id, first_name="Ada", last_name="Lovelace", email="Ada@Example.com", company=None,
        country_id=222, county=None, city="London", address1="1 High Street", address2=None,
        zip_postal_code="N1 9GU", phone_number="020 7946 0000",
    )
    values.update(overrides)
    return Address(**values)


def build_order(
    lines: list[Line],
    *,
    order_id: int = 1001,
    shipping: str = "0",
    shipping_rate: str = "20",
    fee: str = "0",
    fee_rate: str = "20",
    subtotal_discount: str = "0",
    order_discount: str = "0",
    prices_include_tax: bool = False,
    tax_rates_4dp: bool = False,
    include_zero_rate: bool = False,
    billing: Address | None = None,
    shipping_address: Address | None = None,
    no_shipping_address: bool = False,
    **order_fields,
) -> OrderDetails:
    rates: dict[Decimal, Decimal] = {}
    items = []
    subtotal_excl = subtotal_incl = Decimal("0")
    for index, line in enumerate(lines, start=1):
        rate = Decimal(line.rate)
        if prices_include_tax:
            unit_incl = r2(Decimal(line.unit))
            unit_excl = r4(unit_incl / (1 + rate / 100))
        else:
            unit_excl = r2(Decimal(line.unit))
            unit_incl = r2(unit_excl * (1 + rate / 100))
        line_excl, line_incl = unit_excl * line.quantity, unit_incl * line.quantity
        subtotal_excl += line_excl
        subtotal_incl += line_incl
        if rate > 0 or include_zero_rate:
            rates[rate] = rates.get(rate, Decimal("0")) + (line_incl - line_excl)
        items.append(OrderItem(
            id=5000 + index, order_id=order_id, product_id=100 + index, quantity=line.quantity,
            unit_price_excl_tax=unit_excl, unit_price_incl_tax=unit_incl,
            price_excl_tax=line_excl, price_incl_tax=line_incl,
        ))
    discount_excl = min(Decimal(subtotal_discount), subtotal_excl)
    discount_incl = discount_excl
    if discount_excl > 0 and subtotal_excl > 0:
        for rate in sorted(rates):
            cut = r2(rates[rate] * discount_excl / subtotal_excl)
            rates[rate] -= cut
            discount_incl += cut
    shipping_excl = Decimal(shipping)
    shipping_incl = r2(shipping_excl * (1 + Decimal(shipping_rate) / 100))
    if shipping_incl - shipping_excl > 0:
        rates[Decimal(shipping_rate)] = rates.get(Decimal(shipping_rate), Decimal("0")) + shipping_incl - shipping_excl
    fee_excl = Decimal(fee)
    fee_incl = r2(fee_excl * (1 + Decimal(fee_rate) / 100))
    if fee_incl - fee_excl > 0:
        rates[Decimal(fee_rate)] = rates.get(Decimal(fee_rate), Decimal("0")) + fee_incl - fee_excl
    before_discount = subtotal_incl - discount_incl + shipping_incl + fee_incl
    total = before_discount - min(Decimal(order_discount), before_discount)
    if tax_rates_4dp:
        tax_rates = "".join(f"{rate}:{r4(value)};" for rate, value in sorted(rates.items()))
    else:
        tax_rates = "".join(f"{rate}:{r2(value)};   " for rate, value in sorted(rates.items()))
    fields = dict(
        id=order_id, order_guid="6f1c2a9e-2d7c-4a57-9b0e-3a1e5e0c9d11", customer_id=7, order_status_id=20,
        shipping_status_id=20, payment_status_id=30, payment_method_system_name="Payments.Manual",
        customer_currency_code="GBP", order_subtotal_incl_tax=subtotal_incl, order_subtotal_excl_tax=subtotal_excl,
        order_sub_total_discount_incl_tax=discount_incl, order_sub_total_discount_excl_tax=discount_excl,
        order_shipping_incl_tax=shipping_incl, order_shipping_excl_tax=shipping_excl,
        payment_method_additional_fee_incl_tax=fee_incl, payment_method_additional_fee_excl_tax=fee_excl,
        tax_rates=tax_rates, order_tax=sum(rates.values(), Decimal("0")), order_discount=min(Decimal(order_discount), before_discount),
        order_total=total, shipping_method="Ground", created_on_utc=PLACED, custom_order_number=str(order_id),
    )
    fields.update(order_fields)
    billing = billing or address(1)
    ship_to = None if no_shipping_address else (shipping_address or address(2))
    return OrderDetails(order=Order(**fields), items=items, billing_address=billing, shipping_address=ship_to)


def skus_for(details: OrderDetails, lines: list[Line]) -> dict[int, str | None]:
    return {item.id: line.sku for item, line in zip(details.items, lines)}


# --- the awkward cases (issue 19, item 3): nopCommerce stores money with 4 decimals, zero-rated
# lines carry no tax_rates entry, and a rate taxed only on shipping or the fee leaves a remainder
# of a cent between nop's rounded per-rate tax and the row's incl − excl.

def four_dp(low: str = "0", high: str = "500"):
    """Hypothesis strategy: a money amount with 4 decimals, as nopCommerce stores it."""
    from hypothesis import strategies as st

    return st.decimals(min_value=Decimal(low), max_value=Decimal(high), places=4)


def zero_rated_lines(max_size: int = 6):
    """Hypothesis strategy: order lines all at 0 % (no tax_rates entry for them)."""
    from hypothesis import strategies as st

    line = st.builds(Line, unit=st.decimals(min_value=Decimal("0"), max_value=Decimal("200"), places=2).map(str),
                     quantity=st.integers(min_value=1, max_value=9), rate=st.just("0"), sku=st.just("SKU-1"))
    return st.lists(line, min_size=1, max_size=max_size)


def tax_remainder(amount_excl: str, rate: str) -> int:
    """Cents between nop's per-rate tax (incl − excl, rounded) and the row's own (rounded incl −
    rounded excl) for a shipping or fee amount: the remainder the mapping must not drop."""
    excl = Decimal(amount_excl)
    incl = r2(excl * (1 + Decimal(rate) / 100))
    return int((r2(incl - excl) - (incl - r2(excl))) * 100)
