# expect: none
"""Client for the on-premises ERP, trusting the internal CA explicitly."""

import requests

ERP_BASE = "https://erp.internal.example.test/api"
INTERNAL_CA_BUNDLE = "/etc/ssl/certs/internal-ca.pem"


class ErpClient:
    def __init__(self, username: str, password: str) -> None:
        self._session = requests.Session()
        self._session.auth = (username, password)
        self._session.verify = INTERNAL_CA_BUNDLE

    def purchase_orders(self, since: str) -> list[dict]:
        response = self._session.get(
            f"{ERP_BASE}/purchase-orders", params={"since": since}, timeout=30
        )
        response.raise_for_status()
        return response.json()["items"]


def public_status() -> dict:
    return requests.get("https://status.example.test/api.json", verify=True, timeout=5).json()
