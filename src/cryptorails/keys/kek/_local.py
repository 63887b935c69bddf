"""`LocalKek`: a KEK kept in a local file."""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
from pathlib import Path

from cryptography.exceptions import InvalidTag

from cryptorails.aead._xaes import XaesKey
from cryptorails.errors import ConfigurationError, DecryptionError, Reason
from cryptorails.secret import Secret

__all__ = ["LocalKek"]

_WRAP_VERSION = b"\x01"


class LocalKek:
    """A KEK held in a local file (32 raw bytes or 64 hex digits), wrapping with XAES-256-GCM.

    XAES-256-GCM's random 192-bit nonces need no counter or state, which suits a key that
    wraps at every keystore write from many processes.
    """

    def __init__(self, key: Secret) -> None:
        if not isinstance(key, Secret):
            raise TypeError("LocalKek takes a Secret")
        if len(key) != 32:
            raise ValueError("a KEK is 32 bytes")
        self._xaes = XaesKey(key.reveal(), _WRAP_VERSION)
        # A key check value: identifies the KEK without revealing anything usable.
        self._kek_id = hmac.new(key.reveal(), b"cryptorails/v1/kek-id", hashlib.sha256).hexdigest()[
            :32
        ]

    @property
    def kek_id(self) -> str:
        return self._kek_id

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> LocalKek:
        """Load a KEK file, refusing one that group or others can read or write.

        Raises:
            ConfigurationError: missing, unreadable, too open, or not a 32-byte key.
        """
        p = Path(path)
        try:
            fd = os.open(p, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError as e:
            raise ConfigurationError(f"cannot read KEK file {p}: {e.strerror}") from None
        try:
            mode = os.fstat(fd).st_mode
            if not stat.S_ISREG(mode):
                raise ConfigurationError(f"KEK file {p} is not a regular file")
            if mode & 0o077:
                raise ConfigurationError(
                    f"KEK file {p} is accessible by group or others "
                    f"(mode {stat.S_IMODE(mode):04o}); run: chmod 600 {p}"
                )
            # Wrapped at once: no frame of an error raised below holds the bytes in a
            # local (error trackers record locals).
            key = _key_from_file_bytes(Secret(os.read(fd, 1024)))
        finally:
            os.close(fd)
        if key is None:
            raise ConfigurationError(f"KEK file {p} must hold 32 raw bytes or 64 hex digits")
        return cls(key)

    @classmethod
    def generate(cls, path: str | os.PathLike[str]) -> LocalKek:
        """Create a new random KEK file with mode 0600. Refuses to overwrite one."""
        p = Path(path)
        key = os.urandom(32)
        try:
            fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise ConfigurationError(f"KEK file {p} already exists; not overwriting") from None
        except OSError as e:
            raise ConfigurationError(f"cannot create KEK file {p}: {e.strerror}") from None
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(key)
                f.flush()
                os.fsync(f.fileno())
            # The directory entry too: after a power loss, keysets written under this KEK
            # must not survive while the KEK file itself is gone.
            dir_fd = os.open(p.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as e:
            p.unlink(missing_ok=True)  # never leave a partial key behind
            raise ConfigurationError(f"cannot write KEK file {p}: {e.strerror}") from None
        return cls(Secret(key))

    def wrap(self, plaintext: bytes, aad: bytes) -> bytes:
        return self._xaes.seal(plaintext, b"cryptorails/v1/kek-wrap" + aad)

    def unwrap(self, blob: bytes, aad: bytes) -> bytes:
        if blob[:1] != _WRAP_VERSION:
            raise DecryptionError(Reason.UNSUPPORTED_VERSION)
        try:
            return self._xaes.open(bytes(blob), b"cryptorails/v1/kek-wrap" + aad)
        except (InvalidTag, ValueError):
            raise DecryptionError(Reason.AUTHENTICATION_FAILED) from None

    def __repr__(self) -> str:
        return f"LocalKek(kek_id={self._kek_id[:8]}...)"


def _key_from_file_bytes(raw: Secret) -> Secret | None:
    """The key in a KEK file's bytes (32 raw bytes or 64 hex digits), or None."""
    if len(raw) == 32:
        return raw
    text = raw.reveal().strip()
    if len(text) != 64:
        return None
    try:
        return Secret(bytes.fromhex(text.decode("ascii")))
    except (UnicodeDecodeError, ValueError):
        return None
