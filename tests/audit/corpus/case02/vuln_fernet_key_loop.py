# expect: 2
"""Decrypt stored OAuth refresh tokens, whichever key they were sealed with."""

import os

from cryptography.fernet import Fernet, InvalidToken

# Comma-separated list; the first one encrypts, all of them decrypt.
FERNET_KEYS = [k.strip().encode() for k in os.environ["TOKEN_VAULT_KEYS"].split(",")]


def seal_refresh_token(token: str) -> bytes:
    return Fernet(FERNET_KEYS[0]).encrypt(token.encode())


def open_refresh_token(blob: bytes) -> str:
    for key in FERNET_KEYS:
        try:
            return Fernet(key).decrypt(blob).decode()
        except InvalidToken:
            continue
    raise PermissionError("cannot decrypt refresh token")
