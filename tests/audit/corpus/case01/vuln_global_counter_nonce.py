# expect: 1
"""Field-level encryption for the audit export job."""

from __future__ import annotations

import os

from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

_key = bytes.fromhex(os.environ["EXPORT_FIELD_KEY"])
_cipher = ChaCha20Poly1305(_key)
_message_counter = 0


def _next_nonce() -> bytes:
    global _message_counter
    _message_counter += 1
    return _message_counter.to_bytes(12, "little")


def seal_field(value: str, column: str) -> bytes:
    nonce = _next_nonce()
    return nonce + _cipher.encrypt(nonce, value.encode(), column.encode())


def open_field(blob: bytes, column: str) -> str:
    return _cipher.decrypt(blob[:12], blob[12:], column.encode()).decode()


def seal_row(row: dict[str, str]) -> dict[str, bytes]:
    return {column: seal_field(value, column) for column, value in row.items()}
