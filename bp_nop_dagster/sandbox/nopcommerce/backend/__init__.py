"""State, behaviour and queries of the simulated nopCommerce shop (no HTTP here), one module per
area of the plugin's controllers, combined into `NopCommerceBackend`:

- `auth`: API users and JWTs;            - `directory`: countries;
- `customers`: customers and addresses;  - `catalog`: products, warehouses, stock;
- `orders`: orders, items, notes, checkout and the order workflow;
- `shipping`: shipments, Ship / Deliver;  - `returns`: return requests and their lookups;
- `refunds`: the refund workflow and the payment gateways; - `stores`: stores, store mappings.

Behaviour follows nopCommerce 4.70 core where the notes or the core source say how; each
method names the core service it stands for.
"""

from __future__ import annotations

from datetime import datetime
from typing import Callable

from bp_nop_dagster.sandbox.nopcommerce.backend.auth import AuthMixin
from bp_nop_dagster.sandbox.nopcommerce.backend.catalog import CatalogMixin
from bp_nop_dagster.sandbox.nopcommerce.backend.customers import CustomersMixin
from bp_nop_dagster.sandbox.nopcommerce.backend.directory import DirectoryMixin
from bp_nop_dagster.sandbox.nopcommerce.backend.orders import OrdersMixin
from bp_nop_dagster.sandbox.nopcommerce.backend.refunds import RefundsMixin
from bp_nop_dagster.sandbox.nopcommerce.backend.returns import ReturnsMixin
from bp_nop_dagster.sandbox.nopcommerce.backend.shipping import ShippingMixin
from bp_nop_dagster.sandbox.nopcommerce.backend.stores import StoresMixin
from bp_nop_dagster.sandbox.nopcommerce.backend.state import NopError, NotFound, Page, paginate
from bp_nop_dagster.sandbox.world import SandboxCredentials


class NopCommerceBackend(AuthMixin, DirectoryMixin, StoresMixin, CustomersMixin, CatalogMixin, OrdersMixin, ShippingMixin, ReturnsMixin,
                         RefundsMixin):
    """The whole simulated shop: stores, catalogue, customers, orders, shipments, returns, refunds, API users."""

    def __init__(self, credentials: SandboxCredentials, clock: Callable[[], datetime] | None = None) -> None:
        super().__init__(credentials, clock)
        self._seed_countries()
        self._seed_state_provinces()
        self._seed_stores()
        self._seed_customer_roles()
        self._seed_api_users()
        self._seed_return_lookups()
        self._seed_payment_gateways()

    def state(self) -> dict:
        """Counts for the control API's `GET /__sandbox__/state`."""
        return {
            "orders": sum(1 for o in self.orders.values() if not o["deleted"]),
            "deleted_orders": sum(1 for o in self.orders.values() if o["deleted"]),
            "order_items": len(self.order_items),
            "customers": len(self.customers),
            "addresses": len(self.addresses),
            "products": sum(1 for p in self.products.values() if not p["deleted"]),
            "warehouses": len(self.warehouses),
            "shipments": len(self.shipments),
            "return_requests": len(self.return_requests),
            "stores": len(self.all_stores()),
            "token_lifetime_seconds": self.token_lifetime.total_seconds(),
        }


__all__ = ["NopCommerceBackend", "NopError", "NotFound", "Page", "paginate"]
