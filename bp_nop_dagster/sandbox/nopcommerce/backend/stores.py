"""Stores and store mappings (plugin Controllers/Stores/{Store,StoreMapping}Controller.cs over core
StoreService and StoreMappingService; ProductService.UpdateProductStoreMappingsAsync).

A shop has one store after installation; a merchant adds more in the admin. Orders carry the
`store_id` they were placed in, customers the store they registered in. An entity limited to
stores (`limited_to_stores`) is visible in the stores its StoreMapping rows name, but only while
`CatalogSettings.IgnoreStoreLimitations` is off (installed on, so mappings filter nothing until
the merchant turns it off: `ShopSettings.ignore_store_limitations`).
"""

from __future__ import annotations

from bp_nop_dagster.sandbox.nopcommerce.backend.state import ShopState
from bp_nop_dagster.sandbox.nopcommerce.wire import new_entity


class StoresMixin(ShopState):
    # ----------------------------------------------------------------------------- stores
    def _seed_stores(self) -> None:
        """The store the installation creates (InstallationService.InstallStoresAsync), named for the sandbox."""
        self.add_store("Sandbox Store", url="http://localhost/", hosts="localhost")

    def add_store(self, name: str, *, url: str, hosts: str | None = None) -> int:
        """A store as the admin creates one (Configuration > Stores), displayed after the others."""
        store_id = self._next_id("store")
        self.stores[store_id] = new_entity(
            "store", id=store_id, name=name, url=url, hosts=hosts, ssl_enabled=url.startswith("https://"),
            display_order=store_id, company_name=name,
        )
        return store_id

    def all_stores(self) -> list[dict]:
        """StoreService.GetAllStoresAsync: deleted ones left out, by DisplayOrder then Id."""
        return sorted((s for s in self.stores.values() if not s["deleted"]), key=lambda s: (s["display_order"], s["id"]))

    # ----------------------------------------------------------------------------- store mappings
    def insert_store_mapping(self, entity: dict) -> dict:
        """StoreMapping/Create: the mapped DTO inserted as is (no check of the entity or store)."""
        entity["id"] = self._next_id("store_mapping")
        self.store_mappings[entity["id"]] = entity
        return entity

    def delete_store_mapping(self, mapping_id: int) -> None:
        del self.store_mappings[mapping_id]

    def store_mappings_of(self, entity_id: int, entity_name: str | None) -> list[dict]:
        """The StoreMapping rows of one entity (EntityName compared as SQL Server's CI collation does)."""
        name = (entity_name or "").lower()
        return sorted((m for m in self.store_mappings.values()
                       if m["entity_id"] == entity_id and (m["entity_name"] or "").lower() == name), key=lambda m: m["id"])

    def update_product_store_mappings(self, product: dict, store_ids: list[int]) -> None:
        """ProductService.UpdateProductStoreMappingsAsync: for every existing store, a mapping is added
        when its id is listed and removed when not (unknown ids are ignored). It also sets
        `LimitedToStores` on the product in memory only: neither it nor the plugin's action saves
        the product, so `limited_to_stores` keeps its stored value."""
        wanted = set(store_ids)
        existing = {m["store_id"]: m for m in self.store_mappings_of(product["id"], "Product")}
        for store in self.all_stores():
            if store["id"] in wanted and store["id"] not in existing:
                self.insert_store_mapping(new_entity("store_mapping", entity_id=product["id"], entity_name="Product", store_id=store["id"]))
            elif store["id"] not in wanted and store["id"] in existing:
                self.delete_store_mapping(existing[store["id"]]["id"])

    def visible_in_store(self, entity: dict, entity_name: str, store_id: int) -> bool:
        """StoreMappingService.ApplyStoreMapping: with a store given and store limitations not
        ignored, an entity limited to stores needs a mapping to that store."""
        if not store_id or self.settings.ignore_store_limitations or not entity.get("limited_to_stores"):
            return True
        return any(m["store_id"] == store_id for m in self.store_mappings_of(entity["id"], entity_name))
