"""The KEK protocols: what every key-encryption key and per-tenant KEK provider offers."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Protocol, runtime_checkable

from cryptorails.errors import ConfigurationError
from cryptorails.secret import Secret

__all__ = ["Kek", "TenantKeks"]


@runtime_checkable
class Kek(Protocol):
    """Wraps and unwraps keystore contents with associated data."""

    @property
    def kek_id(self) -> str:
        """A stable, non-secret identifier of this KEK (checked when a keystore opens)."""
        ...

    def wrap(self, plaintext: bytes, aad: bytes) -> bytes:
        """Encrypt and authenticate `plaintext`, binding `aad`."""
        ...

    def unwrap(self, blob: bytes, aad: bytes) -> bytes:
        """Reverse `wrap`. Raises `DecryptionError` for any failure."""
        ...


@runtime_checkable
class TenantKeks(Protocol):
    """Gives each tenant a KEK of its own (envelope encryption per tenant).

    A keystore opened with a `TenantKeks` wraps each keyset under its tenant's KEK, so one
    tenant's keys can be destroyed (crypto-shredding) or moved alone. Destroying a tenant
    KEK held in an HSM or KMS is final even if an old copy of the keystore is restored;
    a KEK wrapped inside the keystore (`WrappedTenantKeks`) comes back with such a copy,
    which is why shredding also records a tombstone in a ledger outside the keystore.
    """

    @property
    def provider_id(self) -> str:
        """A stable, non-secret description of where tenant KEKs live (recorded in the
        keystore, checked when it opens)."""
        ...

    def kek(self, tenant: str, *, create: bool) -> Kek | None:
        """The KEK of `tenant`; created first when absent and `create` is True, else None."""
        ...

    def destroy(self, tenant: str) -> bool:
        """Irreversibly destroy the KEK of `tenant`; True if one existed."""
        ...

    def tenants(self) -> list[str]:
        """Every tenant that has a KEK here."""
        ...


def _check_bytes(plaintext: object, aad: object) -> None:
    """`wrap` arguments of the wrong type are a `TypeError`, before any HSM or KMS call."""
    if not isinstance(plaintext, bytes | bytearray | memoryview):
        raise TypeError(f"plaintext must be bytes, not {type(plaintext).__name__}")
    if not isinstance(aad, bytes | bytearray | memoryview):
        raise TypeError(f"aad must be bytes, not {type(aad).__name__}")


def read_private_file(path: Path, what: str, limit: int) -> Secret:
    """Up to `limit` + 1 bytes of a secret file (a KEK, a PIN), refusing a symlink, a
    non-regular file, or one that group or others can access (callers check the size).

    Raises:
        ConfigurationError: naming `what` and the path, never the contents.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as e:
        raise ConfigurationError(f"cannot read {what} {path}: {e.strerror}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise ConfigurationError(f"{what} {path} is not a regular file")
        if mode & 0o077:
            raise ConfigurationError(
                f"{what} {path} is accessible by group or others "
                f"(mode {stat.S_IMODE(mode):04o}); run: chmod 600 {path}"
            )
        # Wrapped at once: no frame of an error raised later holds the bytes in a local
        # (error trackers record locals).
        return Secret(os.read(fd, limit + 1))
    finally:
        os.close(fd)
