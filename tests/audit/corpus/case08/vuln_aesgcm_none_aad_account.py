# expect: 8
"""Monthly statements, encrypted before they go to object storage."""

import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .keys import statement_key_for


def seal_statement(account_id: int, month: str, pdf: bytes) -> bytes:
    aead = AESGCM(statement_key_for(account_id))
    nonce = os.urandom(12)
    return nonce + aead.encrypt(nonce, pdf, None)


def open_statement(account_id: int, blob: bytes) -> bytes:
    aead = AESGCM(statement_key_for(account_id))
    return aead.decrypt(blob[:12], blob[12:], None)
