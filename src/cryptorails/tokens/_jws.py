"""JWS compact serialization (RFC 7515 §7.1): parse, select the key, check the signature.

Everything read before the signature is checked is named `unverified_*` and used for one
thing only: the header's `kid` selects a key inside the one configured table, and its
`alg` must agree with that key's own algorithm. Headers that would make a verifier fetch
or trust a key named by the token itself (`jku`, `x5u`, `x5c`, `x5t`, `jwk`) are refused
outright, as are `crit` extensions (RFC 7515 §4.1.11: we understand none) and `alg: none`
in any casing. The payload bytes are returned exactly as signed; the caller parses them
once, after this function returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from cryptorails import canonical
from cryptorails.errors import Reason, VerificationError
from cryptorails.tokens._keytable import KeyTable, TrustedKey
from cryptorails.tokens._signing import b64u_decode

__all__ = ["FORBIDDEN_HEADERS", "KeySource", "StaticSource", "VerifiedJws", "verify_compact"]

# Header parameters that point at, or carry, a key chosen by the token's author.
FORBIDDEN_HEADERS = frozenset({"jku", "x5u", "x5c", "x5t", "x5t#S256", "jwk"})
# A header is a few short members; anything deeper is not a header we would accept.
_HEADER_MAX_DEPTH = 4


class KeySource(Protocol):
    """Where a verifier's keys come from: a fixed table, or a live keyring keyset."""

    def table(self, *, refresh: bool = False) -> KeyTable:
        """The current table; `refresh` asks a live source to re-read its store."""
        ...


class StaticSource:
    """A table that never changes (a JWKS, or a keyset snapshot)."""

    __slots__ = ("_table",)

    def __init__(self, table: KeyTable) -> None:
        self._table = table

    def table(self, *, refresh: bool = False) -> KeyTable:
        return self._table


@dataclass(frozen=True, slots=True)
class VerifiedJws:
    """A JWS whose signature checked out: its header, exact payload bytes and key."""

    header: Mapping[str, object]
    payload: bytes
    key: TrustedKey


def _split(token: object, max_bytes: int) -> tuple[str, str, str]:
    if isinstance(token, bytes | bytearray | memoryview):
        if len(token) > max_bytes:
            raise VerificationError(Reason.TOO_LARGE)
        try:
            token = bytes(token).decode("ascii")
        except UnicodeDecodeError:
            raise VerificationError(Reason.MALFORMED) from None
    elif isinstance(token, str):
        if len(token) > max_bytes:
            raise VerificationError(Reason.TOO_LARGE)
        if not token.isascii():
            raise VerificationError(Reason.MALFORMED)
    else:
        raise VerificationError(Reason.WRONG_TYPE)
    parts = token.split(".")
    if len(parts) != 3:  # JSON serialization, JWE (5 parts) and fragments all end here
        raise VerificationError(Reason.MALFORMED)
    return parts[0], parts[1], parts[2]


def _select(source: KeySource, unverified_kid: object) -> TrustedKey:
    try:
        return source.table().select(unverified_kid)
    except VerificationError as e:
        if e.reason is not Reason.UNKNOWN_KEY:
            raise
    # A live source may have rotated in another process since our last look: re-read
    # the *same* keyset once. Never another one.
    return source.table(refresh=True).select(unverified_kid)


def verify_compact(token: object, source: KeySource, *, max_bytes: int) -> VerifiedJws:
    """Verify a JWS compact token against the keys of `source`.

    Raises:
        VerificationError: for every failure; `.reason` says which check.
    """
    h64, p64, s64 = _split(token, max_bytes)
    header_bytes, payload, signature = b64u_decode(h64), b64u_decode(p64), b64u_decode(s64)
    if not header_bytes or payload is None or signature is None:
        raise VerificationError(Reason.MALFORMED)
    try:
        unverified_header = canonical.loads(header_bytes, max_depth=_HEADER_MAX_DEPTH)
    except canonical.CanonicalJSONError:
        raise VerificationError(Reason.MALFORMED) from None
    if not isinstance(unverified_header, dict):
        raise VerificationError(Reason.MALFORMED)
    unverified_alg = unverified_header.get("alg")
    if not isinstance(unverified_alg, str):
        raise VerificationError(Reason.MALFORMED)
    if unverified_alg.casefold() == "none":
        raise VerificationError(Reason.ALG_NONE)
    if not FORBIDDEN_HEADERS.isdisjoint(unverified_header):
        raise VerificationError(Reason.FORBIDDEN_HEADER)
    if "crit" in unverified_header:
        raise VerificationError(Reason.CRIT_UNSUPPORTED)
    key = _select(source, unverified_header.get("kid"))
    # The key decides the algorithm; the header may only agree with it.
    if key.verify_key is None or unverified_alg != key.algorithm.value:
        raise VerificationError(Reason.ALGORITHM_MISMATCH)
    # RFC 7515 §5.2 step 8: the signature covers the ASCII of the two encoded parts as
    # they appear in the token (not a re-encoding of what we parsed). An empty or
    # truncated signature fails here, on its length.
    if not key.verify_key.verify(signature, f"{h64}.{p64}".encode("ascii")):
        raise VerificationError(Reason.SIGNATURE_INVALID)
    return VerifiedJws(unverified_header, payload, key)
