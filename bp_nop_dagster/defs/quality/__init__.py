"""Data quality: contact validation, order anomalies, duplicate customers, product checks (issue 16)."""
