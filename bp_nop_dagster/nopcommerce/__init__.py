"""nopCommerce Web API Backend: typed models and the HTTP client. No Dagster here: the Dagster
resource is `bp_nop_dagster.nopcommerce.resource` (imported by the wiring only)."""

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

__all__ = [
    "Address",
    "Country",
    "Customer",
    "ManageInventoryMethod",
    "NopCommerceClient",
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
]
