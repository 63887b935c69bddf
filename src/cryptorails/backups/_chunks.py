"""The chunk layer of a backup: STREAM over AES-256-GCM (the crypto glue, in one place).

Why this is safe (the format is in `_format`):

* AES-256-GCM from `cryptography`, 96-bit nonces built as STREAM prescribes (Hoang,
  Reyhanitabar, Rogaway, Vizár, CRYPTO 2015, §7): chunk position || final flag. A nonce
  never repeats under a key because each backup has a fresh random 32-byte DEK and the
  position only goes up; so no random-nonce collision bound applies.
* Every chunk's position is in its nonce: a chunk moved, repeated or dropped is opened
  at the wrong position and fails authentication.
* Exactly one chunk, the last, carries the final flag (an empty input still has one,
  empty, final chunk): a stream cut at a chunk boundary, or continued past its end,
  cannot pass as complete.
* The associated data is a digest of the backup's fixed header: a chunk spliced in from
  another backup fails even if it were under the same key.
"""

from __future__ import annotations

import hashlib
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from cryptorails.backups import _format as fmt
from cryptorails.errors import DecryptionError, Reason
from cryptorails.secret import Secret

__all__ = ["Sink", "chunk_counts", "open_chunks", "seal_chunks"]


class Sink(Protocol):
    """Where chunks or verified plaintext go (a binary file, a spool, nowhere)."""

    def write(self, data: bytes, /) -> object: ...


def seal_chunks(
    src: fmt.Readable, dst: Sink, header: fmt.Header, dek: Secret, digest: hashlib._Hash
) -> tuple[int, int]:
    """Encrypt `src` into chunks written to `dst` (and hashed into `digest`).

    Returns:
        (chunks written, plaintext bytes read).
    """
    aead, aad, size = AESGCM(dek.reveal()), header.chunk_aad, header.chunk_size
    # One chunk of look-ahead: a chunk is final when nothing follows it, so a stream that
    # ends on a chunk boundary has no empty chunk after its last full one.
    current = fmt.read_exact(src, size)
    count = total = 0
    while True:
        following = fmt.read_exact(src, size) if len(current) == size else b""
        final = not following
        if count >= fmt.MAX_CHUNKS:
            raise ValueError("a backup holds at most 2**88 chunks")
        # cryptorails: ignore[CR0102] STREAM: fresh random DEK per backup, counter never repeats
        sealed = aead.encrypt(fmt.nonce(count, final), current, aad)
        dst.write(sealed)
        digest.update(sealed)
        count += 1
        total += len(current)
        if final:
            return count, total
        current = following


def open_chunks(
    src: fmt.Readable, dst: Sink, header: fmt.Header, dek: Secret, digest: hashlib._Hash
) -> tuple[int, int]:
    """Verify and decrypt the chunks after `header`; return (chunks, plaintext bytes)."""
    aead, aad = AESGCM(dek.reveal()), header.chunk_aad
    full = header.chunk_size + fmt.TAG_SIZE
    current = fmt.read_exact(src, full)
    count = total = 0
    while True:
        if len(current) < full:
            # Shorter than a full chunk: the stream ends here, so this must be the final
            # chunk. Fewer bytes than a tag: cut short (or no final chunk at all).
            if len(current) < fmt.TAG_SIZE:
                raise DecryptionError(Reason.MALFORMED)
            following = b""
        else:
            following = fmt.read_exact(src, full)
        if count >= fmt.MAX_CHUNKS:
            raise DecryptionError(Reason.MALFORMED)
        digest.update(current)
        plaintext = _open_chunk(aead, count, not following, current, aad)
        dst.write(plaintext)
        count += 1
        total += len(plaintext)
        if not following:
            return count, total
        current = following


def _open_chunk(aead: AESGCM, counter: int, final: bool, sealed: bytes, aad: bytes) -> bytes:
    try:
        return aead.decrypt(fmt.nonce(counter, final), sealed, aad)
    except InvalidTag:
        pass
    # Does it open with the other flag? Then the chunk is genuine but the stream around
    # it is not: cut right after a non-final chunk, or continued after the final one.
    # Either is a structural fault (malformed), not a forged chunk.
    try:
        aead.decrypt(fmt.nonce(counter, not final), sealed, aad)
    except InvalidTag:
        raise DecryptionError(Reason.AUTHENTICATION_FAILED) from None
    raise DecryptionError(Reason.MALFORMED)


def chunk_counts(body: int, chunk_size: int) -> tuple[int, int]:
    """(chunks, plaintext bytes) of a chunk section of `body` bytes.

    Raises:
        DecryptionError: no whole number of chunks fits (``malformed``).
    """
    full = chunk_size + fmt.TAG_SIZE
    whole, rest = divmod(body, full)
    if rest == 0 and whole:
        return whole, whole * chunk_size
    if rest < fmt.TAG_SIZE:
        raise DecryptionError(Reason.MALFORMED)
    return whole + 1, whole * chunk_size + rest - fmt.TAG_SIZE
