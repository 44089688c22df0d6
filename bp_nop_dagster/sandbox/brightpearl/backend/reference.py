"""Fixed reference data of the simulated account (ids are what the API answers).

- tax codes (`/accounting-service/tax-code`), spelled like the recording tax_code_get.json
  (`T`, `Z`, `N`, ...; a zero rate is omitted): 1 `T1` standard 20 %, 2 `T5` reduced 5 %,
  3 `T0` zero rated, 4 `Z` exempt.
- order statuses (`/order-service/order-status`): sales orders 1 Draft / Quote, 2 New web order,
  3 New phone order, 4 Invoiced, 5 Cancelled, 6 Awaiting payment, 7 Ready to ship, 8 Dispatched;
  sales credits 10 Sales credit, 11 Credit refunded, 12 Credit cancelled; purchase orders 13 Pending PO
  (the name recorded in order_get_one_po.json), 14 Placed with supplier, 15 Goods received, 16 Cancelled
  PO. Cancelled = 5, 12 and 16.
- order types: 1 Sales Order (SO), 2 Purchase Order (PO), 3 Sales Credit (SC), 4 Purchase Credit (PC).
- order-search ids (inferred mapping, only 5 NOT_APPLICABLE and 13 Unset are recorded):
  payment status 1 PAID, 2 UNPAID, 3 PARTIALLY_PAID, 5 NOT_APPLICABLE; stock status 1 None (SON),
  2 Partial (SOP), 3 All (SOA), 13 Unset (NON, no stock-tracked rows); shipping status 1 NST,
  2 SNS, 3 SPS, 4 ASS (recorded).
- channels: 1 nopCommerce web store, 2 Phone & mail order, 3 Marketplace.
- price lists: 1 Cost (BUY, net), 2 Retail (SELL, gross/INC), 3 Trade (SELL, net/EXC); currency GBP.
- currencies: 1 GBP (accounting currency), 2 EUR, 3 USD.
- payment methods: CARD, PAYPAL, CHEQUE, BANK, CASH, GIFTCARD, PURCHASEORDER (ids 1-7).
- brands: 1 Generic Brand, 2 Premium Brand (as recorded).
- nominal codes: 1100 Debtors control, 1200 Bank current account, 2200 VAT, 4000 Sales,
  4040 Carriage (shipping income), 5000 Cost of sales.
- shipping methods: 1 Standard, 2 Express, 3 Click & collect.
- countries: GB/GBR 222 (as recorded), US/USA 223, DE/DEU 80, FR/FRA 73, IE/IRL 103, ES/ESP 195,
  NL/NLD 150, SE/SWE 205, IT/ITA 105, BE/BEL 21, CA/CAN 38, AU/AUS 13, CR/CRI 282 (as recorded).
- warehouses are NOT reference data: the generator adds them; each warehouse has one default
  location whose id is `100 + warehouseId` and one quarantine location whose id is `200 + warehouseId`
  (every warehouse has a quarantine location: api-docs warehouse/quarantine-location).
- the account's own delivery party (a purchase order's `parties.delivery`): "Sandbox Retail Ltd".
"""

from __future__ import annotations

from typing import Any

from bp_nop_dagster.sandbox.brightpearl.backend.common import bad

TAX_CODES = [
    {"id": 1, "code": "T1", "description": "Standard rate 20%", "rate": 20.0},
    {"id": 2, "code": "T5", "description": "Reduced rate 5%", "rate": 5.0},
    {"id": 3, "code": "T0", "description": "Zero rated"},  # rate 0 omitted, as recorded
    {"id": 4, "code": "Z", "description": "Exempt"},
]
ORDER_TYPES = [
    {"id": 1, "name": "Sales Order", "code": "SO"},
    {"id": 2, "name": "Purchase Order", "code": "PO"},
    {"id": 3, "name": "Sales Credit", "code": "SC"},
    {"id": 4, "name": "Purchase Credit", "code": "PC"},
]
ORDER_TYPE_IDS = {"SO": 1, "PO": 2, "SC": 3, "PC": 4}
ORDER_TYPE_NAMES = {"1": "SALES_ORDER", "2": "PURCHASE_ORDER", "3": "SALES_CREDIT", "4": "PURCHASE_CREDIT"}


def _status(status_id, name, type_code, sort, color, state):
    return {
        "statusId": status_id, "name": name, "orderTypeCode": type_code, "sortOrder": sort, "disabled": False,
        "visible": True, "color": color, "remindAfterDays": 0, "alertEmails": [], "emailContent": "",
        "batchProcess": False, "state": state,
    }


