"""`find_keystore_copies`: keystores, keysets, KEKs and key material inside backups.

A keystore folder copied into a nightly tarball, a KEK file next to it, a key pasted
into a log that was archived: each is a copy of the keys that outlives rotation and
shredding. This walks files and folders and looks inside tar (plain, gzip, bzip2, xz)
and zip archives, gzip/bzip2/xz files, and cryptorails backups that a given
`BackupSealer` opens, nested in any order.

Nothing is extracted: archives are read as streams (zip members from a seekable file,
spooled to a temporary file when the zip is itself inside something), so member paths
never reach the filesystem and path traversal cannot happen. Every scanned file gets a
budget: decoded bytes (decompressed, decrypted or spooled), archive members and nesting
depth are all bounded, and a corrupt or over-limit archive is reported, not raised.
Findings hold names, kinds, key ids and offsets; never the material itself.
"""

from __future__ import annotations

import bz2
import contextlib
import hashlib
import json
import lzma
import os
import stat
import tarfile
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO, cast

from cryptorails.backups import _format as fmt
from cryptorails.backups._chunks import open_chunks
from cryptorails.backups._readers import (
    CORRUPT,
    Budget,
    Chained,
    Counted,
    DecodeError,
    LimitReached,
    Pieces,
    Readable,
    Spool,
    describe,
    layer_of,
    spool,
)
from cryptorails.backups._stream import BackupSealer
from cryptorails.errors import DecryptionError
from cryptorails.keys._stores import KEYSET_FILE_FORMAT, KEYSTORE_FORMAT
from cryptorails.keys.kek._local import _TENANT_KEK_FORMAT, LocalKek, _key_from_file_bytes
from cryptorails.redact._known import KnownMaterial
from cryptorails.secret import Secret
from cryptorails.secrets_scan._files import DEFAULT_EXCLUDES, gunzip, walk

__all__ = ["COPY_KINDS", "UNREADABLE", "KeystoreCopy", "find_keystore_copies"]

COPY_KINDS = ("keystore", "keyset", "tenant-kek", "kek", "key-material")
UNREADABLE = "unreadable"

_HEAD = 512  # enough to see a tar header's "ustar" magic at offset 257
_PIECE = 1 << 20
# Consecutive windows of a stream overlap by more than the longest encoding of a key
# (PEM of an RSA-4096 key is about 3.3 KB), so every occurrence is whole in one window.
_OVERLAP = 1 << 16
_JSON_MAX = 1 << 20  # keystore.json, keyset and tenant KEK files are a few KB
_KEK_FILE_MAX = 128  # 32 raw bytes, or 64 hex digits and some whitespace
_MAX_OFFSETS = 100


@dataclass(frozen=True)
class KeystoreCopy:
    """One copy of key material (or one place that could not be looked inside).

    Attributes:
        path: the file on disk.
        member: where inside it, outermost first: archive member names, and
            ``<backup ID>`` for the content of a cryptorails backup. Empty for the file
            itself.
        kind: ``keystore`` (a keystore's ``keystore.json``), ``keyset`` (a wrapped keyset
            file), ``tenant-kek`` (a wrapped tenant KEK file), ``kek`` (a KEK file whose
            key is known), ``key-material`` (known key material in any encoding), or
            ``unreadable`` (a corrupt archive, a limit reached, a backup no given sealer
            opens; see `detail`).
        environment, tenant, purpose: what the file names in clear, when it does.
        kek_id: the KEK id a keystore records, or the id of the KEK in a KEK file.
        offsets: byte offsets of known key material in the member (first 100).
        detail: why an entry is ``unreadable``.
    """

    path: str
    member: tuple[str, ...]
    kind: str
    environment: str | None = None
    tenant: str | None = None
    purpose: str | None = None
    kek_id: str | None = None
    offsets: tuple[int, ...] = ()
    detail: str = ""

    @property
    def location(self) -> str:
        """``path!member!member``: one string for people."""
        return "!".join((self.path, *self.member))

    def to_json(self) -> dict[str, Any]:
        """The JSON form (no key material in it)."""
        return {
            "path": self.path,
            "member": list(self.member),
            "kind": self.kind,
            "environment": self.environment,
            "tenant": self.tenant,
            "purpose": self.purpose,
            "kek_id": self.kek_id,
            "offsets": list(self.offsets),
            "detail": self.detail,
        }


