"""Nonce reuse in stored ciphertexts: which (key, nonce) pairs were used more than once.

An AEAD nonce must never repeat under one key. Whether it did is visible in the data at
rest: every blob carries its nonce. `NonceScanner` reads blobs one at a time (memory: one
dict entry per distinct (key, nonce)) and reports each repeated pair, the chance that
random nonces would have repeated that often, and nonces that do not look random.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from cryptorails.aead import _format
from cryptorails.algorithms import Algorithm
from cryptorails.triage._nonce_layout import _TAG_SIZE, Layout
from cryptorails.triage._nonce_stats import _PerKey

__all__ = ["KeyNonces", "NonceReport", "NonceReuse", "NonceScanner"]

_HEADER = _format.HEADER_SIZE
_MASK64 = (1 << 64) - 1
_SHOWN_LOCATIONS = 20

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
