"""The Dagster resource that hands assets, sensors and ops a `NopCommerceClient`.

Credentials come from the environment through `dg.EnvVar` (resolved when a run starts, never
baked into the definitions): see `nopcommerce_resource_from_env`. The password field is marked
secret (`dagster__is_secret`, Dagster ≥ 1.12.7), so the UI masks it, and it is left out of `repr`.
In staging and production the client only talks to the configured `NOPCOMMERCE_BASE_URL`: a run
config naming another host is refused (it would receive the email and password).
"""

from __future__ import annotations

import threading

import dagster as dg
from pydantic import Field, PrivateAttr

from bp_nop_dagster import settings
from bp_nop_dagster.environment import require_configured_endpoint
from bp_nop_dagster.nopcommerce.client import DEFAULT_MAX_CONCURRENCY, DEFAULT_PAGE_SIZE, NopCommerceClient
from bp_nop_dagster.pairs import store_scope
from bp_nop_dagster.transport.errors import ConfigurationError
from bp_nop_dagster.transport.limits import DEFAULT_MAX_REPLY_BYTES
from bp_nop_dagster.transport.retry import RetrySettings
from bp_nop_dagster.transport.transport import validate_base_url


class NopCommerceResource(dg.ConfigurableResource):
    """nopCommerce Web API Backend access. `get_client()` returns one client per run (cached on the
    resource instance Dagster builds for the run), so its token and connection pool are shared
    by every step of that run in the same process."""

    base_url: str = Field(description="Web API Backend root, e.g. https://shop.example.com/api-backend (https unless loopback)")
    email: str = Field(description="Email of an API user whose role has the 'Access Web API Backend' permission")
    password: str = Field(
        description="Password of that API user",
        repr=False,
        json_schema_extra={"dagster__is_secret": True},
    )
    page_size: int = Field(default=DEFAULT_PAGE_SIZE, description="pageSize sent with every list read")
    max_concurrency: int = Field(default=DEFAULT_MAX_CONCURRENCY, description="Worker threads for per-order item/address reads")
    connect_timeout: float = Field(default=5.0, description="Seconds to wait for a connection")
    read_timeout: float = Field(default=30.0, description="Seconds to wait for a reply")
    max_attempts: int = Field(default=6, description="Attempts per idempotent request (first try included)")
    max_reply_mb: float = Field(default=DEFAULT_MAX_REPLY_BYTES / 2**20, gt=0, description="Largest reply body read, in MiB; a larger one is refused unread")

    _client: NopCommerceClient | None = PrivateAttr(default=None)
    _client_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def get_client(self) -> NopCommerceClient:
        """The run's client, built on first use. Bad settings raise ConfigurationError naming the
        setting (never showing the password)."""
        with self._client_lock:
            if self._client is None:
                self._client = self._build_client()
            return self._client

    def _build_client(self) -> NopCommerceClient:
        validate_config(self)
        client = NopCommerceClient(
            self.base_url,
            self.email,
            self.password,
            page_size=self.page_size,
            max_concurrency=self.max_concurrency,
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            retry=RetrySettings(max_attempts=self.max_attempts),
        )
        client.max_reply_bytes = int(self.max_reply_mb * 2**20)
        client.store_scope = store_scope()  # the pair's stores (BP_NOP_NOPCOMMERCE_STORE_IDS), every store when unset
        return client

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def validate_config(resource: NopCommerceResource) -> None:
    """Check every setting; the first problem raises ConfigurationError naming it."""
    if not (resource.base_url or "").strip():
        raise ConfigurationError(f"nopCommerce base_url is empty: set {settings.NOPCOMMERCE_BASE_URL} (…/api-backend)")
    try:
        validate_base_url(resource.base_url.strip(), "nopCommerce")
    except ConfigurationError as error:
        raise ConfigurationError(f"nopCommerce base_url ({settings.NOPCOMMERCE_BASE_URL}) is invalid: {error}") from None
    require_configured_endpoint(resource.base_url, settings.NOPCOMMERCE_BASE_URL, "nopCommerce")
    if not (resource.email or "").strip():
        raise ConfigurationError(f"nopCommerce email is empty: set {settings.NOPCOMMERCE_EMAIL}")
    if not resource.password:
        raise ConfigurationError(f"nopCommerce password is empty: set {settings.NOPCOMMERCE_PASSWORD}")
    if resource.page_size < 1:
        raise ConfigurationError(f"nopCommerce page_size must be at least 1, got {resource.page_size}")
    if not 1 <= resource.max_concurrency <= 64:
        raise ConfigurationError(f"nopCommerce max_concurrency must be between 1 and 64, got {resource.max_concurrency}")
    for name in ("connect_timeout", "read_timeout"):
        value = getattr(resource, name)
        if not value > 0:
            raise ConfigurationError(f"nopCommerce {name} must be positive seconds, got {value}")
    if resource.max_attempts < 1:
        raise ConfigurationError(f"nopCommerce max_attempts must be at least 1, got {resource.max_attempts}")


def nopcommerce_resource_from_env(**overrides) -> NopCommerceResource:
    """The resource reading NOPCOMMERCE_BASE_URL, NOPCOMMERCE_EMAIL and NOPCOMMERCE_PASSWORD when
    a run starts; tuning settings (page_size, max_concurrency, timeouts, max_attempts) as overrides."""
    return NopCommerceResource(
        base_url=dg.EnvVar(settings.NOPCOMMERCE_BASE_URL),
        email=dg.EnvVar(settings.NOPCOMMERCE_EMAIL),
        password=dg.EnvVar(settings.NOPCOMMERCE_PASSWORD),
        **overrides,
    )
