# expect: 2
"""Reads encrypted profile blobs written by the old and the new service."""

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_current = AESGCM(bytes.fromhex(os.environ["PROFILE_KEY"]))
_legacy = AESGCM(bytes.fromhex(os.environ["PROFILE_KEY_LEGACY"]))
AAD = b"profile/v2"


def open_profile(blob: bytes) -> bytes:
    nonce, sealed = blob[:12], blob[12:]
    try:
        return _current.decrypt(nonce, sealed, AAD)
    except InvalidTag:
        # blobs from before the 2023 migration
        return _legacy.decrypt(nonce, sealed, AAD)


def seal_profile(data: bytes) -> bytes:
    nonce = os.urandom(12)
    return nonce + _current.encrypt(nonce, data, AAD)
