# expect: none
"""Encrypted session cookies (random nonces)."""

import base64
import json
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_SIZE = 12
_AAD = b"storefront-session-v3"


def new_nonce() -> bytes:
    return os.urandom(NONCE_SIZE)


class SessionCookieCodec:
    def __init__(self) -> None:
        self._aead = AESGCM(base64.b64decode(os.environ["COOKIE_KEY_B64"]))

    def encode(self, session: dict) -> str:
        nonce = new_nonce()
        sealed = self._aead.encrypt(nonce, json.dumps(session).encode(), _AAD)
        return base64.urlsafe_b64encode(nonce + sealed).decode()

    def decode(self, cookie: str) -> dict:
        raw = base64.urlsafe_b64decode(cookie)
        nonce, sealed = raw[:NONCE_SIZE], raw[NONCE_SIZE:]
        return json.loads(self._aead.decrypt(nonce, sealed, _AAD))
