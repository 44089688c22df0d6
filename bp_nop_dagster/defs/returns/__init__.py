"""Returns and refunds in both directions (sync/refunds.py) and their daily reconciliation."""
