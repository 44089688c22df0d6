"""The ledger's vocabulary: which kinds of record it keeps and why a record is dead-lettered.

The ledger refuses any other kind or reason, so a typo in a flow fails at its first ledger call
instead of writing rows no report, sensor or replay ever looks at.

A new flow adds its kind here (a member of `RecordKind`: lowercase, at most 32 characters, the
width of the `kind` column) and documents, next to the member, what the key is and what the
linked id is. A new dead-letter reason is added to `DeadLetterReason` the same way; the
dead-letter asset and the replay job list the members, so they need no change.
"""

from __future__ import annotations

from enum import StrEnum


class RecordKind(StrEnum):
    """What a ledger row is about. Key → linked id, per kind:"""

    ORDER = "order"  # nopCommerce order id → Brightpearl sales order id
    CONTACT = "contact"  # normalised email (or "customer:<id>") → Brightpearl contact id
    POSTAL_ADDRESS = "postal_address"  # the contact's key → Brightpearl postal address id
    PAYMENT = "payment"  # "<order id>:<paymentType>" → Brightpearl customer payment id
    PRODUCT = "product"  # SKU → Brightpearl product id
    GOODS_OUT_NOTE = "goods_out_note"  # Brightpearl goods-out note id → nopCommerce shipment id
    SHIPMENT_SHIPPED = "shipment_shipped"  # goods-out note id → shipment id, once Ship was called
    SHIPMENT_DELIVERED = "shipment_delivered"  # goods-out note id → shipment id, once Deliver was called
    BP_ORDER_STATUS = "bp_order_status"  # Brightpearl order id (work queue of status changes)
    ORDER_CANCELLED = "order_cancelled"  # nopCommerce order id → Brightpearl order id, once cancelled
    ALLOCATION = "allocation"  # nopCommerce order id, synced once Brightpearl has allocated it
    STOCK_RETRY = "stock_retry"  # Brightpearl product id whose last stock push failed
    ANOMALY_FLAG = "anomaly_flag"  # nopCommerce order id → Brightpearl order note id, once the risky order was flagged
    # Returns and refunds (sync/refunds.py). "<o>:<n>" is refund n of nop order o (the n-th rise
    # of its refunded_amount this integration saw), one record per step so a crash resumes there.
    REFUND = "refund"  # "<o>:<n>" → Brightpearl sales credit id (sales order id for a cancel); synced when paid
    REFUND_CLOSED = "refund_closed"  # "<o>:<n>" → sales credit id, once closed (invoiced, SC-n)
    REFUND_PAID = "refund_paid"  # "<o>:<n>" → Brightpearl customer payment id of its PAYMENT
    REFUND_CANCELLED = "refund_cancelled"  # "<o>:<n>" → sales order id, once cancelled (full refund before shipping)
    RETURN_RECEIVED = "return_received"  # "<o>:<n>:<return request id>" → goods-in note id
    STAFF_CREDIT = "staff_credit"  # Brightpearl sales credit id (made by staff) → nop order id, once refunded there
    CUSTOMER = "customer"  # registered nopCommerce customer id → Brightpearl contact id (the customer flow)
    CATALOGUE_PRODUCT = "catalogue_product"  # SKU → nopCommerce product id (or combination id) it was written to
    GATEWAY_JOURNAL = "gateway_journal"  # "<fee|transfer>:<day>:<paymentMethodCode>" → Brightpearl journal id


class DeadLetterReason(StrEnum):
    """Why a record was parked in the dead-letter queue (DESIGN principle 2)."""

    UNKNOWN_SKU = "unknown_sku"
    INVALID_ADDRESS = "invalid_address"
    VALIDATION_ERROR = "validation_error"  # the target refused it (4xx) or the mapping cannot express it
    AUTH = "auth"
    MALFORMED_ORDER = "malformed_order"  # an order the mapping cannot read (kept: existing rows use it)
    MALFORMED_RECORD = "malformed_record"  # any other source record the mapping cannot read
    DUPLICATE = "duplicate"
    NOT_FOUND = "not_found"  # the record, or what it refers to, is gone from the other system
    UNEXPECTED = "unexpected"  # an error no rule classifies (a bug or an undocumented reply)
    GATEWAY_REFUSED = "gateway_refused"  # the payment gateway refused a refund; the message is the gateway's
    GAVE_UP = "gave_up"  # the retry policy's attempts are exhausted; the message is the last error
    UNKNOWN_STORE = "unknown_store"  # a nopCommerce store the mapping's `stores:` does not list
    OTHER = "other"


#: Every kind and reason as plain strings (for messages, configs and the UI).
KINDS: tuple[str, ...] = tuple(kind.value for kind in RecordKind)
DEAD_LETTER_REASONS: tuple[str, ...] = tuple(reason.value for reason in DeadLetterReason)
