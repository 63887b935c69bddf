"""The backup wire format (``cryptorails/v1/backup``), parsed in this one place.

    backup  = header || chunk_0 || ... || chunk_n          (chunk_n is the only final one)
    header  = fixed || dek_len (2, big-endian) || sealed_dek
    fixed   = magic (8: 89 43 52 42 0D 0A 1A 0A) || version (1, 0x01)
              || backup id (16 random bytes) || created (8, signed big-endian
              microseconds since 1970-01-01 UTC) || chunk size (4, big-endian)
    sealed_dek = Sealer.seal(dek, Context(tenant, "backup"),
                             aad = "cryptorails/v1/backup" || fixed)
    chunk_i = AES-256-GCM(dek, nonce_i, plaintext_i, aad = chunk_aad) (ciphertext || tag)
    nonce_i = i (11 bytes, big-endian) || final flag (1 byte: 0x01 for chunk_n, else 0x00)
    chunk_aad = SHA-256("cryptorails/v1/backup-chunk" || fixed)

Every chunk but the final one holds exactly `chunk size` plaintext bytes; the final one
holds 0 to `chunk size` bytes, and is empty only when the whole backup is.

Why each part is there:

* The magic starts with a non-ASCII byte and holds CR LF, SUB and LF, as PNG's does: a
  transfer that translates line endings or strips the high bit breaks the magic first.
* The data key (DEK) is 32 fresh random bytes per backup, sealed by the backup keyring's
  `Sealer` for the tenant's backup keyset. That binds the backup to its tenant and
  environment (the Sealer's associated data), lets the keyring rotate and shred it, and
  makes re-keying cheap: only `sealed_dek` changes, the chunks stay as they are.
* The fixed header is the associated data of `sealed_dek`, so id, time and chunk size
  cannot be changed without the DEK failing to open. `dek_len` and `sealed_dek` are not
  in it (a re-wrapped header must not invalidate the chunks); changing them changes the
  DEK blob, which then fails to open.
* Chunks follow STREAM (Hoang, Reyhanitabar, Rogaway, Vizár, "Online
  Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance", CRYPTO 2015, §7):
  the nonce is the chunk's position plus a final flag. Nonces never repeat under a key,
  because the DEK is fresh per backup and the counter only goes up, so no random-nonce
  budget applies (NIST SP 800-38D §8.2.1 deterministic construction). A dropped,
  duplicated or reordered chunk is opened under the wrong position and fails; a stream
  cut at a chunk boundary lacks the one chunk sealed with the final flag and fails; one
  continued past it has a chunk after the final one and fails.
* `chunk_aad` binds every chunk to this header; a digest keeps it one fixed size.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import NamedTuple, Protocol

from cryptorails.errors import DecryptionError, Reason

__all__ = [
    "DEK_AAD_LABEL",
    "FIXED_SIZE",
    "MAGIC",
    "MAX_CHUNK_SIZE",
    "MIN_CHUNK_SIZE",
    "TAG_SIZE",
    "VERSION",
    "Header",
    "Readable",
    "from_micros",
    "nonce",
    "read_exact",
    "read_header",
    "to_micros",
]

MAGIC = b"\x89CRB\r\n\x1a\n"
VERSION = 0x01
FIXED_SIZE = 8 + 1 + 16 + 8 + 4
TAG_SIZE = 16
DEK_AAD_LABEL = b"cryptorails/v1/backup"
_CHUNK_AAD_LABEL = b"cryptorails/v1/backup-chunk"
# Bounds on the chunk size, checked when reading too: the reader holds two chunks, so an
# untrusted header must not be able to make it allocate more than this.
MIN_CHUNK_SIZE = 1 << 10
MAX_CHUNK_SIZE = 1 << 24
# A sealed 32-byte DEK is 66 to 78 bytes with today's algorithms; room for future ones.
_MAX_SEALED_DEK = 1024
# 11-byte counter: 2**88 chunks, more than any stream will ever hold.
MAX_CHUNKS = 1 << 88
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Readable(Protocol):
    """Anything with a binary `read(n)`: a file, an archive member, a decompressor."""

    def read(self, n: int = -1, /) -> bytes: ...


class Header(NamedTuple):
    """A backup header as read, before anything in it is authenticated."""

    fixed: bytes
    backup_id: bytes
    created_us: int
    chunk_size: int
    sealed_dek: bytes

    @classmethod
    def build(
        cls, backup_id: bytes, created_us: int, chunk_size: int, sealed_dek: bytes = b""
    ) -> Header:
        fixed = (
            MAGIC
            + bytes((VERSION,))
            + backup_id
            + created_us.to_bytes(8, "big", signed=True)
            + chunk_size.to_bytes(4, "big")
        )
        return cls(fixed, backup_id, created_us, chunk_size, sealed_dek)

    @property
    def raw(self) -> bytes:
        """The header's bytes as written."""
        return self.fixed + len(self.sealed_dek).to_bytes(2, "big") + self.sealed_dek

    @property
    def dek_aad(self) -> bytes:
        return DEK_AAD_LABEL + self.fixed

    @property
    def chunk_aad(self) -> bytes:
        return hashlib.sha256(_CHUNK_AAD_LABEL + self.fixed).digest()


