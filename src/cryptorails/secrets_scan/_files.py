"""Which files to scan, and how to read them: memory-mapped, or gunzipped in pieces."""

from __future__ import annotations

import contextlib
import fnmatch
import mmap
import os
import stat
import zlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import BinaryIO

__all__ = [
    "DEFAULT_EXCLUDES",
    "GZIP_MAGIC",
    "TruncatedError",
    "excluded",
    "gunzip",
    "mapped",
    "walk",
]

# Version-control metadata: the repository's own history is another tool's job.
DEFAULT_EXCLUDES = (".git", ".hg", ".svn")
GZIP_MAGIC = b"\x1f\x8b"
_MAP_FROM = 1 << 20  # smaller files are read; a mapping costs more than it saves there
_READ = 1 << 16


class TruncatedError(Exception):
    """A compressed stream ended early, was corrupt, or passed the size limit."""


def excluded(relative: str, patterns: Sequence[str]) -> bool:
    """Whether `relative` (a POSIX path below a scanned folder) matches a pattern.

    A pattern matches the whole relative path (``logs/*.gz``) or any single component
    (``node_modules``, ``*.bak``), so a folder pattern also skips everything under it.
    """
    parts = PurePosixPath(relative).parts
    return any(
        fnmatch.fnmatchcase(relative, p) or any(fnmatch.fnmatchcase(part, p) for part in parts)
        for p in patterns
    )


def walk(roots: Iterable[Path], excludes: Sequence[str]) -> Iterator[Path]:
    """Regular files under `roots`, in a stable order.

    A root that is a file is yielded as it is (naming a file scans it, even if it matches
    an exclude). Folders are walked without following symbolic links to folders (no
    loops, no escaping the tree); FIFOs, sockets and devices are skipped, since reading
    one may block forever.
    """
    for root in roots:
        if not root.is_dir():
            yield root
            continue
        for folder, dirs, files in os.walk(root, followlinks=False):
            here = Path(folder)
            rel = here.relative_to(root).as_posix()
            dirs[:] = sorted(
                d for d in dirs if not excluded(d if rel == "." else f"{rel}/{d}", excludes)
            )
            for name in sorted(files):
                if excluded(name if rel == "." else f"{rel}/{name}", excludes):
                    continue
                path = here / name
                with contextlib.suppress(OSError):  # vanished or unreadable: reported later
                    if not stat.S_ISREG(path.stat().st_mode):
                        continue
                yield path


@contextlib.contextmanager
def mapped(f: BinaryIO) -> Iterator[bytes | mmap.mmap]:
    """The file's bytes: memory-mapped when large (the OS pages it in as the scan goes,
    nothing is copied), read whole when small."""
    size = os.fstat(f.fileno()).st_size
    if size < _MAP_FROM:
        yield f.read()
        return
    with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        yield m


def gunzip(f: BinaryIO, limit: int, piece: int = 1 << 22) -> Iterator[bytes]:
    """Decompress a gzip stream (all members) in pieces of about `piece` bytes.

    Memory stays bounded: `zlib` is asked for at most one piece at a time, whatever the
    compression ratio.

    Raises:
        TruncatedError: after the last good piece, if the stream is corrupt or cut
            short, or once `limit` decompressed bytes have been produced.
    """
    total = 0
    decomp = zlib.decompressobj(16 + zlib.MAX_WBITS)
    pending = b""  # compressed input not yet given to `decomp`
    out = bytearray()
    while True:
        if not pending:
            pending = f.read(_READ)
            if not pending:
                break
        if decomp.eof:
            if not pending.strip(b"\0"):  # padding after the last member
                pending = b""
                continue
            decomp = zlib.decompressobj(16 + zlib.MAX_WBITS)  # another member (RFC 1952 §2.2)
        try:
            out += decomp.decompress(pending, piece - len(out))
        except zlib.error as e:
            if out:
                yield bytes(out)
            raise TruncatedError(f"corrupt gzip data ({e})") from None
        pending = decomp.unused_data if decomp.eof else decomp.unconsumed_tail
        if total + len(out) >= limit:
            yield bytes(out[: limit - total])
            raise TruncatedError(f"stopped after {limit} decompressed bytes")
        if len(out) >= piece:
            total += len(out)
            yield bytes(out)
            out.clear()
    if out:
        yield bytes(out)
    if not decomp.eof:
        raise TruncatedError("gzip stream ends early")
