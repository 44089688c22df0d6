"""The sandbox's whole state: both simulated systems, seeded from one generator.

Both HTTP servers share one `SandboxWorld` and run on one event loop, so requests are handled
one at a time and the backends need no locks. A reset through either server's control API
rebuilds both systems from the seed, so the shop stays consistent across the two.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bp_nop_dagster.sandbox.instrumentation import FaultInjector, RequestStats

Scale = Literal["small", "medium", "large", "catalogue", "catalogue_20k"]
SCALES: tuple[Scale, ...] = ("small", "medium", "large", "catalogue", "catalogue_20k")
# How the servers answer: `faithful` as the simulators do; `drifted` rewrites replies and routes
# the way old guesses were wrong (`sandbox/profiles.py`), to prove `bp-nop probe` notices.
Profile = Literal["faithful", "drifted"]
PROFILES: tuple[Profile, ...] = ("faithful", "drifted")


@dataclass(frozen=True)
class SandboxCredentials:
    """Documented defaults (README, "The sandbox"); every one can be overridden by a CLI flag."""

    brightpearl_account_code: str = "sandbox"
    brightpearl_app_ref: str = "sandbox_bpnop"
    brightpearl_account_token: str = "sandbox-token"
    brightpearl_staff_token: str = "sandbox-staff-token"
    brightpearl_dev_ref: str = "sandbox_dev"
    brightpearl_oauth_access_token: str = "sandbox-oauth-access-token"
    nopcommerce_email: str = "admin@sandbox.test"
    nopcommerce_password: str = "sandbox"


class SandboxWorld:
    """Holds the two backends, their request statistics and fault rules."""

    def __init__(
        self,
        *,
        seed: int = 42,
        scale: Scale = "small",
        credentials: SandboxCredentials | None = None,
        profile: Profile = "faithful",
    ) -> None:
        if profile not in PROFILES:
            raise ValueError(f"profile must be one of {', '.join(PROFILES)}, not {profile!r}")
        self.credentials = credentials or SandboxCredentials()
        self.profile: Profile = profile
        self.brightpearl_stats = RequestStats()
        self.nopcommerce_stats = RequestStats()
        self.brightpearl_faults = FaultInjector(seed)
        self.nopcommerce_faults = FaultInjector(seed)
        self.seed = seed
        self.scale: Scale = scale
        self.reset()

    def reset(self, *, seed: int | None = None, scale: Scale | None = None, empty: bool = False) -> None:
        """Rebuild both systems from `seed` at `scale` (or empty), clear faults and counters."""
        from bp_nop_dagster.sandbox.brightpearl.backend import BrightpearlBackend
        from bp_nop_dagster.sandbox.nopcommerce.backend import NopCommerceBackend

        if scale is not None and scale not in SCALES:
            raise ValueError(f"scale must be one of {', '.join(SCALES)}, not {scale!r}")
        if seed is not None:
            self.seed = seed
        if scale is not None:
            self.scale = scale
        self.brightpearl = BrightpearlBackend(self.credentials)
        self.nopcommerce = NopCommerceBackend(self.credentials)
        if not empty:
            from bp_nop_dagster.sandbox.generator import generate_shop

            generate_shop(self.brightpearl, self.nopcommerce, seed=self.seed, scale=self.scale)
        for stats in (self.brightpearl_stats, self.nopcommerce_stats):
            stats.reset()
        self.brightpearl_faults.set_rules([], seed=self.seed)
        self.nopcommerce_faults.set_rules([], seed=self.seed)
