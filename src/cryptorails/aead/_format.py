"""The sealed-blob wire format, parsed in this one place.

    blob = version (1 byte, 0x01) || algorithm id (1) || kid (4, big-endian)
           || nonce (24 for XAES-256-GCM, 12 otherwise) || ciphertext || tag (16)

The 6-byte header is authenticated: it is part of the associated data, which is

    "cryptorails/v1/seal" || header || Context.encode(environment)
    || len(aad) (4, big-endian) || aad

Every field before the caller's aad has a fixed size or a length prefix, so no two
different (header, environment, tenant, purpose, aad) tuples give the same bytes.
"""

from __future__ import annotations

from typing import NamedTuple

from cryptorails.algorithms import Algorithm
from cryptorails.context import Context

__all__ = [
    "HEADER_SIZE",
    "VERSION",
    "BlobHeader",
    "UnverifiedHeader",
    "aad_base",
    "header",
    "nonce_size",
    "parse_header",
    "read_header",
]

VERSION = 0x01
HEADER_SIZE = 6
_LABEL = b"cryptorails/v1/seal"


def header(algorithm: Algorithm, kid: int) -> bytes:
    """The header of a blob sealed under key `kid` of `algorithm`."""
    return bytes((VERSION, algorithm.wire_id)) + kid.to_bytes(4, "big")


def aad_base(hdr: bytes, ctx: Context, environment: str) -> bytes:
    """Associated data up to (not including) the caller's aad length and bytes."""
    return _LABEL + hdr + ctx.encode(environment)


class UnverifiedHeader(NamedTuple):
    """A header read before authentication: a hint for key lookup, nothing more."""

    version: int
    algorithm_id: int
    kid: int


def parse_header(view: bytes) -> UnverifiedHeader | None:
    """Split off the header, or None when the blob is too short to hold one."""
    if len(view) < HEADER_SIZE:
        return None
    return UnverifiedHeader(view[0], view[1], int.from_bytes(view[2:6], "big"))


def nonce_size(algorithm: Algorithm) -> int:
    """The nonce length in blobs of `algorithm`: 24 bytes for XAES-256-GCM, else 12."""
    return 24 if algorithm is Algorithm.XAES_256_GCM else 12


class BlobHeader(NamedTuple):
    """What a blob says about itself before authentication (operator tooling: usage
    scans, rewrap, nonce-reuse checks, triage). Never a reason to trust anything."""

    version: int
    algorithm: Algorithm | None
    """None when the id names no AEAD algorithm cryptorails knows."""
    kid: int
    nonce: bytes
    """Empty when the algorithm is unknown or the blob is too short to hold one."""


def read_header(blob: bytes) -> BlobHeader | None:
    """The unverified header and nonce of a sealed blob, or None if it is too short or
    not bytes."""
    if not isinstance(blob, bytes | bytearray | memoryview):
        return None
    unverified = parse_header(bytes(blob[:HEADER_SIZE]))
    if unverified is None:
        return None
    algorithm = Algorithm.from_wire_id(unverified.algorithm_id)
    nonce = b""
    if algorithm is not None and unverified.version == VERSION:
        end = HEADER_SIZE + nonce_size(algorithm)
        if len(blob) >= end:
            nonce = bytes(blob[HEADER_SIZE:end])
    return BlobHeader(unverified.version, algorithm, unverified.kid, nonce)
