"""`bp-nop probe`: a read-only conformance check of the configured real Brightpearl and nopCommerce
against the contracts (`bp_nop_dagster.contracts`), so the simulators' fidelity cannot drift back
unnoticed (DESIGN principle 11).

- `endpoints`: every endpoint the flows read, with sample parameters and its contracts (data);
- `runner`: calls them gently through the project's clients and judges each reply;
- `cassettes`: scrubbed recordings of the replies (`--record`), replayed by the contract tests;
- `command`: the CLI command.
"""
