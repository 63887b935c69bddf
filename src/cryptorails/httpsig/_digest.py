"""RFC 9530 ``Content-Digest``: compute it for a body, and check a received one."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from cryptorails.httpsig._sf import InnerList, Item, SFError, parse_dictionary, serialize_dictionary

__all__ = ["DigestError", "content_digest", "verify_content_digest"]

# RFC 9530 §5: the "active" algorithms. The deprecated ones (md5, sha, unixsum, ...)
# are never computed and never count as a match.
_ALGORITHMS = {"sha-256": hashlib.sha256, "sha-512": hashlib.sha512}


class DigestError(ValueError):
    """The header is malformed, names no supported algorithm, or does not match."""

    def __init__(self, mismatch: bool, message: str) -> None:
        super().__init__(message)
        self.mismatch = mismatch


def content_digest(body: bytes, algorithms: Sequence[str] = ("sha-256",)) -> str:
    """The ``Content-Digest`` value for `body` (``sha-256``, ``sha-512`` or both)."""
    members: list[tuple[str, Item | InnerList]] = []
    for name in algorithms:
        if name not in _ALGORITHMS:
            raise ValueError(f"unsupported digest algorithm {name!r}")
        members.append((name, Item(_ALGORITHMS[name](body).digest())))
    return serialize_dictionary(members)


def verify_content_digest(header: str, body: bytes) -> None:
    """Check a received ``Content-Digest`` against `body`.

    Every supported algorithm present must match, and at least one must be present.

    Raises:
        DigestError: malformed (mismatch=False) or not matching (mismatch=True).
    """
    try:
        members = parse_dictionary(header)
    except SFError:
        raise DigestError(False, "Content-Digest is not a dictionary") from None
    checked = 0
    for name, member in members:
        if name not in _ALGORITHMS:
            continue
        if not isinstance(member, Item) or not isinstance(member.value, bytes) or member.params:
            raise DigestError(False, f"{name} is not a byte sequence")
        if not hmac.compare_digest(member.value, _ALGORITHMS[name](body).digest()):
            raise DigestError(True, f"{name} does not match the body")
        checked += 1
    if not checked:
        raise DigestError(False, "Content-Digest has no sha-256 or sha-512 member")
