"""Shared helpers for token tests: keys, JWKs and hand-made tokens."""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def uint(value: int) -> str:
    return b64u(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def rsa_jwk(key: rsa.RSAPrivateKey, alg: str = "RS256", kid: str = "rsa-1") -> dict[str, Any]:
    numbers = key.public_key().public_numbers()
    return {"kty": "RSA", "alg": alg, "kid": kid, "n": uint(numbers.n), "e": uint(numbers.e)}


def ec_jwk(key: ec.EllipticCurvePrivateKey, kid: str = "ec-1") -> dict[str, Any]:
    numbers = key.public_key().public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "kid": kid,
        "x": b64u(numbers.x.to_bytes(32, "big")),
        "y": b64u(numbers.y.to_bytes(32, "big")),
    }


def okp_jwk(key: ed25519.Ed25519PrivateKey, kid: str = "ed-1") -> dict[str, Any]:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "kid": kid, "x": b64u(raw)}


def hs256(secret: bytes, data: bytes) -> bytes:
    mac = hmac.HMAC(secret, hashes.SHA256())
    mac.update(data)
    return mac.finalize()


def forge(header: dict[str, Any] | bytes, payload: dict[str, Any] | bytes, sign: Any) -> str:
    """A token with any header and payload, signed by `sign(signing_input) -> bytes`."""
    h = header if isinstance(header, bytes) else json.dumps(header).encode()
    p = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    signing_input = f"{b64u(h)}.{b64u(p)}"
    return f"{signing_input}.{b64u(sign(signing_input.encode()))}"
