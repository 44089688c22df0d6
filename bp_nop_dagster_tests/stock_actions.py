"""What the stock tests do to the sandbox as people would: a stock correction in Brightpearl, a
checkout in nopCommerce (both through the control API)."""

from __future__ import annotations

import requests

ADDRESS = {"address1": "1 Mill Road", "city": "Leeds", "zip_postal_code": "LS1 4AB", "country_iso2": "GB"}


def move_stock(bp_root: str, sku: str, warehouse_id: int, quantity: int) -> int:
    """Correct a SKU's Brightpearl stock by `quantity` units; returns its product id."""
    response = requests.post(f"{bp_root}/__sandbox__/stock",
                             json={"sku": sku, "warehouse_id": warehouse_id, "quantity": quantity}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["product_id"]


def check_out(nop_root: str, sku: str, quantity: int) -> dict:
    """A paid nopCommerce order of `quantity` units of one SKU, placed as a shopper would."""
    body = {"email": "stock@flow.test", "first_name": "Ada", "last_name": "Stock", "address": ADDRESS,
            "items": [{"sku": sku, "quantity": quantity}], "paid": True}
    response = requests.post(f"{nop_root}/__sandbox__/orders", json=body, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()
