"""The catalogue flow: Brightpearl products and price lists to nopCommerce products."""
