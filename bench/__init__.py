"""Benchmarks: ratios and rates measured in one run, never timed tests."""
