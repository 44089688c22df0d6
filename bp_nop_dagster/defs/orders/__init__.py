"""The order flow: nopCommerce orders, customers and payments into Brightpearl."""
