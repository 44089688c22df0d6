"""HTTP plumbing both API clients build on: one `requests.Session`, timeouts on every call, the
retry policy, one re-authentication on 401, and errors from the taxonomy.

A system-specific client subclasses `Transport` and overrides the hooks:
`auth_headers` / `reauthenticate` (credentials), `before_send` / `after_response` (pacing), and
`error_for` (how the system spells its errors).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError

from bp_nop_dagster.transport.errors import (
    ApiError,
    AuthError,
    ConfigurationError,
    OutcomeUnknownError,
    ThrottledError,
    TransientError,
)
from bp_nop_dagster.transport.retry import RetrySettings, retrying

log = logging.getLogger("bp_nop_dagster.transport")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


def validate_base_url(url: str, system: str) -> str:
    """A base URL must be https, unless its host is loopback (the sandbox, a local tunnel)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"{system} base URL must be an absolute http(s) URL, got {url!r}")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ConfigurationError(
            f"{system} base URL must use https unless the host is loopback (127.0.0.1, ::1, localhost); got host {parts.hostname!r}"
        )
    if parts.username or parts.password:
        raise ConfigurationError(f"{system} base URL must not carry credentials; use the credential settings instead")
    return url.rstrip("/")


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any
    headers: Mapping[str, str]


class Transport:
    """Sends one logical request, retrying transient failures under the project's retry policy."""

    system = "API"

    def __init__(
        self,
        base_url: str,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        retry: RetrySettings | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = validate_base_url(base_url, self.system)
        self.timeout = (connect_timeout, read_timeout)
        self.retry_settings = retry or RetrySettings()
        self.session = session or requests.Session()
        self.sleep = sleep
        self.calls: Counter[str] = Counter()
        self._calls_lock = threading.Lock()  # clients may send from several threads

    @property
    def call_count(self) -> int:
        """HTTP requests actually sent (retries and re-authentication included)."""
        return sum(self.calls.values())

    # Hooks for the system-specific clients.
    def auth_headers(self) -> dict[str, str]:
        return {}

    def reauthenticate(self) -> None:
        """Renew credentials after a 401; the default has nothing to renew."""
        raise AuthError(self.system, "credentials refused")

    def before_send(self) -> None:
        """Pace requests (called before every HTTP request)."""

    def after_response(self, response: requests.Response) -> None:
        """Learn from a response's headers (called after every HTTP response)."""

    def error_for(self, response: requests.Response, body: Any, method: str, path: str) -> ApiError:
        raise NotImplementedError

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> Reply:
        """Send `method path`; transient failures are retried, the rest raised from the taxonomy.

        `idempotent` defaults by method (POST is not). A non-idempotent request is never resent
        after it may have reached the server: it raises `OutcomeUnknownError` instead.
        """
        method = method.upper()
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        for attempt in retrying(self.retry_settings, sleep=self.sleep):
            with attempt:
                number = attempt.retry_state.attempt_number
                if number > 1:
                    log.warning("%s %s %s: retry %d after a transient failure", self.system, method, path, number - 1)
                return self._send(method, path, params, json_body, data, headers or {}, idempotent)
        raise AssertionError("unreachable: tenacity re-raises the last error")

    def _send(self, method, path, params, json_body, data, headers, idempotent) -> Reply:
        reauthenticated = False
        while True:
            response = self._send_once(method, path, params, json_body, data, headers, idempotent)
            if response.status_code == 401 and not reauthenticated:
                reauthenticated = True
                self.reauthenticate()
                continue
            return self._reply(response, method, path, idempotent)

    def _send_once(self, method, path, params, json_body, data, headers, idempotent) -> requests.Response:
        self.before_send()
        url = f"{self.base_url}{path}"
        try:
            with self._calls_lock:
                self.calls[method] += 1
            response = self.session.request(
                method, url, params=params, json=json_body, data=data,
                headers={**self.auth_headers(), **headers}, timeout=self.timeout,
            )
        except requests.RequestException as error:
            kind = type(error).__name__
            if idempotent or _never_sent(error):
                raise TransientError(self.system, f"{kind} before a reply", method=method, path=path) from None
            raise OutcomeUnknownError(self.system, f"{kind}: the request may have been applied", method=method, path=path) from None
        self.after_response(response)
        return response

    def _reply(self, response: requests.Response, method: str, path: str, idempotent: bool) -> Reply:
        text = response.content
        body: Any = None
        parse_failed = False
        if text.strip():
            try:
                body = json.loads(text)
            except ValueError:
                parse_failed = True
        if 200 <= response.status_code < 300:
            if parse_failed:
                message = "malformed JSON in a success reply"
                if idempotent:
                    raise TransientError(self.system, message, status=response.status_code, method=method, path=path)
                raise OutcomeUnknownError(self.system, message, status=response.status_code, method=method, path=path)
            return Reply(response.status_code, body, response.headers)
        error = self.error_for(response, body, method, path)
        if not idempotent and isinstance(error, TransientError) and not _safe_to_resend(error, response):
            raise OutcomeUnknownError(self.system, f"{error}: the request may have been applied", status=response.status_code, method=method, path=path)
        raise error


def _never_sent(error: requests.RequestException) -> bool:
    """True when the request certainly never reached the server (connection refused or timed out)."""
    if isinstance(error, requests.ConnectTimeout):
        return True
    if isinstance(error, requests.ConnectionError):
        reason = error.args[0] if error.args else None
        if isinstance(reason, MaxRetryError):
            return isinstance(reason.reason, NewConnectionError)
    return False


def _safe_to_resend(error: ApiError, response: requests.Response) -> bool:
    """A throttled reply means the request was refused before processing: resending is safe."""
    return isinstance(error, ThrottledError)
