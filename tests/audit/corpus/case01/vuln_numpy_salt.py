# expect: 1
"""Derives per-file keys for the research data vault."""

import hashlib

import numpy as np

PBKDF2_ROUNDS = 600_000


def new_salt() -> bytes:
    return np.random.bytes(16)


def derive_file_key(passphrase: str, salt: bytes | None = None) -> tuple[bytes, bytes]:
    salt = salt if salt is not None else new_salt()
    key = hashlib.pbkdf2_hmac("sha256", passphrase.encode(), salt, PBKDF2_ROUNDS, dklen=32)
    return salt, key


def key_for_dataset(passphrase: str, manifest: dict) -> bytes:
    salt, key = derive_file_key(passphrase)
    manifest["kdf"] = {"alg": "pbkdf2-sha256", "rounds": PBKDF2_ROUNDS, "salt": salt.hex()}
    return key
