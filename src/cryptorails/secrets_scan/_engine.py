"""Scan one file: detectors (and known key material) over its bytes, findings located.

A plain file is scanned as one buffer (memory-mapped when large). A gzip file is
decompressed in pieces; consecutive windows overlap so that a secret cut by a piece
boundary is seen whole in the next window, and each finding is reported by exactly one
window. Line numbers of a gzip file are lines of the decompressed text.
"""

from __future__ import annotations

import mmap
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptorails.redact._detectors import Found, find_secrets_bytes, resolve_overlaps
from cryptorails.redact._known import KnownMaterial
from cryptorails.secrets_scan._baseline import fingerprint
from cryptorails.secrets_scan._files import GZIP_MAGIC, TruncatedError, gunzip, mapped
from cryptorails.secrets_scan._kube import secret_values
from cryptorails.secrets_scan._model import Finding

__all__ = ["ScanConfig", "mask", "scan_file"]

Buffer = bytes | bytearray | memoryview | mmap.mmap

# A window keeps this much after its reporting limit, so everything reported there is
# seen whole: more than the longest secret (a PEM body is cut at 32 KiB) plus the widest
# rule window after it.
_KEEP = 1 << 16
# ... and this much before, for the context some rules look back at.
_CONTEXT = 1 << 12
_KUBE_SUFFIXES = (".yaml", ".yml", ".json")
_KUBE_MAX = 64 << 20
_CONTINUATION = bytes(range(0x80, 0xC0))
_PREFIX = re.compile(
    rb"gh[pousr]_|github_pat_|gl(?:pat|ptt|rt|dt)-|xox[a-z]-|xapp-|[sr]k_(?:live|test)_|whsec_"
    rb"|AKIA|ASIA|ABIA|ACCA|A3T|AIza|eyJ|-----BEGIN [A-Z0-9 ]{0,40}-----"
)


@dataclass(frozen=True, slots=True)
class ScanConfig:
    """What every worker needs: the fingerprint salt and the gunzip limit."""

    salt: bytes
    max_decompressed: int = 1 << 30


def mask(kind: str, secret: bytes, fp: str) -> str:
    """A display form that shows no secret byte: a public vendor prefix and the length,
    or ``[REDACTED:kind:fingerprint-prefix]``."""
    prefix = _PREFIX.match(secret)
    if prefix is not None:
        return f"{prefix.group().decode()}…[{len(secret)} chars]"
    return f"[REDACTED:{kind}:{fp[:8]}]"


def _chars(data: bytes) -> int:
    """Characters in UTF-8 `data` (continuation bytes don't start one)."""
    return len(data.translate(None, _CONTINUATION))


class _Locator:
    """Byte offsets -> (line, column), for offsets given in increasing order.

    Linear in the buffer however many offsets are asked for: each call reads only the
    bytes since the previous one. `line` and `column` describe the buffer's first byte:
    newlines before it, and characters since the last newline before it.
    """

    _STEP = 1 << 24  # bounded copies out of an mmap

    def __init__(self, buf: Buffer, line: int = 0, column: int = 0) -> None:
        self._buf = buf
        self._pos = 0
        self._lines = line
        self._column = column

    def locate(self, offset: int) -> tuple[int, int]:
        if offset > self._pos:
            last_newline = -1
            for start in range(self._pos, offset, self._STEP):
                piece = bytes(self._buf[start : min(offset, start + self._STEP)])
                count = piece.count(b"\n")
                if count:
                    self._lines += count
                    last_newline = start + piece.rfind(b"\n")
            if last_newline >= 0:
                self._column = _chars(bytes(self._buf[last_newline + 1 : offset]))
            else:
                self._column += _chars(bytes(self._buf[self._pos : offset]))
            self._pos = offset
        return self._lines + 1, self._column + 1


def _detect(buf: Buffer, known: KnownMaterial | None) -> list[Found]:
    found = find_secrets_bytes(buf)
    if known is not None:
        found = resolve_overlaps([*found, *known.find(buf)])
    return found


def _findings(
    path: str, buf: Buffer, found: Iterable[Found], locator: _Locator, config: ScanConfig
) -> Iterator[Finding]:
    for f in found:
        secret = bytes(buf[f.start : f.end])
        fp = fingerprint(config.salt, f.kind, secret)
        line, column = locator.locate(f.start)
        yield Finding(path, line, column, f.kind, fp, mask(f.kind, secret, fp))


