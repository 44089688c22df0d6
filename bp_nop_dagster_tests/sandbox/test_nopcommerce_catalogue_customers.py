"""Products, customers, addresses and several stores in the nopCommerce simulator. Sources
(babysaffron-cubix/babysaffron-be unless named):

- WAPI `Controllers/Catalog/ProductController.cs` Create/Update (model.FromDto<Product>(), then
  Insert/UpdateProductAsync: nothing stamped), UpdateProductStoreMappings; CORE
  `ProductService.UpdateProductStoreMappingsAsync` (LimitedToStores set in memory only);
- WAPI `Controllers/Customers/CustomerController.cs` Create/Update/InsertCustomerAddress/
  RemoveCustomerAddress (the address 404 names the customer id); CORE `CustomerService`
  (Insert/RemoveCustomerAddressAsync, GetCustomerAddressAsync through the mapping);
- WAPI `Controllers/Customers/CustomerRoleController.cs`, `Controllers/Stores/Store{,Mapping}Controller.cs`;
- CORE `CustomerRegistrationService.RegisterCustomerAsync` and `SetEmailAsync`;
  `StoreMappingService.ApplyStoreMapping`; the installed CatalogSettings.IgnoreStoreLimitations = true;
- nopSolutions/nopCommerce admin `ProductController.Edit`: UpdatedOnUtc = now.
"""

from __future__ import annotations

from datetime import datetime

from bp_nop_dagster_tests.sandbox.test_nopcommerce_support import ADDRESS, Nop, nop  # noqa: F401

NOW = datetime(2030, 5, 1, 12, 0, 0)
UNSET = "0001-01-01T00:00:00"


def _at(nop: Nop, clock: list[datetime]) -> None:
    nop.world.nopcommerce.clock = lambda: clock[0]
    nop.token = nop.get_token()


# -- products --------------------------------------------------------------------------------------
def test_product_create_is_a_plain_insert(nop: Nop) -> None:
    """FIDELITY 'POST /Product/Create' (WAPI ProductController.cs Create: model.FromDto<Product>(), nothing
    stamped: 0001-01-01 when omitted, FIDELITY 'datetimes')."""
    created = nop.ok("POST", "/Product/Create", json={"name": "Mug", "sku": "MUG-1", "price": 7.5, "stock_quantity": 4,
                                                      "manage_inventory_method_id": 1, "published": True})
    assert created["id"] > 0 and created["created_on_utc"] == created["updated_on_utc"] == UNSET
    assert nop.ok("GET", f"/Product/GetById/{created['id']}") == created
    assert nop.ok("GET", "/Product/GetProductBySku", params={"sku": "MUG-1"})["id"] == created["id"]


def test_admin_edit_stamps_updated_on_the_api_update_does_not(nop: Nop) -> None:
    """FIDELITY 'admin product edits' (NOP Areas/Admin ProductController.cs Create/Edit stamp dates; WAPI
    Create/Update stamp nothing) and 'full-replace Update'."""
    clock = [NOW]
    _at(nop, clock)
    product = nop.product("AE-1", price=10)
    assert product["updated_on_utc"] == NOW.isoformat()  # admin Create stamps both dates
    clock[0] = datetime(2030, 5, 2)
    edited = nop.controlled("POST", f"/products/{product['id']}/admin-edit", {"changes": {"name": "Edited", "price": 11}})
    assert (edited["name"], edited["price"], edited["updated_on_utc"]) == ("Edited", 11.0, "2030-05-02T00:00:00")
    assert nop.control("POST", f"/products/{product['id']}/admin-edit", {"changes": {"colour": "red"}}).status_code == 400
    body = nop.ok("GET", f"/Product/GetById/{product['id']}")
    clock[0] = datetime(2030, 5, 3)
    assert nop.call("PUT", "/Product/Update", json={**body, "name": "Via API"}).status_code == 200
    assert nop.ok("GET", f"/Product/GetById/{product['id']}")["updated_on_utc"] == "2030-05-02T00:00:00"  # as sent
    partial = {k: v for k, v in body.items() if k != "updated_on_utc"}
    nop.call("PUT", "/Product/Update", json=partial)
    assert nop.ok("GET", f"/Product/GetById/{product['id']}")["updated_on_utc"] == UNSET  # full replace