def find_keystore_copies(
    paths: Iterable[str | os.PathLike[str]],
    *,
    known: KnownMaterial | None = None,
    kek_ids: Iterable[str] = (),
    backup_sealers: Sequence[BackupSealer] = (),
    max_bytes: int = 1 << 30,
    max_members: int = 100_000,
    max_depth: int = 8,
) -> list[KeystoreCopy]:
    """Find copies of keystores, keysets, KEKs and key material under `paths`.

    Args:
        paths: files and folders (folders are walked; symbolic links to folders, FIFOs
            and devices are skipped, as by ``cryptorails secrets``).
        known: key material to look for (`KnownMaterial.from_keyring`, plus KEK bytes
            with `KnownMaterial.add`).
        kek_ids: ids of KEKs (`LocalKek.kek_id`) whose files count as ``kek`` copies. The
            KEK ids recorded by keystore copies found in the same scan count too.
        backup_sealers: sealers tried, in order, on every cryptorails backup found.
        max_bytes: per file on disk: bytes that decompression, decryption and spooling
            may produce before the file is reported ``unreadable``.
        max_members: per file on disk: archive members looked at.
        max_depth: archives, compressed streams and backups nested in each other.

    Returns:
        the findings, sorted by path, member and kind.
    """
    for name, value in (("max_bytes", max_bytes), ("max_members", max_members)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int")
    if not isinstance(max_depth, int) or max_depth < 0:
        raise ValueError("max_depth must be a non-negative int")
    if isinstance(kek_ids, str | bytes):
        raise TypeError("kek_ids must be a collection of KEK ids, not one string")
    if known is not None and not isinstance(known, KnownMaterial):
        raise TypeError("known must be a KnownMaterial")
    sealers = tuple(backup_sealers)
    if not all(isinstance(s, BackupSealer) for s in sealers):
        raise TypeError("backup_sealers must hold BackupSealer objects")
    finder = _Finder(known, set(kek_ids), sealers, max_bytes, max_members, max_depth)
    for path in walk([Path(p) for p in paths], DEFAULT_EXCLUDES):
        finder.scan_file(path)
    return finder.results()


class _Finder:
    def __init__(
        self,
        known: KnownMaterial | None,
        kek_ids: set[str],
        sealers: tuple[BackupSealer, ...],
        max_bytes: int,
        max_members: int,
        max_depth: int,
    ) -> None:
        self._known = known
        self._kek_ids = kek_ids
        self._sealers = sealers
        self._max_bytes = max_bytes
        self._max_members = max_members
        self._max_depth = max_depth
        self._found: list[KeystoreCopy] = []
        # KEK-shaped files not matched yet: a keystore found later may name their id.
        self._kek_candidates: list[KeystoreCopy] = []
        self._path = ""
        self._budget = Budget(max_bytes)
        self._members = 0

    def results(self) -> list[KeystoreCopy]:
        self._found += [c for c in self._kek_candidates if c.kek_id in self._kek_ids]
        return sorted(self._found, key=lambda c: (c.path, c.member, c.kind, c.offsets))

    def _add(self, chain: tuple[str, ...], kind: str, **fields: Any) -> None:
        self._found.append(KeystoreCopy(self._path, chain, kind, **fields))

    def scan_file(self, path: Path) -> None:
        self._path = str(path)
        self._budget = Budget(self._max_bytes)
        self._members = 0
        try:
            # O_NONBLOCK: a FIFO named on the command line must not block the scan.
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
            with open(fd, "rb") as f:
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    self._add((), UNREADABLE, detail="not a regular file")
                    return
                self._content(f, (), 0, seekable=f)
        except OSError as e:
            self._add((), UNREADABLE, detail=f"cannot read: {e.strerror or e}")
        except LimitReached:
            self._add((), UNREADABLE, detail=f"stopped after {self._max_bytes} decoded bytes")

    # -- one stream: sniff, then descend ---------------------------------------------

    def _content(
        self, src: Readable, chain: tuple[str, ...], depth: int, *, seekable: IO[bytes] | None
    ) -> None:
        head = fmt.read_exact(src, _HEAD)
        stream = Chained(head, src)
        layer = layer_of(head)
        if layer is None:
            self._plain(stream, chain)
            return
        if depth >= self._max_depth:
            self._add(chain, UNREADABLE, detail=f"{layer} nested deeper than {self._max_depth}")
            return
        try:
            if layer == "backup":
                self._backup(stream, chain, depth)
            elif layer == "zip":
                self._zip(stream, chain, depth, seekable)
            elif layer == "tar":
                self._tar(stream, chain, depth)
            else:
                self._content(self._decompressed(layer, stream), chain, depth + 1, seekable=None)
        except (DecodeError, *CORRUPT) as e:
            self._add(chain, UNREADABLE, detail=describe(layer, e))

    def _decompressed(self, layer: str, stream: Chained) -> Readable:
        if layer == "gzip":
            # The secrets scanner's gunzip: all members, bounded pieces, padding allowed.
            pieces = gunzip(cast(BinaryIO, stream), self._budget.left + 1, piece=_PIECE)
            return Counted(Pieces(pieces), self._budget, layer)
        raw = cast(IO[bytes], stream)
        # Closing these would only release buffers: the caller owns `stream`.
        opened = bz2.BZ2File(raw) if layer == "bzip2" else lzma.LZMAFile(raw)  # noqa: SIM115
        return Counted(opened, self._budget, layer)

    def _count_member(self, chain: tuple[str, ...]) -> bool:
        self._members += 1
        if self._members > self._max_members:
            if self._members == self._max_members + 1:
                self._add(chain, UNREADABLE, detail=f"more than {self._max_members} members")
            return False
        return True

    def _tar(self, stream: Chained, chain: tuple[str, ...], depth: int) -> None:
        # Stream mode ("r|"): members are read in order, nothing is seeked or extracted.
        with tarfile.open(fileobj=cast(IO[bytes], stream), mode="r|") as tar:
            while (info := tar.next()) is not None:
                # Stream mode keeps every header read so far; nothing here needs them.
                tar.members.clear()  # type: ignore[attr-defined]
                if not self._count_member(chain):
                    return
                if not info.isfile():
                    continue  # links, folders and devices hold no bytes of their own
                inner = (*chain, info.name)
                member = tar.extractfile(info)
                if member is not None:
                    self._content(member, inner, depth + 1, seekable=None)

    def _zip(
        self, stream: Chained, chain: tuple[str, ...], depth: int, seekable: IO[bytes] | None
    ) -> None:
        # A zip's index is at its end: read it from the file itself, or from a spool.
        with contextlib.ExitStack() as stack:
            if seekable is None:
                seekable = stack.enter_context(spool(stream, self._budget))
            else:
                seekable.seek(0)
            archive = stack.enter_context(zipfile.ZipFile(seekable))
            for info in archive.infolist():
                if not self._count_member(chain):
                    return
                if info.is_dir():
                    continue
                inner = (*chain, info.filename)
                if info.flag_bits & 0x1:
                    self._add(inner, UNREADABLE, detail="encrypted zip member")
                    continue
                try:
                    with archive.open(info) as member:
                        counted = Counted(member, self._budget, "zip member")
                        self._content(counted, inner, depth + 1, seekable=None)
                except (DecodeError, *CORRUPT) as e:
                    self._add(inner, UNREADABLE, detail=describe("zip member", e))

    def _backup(self, stream: Chained, chain: tuple[str, ...], depth: int) -> None:
        try:
            header = fmt.read_header(stream)
        except DecryptionError:
            self._add(chain, UNREADABLE, detail="damaged cryptorails backup header")
            return
        name = f"<backup {header.backup_id.hex()}>"
        for sealer in self._sealers:
            try:
                dek = sealer._unseal(header)
            except DecryptionError:
                continue
            # Decrypted in full (and so verified) before anything looks inside it.
            with Spool(self._budget) as out:
                try:
                    open_chunks(stream, out, header, dek, hashlib.sha256())
                except DecryptionError:
                    self._add(chain, UNREADABLE, detail="cryptorails backup fails to verify")
                    return
                out.file.seek(0)
                self._content(out.file, (*chain, name), depth + 1, seekable=out.file)
            return
        self._add(chain, UNREADABLE, detail="cryptorails backup that no given BackupSealer opens")

    # -- a plain file: JSON formats, KEK files, known material -------------------------

    def _plain(self, stream: Chained, chain: tuple[str, ...]) -> None:
        first: bytearray | None = bytearray()  # the whole content, while it is small
        spans: set[tuple[int, int]] = set()
        carry, pos = b"", 0
        try:
            while piece := stream.read(_PIECE):
                if first is not None:
                    first += piece
                    if len(first) > _JSON_MAX:
                        first = None
                if self._known is not None:
                    window = carry + piece
                    base = pos - len(carry)
                    found = self._known.find(window)
                    spans.update((base + f.start, base + f.end) for f in found)
                    carry = window[-_OVERLAP:]
                pos += len(piece)
                if first is None and self._known is None:
                    break  # too large for the file formats, and no material to look for
        except BaseException:
            # Damaged further on (a cut log.gz) or over budget: what was read still counts.
            self._material(chain, spans)
            raise
        content = bytes(first) if first is not None else b""
        if content.lstrip()[:1] == b"{" and b"cryptorails/v1/" in content:
            self._json(content, chain)
        if 0 < len(content) <= _KEK_FILE_MAX and self._kek_file(content, chain, bool(spans)):
            return
        self._material(chain, spans)

    def _material(self, chain: tuple[str, ...], spans: set[tuple[int, int]]) -> None:
        if spans:
            starts = tuple(sorted({s for s, _ in spans}))[:_MAX_OFFSETS]
            self._add(chain, "key-material", offsets=starts)

    def _json(self, content: bytes, chain: tuple[str, ...]) -> None:
        try:
            data = json.loads(content)
        except (ValueError, RecursionError):
            return
        if not isinstance(data, dict):
            return
        label = data.get("format")
        if label == KEYSTORE_FORMAT:
            kek_id = _text(data.get("kek_id"))
            if kek_id is not None:
                self._kek_ids.add(kek_id)
            self._add(chain, "keystore", environment=_text(data.get("environment")), kek_id=kek_id)
        elif label == KEYSET_FILE_FORMAT:
            self._add(
                chain,
                "keyset",
                environment=_text(data.get("environment")),
                tenant=_text(data.get("tenant")),
                purpose=_text(data.get("purpose")),
            )
        elif label == _TENANT_KEK_FORMAT:
            self._add(chain, "tenant-kek", tenant=_text(data.get("tenant")))

    def _kek_file(self, content: bytes, chain: tuple[str, ...], matched: bool) -> bool:
        """Report a KEK file (32 raw bytes or 64 hex digits) if its key is known;
        remember it otherwise. True if it was reported."""
        key = _key_from_file_bytes(Secret(content))
        if key is None:
            return False
        # The KEK id is a check value (an HMAC of a fixed label), safe to keep and show.
        copy = KeystoreCopy(self._path, chain, "kek", kek_id=LocalKek(key).kek_id)
        if matched or copy.kek_id in self._kek_ids:
            self._found.append(copy)
            return True
        self._kek_candidates.append(copy)
        return False


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
