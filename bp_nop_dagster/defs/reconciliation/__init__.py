"""Analyst reports: each system against the other, by day."""
