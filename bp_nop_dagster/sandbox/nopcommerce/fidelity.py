"""Fidelity table of the nopCommerce simulator: every API route it serves and every behaviour it
imitates, with the source each comes from (DESIGN principle 11; `sandbox/fidelity.py`).

Source shorthands used below (all vendored or public; repository and commit pinned):
- **WAPI**: the official Web API Backend plugin 4.70.1 source, `src/Plugins/Nop.Plugin.Misc.WebApi.
  {Backend,Framework}/` in babysaffron-cubix/babysaffron-be@119b0391 (as vendored in fdbb8727),
  extracted into the contract `bp_nop_dagster/contracts/nopcommerce/webapi-contract.json`;
  `WAPI Controllers/...` paths are relative to the Backend plugin;
- **CORE**: nopCommerce 4.70 core in the same repository (`src/Libraries/Nop.Services/...`);
- **TS**: manuel3108/nopcommerce-api `packages/backend`, a TypeScript client generated from the
  plugin's swagger (a second source for routes, parameter names and DTO shapes);
- **NOP**: nopSolutions/nopCommerce (payment plugins, admin and storefront controllers, installation data).
"""

from __future__ import annotations

from bp_nop_dagster.sandbox.fidelity import Fact

SYSTEM = "nopcommerce"
CONTRACT = "contract webapi-contract.json"


def _route(subject: str, behaviour: str, source: str) -> Fact:
    """An endpoint fact: the route exists in the plugin with this verb, template and parameters."""
    method, template = subject.split(" ", 1)
    return Fact(SYSTEM, subject, behaviour, f"{source}; {CONTRACT} action {method} api-backend{template}", "confirmed")


def _behaviour(subject: str, behaviour: str, source: str, confidence: str = "confirmed", configurable: str | None = None) -> Fact:
    return Fact(SYSTEM, subject, behaviour, source, confidence, configurable)


ORDER = "WAPI Controllers/Orders/OrderController.cs"
ORDER_ITEM = "WAPI Controllers/Orders/OrderItemController.cs"
ORDER_NOTE = "WAPI Controllers/Orders/OrderNoteController.cs"
PROCESSING = "WAPI Controllers/Orders/OrderProcessingController.cs"
RETURNS = "WAPI Controllers/Orders/ReturnRequestController.cs"
ADDRESS = "WAPI Controllers/Common/AddressController.cs"
CUSTOMER = "WAPI Controllers/Customers/CustomerController.cs"
COUNTRY = "WAPI Controllers/Directory/CountryController.cs"
STATE = "WAPI Controllers/Directory/StateProvinceController.cs (fdbb872)"
WAREHOUSE = "WAPI Controllers/Shipping/WarehouseController.cs"
PRODUCT = "WAPI Controllers/Catalog/ProductController.cs"
PWI = "WAPI Controllers/Catalog/ProductWarehouseController.cs"
COMBINATION = "WAPI Controllers/Catalog/ProductAttributeCombinationController.cs"
SHIPMENT = "WAPI Controllers/Shipping/ShipmentController.cs"
SHIPMENT_ITEM = "WAPI Controllers/Shipping/ShipmentItemController.cs"
REASONS = "WAPI Controllers/Orders/ReturnRequestReasonController.cs"
ACTIONS = "WAPI Controllers/Orders/ReturnRequestActionController.cs"
STORE = "WAPI Controllers/Stores/StoreController.cs"
STORE_MAPPING = "WAPI Controllers/Stores/StoreMappingController.cs"
ROLE = "WAPI Controllers/Customers/CustomerRoleController.cs"
PROCESSING_CORE = "CORE Nop.Services/Orders/OrderProcessingService.cs"
RETURNS_CORE = "CORE Nop.Services/Orders/ReturnRequestService.cs"
CUSTOMER_CORE = "CORE Nop.Services/Customers/CustomerService.cs"