def test_attribute_combination_create_and_update(nop: Nop) -> None:
    """FIDELITY 'POST /ProductAttributeCombination/Create', 'GET /ProductAttributeCombination/GetBySku', 'PUT
    /ProductAttributeCombination/Update' (WAPI ProductAttributeCombinationController.cs)."""
    product = nop.product("TEE", manage_inventory_method_id=2)
    created = nop.ok("POST", "/ProductAttributeCombination/Create", json={
        "product_id": product["id"], "sku": "TEE-XL", "attributes_xml": "<Attributes/>", "stock_quantity": 3})
    assert nop.ok("GET", "/ProductAttributeCombination/GetBySku", params={"sku": "TEE-XL"}) == created
    assert [c["id"] for c in nop.ok("GET", f"/ProductAttributeCombination/GetAll/{product['id']}")] == [created["id"]]
    nop.ok("PUT", "/ProductAttributeCombination/Update", json={**created, "stock_quantity": 8})
    assert nop.ok("GET", f"/ProductAttributeCombination/GetById/{created['id']}")["stock_quantity"] == 8


# -- stores ----------------------------------------------------------------------------------------
def test_second_store_orders_and_products(nop: Nop) -> None:
    """FIDELITY 'several stores' (CORE: orders carry store_id, Order/Search storeId; products limited_to_stores)
    and 'GET /Store/GetAll'."""
    assert [s["id"] for s in nop.ok("GET", "/Store/GetAll")] == [1]
    store = nop.controlled("POST", "/stores", {"name": "Outlet", "url": "https://outlet.test/"})
    assert [s["id"] for s in nop.ok("GET", "/Store/GetAll")] == [1, store["id"]]
    assert nop.ok("GET", f"/Store/GetById/{store['id']}") == store
    assert nop.get("/Store/GetById/9").json() == "Store Id=9 not found"
    nop.product("ST-1", price=5, stock_quantity=10)
    outlet_only = nop.product("ST-2", price=5, stock_quantity=10, store_ids=[store["id"]])
    assert outlet_only["limited_to_stores"] is True
    home = nop.order([("ST-1", 1)])
    outlet = nop.order([("ST-1", 1)], store_id=store["id"])
    assert outlet["store_id"] == store["id"]
    order_ids = lambda store_id: [o["id"] for o in nop.ok("GET", "/Order/Search", params={"storeId": store_id})["items"]]  # noqa: E731
    assert (order_ids(1), order_ids(store["id"]), sorted(order_ids(0))) == ([home["id"]], [outlet["id"]], sorted([home["id"], outlet["id"]]))
    mappings = nop.ok("GET", f"/StoreMapping/GetStoreMappings/{outlet_only['id']}", params={"entityTypeName": "Product"})
    assert [(m["entity_name"], m["store_id"]) for m in mappings] == [("Product", store["id"])]
    assert nop.ok("GET", f"/StoreMapping/GetStoresIdsWithAccess/{outlet_only['id']}", params={"entityTypeName": "Product"}) == [store["id"]]
    skus = lambda store_id: {p["sku"] for p in nop.ok("GET", "/Product/GetAll", params={"storeId": store_id})["items"]}  # noqa: E731
    assert skus(1) == {"ST-1", "ST-2"}  # IgnoreStoreLimitations is installed on: mappings filter nothing
    nop.controlled("PUT", "/settings", {"ignore_store_limitations": False})
    assert (skus(1), skus(store["id"]), skus(0)) == ({"ST-1"}, {"ST-1", "ST-2"}, {"ST-1", "ST-2"})


