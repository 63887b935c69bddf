"""XAES-256-GCM (C2SP, c2sp.org/XAES-256-GCM) on top of pyca AES-256-GCM.

The construction, per the specification: with a 256-bit key K and a 192-bit nonce N,

    L  = AES-256_K(0^128)
    K1 = L << 1, xored with 0x87 in the last byte when the top bit of L was set
    M1 = 0x00 0x01 'X' 0x00 || N[:12],  M2 = 0x00 0x02 'X' 0x00 || N[:12]
    Kx = AES-256_K(M1 xor K1) || AES-256_K(M2 xor K1)
    ciphertext = AES-256-GCM(key=Kx, nonce=N[12:], plaintext, aad)

This is one step of NIST SP 800-108r1 KDF in counter mode with AES-CMAC as the PRF
(K1 is CMAC's first subkey; M1/M2 fill exactly one block, so CMAC reduces to one AES
call on M xor K1). No cipher is implemented here: the two AES calls go through one
reusable ECB context, and GCM is pyca's.

Subkey batching (why it is safe). L and K1 depend only on K, so they are computed once.
Kx depends only on N[:12]. When sealing, one random N[:12] and its Kx serve a batch of
at most `BATCH` messages; N[12:] is drawn fresh from the OS for every message. Every
output is a standard XAES-256-GCM ciphertext with a uniformly random 24-byte nonce per
batch prefix, so any XAES-256-GCM implementation opens it. What batching changes is the
collision arithmetic: two messages can only repeat a (Kx, GCM nonce) pair if they share
a batch (probability 2^-96 per pair of random 96-bit suffixes) or if two batch prefixes
collide and then their suffixes too (2^-192 per pair). For n messages under one key:

    P(repeat) <= n * BATCH / 2^97 + n^2 / 2^193

With BATCH = 2^12 the risk stays below 2^-32 up to n = 2^53 messages per key (about
9 * 10^15), compared with 2^80 for unbatched XAES-256-GCM. Each subkey encrypts at most
2^12 messages, far below the 2^32 limit of NIST SP 800-38D §8.3 for random 96-bit
nonces. After `fork()` the child starts a new batch, so parent and child never share a
batch counter.
"""

from __future__ import annotations

import itertools
import os
import threading
import weakref

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["BATCH", "KEY_SIZE", "NONCE_SIZE", "XaesKey"]

KEY_SIZE = 32
NONCE_SIZE = 24
TAG_SIZE = 16
BATCH = 1 << 12
_OPEN_CACHE_SIZE = 1024

# Every live key, so that a forked child can drop the batches and locks it inherited:
# a batch begun in the parent is never continued in the child (checked once at fork
# time, not on every seal).
_LIVE_KEYS: weakref.WeakSet[XaesKey] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for key in list(_LIVE_KEYS):
        key._reset()


os.register_at_fork(after_in_child=_after_fork_in_child)
_urandom = os.urandom  # one lookup less on the per-message path

# Placeholder in the initial, already exhausted batch; the counter check always replaces
# it before any encryption.
_NEVER_USED = AESGCM(bytes(KEY_SIZE))


