"""Catalogue and stock (plugin Controllers/Catalog/{Product,ProductWarehouse,
ProductAttributeCombination}Controller.cs and Shipping/WarehouseController.cs over core
ProductService, ProductAttributeService and ShippingService)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from bp_nop_dagster.sandbox.nopcommerce.backend.state import (
    INV_BY_ATTRIBUTES,
    INV_STOCK,
    NotFound,
    ShopState,
    by_ids,
    money,
    newest_first,
    round_price,
)
from bp_nop_dagster.sandbox.nopcommerce.wire import new_entity

TAX_CATEGORIES: dict[int, tuple[str, Decimal]] = {
    1: ("Standard", Decimal("20")),
    2: ("Reduced", Decimal("5")),
    3: ("Zero", Decimal("0")),
}


class CatalogMixin(ShopState):
    tax_categories = TAX_CATEGORIES

    def tax_rate(self, tax_category_id: int) -> Decimal:
        entry = self.tax_categories.get(tax_category_id)
        return entry[1] if entry else Decimal("0")

    # ----------------------------------------------------------------------------- warehouses
    def add_warehouse(self, name: str) -> int:
        warehouse_id = self._next_id("warehouse")
        self.warehouses[warehouse_id] = new_entity("warehouse", id=warehouse_id, name=name)
        return warehouse_id

    def all_warehouses(self, name: str | None = None) -> list[dict]:
        """ShippingService.GetAllWarehousesAsync: by name (contains), ordered by name."""
        found = [wh for wh in self.warehouses.values() if not name or name.lower() in (wh["name"] or "").lower()]
        return sorted(found, key=lambda wh: (wh["name"] or "", wh["id"]))

    # ----------------------------------------------------------------------------- products
    def add_product(self, sku: str, name: str, *, price: Decimal, tax_category_id: int = 1, stock_quantity: int = 0,
                    manage_inventory_method_id: int = 1, use_multiple_warehouses: bool = False, warehouse_id: int = 0,
                    warehouse_stock: dict[int, int] | None = None, combinations: list[dict] | None = None,
                    published: bool = True, created_on: datetime | None = None, store_ids: list[int] | None = None) -> int:
        """A product as the admin UI creates it (admin ProductController.Create stamps CreatedOnUtc
        and UpdatedOnUtc); `store_ids` limits it to those stores (LimitedToStores and a mapping
        each, as the admin's store picker saves them). Duplicate SKUs are allowed, as in nop (the
        generator seeds one on purpose)."""
        product_id = self._next_id("product")
        created = created_on or self.now()
        price = money(price)
        self.products[product_id] = new_entity(
            "product", id=product_id, product_type_id=5, visible_individually=True, name=name,
            short_description=name, sku=sku, is_ship_enabled=True, tax_category_id=tax_category_id,
            manage_inventory_method_id=manage_inventory_method_id, use_multiple_warehouses=use_multiple_warehouses,
            warehouse_id=warehouse_id, stock_quantity=stock_quantity, display_stock_availability=True,
            low_stock_activity_id=0, order_minimum_quantity=1, order_maximum_quantity=10000,
            allow_customer_reviews=True, price=price, product_cost=round_price(price * Decimal("0.4")),
            weight=Decimal("0.5"), published=published, created_on_utc=created, updated_on_utc=created,
            product_template_id=1, limited_to_stores=bool(store_ids),
        )
        if store_ids:
            self.update_product_store_mappings(self.products[product_id], list(store_ids))  # type: ignore[attr-defined]
        for wid, quantity in (warehouse_stock or {}).items():
            self.insert_product_warehouse(new_entity("product_warehouse_inventory", product_id=product_id, warehouse_id=wid,
                                                     stock_quantity=quantity))
        for combination in combinations or []:
            entity = self.insert_combination(new_entity(
                "product_attribute_combination", product_id=product_id,
                attributes_xml=combination.get("attributes_xml") or "", stock_quantity=int(combination.get("stock_quantity", 0)),
                sku=combination.get("sku"), allow_out_of_stock_orders=bool(combination.get("allow_out_of_stock_orders", False)),
            ))
            entity["_attribute_description"] = combination.get("attribute_description")
        return product_id

    def insert_product(self, entity: dict) -> dict:
        """Product/Create: InsertProductAsync of the mapped DTO, a plain insert (CreatedOnUtc and
        UpdatedOnUtc as sent: only the admin's Create stamps them)."""
        entity["id"] = self._next_id("product")
        self.products[entity["id"]] = entity
        return entity

    def replace_product(self, entity: dict) -> None:
        """Product/Update: the DTO mapped onto a new entity replaces the row (omitted properties
        are reset; nothing is stamped, UpdatedOnUtc included)."""
        self.products[entity["id"]] = entity

    def admin_edit_product(self, product_id: int, changes: dict) -> dict:
        """The admin's product Edit (admin ProductController.Edit): the changed fields saved and
        UpdatedOnUtc = now, the only trace an edit leaves that the API can read."""
        product = self.products[product_id]
        unknown = set(changes) - set(product) - {"id"}
        if unknown or "id" in changes:
            raise ValueError(f"not editable product fields: {sorted(unknown | ({'id'} & set(changes)))}")
        product.update(changes)
        product["updated_on_utc"] = self.now()
        return product

    def product_by_sku(self, sku: str) -> dict | None:
        """ProductService.GetProductBySkuAsync: the argument trimmed, not deleted, first by id.
        Compared case-insensitively and ignoring the stored value's trailing spaces, as SQL
        Server's default (CI) collation and ANSI padding do; a stored leading space still counts."""
        wanted = (sku or "").strip().lower()
        if not wanted:
            return None
        for product_id in sorted(self.products):
            product = self.products[product_id]
            if not product["deleted"] and (product["sku"] or "").rstrip().lower() == wanted:
                return product
        return None

    def products_by_skus(self, skus: list[str], vendor_id: int = 0) -> list[dict]:
        """ProductService.GetProductsBySkuAsync: not deleted, SKU in the list (SQL comparison)."""
        wanted = {s.strip().lower() for s in skus if s.strip()}
        return [p for p in sorted(self.products.values(), key=lambda p: p["id"])
                if not p["deleted"] and (p["sku"] or "").rstrip().lower() in wanted and (not vendor_id or p["vendor_id"] == vendor_id)]

    def products_by_ids(self, ids: list[int]) -> list[dict]:
        """ProductService.GetProductsByIdsAsync: `GetByIdsAsync(ids, ..., includeDeleted: false)`."""
        return by_ids(self.products, ids, include_deleted=False)

    def delete_product(self, product: dict) -> None:
        product["deleted"] = True  # ISoftDeletedEntity

    def search_products(self, *, category_ids: list[int] | None = None, manufacturer_ids: list[int] | None = None,
                        store_id: int = 0, vendor_id: int = 0, warehouse_id: int = 0, product_type_id: int | None = None,
                        visible_individually_only: bool = False, price_min: Decimal | None = None, price_max: Decimal | None = None,
                        keywords: str | None = None, search_descriptions: bool = False, search_manufacturer_part_number: bool = True,
                        search_sku: bool = True, show_hidden: bool = False, override_published: bool | None = None) -> list[dict]:
        """ProductService.SearchProductsAsync, the parts a shop without categories, manufacturers,
        tags has: deleted excluded; unpublished only with showHidden (or as overridePublished
        says); keywords in the name (and descriptions, MPN), the SKU exactly; with a storeId, the
        store mapping filter (StoreMappingService.ApplyStoreMapping); ordered by display order,
        then id (the Position sort outside a category). Products have no category or manufacturer
        mappings here, so filtering by one finds nothing."""
        if any(i for i in category_ids or []) or any(i for i in manufacturer_ids or []):
            return []
        result = []
        words = (keywords or "").strip().lower()
        for product in self.products.values():
            if product["deleted"]:
                continue
            if override_published is not None:
                if product["published"] != override_published:
                    continue
            elif not show_hidden and not product["published"]:
                continue
            if vendor_id and product["vendor_id"] != vendor_id:
                continue
            if not self.visible_in_store(product, "Product", store_id):  # type: ignore[attr-defined]
                continue
            if product_type_id is not None and product["product_type_id"] != product_type_id:
                continue
            if visible_individually_only and not product["visible_individually"]:
                continue
            if (price_min is not None and product["price"] < price_min) or (price_max is not None and product["price"] > price_max):
                continue
            if words:
                texts = [product["name"]]
                if search_descriptions:
                    texts += [product["short_description"], product["full_description"]]
                found = any(words in (text or "").lower() for text in texts)
                found = found or (search_sku and (product["sku"] or "").strip().lower() == words)
                found = found or (search_manufacturer_part_number and (product["manufacturer_part_number"] or "").strip().lower() == words)
                if not found:
                    continue
            if warehouse_id:
                if product["use_multiple_warehouses"]:
                    if not any(r["warehouse_id"] == warehouse_id for r in self.warehouse_records(product["id"])):
                        continue
                elif product["warehouse_id"] != warehouse_id:
                    continue
            result.append(product)
        return sorted(result, key=lambda p: (p["display_order"], p["id"]))

    # ----------------------------------------------------------------------------- warehouse inventory
    def insert_product_warehouse(self, entity: dict) -> dict:
        """ProductWarehouse/Create: InsertProductWarehouseInventoryAsync of the mapped DTO."""
        entity["id"] = self._next_id("pwi")
        self.product_warehouses[entity["id"]] = entity
        self._pwi_by_product.setdefault(entity["product_id"], []).append(entity["id"])
        return entity

    def replace_product_warehouse(self, record: dict) -> None:
        """ProductWarehouse/Update: full replace (the product id may change)."""
        self.product_warehouses[record["id"]] = record
        ids = self._pwi_by_product.setdefault(record["product_id"], [])
        if record["id"] not in ids:
            ids.append(record["id"])

    def delete_product_warehouse(self, record_id: int) -> None:
        del self.product_warehouses[record_id]

    def warehouse_records(self, product_id: int) -> list[dict]:
        records = (self.product_warehouses.get(i) for i in self._pwi_by_product.get(product_id, ()))
        return sorted((r for r in records if r is not None and r["product_id"] == product_id), key=lambda r: r["id"])

    # ----------------------------------------------------------------------------- attribute combinations
    def insert_combination(self, entity: dict) -> dict:
        """ProductAttributeCombination/Create: InsertProductAttributeCombinationAsync of the DTO."""
        entity["id"] = self._next_id("combination")
        self.combinations[entity["id"]] = entity
        self._combinations_by_product.setdefault(entity["product_id"], []).append(entity["id"])
        return entity

    def delete_combination(self, combination_id: int) -> None:
        del self.combinations[combination_id]

    def replace_combination(self, combination: dict) -> None:
        """ProductAttributeCombination/Update: full replace (the product id may change)."""
        previous = self.combinations.get(combination["id"], {})
        combination["_attribute_description"] = previous.get("_attribute_description")
        self.combinations[combination["id"]] = combination
        ids = self._combinations_by_product.setdefault(combination["product_id"], [])
        if combination["id"] not in ids:
            ids.append(combination["id"])

    def combination_by_sku(self, sku: str) -> dict | None:
        """ProductAttributeService.GetProductAttributeCombinationBySkuAsync (first by id, trimmed)."""
        wanted = (sku or "").strip().lower()
        for combination_id in sorted(self.combinations):
            combination = self.combinations[combination_id]
            if (combination["sku"] or "").lower() == wanted:
                return combination
        return None

    def product_combinations(self, product_id: int) -> list[dict]:
        combinations = (self.combinations.get(i) for i in self._combinations_by_product.get(product_id, ()))
        return sorted((c for c in combinations if c is not None and c["product_id"] == product_id), key=lambda c: c["id"])

    def find_combination(self, product_id: int, attributes_xml: str) -> dict | None:
        # nop compares parsed attribute mappings/values; a whitespace-insensitive string compare
        # is the simulator's stand-in.
        wanted = "".join((attributes_xml or "").split())
        for combination in self.product_combinations(product_id):
            if "".join((combination["attributes_xml"] or "").split()) == wanted:
                return combination
        return None

    # ----------------------------------------------------------------------------- inventory
    def total_stock_quantity(self, product_id: int, use_reserved_quantity: bool = True, warehouse_id: int = 0) -> int:
        """ProductService.GetTotalStockQuantityAsync."""
        product = self.products[product_id]
        if product["manage_inventory_method_id"] != INV_STOCK:
            return 0
        if not product["use_multiple_warehouses"]:
            return product["stock_quantity"]
        records = [r for r in self.warehouse_records(product_id) if not warehouse_id or r["warehouse_id"] == warehouse_id]
        total = sum(r["stock_quantity"] for r in records)
        if use_reserved_quantity:
            total -= sum(r["reserved_quantity"] for r in records)
        return total

    def stock_history_of(self, product_id: int, warehouse_id: int = 0, combination_id: int = 0) -> list[dict]:
        """ProductService.GetStockQuantityHistoryAsync: newest first."""
        entries = [h for h in self.stock_history.values() if h["product_id"] == product_id
                   and (not combination_id or h["combination_id"] == combination_id)
                   and (not warehouse_id or h["warehouse_id"] == warehouse_id)]
        return newest_first(entries)

    def _history(self, product_id: int, adjustment: int, stock_quantity: int, message: str, *,
                 warehouse_id: int | None = None, combination_id: int | None = None) -> None:
        entry_id = self._next_id("stock_history")
        self.stock_history[entry_id] = new_entity(
            "stock_quantity_history", id=entry_id, product_id=product_id, combination_id=combination_id,
            warehouse_id=warehouse_id or None, quantity_adjustment=adjustment, stock_quantity=stock_quantity,
            message=message, created_on_utc=self.now(),
        )

    def adjust_inventory(self, product_id: int, quantity_to_change: int, attributes_xml: str = "", message: str = "") -> None:
        """ProductService.AdjustInventoryAsync (notes §7.3), including the multi-warehouse reserve /
        unblock passes (a positive change first unblocks reserved quantity, then adds the rest to
        the first warehouse record, as ReserveInventoryAsync / UnblockReservedInventoryAsync do)."""
        product = self.products.get(product_id)
        if product is None:
            raise NotFound(f"Product Id={product_id} is not found")
        if quantity_to_change == 0:
            return
        method = product["manage_inventory_method_id"]
        if method == INV_STOCK:
            if product["use_multiple_warehouses"]:
                if quantity_to_change < 0:
                    self._reserve_inventory(product, quantity_to_change, message)
                else:
                    self._unblock_reserved_inventory(product, quantity_to_change, message)
            else:
                product["stock_quantity"] += quantity_to_change
                self._history(product_id, quantity_to_change, product["stock_quantity"], message, warehouse_id=product["warehouse_id"])
            self._apply_low_stock_activity(product)
            product["updated_on_utc"] = self.now()
        elif method == INV_BY_ATTRIBUTES:
            combination = self.find_combination(product_id, attributes_xml)
            if combination is not None:
                combination["stock_quantity"] += quantity_to_change
                self._history(product_id, quantity_to_change, combination["stock_quantity"], message, combination_id=combination["id"])
                product["updated_on_utc"] = self.now()
        # method 0 (DontManageStock): nothing to do.

    def _reserve_inventory(self, product: dict, quantity: int, message: str) -> None:
        records = sorted(self.warehouse_records(product["id"]), key=lambda r: -(r["stock_quantity"] - r["reserved_quantity"]))
        if not records:
            return
        qty = -quantity
        changes: dict[int, int] = {}
        for record in records:
            select = min(max(0, record["stock_quantity"] - record["reserved_quantity"]), qty)
            if select:
                record["reserved_quantity"] += select
                changes[record["id"]] = changes.get(record["id"], 0) + select
                qty -= select
            if qty <= 0:
                break
        if qty > 0:  # "Booking negative stock!"
            records[0]["reserved_quantity"] += qty
            changes[records[0]["id"]] = changes.get(records[0]["id"], 0) + qty
        for record_id, reserved in changes.items():
            record = self.product_warehouses[record_id]
            self._history(product["id"], -reserved, record["stock_quantity"] - record["reserved_quantity"], message,
                          warehouse_id=record["warehouse_id"])

    def _unblock_reserved_inventory(self, product: dict, quantity: int, message: str) -> None:
        records = sorted(self.warehouse_records(product["id"]), key=lambda r: (-r["reserved_quantity"], -r["stock_quantity"]))
        if not records:
            return
        qty = quantity
        changes: dict[int, int] = {}
        for record in records:
            select = min(record["reserved_quantity"], qty)
            if select > 0:
                record["reserved_quantity"] -= select
                changes[record["id"]] = changes.get(record["id"], 0) + select
                qty -= select
            if qty <= 0:
                break
        if qty > 0:
            records[0]["stock_quantity"] += qty
            changes[records[0]["id"]] = changes.get(records[0]["id"], 0) + qty
        for record_id, added in changes.items():
            record = self.product_warehouses[record_id]
            self._history(product["id"], added, record["stock_quantity"] - record["reserved_quantity"], message,
                          warehouse_id=record["warehouse_id"])

    def book_reserved_inventory(self, product: dict, warehouse_id: int, quantity: int, message: str) -> None:
        """ProductService.BookReservedInventoryAsync (on Ship): a multi-warehouse product's
        record loses `quantity` of stock and of reservation."""
        if product["manage_inventory_method_id"] != INV_STOCK or not product["use_multiple_warehouses"]:
            return
        record = next((r for r in self.warehouse_records(product["id"]) if r["warehouse_id"] == warehouse_id), None)
        if record is None:
            return
        record["reserved_quantity"] = max(record["reserved_quantity"] - quantity, 0)
        record["stock_quantity"] -= quantity
        self._history(product["id"], -quantity, record["stock_quantity"], message, warehouse_id=warehouse_id)

    def reverse_booked_inventory(self, product: dict, warehouse_id: int, quantity: int) -> None:
        """ProductService.ReverseBookedInventoryAsync (on cancelling an order with shipped items)."""
        if product["manage_inventory_method_id"] != INV_STOCK or not product["use_multiple_warehouses"]:
            return
        record = next((r for r in self.warehouse_records(product["id"]) if r["warehouse_id"] == warehouse_id), None)
        if record is not None:
            record["stock_quantity"] += quantity
            record["reserved_quantity"] += quantity

    def _apply_low_stock_activity(self, product: dict) -> None:
        total = self.total_stock_quantity(product["id"])
        reached = total <= product["min_stock_quantity"]
        if product["low_stock_activity_id"] == 1:
            product["disable_buy_button"] = reached
            product["disable_wishlist_button"] = reached
        elif product["low_stock_activity_id"] == 2 and reached:
            product["published"] = False
