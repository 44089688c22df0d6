"""Shared helpers for the nopCommerce simulator tests: an empty shop (reset `{"empty": true}`),
an admin token, and small builders over the control API. Everything goes over real HTTP."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from bp_nop_dagster.sandbox.server import RunningSandbox

ADDRESS = {"address1": "1 High Street", "city": "London", "zip_postal_code": "SW1A 1AA", "country_iso2": "GB"}


class Nop:
    def __init__(self, sandbox: RunningSandbox) -> None:
        self.root = sandbox.urls.nopcommerce_root
        self.base = sandbox.urls.nopcommerce_base_url
        self.world = sandbox.world
        self.http = requests.Session()
        self.token = self.get_token()

    # -- API
    def get_token(self, email: str = "admin@sandbox.test", password: str = "sandbox") -> str:
        response = self.http.post(f"{self.base}/Authenticate/GetToken", json={"username": "", "email": email, "password": password}, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()["token"]

    def call(self, method: str, path: str, *, token: str | None = None, bare: bool = False, **kwargs: Any) -> requests.Response:
        token = token or self.token
        headers = {"Authorization": token if bare else f"Bearer {token}"}
        headers.update(kwargs.pop("headers", {}))
        return self.http.request(method, f"{self.base}{path}", headers=headers, timeout=15, **kwargs)

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.call("GET", path, params=params)

    def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.call(method, path, **kwargs)
        assert response.status_code == 200, (response.status_code, response.text)
        return response.json() if response.content else None

    # -- control
    def control(self, method: str, path: str, body: Any = None) -> requests.Response:
        return self.http.request(method, f"{self.root}/__sandbox__{path}", json=body, timeout=15)

    def controlled(self, method: str, path: str, body: Any = None) -> Any:
        response = self.control(method, path, body)
        assert response.status_code in (200, 201), (response.status_code, response.text)
        return response.json()

    def product(self, sku: str, **fields: Any) -> dict:
        return self.controlled("POST", "/products", {"sku": sku, **fields})

    def warehouse(self, name: str) -> int:
        return self.controlled("POST", "/warehouses", {"name": name})["id"]

    def order(self, items: list[tuple[str, int]], **fields: Any) -> dict:
        body = {"email": "shopper@example.com", "first_name": "Ann", "last_name": "Shopper", "address": ADDRESS,
                "items": [{"sku": sku, "quantity": quantity} for sku, quantity in items]}
        body.update(fields)
        return self.controlled("POST", "/orders", body)


@pytest.fixture
def nop(sandbox: RunningSandbox) -> Nop:
    """An empty nopCommerce shop (countries, admin, clerk only) and an admin token."""
    response = requests.post(f"{sandbox.urls.nopcommerce_root}/__sandbox__/reset", json={"empty": True}, timeout=30)
    assert response.status_code == 200, response.text
    return Nop(sandbox)
