"""`SignatureKey`: a key bound to exactly one RFC 9421 algorithm (§3.3).

The algorithm comes from the key, never from the message: a verifier looks a key up by
`keyid` in its trusted keyset and uses that key's algorithm; an `alg` parameter may only
agree. Verification reuses the checks of `cryptorails.tokens._signing` (exact signature
lengths, ECDSA scalars in range); RSA-PSS with SHA-512 is added here.
"""

from __future__ import annotations

import enum

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from cryptorails.algorithms import Algorithm
from cryptorails.secret import Secret
from cryptorails.tokens._signing import (
    HS256_MIN_KEY_BYTES,
    VerifyKey,
    ecdsa_p256_key,
    ed25519_key,
    hs256_key,
    rsa_key,
)

__all__ = ["HttpSigAlgorithm", "SignatureKey"]

MIN_RSA_BITS = 2048
MAX_RSA_BITS = 8192  # bounds the work one forged request can cause
# RFC 9421 §3.3.1: RSASSA-PSS with SHA-512, MGF1 with SHA-512, 64-byte salt.
_PSS_SHA512 = padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=64)


class HttpSigAlgorithm(enum.Enum):
    """The RFC 9421 §6.2.2 algorithm names this module implements."""

    ED25519 = "ed25519"
    ECDSA_P256_SHA256 = "ecdsa-p256-sha256"
    RSA_PSS_SHA512 = "rsa-pss-sha512"
    RSA_V1_5_SHA256 = "rsa-v1_5-sha256"
    HMAC_SHA256 = "hmac-sha256"


PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey
KeyMaterial = PrivateKey | PublicKey | Secret


def _rsa_pss_sha512(public: rsa.RSAPublicKey) -> VerifyKey:
    size = (public.key_size + 7) // 8

    def check(signature: bytes, data: bytes) -> bool:
        if len(signature) != size:  # RFC 8017 §8.1.2 step 1
            return False
        public.verify(signature, data, _PSS_SHA512, hashes.SHA512())
        return True

    return VerifyKey(Algorithm.PS256, check)  # the JOSE label is unused here


class SignatureKey:
    """A key for one RFC 9421 algorithm: a private key (signs and verifies), a public key
    (verifies) or an HMAC `Secret` (both).

    Args:
        algorithm: the key's one algorithm (enum or its RFC name).
        key: Ed25519, P-256 or RSA (2048-8192 bits) pyca key, or a `Secret` of at least
            32 bytes for ``hmac-sha256``.

    Raises:
        TypeError: the key does not fit the algorithm. ValueError: bad size or curve.
    """

    __slots__ = ("_private", "_verify", "algorithm")

    def __init__(self, algorithm: HttpSigAlgorithm | str, key: KeyMaterial) -> None:
        alg = HttpSigAlgorithm(algorithm)
        self.algorithm = alg
        self._private: PrivateKey | Secret | None = None
        if alg is HttpSigAlgorithm.HMAC_SHA256:
            if not isinstance(key, Secret):
                raise TypeError("an hmac-sha256 key is a Secret")
            if len(key) < HS256_MIN_KEY_BYTES:
                raise ValueError(f"an hmac-sha256 key has at least {HS256_MIN_KEY_BYTES} bytes")
            self._private = key
            self._verify = hs256_key(key)
            return
        if isinstance(key, Secret):
            raise TypeError(f"a {alg.value} key is an asymmetric key, not a Secret")
        public = key.public_key() if hasattr(key, "public_key") else key
        if alg is HttpSigAlgorithm.ED25519:
            if not isinstance(public, ed25519.Ed25519PublicKey):
                raise TypeError("an ed25519 key is an Ed25519 key")
            self._verify = ed25519_key(public)
        elif alg is HttpSigAlgorithm.ECDSA_P256_SHA256:
            if not isinstance(public, ec.EllipticCurvePublicKey):
                raise TypeError("an ecdsa-p256-sha256 key is an EC key")
            self._verify = ecdsa_p256_key(public)  # refuses curves other than P-256
        else:
            if not isinstance(public, rsa.RSAPublicKey):
                raise TypeError(f"an {alg.value} key is an RSA key")
            if not MIN_RSA_BITS <= public.key_size <= MAX_RSA_BITS:
                raise ValueError(f"RSA keys have {MIN_RSA_BITS} to {MAX_RSA_BITS} bits")
            if alg is HttpSigAlgorithm.RSA_PSS_SHA512:
                self._verify = _rsa_pss_sha512(public)
            else:
                self._verify = rsa_key(Algorithm.RS256, public)  # PKCS #1 v1.5, SHA-256
        if isinstance(
            key, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
        ):
            self._private = key

    @property
    def can_sign(self) -> bool:
        return self._private is not None

    def verify(self, signature: bytes, data: bytes) -> bool:
        """Whether `signature` is valid for `data` under this key and its algorithm."""
        return self._verify.verify(signature, data)

    def sign(self, data: bytes) -> bytes:
        """Sign `data` (ECDSA as r || s, 32 bytes each, RFC 9421 §3.3.4).

        Raises:
            ValueError: a public key (it can only verify).
        """
        key = self._private
        if key is None:
            raise ValueError("this SignatureKey holds a public key and cannot sign")
        if isinstance(key, Secret):
            mac = hmac.HMAC(key.reveal(), hashes.SHA256())
            mac.update(data)
            return mac.finalize()
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return key.sign(data)
        if isinstance(key, ec.EllipticCurvePrivateKey):
            r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")
        if self.algorithm is HttpSigAlgorithm.RSA_PSS_SHA512:
            return key.sign(data, _PSS_SHA512, hashes.SHA512())
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())

    def __repr__(self) -> str:
        kind = "private" if self._private is not None else "public"
        return f"SignatureKey({self.algorithm.value}, {kind})"
