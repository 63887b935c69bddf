"""Sample secrets for the redaction tests, made at run time (no literal keys in the tree)."""

from __future__ import annotations

import base64
import json
import re

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

MASK = re.compile(r"\[REDACTED:([a-z0-9:-]+?)(?::([0-9a-f]{8}))?\]")


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_jwt(sub: str = "alice") -> str:
    """A well-formed (HS256-shaped) JWT; the signature part is random-looking bytes."""
    header = b64u(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64u(json.dumps({"sub": sub, "iat": 1700000000}).encode())
    return f"{header}.{payload}.{b64u(bytes(range(7, 39)))}"


def make_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def masks(text: str) -> list[tuple[str, str | None]]:
    """The (kind, fingerprint) of every mask in `text`."""
    return [(m.group(1), m.group(2)) for m in MASK.finditer(text)]
