"""Brightpearl webhooks: the sensor that turns received events (the ledger's local queue) into runs."""
