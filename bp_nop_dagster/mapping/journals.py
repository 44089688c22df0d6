"""Gateway journals (pure): per day and Brightpearl payment method, the gateway's fee and the
clearing transfer of the day's captured orders, as Brightpearl journal bodies.

Rules (mapping `journals`):
- An order counts when its money was taken: payment status Paid (30), PartiallyRefunded (35) or
  Refunded (40), as in the payment reconciliation. Amounts are nopCommerce's 4-dp values rounded
  half-up to the penny per order before any sum.
- fee (per captured order) = round2(order_total × fee_percent / 100 + fee_fixed); the day's fee is
  the sum over the method's captured orders.
- transfer = Σ (round2(order_total) − round2(refunded_amount)) − fee: what the gateway pays out.
- A zero amount posts no journal; a negative transfer (refunds beyond the day's captures) swaps
  the sides (money goes from the bank back to clearing).

Body: the Journal POST doc example (api-docs.brightpearl.com/accounting/journal/post(deprecated).html):
`{journalTypeCode, taxDate (yyyy-mm-dd), description, credits: [{nominalCode, taxCode,
change: {currency, value}}], debits: [...]}` -> `{"response": id}`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from bp_nop_dagster.mapping.config import GatewayJournals, JournalsMapping

CAPTURED_STATUSES = (30, 35, 40)
FEE, TRANSFER = "fee", "transfer"
PENNY = Decimal("0.01")


def round2(value: object) -> Decimal:
    """A money amount rounded half-up to the minor unit (2 dp)."""
    return Decimal(str(value)).quantize(PENNY, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class JournalDue:
    """One journal to post: `kind` (fee or transfer) for `day` and payment method `method_code`."""

    kind: str
    day: str
    method_code: str
    amount: Decimal

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.day}:{self.method_code}"


def journals_due(day: str, payments: Iterable[Mapping], method_codes: Mapping[str, str], config: JournalsMapping) -> list[JournalDue]:
    """The fee and transfer journals of `day` for every payment method `config` lists. `payments`:
    rows with payment_method_system_name, payment_status_id, order_total, refunded_amount (the
    nopcommerce/payments table); `method_codes`: nop system name -> Brightpearl paymentMethodCode."""
    if not config.enabled:
        return []
    fees: dict[str, Decimal] = {}
    nets: dict[str, Decimal] = {}
    for row in payments:
        code = method_codes.get(row.get("payment_method_system_name") or "")
        gateway = config.by_payment_method.get(code or "")
        status = row.get("payment_status_id")
        if gateway is None or status is None or int(status) not in CAPTURED_STATUSES:
            continue
        total = round2(row.get("order_total") or 0)
        fees[code] = fees.get(code, Decimal("0.00")) + round2(total * gateway.fee_percent / 100 + gateway.fee_fixed)
        nets[code] = nets.get(code, Decimal("0.00")) + total - round2(row.get("refunded_amount") or 0)
    due = []
    for code in sorted(nets):
        if fees[code]:
            due.append(JournalDue(FEE, day, code, fees[code]))
        if nets[code] - fees[code]:
            due.append(JournalDue(TRANSFER, day, code, nets[code] - fees[code]))
    return due


def journal_type(due: JournalDue, config: JournalsMapping) -> str:
    return config.fee_journal_type if due.kind == FEE else config.transfer_journal_type


def journal_body(due: JournalDue, config: JournalsMapping, currency: str) -> dict:
    """The Journal POST body: the fee debits the fee nominal, the transfer the bank; both credit
    clearing (sides swapped for a negative amount)."""
    gateway: GatewayJournals = config.by_payment_method[due.method_code]
    other = gateway.fee_nominal if due.kind == FEE else gateway.bank_nominal
    debit, credit = (other, gateway.clearing_nominal) if due.amount > 0 else (gateway.clearing_nominal, other)

    def line(nominal: str) -> dict:
        return {"nominalCode": nominal, "taxCode": config.tax_code, "change": {"currency": currency, "value": f"{abs(due.amount):.2f}"}}

    what = "gateway fees" if due.kind == FEE else "gateway clearing transfer"
    return {"journalTypeCode": journal_type(due, config), "taxDate": due.day,
            "description": f"nopCommerce {what} {due.method_code} {due.day}",
            "credits": [line(credit)], "debits": [line(debit)]}