ROUTES: list[Fact] = [
    _route("POST /Authenticate/GetToken", "JWT for {username,email,password} (email unless UsernamesEnabled); 401 JSON string "
           "\"Username or password is incorrect\"", "WAPI Controllers/AuthenticateController.cs; WAPI Framework Services/BaseAuthorizationService.cs"),
    # Order
    _route("GET /Order/GetById/{id}", "id <= 0: 400 empty; unknown: 404 \"Order Id={id} not found\"; soft-deleted orders returned, deleted:true",
           f"{ORDER} GetById; CORE OrderService.GetOrderByIdAsync (repository GetByIdAsync includes deleted)"),
    _route("GET /Order/GetByIds/{ids}", "';'-separated ids, non-integers skipped; soft-deleted and unknown orders left out; in the order asked",
           f"{ORDER} GetByIds; CORE OrderService.GetOrdersByIdsAsync: GetByIdsAsync(orderIds, includeDeleted: false); WAPI Helpers/StringExtensions.ToIdArray"),
    _route("GET /Order/GetByGuid", "[Required] Guid; 404 \"Order is not found\"", f"{ORDER} GetByGuid"),
    _route("GET /Order/GetByCustomOrderNumber", "[Required] customOrderNumber; 404 \"Order is not found\"", f"{ORDER} GetByCustomOrderNumber"),
    _route("GET /Order/GetByOrderItem/{orderItemId}", "id <= 0: 400; 404 \"Order is not found\"", f"{ORDER} GetByOrderItem"),
    _route("GET /Order/Search", "paged; deleted excluded; createdFromUtc <= CreatedOnUtc <= createdToUtc; CreatedOnUtc DESC; "
           "osIds/psIds/ssIds ';'-separated; getOnlyTotalCount honoured", f"{ORDER} Search; CORE OrderService.SearchOrdersAsync"),
    _route("POST /Order/Create", "raw insert of the mapped OrderDto: no totals, inventory, number or GUID", f"{ORDER} Create"),
    _route("PUT /Order/Update", "full replace (omitted properties reset); 200 empty; 404 \"Order is not found\"", f"{ORDER} Update"),
    _route("DELETE /Order/Delete/{id}", "soft delete, no restock", f"{ORDER} Delete; CORE OrderService.DeleteOrderAsync"),
    # OrderItem, OrderNote
    _route("GET /OrderItem/GetOrderItems/{orderId}", "orderId <= 0: 400; an unknown order has no items (200 []); isNotReturnable, "
           "isShipEnabled, vendorId filter by product", f"{ORDER_ITEM} GetOrderItems; CORE OrderService.GetOrderItemsAsync"),
    _route("GET /OrderItem/GetById/{id}", "404 \"Order item Id={id} not found\"", f"{ORDER_ITEM} GetById"),
    _route("GET /OrderNote/GetOrderNotesByOrderId/{orderId}", "orderId <= 0: 400; displayToCustomer filter; no 404", f"{ORDER_NOTE} GetOrderNotesByOrderId"),
    _route("GET /OrderNote/GetById/{id}", "404 \"Order note Id={id} not found\"", f"{ORDER_NOTE} GetById"),
    _route("POST /OrderNote/Create", "plain insert of the mapped OrderNoteDto (CreatedOnUtc as sent)", f"{ORDER_NOTE} Create"),
    _route("DELETE /OrderNote/Delete/{id}", "404 \"Order note Id={id} not found\"", f"{ORDER_NOTE} Delete"),
    # OrderProcessing
    _route("GET /OrderProcessing/Ship/{shipmentId}", "[Required] notifyCustomer; 404 \"Shipment Id={id} not found\"; ShipAsync; "
           "wrong state: 500", f"{PROCESSING} Ship; {PROCESSING_CORE} ShipAsync"),
    _route("GET /OrderProcessing/Deliver/{shipmentId}", "[Required] notifyCustomer; DeliverAsync; wrong state: 500",
           f"{PROCESSING} Deliver; {PROCESSING_CORE} DeliverAsync"),
    _route("GET /OrderProcessing/CancelOrder/{orderId}", "[Required] notifyCustomer; CancelOrderAsync; already cancelled: NopException 400",
           f"{PROCESSING} CancelOrder; {PROCESSING_CORE} CancelOrderAsync"),
    _route("GET /OrderProcessing/CanCancelOrder/{orderId}", "bool: not cancelled", f"{PROCESSING} CanCancelOrder; {PROCESSING_CORE} CanCancelOrder"),
    _route("GET /OrderProcessing/MarkOrderAsPaid/{orderId}", "MarkOrderAsPaidAsync; not allowed: NopException 400 \"You can't mark this order as paid\"",
           f"{PROCESSING} MarkOrderAsPaid; {PROCESSING_CORE} MarkOrderAsPaidAsync"),
    _route("GET /OrderProcessing/CanMarkOrderAsPaid/{orderId}", "bool: not cancelled and not paid, refunded or voided",
           f"{PROCESSING} CanMarkOrderAsPaid; {PROCESSING_CORE} CanMarkOrderAsPaid"),
    _route("GET /OrderProcessing/CanRefund/{orderId}", "bool: OrderTotal != 0, RefundedAmount == 0, Paid, the gateway supports refunds "
           "(cancelled orders not excluded)", f"{PROCESSING} CanRefund; {PROCESSING_CORE} CanRefundAsync"),
    _route("GET /OrderProcessing/Refund/{orderId}", "200 with the gateway's error strings ([] when refunded); a failed rule: NopException "
           "400 \"Cannot do refund for order.\"", f"{PROCESSING} Refund (return Ok(errors)); {PROCESSING_CORE} RefundAsync; "
           "TS services/OrderProcessingService.ts getRefund (Array<string>)"),
    _route("GET /OrderProcessing/CanRefundOffline/{orderId}", "bool: OrderTotal != 0, RefundedAmount == 0, Paid",
           f"{PROCESSING} CanRefundOffline; {PROCESSING_CORE} CanRefundOffline"),
    _route("GET /OrderProcessing/RefundOffline/{orderId}", "200 empty; a failed rule: NopException 400 \"You can't refund this order\"",
           f"{PROCESSING} RefundOffline (return Ok()); {PROCESSING_CORE} RefundOfflineAsync"),
    _route("GET /OrderProcessing/CanPartiallyRefund/{orderId}", "[Required] decimal amountToRefund; bool: OrderTotal != 0, 0 < "
           "OrderTotal - RefundedAmount >= amount (the amount's sign unchecked), Paid or PartiallyRefunded, the gateway supports "
           "partial refunds", f"{PROCESSING} CanPartiallyRefund; {PROCESSING_CORE} CanPartiallyRefundAsync"),
    _route("GET /OrderProcessing/PartiallyRefund/{orderId}", "[Required] amountToRefund; 200 with the gateway's error strings; a failed "
           "rule: NopException 400 \"Cannot do partial refund for order.\"", f"{PROCESSING} PartiallyRefund (return Ok(errors)); "
           f"{PROCESSING_CORE} PartiallyRefundAsync; TS services/OrderProcessingService.ts getPartiallyRefund (Array<string>)"),
    _route("GET /OrderProcessing/CanPartiallyRefundOffline/{orderId}", "[Required] amountToRefund; bool: as CanPartiallyRefund without "
           "the gateway", f"{PROCESSING} CanPartiallyRefundOffline; {PROCESSING_CORE} CanPartiallyRefundOffline"),
    _route("GET /OrderProcessing/PartiallyRefundOffline/{orderId}", "[Required] amountToRefund; 200 empty (declared bool); a failed "
           "rule: NopException 400 \"You can't partially refund (offline) this order\"",
           f"{PROCESSING} PartiallyRefundOffline (return Ok()); {PROCESSING_CORE} PartiallyRefundOfflineAsync"),
    # Address
    _route("GET /Address/GetById/{id}", "404 \"Address Id={id} not found\"", f"{ADDRESS} GetById"),
    _route("POST /Address/Create", "plain insert of the mapped AddressDto (CreatedOnUtc as sent)", f"{ADDRESS} Create"),
    _route("PUT /Address/Update", "full replace; 404 \"Address Id={id} is not found\"", f"{ADDRESS} Update"),
    _route("DELETE /Address/Delete/{id}", "404 \"Address Id={id} not found\"", f"{ADDRESS} Delete"),
    # Customer
    _route("GET /Customer/GetAll", "paged; deleted excluded; text filters as LIKE; CreatedOnUtc DESC; getOnlyTotalCount honoured",
           f"{CUSTOMER} GetAll; CORE CustomerService.GetAllCustomersAsync"),
    _route("GET /Customer/GetById/{id}", "404 \"Customer Id={id} not found\"; deleted customers returned", f"{CUSTOMER} GetById"),
    _route("GET /Customer/GetCustomersByIds/{ids}", "soft-deleted and unknown customers left out",
           f"{CUSTOMER} GetCustomersByIds; CORE CustomerService.GetCustomersByIdsAsync: GetByIdsAsync(customerIds, includeDeleted: false)"),
    _route("GET /Customer/GetCustomerByGuid", "[Required] Guid; 404 \"Customer guid={guid} not found\"", f"{CUSTOMER} GetCustomerByGuid"),
    _route("GET /Customer/GetCustomerByEmail", "[Required] email; first by id, deleted included, case-insensitive; 404 \"Customer email={email} not found\"",
           f"{CUSTOMER} GetCustomerByEmail; CORE CustomerService.GetCustomerByEmailAsync"),
    _route("GET /Customer/GetAddressesByCustomerId/{customerId}", "the customer's addresses; unknown customer: 200 []", f"{CUSTOMER} GetAddressesByCustomerId"),
    _route("GET /Customer/GetCustomerBillingAddress/{customerId}", "404 for an unknown customer; the address only while mapped to "
           "the customer, else Ok(null)", f"{CUSTOMER} GetCustomerBillingAddress; {CUSTOMER_CORE} GetCustomerBillingAddressAsync "
           "(GetCustomerAddressAsync joins CustomerAddressMapping)"),
    _route("GET /Customer/GetCustomerShippingAddress/{customerId}", "as the billing address", f"{CUSTOMER} GetCustomerShippingAddress"),
    _route("POST /Customer/Create", "plain insert of the mapped CustomerDto: no role, password, GUID or date", f"{CUSTOMER} Create; "
           f"{CUSTOMER_CORE} InsertCustomerAsync"),
    _route("PUT /Customer/Update", "full replace (omitted properties reset; roles, password and address mappings untouched); 404 "
           "\"Customer Id={id} is not found\"", f"{CUSTOMER} Update; {CUSTOMER_CORE} UpdateCustomerAsync"),
    _route("GET /Customer/InsertCustomerAddress/{customerId}/{addressId}", "either id <= 0: 400; 404 \"Customer Id={customerId} not "
           "found\", an unknown address 404 \"Address Id={customerId} not found\" (the customer id, sic); the mapping unless it exists",
           f"{CUSTOMER} InsertCustomerAddress; {CUSTOMER_CORE} InsertCustomerAddressAsync"),
    _route("GET /Customer/RemoveCustomerAddress/{customerId}/{addressId}", "as InsertCustomerAddress; the mapping deleted, the "
           "customer's billing/shipping address ids kept (cleared in memory only, never saved)",
           f"{CUSTOMER} RemoveCustomerAddress; {CUSTOMER_CORE} RemoveCustomerAddressAsync"),
    # CustomerRole
    _route("GET /CustomerRole/GetAll", "showHidden (default false: active roles only); ordered by name; a plain array (declared paged)",
           f"{ROLE} GetAll; {CUSTOMER_CORE} GetAllCustomerRolesAsync"),
    _route("GET /CustomerRole/GetCustomerRoleBySystemName", "[Required] systemName; 404 \"Customer system name = {systemName} not found\"",
           f"{ROLE} GetCustomerRoleBySystemName; {CUSTOMER_CORE} GetCustomerRoleBySystemNameAsync"),
    _route("GET /CustomerRole/GetCustomerRoleIds/{customerId}", "customerId <= 0: 400; 404 \"Customer Id={id} not found\"; the "
           "customer's role ids (active ones unless showHidden)", f"{ROLE} GetCustomerRoleIds; {CUSTOMER_CORE} GetCustomerRoleIdsAsync"),
    # Country, Warehouse
    _route("GET /Country/GetAllCountries", "published unless showHidden; DisplayOrder then Name; a plain array",
           f"{COUNTRY} GetAllCountries; CORE CountryService.GetAllCountriesAsync; TS services/CountryService.ts getGetAllCountries"),
    _route("GET /Country/GetAllCountriesForBilling", "GetAllCountries filtered by allows_billing", f"{COUNTRY} GetAllCountriesForBilling"),
    _route("GET /Country/GetAllCountriesForShipping", "GetAllCountries filtered by allows_shipping", f"{COUNTRY} GetAllCountriesForShipping"),
    _route("GET /Country/GetById/{id}", "404 \"Country Id={id} not found\"", f"{COUNTRY} GetById"),
    _route("GET /StateProvince/GetById/{id}", "StateProvinceDto (id, country_id, name, abbreviation, published, display_order); "
           "id <= 0 -> 400; 404 \"State province Id={id} not found\"", f"{STATE} GetById; Dto/Directory/StateProvinceDto.cs"),
    _route("GET /StateProvince/GetStateProvincesByCountryId/{countryId}",
           "the country's states, published unless showHidden, DisplayOrder then Name; a plain array (languageId only sorts)",
           f"{STATE} GetStateProvincesByCountryId; CORE StateProvinceService.GetStateProvincesByCountryIdAsync"),
    _behaviour("seeded states/provinces", "the 50 US states and DC (USPS abbreviations) and Canada's 13 provinces and territories "
               "(Canada Post abbreviations), ids in that order; no states for the other seeded countries",
               "inferred: nopCommerce's installation seeds US and Canadian states, its exact list and ids not read", "inferred",
               "seed data only: callers find a state through GetStateProvincesByCountryId by abbreviation, never by a fixed id"),
    _route("GET /Country/GetCountriesByIds/{ids}", "';'-separated ids, in the order asked", f"{COUNTRY} GetCountriesByIds"),
    _route("GET /Country/GetCountryByTwoLetterIsoCode", "[Required]; 404 \"Country two letter ISO code={code} not found\"",
           f"{COUNTRY} GetCountryByTwoLetterIsoCode"),
    _route("GET /Country/GetCountryByThreeLetterIsoCode", "[Required]; 404 \"Country three letter ISO code={code} not found\"",
           f"{COUNTRY} GetCountryByThreeLetterIsoCode"),
    _route("GET /Warehouse/GetAll", "optional name filter; a plain array", f"{WAREHOUSE} GetAll"),
    _route("GET /Warehouse/GetById/{id}", "404 \"Warehouse Id={id} not found\"", f"{WAREHOUSE} GetById"),
    # Product
    _route("GET /Product/GetAll", "paged; deleted excluded; unpublished only with showHidden or overridePublished; categoryIds and "
           "manufacturerIds as repeated keys; getOnlyTotalCount NOT declared (ignored)", f"{PRODUCT} GetAll; CORE ProductService.SearchProductsAsync"),
    _route("GET /Product/GetById/{id}", "404 \"Product Id={id} not found\"; deleted products returned", f"{PRODUCT} GetById"),
    _route("GET /Product/GetProductsByIds/{ids}", "soft-deleted and unknown products left out",
           f"{PRODUCT} GetProductsByIds; CORE ProductService.GetProductsByIdsAsync: GetByIdsAsync(productIds, ..., false)"),
    _route("GET /Product/GetProductBySku", "[Required] sku; 404 \"Product sku={sku} not found\"", f"{PRODUCT} GetProductBySku; CORE ProductService.GetProductBySkuAsync"),
    _route("GET /Product/GetProductsBySku", "[Required] skuArray split on ';'; deleted excluded", f"{PRODUCT} GetProductsBySku"),
    _route("POST /Product/Create", "plain insert of all ProductDto properties: CreatedOnUtc and UpdatedOnUtc as sent (0001-01-01 "
           "when omitted), no store mapping", f"{PRODUCT} Create (model.FromDto<Product>(), InsertProductAsync)"),
    _route("PUT /Product/Update", "full replace of all ProductDto properties (nothing stamped, UpdatedOnUtc as sent); 404 \"Product "
           "Id={id} is not found\"", f"{PRODUCT} Update (model.FromDto<Product>())"),
    _route("GET /Product/UpdateProductStoreMappings/{productId}/{storesIds}", "productId <= 0: 400; 404 \"Product Id={id} not found\"; "
           "';'-separated store ids: a mapping for each existing store listed, none for the others, unknown ids ignored; "
           "limited_to_stores NOT saved", f"{PRODUCT} UpdateProductStoreMappings; CORE Nop.Services/Catalog/ProductService.cs "
           "UpdateProductStoreMappingsAsync (sets LimitedToStores in memory, saves only mappings)"),
    _route("DELETE /Product/Delete/{id}", "soft delete", f"{PRODUCT} Delete"),
    _route("POST /Product/AdjustInventory/{productId}", "[Required] quantityToChange; body a JSON string attributesXml (default \"\"); "
           "AdjustInventoryAsync; 404 \"Product Id={id} is not found\"", f"{PRODUCT} AdjustInventory; CORE ProductService.AdjustInventoryAsync"),
    _route("GET /Product/GetTotalStockQuantity/{productId}", "GetTotalStockQuantityAsync(useReservedQuantity, warehouseId)",
           f"{PRODUCT} GetTotalStockQuantity"),
    _route("GET /Product/GetStockQuantityHistory/{productId}", "paged, newest first; 404 \"Product Id={id} is not found\"",
           f"{PRODUCT} GetStockQuantityHistory"),
    # ProductWarehouse, ProductAttributeCombination
    _route("GET /ProductWarehouse/GetAllProductWarehouseInventoryRecords/{productId}", "a plain array; no 400/404",
           f"{PWI} GetAllProductWarehouseInventoryRecords"),
    _route("GET /ProductWarehouse/GetById/{id}", "404 \"Product warehouse inventory Id={id} not found\"", f"{PWI} GetById"),
    _route("POST /ProductWarehouse/Create", "plain insert of the mapped DTO", f"{PWI} Create"),
    _route("PUT /ProductWarehouse/Update", "full replace; 404 \"Product warehouse inventory Id={id} is not found\"", f"{PWI} Update"),
    _route("DELETE /ProductWarehouse/Delete/{id}", "404 \"Product warehouse inventory Id={id} not found\"", f"{PWI} Delete"),
    _route("GET /ProductAttributeCombination/GetAll/{productId}", "a plain array; no 400/404", f"{COMBINATION} GetAll"),
    _route("GET /ProductAttributeCombination/GetBySku", "[Required] sku; 404 \"Product attribute combination sku={sku} not found\"",
           f"{COMBINATION} GetBySku"),
    _route("GET /ProductAttributeCombination/GetById/{id}", "404 \"Product attribute combination Id={id} not found\"", f"{COMBINATION} GetById"),
    _route("POST /ProductAttributeCombination/Create", "plain insert of the mapped DTO (no SKU uniqueness check)",
           f"{COMBINATION} Create"),
    _route("PUT /ProductAttributeCombination/Update", "full replace; 404 \"Product attribute combination Id={id} is not found\"",
           f"{COMBINATION} Update"),
    # Shipment, ShipmentItem
    _route("GET /Shipment/GetAll", "paged; shipments of deleted orders left out; CreatedOnUtc DESC; getOnlyTotalCount NOT declared",
           f"{SHIPMENT} GetAll; CORE ShipmentService.GetAllShipmentsAsync"),
    _route("GET /Shipment/GetById/{id}", "404 \"Shipment Id={id} not found\"", f"{SHIPMENT} GetById"),
    _route("GET /Shipment/GetByIds/{ids}", "';'-separated, non-integers skipped", f"{SHIPMENT} GetByIds"),
    _route("GET /Shipment/GetByOrderId/{orderId}", "shipped/readyForPickup/vendorId filters; no 400/404", f"{SHIPMENT} GetByOrderId"),
    _route("POST /Shipment/Create", "plain insert: CreatedOnUtc as sent (0001-01-01 when omitted)", f"{SHIPMENT} Create; CORE ShipmentService.InsertShipmentAsync"),
    _route("PUT /Shipment/Update", "full replace; 404 \"Shipment is not found\"", f"{SHIPMENT} Update"),
    _route("DELETE /Shipment/Delete/{id}", "the shipment and its items", f"{SHIPMENT} Delete"),
    _route("GET /ShipmentItem/GetByShipmentId/{id}", "path parameter named id; id <= 0: 400", f"{SHIPMENT_ITEM} GetByShipmentId"),
    _route("GET /ShipmentItem/GetById/{id}", "404 \"Shipment item Id={id} not found\"", f"{SHIPMENT_ITEM} GetById"),
    _route("POST /ShipmentItem/Create", "plain insert: no quantity check", f"{SHIPMENT_ITEM} Create; CORE ShipmentService.InsertShipmentItemAsync"),
    _route("PUT /ShipmentItem/Update", "full replace, no quantity check; 404 \"Shipment item is not found\"", f"{SHIPMENT_ITEM} Update"),
    _route("DELETE /ShipmentItem/Delete/{id}", "404 \"Shipment item Id={id} not found\"", f"{SHIPMENT_ITEM} Delete"),
    # ReturnRequest
    _route("GET /ReturnRequest/Search", "paged; storeId/customerId/orderItemId filter when > 0; customNumber equal; rs a "
           "ReturnRequestStatus name or value; createdFromUtc <= CreatedOnUtc <= createdToUtc; CreatedOnUtc DESC then Id DESC; no "
           "UpdatedOnUtc filter; getOnlyTotalCount honoured", f"{RETURNS} Search; {RETURNS_CORE} SearchReturnRequestsAsync"),
    _route("GET /ReturnRequest/GetById/{id}", "404 \"Return request Id={id} not found\"", f"{RETURNS} GetById"),
    _route("POST /ReturnRequest/Create", "plain insert of the mapped DTO (no number or date assigned)", f"{RETURNS} Create"),
    _route("PUT /ReturnRequest/Update", "raw full replace: no restock, no e-mail, UpdatedOnUtc as sent; 404 \"Return request is not "
           "found\"", f"{RETURNS} Update (model.FromDto<ReturnRequest>()); {RETURNS_CORE} UpdateReturnRequestAsync"),
    _route("DELETE /ReturnRequest/Delete/{id}", "404 \"Return request Id={id} not found\"", f"{RETURNS} Delete"),
    _route("GET /ReturnRequestReason/GetAll", "a plain array by DisplayOrder then Id", f"{REASONS} GetAll; {RETURNS_CORE} "
           "GetAllReturnRequestReasonsAsync"),
    _route("GET /ReturnRequestReason/GetById/{id}", "404 \"Return request reason Id={id} not found\"", f"{REASONS} GetById"),
    _route("GET /ReturnRequestAction/GetAll", "a plain array by DisplayOrder then Id", f"{ACTIONS} GetAll; {RETURNS_CORE} "
           "GetAllReturnRequestActionsAsync"),
    _route("GET /ReturnRequestAction/GetById/{id}", "404 \"Return request action Id={id} not found\"", f"{ACTIONS} GetById"),
    # Store, StoreMapping
    _route("GET /Store/GetAll", "a plain array; deleted stores left out; DisplayOrder then Id", f"{STORE} GetAll; CORE "
           "Nop.Services/Stores/StoreService.cs GetAllStoresAsync"),
    _route("GET /Store/GetById/{id}", "404 \"Store Id={id} not found\"; deleted stores returned", f"{STORE} GetById"),
    _route("GET /StoreMapping/GetStoreMappings/{entityId}", "[Required] entityTypeName (\"Product\", ...); the entity's mappings; no "
           "400/404", f"{STORE_MAPPING} GetStoreMappings; TS services/StoreMappingService.ts getGetStoreMappings"),
    _route("GET /StoreMapping/GetStoresIdsWithAccess/{entityId}", "[Required] entityTypeName; the store ids of the entity's mappings "
           "(a plain int array)", f"{STORE_MAPPING} GetStoresIdsWithAccess; TS services/StoreMappingService.ts getGetStoresIdsWithAccess"),
    _route("POST /StoreMapping/Create", "plain insert of the mapped StoreMappingDto (nothing checked)", f"{STORE_MAPPING} Create"),
    _route("DELETE /StoreMapping/Delete/{id}", "404 \"Store mapping Id={id} not found\"", f"{STORE_MAPPING} Delete"),
]

