"""The vocabulary the mapping suggester reads names with: concepts and their synonyms, and stop
words per kind of reference data. Versioned: a suggestion records `VOCABULARY_VERSION`.

A name becomes a set of concepts: its words (camel case split, accents folded) are read longest
phrase first ("money order" before "order"), stop words are dropped, and a word or phrase listed
under a concept becomes that concept ("Check / Money Order" -> {cheque}; "Royal Mail 2nd Class"
-> {standard} once the carrier's name is a stop word). A word no concept lists stays itself.
"""

from __future__ import annotations

from bp_nop_dagster.quality.common import words

VOCABULARY_VERSION = "2026.1"

CONCEPTS: dict[str, tuple[str, ...]] = {
    # payment methods
    "card": ("card", "cards", "credit card", "debit card", "credit", "debit", "manual", "sagepay", "sage pay", "opayo",
             "worldpay", "stripe", "braintree", "adyen", "square", "visa", "mastercard", "amex", "cc"),
    "paypal": ("paypal", "pay pal"),
    "cheque": ("cheque", "cheques", "check", "checks", "chq", "money order", "postal order"),
    "bank": ("bank", "bank transfer", "bacs", "wire", "wire transfer", "sepa", "faster payments", "transfer", "iban"),
    "account": ("purchase order", "po", "on account", "account", "credit terms", "terms", "invoice"),
    "cash": ("cash", "cash on delivery", "cod"),
    "gift": ("gift", "gift card", "giftcard", "voucher", "gift voucher"),
    # order statuses
    "draft": ("draft", "quote", "quotation"),
    "pending": ("pending", "new", "received", "placed"),
    "processing": ("processing", "in progress", "progress", "ready to ship", "to ship", "please ship", "ready", "picking",
                   "pick", "packing", "packed", "allocated", "fulfil", "fulfilment"),
    "complete": ("complete", "completed", "dispatched", "despatched", "shipped", "sent", "delivered", "closed", "fulfilled",
                 "done"),
    "cancelled": ("cancelled", "canceled", "cancel", "void", "voided", "rejected", "do not ship"),
    "awaiting_payment": ("awaiting payment", "payment pending", "pending payment", "unpaid", "awaiting funds", "payment due"),
    "invoiced": ("invoiced",),
    # shipping methods
    "standard": ("standard", "std", "ground", "economy", "2nd class", "second class", "tracked 48", "regular", "normal"),
    "express": ("express", "exp", "next day", "nextday", "next day air", "overnight", "priority", "tracked 24",
                "special delivery", "air", "24 hour"),
    "first_class": ("1st class", "first class"),
    "collect": ("pickup", "pick up", "collect", "collection", "click collect", "click and collect", "in store", "cnc",
                "store pickup"),
    # channels
    "web": ("web", "website", "online", "webstore", "web store", "web shop", "ecommerce", "e commerce", "nopcommerce", "nop commerce",
            "internet"),
    "phone": ("phone", "telephone", "mail order", "moto", "call centre"),
    "marketplace": ("marketplace", "amazon", "ebay", "etsy", "onbuy"),
    # price lists
    "retail": ("retail", "rrp", "sell", "selling", "list price", "web price"),
    "cost": ("cost", "buy", "purchase price", "cost price"),
    "trade": ("trade", "wholesale", "b2b"),
    # warehouses
    "main": ("main", "primary", "central", "head office", "hq", "default"),
    # nominal codes
    "sales": ("sales", "sale", "turnover", "revenue"),
    "carriage": ("carriage", "shipping", "delivery", "postage", "freight", "distribution", "p p"),
    "discount": ("discount", "discounts"),
    "fee": ("fee", "fees", "surcharge", "charge", "charges"),
    # tax codes
    "zero": ("zero", "zero rated", "nil"),
    "exempt": ("exempt", "exemption", "tax exempt", "vat exempt"),
    "outside": ("outside the scope", "out of scope", "outside scope", "non vat"),
    "standard_rate": ("standard rate",),
    "reduced_rate": ("reduced rate", "reduced"),
}

STOP_WORDS: frozenset[str] = frozenset({
    "the", "of", "a", "an", "and", "or", "for", "to", "on", "in", "at", "by", "with", "is", "not", "do", "please",
    "payments", "payment", "method", "methods", "order", "orders", "status", "plugin", "uk", "gb", "ltd", "only",
})

#: Extra stop words per kind of reference data (words that say nothing there).
TABLE_STOP_WORDS: dict[str, frozenset[str]] = {
    "payment_method": frozenset({"standard", "express", "checkout", "commerce", "smart", "buttons", "pro", "plus", "advanced",
                                 "gateway", "hosted", "direct", "integration", "api", "online"}),
    "shipping_method": frozenset({"shipping", "delivery", "postage", "service", "courier", "royal", "mail", "dpd", "ups", "dhl",
                                  "evri", "hermes", "parcelforce", "yodel", "fedex", "usps", "tnt", "gls", "method"}),
    "order_status": frozenset({"stock", "sales", "so"}),
    "warehouse": frozenset({"warehouse", "warehouses", "wh", "location", "stock", "depot", "store"}),
    "nominal_code": frozenset({"type", "control", "account", "accounts", "goods", "allowed", "income", "misc", "miscellaneous"}),
    "tax_code": frozenset({"vat", "rate", "rated", "tax", "code", "percent"}),
    "price_list": frozenset({"price", "prices", "list", "pricing"}),
    "channel": frozenset({"channel", "sales", "store", "shop"}),
}

_PHRASES: dict[tuple[str, ...], str] = {}
for _concept, _phrases in CONCEPTS.items():
    for _phrase in _phrases:
        _PHRASES.setdefault(tuple(_phrase.split()), _concept)
_LONGEST = max(len(p) for p in _PHRASES)


def concepts(text: str | None, table: str = "", *, synonyms: bool = True) -> tuple[frozenset[str], tuple[str, ...]]:
    """(concepts, plain words) of `text` read for `table` (see the module docstring). The plain
    words are the words left after stop words, for a raw similarity beside the concepts. With
    `synonyms=False` (a baseline to measure the vocabulary against) every word stays itself."""
    stop = STOP_WORDS | TABLE_STOP_WORDS.get(table, frozenset())
    found: set[str] = set()
    plain: list[str] = []
    tokens = words(text, split_camel=True)
    index = 0
    while index < len(tokens):
        for length in range(min(_LONGEST, len(tokens) - index), 0, -1):
            phrase = tuple(tokens[index:index + length])
            if length == 1 and phrase[0] in stop:
                index += 1
                break
            if synonyms and phrase in _PHRASES:
                found.add(_PHRASES[phrase])
                plain.extend(phrase)
                index += length
                break
        else:
            found.add(tokens[index])
            plain.append(tokens[index])
            index += 1
    return frozenset(found), tuple(plain)


def known_concepts(text: str | None, table: str = "", *, synonyms: bool = True) -> frozenset[str]:
    """Only the concepts of `text` that the vocabulary names (for codes: "SAGEPAY_UK" -> {card},
    "RM2" -> nothing); nothing without `synonyms`."""
    return frozenset(c for c in concepts(text, table)[0] if c in CONCEPTS) if synonyms else frozenset()


__all__ = ["CONCEPTS", "STOP_WORDS", "TABLE_STOP_WORDS", "VOCABULARY_VERSION", "concepts", "known_concepts"]
