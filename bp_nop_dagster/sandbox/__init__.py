"""Faithful simulators of the Brightpearl and nopCommerce APIs (see README, "The sandbox")."""
