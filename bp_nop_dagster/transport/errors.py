"""The error taxonomy every caller handles, whichever system answered.

Messages name the system, the method and the path (never the query string, headers or body:
they may carry tokens, passwords or card data).
"""

from __future__ import annotations


class ApiError(Exception):
    """A call to Brightpearl or nopCommerce did not succeed."""

    def __init__(self, system: str, message: str, *, status: int | None = None, method: str = "", path: str = "") -> None:
        self.system = system
        self.status = status
        self.method = method
        self.path = path
        where = f" {method} {path}".rstrip() if method or path else ""
        super().__init__(f"{system}{where}: {message}" + (f" (HTTP {status})" if status else ""))


class ConfigurationError(ValueError):
    """Bad configuration (base URL, credentials, settings): fix the config, retrying won't help."""


class AuthError(ApiError):
    """Credentials refused (401/403) even after one re-authentication."""


class NotFoundError(ApiError):
    """The resource does not exist (404, or Brightpearl's CMNC-404)."""


class ValidationError(ApiError):
    """A permanent 4xx: the server refused the request as given. Never retried."""

    def __init__(self, system: str, code: str, server_message: str, **kwargs) -> None:
        self.code = code
        self.server_message = server_message
        super().__init__(system, f"{code}: {server_message}" if code else server_message, **kwargs)


class MalformedError(ApiError):
    """A record the other system sent that our model rejects (a field of the wrong type, a tax
    string that does not parse): the record is malformed at its source, so retrying does not
    help; the caller parks that record (`malformed_record`) and carries on with the rest.
    `record_id` names it when known."""

    def __init__(self, system: str, message: str, *, record_id: int | None = None, **kwargs) -> None:
        self.record_id = record_id
        super().__init__(system, message, **kwargs)


class TransientError(ApiError):
    """Connection error, timeout, 5xx or a malformed reply: worth retrying later."""


class ThrottledError(TransientError):
    """Over the request quota (Brightpearl answers 503); `retry_after` is the server's wait in seconds."""

    def __init__(self, system: str, retry_after: float, **kwargs) -> None:
        self.retry_after = retry_after
        super().__init__(system, f"throttled, retry after {retry_after:.1f} s", **kwargs)


class OutcomeUnknownError(TransientError):
    """A non-idempotent request was sent but no reliable reply came back: it may have been
    applied. Callers look the record up by its natural key before trying again (DESIGN, 1)."""
