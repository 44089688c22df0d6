"""Pure mapping and matching between nopCommerce and Brightpearl: no I/O at all."""
