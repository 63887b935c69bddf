# expect: none
"""OAuth client: refreshes tokens when the provider says so."""

import requests

TOKEN_URL = "https://auth.example.test/oauth/token"


class OAuthClient:
    def __init__(self, client_id: str, client_secret: str) -> None:
        self._client_id = client_id
        self._client_secret = client_secret
        self._session = requests.Session()

    def refresh(self, refresh_token: str) -> dict:
        response = self._session.post(
            TOKEN_URL,
            data={"grant_type": "refresh_token", "refresh_token": refresh_token},
            auth=(self._client_id, self._client_secret),
            timeout=10,
        )
        if response.status_code == 401:
            raise PermissionError("refresh rejected")
        response.raise_for_status()
        grant = response.json()
        if grant.get("token_type", "").lower() != "bearer":
            raise ValueError("unsupported token type")
        return grant