def test_update_product_store_mappings_saves_mappings_only(nop: Nop) -> None:
    """FIDELITY 'GET /Product/UpdateProductStoreMappings/{productId}/{storesIds}' (CORE
    ProductService.UpdateProductStoreMappingsAsync: LimitedToStores set in memory only, mappings saved)."""
    store = nop.controlled("POST", "/stores", {"name": "Outlet"})
    product = nop.product("SM-1", price=5)
    assert nop.call("GET", f"/Product/UpdateProductStoreMappings/{product['id']}/{store['id']};99").status_code == 200
    ids = lambda: nop.ok("GET", f"/StoreMapping/GetStoresIdsWithAccess/{product['id']}", params={"entityTypeName": "Product"})  # noqa: E731
    assert ids() == [store["id"]]  # unknown store 99 ignored
    assert nop.ok("GET", f"/Product/GetById/{product['id']}")["limited_to_stores"] is False  # set in memory, never saved
    nop.ok("GET", f"/Product/UpdateProductStoreMappings/{product['id']}/1")
    assert ids() == [1]
    assert nop.get(f"/Product/UpdateProductStoreMappings/999/1").json() == "Product Id=999 not found"
    mapping = nop.ok("POST", "/StoreMapping/Create", json={"entity_id": product["id"], "entity_name": "Product", "store_id": store["id"]})
    assert sorted(ids()) == [1, store["id"]]
    nop.ok("DELETE", f"/StoreMapping/Delete/{mapping['id']}")
    assert ids() == [1]
    assert nop.call("DELETE", f"/StoreMapping/Delete/{mapping['id']}").json() == f"Store mapping Id={mapping['id']} not found"


# -- customers -------------------------------------------------------------------------------------
def test_registration_converts_the_visitor_guest(nop: Nop) -> None:
    """FIDELITY 'registration' (CORE CustomerRegistrationService: the guest row is converted, role Registered
    (3) instead of Guests, CreatedOnUtc the first visit's) and 'GET
    /CustomerRole/GetCustomerRoleIds/{customerId}'."""
    clock = [NOW]
    _at(nop, clock)
    registered = nop.controlled("POST", "/customers/register", {"email": "ada@example.com", "first_name": "Ada", "last_name": "L",
                                                               "first_visit_on_utc": "2030-04-30T08:00:00"})
    assert (registered["email"], registered["username"], registered["created_on_utc"]) == (
        "ada@example.com", "ada@example.com", "2030-04-30T08:00:00")
    assert nop.ok("GET", f"/CustomerRole/GetCustomerRoleIds/{registered['id']}") == [3]
    guest = nop.controlled("POST", "/customers", {"email": None, "is_guest": True})
    registered_role = nop.ok("GET", "/CustomerRole/GetCustomerRoleBySystemName", params={"systemName": "Registered"})
    found = nop.ok("GET", "/Customer/GetAll", params={"customerRoleIds": registered_role["id"], "createdFromUtc": "2030-04-01T00:00:00"})
    assert [c["id"] for c in found["items"]] == [registered["id"]]
    assert guest["id"] not in [c["id"] for c in found["items"]]
    assert nop.control("POST", "/customers/register", {"email": "ADA@example.com"}).status_code == 400


def test_customer_edits_in_the_shop(nop: Nop) -> None:
    """FIDELITY 'customer edits in the shop' and 'customer email change in the shop' (CORE
    CustomerRegistrationService.SetEmailAsync: the username stays; the address edited in place)."""
    clock = [NOW]
    _at(nop, clock)
    customer = nop.controlled("POST", "/customers", {"email": "bo@example.com", "first_name": "Bo", "last_name": "B", **ADDRESS})
    clock[0] = datetime(2030, 5, 2)
    edited = nop.controlled("POST", f"/customers/{customer['id']}/edit", {
        "changes": {"email": "bo.new@example.com", "last_name": "Brown", "phone": "+44 20 7946 0000"},
        "address": {"address1": "2 Low Road", "city": "Leeds"}})
    new = edited["customer"]
    assert (new["email"], new["username"], new["last_name"], new["phone"]) == (
        "bo.new@example.com", "bo@example.com", "Brown", "+44 20 7946 0000")  # SetEmailAsync leaves Username
    assert new["last_activity_date_utc"] == "2030-05-02T00:00:00" and new["created_on_utc"] == customer["created_on_utc"]
    billing = nop.ok("GET", f"/Customer/GetCustomerBillingAddress/{customer['id']}")
    assert (billing["id"], billing["address1"], billing["city"]) == (customer["billing_address_id"], "2 Low Road", "Leeds")
    assert billing["created_on_utc"] == edited["address"]["created_on_utc"] == NOW.isoformat()


