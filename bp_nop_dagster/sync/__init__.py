"""Sync flows without Dagster: each drains the ledger's pending work between the two systems."""
