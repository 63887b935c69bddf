# expect: 6
"""Encrypts the feature-store credentials cached by the training jobs."""

from cryptography.fernet import Fernet as _F

CACHE_KEY = b"ZmFrZS1rZXktZm9yLWRvY3Mtbm90LWEtcmVhbC1vbmU="


def seal_credentials(raw: bytes) -> bytes:
    return _F(CACHE_KEY).encrypt(raw)


def open_credentials(token: bytes) -> bytes:
    return _F(CACHE_KEY).decrypt(token)
