# expect: 7
"""PIN hashing for the kiosk app."""

import hashlib
import hmac

PIN_SALT = b"kiosk-app-pin-salt"


def hash_pin(pin: str) -> bytes:
    return hashlib.scrypt(pin.encode(), salt=PIN_SALT, n=2**14, r=8, p=1, dklen=32)


def set_pin(profile, pin: str) -> None:
    if not (pin.isdigit() and 4 <= len(pin) <= 8):
        raise ValueError("PIN must be 4 to 8 digits")
    profile.pin_hash = hash_pin(pin)


def check_pin(profile, pin: str) -> bool:
    return hmac.compare_digest(profile.pin_hash, hash_pin(pin))
