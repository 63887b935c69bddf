"""Every algorithm a cryptorails key can have, and what kind of key it is.

A key's algorithm is fixed when the key is made and stored with it. Whatever a blob
header or a token header says, the key decides the algorithm; an input may only agree.
"""

from __future__ import annotations

import enum
import os

from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from cryptorails.errors import ConfigurationError

__all__ = ["Algorithm", "KeyKind", "load_private_key", "new_key_material"]


class KeyKind(enum.Enum):
    """What a key is for. A key of one kind is never used as another."""

    AEAD = "aead"
    SIGNATURE = "signature"
    MAC = "mac"


class Algorithm(enum.Enum):
    """An algorithm. The value is the name used in keystores, CLI, JOSE and CBOM."""

    XAES_256_GCM = "XAES-256-GCM"
    AES_256_GCM_SIV = "AES-256-GCM-SIV"
    AES_256_GCM = "AES-256-GCM"
    # JOSE algorithms (RFC 7518 §3.1, RFC 8037 §3.1); the values are their "alg" names.
    ED25519 = "EdDSA"
    ES256 = "ES256"
    HS256 = "HS256"
    # Verification only: RSA keys come from a trusted issuer's JWKS, never from a keyring.
    RS256 = "RS256"
    PS256 = "PS256"

    @property
    def kind(self) -> KeyKind:
        """AEAD, signature or MAC."""
        return _KINDS[self]

    @property
    def wire_id(self) -> int:
        """The algorithm byte of a sealed blob's header (AEAD algorithms only).

        Raises:
            ValueError: not an AEAD algorithm (only sealed blobs have wire ids).
        """
        wire_id = _WIRE_IDS.get(self)
        if wire_id is None:
            raise ValueError(f"{self.value} is not an AEAD algorithm and has no wire id")
        return wire_id

    @property
    def verify_only(self) -> bool:
        """Whether keys of this algorithm only come from third parties (never generated)."""
        return self in (Algorithm.RS256, Algorithm.PS256)

    @property
    def budgeted(self) -> bool:
        """Whether keys of this algorithm carry a usage budget (random 96-bit nonces)."""
        return self is Algorithm.AES_256_GCM

    @classmethod
    def from_wire_id(cls, wire_id: int) -> Algorithm | None:
        """The AEAD algorithm for a header byte, or None for an unknown one."""
        return _BY_WIRE_ID.get(wire_id)


_KINDS = {
    Algorithm.XAES_256_GCM: KeyKind.AEAD,
    Algorithm.AES_256_GCM_SIV: KeyKind.AEAD,
    Algorithm.AES_256_GCM: KeyKind.AEAD,
    Algorithm.ED25519: KeyKind.SIGNATURE,
    Algorithm.ES256: KeyKind.SIGNATURE,
    Algorithm.HS256: KeyKind.MAC,
    Algorithm.RS256: KeyKind.SIGNATURE,
    Algorithm.PS256: KeyKind.SIGNATURE,
}
_WIRE_IDS = {
    Algorithm.XAES_256_GCM: 0x01,
    Algorithm.AES_256_GCM_SIV: 0x02,
    Algorithm.AES_256_GCM: 0x03,
}
_BY_WIRE_ID = {v: k for k, v in _WIRE_IDS.items()}

PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey


def new_key_material(algorithm: Algorithm) -> bytes:
    """Fresh secret key material for a new key of `algorithm`, from the OS.

    * AEAD (all AES-256 based) and HS256: 32 uniformly random bytes (for HMAC-SHA256,
      RFC 2104 §3 asks for at least the hash output length, 32 bytes).
    * Ed25519: the 32-byte private seed (RFC 8032 §5.1.5).
    * ES256: the 32-byte big-endian private scalar of a fresh P-256 key.

    Raises:
        ConfigurationError: RS256 or PS256 (verification only; no keyring makes RSA keys).
    """
    if algorithm is Algorithm.ES256:
        # pyca draws the scalar uniformly from [1, n-1]; 32 random bytes would not be.
        scalar = ec.generate_private_key(ec.SECP256R1()).private_numbers().private_value
        return scalar.to_bytes(32, "big")
    if algorithm.verify_only:
        raise ConfigurationError(
            f"{algorithm.value} is verification-only: its keys come from a trusted JWKS, "
            "and a keyring never generates them"
        )
    return os.urandom(32)


def load_private_key(algorithm: Algorithm, material: bytes) -> PrivateKey:
    """The pyca private key for stored signing-key material (see `new_key_material`).

    Raises:
        ValueError: not an algorithm a keyring signs with, or malformed material.
    """
    if len(material) != 32:
        raise ValueError(f"{algorithm.value} key material is 32 bytes")
    if algorithm is Algorithm.ED25519:
        return ed25519.Ed25519PrivateKey.from_private_bytes(material)
    if algorithm is Algorithm.ES256:
        # derive_private_key refuses a scalar outside [1, n-1].
        return ec.derive_private_key(int.from_bytes(material, "big"), ec.SECP256R1())
    raise ValueError(f"{algorithm.value} has no private key object")
