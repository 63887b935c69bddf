# expect: 7
"""User registration and login for the community forum."""

import hashlib
import hmac
import os

from .db import users


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or os.urandom(16)
    digest = hashlib.md5(salt + password.encode()).hexdigest()
    return f"{salt.hex()}${digest}"


def register(username: str, password: str) -> None:
    users.insert(username=username, password_hash=hash_password(password))


def check_password(username: str, password: str) -> bool:
    row = users.get(username=username)
    if row is None:
        return False
    salt_hex, _, _ = row.password_hash.partition("$")
    return hmac.compare_digest(row.password_hash, hash_password(password, bytes.fromhex(salt_hex)))
