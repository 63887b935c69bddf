"""Per-algorithm signing and verification over bytes, and base64url (RFC 7515 §2).

Every check here fails closed and returns False rather than raising, so that the JWS
layer turns every cause into the one `VerificationError`. Encodings are checked before
pyca sees them: a signature has exactly the length its algorithm defines, and ECDSA
(r, s) must lie in [1, n-1] (the "psychic signature" bug, CVE-2022-21449, accepted
r = s = 0). Primitives are pyca's; nothing here implements a signature scheme.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from cryptorails.algorithms import Algorithm, load_private_key
from cryptorails.keys import Key
from cryptorails.secret import Secret

__all__ = [
    "HS256_MIN_KEY_BYTES",
    "VerifyKey",
    "b64u_decode",
    "b64u_encode",
    "ecdsa_p256_key",
    "ed25519_key",
    "hs256_key",
    "key_for",
    "rsa_key",
    "sign",
]

# RFC 7518 §3.2: an HS256 key must be at least as long as the hash output.
HS256_MIN_KEY_BYTES = 32
# The order n of the P-256 base point (SEC 2 §2.4.2, FIPS 186-4 §D.1.2.3).
_P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_B64U = re.compile(r"[A-Za-z0-9_-]*")
# RFC 7518 §3.5: PS256 uses MGF1 with SHA-256 and a salt as long as the hash (32).
_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)


def b64u_encode(data: bytes) -> str:
    """base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(text: str) -> bytes | None:
    """Strict base64url without padding, or None.

    Refuses padding, whitespace, characters outside the URL-safe alphabet, impossible
    lengths and non-zero unused bits: every byte string has exactly one accepted text,
    so no two different tokens carry the same signed bytes.
    """
    if len(text) % 4 == 1 or _B64U.fullmatch(text) is None:
        return None
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64u_encode(data) != text:
        return None  # unused low bits of the last character were not zero
    return data


class VerifyKey:
    """A key that checks signatures of exactly one algorithm."""

    __slots__ = ("_check", "algorithm")

    def __init__(self, algorithm: Algorithm, check: Callable[[bytes, bytes], bool]) -> None:
        self.algorithm = algorithm
        self._check = check

    def verify(self, signature: bytes, data: bytes) -> bool:
        """Whether `signature` is valid for `data` under this key."""
        try:
            return self._check(signature, data)
        except (InvalidSignature, ValueError):
            return False

    def __repr__(self) -> str:
        return f"VerifyKey({self.algorithm.value})"


def ed25519_key(public: ed25519.Ed25519PublicKey) -> VerifyKey:
    """An EdDSA (Ed25519, RFC 8032) verification key."""

    def check(signature: bytes, data: bytes) -> bool:
        if len(signature) != 64:  # RFC 8032 §5.1.7: R (32) || S (32)
            return False
        public.verify(signature, data)  # OpenSSL also refuses S >= L (malleability)
        return True

    return VerifyKey(Algorithm.ED25519, check)


def ecdsa_p256_key(public: ec.EllipticCurvePublicKey) -> VerifyKey:
    """An ES256 verification key: P-256, SHA-256, IEEE P1363 signatures r || s."""
    if not isinstance(public.curve, ec.SECP256R1):
        raise ValueError("ES256 needs a P-256 key")

    def check(signature: bytes, data: bytes) -> bool:
        if len(signature) != 64:  # RFC 7518 §3.4: 32-byte r || 32-byte s, no DER
            return False
        r = int.from_bytes(signature[:32], "big")
        s = int.from_bytes(signature[32:], "big")
        if not (0 < r < _P256_N and 0 < s < _P256_N):
            return False  # FIPS 186-4 §6.4.2 step 1; r = s = 0 is the psychic signature
        public.verify(encode_dss_signature(r, s), data, ec.ECDSA(hashes.SHA256()))
        return True

    return VerifyKey(Algorithm.ES256, check)


def rsa_key(algorithm: Algorithm, public: rsa.RSAPublicKey) -> VerifyKey:
    """An RS256 (PKCS #1 v1.5) or PS256 (PSS) verification key with SHA-256."""
    if algorithm not in (Algorithm.RS256, Algorithm.PS256):
        raise ValueError(f"{algorithm.value} is not an RSA algorithm")
    size = (public.key_size + 7) // 8
    pad: padding.AsymmetricPadding = _PSS if algorithm is Algorithm.PS256 else padding.PKCS1v15()

    def check(signature: bytes, data: bytes) -> bool:
        if len(signature) != size:  # RFC 8017 §8.1.2/§8.2.2 step 1
            return False
        public.verify(signature, data, pad, hashes.SHA256())
        return True

    return VerifyKey(algorithm, check)


def hs256_key(secret: Secret) -> VerifyKey:
    """An HS256 (HMAC-SHA256) key; the tag is compared in constant time by pyca."""
    if not isinstance(secret, Secret):
        raise TypeError("an HS256 key is a Secret")
    if len(secret) < HS256_MIN_KEY_BYTES:
        raise ValueError(f"an HS256 key has at least {HS256_MIN_KEY_BYTES} bytes")

    def check(signature: bytes, data: bytes) -> bool:
        if len(signature) != 32:  # full 256-bit tags only; no truncation
            return False
        mac = hmac.HMAC(secret.reveal(), hashes.SHA256())
        mac.update(data)
        mac.verify(signature)
        return True

    return VerifyKey(Algorithm.HS256, check)


def key_for(key: Key) -> VerifyKey:
    """The verification key of a keyring key (Ed25519, ES256 or HS256), cached per key.

    Raises:
        ValueError: an AEAD key, a destroyed key, or malformed material.
    """
    cached = key._cache.get("tokens/verify")
    if isinstance(cached, VerifyKey):
        return cached
    if key.material is None:
        raise ValueError(f"key {key.kid} is destroyed")
    if key.algorithm is Algorithm.HS256:
        verify_key = hs256_key(key.material)
    elif key.algorithm in (Algorithm.ED25519, Algorithm.ES256):
        public = load_private_key(key.algorithm, key.material.reveal()).public_key()
        if isinstance(public, ed25519.Ed25519PublicKey):
            verify_key = ed25519_key(public)
        else:
            verify_key = ecdsa_p256_key(public)
    else:
        raise ValueError(f"{key.algorithm.value} keys cannot verify tokens")
    key._cache["tokens/verify"] = verify_key
    return verify_key


def sign(key: Key, data: bytes) -> bytes:
    """Sign `data` with a keyring key: Ed25519, ES256 (P1363 r || s) or HS256.

    Raises:
        ValueError: an AEAD or destroyed key.
    """
    if key.material is None:
        raise ValueError(f"key {key.kid} is destroyed")
    if key.algorithm is Algorithm.HS256:
        mac = hmac.HMAC(key.material.reveal(), hashes.SHA256())
        mac.update(data)
        return mac.finalize()
    private = key._cache.get("tokens/sign")
    if private is None:
        private = load_private_key(key.algorithm, key.material.reveal())
        key._cache["tokens/sign"] = private
    if isinstance(private, ed25519.Ed25519PrivateKey):
        return private.sign(data)
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    r, s = decode_dss_signature(private.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")
