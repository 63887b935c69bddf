# expect: none
"""PIN hashing for the kiosk app, with a random salt per profile."""

import hashlib
import hmac
import os

SCRYPT_N = 2**15


def hash_pin(pin: str, salt: bytes) -> bytes:
    return hashlib.scrypt(pin.encode(), salt=salt, n=SCRYPT_N, r=8, p=1, maxmem=64 * 2**20)


def set_pin(profile, pin: str) -> None:
    if not (pin.isdigit() and 4 <= len(pin) <= 8):
        raise ValueError("PIN must be 4 to 8 digits")
    profile.pin_salt = os.urandom(16)
    profile.pin_hash = hash_pin(pin, profile.pin_salt)


def check_pin(profile, pin: str) -> bool:
    return hmac.compare_digest(profile.pin_hash, hash_pin(pin, profile.pin_salt))
