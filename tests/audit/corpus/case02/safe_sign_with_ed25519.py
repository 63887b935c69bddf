# expect: none
"""Signs release manifests; verification uses the single published key."""

import json
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)


def sign_manifest(manifest_path: Path) -> bytes:
    key_bytes = bytes.fromhex(os.environ["RELEASE_SIGNING_KEY"])
    key = Ed25519PrivateKey.from_private_bytes(key_bytes)
    return key.sign(manifest_path.read_bytes())


def load_verified_manifest(manifest_path: Path, signature: bytes, public_raw: bytes) -> dict:
    data = manifest_path.read_bytes()
    try:
        Ed25519PublicKey.from_public_bytes(public_raw).verify(signature, data)
    except InvalidSignature:
        raise SystemExit("manifest signature is not valid") from None
    return json.loads(data)
