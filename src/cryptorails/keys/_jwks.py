"""The public JWK (RFC 7517) of a keyring signing key, for publishing as a JWKS."""

from __future__ import annotations

import base64
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from cryptorails.algorithms import Algorithm, load_private_key
from cryptorails.keys._model import Key, KeyState

__all__ = ["public_jwk", "publishable"]


def _b64u(data: bytes) -> str:
    # RFC 7515 §2: base64url without padding.
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def publishable(key: Key) -> bool:
    """Whether `key` belongs in a public JWKS: an asymmetric key that may still verify, or
    one about to be promoted (publishing a pre-activation key lets relying parties fetch it
    before the first token signed with it arrives)."""
    return (
        (key.can_open or key.state is KeyState.PRE_ACTIVATION)
        and key.material is not None
        and key.algorithm in (Algorithm.ED25519, Algorithm.ES256)
    )


def public_jwk(key: Key) -> dict[str, Any]:
    """The public JWK of a keyring Ed25519 or ES256 key (no private members).

    `kid` is the decimal string of the key's uint32 id, as in the tokens' headers.

    Raises:
        ValueError: not a publishable key (HS256 and AEAD keys are secret by nature).
    """
    if not publishable(key):
        raise ValueError(f"key {key.kid} ({key.algorithm.value}) has no public JWK")
    assert key.material is not None
    public = load_private_key(key.algorithm, key.material.reveal()).public_key()
    common = {"kid": str(key.kid), "alg": key.algorithm.value, "use": "sig"}
    if isinstance(public, ec.EllipticCurvePublicKey):
        # RFC 7518 §6.2.1: x and y are the full 32-byte big-endian coordinates.
        numbers = public.public_numbers()
        return {
            "kty": "EC",
            "crv": "P-256",
            "x": _b64u(numbers.x.to_bytes(32, "big")),
            "y": _b64u(numbers.y.to_bytes(32, "big")),
            **common,
        }
    # RFC 8037 §2: an Ed25519 public key is an OKP key with the 32 raw bytes in x.
    raw = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": _b64u(raw), **common}
