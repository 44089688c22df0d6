"""accounting-service: customer payments (POST, DELETE, search), the Sales Receipt journals they
create (journal GET, journal-search), payment methods, tax codes, nominal codes and currency-search.

Sources: Customer Payment POST (api-docs.brightpearl.com/accounting/customer-payment/post.html:
paymentMethodCode, paymentType, orderId, currencyIsoCode and paymentDate required;
`authorizationExpiry` required when the type is AUTH; transactionRef + paymentMethodCode
checked for uniqueness) and the Customer Payment overview (…/accounting/customer-payment: the
payment method code "may or may not exist" as a Payment Method, so it is not validated; a Sales
Receipt journal is created only when one with that code exists, for RECEIPT, PAYMENT, CAPTURE).
Payment method GET: documented items `{name, code, isActive, bankAccounts, installedIntegrationId}`
(…/accounting/payment-method/get.html), recorded `{id, name}` (payment_method_get.json): which
one an account answers is `FidelityOptions.payment_method_shape`. currency-search as recorded
(currency_search.json). Tax codes spelled as recorded (tax_code_get.json).

Journals. A RECEIPT, CAPTURE or PAYMENT whose method exists with a bank account for the payment's
currency creates a Sales Receipt journal (type SR: "Taking payment SR", "Make a refund SR",
brightpearl.com/support/topic/accounting-for-sales) and the payment carries its `journalId`; a
payment posted with a `journalId` creates none (docs/reference/returns-refunds.md section 1, from the
Customer Payment POST doc). Money in debits the method's bank nominal and credits the debtors
control account 1100; a PAYMENT (money out) the other way round (the accounting-for-sales page:
debtors are always 1100). Journal GET shape as the Journal GET doc example
(…/accounting/journal/get.html: `{"response": {"journals": [...]}}`, lines under `credits` and
`debits` with `nominalCode`, `change.value`, `orderId`, `transactionAmount`); journal-search columns
as the Journal Search doc lists them (…/accounting/journal/search.html; one row per journal line,
its table is cut after leadSourceId). Deleting a payment leaves its journal (help 4409025353361:
deleting the payment and cancelling its journal are separate steps).

Journal POST (`POST /accounting-service/journal/`, api-docs accounting/journal/post(deprecated).html,
its example: `{journalTypeCode, taxDate yyyy-mm-dd, description, credits/debits: [{nominalCode,
taxCode, change: {currency, value}, assignment}]}` -> `{"response": id}`). Validation as the
Journal Entry POST doc's common rules (…/accounting/journal entry/post.html): journal type code
and date required, nominal codes must exist, the currency must be the account's, a line on a
bank nominal needs a tax code; debits must equal credits (double entry). The error codes and
texts are inferred (no source gives them). Journals have no natural unique key: a repeated POST
creates a second journal. journal-search's `journalDate` is the journal's date (taxDate).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from bp_nop_dagster.sandbox.brightpearl.backend.common import (
    D0,
    Q2,
    Service,
    as_datetime,
    as_decimal,
    as_int,
    as_object,
    as_text,
    bad,
    fmt_dt,
    idset_ids,
    m2,
    not_found,
    reference_reply,
)
from bp_nop_dagster.sandbox.brightpearl.backend.reference import (
    CURRENCIES,
    CURRENCY_ROWS,
    NOMINAL_CODE_SET,
    NOMINAL_CODES,
    PAYMENT_METHODS,
    PAYMENT_TYPES,
    TAX_CODES,
)
from bp_nop_dagster.sandbox.brightpearl.backend.common import parse_datetime
from bp_nop_dagster.sandbox.brightpearl.backend.search import Col, SearchSpec
from bp_nop_dagster.transport.transport import json_bytes as exact_json  # Decimals as exact JSON numbers

# Both shapes merged; `_payment_method_view` answers the one the account is configured for.
PAYMENT_METHOD_ITEMS = [
    {"id": number, "name": name, "code": code, "isActive": True,
     "bankAccounts": [{"paymentMethodId": number, "currencyIsoCode": "GBP", "bankAccountNominalCode": "1200"}],
     "installedIntegrationId": "0"}
    for number, (code, name) in enumerate(PAYMENT_METHODS, start=1)
]
JOURNAL_TYPES = ("RECEIPT", "CAPTURE", "PAYMENT")
DEBTORS_NOMINAL = "1100"  # the debtors control account, fixed (accounting-for-sales page)
SALES_RECEIPT = "SR"
BANK_ACCOUNTS = {item["code"]: {b["currencyIsoCode"]: b["bankAccountNominalCode"] for b in item["bankAccounts"]}
                 for item in PAYMENT_METHOD_ITEMS}
CURRENCY_RATES = {row["code"]: Decimal(row["exchangeRate"]) for row in CURRENCY_ROWS}


@dataclass(slots=True)
class Payment:
    id: int
    transaction_ref: str | None
    transaction_code: str | None
    method: str
    type: str
    order_id: int
    currency: str
    amount_authorized: Decimal
    amount_paid: Decimal
    expires: datetime | None
    payment_date: datetime
    created_on: datetime
    journal_id: int | None
    journal_ref: str | None = None


@dataclass(slots=True)
class JournalLine:
    """One debit or credit line of a journal, in the journal's currency."""

    nominal_code: str
    value: Decimal
    order_id: int | None
    channel_id: int


