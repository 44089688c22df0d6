"""Alerts: failed runs, a growing dead-letter queue and stale sync assets, posted to a webhook."""
