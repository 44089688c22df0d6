"""A naive Brightpearl writer, kept ONLY as the baseline of a benchmark. Not for production.

`NaiveBrightpearlClient` books orders the way existing open-source connectors do (the Magento
connector, older integrations; docs/reference/brightpearl-api.md sections 5, 6, 11):

- a `contact-search` by email on every order (no per-run reuse, no ledger link);
- the low-level `POST /order-service/order` for the header, then one
  `POST /order-service/order/{id}/row` per row: N + 1 writes for N rows, not atomic (a failure
  between them leaves a partial order), and no `externalRef`, so a retry cannot find the first
  attempt: the duplicate-order pitfall of section 11;
- order reads one id per request (no ID sets).

It subclasses `BrightpearlClient`, so it shares the transport, pacing, retry policy and the call
counters (`calls`, `call_count`): a benchmark compares the two on equal terms. It takes the same
sales-order body as `BrightpearlClient.create_sales_order` (what `mapping.orders` produces) and
translates it to the low-level shapes, so both book an equivalent order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bp_nop_dagster.brightpearl import models as m
from bp_nop_dagster.brightpearl.client import BrightpearlClient, _checked_ids, _created_id

ADDRESS_FIELDS = (
    "addressFullName", "companyName", "addressLine1", "addressLine2", "addressLine3", "addressLine4",
    "postalCode", "countryIsoCode", "telephone", "mobileTelephone", "email",
)


class NaiveBrightpearlClient(BrightpearlClient):
    """Benchmark baseline: per-row order creation and per-order contact lookups (see module doc)."""

    def create_sales_order(self, body: Mapping[str, Any], *, customer_email: str | None = None) -> int:
        """Book `body` (a `/sales-order` body) as header + one row POST per row, after a contact
        search by email (`customer_email`, else the billing or delivery address email). Returns
        the order id. Calls: 1 contact-search (when an email is known) + 1 + len(rows) POSTs."""
        contact_id = int(body["customer"]["id"]) if body.get("customer", {}).get("id") is not None else int(body["customerId"])
        email = customer_email or _address(body.get("billing")).get("email") or _address(body.get("delivery")).get("email")
        if email:
            # What connectors do per order: look the customer up again (exact compare of the fuzzy search).
            matches = self.find_contacts_by_email(email)
            if matches:
                contact_id = matches[0].contact_id
        order_id = _created_id(
            self.request("POST", "/order-service/order", json_body=order_header(body, contact_id), idempotent=False).body,
            self.system, "/order-service/order",
        )
        for row in body.get("rows") or []:
            path = f"/order-service/order/{order_id}/row"
            _created_id(self.request("POST", path, json_body=order_row(row), idempotent=False).body, self.system, path)
        return order_id

    def order_summaries(self, ids: Iterable[int]) -> dict[int, m.OrderSummary]:
        """One `GET /order-service/order/{id}` per order (no ID sets). The low-level order shape
        has no externalRef, so `external_ref` is None here."""
        summaries: dict[int, m.OrderSummary] = {}
        for order_id in sorted(set(_checked_ids(ids))):
            reply = self.get(f"/order-service/order/{order_id}")
            for item in reply or []:
                summary = m.OrderSummary.model_validate(item)
                summaries[summary.id] = summary
        return summaries


def order_header(body: Mapping[str, Any], contact_id: int) -> dict[str, Any]:
    """A `/sales-order` body's header as a low-level `POST /order-service/order` body (section 5)."""
    header: dict[str, Any] = {"orderTypeCode": "SO", "parties": {"customer": {"contactId": contact_id}}}
    if body.get("ref"):
        header["reference"] = body["ref"]
    if body.get("placedOn"):
        header["placedOn"] = body["placedOn"]
    if body.get("statusId") is not None:
        header["orderStatus"] = {"orderStatusId": body["statusId"]}
    for key in ("priceListId", "priceModeCode", "warehouseId"):
        if body.get(key) is not None:
            header[key] = body[key]
    currency = body.get("currency") or {}
    if currency.get("code"):
        header["currency"] = {"orderCurrencyCode": currency["code"]}
    delivery = body.get("delivery") or {}
    if delivery.get("shippingMethodId") is not None:
        header["delivery"] = {"shippingMethodId": delivery["shippingMethodId"]}
    for party, source in (("delivery", delivery), ("billing", body.get("billing") or {})):
        address = _address(source)
        if address:
            header["parties"][party] = address
    if body.get("channelId") is not None:
        header["assignment"] = {"current": {"channelId": body["channelId"]}}
    if body.get("taxDate"):
        header["invoices"] = [{"taxDate": body["taxDate"]}]
    return header


def order_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A `/sales-order` row as a low-level `POST /order-service/order/{id}/row` body (section 5)."""
    out: dict[str, Any] = {"quantity": {"magnitude": row.get("quantity")}}
    if row.get("productId") is not None:
        out["productId"] = row["productId"]
    if row.get("name"):
        out["productName"] = row["name"]
    value: dict[str, Any] = {}
    if row.get("taxCode") is not None:
        value["taxCode"] = row["taxCode"]
    if row.get("net") is not None:
        value["rowNet"] = {"value": row["net"]}
    if row.get("tax") is not None:
        value["rowTax"] = {"value": row["tax"]}
    if value:
        out["rowValue"] = value
    if row.get("nominalCode") is not None:
        out["nominalCode"] = row["nominalCode"]
    return out


def _address(block: Any) -> dict[str, Any]:
    address = block.get("address") if isinstance(block, Mapping) else None
    if not isinstance(address, Mapping):
        return {}
    return {k: address[k] for k in ADDRESS_FIELDS if address.get(k) is not None}
