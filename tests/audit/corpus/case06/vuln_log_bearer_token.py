# expect: 6
"""Client for the partner inventory API."""

import logging

import requests

log = logging.getLogger(__name__)
API_BASE = "https://inventory.partner.example.test/v2"


class InventoryClient:
    def __init__(self, access_token: str) -> None:
        self._token = access_token
        self._session = requests.Session()

    def stock_level(self, sku: str) -> int:
        url = f"{API_BASE}/stock/{sku}"
        log.info("GET %s using token %s", url, self._token)
        response = self._session.get(
            url, headers={"Authorization": f"Bearer {self._token}"}, timeout=10
        )
        response.raise_for_status()
        return int(response.json()["available"])
