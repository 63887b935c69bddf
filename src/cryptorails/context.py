"""`Context`: whose data this is and what it is for, bound into every seal.

A context is built by the server from trusted state (the authenticated tenant, the code
path's purpose), never from request fields. The keyring adds its environment. All three
are bound into the AEAD associated data in one canonical, length-prefixed encoding, so
a blob sealed for one tenant, purpose or environment cannot be opened for another.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

__all__ = ["Context", "validate_label"]

MAX_LABEL_BYTES = 256

# Cc: control characters. Cf: invisible format characters (zero-width joiners, bidi
# overrides) that make two different tenant ids look the same in a log or console.
# Cs/Co/Cn: surrogates, private-use and unassigned code points.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def validate_label(name: str, value: object) -> str:
    """Check one context field (tenant, purpose, environment) and return it.

    Raises:
        TypeError: the value is not a `str`.
        ValueError: empty, longer than 256 UTF-8 bytes, or containing control, format,
            surrogate, private-use, unassigned or line/paragraph-separator characters.
    """
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    if not value:
        raise ValueError(f"{name} must not be empty")
    for ch in value:
        if unicodedata.category(ch) in _FORBIDDEN_CATEGORIES:
            raise ValueError(f"{name} contains a forbidden character U+{ord(ch):04X}")
    if len(value.encode("utf-8")) > MAX_LABEL_BYTES:
        raise ValueError(f"{name} is longer than {MAX_LABEL_BYTES} UTF-8 bytes")
    return value


def length_prefixed(*parts: bytes) -> bytes:
    """Concatenate parts, each preceded by its 4-byte big-endian length (unambiguous)."""
    return b"".join(len(p).to_bytes(4, "big") + p for p in parts)


@dataclass(frozen=True, slots=True)
class Context:
    """Who the data belongs to (`tenant`) and what it is for (`purpose`).

    Args:
        tenant: the tenant id, from the authenticated session, never from the request.
        purpose: a fixed label of the code path, e.g. ``"user-email"``.
    """

    tenant: str
    purpose: str
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        validate_label("tenant", self.tenant)
        validate_label("purpose", self.purpose)
        # Contexts are dictionary keys on the sealing hot path; hash once.
        object.__setattr__(self, "_hash", hash((self.tenant, self.purpose)))

    def __hash__(self) -> int:
        return self._hash

    def encode(self, environment: str) -> bytes:
        """The canonical encoding bound into associated data (label, env, tenant, purpose)."""
        validate_label("environment", environment)
        return b"cryptorails/v1/context" + length_prefixed(
            environment.encode(), self.tenant.encode(), self.purpose.encode()
        )
