"""API users and JWTs (WAPI Framework: BaseAuthorizationService, JwtMiddleware, AuthorizeAttribute;
Backend: AuthenticateController, CheckAccessWebApiAttribute; notes §1a "Auth")."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timezone

from bp_nop_dagster.sandbox.nopcommerce.backend.state import ShopState


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class AuthMixin(ShopState):
    """HS256 tokens with the claims CustomerId, nameid, nbf, exp; ClockSkew 0; no refresh token.
    The signing secret derives from the credentials so tokens survive a world reset (the admin
    is always customer 1); `expire_tokens` rotates it, invalidating every token issued so far."""

    _secret_generation = 0

    def _secret(self) -> bytes:
        base = f"bp-nop-sandbox:{self.credentials.nopcommerce_email}:{self.credentials.nopcommerce_password}"
        return hashlib.sha256(f"{base}:{self._secret_generation}".encode()).digest()

    def expire_tokens(self) -> None:
        self._secret_generation += 1

    def authenticate(self, username: str | None, email: str | None, password: str | None) -> dict | None:
        """Authenticate/GetToken: the AuthenticateResponse dict, or None for bad credentials. The
        login is `username` when the store's UsernamesEnabled is on, else `email`."""
        login = username if self.usernames_enabled else email
        if not login or password is None:
            return None
        customer = self.customer_by_email(login) if not self.usernames_enabled else next(  # type: ignore[attr-defined]
            (c for c in self.customers.values() if (c["username"] or "").lower() == login.lower() and not c["deleted"]), None)
        if customer is None or not customer["active"] or customer["deleted"]:
            return None
        stored = self.passwords.get(customer["id"])
        if stored is None or not hmac.compare_digest(stored.encode(), password.encode()):
            return None
        customer["last_login_date_utc"] = self.now()
        return {"username": customer["username"] or customer["email"], "customer_id": customer["id"],
                "customer_guid": customer["customer_guid"], "token": self.issue_token(customer["id"])}

    def issue_token(self, customer_id: int) -> str:
        customer = self.customers[customer_id]
        now = self.now().replace(tzinfo=timezone.utc)
        issued = int(now.timestamp())
        expires = int((now + self.token_lifetime).timestamp())
        header = {"alg": "HS256", "typ": "JWT"}
        payload = {"CustomerId": str(customer_id), "nameid": customer["customer_guid"], "nbf": issued, "exp": expires, "iat": issued}
        signing_input = _b64url(json.dumps(header, separators=(",", ":")).encode()) + "." + _b64url(json.dumps(payload, separators=(",", ":")).encode())
        signature = hmac.new(self._secret(), signing_input.encode("ascii"), hashlib.sha256).digest()
        return signing_input + "." + _b64url(signature)

    def customer_for_token(self, token: str | None) -> dict | None:
        """The customer a valid token belongs to; None when invalid, expired (ClockSkew 0) or unknown."""
        if not token:
            return None
        parts = token.split(".")
        if len(parts) != 3:
            return None
        try:
            expected = hmac.new(self._secret(), f"{parts[0]}.{parts[1]}".encode("ascii"), hashlib.sha256).digest()
            if not hmac.compare_digest(expected, _b64url_decode(parts[2])):
                return None
            header = json.loads(_b64url_decode(parts[0]))
            payload = json.loads(_b64url_decode(parts[1]))
            if header.get("alg") != "HS256":
                return None
            now = self.now().replace(tzinfo=timezone.utc).timestamp()
            if now < float(payload["nbf"]) or now >= float(payload["exp"]):
                return None
            customer = self.customers.get(int(payload["CustomerId"]))
        except (ValueError, KeyError, TypeError, UnicodeEncodeError):
            return None
        if customer is None or customer["deleted"] or not customer["active"]:
            return None
        return customer

    def has_api_access(self, customer_id: int) -> bool:
        """The ACL permission "Access Web API Backend" (AccessWebApi)."""
        return customer_id in self.api_access

    def record_activity(self, customer: dict) -> None:
        customer["last_activity_date_utc"] = self.now()
