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

__all__ = ["HEADER_SIZE", "VERSION", "UnverifiedHeader", "aad_base", "header", "parse_header"]

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