def test_customer_create_and_full_replace_update(nop: Nop) -> None:
    """FIDELITY 'POST /Customer/Create' and 'PUT /Customer/Update' (WAPI CustomerController.cs: a plain insert,
    no role, nothing stamped; Update a full replace) and 'full-replace Update'."""
    created = nop.ok("POST", "/Customer/Create", json={"email": "api@example.com", "active": True})
    assert created["created_on_utc"] == UNSET and created["customer_guid"] == "00000000-0000-0000-0000-000000000000"
    assert nop.ok("GET", f"/CustomerRole/GetCustomerRoleIds/{created['id']}") == []  # no role: a plain insert
    assert nop.call("PUT", "/Customer/Update", json={"id": created["id"], "first_name": "Api"}).status_code == 200
    stored = nop.ok("GET", f"/Customer/GetById/{created['id']}")
    assert (stored["first_name"], stored["email"], stored["active"]) == ("Api", None, False)  # omitted ones reset
    missing = nop.call("PUT", "/Customer/Update", json={"id": 999})
    assert missing.status_code == 404 and missing.json() == "Customer Id=999 is not found"


def test_customer_address_mapping(nop: Nop) -> None:
    """FIDELITY 'POST /Address/Create' and 'GET /Customer/InsertCustomerAddress/{customerId}/{addressId}' (WAPI
    CustomerController.cs)."""
    customer = nop.controlled("POST", "/customers", {"email": "cy@example.com", **ADDRESS})
    billing_id = customer["billing_address_id"]
    address = nop.ok("POST", "/Address/Create", json={"first_name": "Cy", "address1": "9 Side St", "city": "York", "country_id": 3})
    path = f"/Customer/InsertCustomerAddress/{customer['id']}/{address['id']}"
    nop.ok("GET", path)
    nop.ok("GET", path)  # inserted once only
    listed = lambda: [a["id"] for a in nop.ok("GET", f"/Customer/GetAddressesByCustomerId/{customer['id']}")]  # noqa: E731
    assert listed() == [billing_id, address["id"]]
    nop.ok("GET", f"/Customer/RemoveCustomerAddress/{customer['id']}/{billing_id}")
    assert listed() == [address["id"]]
    assert nop.ok("GET", f"/Customer/GetById/{customer['id']}")["billing_address_id"] == billing_id  # never saved
    assert nop.call("GET", f"/Customer/GetCustomerBillingAddress/{customer['id']}").status_code == 204  # not mapped any more
    unknown = nop.call("GET", f"/Customer/InsertCustomerAddress/{customer['id']}/999")
    assert unknown.status_code == 404 and unknown.json() == f"Address Id={customer['id']} not found"
    assert nop.call("GET", f"/Customer/RemoveCustomerAddress/0/{address['id']}").status_code == 400


def test_customer_roles(nop: Nop) -> None:
    """FIDELITY 'GET /CustomerRole/GetAll' (CORE CustomerService.GetAllCustomerRolesAsync: ordered by name) and
    'GET /CustomerRole/GetCustomerRoleBySystemName' (404 text)."""
    roles = nop.ok("GET", "/CustomerRole/GetAll")
    assert [r["system_name"] for r in roles] == ["Administrators", "ForumModerators", "Guests", "Registered", "Vendors"]  # by name
    missing = nop.get("/CustomerRole/GetCustomerRoleBySystemName", systemName="Nope")
    assert missing.status_code == 404 and missing.json() == "Customer system name = Nope not found"
    assert nop.get("/CustomerRole/GetCustomerRoleIds/999").json() == "Customer Id=999 not found"
