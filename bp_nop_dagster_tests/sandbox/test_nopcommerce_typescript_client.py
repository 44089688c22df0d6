"""Requests exactly as manuel3108/nopcommerce-api `packages/backend` (a TypeScript client generated
from the plugin's swagger) sends them, against the simulator: paths and casing, query names, JS
booleans ("true"/"false"), the generated defaults, and bodies as `application/json-patch+json`.
Each request below cites the generated service method it copies."""

from __future__ import annotations

import json

from bp_nop_dagster_tests.sandbox.test_nopcommerce_support import Nop, nop  # noqa: F401

PATCH_JSON = {"Content-Type": "application/json-patch+json"}

# packages/backend/models/CountryDto.ts: the properties the generated type declares
TS_COUNTRY_DTO = {"name", "allows_billing", "allows_shipping", "two_letter_iso_code", "three_letter_iso_code", "numeric_iso_code",
                  "subject_to_vat", "published", "display_order", "limited_to_stores", "id"}


def test_country_service(nop: Nop) -> None:
    # CountryService.getGetAllCountries(languageId?: undefined, showHidden = false)
    countries = nop.ok("GET", "/Country/GetAllCountries", params={"showHidden": "false"})
    assert countries and all(set(c) == TS_COUNTRY_DTO for c in countries)
    # CountryService.getGetCountryByTwoLetterIsoCode / getGetCountryByThreeLetterIsoCode / getGetCountriesByIds / getGetById
    assert nop.ok("GET", "/Country/GetCountryByTwoLetterIsoCode", params={"twoLetterIsoCode": "GB"})["three_letter_iso_code"] == "GBR"
    assert nop.ok("GET", "/Country/GetCountryByThreeLetterIsoCode", params={"threeLetterIsoCode": "GBR"})["id"] == 3
    assert [c["id"] for c in nop.ok("GET", "/Country/GetCountriesByIds/3;4")] == [3, 4]
    assert set(nop.ok("GET", "/Country/GetById/3")) == TS_COUNTRY_DTO


def test_shipment_service_and_order_processing(nop: Nop) -> None:
    nop.product("TS-1", price=10, stock_quantity=10)
    order = nop.order([("TS-1", 2)])
    item = nop.ok("GET", f"/OrderItem/GetOrderItems/{order['id']}")[0]
    # ShipmentService.postCreate(requestBody) and ShipmentItemService: mediaType 'application/json-patch+json'
    shipment = nop.ok("POST", "/Shipment/Create", data=json.dumps({"order_id": order["id"], "tracking_number": "TS"}), headers=PATCH_JSON)
    nop.ok("POST", "/ShipmentItem/Create", data=json.dumps({"shipment_id": shipment["id"], "order_item_id": item["id"], "quantity": 2}),
           headers=PATCH_JSON)
    # ShipmentService.getGetAll(): every optional left undefined, loadNotShipped = false, loadNotDelivered = false,
    # pageSize = 2147483647 (its swagger predates loadNotReadyForPickup)
    page = nop.ok("GET", "/Shipment/GetAll", params={"loadNotShipped": "false", "loadNotDelivered": "false", "pageSize": 2147483647})
    assert [s["id"] for s in page["items"]] == [shipment["id"]] and page["page_size"] == 2147483647
    # ShipmentService.getGetByOrderId(orderId) and getGetByIds('a;b')
    assert [s["id"] for s in nop.ok("GET", f"/Shipment/GetByOrderId/{order['id']}")] == [shipment["id"]]
    assert [s["id"] for s in nop.ok("GET", f"/Shipment/GetByIds/{shipment['id']}")] == [shipment["id"]]
    # OrderProcessingService.getShip(shipmentId, notifyCustomer) and getDeliver(...): the boolean as JS prints it
    assert nop.call("GET", f"/OrderProcessing/Ship/{shipment['id']}", params={"notifyCustomer": "true"}).status_code == 200
    assert nop.call("GET", f"/OrderProcessing/Deliver/{shipment['id']}", params={"notifyCustomer": "false"}).status_code == 200
    # ShipmentService.putUpdate(requestBody)
    updated = dict(nop.ok("GET", f"/Shipment/GetById/{shipment['id']}"), tracking_number="TS-2")
    assert nop.call("PUT", "/Shipment/Update", data=json.dumps(updated), headers=PATCH_JSON).status_code == 200
    # OrderProcessingService.getCanCancelOrder(orderId) / getCancelOrder(orderId, notifyCustomer)
    assert nop.ok("GET", f"/OrderProcessing/CanCancelOrder/{order['id']}") is True
    assert nop.call("GET", f"/OrderProcessing/CancelOrder/{order['id']}", params={"notifyCustomer": "false"}).status_code == 200


def test_route_casing_does_not_matter(nop: Nop) -> None:
    """ASP.NET routing is case-insensitive (contract notes): a client that lower-cases the path is served."""
    assert nop.call("GET", "/country/getallcountries").status_code == 200
    assert nop.call("GET", "/ORDER/GETBYID/999").json() == "Order Id=999 not found"
    stats = nop.controlled("GET", "/stats")["requests"]
    assert stats["GET /Country/GetAllCountries"] == 1 and stats["GET /Order/GetById/{id}"] == 1
