"""nopCommerce Web API Backend: typed models, the HTTP client and the Dagster resource."""

from bp_nop_dagster.nopcommerce.client import NopCommerceClient
from bp_nop_dagster.nopcommerce.models import (
    Address,
    Country,
    Customer,
    ManageInventoryMethod,
    Order,
    OrderDetails,
    OrderItem,
    OrderStatus,
    PagedList,
    PaymentStatus,
    Product,
    ProductAttributeCombination,
    ProductWarehouseInventory,
    ReturnRequest,
    ReturnRequestStatus,
    Shipment,
    ShipmentItem,
    ShippingStatus,
)
from bp_nop_dagster.nopcommerce.resource import NopCommerceResource, nopcommerce_resource_from_env

__all__ = [
    "Address",
    "Country",
    "Customer",
    "ManageInventoryMethod",
    "NopCommerceClient",
    "NopCommerceResource",
    "Order",
    "OrderDetails",
    "OrderItem",
    "OrderStatus",
    "PagedList",
    "PaymentStatus",
    "Product",
    "ProductAttributeCombination",
    "ProductWarehouseInventory",
    "ReturnRequest",
    "ReturnRequestStatus",
    "Shipment",
    "ShipmentItem",
    "ShippingStatus",
    "nopcommerce_resource_from_env",
]
