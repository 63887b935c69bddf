# expect: none
"""Loads verification keys and logs which ones are in use."""

import hashlib
import logging
from pathlib import Path

from cryptography.hazmat.primitives import serialization

log = logging.getLogger(__name__)


def fingerprint(public_key) -> str:
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()[:16]


def load_verification_keys(directory: Path) -> dict[str, object]:
    keys = {}
    for path in sorted(directory.glob("*.pem")):
        key = serialization.load_pem_public_key(path.read_bytes())
        kid = path.stem
        keys[kid] = key
        log.info("loaded verification key kid=%s fingerprint=%s", kid, fingerprint(key))
    return keys
