"""Simulator of the official nopCommerce Web API Backend plugin (`/api-backend/...`), split as moto
splits a service:

- `backend/`: the shop's state, behaviour and queries, one module per area of the plugin's
  controllers (`NopCommerceBackend`);
- `app.py`: thin routes (bind, call the backend, render) and `build_nopcommerce_app`;
- `binding.py`: ASP.NET-style request binding and the plugin's response shapes;
- `contract.py`, `wire.py`: the vendored contract's actions and DTOs, entities as JSON;
- `control.py`: the sandbox control API under `/__sandbox__/`;
- `fidelity.py`: every route and behaviour with its source (`FACTS`).
"""

from bp_nop_dagster.sandbox.nopcommerce.backend import NopCommerceBackend

__all__ = ["NopCommerceBackend"]
