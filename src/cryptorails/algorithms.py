"""Every algorithm a cryptorails key can have, and what kind of key it is.

A key's algorithm is fixed when the key is made and stored with it. Whatever a blob
header or a token header says, the key decides the algorithm; an input may only agree.
"""

from __future__ import annotations

import enum
import os

__all__ = ["Algorithm", "KeyKind", "new_key_material"]


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

    @property
    def kind(self) -> KeyKind:
        """AEAD, signature or MAC."""
        return _KINDS[self]

    @property
    def wire_id(self) -> int:
        """The algorithm byte of a sealed blob's header (AEAD algorithms only)."""
        return _WIRE_IDS[self]

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
}
_WIRE_IDS = {
    Algorithm.XAES_256_GCM: 0x01,
    Algorithm.AES_256_GCM_SIV: 0x02,
    Algorithm.AES_256_GCM: 0x03,
}
_BY_WIRE_ID = {v: k for k, v in _WIRE_IDS.items()}


def new_key_material(algorithm: Algorithm) -> bytes:
    """Fresh secret key material for a new key of `algorithm`, from the OS."""
    # All AEAD algorithms here are AES-256 based: 32 uniformly random bytes.
    return os.urandom(32)
