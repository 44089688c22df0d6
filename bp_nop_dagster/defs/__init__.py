"""Dagster objects only: one folder per source system or sync flow."""
