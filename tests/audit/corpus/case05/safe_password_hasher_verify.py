# expect: none
"""Login with Argon2id password hashes."""

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError, VerifyMismatchError

from .db import fetch_user, save_hash

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def authenticate(email: str, password: str):
    user = fetch_user(email)
    stored = user.password_hash if user is not None else _DUMMY_HASH
    try:
        _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError):
        return None
    if user is None:
        return None
    if _hasher.check_needs_rehash(stored):
        save_hash(user, _hasher.hash(password))
    return user