def _kube(buf: Buffer, known: KnownMaterial | None) -> list[tuple[int, int, str, bytes]]:
    """(encoded start, encoded end, kind, decoded secret) for the secrets inside the
    decoded ``data`` values of Kubernetes Secrets."""
    hits = []
    for value in secret_values(bytes(buf)):
        # "name: decoded" lets the keyword rules see the entry's name (`password`).
        text = value.name + b": " + value.decoded
        skip = len(value.name) + 2
        for f in _detect(text, known):
            if f.end > skip:
                hits.append((value.start, value.end, f.kind, text[max(f.start, skip) : f.end]))
    return hits


def _scan_mapped(
    display: str, buf: Buffer, kube: bool, known: KnownMaterial | None, config: ScanConfig
) -> Iterator[Finding]:
    found = _detect(buf, known)
    if kube:
        hits = _kube(buf, known)
        # An encoded value is reported once, as what it decodes to.
        spans = [(start, end) for start, end, _, _ in hits]
        found = [f for f in found if not any(s < f.end and f.start < e for s, e in spans)]
        locator = _Locator(buf)
        for start, _, kind, secret in sorted(hits, key=lambda h: h[0]):
            fp = fingerprint(config.salt, kind, secret)
            line, column = locator.locate(start)
            yield Finding(display, line, column, kind, fp, mask(kind, secret, fp))
    yield from _findings(display, buf, found, _Locator(buf), config)


def _last_marked(pieces: Iterable[bytes]) -> Iterator[tuple[bytes, bool]]:
    """(piece, is_last): a piece before a `TruncatedError` is the last one, and is
    handed out before the error is raised."""
    iterator = iter(pieces)
    current = next(iterator, None)
    while current is not None:
        try:
            following = next(iterator, None)
        except TruncatedError:
            yield current, True
            raise
        yield current, following is None
        current = following


def _windows(
    path: str, pieces: Iterable[bytes], known: KnownMaterial | None, config: ScanConfig
) -> Iterator[Finding]:
    """Scan a stream of pieces through overlapping windows (see the module docstring)."""
    window = b""
    skip = 0  # leading context bytes already reported by the previous window
    line = column = 0  # at the window's first byte
    for piece, final in _last_marked(pieces):
        window = window + piece if window else piece
        limit = len(window) if final else max(skip, len(window) - _KEEP)
        found = [f for f in _detect(window, known) if skip <= f.start < limit]
        yield from _findings(path, window, found, _Locator(window, line, column), config)
        cut = max(0, limit - _CONTEXT)
        dropped = window[:cut]
        newline = dropped.rfind(b"\n")
        line += dropped.count(b"\n")
        column = _chars(dropped[newline + 1 :]) if newline >= 0 else column + _chars(dropped)
        window, skip = window[cut:], limit - cut


def scan_file(
    path: Path, display: str, config: ScanConfig, known: KnownMaterial | None
) -> tuple[list[Finding], list[str]]:
    """Findings in one file and warnings about it (never raises for a bad file).

    Returns:
        findings sorted by line and column, and human-readable warnings.
    """
    warnings: list[str] = []
    findings: list[Finding] = []
    try:
        # A FIFO or a device named on the command line would block or never end.
        if not stat.S_ISREG(path.stat().st_mode):
            return [], [f"skipped {display}: not a regular file"]
        with path.open("rb") as f:
            head = f.read(2)
            f.seek(0)
            if head == GZIP_MAGIC:
                try:
                    findings.extend(
                        _windows(display, gunzip(f, config.max_decompressed), known, config)
                    )
                except TruncatedError as e:
                    warnings.append(f"{display}: {e}; scanned what came before")
            else:
                with mapped(f) as buf:
                    kube = (
                        path.suffix.lower() in _KUBE_SUFFIXES
                        and len(buf) <= _KUBE_MAX
                        and buf.find(b"Secret") >= 0
                    )
                    findings.extend(_scan_mapped(display, buf, kube, known, config))
    except OSError as e:
        warnings.append(f"cannot read {display}: {e.strerror or e}")
    except ValueError as e:  # e.g. mmap of a file that shrank
        warnings.append(f"cannot scan {display}: {e}")
    findings.sort(key=lambda x: (x.line, x.column, x.kind))
    return findings, warnings
