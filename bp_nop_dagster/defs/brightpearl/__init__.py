"""Brightpearl source assets (reads) and their checks."""
