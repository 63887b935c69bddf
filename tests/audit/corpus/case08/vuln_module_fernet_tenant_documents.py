# expect: 8
"""Document storage for the multi-tenant contracts app."""

import os

from cryptography.fernet import Fernet

from .storage import blob_store

DOCUMENT_FERNET = Fernet(os.environ["DOCUMENT_KEY"].encode())


def store_document(tenant_id: str, document_id: str, content: bytes) -> str:
    path = f"{tenant_id}/{document_id}"
    blob_store.put(path, DOCUMENT_FERNET.encrypt(content))
    return path


def load_document(tenant_id: str, document_id: str) -> bytes:
    return DOCUMENT_FERNET.decrypt(blob_store.get(f"{tenant_id}/{document_id}"))