ORDER_STATUSES = [
    _status(1, "Draft / Quote", "SO", 0, "#E7E6E4", "draft"),
    _status(2, "New web order", "SO", 1, "#60A0FF", "open"),
    _status(3, "New phone order", "SO", 2, "#60A0FF", "open"),
    _status(4, "Invoiced", "SO", 3, "#8FD16A", "invoiced"),
    _status(5, "Cancelled", "SO", 9, "#FF6060", "cancelled"),
    _status(6, "Awaiting payment", "SO", 4, "#FFD060", "open"),
    _status(7, "Ready to ship", "SO", 5, "#A0E0A0", "open"),
    _status(8, "Dispatched", "SO", 6, "#40B040", "completed"),
    _status(10, "Sales credit", "SC", 0, "#E7E6E4", "open"),
    _status(11, "Credit refunded", "SC", 1, "#40B040", "completed"),
    _status(12, "Credit cancelled", "SC", 9, "#FF6060", "cancelled"),
    _status(13, "Pending PO", "PO", 0, "#E7E6E4", "open"),
    _status(14, "Placed with supplier", "PO", 1, "#60A0FF", "open"),
    _status(15, "Goods received", "PO", 2, "#40B040", "completed"),
    _status(16, "Cancelled PO", "PO", 9, "#FF6060", "cancelled"),
]
STATUS_NAMES = {s["statusId"]: s["name"] for s in ORDER_STATUSES}
CANCELLED_STATUSES = {5, 12, 16}
INVOICED_STATUS = 4
DEFAULT_STATUS = {"SO": 2, "SC": 10, "PO": 13}
SHIPPING_STATUSES = [
    {"id": 1, "code": "NST", "description": "No stock tracked products on order"},
    {"id": 2, "code": "SNS", "description": "Stock not shipped"},
    {"id": 3, "code": "SPS", "description": "Stock part shipped"},
    {"id": 4, "code": "ASS", "description": "All stock shipped"},
]
SHIPPING_STATUS_IDS = {s["code"]: s["id"] for s in SHIPPING_STATUSES}
STOCK_STATUSES = [
    {"id": 1, "name": "None", "code": "SON"},
    {"id": 2, "name": "Partial", "code": "SOP"},
    {"id": 3, "name": "All", "code": "SOA"},
    {"id": 13, "name": "Unset", "code": "NON"},
]
STOCK_STATUS_IDS = {"N": 1, "P": 2, "A": 3, "NON": 13}
PAYMENT_STATUS_IDS = {"PAID": 1, "UNPAID": 2, "PARTIALLY_PAID": 3, "NOT_APPLICABLE": 5}
CHANNELS = [
    {"id": 1, "name": "nopCommerce web store", "channelTypeId": 1, "defaultPriceListId": 2, "defaultWarehouseId": None},
    {"id": 2, "name": "Phone & mail order", "channelTypeId": 2, "defaultPriceListId": 2, "defaultWarehouseId": None},
    {"id": 3, "name": "Marketplace", "channelTypeId": 3, "defaultPriceListId": 2, "defaultWarehouseId": None},
]
CHANNEL_IDS = {c["id"] for c in CHANNELS}
PRICE_LISTS = [
    {"id": 1, "name": {"languageCode": "en", "text": "Cost", "format": "PLAINTEXT"}, "code": "COST", "currencyCode": "GBP",
     "currencySymbol": "£", "currencyId": 1, "priceListTypeCode": "BUY", "gross": False, "priceModeCode": "EXC"},
    {"id": 2, "name": {"languageCode": "en", "text": "Retail", "format": "PLAINTEXT"}, "code": "RETAIL", "currencyCode": "GBP",
     "currencySymbol": "£", "currencyId": 1, "priceListTypeCode": "SELL", "gross": True, "priceModeCode": "INC"},
    {"id": 3, "name": {"languageCode": "en", "text": "Trade", "format": "PLAINTEXT"}, "code": "TRADE", "currencyCode": "GBP",
     "currencySymbol": "£", "currencyId": 1, "priceListTypeCode": "SELL", "gross": False, "priceModeCode": "EXC"},
]
PRICE_LIST_IDS = {p["id"] for p in PRICE_LISTS}
COST_PRICE_LIST = 1
RETAIL_PRICE_LIST = 2
ACCOUNTING_CURRENCY = "GBP"
# currency-search rows, columns as recorded (currency_search.json): id, title, code, symbol, exchangeRate,
# isDefault, exchangeRateVarianceNominalCode
CURRENCY_ROWS = [
    {"id": 1, "title": "Pound Sterling", "code": "GBP", "symbol": "£", "exchangeRate": "1.000000", "isDefault": True,
     "exchangeRateVarianceNominalCode": None},
    {"id": 2, "title": "Euro", "code": "EUR", "symbol": "€", "exchangeRate": "1.170000", "isDefault": False,
     "exchangeRateVarianceNominalCode": "1001"},
    {"id": 3, "title": "US Dollar", "code": "USD", "symbol": "$", "exchangeRate": "1.270000", "isDefault": False,
     "exchangeRateVarianceNominalCode": "1001"},
]
CURRENCIES = {c["code"]: c["id"] for c in CURRENCY_ROWS}
PAYMENT_METHODS = [  # code, name; id = position + 1; every method banks to 1200 in GBP
    ("CARD", "Credit / debit card"), ("PAYPAL", "PayPal"), ("CHEQUE", "Cheque"), ("BANK", "Bank transfer"),
    ("CASH", "Cash"), ("GIFTCARD", "Gift card"), ("PURCHASEORDER", "Purchase order (on account)"),
]
PAYMENT_TYPES = {"AUTH", "CAPTURE", "PAYMENT", "RECEIPT", "VOID"}
BRANDS = [{"id": 1, "name": "Generic Brand"}, {"id": 2, "name": "Premium Brand"}]
NOMINAL_CODES = [
    {"id": 1100, "code": "1100", "name": "Debtors control"},
    {"id": 1200, "code": "1200", "name": "Bank current account"},
    {"id": 1201, "code": "1201", "name": "Bank deposit account"},  # the other bank of the Journal POST doc example
    {"id": 2200, "code": "2200", "name": "VAT"},
    {"id": 4000, "code": "4000", "name": "Sales"},
    {"id": 4040, "code": "4040", "name": "Carriage"},
    {"id": 5000, "code": "5000", "name": "Cost of sales"},
    {"id": 7900, "code": "7900", "name": "Card gateway costs"},
]
NOMINAL_CODE_SET = {n["code"] for n in NOMINAL_CODES}
SHIPPING_METHODS = [
    {"id": 1, "name": "Standard", "code": "STD"},
    {"id": 2, "name": "Express", "code": "EXP"},
    {"id": 3, "name": "Click & collect", "code": "CNC"},
]
SHIPPING_METHOD_IDS = {m["id"] for m in SHIPPING_METHODS}
COUNTRIES = [  # iso2, iso3, id, name
    ("GB", "GBR", 222, "United Kingdom"), ("US", "USA", 223, "United States"), ("DE", "DEU", 80, "Germany"),
    ("FR", "FRA", 73, "France"), ("IE", "IRL", 103, "Ireland"), ("ES", "ESP", 195, "Spain"),
    ("NL", "NLD", 150, "Netherlands"), ("SE", "SWE", 205, "Sweden"), ("IT", "ITA", 105, "Italy"),
    ("BE", "BEL", 21, "Belgium"), ("CA", "CAN", 38, "Canada"), ("AU", "AUS", 13, "Australia"),
    ("CR", "CRI", 282, "Costa Rica"),
]
COUNTRY_BY_KEY: dict[Any, tuple[str, str, int, str]] = {}
for _c in COUNTRIES:
    COUNTRY_BY_KEY[_c[0]] = _c
    COUNTRY_BY_KEY[_c[1]] = _c
    COUNTRY_BY_KEY[_c[2]] = _c
