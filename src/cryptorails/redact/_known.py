"""`KnownMaterial`: find exact key material in any common encoding.

A pattern scanner finds things that *look like* secrets; a random 32-byte AEAD key
looks like nothing. Given the material itself (from a keystore, by the operator), this
finds it raw, hex, base64 (standard and URL-safe, padded or not, and at any byte
alignment inside a longer base64 string) and, for private keys, as PEM and DER.

Search: every registered encoding (a *needle*) is at least 16 bytes long, so any
occurrence in a text covers a whole 8-byte block that starts at a multiple of 8 in the
text. All 8-byte windows of all needles go into one set; the text is read as a list of
8-byte integers (`memoryview.cast`, in C) and intersected with that set (in C), and only
a hit is checked against the needles it could belong to. That costs one pass over the
data whatever the number of needles, instead of one `bytes.find` per needle.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import mmap
import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NoReturn

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization as ser
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from cryptorails.algorithms import Algorithm, load_private_key
from cryptorails.redact._detectors import Found
from cryptorails.secret import Secret

if TYPE_CHECKING:
    from cryptorails.keys import Keyring

__all__ = ["KnownMaterial"]

MIN_LENGTH = 16
_GRAM = 8
_CHUNK = 1 << 20  # bytes per cast; a multiple of _GRAM
_KEY_FORMATS = (ser.PrivateFormat.PKCS8, ser.PrivateFormat.TraditionalOpenSSL)


def _base64_forms(material: bytes) -> Iterator[bytes]:
    """Base64 and base64url, padded and not, plus the part of the encoding that stays the
    same when the material sits at offset 1 or 2 (mod 3) inside a longer encoded blob."""
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        whole = encode(material)
        yield whole
        yield whole.rstrip(b"=")
        for shift in range(3):
            # With `shift` foreign bytes in front, the first 4-char group mixes them in and
            # the last partial group mixes in what follows; the full groups between are
            # the material's alone.
            shifted = encode(b"\0" * shift + material)
            full = (shift + len(material)) // 3 * 4
            yield shifted[4 if shift else 0 : full]


def _private_key_forms(key: PrivateKeyTypes) -> Iterator[bytes]:
    """DER and PEM (PKCS#8 and traditional, where the key type has one)."""
    for fmt in _KEY_FORMATS:
        try:
            der = key.private_bytes(ser.Encoding.DER, fmt, ser.NoEncryption())
            pem = key.private_bytes(ser.Encoding.PEM, fmt, ser.NoEncryption())
        except ValueError:  # e.g. Ed25519 has no traditional OpenSSL form
            continue
        yield der
        yield base64.b64encode(der)
        yield pem
        yield pem.replace(b"\n", b"\r\n")
        yield pem.replace(b"\n", b"\\n")  # inside a JSON string


def _load_private_key(material: bytes) -> PrivateKeyTypes | None:
    try:
        if material.lstrip().startswith(b"-----BEGIN"):
            return ser.load_pem_private_key(material, password=None)
        if material[:1] == b"\x30":  # an ASN.1 SEQUENCE, as every DER key is
            return ser.load_der_private_key(material, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        pass
    return None


class KnownMaterial:
    """Registered key material, found again in any of its encodings.

    The object holds the encodings it looks for, which are as sensitive as the material:
    keep it short-lived, never log it, and call `clear()` when done (Python cannot wipe
    the bytes, but they are released). `repr()` shows counts only, and it cannot be
    pickled.
    """

    __slots__ = ("_count", "_digest_key", "_gram_set", "_grams", "_needles", "_seen")

    def __init__(self) -> None:
        self._digest_key = os.urandom(32)  # dedupes materials without keeping them
        self._seen: set[bytes] = set()
        self._count = 0
        self._needles: dict[bytes, int] = {}
        self._grams: dict[int, list[tuple[int, int]]] = {}  # 8-byte window -> (needle, offset)
        self._gram_set: set[int] = set()

    def add(self, material: bytes | bytearray | memoryview | Secret) -> None:
        """Register `material` (shorter than 16 bytes is ignored: it would match noise).

        Registers the raw bytes, hex (lower and upper case) and base64 (standard and
        URL-safe, padded and unpadded). If the material is a PEM or DER private key that
        `cryptography` can load (unencrypted), its PEM and DER forms in PKCS#8 and
        traditional format are registered too.

        Raises:
            TypeError: `material` is not bytes-like (or a `Secret`).
        """
        if isinstance(material, Secret):
            material = material.reveal()
        if not isinstance(material, bytes | bytearray | memoryview):
            raise TypeError(f"material must be bytes, not {type(material).__name__}")
        raw = bytes(material)
        if len(raw) < MIN_LENGTH or not self._first_time(raw):
            return
        self._count += 1
        for needle in self._forms(raw):
            self._register(needle)
        key = _load_private_key(raw)
        if key is not None:
            self._register_key(key)

    def add_private_key(self, key: PrivateKeyTypes) -> None:
        """Register a `cryptography` private key in its PEM and DER forms."""
        if self._register_key(key):
            self._count += 1

    def _register_key(self, key: PrivateKeyTypes) -> bool:
        forms = [form for form in _private_key_forms(key) if self._first_time(form)]
        for form in forms:
            self._register(form)
        return bool(forms)

    @classmethod
    def from_keyring(cls, keyring: Keyring) -> KnownMaterial:
        """All key material of every keyset of `keyring`'s keystore (operator tooling).

        Destroyed keys have no material left and are skipped. Ed25519 and ES256 signing
        keys are also registered as PEM and DER private keys.
        """
        known = cls()
        for ctx in keyring.contexts():
            for key in keyring.find_keyset(ctx) or ():
                if key.material is None:
                    continue
                raw = key.material.reveal()
                known.add(raw)
                if key.algorithm in (Algorithm.ED25519, Algorithm.ES256):
                    try:
                        known.add_private_key(load_private_key(key.algorithm, raw))
                    except ValueError:  # malformed material: its raw forms are still in
                        continue
        return known

    def clear(self) -> None:
        """Forget everything registered."""
        self._seen.clear()
        self._count = 0
        self._needles.clear()
        self._grams.clear()
        self._gram_set.clear()

    def __len__(self) -> int:
        """The number of distinct materials (and private keys) registered."""
        return self._count

    def __repr__(self) -> str:
        return f"KnownMaterial(materials={self._count}, needles={len(self._needles)})"

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        raise TypeError("KnownMaterial objects cannot be pickled")

    def find(self, data: str | bytes | bytearray | memoryview | mmap.mmap) -> list[Found]:
        """Every occurrence of registered material, kind ``known-key``, sorted by start.

        Offsets are str offsets for a str, byte offsets otherwise. Overlapping
        occurrences (a base64 form inside a PEM) are merged into one span.
        """
        if not self._needles or not data:
            return []
        if isinstance(data, str):
            raw = data.encode("utf-8", "surrogatepass")
            found = self._find(raw)
            if len(raw) == len(data):
                return found
            cont = bytes(range(0x80, 0xC0))

            def chars(offset: int) -> int:
                return len(raw[:offset].translate(None, cont))

            return [Found(f.kind, chars(f.start), chars(f.end)) for f in found]
        buf = data.cast("B") if isinstance(data, memoryview) else data
        return self._find(buf)

    # -- internals ---------------------------------------------------------------------

    def _first_time(self, material: bytes) -> bool:
        digest = hmac.new(self._digest_key, material, hashlib.sha256).digest()
        if digest in self._seen:
            return False
        self._seen.add(digest)
        return True

    @staticmethod
    def _forms(raw: bytes) -> Iterator[bytes]:
        yield raw
        yield raw.hex().encode()
        yield raw.hex().upper().encode()
        yield from _base64_forms(raw)

    def _register(self, needle: bytes) -> None:
        if len(needle) < MIN_LENGTH or needle in self._needles:
            return
        nid = self._needles[needle] = len(self._needles)
        for offset in range(len(needle) - _GRAM + 1):
            gram = int.from_bytes(needle[offset : offset + _GRAM], sys.byteorder)
            self._grams.setdefault(gram, []).append((nid, offset))
            self._gram_set.add(gram)

    def _find(self, buf: bytes | bytearray | memoryview | mmap.mmap) -> list[Found]:
        n = len(buf)
        needles = list(self._needles)
        spans: set[tuple[int, int]] = set()
        usable = n - n % _GRAM
        for base in range(0, usable, _CHUNK):
            words = memoryview(bytes(buf[base : min(usable, base + _CHUNK)])).cast("Q").tolist()
            for gram in self._gram_set.intersection(words):
                index = -1
                while True:
                    try:
                        index = words.index(gram, index + 1)
                    except ValueError:
                        break
                    at = base + index * _GRAM
                    for nid, offset in self._grams[gram]:
                        needle = needles[nid]
                        start = at - offset
                        if start >= 0 and bytes(buf[start : start + len(needle)]) == needle:
                            spans.add((start, start + len(needle)))
        merged: list[Found] = []
        for start, end in sorted(spans):
            if merged and start <= merged[-1].end:
                if end > merged[-1].end:
                    merged[-1] = Found("known-key", merged[-1].start, end)
            else:
                merged.append(Found("known-key", start, end))
        return merged
