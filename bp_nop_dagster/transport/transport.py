"""HTTP plumbing both API clients build on: one `requests.Session`, timeouts on every call, the
retry policy, one re-authentication on 401, and errors from the taxonomy. Redirects are never
followed (a 3xx is a `ConfigurationError`), reply bodies are bounded (`max_reply_bytes`), and JSON
numbers with a fraction are parsed as `Decimal` (money never passes through float).

A system-specific client subclasses `Transport` and overrides the hooks:
`auth_headers` / `reauthenticate` (credentials), `before_send` / `after_response` (pacing), and
`error_for` (how the system spells its errors).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError

from bp_nop_dagster.transport.errors import (
    ApiError,
    AuthError,
    ConfigurationError,
    OutcomeUnknownError,
    ThrottledError,
    TransientError,
    ValidationError,
)
from bp_nop_dagster.transport.limits import DEFAULT_MAX_REPLY_BYTES
from bp_nop_dagster.transport.retry import RetrySettings, retrying

log = logging.getLogger("bp_nop_dagster.transport")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# ValidationError code of a reply refused for its size (`Transport.max_reply_bytes`).
REPLY_TOO_LARGE = "reply_too_large"


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
        # The largest reply body read (bytes); the resources set it from `max_reply_mb`.
        self.max_reply_bytes = DEFAULT_MAX_REPLY_BYTES
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
            response, content = self._send_once(method, path, params, json_body, data, headers, idempotent)
            if response.status_code == 401 and not reauthenticated:
                reauthenticated = True
                self.reauthenticate()
                continue
            return self._reply(response, content, method, path, idempotent)

    def _send_once(self, method, path, params, json_body, data, headers, idempotent) -> tuple[requests.Response, bytes]:
        """One HTTP exchange: redirects are never followed, and the body is read up to
        `max_reply_bytes`."""
        self.before_send()
        url = f"{self.base_url}{path}"
        headers = {**self.auth_headers(), **headers}
        if json_body is not None:
            data = json_bytes(json_body)
            headers.setdefault("Content-Type", "application/json")
        try:
            with self._calls_lock:
                self.calls[method] += 1
            # No redirects: requests would re-send the credentials headers to wherever a 3xx
            # points (a 307 re-posts the body, passwords included). Streamed, so a huge body is
            # refused before it is in memory.
            response = self.session.request(
                method, url, params=params, data=data, headers=headers, timeout=self.timeout, allow_redirects=False, stream=True,
            )
        except requests.RequestException as error:
            raise self._failure(error, method, path, idempotent) from None
        self.after_response(response)
        if is_redirect(response):
            response.close()
            raise redirect_error(self.system, response, method, path)
        try:
            return response, self._read_body(response, method, path, idempotent)
        except requests.RequestException as error:
            response.close()
            raise self._failure(error, method, path, idempotent) from None

    def _failure(self, error: requests.RequestException, method: str, path: str, idempotent: bool) -> TransientError:
        kind = type(error).__name__
        if idempotent or _never_sent(error):
            return TransientError(self.system, f"{kind} before a reply", method=method, path=path)
        return OutcomeUnknownError(self.system, f"{kind}: the request may have been applied", method=method, path=path)

    def _read_body(self, response: requests.Response, method: str, path: str, idempotent: bool) -> bytes:
        """The reply body, refused past `max_reply_bytes` (declared or actual) without reading it all."""
        limit = self.max_reply_bytes
        declared = response.headers.get("Content-Length", "")
        size = 0
        chunks: list[bytes] = []
        if not (declared.isdigit() and int(declared) > limit):
            for chunk in response.iter_content(64 * 1024):
                size += len(chunk)
                if size > limit:
                    break
                chunks.append(chunk)
            else:
                return b"".join(chunks)
        response.close()
        message = (f"reply larger than the {limit:,}-byte limit (max_reply_mb): refused unread; raise the limit "
                   "if replies this large are expected")
        where = {"status": response.status_code, "method": method, "path": path}
        if idempotent:
            raise ValidationError(self.system, REPLY_TOO_LARGE, message, **where)
        raise OutcomeUnknownError(self.system, f"{message}; the request may have been applied", **where)

    def _reply(self, response: requests.Response, content: bytes, method: str, path: str, idempotent: bool) -> Reply:
        body: Any = None
        parse_failed = False
        if content.strip():
            try:
                # Money stays exact: JSON numbers with a fraction become Decimal, never float.
                body = json.loads(content, parse_float=Decimal)
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


def is_redirect(response: requests.Response) -> bool:
    return 300 <= response.status_code < 400


def redirect_error(system: str, response: requests.Response, method: str, path: str = "") -> ConfigurationError:
    """A 3xx is a configuration error (the base URL is not where the API is). Names the system and
    the host the redirect points at, never its path or query string (they may carry tokens)."""
    location = response.headers.get("Location", "")
    host = urlsplit(urljoin(response.url or "", location)).hostname if location else None
    return ConfigurationError(
        f"{system} answered {f'{method} {path}'.strip()} with a redirect (HTTP {response.status_code}) to {host or 'an unnamed location'}: "
        "redirects are never followed because they would carry the credentials; set the base URL to where the API is"
    )


def json_bytes(body: Any, *, indent: int | None = None) -> bytes:
    """`body` as JSON (NaN and infinities refused, as requests does); a Decimal is written as the
    exact number it holds, never rounded through float."""
    numbers: list[str] = []
    nonce = secrets.token_hex(8)

    def decimal_placeholder(value: Any) -> str:
        if isinstance(value, Decimal) and value.is_finite():
            numbers.append(str(value))
            return f"{nonce}:{len(numbers) - 1}"
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")

    text = json.dumps(body, default=decimal_placeholder, allow_nan=False, indent=indent)
    if numbers:
        text = re.sub(rf'"{nonce}:(\d+)"', lambda match: numbers[int(match.group(1))], text)
    return text.encode("utf-8")


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