@dataclass(slots=True)
class Journal:
    id: int
    type_code: str
    contact_id: int | None
    tax_date: datetime
    created_on: datetime
    currency: str
    debits: list[JournalLine]
    credits: list[JournalLine]

    @property
    def exchange_rate(self) -> Decimal:
        return CURRENCY_RATES[self.currency]

    def lines(self) -> list[tuple[JournalLine, bool]]:
        """(line, is_debit) in the order the journal lists them: debits first."""
        return [(line, True) for line in self.debits] + [(line, False) for line in self.credits]


class AccountingService(Service):
    """Customer payments, their Sales Receipt journals and the accounting reference data."""

    def __init__(self, account) -> None:
        super().__init__(account)
        self.payments: dict[int, Payment] = {}
        self.journals: dict[int, Journal] = {}
        self._by_order: dict[int, list[int]] = {}
        self._refs: dict[tuple[str, str], int] = {}

    # ------------------------------------------------------------ reference data

    def api_reference(self, kind: str, idset: str | None) -> dict:
        if kind == "payment-method":
            found = reference_reply(PAYMENT_METHOD_ITEMS, idset, "payment method")["response"]
            return {"response": [self._payment_method_view(item) for item in found]}
        items = {"tax-code": TAX_CODES, "nominal-code": NOMINAL_CODES}[kind]
        return reference_reply(items, idset, kind.replace("-", " "))

    def _payment_method_view(self, item: dict) -> dict:
        shape = self.options.payment_method_shape
        if shape == "recorded":
            return {"id": item["id"], "name": item["name"]}
        if shape == "documented":
            return {k: v for k, v in item.items() if k != "id"}
        return dict(item)

    # ------------------------------------------------------------ payments

    def payments_of(self, order_id: int) -> list[Payment]:
        return [self.payments[p] for p in self._by_order.get(order_id, ())]

    def create_customer_payment(self, body: Any) -> int:
        """`POST /accounting-service/customer-payment` -> the new payment id."""
        body = as_object(body, "body")
        method = body.get("paymentMethodCode")
        if not method:
            raise bad("PYMC-001", "You must supply a paymentMethodCode")
        method = as_text(method, "paymentMethodCode", 36, "PYMC-001")
        payment_type = body.get("paymentType")
        if payment_type not in PAYMENT_TYPES:
            raise bad("PYMC-003", f"paymentType must be one of {', '.join(sorted(PAYMENT_TYPES))}")
        if body.get("orderId") is None:
            raise bad("PYMC-004", "You must supply an orderId")
        order_id = as_int(body["orderId"], "orderId", "PYMC-004")
        order = self.account.order_service.orders.get(order_id)
        if order is None:
            raise bad("PYMC-004", f"Order {order_id} does not exist")
        if body.get("paymentDate") is None:
            raise bad("PYMC-005", "You must supply a paymentDate")
        payment_date = as_datetime(body["paymentDate"], "paymentDate", "PYMC-005")
        ref = as_text(body.get("transactionRef"), "transactionRef", 64, "PYMC-006")
        code = as_text(body.get("transactionCode"), "transactionCode", 64, "PYMC-006")
        currency = body.get("currencyIsoCode")
        if currency is None:
            raise bad("PYMC-007", "You must supply a currencyIsoCode")
        if currency not in CURRENCIES:
            raise bad("PYMC-007", f"Currency {currency!r} is not set up on this account")
        authorized = paid = D0
        expires = None
        if payment_type in ("AUTH", "VOID"):
            authorized = as_decimal(body.get("amountAuthorized"), "amountAuthorized", "PYMC-008")
        else:
            paid = as_decimal(body.get("amountPaid"), "amountPaid", "PYMC-008")
        if payment_type == "AUTH":
            if not body.get("authorizationExpiry"):
                raise bad("PYMC-009", "You must supply an authorizationExpiry for an AUTH payment")
            expires = as_datetime(body["authorizationExpiry"], "authorizationExpiry", "PYMC-009")
        if authorized < 0 or paid < 0:
            raise bad("PYMC-008", "Amounts must not be negative")
        if ref:
            existing = self._refs.get((method, ref))
            if existing is not None:
                # The uniqueness check is documented; this code and text are inferred.
                raise bad("PYMC-010", f"A payment with transactionRef {ref} already exists for payment method {method}: {existing}")
        payment_id = self.next_id("payment")
        given_journal = as_int(body["journalId"], "journalId", "PYMC-011") if body.get("journalId") is not None else None
        bank = BANK_ACCOUNTS.get(method, {}).get(currency)
        journal_id = given_journal
        if given_journal is None and payment_type in JOURNAL_TYPES and bank is not None:
            journal_id = self._sales_receipt(order, payment_type, paid.quantize(Q2), currency, bank, payment_date)
        self.payments[payment_id] = Payment(
            id=payment_id, transaction_ref=ref, transaction_code=code, method=method, type=payment_type,
            order_id=order_id, currency=currency, amount_authorized=authorized.quantize(Q2), amount_paid=paid.quantize(Q2),
            expires=expires, payment_date=payment_date, created_on=self.now(), journal_id=journal_id,
            journal_ref=as_text(body.get("journalRef"), "journalRef", 255, "PYMC-006"),
        )
        self._by_order.setdefault(order_id, []).append(payment_id)
        if ref:
            self._refs[(method, ref)] = payment_id
        self.account.order_service.touch(order, "payment")
        return payment_id

    def _sales_receipt(self, order, payment_type: str, amount: Decimal, currency: str, bank: str, on: datetime) -> int:
        """The SR journal of a payment: bank and debtors, the direction by who pays whom."""
        bank_line = JournalLine(bank, amount, order.id, order.channel_id)
        debtors_line = JournalLine(DEBTORS_NOMINAL, amount, order.id, order.channel_id)
        money_in = payment_type != "PAYMENT"
        journal = Journal(
            id=self.next_id("journal"), type_code=SALES_RECEIPT, contact_id=order.customer_id, tax_date=on,
            created_on=self.now(), currency=currency,
            debits=[bank_line if money_in else debtors_line], credits=[debtors_line if money_in else bank_line],
        )
        self.journals[journal.id] = journal
        return journal.id

    def create_journal(self, body: Any) -> int:
        """`POST /accounting-service/journal/` -> the new journal id (module docstring)."""
        body = as_object(body, "body")
        type_code = as_text(body.get("journalTypeCode"), "journalTypeCode", 8, "ACCC-001")
        if not type_code or not type_code.strip():
            raise bad("ACCC-001", "You must supply a journalTypeCode")
        raw_date = body.get("taxDate")
        if not isinstance(raw_date, str) or len(raw_date.strip()) != 10:
            raise bad("ACCC-002", "taxDate must be a date in the format yyyy-mm-dd")
        try:
            tax_date = parse_datetime(raw_date)
        except ValueError:
            raise bad("ACCC-002", f"taxDate is not a valid date: {raw_date!r}") from None
        banks = {b for accounts in BANK_ACCOUNTS.values() for b in accounts.values()} | {"1201"}
        currency = None
        sides: dict[str, list[JournalLine]] = {}
        totals: dict[str, Decimal] = {}
        for side in ("debits", "credits"):
            items = body.get(side)
            if not isinstance(items, list) or not items:
                raise bad("ACCC-003", f"You must supply at least one line in {side}")
            sides[side], totals[side] = [], D0
            for item in items:
                item = as_object(item, side)
                nominal = as_text(item.get("nominalCode"), "nominalCode", 10, "ACCC-004")
                if nominal not in NOMINAL_CODE_SET:
                    raise bad("ACCC-004", f"Nominal code {nominal!r} does not exist")
                if nominal in banks and not item.get("taxCode"):
                    raise bad("ACCC-005", f"A line on bank nominal {nominal} must have a taxCode")
                change = as_object(item.get("change"), "change")
                line_currency = change.get("currency") or "GBP"
                if line_currency not in CURRENCIES or (currency is not None and line_currency != currency):
                    raise bad("ACCC-006", f"Currency {line_currency!r} is not valid for this journal")
                currency = line_currency
                value = as_decimal(change.get("value"), "change.value", "ACCC-007")
                if value <= 0:
                    raise bad("ACCC-007", "A line's value must be positive")
                sides[side].append(JournalLine(nominal, value.quantize(Q2), None, 0))
                totals[side] += value.quantize(Q2)
        if totals["debits"] != totals["credits"]:
            raise bad("ACCC-008", f"Debits ({totals['debits']}) and credits ({totals['credits']}) do not balance")
        journal = Journal(id=self.next_id("journal"), type_code=type_code, contact_id=None, tax_date=tax_date,
                          created_on=self.now(), currency=currency or "GBP", debits=sides["debits"], credits=sides["credits"])
        self.journals[journal.id] = journal
        return journal.id

    def api_get_journals(self, idset: str) -> dict:
        """`GET /accounting-service/journal/{idset}`: the journals of the set (unknown ids left out)."""
        wanted = idset_ids(idset, 200)
        return {"response": {"journals": [self._journal_view(self.journals[i]) for i in wanted if i in self.journals]}}

    @staticmethod
    def _journal_view(journal: Journal) -> dict:
        def line(item: JournalLine) -> dict:
            return {"nominalCode": item.nominal_code, "change": {"value": m2(item.value)},
                    "assignment": {"channelId": item.channel_id}, "orderId": item.order_id,
                    "transactionAmount": m2(item.value)}

        return {"id": journal.id, "contactId": journal.contact_id, "journalTypeCode": journal.type_code,
                "taxDate": fmt_dt(journal.tax_date), "createdOn": fmt_dt(journal.created_on),
                "credits": [line(c) for c in journal.credits], "debits": [line(d) for d in journal.debits],
                "currencyId": CURRENCIES[journal.currency], "exchangeRate": f"{journal.exchange_rate:.6f}"}

    def api_delete_payment(self, payment_id: str) -> dict:
        pid = as_int(payment_id, "paymentId", "CMNC-011")
        payment = self.payments.pop(pid, None)
        if payment is None:
            raise not_found(f"Customer payment {pid} not found")
        self._by_order[payment.order_id].remove(pid)
        if payment.transaction_ref:
            self._refs.pop((payment.method, payment.transaction_ref), None)
        order = self.account.order_service.orders.get(payment.order_id)
        if order is not None:
            self.account.order_service.touch(order, "payment")
        return {}

    # ------------------------------------------------------------ sale payment totals

    def api_sale_payment_total(self, idset: str) -> bytes:
        """`GET /accounting-service/sale-payment-total/{idset}` (api-docs accounting/sale-payment-total/
        get.html): per order `{orderId, paymentCurrency, amountPaid, amountAuthorized, amountCaptured}`,
        amountPaid = RECEIPT + CAPTURE - PAYMENT, amountAuthorized = AUTH - VOID, amountCaptured =
        CAPTURE; "the amounts can be negative" (a refunded credit); an order without payments has
        zeros and no paymentCurrency. Amounts are JSON numbers with 2 decimals, as the doc's example;
        ids that are no order: `sale_payment_total_unknown_order` (inferred)."""
        orders = self.account.order_service.orders
        totals = []
        for order_id in idset_ids(idset, 200):
            if order_id not in orders and self.options.sale_payment_total_unknown_order == "omitted":
                continue
            paid = authorized = captured = D0
            currency = None
            for payment in self.payments_of(order_id):
                currency = currency or payment.currency
                if payment.type in ("RECEIPT", "CAPTURE"):
                    paid += payment.amount_paid
                elif payment.type == "PAYMENT":
                    paid -= payment.amount_paid
                if payment.type == "CAPTURE":
                    captured += payment.amount_paid
                elif payment.type == "AUTH":
                    authorized += payment.amount_authorized
                elif payment.type == "VOID":
                    authorized -= payment.amount_authorized
            entry: dict[str, Any] = {"orderId": order_id}
            if currency is not None:
                entry["paymentCurrency"] = currency
            entry.update(amountPaid=paid.quantize(Q2), amountAuthorized=authorized.quantize(Q2),
                         amountCaptured=captured.quantize(Q2))
            totals.append(entry)
        return exact_json({"response": totals})

    # ------------------------------------------------------------ search

    def search_specs(self) -> dict[str, SearchSpec]:
        payment_cols = [
            Col("paymentId", "IDSET", lambda p: p.id),
            Col("transactionRef", "STRING", lambda p: p.transaction_ref, sortable=False),
            Col("transactionCode", "STRING", lambda p: p.transaction_code, sortable=False),
            Col("paymentMethodCode", "STRING", lambda p: p.method, sortable=False),
            Col("paymentType", "STRING", lambda p: p.type, sortable=False),
            Col("orderId", "IDSET", lambda p: p.order_id, sortable=False),
            Col("currencyId", "IDSET", lambda p: CURRENCIES[p.currency], sortable=False),
            Col("currencyCode", "STRING", lambda p: p.currency, sortable=False),
            Col("amountAuthorized", "STRING", lambda p: m2(p.amount_authorized), sortable=False),
            Col("amountPaid", "STRING", lambda p: m2(p.amount_paid), sortable=False),
            Col("expires", "PERIOD", lambda p: p.expires, sortable=False),
            Col("paymentDate", "PERIOD", lambda p: p.payment_date),
            Col("createdOn", "PERIOD", lambda p: p.created_on),
            Col("journalId", "IDSET", lambda p: p.journal_id),
        ]
        currency_cols = [Col(name, type_, (lambda key: lambda c: c[key])(name)) for name, type_ in (
            ("id", "IDSET"), ("title", "STRING"), ("code", "STRING"), ("symbol", "STRING"), ("exchangeRate", "STRING"),
            ("isDefault", "BOOLEAN"), ("exchangeRateVarianceNominalCode", "STRING"))]
        def base(line: JournalLine, journal: Journal) -> Decimal:
            return (line.value / journal.exchange_rate).quantize(Q2)

        # One row per journal line: (journal, line, is_debit).
        journal_cols = [
            Col("journalId", "IDSET", lambda r: r[0].id),
            Col("journalType", "STRING", lambda r: r[0].type_code),
            Col("orderId", "IDSET", lambda r: r[1].order_id or 0),
            Col("invoiceReference", "SEARCH_STRING", lambda r: None),
            Col("channelId", "INTEGER", lambda r: r[1].channel_id),
            Col("nominalCode", "STRING", lambda r: r[1].nominal_code),
            Col("journalDate", "PERIOD", lambda r: r[0].tax_date),
            Col("journalDebit", "STRING", lambda r: m2(base(r[1], r[0])) if r[2] else "0.00"),
            Col("journalCredit", "STRING", lambda r: "0.00" if r[2] else m2(base(r[1], r[0]))),
            Col("journalRef", "INTEGER", lambda r: r[1].order_id or 0),
            Col("currencyId", "INTEGER", lambda r: CURRENCIES[r[0].currency]),
            Col("exchangeRate", "STRING", lambda r: f"{r[0].exchange_rate:.6f}"),
            Col("transactionDebit", "STRING", lambda r: m2(r[1].value) if r[2] else "0.00"),
            Col("transactionCredit", "STRING", lambda r: "0.00" if r[2] else m2(r[1].value)),
            Col("projectId", "INTEGER", lambda r: 0),
            Col("leadSourceId", "INTEGER", lambda r: 0),
        ]
        return {
            "customer-payment": SearchSpec(payment_cols, lambda: list(self.payments.values())),
            "journal": SearchSpec(journal_cols, lambda: [(j, line, debit) for j in self.journals.values()
                                                          for line, debit in j.lines()]),
            "currency": SearchSpec(currency_cols, lambda: list(CURRENCY_ROWS)),
        }
