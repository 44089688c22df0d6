"""Names of the environment variables that configure the integration (README, "Configuration").

Secrets are read by Dagster resources through `dg.EnvVar(...)` at run time, never baked into
definitions; this module only names them and fills them in for the sandbox.
"""

from __future__ import annotations

BRIGHTPEARL_BASE_URL = "BRIGHTPEARL_BASE_URL"
BRIGHTPEARL_APP_REF = "BRIGHTPEARL_APP_REF"
BRIGHTPEARL_ACCOUNT_TOKEN = "BRIGHTPEARL_ACCOUNT_TOKEN"
NOPCOMMERCE_BASE_URL = "NOPCOMMERCE_BASE_URL"
NOPCOMMERCE_EMAIL = "NOPCOMMERCE_EMAIL"
NOPCOMMERCE_PASSWORD = "NOPCOMMERCE_PASSWORD"


def sandbox_environment(sandbox) -> dict[str, str]:
    """The environment that points the integration at a running sandbox."""
    creds = sandbox.world.credentials
    return {
        BRIGHTPEARL_BASE_URL: sandbox.urls.brightpearl_base_url,
        BRIGHTPEARL_APP_REF: creds.brightpearl_app_ref,
        BRIGHTPEARL_ACCOUNT_TOKEN: creds.brightpearl_account_token,
        NOPCOMMERCE_BASE_URL: sandbox.urls.nopcommerce_base_url,
        NOPCOMMERCE_EMAIL: creds.nopcommerce_email,
        NOPCOMMERCE_PASSWORD: creds.nopcommerce_password,
    }
