# expect: 8
"""Encrypted custom fields of CRM records."""

import os

from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from .kms import tenant_data_key


class CustomFieldCipher:
    def encrypt_field(self, tenant: str, record_id: int, field: str, value: str) -> bytes:
        aead = ChaCha20Poly1305(tenant_data_key(tenant))
        nonce = os.urandom(12)
        return nonce + aead.encrypt(nonce, value.encode(), b"")

    def decrypt_field(self, tenant: str, record_id: int, field: str, blob: bytes) -> str:
        aead = ChaCha20Poly1305(tenant_data_key(tenant))
        return aead.decrypt(blob[:12], blob[12:], b"").decode()
