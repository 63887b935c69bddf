"""The implementations the AEAD benchmark compares, each as a `Subject`.

Every subject binds its methods to locals and inlines the one call in its batch loop, so
all of them pay the same loop overhead and nothing else that the caller could avoid.

Every batch keeps each result until the next one replaces it (``_ = ...``), as a caller
that stores the blob does. Dropping results at once changes how glibc recycles 1 MiB
buffers (they go back to the OS and fault in again): in a first version that made the
columns that dropped their results 7x slower than the floor at 1 MiB, for reasons that
have nothing to do with the code under test.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from cryptorails import Algorithm, Context, Keyring, Sealer
from cryptorails.aead import _xaes

from ._harness import Batch, version_of

__all__ = ["PeerUnavailableError", "Subject", "subjects"]


class PeerUnavailableError(Exception):
    """A peer that cannot be measured here (not installed, or it failed to start)."""


@dataclass
class Subject:
    """One implementation under test.

    Args:
        seal: one seal, used to build the pools of blobs that the open batches read.
        open: one open, used to check a round trip before anything is timed.
        seal_batch: the timed seal loop, or None when this column has no seal row.
        opens: timed open loops by variant name; the fastest variant is reported.
        repeats: batches per measurement, when fewer than the default (slow peers).
        check_pool: returns a warning when a pool of blobs does not measure what the
            column claims (the cold XAES column needs one nonce prefix per blob).
        version: the measured package's version.
        note: one line on what exactly is measured.
    """

    seal: Callable[[bytes], bytes]
    open: Callable[[bytes], bytes]
    seal_batch: Batch | None
    opens: dict[str, Batch]
    repeats: int | None = None
    check_pool: Callable[[list[bytes]], str | None] = lambda pool: None
    version: str | None = None
    note: str = ""


@contextlib.contextmanager
def _patched(module: object, name: str, value: int) -> Iterator[None]:
    saved = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, saved)


def _floor() -> Subject:
    aesgcm = AESGCM(os.urandom(32))
    encrypt, decrypt, urandom = aesgcm.encrypt, aesgcm.decrypt, os.urandom

    def seal(pt: bytes) -> bytes:
        nonce = urandom(12)
        return nonce + encrypt(nonce, pt, None)

    def seal_batch(items: list[bytes]) -> None:
        for pt in items:
            nonce = urandom(12)
            _ = nonce + encrypt(nonce, pt, None)

    def open_sliced(items: list[bytes]) -> None:
        for blob in items:
            _ = decrypt(blob[:12], blob[12:], None)

    def open_viewed(items: list[bytes]) -> None:
        for blob in items:
            _ = decrypt(blob[:12], memoryview(blob)[12:], None)

    return Subject(
        seal=seal,
        open=lambda blob: decrypt(blob[:12], blob[12:], None),
        seal_batch=seal_batch,
        opens={"slice": open_sliced, "memoryview": open_viewed},
        version=version_of("cryptography"),
        note="raw pyca AESGCM, nonce || ct; open is the faster of slicing and a memoryview",
    )


_CTX = Context("tenant-a", "bench")


def _sealer(algorithm: Algorithm) -> Sealer:
    return Sealer(Keyring.in_memory("bench", algorithm=algorithm))


def _cryptorails(algorithm: Algorithm) -> Subject:
    sealer = _sealer(algorithm)
    seal, open_, ctx = sealer.seal, sealer.open, _CTX

    def seal_batch(items: list[bytes]) -> None:
        for pt in items:
            _ = seal(pt, ctx)

    def open_batch(items: list[bytes]) -> None:
        for blob in items:
            _ = open_(blob, ctx)

    return Subject(
        seal=lambda pt: seal(pt, ctx),
        open=lambda blob: open_(blob, ctx),
        seal_batch=seal_batch,
        opens={"": open_batch},
        version=version_of("cryptorails"),
        note=f"Sealer, {algorithm.value} keyset, Context bound into the AAD",
    )


def _xaes_cold() -> Subject:
    """XAES-256-GCM opens that miss the subkey cache: every blob has its own nonce prefix.

    The pool is sealed with `_xaes.BATCH = 1` (a fresh prefix, so a fresh subkey, per
    blob), and opened with `_xaes._OPEN_CACHE_SIZE = 1`, so every open derives its subkey
    (the real miss path; the cache is emptied on each miss instead of every 1024th).
    """
    if not (hasattr(_xaes, "BATCH") and hasattr(_xaes, "_OPEN_CACHE_SIZE")):
        raise PeerUnavailableError("cryptorails.aead._xaes no longer has BATCH/_OPEN_CACHE_SIZE")
    sealer = _sealer(Algorithm.XAES_256_GCM)
    seal, open_, ctx = sealer.seal, sealer.open, _CTX

    def seal_fresh_prefix(pt: bytes) -> bytes:
        with _patched(_xaes, "BATCH", 1):
            return seal(pt, ctx)

    def open_batch(items: list[bytes]) -> None:
        with _patched(_xaes, "_OPEN_CACHE_SIZE", 1):
            for blob in items:
                _ = open_(blob, ctx)

    return Subject(
        seal=seal_fresh_prefix,
        open=lambda blob: open_(blob, ctx),
        seal_batch=None,
        opens={"": open_batch},
        version=version_of("cryptorails"),
        note="XAES open when every blob has a new nonce prefix (subkey derived per open)",
        check_pool=_distinct_prefixes,
    )


def _distinct_prefixes(pool: list[bytes]) -> str | None:
    # blob = 6-byte header || 24-byte nonce || ...; the subkey depends on nonce[:12].
    prefixes = {blob[6:18] for blob in pool}
    if len(prefixes) == len(pool):
        return None
    return f"only {len(prefixes)} nonce prefixes in {len(pool)} blobs: some opens hit the cache"


def _tink(template_name: str) -> Subject:
    try:
        import tink  # type: ignore[import-untyped]
        from tink import aead
    except ImportError as exc:
        raise PeerUnavailableError("not installed") from exc
    aead.register()
    template = getattr(aead.aead_key_templates, template_name)
    primitive = tink.new_keyset_handle(template).primitive(aead.Aead)
    encrypt, decrypt = primitive.encrypt, primitive.decrypt

    def seal_batch(items: list[bytes]) -> None:
        for pt in items:
            _ = encrypt(pt, b"")

    def open_batch(items: list[bytes]) -> None:
        for blob in items:
            _ = decrypt(blob, b"")

    return Subject(
        seal=lambda pt: bytes(encrypt(pt, b"")),
        open=lambda blob: bytes(decrypt(blob, b"")),
        seal_batch=seal_batch,
        opens={"": open_batch},
        version=version_of("tink"),
        note=f"tink Aead, template {template_name}, empty associated data",
    )


def _esdk(suite_name: str | None) -> Subject:
    """AWS Encryption SDK with a raw AES-256 wrapping key (the "raw AES keyring")."""
    try:
        import aws_encryption_sdk  # type: ignore[import-untyped]
        from aws_encryption_sdk.identifiers import (  # type: ignore[import-untyped]
            EncryptionKeyType,
            WrappingAlgorithm,
        )
        from aws_encryption_sdk.internal.crypto.wrapping_keys import (  # type: ignore[import-untyped]
            WrappingKey,
        )
        from aws_encryption_sdk.key_providers.raw import (  # type: ignore[import-untyped]
            RawMasterKey,
        )
    except ImportError as exc:
        raise PeerUnavailableError("not installed") from exc
    wrapping_key = WrappingKey(
        wrapping_algorithm=WrappingAlgorithm.AES_256_GCM_IV12_TAG16_NO_PADDING,
        wrapping_key=os.urandom(32),
        wrapping_key_type=EncryptionKeyType.SYMMETRIC,
    )
    master_key = RawMasterKey(provider_id="bench", key_id=b"bench-key", wrapping_key=wrapping_key)
    client = aws_encryption_sdk.EncryptionSDKClient(
        commitment_policy=aws_encryption_sdk.CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
    )
    options: dict[str, Any] = {"key_provider": master_key}
    if suite_name is not None:
        options["algorithm"] = getattr(aws_encryption_sdk.Algorithm, suite_name)
    encrypt, decrypt = client.encrypt, client.decrypt

    def seal(pt: bytes) -> bytes:
        blob, _header = encrypt(source=pt, **options)
        return bytes(blob)

    def open_one(blob: bytes) -> bytes:
        pt, _header = decrypt(source=blob, key_provider=master_key)
        return bytes(pt)

    def seal_batch(items: list[bytes]) -> None:
        for pt in items:
            _ = encrypt(source=pt, **options)

    def open_batch(items: list[bytes]) -> None:
        for blob in items:
            _ = decrypt(source=blob, key_provider=master_key)

    _, header = encrypt(source=b"probe", **options)
    suite = header.algorithm.name
    return Subject(
        seal=seal,
        open=open_one,
        seal_batch=seal_batch,
        opens={"": open_batch},
        repeats=3,
        version=version_of("aws-encryption-sdk"),
        note=f"EncryptionSDKClient + RawMasterKey (AES-256-GCM wrapping), suite {suite}",
    )


# (json key, column header, builder) in column order; the floor comes first.
_BUILDERS: list[tuple[str, str, Callable[[], Subject]]] = [
    ("floor", "floor\nAES-256-GCM", _floor),
    (
        "cryptorails_xaes",
        "cryptorails\nXAES-256-GCM",
        partial(_cryptorails, Algorithm.XAES_256_GCM),
    ),
    ("cryptorails_xaes_cold", "cryptorails\nXAES cold open", _xaes_cold),
    (
        "cryptorails_gcm_siv",
        "cryptorails\nAES-256-GCM-SIV",
        partial(_cryptorails, Algorithm.AES_256_GCM_SIV),
    ),
    ("cryptorails_gcm", "cryptorails\nAES-256-GCM", partial(_cryptorails, Algorithm.AES_256_GCM)),
    ("tink_gcm", "Tink\nAES256_GCM", partial(_tink, "AES256_GCM")),
    ("tink_xaes", "Tink\nXAES-256-GCM", partial(_tink, "XAES_256_GCM_192_BIT_NONCE")),
    ("esdk", "AWS ESDK\ndefault (signed)", partial(_esdk, None)),
    (
        "esdk_unsigned",
        "AWS ESDK\nunsigned suite",
        partial(_esdk, "AES_256_GCM_HKDF_SHA512_COMMIT_KEY"),
    ),
]


def subjects() -> list[tuple[str, str, Subject | str]]:
    """Every subject as (key, label, subject), or (key, label, why it is unavailable)."""
    built: list[tuple[str, str, Subject | str]] = []
    for key, label, build in _BUILDERS:
        try:
            built.append((key, label, build()))
        except PeerUnavailableError as exc:
            built.append((key, label, str(exc)))
        except Exception as exc:  # a broken peer must not stop the run
            built.append((key, label, f"failed to start: {type(exc).__name__}: {exc}"))
    return built