def nonce(counter: int, final: bool) -> bytes:
    """The STREAM nonce of chunk `counter`."""
    return counter.to_bytes(11, "big") + (b"\x01" if final else b"\x00")


def read_exact(src: Readable, n: int) -> bytes:
    """Up to `n` bytes: fewer only at the end of the stream (short reads are retried).

    Raises:
        TypeError: the stream yields something other than bytes (a text stream).
    """
    data = src.read(n)
    if data.__class__ is not bytes:
        if not isinstance(data, bytes | bytearray):
            raise TypeError("backups read and write binary streams (open files with 'rb')")
        data = bytes(data)
    if len(data) >= n or not data:
        return data
    parts = [data]
    got = len(data)
    while got < n:
        more = src.read(n - got)
        if not more:
            break
        if not isinstance(more, bytes | bytearray):
            raise TypeError("backups read and write binary streams (open files with 'rb')")
        parts.append(bytes(more))
        got += len(more)
    return b"".join(parts)


def read_header(src: Readable) -> Header:
    """Read and parse a header (nothing in it is authenticated yet).

    Raises:
        DecryptionError: not a backup or cut short (``malformed``), or another version
            (``unsupported_version``).
    """
    fixed = read_exact(src, FIXED_SIZE)
    if len(fixed) < len(MAGIC) + 1 or fixed[: len(MAGIC)] != MAGIC:
        raise DecryptionError(Reason.MALFORMED)
    if fixed[len(MAGIC)] != VERSION:
        raise DecryptionError(Reason.UNSUPPORTED_VERSION)
    if len(fixed) < FIXED_SIZE:
        raise DecryptionError(Reason.MALFORMED)
    chunk_size = int.from_bytes(fixed[33:37], "big")
    dek_len = read_exact(src, 2)
    if len(dek_len) < 2 or not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
        raise DecryptionError(Reason.MALFORMED)
    size = int.from_bytes(dek_len, "big")
    sealed_dek = read_exact(src, size) if 0 < size <= _MAX_SEALED_DEK else b""
    if not sealed_dek or len(sealed_dek) < size:
        raise DecryptionError(Reason.MALFORMED)
    return Header(
        fixed=fixed,
        backup_id=fixed[9:25],
        created_us=int.from_bytes(fixed[25:33], "big", signed=True),
        chunk_size=chunk_size,
        sealed_dek=sealed_dek,
    )


def to_micros(when: datetime) -> int:
    """Microseconds since the epoch, exactly (no float rounding)."""
    delta = when - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(us: int) -> datetime:
    """The inverse of `to_micros`.

    Raises:
        DecryptionError: outside the years datetime can hold (``malformed``).
    """
    try:
        return _EPOCH + timedelta(microseconds=us)
    except OverflowError:
        raise DecryptionError(Reason.MALFORMED) from None
