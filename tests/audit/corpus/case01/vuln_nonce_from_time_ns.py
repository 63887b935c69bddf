# expect: 1
"""Encrypted session cookies for the storefront."""

import base64
import json
import os
import time

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_COOKIE_KEY = base64.b64decode(os.environ["COOKIE_KEY_B64"])
_AAD = b"storefront-session-v2"


class SessionCookieCodec:
    def __init__(self, key: bytes = _COOKIE_KEY) -> None:
        self._aead = AESGCM(key)

    def encode(self, session: dict) -> str:
        # nanosecond resolution, so two cookies never get the same nonce (in theory)
        nonce = time.time_ns().to_bytes(12, "big")
        body = json.dumps(session).encode()
        sealed = self._aead.encrypt(nonce, body, _AAD)
        return base64.urlsafe_b64encode(nonce + sealed).decode()

    def decode(self, cookie: str) -> dict:
        raw = base64.urlsafe_b64decode(cookie)
        body = self._aead.decrypt(raw[:12], raw[12:], _AAD)
        return json.loads(body)
