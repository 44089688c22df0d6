"""Simulator of the official nopCommerce Web API Backend plugin (`/api-backend/...`).

`backend.NopCommerceBackend` holds the in-memory shop; `app.build_nopcommerce_app` serves it.
"""

from bp_nop_dagster.sandbox.nopcommerce.backend import NopCommerceBackend

__all__ = ["NopCommerceBackend"]
