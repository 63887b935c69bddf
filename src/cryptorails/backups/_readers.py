"""Reading inside archives: format sniffing, a byte budget, and stream adapters."""

from __future__ import annotations

import io
import lzma
import struct
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from typing import IO

from cryptorails.backups._format import MAGIC, Readable
from cryptorails.secrets_scan._files import GZIP_MAGIC, TruncatedError

__all__ = [
    "CORRUPT",
    "Budget",
    "Chained",
    "Counted",
    "DecodeError",
    "LimitReached",
    "Pieces",
    "Readable",
    "Spool",
    "describe",
    "layer_of",
    "new_spool",
    "spool",
]

_SPOOL_IN_MEMORY = 8 << 20  # larger spools go to a temporary file
_COPY = 1 << 20
_BZ2_MAGIC = b"BZh"
_XZ_MAGIC = b"\xfd7zXZ\x00"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
# What the standard library's parsers raise on damaged input (bz2 and gzip raise
# OSError and EOFError, zipfile and tarfile also struct.error, ValueError and friends).
CORRUPT = (
    tarfile.TarError,
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    TruncatedError,
    EOFError,
    OSError,
    lzma.LZMAError,
    zlib.error,
    struct.error,
    ValueError,
    RuntimeError,
    NotImplementedError,
    OverflowError,
    IndexError,
    KeyError,
)


def layer_of(head: bytes) -> str | None:
    """What a stream is, from its first 512 bytes: a container (``backup``, ``zip``,
    ``tar``), a compression (``gzip``, ``bzip2``, ``xz``), or None (plain content)."""
    if head.startswith(MAGIC):
        return "backup"
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(_BZ2_MAGIC) and head[3:4].isdigit():
        return "bzip2"
    if head.startswith(_XZ_MAGIC):
        return "xz"
    if head.startswith(_ZIP_MAGICS):
        return "zip"
    if head[257:262] == b"ustar":  # POSIX.1-1988 ustar and GNU tar headers
        return "tar"
    return None


class DecodeError(Exception):
    """A decoding layer (decompression, a zip member) met damaged data. Carries the
    layer, so that a tar inside a damaged gzip stream is reported as damaged gzip."""

    def __init__(self, layer: str, cause: BaseException) -> None:
        super().__init__(layer)
        self.layer = layer
        self.cause = _name(cause)


def describe(layer: str, error: BaseException) -> str:
    """The `detail` of an unreadable finding."""
    if isinstance(error, DecodeError):
        return f"corrupt or truncated {error.layer} data ({error.cause})"
    return f"corrupt or truncated {layer} data ({_name(error)})"


def _name(error: BaseException) -> str:
    name = type(error).__name__
    return "zlib.error" if name == "error" else name


class LimitReached(Exception):  # noqa: N818 -- internal control flow, never raised to users
    """The byte budget of one scanned file is spent."""


class Budget:
    """Bytes that decoding (decompression, decryption, spooling) may still produce."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.left = limit

    def spend(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise LimitReached


class _Raw(io.RawIOBase):
    """A read-only raw stream over `_read` (subclasses), usable by tarfile, bz2, lzma."""

    def readable(self) -> bool:
        return True

    def _read(self, n: int) -> bytes:
        raise NotImplementedError

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        data = self._read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class Chained(_Raw):
    """`head` (bytes already read to sniff the format), then the rest of `inner`."""

    def __init__(self, head: bytes, inner: Readable) -> None:
        self._head = head
        self._inner = inner

    def _read(self, n: int) -> bytes:
        if self._head:
            data, self._head = self._head[:n], self._head[n:]
            return data
        return self._inner.read(n)


class Counted(_Raw):
    """`inner`'s bytes (the output of decoding `layer`), each charged to `budget`.

    Raises:
        LimitReached: the budget is spent.
        DecodeError: `inner` met damaged data.
    """

    def __init__(self, inner: Readable, budget: Budget, layer: str) -> None:
        self._inner = inner
        self._budget = budget
        self._layer = layer

    def _read(self, n: int) -> bytes:
        try:
            data = self._inner.read(n)
        except CORRUPT as e:
            raise DecodeError(self._layer, e) from None
        self._budget.spend(len(data))
        return data


class Pieces(_Raw):
    """A stream over an iterator of byte pieces (the secrets scanner's `gunzip`)."""

    def __init__(self, pieces: Iterator[bytes]) -> None:
        self._pieces = pieces
        self._rest = b""

    def _read(self, n: int) -> bytes:
        while not self._rest:
            piece = next(self._pieces, None)
            if piece is None:
                return b""
            self._rest = piece
        data, self._rest = self._rest[:n], self._rest[n:]
        return data


def new_spool() -> IO[bytes]:
    """An empty temporary file, kept in memory while small. Closing it deletes it."""
    return tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)


def spool(src: Readable, budget: Budget) -> IO[bytes]:
    """Copy `src` into a seekable temporary file (in memory while small), charged to
    `budget`, and return it rewound. The caller closes it (which deletes it)."""
    out = new_spool()
    try:
        while block := src.read(_COPY):
            budget.spend(len(block))
            out.write(block)
        out.seek(0)
    except BaseException:
        out.close()
        raise
    return out


class Spool:
    """A temporary file that decrypted content is written to, charged to `budget`."""

    def __init__(self, budget: Budget) -> None:
        self._budget = budget
        self.file = new_spool()

    def write(self, data: bytes) -> int:
        self._budget.spend(len(data))
        return self.file.write(data)

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.file.close()
