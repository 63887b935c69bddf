# expect: 8
"""Encrypted notes for the collaborative workspace product."""

import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCMSIV

from .vault import workspace_key


def encrypt_note(workspace_id: str, note_id: str, body: str) -> bytes:
    cipher = AESGCMSIV(workspace_key(workspace_id))
    nonce = os.urandom(12)
    return nonce + cipher.encrypt(nonce, body.encode(), associated_data=None)


def decrypt_note(workspace_id: str, note_id: str, blob: bytes) -> str:
    cipher = AESGCMSIV(workspace_key(workspace_id))
    return cipher.decrypt(blob[:12], blob[12:], associated_data=None).decode()
