"""The stock flow: Brightpearl stock to nopCommerce without overselling."""
