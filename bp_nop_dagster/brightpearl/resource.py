"""`BrightpearlResource`: the Dagster resource that hands assets a `BrightpearlClient`.

Secrets come from environment variables through `dg.EnvVar` (resolved when a run starts, never
baked into definitions), are marked secret for the UI (`dagster__is_secret`) and are left out of
`repr`. In staging and production the client only talks to the configured `BRIGHTPEARL_BASE_URL`
(and an OAuth token endpoint of Brightpearl's): a run config naming another host is refused, since
whoever can launch a run could otherwise send the credentials there. One client per run: `get_client()` builds it on first use and caches it on the run's
resource instance, so reference data and the quota pacer are shared by the whole run.

    defs = dg.Definitions(assets=[...], resources={"brightpearl": brightpearl_resource_from_env()})

    @dg.asset(pool="brightpearl")
    def brightpearl_products(brightpearl: BrightpearlResource): brightpearl.get_client().products(...)
"""

from __future__ import annotations

import dagster as dg
from pydantic import Field, PrivateAttr

from bp_nop_dagster import settings
from bp_nop_dagster.brightpearl.client import BrightpearlClient, oauth_refresh_callback
from bp_nop_dagster.environment import require_brightpearl_oauth_host, require_configured_endpoint
from bp_nop_dagster.transport.errors import ConfigurationError
from bp_nop_dagster.transport.limits import DEFAULT_MAX_REPLY_BYTES
from bp_nop_dagster.transport.retry import RetrySettings

_SECRET = {"dagster__is_secret": True}


class BrightpearlResource(dg.ConfigurableResource):
    """Brightpearl API access (private app by default; staff token or OAuth optional)."""

    base_url: str = Field(description="Account API root, e.g. https://use1.brightpearlconnect.com/public-api/myshop (https unless loopback).")
    app_ref: str = Field(description="brightpearl-app-ref of the private or OAuth app.")
    account_token: str | None = Field(
        default=None, repr=False, json_schema_extra=_SECRET, description="Private system app token (brightpearl-account-token)."
    )
    staff_token: str | None = Field(
        default=None, repr=False, json_schema_extra=_SECRET, description="Private staff app token (brightpearl-staff-token)."
    )
    oauth_access_token: str | None = Field(
        default=None, repr=False, json_schema_extra=_SECRET, description="OAuth access token (Authorization: Bearer)."
    )
    dev_ref: str | None = Field(default=None, description="brightpearl-dev-ref (OAuth apps only).")
    oauth_token_url: str | None = Field(
        default=None, description="OAuth token endpoint used to refresh the access token once after a 401."
    )
    oauth_refresh_token: str | None = Field(default=None, repr=False, json_schema_extra=_SECRET, description="OAuth refresh token.")
    oauth_client_secret: str | None = Field(
        default=None, repr=False, json_schema_extra=_SECRET, description="OAuth client secret (confidential apps)."
    )
    connect_timeout: float = Field(default=5.0, gt=0, description="Seconds to wait for a connection.")
    read_timeout: float = Field(default=30.0, gt=0, description="Seconds to wait for a reply.")
    max_attempts: int = Field(default=6, ge=1, description="Attempts per request, first try included (transient errors only).")
    quota: int = Field(default=200, ge=1, description="Brightpearl requests allowed per window for the account.")
    window_seconds: float = Field(default=60.0, gt=0, description="Length of the rolling quota window in seconds.")
    headroom: float = Field(
        default=0.10, ge=0, lt=1, description="Share of the quota left for other apps of the account (0.10 = use at most 90%)."
    )
    max_reply_mb: float = Field(
        default=DEFAULT_MAX_REPLY_BYTES / 2**20, gt=0, description="Largest reply body read, in MiB; a larger one is refused unread."
    )

    _client: BrightpearlClient | None = PrivateAttr(default=None)

    def get_client(self) -> BrightpearlClient:
        """The run's client (built on first call, then reused)."""
        if self._client is None:
            self._client = self.build_client()
        return self._client

    def build_client(self) -> BrightpearlClient:
        """A new client from this configuration; `ConfigurationError` names a bad setting, never its value."""
        for name in ("base_url", "app_ref"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ConfigurationError(f"BrightpearlResource.{name} is not set")
        require_configured_endpoint(self.base_url, settings.BRIGHTPEARL_BASE_URL, "Brightpearl")
        refresher = None
        if self.oauth_token_url or self.oauth_refresh_token:
            if not (self.oauth_token_url and self.oauth_refresh_token):
                raise ConfigurationError("BrightpearlResource: oauth_token_url and oauth_refresh_token go together")
            if not self.oauth_access_token:
                raise ConfigurationError("BrightpearlResource: oauth_token_url needs oauth_access_token")
            require_brightpearl_oauth_host(self.oauth_token_url)
            refresher = oauth_refresh_callback(
                self.oauth_token_url,
                refresh_token=self.oauth_refresh_token,
                client_id=self.app_ref,
                client_secret=self.oauth_client_secret,
                timeout=(self.connect_timeout, self.read_timeout),
            )
        client = BrightpearlClient(
            self.base_url,
            app_ref=self.app_ref,
            account_token=self.account_token,
            staff_token=self.staff_token,
            oauth_access_token=self.oauth_access_token,
            dev_ref=self.dev_ref,
            token_refresher=refresher,
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            retry=RetrySettings(max_attempts=self.max_attempts),
            quota=self.quota,
            window_seconds=self.window_seconds,
            headroom=self.headroom,
        )
        client.max_reply_bytes = int(self.max_reply_mb * 2**20)
        return client

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._client is not None:
            self._client.session.close()


def brightpearl_resource_from_env(**overrides) -> BrightpearlResource:
    """The resource configured from BRIGHTPEARL_BASE_URL / _APP_REF / _ACCOUNT_TOKEN (read at run
    start); `overrides` sets other fields (timeouts, quota...)."""
    return BrightpearlResource(
        base_url=dg.EnvVar(settings.BRIGHTPEARL_BASE_URL),
        app_ref=dg.EnvVar(settings.BRIGHTPEARL_APP_REF),
        account_token=dg.EnvVar(settings.BRIGHTPEARL_ACCOUNT_TOKEN),
        **overrides,
    )
