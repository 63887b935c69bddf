# expect: none
"""Encrypted password-less login links; the timestamp is inside the sealed payload."""

import base64
import json
import os
import secrets
import time

from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

LINK_AAD = b"magic-link/v1"


class MagicLinks:
    def __init__(self) -> None:
        self._aead = ChaCha20Poly1305(bytes.fromhex(os.environ["MAGIC_LINK_KEY"]))

    def make(self, email: str) -> str:
        issued = int(time.time())
        payload = json.dumps({"email": email, "iat": issued}).encode()
        nonce = secrets.token_bytes(12)
        sealed = self._aead.encrypt(nonce, payload, LINK_AAD)
        return base64.urlsafe_b64encode(nonce + sealed).decode()