ACCOUNT_PARTY = {
    "addressFullName": "Sandbox Retail Ltd", "companyName": "Sandbox Retail Ltd", "addressLine1": "1 Warehouse Way",
    "addressLine2": "", "addressLine3": "Leeds", "addressLine4": "", "postalCode": "LS1 1AA", "countryIsoCode": "GBR",
    "telephone": "", "mobileTelephone": "", "fax": "", "email": "",
}
PRODUCT_STATUSES = ("LIVE", "DISCONTINUED", "ARCHIVED")  # help 212647683: Live, Archived, Discontinued
GON_EVENT_CODES = {"PRI", "UPR", "PIC", "UPI", "PAC", "UPA", "SHW"}
# Subscribable webhook events (help 212644863 "Webhooks", 212644883 "Webhook events"): a bare
# resource subscribes to all of its events.
WEBHOOK_EVENTS = frozenset({
    "drop-ship-note", "drop-ship-note.created", "drop-ship-note.destroyed", "drop-ship-note.modified.shipped",
    "goods-in-note", "goods-in-note.created", "quarantine-release", "quarantine-release.created",
    "goods-out-note", "goods-out-note.created", "goods-out-note.destroyed", "goods-out-note.modified",
    *(f"goods-out-note.modified.{s}" for s in ("printed", "picked", "packed", "un-printed", "un-picked", "un-packed",
                                               "shipped")),
    "order", "order.modified", "order.modified.fully-shipped", "order.modified.order-status",
    "sales-order", "sales-order.created",
    "product", "product.created", "product.destroyed", "product.modified", "product.modified.on-hand-modified",
})


def find_tax_code(code: Any, what: str, error_code: str) -> dict:
    """The tax code by its code ("T1") or id; 400 `error_code` if the account has none."""
    for tax in TAX_CODES:
        if tax["code"] == code or (isinstance(code, int) and not isinstance(code, bool) and tax["id"] == code):
            return tax
    raise bad(error_code, f"{what}: tax code {code!r} does not exist")


def find_country(value: Any, what: str, code: str) -> tuple[str, str, int, str]:
    """(iso2, iso3, id, name) by ISO code or Brightpearl country id; 400 `code` if unknown."""
    key = value.strip().upper() if isinstance(value, str) else value
    found = COUNTRY_BY_KEY.get(key)
    if found is None:
        raise bad(code, f"{what}: unknown country {value!r}")
    return found