BEHAVIOURS: list[Fact] = [
    _behaviour("source of the routes", "every route is an action of the official Web API Backend plugin 4.70.1 with the same verb, "
               "template and parameter names; nothing beyond it is served (unknown routes 404, other verbs 405, empty bodies)",
               f"{CONTRACT} (babysaffron-cubix/babysaffron-be@119b0391, src/Plugins/Nop.Plugin.Misc.WebApi.Backend); "
               "test bp_nop_dagster_tests/contracts/test_nopcommerce_contract.py"),
    _behaviour("route casing", "routes match case-insensitively", f"{CONTRACT} notes (ASP.NET routing)"),
    _behaviour("JWT auth", "Authorization: the last space-separated part is the token (Bearer or bare); HS256, claims CustomerId, "
               "nameid, nbf, exp; lifetime 7 days; ClockSkew 0; no refresh token",
               "WAPI Framework Middleware/JwtMiddleware.cs, WebApiCommonDefaults.cs (TokenLifeTime); notes §1a"),
    _behaviour("401 body", "missing/invalid/expired token: 401 {\"message\":\"Unauthorized\"}", "WAPI Framework Helpers/AuthorizeAttribute.cs"),
    _behaviour("403 body", "a customer without \"Access Web API Backend\": 403 {\"message\":\"Access denied.\"}",
               "WAPI Helpers/CheckAccessWebApiAttribute.cs; Controllers/BaseNopWebApiBackendController.cs [CheckAccessWebApi]"),
    _behaviour("snake_case JSON", "DTOs are snake_case both ways, with every property present (null ones too)",
               f"WAPI Framework Dto/BaseDto.cs (SnakeCaseNamingStrategy); {CONTRACT} notes (NullValueHandling.Include)"),
    _behaviour("DTO shapes", "each DTO has exactly the plugin's properties (ProductDto 104, no picture_id on "
               "ProductAttributeCombinationDto, CountryDto allows_billing/allows_shipping/limited_to_stores)",
               f"{CONTRACT} dtos (WAPI Dto/*.cs); TS models/*.ts"),
    _behaviour("datetimes", "naive UTC ISO 8601 without Z; 0001-01-01T00:00:00 for an unset non-nullable DateTime",
               "notes §7.4 (Newtonsoft default DateTime handling)"),
    _behaviour("0-based paging", "PagedListDto {page_index, page_size, total_count, total_pages, has_previous_page, has_next_page, items}; "
               "pageSize defaults to int.MaxValue and is clamped to >= 1; getOnlyTotalCount only where the action declares it",
               "WAPI Framework Dto/PagedListDto.cs; CORE Nop.Core/PagedList.cs; contract action params"),
    _behaviour("model binding", "after the auth filters and before the action: missing [Required] parameter, unconvertible value, "
               "empty value for a non-nullable type, undefined enum value, empty or malformed body -> one ProblemDetails 400; "
               "undeclared query parameters are ignored; query names match case-insensitively",
               "WAPI Framework Controllers/BaseNopWebApiController.cs [ApiController]; contract action params "
               "(e.g. Ship/Deliver/CancelOrder [FromQuery][Required] bool notifyCustomer)"),
    _behaviour("ProblemDetails shape", "{type, title \"One or more validation errors occurred.\", status 400, errors, traceId}",
               "ASP.NET Core [ApiController] ValidationProblemDetails; notes §6 (exact shape UNCONFIRMED)", "inferred",
               "not configurable; the clients read only the status code and the `errors` keys, never the exact shape"),
    _behaviour("id <= 0", "the action answers 400 with no body", "WAPI controllers: `if (id <= 0) return BadRequest();`"),
    _behaviour("404 body", "a JSON string naming what is missing, worded per action (\"Order Id=5 not found\", \"Order is not found\", ...)",
               "WAPI controllers: `return NotFound($\"...\")`"),
    _behaviour("exception bodies", "NopException 400, KeyNotFoundException 404, any other exception 500, as "
               "{message, inner_exception_message, stack_trace:\"\"} (developer mode off)",
               "WAPI Framework Middleware/ErrorHandlerMiddleware.cs (smazzin/nopCommerce, uskudaristanbul/nopCommerce copies)"),
    _behaviour("null DTO result", "an action returning Ok(null) answers 204 with no body", "ASP.NET Core HttpNoContentOutputFormatter "
               "(TreatNullValueAsNoContent)", "inferred", "not configurable; only Customer/GetCustomer{Billing,Shipping}Address reach it and "
               "no client reads them"),
    _behaviour("full-replace Update", "Update maps the body onto a new entity: omitted properties are reset to C# defaults",
               "WAPI controllers Update: `model.FromDto<T>()` then Update*Async; notes §7.2"),
    _behaviour("plain inserts", "Create maps the body onto a new entity and inserts it: no date, number or GUID stamped, no "
               "quantity or existence check (Shipment/Create, ShipmentItem/Create, OrderNote/Create, Address/Create, ...)",
               "WAPI controllers Create: `model.FromDto<T>()` then Insert*Async; CORE ShipmentService.InsertShipment[Item]Async"),
    _behaviour("foreign keys", "Shipment.OrderId references Order and ShipmentItem.ShipmentId references Shipment: an insert with "
               "a dangling id fails in the database (500); ShipmentItem.OrderItemId has no foreign key",
               "CORE Nop.Data/Mapping/Builders/Shipping/ShipmentBuilder.cs, ShipmentItemBuilder.cs"),
    _behaviour("soft deletes", "Order, Product and Customer deletes set deleted:true; GetById returns them; GetByIds, searches and "
               "lists leave them out", "CORE Nop.Data EntityRepository (GetByIdAsync includes deleted; GetByIdsAsync includeDeleted: "
               "false in OrderService/ProductService/CustomerService); notes §7.1"),
    _behaviour("500 on wrong-state Ship", "Ship of a shipped shipment: 500 \"This shipment is already shipped\" (a plain "
               "Exception); Deliver of an unshipped one: 500 \"This shipment is not shipped yet\"; of a delivered one: 500 "
               "\"This shipment is already delivered\"", f"{PROCESSING_CORE} ShipAsync/DeliverAsync + ErrorHandlerMiddleware"),
    _behaviour("Ship/Deliver effects", "shipped/delivered date; multi-warehouse stock booked on Ship; order shipping status "
               "PartiallyShipped while items remain to add or ship, else Shipped; Delivered when nothing remains to add, ship "
               "or deliver; note \"Shipment# {id} has been sent|delivered\"; with notifyCustomer a queued-email note; "
               "CheckOrderStatus", f"{PROCESSING_CORE} ShipAsync/DeliverAsync; CORE OrderService.HasItemsTo*Async"),
    _behaviour("CancelOrder effects", "status Cancelled; shipped multi-warehouse stock reversed; every item restocked via "
               "AdjustInventory", f"{PROCESSING_CORE} CancelOrderAsync"),
    _behaviour("order status", "Pending -> Processing when authorized/paid or (partly) shipped; Complete when paid and delivered "
               "(or no shipping required)", f"{PROCESSING_CORE} CheckOrderStatusAsync (CompleteOrderWhenDelivered = true)"),
    _behaviour("inventory", "AdjustInventory by manage_inventory_method_id: product stock, per-combination stock, or "
               "multi-warehouse reserve/unblock; stock history written; low-stock activity applied",
               "CORE Nop.Services/Catalog/ProductService.cs AdjustInventoryAsync; notes §7.3"),
    _behaviour("checkout totals", "sandbox checkout (control API): unit prices rounded half-even to 2dp, tax_rates \"rate:amount;   \"",
               "CORE OrderTotalCalculationService, OrderProcessingService (TaxRates format); notes §2"),
    _behaviour("refund effects", "a refund only raises refunded_amount (stored at the database's 4 decimals), sets the payment "
               "status and adds a note, then CheckOrderStatus: never the order status, stock or return requests; full: the gateway's "
               "status (Refunded), offline Refunded; partial: PartiallyRefunded, Refunded once refunded_amount reaches the order "
               "total; refunded_amount is in the primary store currency", f"{PROCESSING_CORE} RefundAsync, RefundOfflineAsync, "
               "PartiallyRefundAsync, PartiallyRefundOfflineAsync"),
    _behaviour("refund notes", "\"Order has been refunded. Amount = X\", \"Order has been marked as refunded. Amount = X\", \"Order "
               "has been partially refunded. Amount = X\", \"Order has been marked as partially refunded. Amount = X\"; a gateway "
               "refusal: \"Unable to (partially) refund order. Error 0: a. Error 1: b\"; with the OrderRefunded templates active "
               "(ShopSettings.order_refunded_notifications; installed inactive) two queued-email notes", f"{PROCESSING_CORE} "
               "RefundAsync ff.; CORE Nop.Services/Installation InstallMessageTemplatesAsync (ORDER_REFUNDED_* IsActive = false)"),
    _behaviour("refund amount text in notes", "X is the amount as C# prints a decimal: the full refund's OrderTotal at the database "
               "scale (105.0000), a partial refund's amount as sent (10.5)", "CORE OrderProcessingService string interpolation of "
               "a decimal (culture and scale not observed on a live shop)", "inferred",
               "not configurable; the clients read refunded_amount and payment_status_id, never the note's text"),
    _behaviour("payment gateways", "per payment_method_system_name: Manual and CheckMoneyOrder support no online refund, "
               "PayPalCommerce supports full and partial ones; a method no plugin provides supports none; a refusing gateway's "
               "error strings come back in the Refund/PartiallyRefund reply (PUT /__sandbox__/payment-gateways)",
               "NOP src/Plugins/Nop.Plugin.Payments.Manual/ManualPaymentProcessor.cs (SupportRefund false, \"Refund method not "
               "supported\"); NOP src/Plugins/Nop.Plugin.Payments.PayPalCommerce/PayPalCommercePaymentMethod.cs RefundAsync "
               "(errors or NewPaymentStatus PartiallyRefunded|Refunded)"),
    _behaviour("other payment plugins", "PurchaseOrder, CashOnDelivery and PayPalStandard (in the seeded history) are modelled "
               "without online refunds", "no plugin source read for them", "inferred",
               "PUT /__sandbox__/payment-gateways {system_name, supports_refund, supports_partial_refund}; the clients ask CanRefund/"
               "CanPartiallyRefund, never assume a method's support"),
    _behaviour("return request lifecycle", "storefront: Pending, dated now (created = updated), CustomNumber = id, the order's store; "
               "only for a Complete, not deleted order created fewer than NumberOfDaysReturnRequestAvailable (365) days ago, a "
               "returnable product, up to the item quantity minus every request not Cancelled; admin Edit: UpdatedOnUtc = now, a "
               "raised ReturnedQuantity restocks via AdjustInventory (never lowered); statuses are informational",
               f"{PROCESSING_CORE} IsReturnRequestAllowedAsync; {RETURNS_CORE} GetReturnRequestAvailabilityAsync; CORE "
               "InstallationService OrderSettings (ReturnRequestsEnabled true, 365 days); notes returns-refunds §4 (admin Edit, PR #5919)"),
    _behaviour("return request reasons and actions", "installed: Received Wrong Product, Wrong Product Ordered, There Was A Problem With "
               "The Product / Repair, Replacement, Store Credit; the storefront copies the chosen name as text into reason_for_return "
               "and requested_action", "CORE OrderSettings defaults (ReturnRequestReasons, ReturnRequestActions)"),
    _behaviour("restock message of a returned quantity", "the stock history message of the admin's restock", "admin ReturnRequestController.Edit "
               "uses resource Admin.StockQuantityHistory.Messages.ReturnRequest (its text not read)", "inferred",
               "not configurable; nothing reads stock history messages"),
    _behaviour("registration", "a visitor is a guest customer from the first request (CreatedOnUtc then); registering converts that "
               "row: email, username (the email while usernames are off), password, role Registered instead of Guests, names and "
               "phone; registered_in_store_id is the store visited; CreatedOnUtc stays the first visit's",
               "CORE Nop.Services/Customers/CustomerRegistrationService.cs RegisterCustomerAsync"),
    _behaviour("customer email change in the shop", "a new email goes through SetEmailAsync: Email only, the Username keeps the "
               "old value; customers have no UpdatedOnUtc", "CORE Nop.Services/Customers/CustomerRegistrationService.cs SetEmailAsync; "
               "CORE Nop.Core/Domain/Customers/Customer.cs (notes §2)"),
    _behaviour("customer edits in the shop", "My account saves names, phone and company on the customer row and an address edit "
               "updates the address in place (CreatedOnUtc kept); LastActivityDateUtc moves only on the customer's GET pages (the "
               "form before the edit), and only once it is older than CustomerSettings.LastActivityMinutes (15 as installed), so an "
               "edit is dated at most 15 minutes after it; customers have no UpdatedOnUtc",
               "NOP Nop.Web.Framework/Mvc/Filters/SaveLastActivityAttribute.cs (only GET requests; "
               "LastActivityDateUtc.AddMinutes(LastActivityMinutes) < UtcNow); CORE InstallationService CustomerSettings "
               "(LastActivityMinutes = 15); Nop.Web CustomerController Info/AddressEdit"),
    _behaviour("back-order and pre-order settings", "ProductDto carries backorder_mode_id (BackorderMode: 0 NoBackorders, 1 "
               "AllowQtyBelow0, 2 AllowQtyBelow0AndNotifyCustomer), available_for_pre_order and "
               "pre_order_availability_start_date_time_utc; Product/Update stores them as sent, with every other property",
               f"{CONTRACT} (ProductDto); CORE Nop.Core/Domain/Catalog/BackorderMode.cs; {PRODUCT} Update"),
    _behaviour("admin product edits", "the admin's product Create stamps CreatedOnUtc and UpdatedOnUtc, its Edit UpdatedOnUtc = now; "
               "the API's Create/Update stamp nothing", "NOP Nop.Web Areas/Admin/Controllers/ProductController.cs Create/Edit; "
               f"{PRODUCT} Create/Update"),
    _behaviour("several stores", "orders carry store_id (Order/Search storeId filters it), customers registered_in_store_id, return "
               "requests the order's store; products limited_to_stores plus StoreMapping rows, which Product/GetAll storeId honours "
               "only while CatalogSettings.IgnoreStoreLimitations is off (installed on: ShopSettings.ignore_store_limitations)",
               "CORE Nop.Services/Stores/StoreMappingService.cs ApplyStoreMapping; CORE InstallationService CatalogSettings "
               "(IgnoreStoreLimitations = true); CORE OrderService.SearchOrdersAsync"),
    _behaviour("text comparisons", "SKU, email and ISO-code lookups and LIKE filters are case-insensitive",
               "SQL Server default collation (CI_AS) under nopCommerce", "inferred",
               "not configurable; the clients send SKUs and emails as nopCommerce stores them, so nothing depends on it"),
    _behaviour("rate limits", "none: the plugin has no throttling (429 only from injected faults)", "notes §6 (no limiter in WAPI or CORE)"),
]

FACTS: list[Fact] = ROUTES + BEHAVIOURS
