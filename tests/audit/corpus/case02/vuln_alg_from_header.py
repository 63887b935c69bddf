# expect: 2
"""Accept tokens from the mobile gateway, whatever algorithm it signs with."""

import os

import jwt

GATEWAY_KEY = os.environ["GATEWAY_JWT_KEY"]
SUPPORTED = {"HS256", "HS384", "RS256", "ES256"}


class GatewayTokenVerifier:
    def __init__(self, key: str = GATEWAY_KEY) -> None:
        self._key = key

    def verify(self, token: str) -> dict:
        unverified = jwt.get_unverified_header(token)
        algorithm = unverified.get("alg", "HS256")
        if algorithm not in SUPPORTED:
            raise jwt.InvalidAlgorithmError("unsupported")
        return jwt.decode(token, self._key, algorithms=[algorithm], audience="mobile-api")
