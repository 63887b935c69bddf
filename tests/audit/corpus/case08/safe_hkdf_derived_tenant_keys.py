# expect: none
"""Per-tenant keys derived from a root key held in the HSM-backed secret store."""

import os
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_ROOT_KEY = bytes.fromhex(os.environ["ROOT_DATA_KEY"])


@lru_cache(maxsize=4096)
def _tenant_aead(tenant_id: str) -> AESGCM:
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=f"tenant:{tenant_id}".encode()
    ).derive(_ROOT_KEY)
    return AESGCM(derived)


def seal(tenant_id: str, record_id: str, data: bytes) -> bytes:
    nonce = os.urandom(12)
    aad = f"{tenant_id}/{record_id}".encode()
    return nonce + _tenant_aead(tenant_id).encrypt(nonce, data, aad)


def unseal(tenant_id: str, record_id: str, blob: bytes) -> bytes:
    aad = f"{tenant_id}/{record_id}".encode()
    return _tenant_aead(tenant_id).decrypt(blob[:12], blob[12:], aad)
