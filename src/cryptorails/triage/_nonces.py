"""Nonce reuse in stored ciphertexts: which (key, nonce) pairs were used more than once.

An AEAD nonce must never repeat under one key. Whether it did is visible in the data at
rest: every blob carries its nonce. `NonceScanner` reads blobs one at a time (memory: one
dict entry per distinct (key, nonce)) and reports each repeated pair, the chance that
random nonces would have repeated that often, and nonces that do not look random.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from cryptorails.aead import _format, read_header
from cryptorails.aead._xaes import BATCH
from cryptorails.algorithms import Algorithm

__all__ = [
    "KeyNonces",
    "Layout",
    "NonceReport",
    "NonceReuse",
    "NonceScanner",
    "chance_of_reuse",
]

_TAG_SIZE = 16  # every cryptorails AEAD has 16-byte tags
_HEADER = _format.HEADER_SIZE
_MASK64 = (1 << 64) - 1
_MAX_FIELD = 1 << 16
_MAX_SKIP = 1 << 30
_SHOWN_LOCATIONS = 20
# Structure checks need enough nonces that random ones cannot trip them (see `_PerKey`).
_MIN_FOR_SPAN = 4
_MIN_FOR_ORDER = 32

# What a repeated nonce costs, by algorithm (the names the CLI accepts for raw layouts).
_IMPACT = {
    "AES-GCM": (
        "critical",
        "AES-GCM: a repeated nonce reveals the XOR of the two plaintexts and the GHASH "
        "key, so an attacker can forge tags for any message under this key "
        "(NIST SP 800-38D §8, Joux's forbidden attack)",
    ),
    "XAES-256-GCM": (
        "critical",
        "XAES-256-GCM: the same 24-byte nonce derives the same AES-GCM key and nonce, so "
        "a repeat is an AES-GCM nonce reuse (XOR of plaintexts, forgeable tags)",
    ),
    "ChaCha20-Poly1305": (
        "critical",
        "ChaCha20-Poly1305: a repeated nonce reveals the XOR of the plaintexts and the "
        "one-time Poly1305 key, so messages under that nonce can be forged (RFC 8439 §4)",
    ),
    "XChaCha20-Poly1305": (
        "critical",
        "XChaCha20-Poly1305: as ChaCha20-Poly1305, a repeat reveals the XOR of the "
        "plaintexts and allows forgeries under that nonce",
    ),
    "AES-GCM-SIV": (
        "low",
        "AES-GCM-SIV is nonce-misuse resistant: a repeat reveals only whether the same "
        "message and aad were sealed twice (RFC 8452 §9), but the nonce source is broken",
    ),
}
_UNKNOWN_IMPACT = (
    "critical",
    "algorithm not given: assumed a nonce-respecting AEAD such as AES-GCM or "
    "ChaCha20-Poly1305, where a repeat reveals the XOR of plaintexts and allows forgeries",
)
_BY_ALGORITHM = {
    Algorithm.AES_256_GCM: "AES-GCM",
    Algorithm.XAES_256_GCM: "XAES-256-GCM",
    Algorithm.AES_256_GCM_SIV: "AES-GCM-SIV",
}
ALGORITHM_NAMES = tuple(_IMPACT)


def chance_of_reuse(messages: int, nonce_bits: int) -> float:
    """The probability that `messages` uniformly random nonces repeat at least once.

    The birthday bound p = 1 - exp(-n(n-1) / 2^(b+1)). `expm1` keeps p exact when it is
    tiny (1 - exp(-x) rounds to 0 for x below about 1e-16), which is the interesting
    case: it is what makes "7 repeats where chance predicts 3e-17" visible.
    """
    if messages < 2:
        return 0.0
    try:
        x = math.ldexp(float(messages * (messages - 1)), -(nonce_bits + 1))
    except OverflowError:
        return 1.0
    return -math.expm1(-x)


@dataclass(frozen=True)
class Layout:
    """Where the key id and the nonce sit in a record.

    ``cryptorails`` (the default) reads the sealed-blob header: the key is (algorithm,
    kid), the nonce follows the header. A raw layout is a comma list of ``skip:N``,
    ``key:N`` (key-id bytes), ``nonce:N`` (exactly once) and ``ct`` (the rest; last);
    without ``key`` every record counts as one key.
    """

    spec: str
    fields: tuple[tuple[str, int], ...] = ()

    @property
    def cryptorails(self) -> bool:
        return not self.fields

    @property
    def has_key(self) -> bool:
        return self.cryptorails or any(kind == "key" for kind, _ in self.fields)

    @property
    def head_size(self) -> int:
        """Bytes at the start of a record that hold its key id and nonce."""
        if self.cryptorails:
            return _format.HEADER_SIZE + 24
        return sum(n for kind, n in self.fields if kind != "ct")

    @classmethod
    def parse(cls, spec: str) -> Layout:
        """Parse ``cryptorails`` or a raw field list such as ``skip:2,key:4,nonce:12,ct``.

        Raises:
            ValueError: with the exact problem (unknown field, size, order, repeats).
        """
        text = spec.strip()
        if text == "cryptorails":
            return cls("cryptorails")
        fields: list[tuple[str, int]] = []
        for i, raw in enumerate(text.split(",")):
            part = raw.strip()
            if fields and fields[-1][0] == "ct":
                raise ValueError("'ct' (the rest of the record) must be the last field")
            if part == "ct":
                fields.append(("ct", 0))
                continue
            m = re.fullmatch(r"(skip|key|nonce):([0-9]{1,10})", part)
            if m is None:
                raise ValueError(
                    f"layout field {i + 1} is {part!r}; expected skip:N, key:N, nonce:N or ct"
                )
            kind, size = m[1], int(m[2])
            limit = _MAX_SKIP if kind == "skip" else _MAX_FIELD
            if not (0 if kind == "skip" else 1) <= size <= limit:
                raise ValueError(f"{kind}:{size} is out of range (at most {limit} bytes)")
            if kind != "skip" and any(k == kind for k, _ in fields):
                raise ValueError(f"layout has more than one {kind!r} field")
            fields.append((kind, size))
        if not any(kind == "nonce" for kind, _ in fields):
            raise ValueError("layout has no 'nonce:N' field")
        return cls(",".join(k if k == "ct" else f"{k}:{n}" for k, n in fields), tuple(fields))

    def split(self, head: bytes, length: int) -> tuple[bytes, Algorithm | None, bytes] | str:
        """(key id bytes, algorithm, nonce) of a record, or why it does not fit.

        `head` is the record's first `head_size` bytes (or all of it, if shorter) and
        `length` the whole record's size. Nothing here is authenticated: a header only
        says where the nonce is.
        """
        if self.cryptorails:
            return _split_sealed(head, length)
        key, nonce, at = b"", b"", 0
        for kind, size in self.fields:
            if kind == "ct":
                return key, None, nonce
            if kind == "key":
                key = head[at : at + size]
            elif kind == "nonce":
                nonce = head[at : at + size]
            at += size
        if length != at:
            return f"{length} bytes where the layout describes exactly {at}"
        return key, None, nonce


def _split_sealed(head: bytes, length: int) -> tuple[bytes, Algorithm | None, bytes] | str:
    header = read_header(head)
    if header is None:
        return "shorter than a header"
    if header.version != _format.VERSION:
        return f"unknown version {header.version}"
    if header.algorithm is None:
        return f"unknown algorithm id {head[1]}"
    size = _format.nonce_size(header.algorithm)
    if length < _format.HEADER_SIZE + size + _TAG_SIZE:
        return f"{length} bytes: too short for a {header.algorithm.value} blob"
    return head[: _format.HEADER_SIZE], header.algorithm, header.nonce


@dataclass(frozen=True)
class NonceReuse:
    """One (key, nonce) seen with more than one distinct ciphertext."""

    key: str
    nonce: bytes
    count: int
    """Records with this (key, nonce), identical copies included."""
    ciphertexts: int
    """Distinct ciphertexts among them (at least 2)."""
    first: str
    last: str


@dataclass(frozen=True)
class KeyNonces:
    """What one key's records say about its nonces."""

    key: str
    algorithm: str | None
    nonce_bits: int
    records: int
    messages: int
    """Distinct messages (records minus identical copies of a record already seen)."""
    reused_nonces: int
    extra_uses: int
    """Messages beyond the first under a repeated nonce."""
    chance: float
    """Probability that random nonces repeat at all among `messages` (birthday bound)."""
    severity: str | None
    impact: str
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class NonceReport:
    """The result of a scan. `clean` when no nonce repeats under one key."""

    layout: str
    records: int
    keys: tuple[KeyNonces, ...]
    reuses: tuple[NonceReuse, ...]
    duplicates: int
    malformed: int
    malformed_at: tuple[str, ...]
    undecodable: int
    undecodable_at: tuple[str, ...]

    @property
    def clean(self) -> bool:
        return not self.reuses

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (nonces as hex)."""
        return {
            "clean": self.clean,
            "layout": self.layout,
            "records": self.records,
            "identical_copies": self.duplicates,
            "malformed": {"count": self.malformed, "first": list(self.malformed_at)},
            "undecodable": {"count": self.undecodable, "first": list(self.undecodable_at)},
            "keys": [{**asdict(k), "warnings": list(k.warnings)} for k in self.keys],
            "reuses": [{**asdict(r), "nonce": r.nonce.hex()} for r in self.reuses],
        }


class _PerKey:
    """One key's nonces (first location and fingerprint of each) and running statistics.

    Structure checks, chosen so that random nonces practically never trip them:

    * span: all nonces, read as big- or little-endian integers, lie within a window of
      2^-32 of the nonce space. For n uniform values that has probability below
      n * 2^(-32 (n-1)), under 2^-90 from 4 nonces on.
    * order: at least 95% of consecutive nonces (input order) go up. For random values
      the number of ascents is Eulerian-distributed with mean (n-1)/2; from 32 nonces on
      the chance of 95% ascents is below 1e-25.

    XAES-256-GCM: the sealer draws the first 12 nonce bytes once per batch of at most
    `BATCH` messages and the last 12 fresh for each message (aead/_xaes.py). So only the
    last 12 must look random, and the chance of a repeat is summed over batch prefixes.
    """

    __slots__ = (
        *("algorithm", "asc_be", "asc_le", "batches", "be_hi", "be_lo", "label", "last_be"),
        *("last_le", "le_hi", "le_lo", "records", "seen", "size", "skip"),
    )

    def __init__(self, label: str, algorithm: str | None, size: int) -> None:
        self.label = label
        self.algorithm = algorithm
        self.size = size
        self.skip = 12 if algorithm == "XAES-256-GCM" and size == 24 else 0
        # nonce -> first location and fingerprint, packed into one int for line and row
        # numbers (location << 64 | fingerprint): one small object per distinct nonce.
        # cryptorails: ignore[CR0402] offline count over scanned data, not a replay cache
        self.seen: dict[bytes, int | tuple[str, int]] = {}
        self.batches: dict[bytes, int] = {}
        self.records = 0
        top = 1 << (8 * (size - self.skip))
        self.be_lo = self.le_lo = top
        self.be_hi = self.le_hi = self.last_be = self.last_le = -1
        self.asc_be = self.asc_le = 0

    def observe(self, nonce: bytes, new_message: bool) -> None:
        self.records += 1
        skip = self.skip
        if skip and new_message:
            prefix = nonce[:skip]
            self.batches[prefix] = self.batches.get(prefix, 0) + 1
        tail = nonce[skip:] if skip else nonce
        be, le = int.from_bytes(tail, "big"), int.from_bytes(tail, "little")
        if be < self.be_lo:
            self.be_lo = be
        if be > self.be_hi:
            self.be_hi = be
        if le < self.le_lo:
            self.le_lo = le
        if le > self.le_hi:
            self.le_hi = le
        if be > self.last_be >= 0:
            self.asc_be += 1
        if le > self.last_le >= 0:
            self.asc_le += 1
        self.last_be, self.last_le = be, le

    def chance(self, messages: int) -> float:
        if not self.skip:
            return chance_of_reuse(messages, 8 * self.size)
        bits = 8 * (self.size - self.skip) + 1
        return -math.expm1(-sum(math.ldexp(m * (m - 1), -bits) for m in self.batches.values()))

    def warnings(self, sealer: bool) -> tuple[str, ...]:
        out: list[str] = []
        bits = 8 * (self.size - self.skip)
        part = f"the last {self.size - self.skip} bytes of " if self.skip else ""
        n = len(self.seen)
        for order, width in (("big", self.be_hi - self.be_lo), ("little", self.le_hi - self.le_lo)):
            if n >= _MIN_FOR_SPAN and bits > 32 and width < 1 << (bits - 32):
                out.append(
                    f"{part}all {n} distinct nonces fall within 2^{width.bit_length()} of "
                    f"2^{bits} values (read {order}-endian): a counter, a timestamp or a "
                    "fixed prefix, not random"
                )
                break
        steps = self.records - 1
        ups, order = max((self.asc_be, "big"), (self.asc_le, "little"), key=lambda a: a[0])
        if steps + 1 >= _MIN_FOR_ORDER and ups * 20 >= steps * 19:
            out.append(
                f"{part}{ups} of {steps} consecutive nonces increase (read {order}-endian): a "
                "counter or a clock, which repeats after a restart, a fork or a restored snapshot"
            )
        largest = max(self.batches.values(), default=0)
        if sealer and largest > BATCH:
            out.append(
                f"one 12-byte nonce prefix serves {largest} messages; the cryptorails sealer "
                f"uses a prefix for at most {BATCH}: these blobs were sealed by other code"
            )
        return tuple(out)


class _Reused:
    __slots__ = ("count", "first", "last", "prints")

    def __init__(self, first: int | str, fingerprint: int) -> None:
        self.count = 1
        self.first = first
        self.last = first
        self.prints = {fingerprint}


class NonceScanner:
    """Collect (key, nonce) pairs record by record; `report()` gives the verdict.

    Args:
        layout: where key id and nonce sit (`Layout.parse`).
        unit: how integer locations are named in the report ("line", "row").
        key_label: the key's name when the layout has no key field.
        algorithm: raw layouts only: the AEAD (one of `ALGORITHM_NAMES`), for the
            severity; cryptorails blobs name their own.
    """

    def __init__(
        self,
        layout: Layout,
        *,
        unit: str = "record",
        key_label: str = "all records",
        algorithm: str | None = None,
    ) -> None:
        if algorithm is not None and algorithm not in _IMPACT:
            raise ValueError(f"unknown algorithm {algorithm!r}; one of {', '.join(_IMPACT)}")
        self._layout = layout
        self._unit = unit
        self._key_label = key_label
        self._algorithm = algorithm
        self._keys: dict[tuple[bytes, Algorithm | None], _PerKey] = {}
        # cryptorails: ignore[CR0402] offline count over scanned data, not a replay cache
        self._reused: dict[tuple[_PerKey, bytes], _Reused] = {}
        # Header bytes -> its key, for headers read_header has already accepted.
        self._sealed: dict[bytes, _PerKey] = {}
        self._records = 0
        self._duplicates = 0
        self._malformed: list[str] = []
        self._malformed_count = 0
        self._undecodable: list[str] = []
        self._undecodable_count = 0

    def add(self, record: bytes, where: int | str) -> None:
        """Add one record (a whole blob) found at `where` (line number, label, path)."""
        head = record[: self._layout.head_size]
        self._add(head, len(record), _fingerprint(record), where)

    def add_chunks(self, chunks: Iterable[bytes], where: int | str) -> None:
        """Add one record read in chunks (a large file), without holding all of it."""
        need = self._layout.head_size
        head, length, h = b"", 0, hashlib.blake2b(digest_size=8)
        for chunk in chunks:
            if len(head) < need:
                head += chunk[: need - len(head)]
            length += len(chunk)
            h.update(chunk)
        self._add(head, length, int.from_bytes(h.digest(), "big"), where)

    def add_undecodable(self, where: int | str, why: str) -> None:
        """Count an input that is not a record at all (bad base64, a NULL column...)."""
        self._undecodable_count += 1
        if len(self._undecodable) < _SHOWN_LOCATIONS:
            self._undecodable.append(f"{self._where(where)}: {why}")

    def _add(self, head: bytes, length: int, fingerprint: int, where: int | str) -> None:
        self._records += 1
        per_key = self._sealed.get(head[:_HEADER]) if self._layout.cryptorails else None
        if per_key is not None and length >= _HEADER + per_key.size + _TAG_SIZE:
            nonce = head[_HEADER : _HEADER + per_key.size]
        else:
            parts = self._layout.split(head, length)
            if isinstance(parts, str):
                self._malformed_count += 1
                if len(self._malformed) < _SHOWN_LOCATIONS:
                    self._malformed.append(f"{self._where(where)}: {parts}")
                return
            key_id, algorithm, nonce = parts
            per_key = self._keys.get((key_id, algorithm))
            if per_key is None:
                per_key = self._new_key(key_id, algorithm, len(nonce))
            if algorithm is not None:
                self._sealed[key_id] = per_key
        first = per_key.seen.get(nonce)
        if first is None:
            per_key.seen[nonce] = (
                (where << 64 | fingerprint)
                if type(where) is int and where >= 0
                else (str(where), fingerprint)
            )
            per_key.observe(nonce, True)
            return
        reused = self._reused.get((per_key, nonce))
        if reused is None:
            if isinstance(first, int):
                reused = _Reused(first >> 64, first & _MASK64)
            else:
                reused = _Reused(*first)
            self._reused[(per_key, nonce)] = reused
        reused.count += 1
        reused.last = where
        copy = fingerprint in reused.prints
        if copy:
            self._duplicates += 1
        else:
            reused.prints.add(fingerprint)
        per_key.observe(nonce, not copy)

    def _new_key(self, key_id: bytes, algorithm: Algorithm | None, size: int) -> _PerKey:
        name: str | None
        if algorithm is not None:
            kid = int.from_bytes(key_id[2:6], "big")
            label, name = f"{algorithm.value} kid {kid} (0x{kid:08x})", _BY_ALGORITHM[algorithm]
        else:
            label = f"key {key_id.hex()}" if self._layout.has_key else self._key_label
            name = self._algorithm
        per_key = self._keys[(key_id, algorithm)] = _PerKey(label, name, size)
        return per_key

    def _where(self, where: int | str) -> str:
        return f"{self._unit} {where}" if isinstance(where, int) else where

    def report(self) -> NonceReport:
        """The findings so far (the scanner can go on collecting afterwards)."""
        reuses: list[NonceReuse] = []
        stats: dict[_PerKey, list[int]] = {}  # reused nonces, extra uses, copies
        for (per_key, nonce), r in self._reused.items():
            copies = r.count - len(r.prints)
            counts = stats.setdefault(per_key, [0, 0, 0])
            counts[2] += copies
            if len(r.prints) > 1:
                counts[0] += 1
                counts[1] += len(r.prints) - 1
                reuses.append(
                    NonceReuse(
                        per_key.label,
                        nonce,
                        r.count,
                        len(r.prints),
                        self._where(r.first),
                        self._where(r.last),
                    )
                )
        reuses.sort(key=lambda r: (-r.ciphertexts, r.key, r.nonce))
        keys = []
        for per_key in sorted(self._keys.values(), key=lambda k: k.label):
            reused, extra, copies = stats.get(per_key, [0, 0, 0])
            messages = per_key.records - copies
            severity, impact = _IMPACT.get(per_key.algorithm or "", _UNKNOWN_IMPACT)
            keys.append(
                KeyNonces(
                    key=per_key.label,
                    algorithm=per_key.algorithm,
                    nonce_bits=8 * per_key.size,
                    records=per_key.records,
                    messages=messages,
                    reused_nonces=reused,
                    extra_uses=extra,
                    chance=per_key.chance(messages),
                    severity=severity if reused else None,
                    impact=impact,
                    warnings=per_key.warnings(self._layout.cryptorails),
                )
            )
        return NonceReport(
            layout=self._layout.spec,
            records=self._records,
            keys=tuple(keys),
            reuses=tuple(reuses),
            duplicates=self._duplicates,
            malformed=self._malformed_count,
            malformed_at=tuple(self._malformed),
            undecodable=self._undecodable_count,
            undecodable_at=tuple(self._undecodable),
        )


def _fingerprint(record: bytes) -> int:
    """Tells identical copies of one record (a backup, a replica) from a real reuse.

    64 bits: two different ciphertexts under one (key, nonce) are mistaken for copies with
    probability 2^-64.
    """
    return int.from_bytes(hashlib.blake2b(record, digest_size=8).digest(), "big")
