"""Brightpearl webhooks, without Dagster: which events the integration subscribes to and how
(`subscriptions.py`), and the receiver that stores each event in the ledger before it answers
(`receiver.py`, `bp-nop webhooks serve`). The sensors that turn stored events into runs live in
`defs/webhooks/`; polling stays the safety net (webhooks are thin, can be missed, and stock
edits outside the API fire none)."""
