# expect: none
"""Document storage: one key per tenant, and tenant and document bound into the AAD."""

import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .kms import tenant_data_key
from .storage import blob_store


def _aad(tenant_id: str, document_id: str) -> bytes:
    return f"contracts/v1|tenant={tenant_id}|doc={document_id}".encode()


def store_document(tenant_id: str, document_id: str, content: bytes) -> str:
    aead = AESGCM(tenant_data_key(tenant_id))
    nonce = os.urandom(12)
    path = f"{tenant_id}/{document_id}"
    blob_store.put(path, nonce + aead.encrypt(nonce, content, _aad(tenant_id, document_id)))
    return path


def load_document(tenant_id: str, document_id: str) -> bytes:
    blob = blob_store.get(f"{tenant_id}/{document_id}")
    aead = AESGCM(tenant_data_key(tenant_id))
    return aead.decrypt(blob[:12], blob[12:], _aad(tenant_id, document_id))
