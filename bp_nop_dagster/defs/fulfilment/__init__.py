"""The fulfilment flow: Brightpearl goods-out notes and order statuses into nopCommerce."""
