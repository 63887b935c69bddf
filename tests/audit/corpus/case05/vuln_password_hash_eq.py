# expect: 5
"""Login for the legacy admin tool (PBKDF2 hashes stored as hex)."""

import hashlib
import os

from .db import fetch_admin

ITERATIONS = 600_000


def hash_password(password: str, salt: bytes) -> str:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, ITERATIONS).hex()


def authenticate(username: str, password: str) -> bool:
    admin = fetch_admin(username)
    if admin is None:
        hash_password(password, os.urandom(16))  # keep the timing of unknown users similar
        return False
    candidate = hash_password(password, bytes.fromhex(admin.salt))
    return candidate == admin.password_hash
