# expect: none
"""Derives the encryption key for exported archives from the user's passphrase."""

import base64
import os

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

ITERATIONS = 600_000
SALT_BYTES = 16


def key_from_passphrase(passphrase: str, salt: bytes) -> bytes:
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=ITERATIONS)
    return base64.urlsafe_b64encode(kdf.derive(passphrase.encode()))


def encrypt_archive(data: bytes, passphrase: str) -> bytes:
    salt = os.urandom(SALT_BYTES)
    return salt + Fernet(key_from_passphrase(passphrase, salt)).encrypt(data)


def decrypt_archive(blob: bytes, passphrase: str) -> bytes:
    salt, token = blob[:SALT_BYTES], blob[SALT_BYTES:]
    return Fernet(key_from_passphrase(passphrase, salt)).decrypt(token)
