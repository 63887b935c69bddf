# expect: none
"""Serves our public signing keys so that partners can verify our tokens."""

import json
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from jwt.algorithms import ECAlgorithm

KEY_DIR = Path("/etc/issuer/public")


def load_public_keys() -> dict[str, object]:
    keys = {}
    for pem in sorted(KEY_DIR.glob("*.pem")):
        keys[pem.stem] = serialization.load_pem_public_key(pem.read_bytes())
    return keys


def jwks_document() -> str:
    entries = []
    for kid, key in load_public_keys().items():
        jwk = json.loads(ECAlgorithm.to_jwk(key))
        jwk.update({"kid": kid, "use": "sig", "alg": "ES256"})
        entries.append(jwk)
    return json.dumps({"keys": entries})
