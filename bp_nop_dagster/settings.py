"""Names of the environment variables that configure the integration (README, "Configuration").

Every environment variable the code reads is named here and only here: other modules read
`os.environ.get(settings.X)` or `dg.EnvVar(settings.X)`, never a literal name (a test holds
this). Secrets are read by Dagster resources through `dg.EnvVar(...)` at run time, never baked
into definitions; this module only names them and fills them in for the sandbox.
"""

from __future__ import annotations

BRIGHTPEARL_BASE_URL = "BRIGHTPEARL_BASE_URL"
BRIGHTPEARL_APP_REF = "BRIGHTPEARL_APP_REF"
BRIGHTPEARL_ACCOUNT_TOKEN = "BRIGHTPEARL_ACCOUNT_TOKEN"
NOPCOMMERCE_BASE_URL = "NOPCOMMERCE_BASE_URL"
NOPCOMMERCE_EMAIL = "NOPCOMMERCE_EMAIL"
NOPCOMMERCE_PASSWORD = "NOPCOMMERCE_PASSWORD"
BP_NOP_ENV = "BP_NOP_ENV"
BP_NOP_LEDGER_URL = "BP_NOP_LEDGER_URL"
BP_NOP_ALERT_WEBHOOK_URL = "BP_NOP_ALERT_WEBHOOK_URL"
BP_NOP_DAGSTER_UI_URL = "BP_NOP_DAGSTER_UI_URL"
BP_NOP_MAPPING_FILE = "BP_NOP_MAPPING_FILE"
BP_NOP_REPORTS_DIR = "BP_NOP_REPORTS_DIR"
BP_NOP_HISTORY_START = "BP_NOP_HISTORY_START"
# Many pairs from one deployment (README, "Many pairs and scale"): the pair this code location
# serves (unset: the single-pair deployment, unchanged), and the Brightpearl account it books into
# when two pairs share one account (they then share its quota pool; default: the pair's name).
BP_NOP_PAIR = "BP_NOP_PAIR"
BP_NOP_BRIGHTPEARL_ACCOUNT = "BP_NOP_BRIGHTPEARL_ACCOUNT"
# The nopCommerce store ids a pair owns within its installation, when several pairs share one
# installation (e.g. `2` or `2,3`; unset: every store of the installation, as one pair).
BP_NOP_NOPCOMMERCE_STORE_IDS = "BP_NOP_NOPCOMMERCE_STORE_IDS"
# Webhooks (`bp-nop webhooks ...`): the secret path segment Brightpearl calls back on, and the
# public base URL of the receiver as Brightpearl reaches it (https in production).
BP_NOP_WEBHOOK_SECRET = "BP_NOP_WEBHOOK_SECRET"
BP_NOP_WEBHOOK_PUBLIC_URL = "BP_NOP_WEBHOOK_PUBLIC_URL"
# Dagster's own: the instance folder, and the production instance's PostgreSQL (dagster.yaml).
DAGSTER_HOME = "DAGSTER_HOME"
DAGSTER_PG_HOST = "DAGSTER_PG_HOST"
DAGSTER_PG_PORT = "DAGSTER_PG_PORT"
DAGSTER_PG_USERNAME = "DAGSTER_PG_USERNAME"
DAGSTER_PG_PASSWORD = "DAGSTER_PG_PASSWORD"
DAGSTER_PG_DB = "DAGSTER_PG_DB"
DAGSTER_PG_VARIABLES = (DAGSTER_PG_HOST, DAGSTER_PG_PORT, DAGSTER_PG_USERNAME, DAGSTER_PG_PASSWORD, DAGSTER_PG_DB)
# Every variable named above (bp_nop_dagster/pairs.py reads a pair's own values of them).
VARIABLES = tuple(value for name, value in dict(globals()).items() if name.isupper() and isinstance(value, str))
# Values never to show: alerts and `bp-nop doctor` mask them wherever they might appear.
SECRET_VARIABLES = (
    BRIGHTPEARL_ACCOUNT_TOKEN, NOPCOMMERCE_PASSWORD, DAGSTER_PG_PASSWORD, BP_NOP_LEDGER_URL, BP_NOP_ALERT_WEBHOOK_URL,
    BP_NOP_WEBHOOK_SECRET,
)


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
