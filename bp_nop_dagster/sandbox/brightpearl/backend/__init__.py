"""One simulated Brightpearl account in memory (no HTTP here), split as moto splits a cloud: one
backend per service holding its state, behaviour and queries, composed by `BrightpearlBackend`.

- `products.ProductService`: products, prices, brands, channels, price lists (product-service);
- `contacts.ContactService`: postal addresses, contacts, PATCH, order parties (contact-service);
- `orders.OrderService`: orders, sales orders, sales credits and their close, purchase orders,
  PATCH, statuses (order-service);
- `warehouse.WarehouseService`: warehouses, stock levels, goods movements, corrections,
  reservations and allocation, availability (warehouse-service);
- `goods_out.GoodsOutService`: goods-out notes and their events (warehouse-service);
- `goods_in.GoodsInService`: goods-in notes of purchase orders and sales credits (warehouse-service);
- `accounting.AccountingService`: customer payments, payment methods, tax and nominal codes,
  currencies (accounting-service);
- `integration.IntegrationService`: webhook subscriptions, OAuth tokens (integration-service);
- `search`: the search engine every `*-search` resource shares; `reference`: fixed reference data;
  `common`: errors, wire formats and `FidelityOptions` (the inferred behaviours' switches).

Public methods named `api_*` take already-parsed request pieces (path strings, query dict, JSON
body) and return the whole JSON body to send with 200; errors are raised as
`BrightpearlApiError(status, code, message)`. Nothing here awaits: the HTTP layer reads the body
first, then calls one method synchronously, which keeps state consistent without locks.

Id ranges (distinct per entity so a client mixing ids up fails visibly): products 1001+,
contacts 201+, postal addresses 50001+, orders, credits and purchase orders 300001+, order rows
700001+, goods notes (goods-out, goods-in, stock corrections) 900001+, goods movements 1+, payments 935001+,
journals 3000001+, webhooks 101+.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from itertools import count
from typing import Any

from bp_nop_dagster.sandbox.brightpearl.backend.accounting import AccountingService
from bp_nop_dagster.sandbox.brightpearl.backend.common import UTC, BrightpearlApiError, FidelityOptions, options_uris
from bp_nop_dagster.sandbox.brightpearl.backend.contacts import ContactService
from bp_nop_dagster.sandbox.brightpearl.backend.goods_in import GoodsInService
from bp_nop_dagster.sandbox.brightpearl.backend.goods_out import GoodsOutService
from bp_nop_dagster.sandbox.brightpearl.backend.integration import IntegrationService
from bp_nop_dagster.sandbox.brightpearl.backend.orders import OrderService
from bp_nop_dagster.sandbox.brightpearl.backend.products import ProductService
from bp_nop_dagster.sandbox.brightpearl.backend.search import SearchSpec, run_search
from bp_nop_dagster.sandbox.brightpearl.backend.warehouse import WarehouseService
from bp_nop_dagster.sandbox.brightpearl.throttle import Throttle
from bp_nop_dagster.sandbox.world import SandboxCredentials

__all__ = ["BrightpearlApiError", "BrightpearlBackend", "FidelityOptions", "options_uris"]


class BrightpearlBackend:
    """One Brightpearl account: the services, the clock, the throttle and the fidelity options."""

    def __init__(self, credentials: SandboxCredentials, clock: Callable[[], datetime] | None = None,
                 options: FidelityOptions | None = None) -> None:
        self.credentials = credentials
        # Public so the generator may swap it while building history.
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.options = options or FidelityOptions()
        self.throttle = Throttle()
        self._ids = {
            "warehouse": count(1), "product": count(1001), "contact": count(201), "address": count(50001),
            "order": count(300001), "row": count(700001), "note": count(900001), "movement": count(1),
            "payment": count(935001), "journal": count(3000001), "event": count(3131001), "token": count(1),
            "webhook": count(101), "order_note": count(11001),
        }
        self.product_service = ProductService(self)
        self.contact_service = ContactService(self)
        self.order_service = OrderService(self)
        self.warehouse_service = WarehouseService(self)
        self.goods_out_service = GoodsOutService(self)
        self.goods_in_service = GoodsInService(self)
        self.accounting_service = AccountingService(self)
        self.integration_service = IntegrationService(self)
        self._searches: dict[str, SearchSpec] = {}
        for service in (self.product_service, self.contact_service, self.order_service, self.warehouse_service,
                        self.goods_out_service, self.accounting_service):
            self._searches.update(service.search_specs())

    def next_id(self, kind: str) -> int:
        return next(self._ids[kind])

    def now(self) -> datetime:
        value = self.clock()
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    # ------------------------------------------------------------ searches

    def search(self, resource: str, query: Mapping[str, str], *, raw: bool = False) -> Any:
        """A search body (dict), or its JSON bytes with `raw=True` (faster: cached rows)."""
        spec = self._searches[resource]
        return self.order_service.memoised(lambda: run_search(spec, query, self.options, raw=raw))

    def search_meta(self, resource: str) -> dict:
        return self._searches[resource].meta_data()

    # ------------------------------------------------------------ state the generator, controls and tests read

    @property
    def products(self):
        return self.product_service.products

    @property
    def warehouses(self) -> dict[int, dict]:
        return self.warehouse_service.warehouses

    @property
    def contacts(self):
        return self.contact_service.contacts

    @property
    def orders(self):
        return self.order_service.orders

    @property
    def notes(self):
        return self.goods_out_service.notes

    def on_hand(self, product_id: int, warehouse_id: int) -> int:
        return self.warehouse_service.on_hand(product_id, warehouse_id)

    def sku_to_product_id(self) -> dict[str, int]:
        return self.product_service.sku_to_product_id()

    def state_counts(self) -> dict:
        orders = self.orders.values()
        notes = self.notes.values()
        return {
            "warehouses": len(self.warehouses), "products": len(self.products), "contacts": len(self.contacts),
            "postal_addresses": len(self.contact_service.addresses),
            "orders": sum(1 for o in orders if o.type_code == "SO"),
            "credits": sum(1 for o in orders if o.type_code == "SC"),
            "purchase_orders": sum(1 for o in orders if o.type_code == "PO"),
            "goods_in_notes": len(self.goods_in_service.notes),
            "payments": len(self.accounting_service.payments), "goods_out_notes": len(self.notes),
            "shipped_goods_out_notes": sum(1 for n in notes if n.shipped),
            "reservations": sum(len(v) for v in self.warehouse_service.reservations.values()),
            "goods_movements": len(self.warehouse_service.movements),
            "stock_corrections": len(self.warehouse_service.stock_corrections),
            "webhooks": len(self.integration_service.webhooks),
        }

    # ------------------------------------------------------------ generator interface

    def add_warehouse(self, name: str, code: str) -> int:
        return self.warehouse_service.add_warehouse(name, code)

    def add_product(self, sku: str, name: str, **kwargs) -> int:
        return self.product_service.add_product(sku, name, **kwargs)

    def correct_stock(self, warehouse_id: int, product_id: int, quantity: int, reason: str = "Stock take",
                      at: datetime | None = None) -> int:
        return self.warehouse_service.correct_stock(warehouse_id, product_id, quantity, reason, at)

    def add_contact(self, **kwargs) -> int:
        return self.contact_service.add_contact(**kwargs)

    def create_sales_order(self, body: dict) -> int:
        return self.order_service.create_sales_order(body)

    def create_sales_credit(self, body: dict) -> int:
        return self.order_service.create_sales_credit(body)

    def create_goods_in_note(self, order_id: int, body: dict) -> int:
        return self.goods_in_service.create_goods_in_note(order_id, body)

    def create_goods_out_note(self, order_id: int, body: dict) -> list[int]:
        return self.goods_out_service.create_goods_out_note(order_id, body)

    def ship_goods_out_note(self, note_id: int, tracking_reference: str | None = None, at: datetime | None = None) -> None:
        self.goods_out_service.ship_goods_out_note(note_id, tracking_reference, at)