class XaesKey:
    """One XAES-256-GCM key: L/K1 and the ECB context computed once, subkeys cached.

    `seal`/`open` work on whole blobs: `header` is the fixed prefix the caller puts before
    the nonce (the sealer's 6-byte blob header, the KEK's version byte).
    """

    __slots__ = (
        "__weakref__",
        "_batch",
        "_ecb",
        "_header",
        "_k1_tail",
        "_lock",
        "_m1_head",
        "_m2_head",
        "_offsets",
        "_opened",
    )

    def __init__(self, key: bytes, header: bytes = b"") -> None:
        if len(key) != KEY_SIZE:
            raise ValueError("XAES-256-GCM keys are 32 bytes")
        # cryptorails: ignore[CR0711] single-block AES steps of the C2SP XAES-256-GCM KDF
        self._ecb = Cipher(algorithms.AES(key), modes.ECB()).encryptor()  # noqa: S305 - single-block KDF steps, see module doc
        l_block = int.from_bytes(self._ecb.update(bytes(16)), "big")
        k1 = (l_block << 1) & ((1 << 128) - 1)
        if l_block >> 127:
            k1 ^= 0x87
        # M1 xor K1 = (00 01 'X' 00 xor K1[:4]) || (N[:12] xor K1[4:]), and M2 alike: the
        # first four bytes are fixed per key, so only the nonce part is xored per subkey.
        self._k1_tail = k1 & ((1 << 96) - 1)
        self._m1_head = ((0x00015800 << 96) ^ k1).to_bytes(16, "big")[:4]
        self._m2_head = ((0x00025800 << 96) ^ k1).to_bytes(16, "big")[:4]
        self._header = header
        n = len(header)
        # where the nonce prefix ends, where the nonce ends, the shortest valid blob
        self._offsets = (n, n + 12, n + NONCE_SIZE, n + NONCE_SIZE + TAG_SIZE)
        # Subkeys of prefixes seen when opening. Filled before the tag is checked, so
        # junk blobs can churn it: that costs speed (re-derivation), never safety.
        self._opened: dict[bytes, AESGCM] = {}
        self._reset()
        _LIVE_KEYS.add(self)

    def _reset(self) -> None:
        """No batch and a fresh lock: at creation, and in a forked child."""
        # The ECB context is stateful; derive under a lock so threads never interleave.
        # (A parent's thread may have held the old lock at fork(): never released here.)
        self._lock = threading.Lock()
        # The exhausted counter makes the first seal start a batch, so keys that only
        # open (and the hazmat functions) never derive a sealing subkey.
        self._batch: tuple[bytes, AESGCM, itertools.count[int]] = (
            b"",
            _NEVER_USED,
            itertools.count(BATCH),
        )

    def subkey(self, prefix: bytes) -> AESGCM:
        """The AES-256-GCM object for Kx derived from the first 12 nonce bytes."""
        tail = (int.from_bytes(prefix, "big") ^ self._k1_tail).to_bytes(12, "big")
        with self._lock:
            kx = self._ecb.update(b"".join((self._m1_head, tail, self._m2_head, tail)))
        return AESGCM(kx)

    def _next_batch(self) -> tuple[bytes, AESGCM, itertools.count[int]]:
        prefix = os.urandom(12)
        batch = (self._header + prefix, self.subkey(prefix), itertools.count(1))
        self._batch = batch
        return batch

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        """Return ``header || nonce || ciphertext || tag`` under a fresh random nonce."""
        # One tuple, read at once: a thread never pairs one batch's prefix with another's
        # subkey.
        head, gcm, counter = self._batch
        # next() on itertools.count is atomic under the GIL: no two threads get the same
        # slot, so a batch never exceeds BATCH messages.
        if next(counter) >= BATCH:
            head, gcm, _ = self._next_batch()  # this message takes slot 0
        # Fresh from the OS for every message, never from a buffer: a restored VM
        # snapshot or a forked child must not replay buffered nonce bytes.
        suffix = _urandom(12)
        return b"".join((head, suffix, gcm.encrypt(suffix, plaintext, aad)))

    def open(self, blob: bytes, aad: bytes) -> bytes:
        """Open ``header || nonce || ciphertext || tag``. Raises `InvalidTag`/`ValueError`."""
        start, middle, body, minimum = self._offsets
        size = len(blob)
        if size < minimum:
            raise ValueError("too short")
        prefix = blob[start:middle]
        gcm = self._opened.get(prefix)
        if gcm is None:
            gcm = self.subkey(prefix)
            if len(self._opened) >= _OPEN_CACHE_SIZE:
                self._opened.clear()
            self._opened[prefix] = gcm
        # Small blobs: slicing is cheaper than a memoryview; large ones: avoid the copy.
        ct = blob[body:] if size < 4096 else memoryview(blob)[body:]
        return gcm.decrypt(blob[middle:body], ct, aad)

    def encrypt(self, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
        """Encrypt under a caller-chosen 24-byte nonce (hazmat)."""
        if len(nonce) != NONCE_SIZE:
            raise ValueError("XAES-256-GCM nonces are 24 bytes")
        return self.subkey(nonce[:12]).encrypt(nonce[12:], plaintext, aad)

    def decrypt(self, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes:
        """Decrypt under a caller-given 24-byte nonce (hazmat). Raises `InvalidTag`."""
        if len(nonce) != NONCE_SIZE:
            raise ValueError("XAES-256-GCM nonces are 24 bytes")
        return self.subkey(nonce[:12]).decrypt(nonce[12:], ciphertext, aad)
