"""nopCommerce source assets (reads) and their checks."""
