# expect: none
"""Keeps one AEAD instance per tenant, loaded lazily from the vault."""

import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class TenantCiphers:
    def __init__(self, vault) -> None:
        self._vault = vault
        self._ciphers: dict[str, AESGCM] = {}

    def _for(self, tenant_id: str) -> AESGCM:
        if tenant_id not in self._ciphers:
            self._ciphers[tenant_id] = AESGCM(self._vault.data_key(tenant_id))
        return self._ciphers[tenant_id]

    def encrypt(self, tenant_id: str, record_id: str, plaintext: bytes) -> bytes:
        nonce = os.urandom(12)
        aad = b"|".join([b"v1", tenant_id.encode(), record_id.encode()])
        return nonce + self._for(tenant_id).encrypt(nonce, plaintext, aad)

    def decrypt(self, tenant_id: str, record_id: str, blob: bytes) -> bytes:
        aad = b"|".join([b"v1", tenant_id.encode(), record_id.encode()])
        return self._for(tenant_id).decrypt(blob[:12], blob[12:], aad)
