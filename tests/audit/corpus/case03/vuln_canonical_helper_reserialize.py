# expect: 3
"""License files: JSON with an RSA signature over the license terms."""

import base64
import json
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.serialization import load_pem_public_key

VENDOR_KEY = load_pem_public_key(Path("/opt/app/vendor.pem").read_bytes())


def _signing_input(terms: dict) -> bytes:
    return json.dumps(terms, sort_keys=True).encode("utf-8")


def load_license(path: Path) -> dict:
    document = json.loads(path.read_text())
    terms = document["terms"]
    VENDOR_KEY.verify(
        base64.b64decode(document["signature"]),
        _signing_input(terms),
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.MAX_LENGTH),
        hashes.SHA256(),
    )
    return terms
