"""The key-bound primitive of each AEAD algorithm.

A primitive turns ``(header, plaintext, aad)`` into ``header || nonce || ct || tag`` and
back. Nonces are always drawn from the OS here; nothing above this layer chooses one.
"""

from __future__ import annotations

import os
from typing import Protocol

from cryptography.hazmat.primitives.ciphers.aead import AESGCM, AESGCMSIV

# Every algorithm here is AES-256 based, with 16-byte tags: XAES-256-GCM's sizes.
from cryptorails.aead._xaes import KEY_SIZE, TAG_SIZE, XaesKey
from cryptorails.algorithms import Algorithm, KeyKind

__all__ = ["KEY_SIZE", "Algorithm", "Primitive", "primitive_for"]


class Primitive(Protocol):
    """A key-bound AEAD that chooses its own nonces and writes ``header || nonce || ct``."""

    def seal(self, plaintext: bytes, aad: bytes) -> bytes: ...

    def open(self, blob: bytes, aad: bytes) -> bytes:
        """Open a whole blob (header included). Raises `InvalidTag` or `ValueError`."""
        ...


class _Nonce96:
    """AES-256-GCM or AES-256-GCM-SIV with a random 96-bit nonce per message.

    For AES-256-GCM a random 96-bit nonce is safe only for a bounded number of messages
    per key (2^32 at a 2^-32 collision risk, NIST SP 800-38D §8.3); the keyring enforces
    that budget. AES-256-GCM-SIV (RFC 8452) is nonce-misuse resistant: a repeated nonce
    reveals only whether two messages were equal, so it needs no budget.
    """

    __slots__ = ("_aead", "_header")

    def __init__(self, aead: AESGCM | AESGCMSIV, header: bytes) -> None:
        self._aead = aead
        self._header = header

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(12)
        return b"".join((self._header, nonce, self._aead.encrypt(nonce, plaintext, aad)))

    def open(self, blob: bytes, aad: bytes) -> bytes:
        start = len(self._header)
        if len(blob) < start + 12 + TAG_SIZE:
            raise ValueError("too short")
        body = start + 12
        ct = blob[body:] if len(blob) < 4096 else memoryview(blob)[body:]
        return self._aead.decrypt(blob[start:body], ct, aad)


def primitive_for(algorithm: Algorithm, key: bytes, header: bytes) -> Primitive:
    """Build the primitive for one key; its blobs start with `header`."""
    if algorithm.kind is not KeyKind.AEAD:
        raise ValueError(f"{algorithm.value} is not an AEAD algorithm")
    if len(key) != KEY_SIZE:
        # AESGCM would silently accept a 16- or 24-byte key and run AES-128/192.
        raise ValueError(f"{algorithm.value} keys are {KEY_SIZE} bytes")
    if algorithm is Algorithm.XAES_256_GCM:
        return XaesKey(key, header)
    if algorithm is Algorithm.AES_256_GCM_SIV:
        return _Nonce96(AESGCMSIV(key), header)
    return _Nonce96(AESGCM(key), header)
