"""Tests of the Brightpearl client, pacer, models and resource."""
