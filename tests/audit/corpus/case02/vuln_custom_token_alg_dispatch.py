# expect: 2
"""Minimal signed-token format used by the legacy desktop client."""

import base64
import hashlib
import hmac
import json

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding


def _b64(data: str) -> bytes:
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))


def verify(token: str, hmac_secret: bytes, rsa_public_key) -> dict:
    head, body, sig = token.split(".")
    header = json.loads(_b64(head))
    signed = f"{head}.{body}".encode()
    if header["alg"] == "HS256":
        expected = hmac.new(hmac_secret, signed, hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _b64(sig)):
            raise ValueError("invalid token")
    else:
        rsa_public_key.verify(_b64(sig), signed, padding.PKCS1v15(), hashes.SHA256())
    return json.loads(_b64(body))
