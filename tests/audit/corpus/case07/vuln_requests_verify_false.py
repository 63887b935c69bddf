# expect: 7
"""Client for the on-premises ERP (self-signed certificate)."""

import requests

ERP_BASE = "https://erp.internal.example.test/api"


class ErpClient:
    def __init__(self, username: str, password: str) -> None:
        self._session = requests.Session()
        self._session.auth = (username, password)

    def purchase_orders(self, since: str) -> list[dict]:
        response = self._session.get(
            f"{ERP_BASE}/purchase-orders",
            params={"since": since},
            verify=False,
            timeout=30,
        )
        response.raise_for_status()
        return response.json()["items"]
