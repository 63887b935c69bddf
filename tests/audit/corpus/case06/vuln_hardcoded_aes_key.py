# expect: 6
"""Encrypts the cached credit-check responses on disk."""

import os
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

AES_KEY = b"0123456789abcdef0123456789abcdef"
CACHE_DIR = Path("/var/cache/credit-checks")


def store(name: str, response: bytes) -> Path:
    nonce = os.urandom(12)
    sealed = AESGCM(AES_KEY).encrypt(nonce, response, name.encode())
    path = CACHE_DIR / f"{name}.bin"
    path.write_bytes(nonce + sealed)
    return path


def load(name: str) -> bytes:
    blob = (CACHE_DIR / f"{name}.bin").read_bytes()
    return AESGCM(AES_KEY).decrypt(blob[:12], blob[12:], name.encode())
